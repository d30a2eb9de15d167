"""DLinear-style series decomposition: a moving average (edge-padded) is the trend,
what remains is the residual."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MovingAverage(nn.Module):
    """Edge-padded moving average over time, splitting a window into trend and residual."""

    def __init__(self, kernel: int):  # ModelConfig.ma_kernel
        super().__init__()
        self.kernel = kernel

    def forward(self, x: Tensor, last: int | None = None) -> tuple[Tensor, Tensor]:
        """x: (B, L, C) -> (trend, residual), both (B, L, C), or of the `last` steps only
        (which needs only the steps that window reaches, not the whole series)."""
        k, L = self.kernel, x.shape[1]
        left, right = (k - 1) // 2, k // 2
        start = 0 if last is None else max(L - last - left, 0)
        # Edge padding (repeat first/last value) keeps the trend unbiased at the window ends.
        padded = F.pad(x[:, start:].transpose(1, 2), (left if start == 0 else 0, right), mode="replicate")
        trend = F.avg_pool1d(padded, k, stride=1).transpose(1, 2)  # (B, L - start, C)
        if last is not None:
            trend, x = trend[:, -last:], x[:, -last:]
        return trend, x - trend

    def matrix(self, length: int) -> Tensor:
        """The (length, length) matrix A with trend = A @ x along time: the moving average is
        linear, so a linear map of the trend can be folded into one matrix."""
        eye = torch.eye(length).unsqueeze(-1)  # (length, length, 1): each column is one impulse
        return self(eye)[0][..., 0].t()


class TimeLinear(nn.Module):
    """One Linear(L, H) over the time axis, shared by every channel."""

    def __init__(self, lookback: int, horizon: int):
        super().__init__()
        self.linear = nn.Linear(lookback, horizon)

    def forward(self, x: Tensor, before: Tensor | None = None) -> Tensor:
        """x: (B, L, C) -> (B, H, C). `before` (L, L): a linear map of time applied first,
        folded into the weight (H, L) @ (L, L) instead of applied to every window."""
        weight = self.linear.weight if before is None else self.linear.weight @ before
        return F.linear(x.transpose(1, 2), weight, self.linear.bias).transpose(1, 2)
