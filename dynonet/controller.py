"""The controller: a small hypernetwork that reads the whole (normalized) window of all
channels and emits bounded modulation signals for the per-channel workers.

It reads the window in one of two ways (`controller_encoder`). "joint", the seed's: one GRU
over every channel's steps together, one state per window, from which each head emits every
channel's signals. "attention": one GRU shared by the channels reads each channel's patches
alone; the per-channel states, tagged with a learned channel embedding, attend to each other
across channels (one token per channel), and heads shared by the channels read each token.

Every modulation signal is squashed into its range by a sigmoid/tanh and its head starts with
zero weights, so at initialization each sits exactly at its neutral value; training moves it
away from there. The context vector's head is a plain Linear: an untrained controller's context
is a fixed random feature of the window (the workers-only model's is zero).
"""

from __future__ import annotations

import dataclasses
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
    dropout: Tensor  # (B, C) dropout rate in [0, DROPOUT_MAX]
    lr_scale: Tensor  # (B, C) update scale in [LR_SCALE_MIN, LR_SCALE_MAX]
    gate: Tensor  # (B, C, h) feature gate in [0, 1]
    context: Tensor  # (B, ctx) shared by every worker
    # controller state the signals were read from: (B, hidden), or (B, C, hidden) per channel
    state: Tensor | None = None
    # (B, C) scale and shift of the trend branch's forecast; None: not modulated (neutral)
    trend_gamma: Tensor | None = None
    trend_beta: Tensor | None = None

    def rows(self, part: slice) -> "Signals":
        """The signals of those windows of the batch (views)."""
        return dataclasses.replace(self, **{f.name: t[part] for f in dataclasses.fields(self)
                                            if (t := getattr(self, f.name)) is not None})

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
    """The signals of the workers-only model: FiLM the identity, the configured dropout rate, lr
    scale 1, gates at 0.5 (the values an untrained controller's heads start near) and a zero
    context (an untrained controller's is a random feature; without a controller it has no
    width, as the workers' heads then read none)."""
    C, h, n = cfg.n_channels, cfg.worker_hidden, cfg.worker_layers
    return Signals(
        gamma=torch.ones(batch, n, C, h, device=device),
        beta=torch.zeros(batch, n, C, h, device=device),
        dropout=torch.full((batch, C), cfg.dropout, device=device),
        lr_scale=torch.ones(batch, C, device=device),
        gate=torch.full((batch, C, h), GATE_NEUTRAL, device=device),
        context=torch.zeros(batch, cfg.worker_context_dim, device=device),
    )


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _head(d_in: int, d_out: int, bias: float = 0.0) -> nn.Linear:
    head = nn.Linear(d_in, d_out)
    nn.init.zeros_(head.weight)
    nn.init.constant_(head.bias, bias)
    return head


class Controller(nn.Module):
    """Window (B, L, C) -> `Signals`: a GRU over the window (or over patches of it), jointly
    over the channels or per channel with attention across them (`controller_encoder`)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg  # DynoNet.check_config keeps the patch within the lookback
        C, h, hid, p = cfg.n_channels, cfg.worker_hidden, cfg.controller_hidden, cfg.controller_patch_len
        per_channel = cfg.controller_encoder == "attention"
        # A patch embedding shortens the recurrence from L to L/p steps: the controller's cost
        # no longer grows step by step with the lookback. Per channel, a patch is p values.
        width = p if per_channel else C * p
        self.embed = nn.Linear(width, hid) if p > 1 or per_channel else None
        self.gru = nn.GRU(hid if self.embed is not None else C, hid, batch_first=True)  # holds the weights
        # Run the recurrence with the workers' GRU (hand-written backward through time, as one
        # "channel"): the same equations as nn.GRU, several times faster to train on a CPU.
        self.fused = True
        self.attention = nn.MultiheadAttention(hid, cfg.controller_heads, batch_first=True) if per_channel else None
        self.norm = nn.LayerNorm(hid) if per_channel else None
        # Zero: the channels start alike and the shared heads tell them apart as it learns.
        self.channel_embedding = nn.Parameter(torch.zeros(C, hid)) if per_channel else None
        # A joint head emits every channel's values from one state; a per-channel head, shared
        # by the channels, emits one channel's values from its token.
        n = 1 if per_channel else C
        self.film = _head(hid, 2 * cfg.worker_layers * n * h)
        self.dropout = _head(hid, n, _logit(cfg.dropout / DROPOUT_MAX))
        self.lr_scale = _head(hid, n, _logit((1 - LR_SCALE_MIN) / (LR_SCALE_MAX - LR_SCALE_MIN)))
        self.gate = _head(hid, n * h)
        self.context = nn.Linear(hid, cfg.context_dim)
        self.trend = _head(hid, 2 * n) if cfg.trend_modulation else None

    def encode(self, x: Tensor) -> Tensor:
        """x: (B, L, C) normalized window -> state: (B, hidden) joint, (B, C, hidden) per channel."""
        state = self.recurrence(self.steps(x))  # (B, hidden) or (B * C, hidden)
        if self.attention is None:
            return state
        tokens = state.view(x.shape[0], x.shape[2], -1) + self.channel_embedding  # (B, C, hidden)
        mixed = self.attention(tokens, tokens, tokens, need_weights=False)[0]
        return self.norm(tokens + mixed)

    def steps(self, x: Tensor) -> Tensor:
        """What the GRU reads: x (B, L, C) itself, its embedded patches (B, L/p, hidden), or,
        per channel, each channel's embedded patches (B * C, L/p, hidden)."""
        if self.embed is None:
            return x
        p = self.cfg.controller_patch_len
        B, L, C = x.shape
        x = x[:, L % p :]  # the oldest L % p steps dropped
        if self.attention is None:
            return self.embed(x.reshape(B, L // p, p * C))
        return self.embed(x.transpose(1, 2).reshape(B * C, L // p, p))

    def recurrence(self, x: Tensor) -> Tensor:
        """The GRU alone: (N, steps, features) -> (N, hidden) last state."""
        # Forecasting a few sequences (windows, or windows x channels per channel) without
        # gradient: nn.GRU's fused inference cell has less overhead per step (measured: 4 vs
        # 8 ms for one 512-step window; 92 vs 61 ms for 512). On a GPU nn.GRU is cuDNN, which
        # beats the step loop there (see `recurrence.BLOCK_DIAGONAL_MAX_CHANNELS`).
        if not self.fused or x.is_cuda or (not torch.is_grad_enabled() and x.shape[0] <= SMALL_INFERENCE_BATCH):
            return self.gru(x)[1][0]
        g = self.gru
        weights = [w.unsqueeze(0) for w in (g.weight_ih_l0, g.bias_ih_l0, g.weight_hh_l0, g.bias_hh_l0)]
        return gru_recurrence(x.transpose(0, 1).unsqueeze(1), *weights, sequence=False)[0]  # (N, hidden)

    def _read(self, head: nn.Linear, state: Tensor, *lead: int) -> Tensor:
        """A head's output as (B, *lead, C, k), from a joint or a per-channel state."""
        out = head(state)  # (B, lead * C * k) joint, (B, C, lead * k) per channel
        C = self.cfg.n_channels
        if state.dim() == 2:
            return out.view(state.shape[0], *lead, C, -1)
        return out.view(state.shape[0], C, *lead, -1).movedim(1, -2)

    def lr_scale_from(self, state: Tensor) -> Tensor:
        """Controller state -> (B, C) learning-rate scale."""
        logit = self._read(self.lr_scale, state)[..., 0]
        return LR_SCALE_MIN + (LR_SCALE_MAX - LR_SCALE_MIN) * torch.sigmoid(logit)

    def forward(self, x: Tensor) -> Signals:
        """x: (B, L, C) normalized window -> the signals for the workers (one per sample and channel)."""
        cfg = self.cfg
        B = x.shape[0]
        state = self.encode(x)  # (B, hidden) or (B, C, hidden)
        film = torch.tanh(self._read(self.film, state, 2, cfg.worker_layers)) * cfg.film_scale  # (B, 2, n, C, h)
        pooled = state if state.dim() == 2 else state.mean(1)  # (B, hidden): the context is shared
        signals = Signals(
            gamma=1 + film[:, 0],
            beta=film[:, 1],
            dropout=DROPOUT_MAX * torch.sigmoid(self._read(self.dropout, state)[..., 0]),
            lr_scale=self.lr_scale_from(state),
            gate=torch.sigmoid(self._read(self.gate, state)),
            context=torch.tanh(self.context(pooled)),
            state=state,
        )
        if self.trend is not None:
            trend = torch.tanh(self._read(self.trend, state, 2)[..., 0]) * cfg.film_scale  # (B, 2, C)
            signals.trend_gamma, signals.trend_beta = 1 + trend[:, 0], trend[:, 1]
        if cfg.fixed_signals:
            neutral = neutral_signals(cfg, B, x.device)
            for name in cfg.fixed_signals:
                for attr in {"film": ("gamma", "beta"), "trend": ("trend_gamma", "trend_beta")}.get(name, (name,)):
                    setattr(signals, attr, getattr(neutral, attr))
        return signals
