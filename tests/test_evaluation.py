"""dynonet.evaluation: the scores every run reports, against a plain computation over all windows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dynonet.data import Scaler, Windows
from dynonet.evaluation import evaluate


class Shifted(torch.nn.Module):
    """Forecasts the window's last value plus a per-channel shift: errors differ by channel."""

    def __init__(self, horizon: int, shift: torch.Tensor):
        super().__init__()
        self.horizon, self.shift = horizon, shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, C) -> (B, H, C)
        return x[:, -1:, :].expand(-1, self.horizon, -1) + self.shift


@pytest.mark.parametrize("batch_size", [1, 7, 10_000])  # 7 leaves a last partial batch
def test_scores_equal_a_plain_computation_over_every_window(batch_size):
    L, H, C = 12, 5, 3
    rng = np.random.default_rng(0)
    series = torch.as_tensor(rng.normal(size=(80, C)), dtype=torch.float32)  # (T, C)
    windows = Windows(series, (10, 80), L, H)
    model = Shifted(H, torch.tensor([0.0, 0.5, -1.0])).train()
    scaler = Scaler(mean=np.array([1.0, 2.0, 3.0]), std=np.array([2.0, 0.5, 10.0]))

    scores = evaluate(model, windows, batch_size, ["a", "b", "c"], scaler)

    n = 80 - 10 - L - H + 1
    errors = np.stack([model(series[None, s : s + L]).detach().numpy()[0] - series[s + L : s + L + H].numpy()
                       for s in range(10, 10 + n)])  # (N, H, C), one window at a time
    mse_c, mae_c = (errors**2).mean(axis=(0, 1)), np.abs(errors).mean(axis=(0, 1))
    assert scores["windows"] == n == len(windows)
    assert scores["mse"] == pytest.approx(mse_c.mean(), rel=1e-6)
    assert scores["mae"] == pytest.approx(mae_c.mean(), rel=1e-6)
    assert [scores["per_channel"][c]["mse"] for c in "abc"] == pytest.approx(mse_c, rel=1e-6)
    assert [scores["per_channel"][c]["mae"] for c in "abc"] == pytest.approx(mae_c, rel=1e-6)
    # original units: the same errors after undoing each channel's scaling
    original = errors * scaler.std
    assert scores["original_units"]["mse"] == pytest.approx((original**2).mean(axis=(0, 1)).mean(), rel=1e-6)
    assert scores["original_units"]["mae"] == pytest.approx(np.abs(original).mean(axis=(0, 1)).mean(), rel=1e-6)
    per_series = scores["original_units"]["per_channel"]
    assert [per_series[c]["mse"] for c in "abc"] == pytest.approx((original**2).mean(axis=(0, 1)), rel=1e-6)
    assert [per_series[c]["mae"] for c in "abc"] == pytest.approx(np.abs(original).mean(axis=(0, 1)), rel=1e-6)
    assert model.training  # the model is handed back in the mode it came in


def test_without_columns_or_scaler_only_the_overall_scores():
    series = torch.arange(40, dtype=torch.float32)[:, None]  # (T, 1): a line, so repeating the last value errs
    scores = evaluate(Shifted(2, torch.zeros(1)), Windows(series, (0, 40), 4, 2), 8)
    assert set(scores) == {"mse", "mae", "windows"}
    assert scores["mae"] == pytest.approx(1.5) and scores["mse"] == pytest.approx(2.5)  # errors 1 and 2
