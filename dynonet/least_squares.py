"""Closed-form fit of a linear path: RevIN + Linear(L, H), by ridge least squares.

With RevIN's affine at the identity, the path forecasts `y = (W f(z) + b) * std + mean`, where
z is the window normalized by its own mean and std and f a fixed linear map of time (the
identity, or the moving average). The training loss is the MSE on the data's scale, so the
residual of window i, channel c is `std_ic * (W f(z_ic) + b - t_ic)` with `t = (y - mean) / std`:
least squares weighted by std^2. Its exact minimizer, plus a ridge penalty on W, is one
(L+1) x (L+1) linear solve per penalty, from Gram matrices summed over batches of windows
(memory O(L^2), not O(windows x L)).

The penalty is chosen on validation MSE from `PENALTIES`, as early stopping chooses an epoch:
the same validation windows, the same `evaluate`. It is added to the Gram matrices divided by
the total weight (weighted means over windows and channels, not sums), so its strength does
not depend on how many windows there are.
"""

from __future__ import annotations

import math
import time
from typing import Any, Protocol

import torch
from torch import Tensor

from dynonet.data import Windows
from dynonet.decomposition import TimeLinear
from dynonet.errors import TrainingError
from dynonet.evaluation import evaluate
from dynonet.revin import RevIN

PENALTIES = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0, 10.0)
MAX_GRAM_ROWS = 2**15  # (window, channel) rows per Gram batch: bounds the memory of one batch


class LinearPath(Protocol):
    """What the fit needs of a model: a RevIN, and the Linear(L, H) over (a fixed map of) time."""

    revin: RevIN

    def time_linear(self) -> tuple[TimeLinear, Tensor | None]:
        """The Linear over time and the fixed (L, L) map applied before it (None: the identity)."""
        ...


@torch.no_grad()
def gram(path: LinearPath, windows: Windows, batch_size: int) -> tuple[Tensor, Tensor, Tensor, Tensor, int]:
    """Weighted Gram matrices over every window and channel, in float64: G = sum w a a^T
    (L+1, L+1) and R = sum w a t^T (L+1, H) with a = [f(z), 1]; sum w; sum w |t|^2; the count
    of (window, channel, step) terms."""
    linear, before = path.time_linear()
    L = linear.linear.in_features
    G = torch.zeros(L + 1, L + 1, dtype=torch.float64, device=windows.device)
    R = torch.zeros(L + 1, linear.linear.out_features, dtype=torch.float64, device=windows.device)
    total = torch.zeros((), dtype=torch.float64, device=windows.device)
    targets = torch.zeros((), dtype=torch.float64, device=windows.device)
    count = 0
    # a batch is (windows x channels) rows of L+1 float64s: at most 2^15 rows, a few hundred MB
    # at L=512 for the batch's few such arrays
    per_batch = max(1, min(batch_size, MAX_GRAM_ROWS // windows.n_channels))
    for x, y in windows.batches(per_batch):
        mean, std, scale = path.revin.stats(x)  # (B, 1, C) each
        z = ((x - mean) / std).transpose(1, 2).flatten(0, 1).double()  # (B*C, L)
        if before is not None:
            z = z @ before.double().t()
        t = ((y - mean) / std).transpose(1, 2).flatten(0, 1).double()  # (B*C, H)
        w = scale.transpose(1, 2).flatten(0, 1).double().square()  # (B*C, 1): as the forecast is mapped back
        a = torch.cat([z, torch.ones_like(w)], dim=1)  # (B*C, L+1)
        G += a.t() @ (a * w)
        R += a.t() @ (t * w)
        total += w.sum()
        targets += (w * t.square()).sum()
        count += t.numel()
    return G, R, total, targets, count


@torch.no_grad()
def fit_ridge(path: LinearPath, train: Windows, val: Windows, batch_size: int,
              penalties: tuple[float, ...] = PENALTIES) -> dict[str, Any]:
    """Fit the path in closed form for each penalty, keep the one with the lowest validation
    MSE, and return what a history entry needs: the chosen penalty, the training MSE and
    validation scores of that fit, and every penalty's validation MSE.

    RevIN's affine is set to the identity (the fit is exact for that model).
    """
    t0 = time.perf_counter()
    linear, _ = path.time_linear()
    if path.revin.affine:
        path.revin.weight.fill_(1.0)
        path.revin.bias.fill_(0.0)
    G, R, total, targets, count = gram(path, train, batch_size)
    G, R = G / total, R / total
    L = G.shape[0] - 1
    eye = torch.eye(L + 1, dtype=G.dtype, device=G.device)
    eye[L, L] = 0  # the bias is not penalized
    scores: dict[float, float] = {}
    best: tuple[float, float, Tensor, float] | None = None
    for penalty in penalties:
        B = torch.linalg.solve(G + penalty * eye, R)  # (L+1, H)
        if not torch.isfinite(B).all():
            continue
        linear.linear.weight.copy_(B[:L].t())
        linear.linear.bias.copy_(B[L])
        val_scores = evaluate(path, val, batch_size)
        if not math.isfinite(val_scores["mse"]):
            continue
        scores[penalty] = val_scores["mse"]
        if best is None or val_scores["mse"] < best[1]:
            best = (penalty, val_scores["mse"], B, val_scores["mae"])
    if best is None:
        raise TrainingError("the least-squares fit of the linear path is not finite for any penalty "
                            "(non-finite values in the data?)")
    penalty, val_mse, B, val_mae = best
    linear.linear.weight.copy_(B[:L].t())
    linear.linear.bias.copy_(B[L])
    # the training MSE of the fit, sum w |a B - t|^2 / count, from the same sums (no second pass)
    train_mse = (total * ((B * (G @ B)).sum() - 2 * (B * R).sum()) + targets) / count
    return {"fit": "ridge", "penalty": penalty, "train_loss": float(train_mse),
            "val_mse": val_mse, "val_mae": val_mae, "val_mse_by_penalty": {str(k): v for k, v in scores.items()},
            "seconds": time.perf_counter() - t0}
