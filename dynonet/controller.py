"""The controller: a small hypernetwork that reads the whole (normalized) window of all
channels and emits bounded modulation signals for the per-channel workers.

Every signal is squashed into its range by a sigmoid/tanh and its head starts with zero
weights, so at initialization each signal sits exactly at its neutral value and the model
behaves like the workers-only model; training moves it away from there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from dynonet.config import DROPOUT_MAX, ModelConfig
from dynonet.recurrence import gru_recurrence

LR_SCALE_MIN, LR_SCALE_MAX = 0.01, 5.0
SMALL_INFERENCE_BATCH = 16
GATE_NEUTRAL = 0.5  # sigmoid(0); a constant gate is absorbed by the worker's output projection


@dataclass
class Signals:
    """Per-sample modulation for the workers."""

    gamma: Tensor  # (B, layers, C, h) FiLM scale
    beta: Tensor  # (B, layers, C, h) FiLM shift
    dropout: Tensor  # (B, C) dropout rate in [0, 0.7]
    lr_scale: Tensor  # (B, C) update scale in [0.01, 5]
    gate: Tensor  # (B, C, h) feature gate in [0, 1]
    context: Tensor  # (B, ctx) shared by every worker
    state: Tensor | None = None  # (B, hidden) controller state the signals were read from
    # (B, C) scale and shift of the trend branch's forecast; None: not modulated (neutral)
    trend_gamma: Tensor | None = None
    trend_beta: Tensor | None = None

    def summary(self) -> dict[str, Tensor]:
        """Batch means for logging (0-dim tensors: no host sync until read)."""
        return {
            "gamma": self.gamma.mean(),
            "beta_abs": self.beta.abs().mean(),
            "dropout": self.dropout.mean(),
            "lr_scale": self.lr_scale.mean(),
            "gate": self.gate.mean(),
            **({} if self.trend_gamma is None else {"trend_gamma": self.trend_gamma.mean(),
                                                    "trend_beta_abs": self.trend_beta.abs().mean()}),
        }


def neutral_signals(cfg: ModelConfig, batch: int, device: torch.device) -> Signals:
    """The signals of the workers-only model (and of an untrained controller)."""
    C, h, n = cfg.n_channels, cfg.worker_hidden, cfg.worker_layers
    return Signals(
        gamma=torch.ones(batch, n, C, h, device=device),
        beta=torch.zeros(batch, n, C, h, device=device),
        dropout=torch.full((batch, C), cfg.dropout, device=device),
        lr_scale=torch.ones(batch, C, device=device),
        gate=torch.full((batch, C, h), GATE_NEUTRAL, device=device),
        context=torch.zeros(batch, cfg.context_dim, device=device),
    )


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _head(d_in: int, d_out: int, bias: float = 0.0) -> nn.Linear:
    head = nn.Linear(d_in, d_out)
    nn.init.zeros_(head.weight)
    nn.init.constant_(head.bias, bias)
    return head


class Controller(nn.Module):
    """GRU over the window (optionally over patches of it) -> `Signals`."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg  # DynoNet.check_config keeps the patch within the lookback
        C, h, hid, p = cfg.n_channels, cfg.worker_hidden, cfg.controller_hidden, cfg.controller_patch_len
        # A patch embedding shortens the recurrence from L to L/p steps: the controller's cost
        # no longer grows step by step with the lookback.
        self.embed = nn.Linear(C * p, hid) if p > 1 else None
        self.gru = nn.GRU(hid if p > 1 else C, hid, batch_first=True)  # holds the weights
        # Run the recurrence with the workers' GRU (hand-written backward through time, as one
        # "channel"): the same equations as nn.GRU, several times faster to train on a CPU.
        self.fused = True
        self.film = _head(hid, 2 * cfg.worker_layers * C * h)
        self.dropout = _head(hid, C, _logit(cfg.dropout / DROPOUT_MAX))
        self.lr_scale = _head(hid, C, _logit((1 - LR_SCALE_MIN) / (LR_SCALE_MAX - LR_SCALE_MIN)))
        self.gate = _head(hid, C * h)
        self.context = nn.Linear(hid, cfg.context_dim)
        self.trend = _head(hid, 2 * C) if cfg.trend_modulation else None

    def encode(self, x: Tensor) -> Tensor:
        """x: (B, L, C) normalized window -> (B, hidden) last GRU state."""
        return self.recurrence(self.steps(x))

    def steps(self, x: Tensor) -> Tensor:
        """What the GRU reads: x (B, L, C) itself, or its embedded patches (B, L/p, hidden)."""
        if self.embed is None:
            return x
        p = self.cfg.controller_patch_len
        B, L, C = x.shape
        return self.embed(x[:, L % p :].reshape(B, L // p, p * C))  # oldest L % p steps dropped

    def recurrence(self, x: Tensor) -> Tensor:
        """The GRU alone: (B, steps, features) -> (B, hidden) last state."""
        # Forecasting a few windows without gradient: nn.GRU's fused inference cell has less
        # overhead per step (measured: 4 vs 8 ms for one 512-step window; 92 vs 61 ms for 512).
        if not self.fused or (not torch.is_grad_enabled() and x.shape[0] <= SMALL_INFERENCE_BATCH):
            return self.gru(x)[1][0]
        g = self.gru
        weights = [w.unsqueeze(0) for w in (g.weight_ih_l0, g.bias_ih_l0, g.weight_hh_l0, g.bias_hh_l0)]
        return gru_recurrence(x.transpose(0, 1).unsqueeze(1), *weights, sequence=False)[0]  # (B, hidden)

    def lr_scale_from(self, state: Tensor) -> Tensor:
        """(B, hidden) -> (B, C) learning-rate scale."""
        return LR_SCALE_MIN + (LR_SCALE_MAX - LR_SCALE_MIN) * torch.sigmoid(self.lr_scale(state))

    def forward(self, x: Tensor) -> Signals:
        cfg = self.cfg
        B = x.shape[0]
        C, h, n = cfg.n_channels, cfg.worker_hidden, cfg.worker_layers
        state = self.encode(x)  # (B, hidden)
        film = torch.tanh(self.film(state)).view(B, 2, n, C, h) * cfg.film_scale
        signals = Signals(
            gamma=1 + film[:, 0],
            beta=film[:, 1],
            dropout=DROPOUT_MAX * torch.sigmoid(self.dropout(state)),
            lr_scale=self.lr_scale_from(state),
            gate=torch.sigmoid(self.gate(state)).view(B, C, h),
            context=torch.tanh(self.context(state)),
            state=state,
        )
        if self.trend is not None:
            trend = torch.tanh(self.trend(state)).view(B, 2, C) * cfg.film_scale
            signals.trend_gamma, signals.trend_beta = 1 + trend[:, 0], trend[:, 1]
        if cfg.fixed_signals:
            neutral = neutral_signals(cfg, B, x.device)
            for name in cfg.fixed_signals:
                for attr in {"film": ("gamma", "beta"), "trend": ("trend_gamma", "trend_beta")}.get(name, (name,)):
                    setattr(signals, attr, getattr(neutral, attr))
        return signals
