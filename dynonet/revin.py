"""Reversible instance normalization (Kim et al., ICLR 2022).

Each window is normalized by its own per-channel mean and std on the way in, and the
forecast is mapped back with the same statistics on the way out, with a learnable affine.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class RevIN(nn.Module):
    def __init__(self, n_channels: int, affine: bool = True, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.ones(n_channels))
            self.bias = nn.Parameter(torch.zeros(n_channels))

    def stats(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Per-window, per-channel mean and std over time. x: (B, L, C) -> two (B, 1, C)."""
        mean = x.mean(dim=1, keepdim=True)
        std = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + self.eps)
        return mean, std

    def normalize(self, x: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        stats = self.stats(x)
        z = (x - stats[0]) / stats[1]
        if self.affine:
            z = z * self.weight + self.bias
        return z, stats

    def denormalize(self, y: Tensor, stats: tuple[Tensor, Tensor]) -> Tensor:
        if self.affine:
            y = (y - self.bias) / (self.weight + self.eps * self.eps)
        return y * stats[1] + stats[0]
