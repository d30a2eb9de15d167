"""Per-channel GRU workers, all channels in one vectorized module.

Channel c has its own weights (input projection, GRU, LayerNorm, output head); they are
stored stacked on a leading channel axis so that every channel runs in the same batched
matrix product (`bmm` with channels as the batch) and no Python loop runs over channels.
A worker reads the residual of its own channel and is modulated by the controller's
signals: FiLM after each GRU layer, then LayerNorm, adaptive (relaxed) dropout and a gate,
and finally a projection of [last hidden state, context] to the horizon.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dynonet.config import ModelConfig
from dynonet.controller import Signals
from dynonet.recurrence import gru_recurrence

DROPOUT_TEMPERATURE = 0.1


def relaxed_dropout(x: Tensor, rate: Tensor, temperature: float = DROPOUT_TEMPERATURE) -> Tensor:
    """Concrete dropout (Gal et al., 2017): a differentiable Bernoulli mask, so the rate
    receives a gradient. x: (C, B, h), rate: (C, B, 1)."""
    eps = 1e-7
    u = torch.rand_like(x)
    drop = torch.sigmoid(
        (torch.log(rate + eps) - torch.log1p(eps - rate) + torch.log(u + eps) - torch.log1p(eps - u))
        / temperature
    )
    return x * (1 - drop) / (1 - rate)


class Workers(nn.Module):
    """Every channel's GRU worker: residual (B, T, C) + signals -> forecast (B, H, C)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        C, h, H, ctx = cfg.n_channels, cfg.worker_hidden, cfg.horizon, cfg.worker_context_dim
        # Defaults match nn.Linear / nn.GRU / nn.LayerNorm initialization per channel.
        self.in_weight = nn.Parameter(torch.empty(C, h).uniform_(-1, 1))  # Linear(1, h), fan_in 1
        self.in_bias = nn.Parameter(torch.empty(C, h).uniform_(-1, 1))
        k = 1 / math.sqrt(h)
        self.w_ih = nn.ParameterList(
            [nn.Parameter(torch.empty(C, 3 * h, h).uniform_(-k, k)) for _ in range(cfg.worker_layers)]
        )
        self.w_hh = nn.ParameterList(
            [nn.Parameter(torch.empty(C, 3 * h, h).uniform_(-k, k)) for _ in range(cfg.worker_layers)]
        )
        self.b_ih = nn.ParameterList(
            [nn.Parameter(torch.empty(C, 3 * h).uniform_(-k, k)) for _ in range(cfg.worker_layers)]
        )
        self.b_hh = nn.ParameterList(
            [nn.Parameter(torch.empty(C, 3 * h).uniform_(-k, k)) for _ in range(cfg.worker_layers)]
        )
        self.norm_weight = nn.Parameter(torch.ones(C, cfg.worker_layers, h))
        self.norm_bias = nn.Parameter(torch.zeros(C, cfg.worker_layers, h))
        # Drawn at the controller's context width and cut to the rows read: a model without a
        # controller (no context rows) draws the random numbers it drew when it had them, so
        # the runs recorded before the cut reproduce (`context_dim` still sets those draws).
        k = 1 / math.sqrt(h + cfg.context_dim)
        self.head_weight = nn.Parameter(torch.empty(C, h + cfg.context_dim, H).uniform_(-k, k)[:, : h + ctx].clone())
        self.head_bias = nn.Parameter(torch.empty(C, H).uniform_(-k, k))

    def forward(self, residual: Tensor, signals: Signals) -> Tensor:
        """residual: (B, T, C) -> forecast of the residual (B, H, C)."""
        n_layers = self.cfg.worker_layers
        x = residual.permute(1, 2, 0).unsqueeze(-1)  # (T, C, B, 1)
        for layer in range(n_layers):
            w_ih, b_ih = self.w_ih[layer], self.b_ih[layer]
            if layer == 0:
                # The input projection Linear(1, h) and W_ih are both linear: fold them into one
                # GRU input weight of width 1, so the recurrence reads the raw residual.
                b_ih = torch.einsum("cgh,ch->cg", w_ih, self.in_bias) + b_ih  # (C, 3h)
                w_ih = torch.einsum("cgh,ch->cg", w_ih, self.in_weight).unsqueeze(-1)  # (C, 3h, 1)
            last = layer == n_layers - 1
            out = gru_recurrence(x, w_ih, b_ih, self.w_hh[layer], self.b_hh[layer], sequence=not last)
            # FiLM and LayerNorm act on every step for inner layers, only on the last step for
            # the top layer (the head reads nothing else). FiLM comes before the norm, as in the
            # published code, so the norm cancels whatever part of gamma and beta is the same for
            # every hidden unit: only their differences across units change the forecast.
            gamma = signals.gamma[:, layer].transpose(0, 1)  # (C, B, h)
            beta = signals.beta[:, layer].transpose(0, 1)
            out = torch.addcmul(beta, out, gamma)
            out = F.layer_norm(out, out.shape[-1:])
            out = torch.addcmul(self.norm_bias[:, layer, None], out, self.norm_weight[:, layer, None])
            x = out  # (T, C, B, h) or, on the top layer, (C, B, h)
        if self.training:
            x = relaxed_dropout(x, signals.dropout.t().unsqueeze(-1))
        x = x * signals.gate.transpose(0, 1)  # (C, B, h)
        context = signals.context.unsqueeze(0).expand(x.shape[0], -1, -1)  # (C, B, ctx)
        features = torch.cat([x, context], dim=-1)  # (C, B, h + ctx)
        y = torch.baddbmm(self.head_bias.unsqueeze(1), features, self.head_weight)  # (C, B, H)
        return y.permute(1, 2, 0)

    def channel_parameters(self) -> list[nn.Parameter]:
        """Every worker parameter; each has the channel as its leading axis, which is what a
        per-channel learning-rate scale acts on."""
        return list(self.parameters())

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any, **kwargs: Any) -> None:
        # Checkpoints written before 2026-12-02 gave a model without a controller head rows for
        # a context that was always zero: they never changed a forecast, so they go.
        key, rows = prefix + "head_weight", self.head_weight.shape[1]
        stored = state_dict.get(key)
        if stored is not None and stored.dim() == 3 and stored.shape[1] == rows + self.cfg.context_dim \
                and not self.cfg.worker_context_dim:
            state_dict[key] = stored[:, :rows]
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
