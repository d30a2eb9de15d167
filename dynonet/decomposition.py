"""DLinear-style series decomposition: a moving average (edge-padded) is the trend,
what remains is the residual."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class MovingAverage(nn.Module):
    def __init__(self, kernel: int = 25):
        super().__init__()
        self.kernel = kernel

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, L, C) -> (trend, residual), both (B, L, C)."""
        k = self.kernel
        # Edge padding (repeat first/last value) keeps the trend unbiased at the window ends.
        padded = F.pad(x.transpose(1, 2), ((k - 1) // 2, k // 2), mode="replicate")  # (B, C, L+k-1)
        trend = F.avg_pool1d(padded, k, stride=1).transpose(1, 2)
        return trend, x - trend


class TimeLinear(nn.Module):
    """One Linear(L, H) over the time axis, shared by every channel."""

    def __init__(self, lookback: int, horizon: int):
        super().__init__()
        self.linear = nn.Linear(lookback, horizon)

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, L, C) -> (B, H, C)."""
        return self.linear(x.transpose(1, 2)).transpose(1, 2)
