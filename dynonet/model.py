"""DynoNet assembled: RevIN -> [trend branch + controller-modulated workers] -> mixer -> RevIN^-1."""

from __future__ import annotations

from typing import Collection

import torch
from torch import Tensor, nn

from dynonet.base import Forecaster
from dynonet.config import CONTROLLER_SETTINGS, DROPOUT_MAX, PATCHTST_SETTINGS, ModelConfig, flag
from dynonet.controller import Controller, Signals, neutral_signals
from dynonet.decomposition import MovingAverage, TimeLinear
from dynonet.errors import ConfigError
from dynonet.revin import RevIN
from dynonet.workers import Workers


class ChannelMixer(nn.Module):
    """Residual MLP over the channel axis; zero-initialized, so it starts as the identity."""

    def __init__(self, n_channels: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_channels, hidden), nn.GELU(), nn.Linear(hidden, n_channels))
        self.reset()

    def reset(self) -> None:
        """Back to the identity (the first layer keeps its weights)."""
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, y: Tensor) -> Tensor:
        return y + self.net(y)  # y: (B, H, C)


class TrendPath(Forecaster):
    """DynoNet's RevIN + trend branch alone: a RevIN + Linear(L, H) model that shares DynoNet's
    parameters, which trend-first training fits before the workers."""

    display_name = "DynoNet trend path"

    def __init__(self, owner: "DynoNet"):
        super().__init__(owner.cfg)
        self.revin, self.trend = owner.revin, owner.trend
        self._average = lambda: owner.average  # the owner's buffer, wherever `.to()` has moved it

    def forward(self, x: Tensor, signals: Signals | None = None) -> Tensor:
        z, stats = self.revin.normalize(x)
        return self.revin.denormalize(self.trend(z, before=self._average()), stats)

    def time_linear(self) -> tuple[TimeLinear, Tensor | None]:
        """The trend branch's Linear and the moving average before it (None: the whole window)."""
        return self.trend, self._average()


class DynoNet(Forecaster):
    """RevIN -> trend branch Linear(L, H) + per-channel GRU workers on the residual, modulated by
    the controller's signals (neutral without it) -> channel mixer -> RevIN^-1. With
    `trend_modulation` the controller also scales and shifts the trend branch's forecast."""

    display_name = "DynoNet"
    unread = PATCHTST_SETTINGS
    controller_settings = CONTROLLER_SETTINGS  # read by the controller alone

    @classmethod
    def unread_with(cls, cfg: ModelConfig) -> frozenset[str]:
        return cls.unread if cfg.controller else cls.unread | cls.controller_settings

    @classmethod
    def configured(cls, cfg: ModelConfig, unread: Collection[str]) -> str:
        # only where the controller would read one of them: --patch-len is PatchTST's whatever it does
        if cfg.controller or not cls.controller_settings & set(unread):
            return ""
        return " with the controller off (--controller turns it on)"

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.check_config(cfg)
        self.revin = RevIN(cfg.n_channels)
        self.controller = Controller(cfg) if cfg.controller else None
        self.decomposition = MovingAverage(cfg.ma_kernel)
        self.trend = TimeLinear(cfg.lookback, cfg.horizon)
        # trend(MA(z)) is linear in z: the trend branch applies Linear @ MA, an (H, L) matrix,
        # and the moving average itself runs only over the steps the workers read.
        # trend_input "window": Linear(z) = Linear(MA z) + Linear(z - MA z), DLinear with tied
        # weights, which keeps the daily cycle that a 25-step average of hourly data removes.
        average = self.decomposition.matrix(cfg.lookback) if cfg.trend_input == "average" else None
        self.register_buffer("average", average, persistent=False)
        self.workers = Workers(cfg)
        self.mixer = ChannelMixer(cfg.n_channels, cfg.mixer_hidden) if cfg.mixer else None

    @classmethod
    def check_config(cls, cfg: ModelConfig) -> None:
        if cfg.controller and cfg.dropout == 0:  # its dropout head starts at logit(dropout / DROPOUT_MAX)
            raise ConfigError(f"--dropout must be in (0, {DROPOUT_MAX}) with --controller (got {cfg.dropout!r})")
        if cfg.trend_modulation and not cfg.controller:
            raise ConfigError("--trend-modulation needs the controller (--controller): without it there is "
                              "nothing to modulate the trend branch")
        if cfg.controller and cfg.controller_encoder == "attention" and cfg.controller_hidden % cfg.controller_heads:
            raise ConfigError(f"--controller-hidden must be divisible by --controller-heads with --controller-encoder "
                              f"attention (got {cfg.controller_hidden} and {cfg.controller_heads})")
        for name, value in (("worker_seq_len", cfg.worker_seq_len),
                            ("controller_patch_len", cfg.controller_patch_len if cfg.controller else 0)):
            if value > cfg.lookback:
                raise ConfigError(f"{flag(name)} {value} exceeds --lookback {cfg.lookback}; set {flag(name)} to "
                                  f"{cfg.lookback} or less")

    def signals(self, x: Tensor) -> Signals:
        """The controller's signals for x: (B, L, C); neutral ones without a controller."""
        if self.controller is None:
            return neutral_signals(self.cfg, x.shape[0], x.device)
        mean, std, _ = self.revin.stats(x)
        return self.controller((x - mean) / std)  # the controller reads the normalized window

    def forward(self, x: Tensor, signals: Signals | None = None) -> Tensor:
        """x: (B, L, C) -> (B, H, C). Signals are computed from x unless given."""
        if signals is None:
            signals = self.signals(x)
        z, stats = self.revin.normalize(x)
        _, residual = self.decomposition(z, last=self.cfg.worker_seq_len)  # (B, T, C)
        trend = self.trend(z, before=self.average)  # (B, H, C)
        if signals.trend_gamma is not None:
            trend = torch.addcmul(signals.trend_beta[:, None], trend, signals.trend_gamma[:, None])
        y = trend + self.workers(residual, signals)
        if self.mixer is not None:
            y = self.mixer(y)
        return self.revin.denormalize(y, stats)

    def trend_path(self) -> TrendPath:
        return TrendPath(self)

    def zero_residual(self) -> None:
        # The workers' head is their only path to the forecast; the mixer starts as the identity.
        with torch.no_grad():
            self.workers.head_weight.zero_()
            self.workers.head_bias.zero_()
        if self.mixer is not None:
            self.mixer.reset()

    def controller_parameters(self) -> list[nn.Parameter]:
        return [] if self.controller is None else list(self.controller.parameters())

    def scales_channel_updates(self) -> bool:
        return self.controller is not None and "lr_scale" not in self.cfg.fixed_signals

    def lr_scale_from_state(self, state: Tensor) -> Tensor:
        return self.controller.lr_scale_from(state)

    def channel_parameters(self) -> list[nn.Parameter]:
        return self.workers.channel_parameters()
