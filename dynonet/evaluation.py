"""Metrics over every window of a split: MSE and MAE on the standardized scale (the
convention of the papers compared) and in original units, overall and per channel; and how
often the prediction intervals hold the truth."""

from __future__ import annotations

from typing import Any

import torch

from dynonet.base import Forecaster
from dynonet.data import Scaler, Windows
from dynonet.intervals import Intervals


@torch.no_grad()
def evaluate(model: Forecaster, windows: Windows, batch_size: int,
             columns: list[str] | None = None, scaler: Scaler | None = None,
             intervals: Intervals | None = None) -> dict[str, Any]:
    """Average over windows x horizon steps x channels; no window is dropped. With
    `intervals`: the share of true values inside each level's interval (its coverage)."""
    was_training = model.training
    model.eval()
    sq = abs_ = None
    count = 0
    widths = intervals.half_widths.to(windows.device) if intervals and intervals.levels else None  # (levels, H, C)
    inside = 0
    try:
        for x, y in windows.batches(batch_size):
            err = model(x) - y  # (B, H, C)
            s, a = err.square().sum(dim=(0, 1)), err.abs().sum(dim=(0, 1))  # (C,)
            sq, abs_ = (s, a) if sq is None else (sq + s, abs_ + a)
            count += err.shape[0] * err.shape[1]
            if widths is not None:  # (levels, C): one level at a time, for a batch of many series
                inside = inside + torch.stack([(err.abs() <= w).sum(dim=(0, 1)) for w in widths])
    finally:  # an error (out of memory, Ctrl-C) leaves the model in the mode it came in
        model.train(was_training)
    mse_c = (sq / count).double().cpu().numpy()
    mae_c = (abs_ / count).double().cpu().numpy()
    scores: dict[str, Any] = {"mse": float(mse_c.mean()), "mae": float(mae_c.mean()), "windows": len(windows)}
    if columns is not None:
        scores["per_channel"] = {c: {"mse": float(m), "mae": float(a)} for c, m, a in zip(columns, mse_c, mae_c)}
    if scaler is not None:
        # Errors scale with each channel's training std: each channel in its own units, and their
        # mean (which mixes units: comparable only between runs on the same series)
        mse_u, mae_u = mse_c * scaler.std**2, mae_c * scaler.std
        scores["original_units"] = {"mse": float(mse_u.mean()), "mae": float(mae_u.mean())}
        if columns is not None:
            scores["original_units"]["per_channel"] = {c: {"mse": float(m), "mae": float(a)}
                                                       for c, m, a in zip(columns, mse_u, mae_u)}
    if widths is not None:
        covered = (inside / count).double().cpu().numpy()  # (levels, C)
        # the mean half-width too: a wide enough interval covers anything
        scores["intervals"] = {str(p): {"coverage": float(cov.mean()), "mean_half_width": float(w.mean()),
                                        **({"per_channel": dict(zip(columns, map(float, cov)))} if columns else {})}
                               for p, cov, w in zip(intervals.levels, covered, widths)}
    return scores
