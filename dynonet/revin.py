"""Reversible instance normalization (Kim et al., ICLR 2022).

Each window is normalized by its own per-channel mean and std on the way in, and the
forecast is mapped back with the same statistics on the way out, with a learnable affine.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class RevIN(nn.Module):
    """Per-window, per-channel normalization with a learnable affine, undone on the forecast."""

    def __init__(self, n_channels: int, affine: bool = True, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.ones(n_channels))
            self.bias = nn.Parameter(torch.zeros(n_channels))

    def stats(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Per-window, per-channel mean and std over time, and the scale a forecast is mapped back
        with: the std, but 0 where the window is constant (its min is its max), so that a
        constant window, such as a stretch of zero demand, is forecast as that constant exactly
        rather than with the model's output times sqrt(eps) around it. x: (B, L, C) -> three (B, 1, C)."""
        # Mean, then mean squared deviation: stable, and on CPU several times faster than
        # var_mean's reduction across the strided time axis; min and max in one more pass.
        low, high = torch.aminmax(x, dim=1, keepdim=True)
        constant = low == high  # (B, 1, C)
        # a constant window's mean is its value exactly (a float sum of 512 x 37.1 / 512 need not be)
        mean = torch.where(constant, low, x.mean(dim=1, keepdim=True))
        centered = x - mean
        std = torch.sqrt((centered * centered).mean(dim=1, keepdim=True) + self.eps)
        return mean, std, std.masked_fill(constant, 0.0)

    def normalize(self, x: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor, Tensor]]:
        """x: (B, L, C) -> the normalized window and its `stats`, which `denormalize` needs."""
        stats = self.stats(x)
        z = (x - stats[0]) / stats[1]
        if self.affine:
            z = z * self.weight + self.bias
        return z, stats

    def denormalize(self, y: Tensor, stats: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        """y: (B, H, C) on the normalized scale -> the data's scale, with the window's `stats`."""
        if self.affine:
            y = (y - self.bias) / (self.weight + self.eps * self.eps)
        return y * stats[2] + stats[0]
