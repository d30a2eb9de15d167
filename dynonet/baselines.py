"""Baselines measured in the same runs as DynoNet, under the same protocol.

- `RevINLinear`: RevIN + one Linear(L, H) shared by channels (the simplest honest baseline).
- `DLinear`: Zeng et al. (AAAI 2023), shared-weights form: moving-average decomposition,
  Linear(L, H) on trend and on remainder, no normalization.
- `PatchTST`: Nie et al. (ICLR 2023), channel-independent supervised form: RevIN, patches
  (end-padded by the stride), Transformer encoder with BatchNorm, flatten head. The
  residual-attention shortcut of the reference code is left out.
- `RepeatLast`: the last observed value, repeated over the horizon (no parameters).
- `SeasonalRepeat`: the last seasonal cycle (`season` steps), repeated over the horizon (no
  parameters): the seasonal naive forecast.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dynonet.base import Forecaster
from dynonet.config import DYNONET_SETTINGS, OPTIMIZATION_SETTINGS, PATCHTST_SETTINGS, TREND_STAGE_SETTINGS, ModelConfig
from dynonet.controller import Signals
from dynonet.decomposition import MovingAverage, TimeLinear
from dynonet.errors import ConfigError
from dynonet.revin import RevIN


class RevINLinear(Forecaster):
    """RevIN + one Linear(L, H) over time, shared by channels."""

    display_name = "RevIN+Linear"
    unread = DYNONET_SETTINGS | PATCHTST_SETTINGS | {"model.ma_kernel"}

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.revin = RevIN(cfg.n_channels)
        self.linear = TimeLinear(cfg.lookback, cfg.horizon)

    def forward(self, x: Tensor, signals: Signals | None = None) -> Tensor:
        z, stats = self.revin.normalize(x)
        return self.revin.denormalize(self.linear(z), stats)

    def trend_path(self) -> "RevINLinear":
        # the whole model is a linear path: trend-first training (and its closed-form fit,
        # `--trend-fit ridge`) fits it as DynoNet's first stage, and there is no second stage
        return self

    def zero_residual(self) -> None:
        pass  # nothing outside the linear path

    def time_linear(self) -> tuple[TimeLinear, Tensor | None]:
        return self.linear, None


class DLinear(Forecaster):
    """DLinear: moving-average trend and remainder, each through its own Linear(L, H)."""

    display_name = "DLinear"
    unread = DYNONET_SETTINGS | PATCHTST_SETTINGS | TREND_STAGE_SETTINGS

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.decomposition = MovingAverage(cfg.ma_kernel)
        self.trend = TimeLinear(cfg.lookback, cfg.horizon)
        self.seasonal = TimeLinear(cfg.lookback, cfg.horizon)

    def forward(self, x: Tensor, signals: Signals | None = None) -> Tensor:
        trend, seasonal = self.decomposition(x)
        return self.trend(trend) + self.seasonal(seasonal)


class RepeatLast(Forecaster):
    """The last observed value of each channel, repeated over the horizon."""

    display_name = "RepeatLast"
    unread = DYNONET_SETTINGS | PATCHTST_SETTINGS | OPTIMIZATION_SETTINGS | {"model.ma_kernel"}  # nothing to train
    repeats_input = True

    def forward(self, x: Tensor, signals: Signals | None = None) -> Tensor:
        return x[:, -1:].expand(-1, self.cfg.horizon, -1)


class SeasonalRepeat(Forecaster):
    """The last `season` observed values of each channel, repeated cycle after cycle over the
    horizon: each step forecast by the value one season before it (the seasonal naive)."""

    display_name = "SeasonalRepeat"
    unread = RepeatLast.unread
    needs_season = True
    repeats_input = True

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        if cfg.season < 1:  # (`registry.build_model` sets it from the data's time step, where it has one)
            raise ConfigError("seasonal-repeat needs --season, the steps in one seasonal cycle")
        # step t of the horizon repeats window step L - season + (t mod season)
        steps = cfg.lookback - cfg.season + torch.arange(cfg.horizon) % cfg.season
        self.register_buffer("steps", steps, persistent=False)

    def forward(self, x: Tensor, signals: Signals | None = None) -> Tensor:
        return x[:, self.steps]  # (B, H, C)


class _BatchNormTokens(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.norm = nn.BatchNorm1d(d)

    def forward(self, x: Tensor) -> Tensor:  # (N, P, d)
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class _EncoderLayer(nn.Module):
    """Post-norm encoder layer as in the reference code: no dropout on the attention weights
    (its `attn_dropout` is 0), `dropout` after the attention's output projection and again on
    each residual branch."""

    def __init__(self, d: int, heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ff = nn.Sequential(nn.Linear(d, d_ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_ff, d))
        self.norm_attn, self.norm_ff = _BatchNormTokens(d), _BatchNormTokens(d)
        self.drop_proj, self.drop = nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:  # (N, P, d)
        x = self.norm_attn(x + self.drop(self.drop_proj(self.attn(x, x, x, need_weights=False)[0])))
        return self.norm_ff(x + self.drop(self.ff(x)))


class PatchTST(Forecaster):
    """PatchTST, channel-independent: RevIN, patch tokens, Transformer encoder, flatten head."""

    display_name = "PatchTST"
    unread = DYNONET_SETTINGS | TREND_STAGE_SETTINGS | {"model.ma_kernel"}

    @classmethod
    def check_config(cls, cfg: ModelConfig) -> None:
        if cfg.patch_len > cfg.lookback:
            raise ConfigError(f"--patch-len {cfg.patch_len} exceeds --lookback {cfg.lookback}; set --patch-len to "
                              f"{cfg.lookback} or less")
        if cfg.d_model % cfg.n_heads:
            raise ConfigError(f"--d-model must be divisible by --n-heads (got {cfg.d_model} and {cfg.n_heads})")

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        n_patches = (cfg.lookback - cfg.patch_len) // cfg.patch_stride + 2  # +1 from end padding
        self.revin = RevIN(cfg.n_channels)
        self.embed = nn.Linear(cfg.patch_len, cfg.d_model)
        self.position = nn.Parameter(torch.empty(n_patches, cfg.d_model).uniform_(-0.02, 0.02))
        self.encoder = nn.Sequential(
            *[_EncoderLayer(cfg.d_model, cfg.n_heads, cfg.d_ff, cfg.attn_dropout) for _ in range(cfg.n_layers)]
        )
        self.head = nn.Linear(n_patches * cfg.d_model, cfg.horizon)
        self.drop = nn.Dropout(cfg.attn_dropout)

    def forward(self, x: Tensor, signals: Signals | None = None) -> Tensor:
        cfg = self.cfg
        z, stats = self.revin.normalize(x)
        B, L, C = z.shape
        series = z.transpose(1, 2)  # (B, C, L)
        series = torch.cat([series, series[..., -1:].expand(-1, -1, cfg.patch_stride)], dim=-1)
        patches = series.unfold(-1, cfg.patch_len, cfg.patch_stride)  # (B, C, P, patch_len)
        tokens = self.drop(self.embed(patches).flatten(0, 1) + self.position)  # (B*C, P, d)
        tokens = self.encoder(tokens)
        y = self.head(tokens.flatten(1)).view(B, C, -1).transpose(1, 2)  # (B, H, C)
        return self.revin.denormalize(y, stats)
