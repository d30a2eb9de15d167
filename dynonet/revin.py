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

    def stats(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Per-window, per-channel mean and std over time. x: (B, L, C) -> two (B, 1, C)."""
        # Two passes (mean, then mean squared deviation): stable, and on CPU several times
        # faster than var_mean's reduction across the strided time axis.
        low, high = torch.aminmax(x, dim=1, keepdim=True)  # (B, 1, C) each; one pass
        # a constant window's mean is its value exactly (a float sum of 512 x 37.1 / 512 need not be),
        # so its variance is exactly 0 and `out_scale` knows it
        mean = torch.where(low == high, low, x.mean(dim=1, keepdim=True))
        centered = x - mean
        var = (centered * centered).mean(dim=1, keepdim=True)
        return mean, torch.sqrt(var + self.eps)

    def normalize(self, x: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """x: (B, L, C) -> the normalized window and its (mean, std), which `denormalize` needs."""
        stats = self.stats(x)
        z = (x - stats[0]) / stats[1]
        if self.affine:
            z = z * self.weight + self.bias
        return z, stats

    def out_scale(self, std: Tensor) -> Tensor:
        """The scale a forecast is mapped back with: the window's std (`stats`), and 0 where the
        window is constant (std at its floor, sqrt(eps)), so that a constant window, such as a
        stretch of zero demand, is forecast as that constant exactly rather than with the
        model's output times sqrt(eps) around it."""
        return std.masked_fill(std == torch.sqrt(std.new_tensor(self.eps)), 0.0)

    def denormalize(self, y: Tensor, stats: tuple[Tensor, Tensor]) -> Tensor:
        """y: (B, H, C) on the normalized scale -> the data's scale, with the window's (mean, std)."""
        if self.affine:
            y = (y - self.bias) / (self.weight + self.eps * self.eps)
        return y * self.out_scale(stats[1]) + stats[0]
