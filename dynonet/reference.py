"""The published DynoNet's computation written the plain way: the speed benchmark's reference.

`dynonet bench speed` trains this next to the project's own path from the same weights on the
same windows, and the tests check that both compute the same forecasts and training steps:

- `ReferenceDynoNet`: `DynoNet` with one `nn.GRU` per channel in a Python loop
  (`ChannelWorker`) in place of the batched `Workers`;
- `ReferenceTrainer`: the bi-level step with full backward through the whole model at both
  levels;
- `WindowDataset`: a per-sample `Dataset` for a `DataLoader`, as the published code loads data.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from dynonet.controller import Signals
from dynonet.errors import ConfigError
from dynonet.model import DynoNet
from dynonet.workers import relaxed_dropout


# =========================================================================================
# Reference model: one nn.GRU per channel, in a Python loop
# =========================================================================================
class ChannelWorker(nn.Module):
    """The worker of one channel as separate standard modules: Linear(1, h) -> GRU layers,
    each followed by FiLM and LayerNorm -> relaxed dropout -> gate -> Linear(h + ctx, H)."""

    def __init__(self, hidden: int, layers: int, context_dim: int, horizon: int):
        super().__init__()
        self.inp = nn.Linear(1, hidden)
        # One nn.GRU per layer (not num_layers=n): FiLM and LayerNorm act between layers.
        self.grus = nn.ModuleList([nn.GRU(hidden, hidden, batch_first=True) for _ in range(layers)])
        self.norms = nn.ModuleList([nn.LayerNorm(hidden) for _ in range(layers)])
        self.head = nn.Linear(hidden + context_dim, horizon)

    def forward(self, r: Tensor, gamma: Tensor, beta: Tensor, dropout: Tensor, gate: Tensor,
                context: Tensor) -> Tensor:
        """r: (B, T) residual of this channel; gamma, beta: (B, layers, h); dropout: (B,);
        gate: (B, h); context: (B, ctx) -> forecast of the residual (B, H)."""
        x = self.inp(r.unsqueeze(-1))  # (B, T, h)
        n_layers = len(self.grus)
        for layer, (gru, norm) in enumerate(zip(self.grus, self.norms)):
            out, last = gru(x)  # (B, T, h), (1, B, h)
            if layer == n_layers - 1:
                x = norm(last[0] * gamma[:, layer] + beta[:, layer])  # (B, h)
            else:
                x = norm(out * gamma[:, layer, None] + beta[:, layer, None])  # (B, T, h)
        if self.training:
            x = relaxed_dropout(x, dropout.unsqueeze(-1))
        x = x * gate
        return self.head(torch.cat([x, context], dim=-1))  # (B, H)


class ReferenceDynoNet(nn.Module):
    """`DynoNet` with the vectorized `Workers` replaced by a loop over `ChannelWorker`s.

    Built from a `DynoNet` (`from_model`): every weight is copied, so both compute the same
    forecasts. RevIN, controller, decomposition, trend and mixer are deep copies of the
    original modules: only the workers differ, and the controller runs its `nn.GRU`.
    """

    def __init__(self, model: DynoNet):
        super().__init__()
        cfg = model.cfg
        self.cfg = cfg
        self.revin = copy.deepcopy(model.revin)
        self.controller = copy.deepcopy(model.controller)
        if self.controller is not None:
            self.controller.fused = False  # the plain path: nn.GRU and autograd
        self.decomposition = copy.deepcopy(model.decomposition)
        self.trend = copy.deepcopy(model.trend)
        self.mixer = copy.deepcopy(model.mixer)
        self.workers = nn.ModuleList(
            [ChannelWorker(cfg.worker_hidden, cfg.worker_layers, cfg.worker_context_dim, cfg.horizon)
             for _ in range(cfg.n_channels)]
        )
        self._copy_workers(model)

    @torch.no_grad()
    def _copy_workers(self, model: DynoNet) -> None:
        w = model.workers
        for c, worker in enumerate(self.workers):
            worker.inp.weight.copy_(w.in_weight[c].unsqueeze(1))  # (h, 1)
            worker.inp.bias.copy_(w.in_bias[c])
            for layer, (gru, norm) in enumerate(zip(worker.grus, worker.norms)):
                gru.weight_ih_l0.copy_(w.w_ih[layer][c])  # (3h, h), gates (r, z, n) as nn.GRU
                gru.weight_hh_l0.copy_(w.w_hh[layer][c])
                gru.bias_ih_l0.copy_(w.b_ih[layer][c])
                gru.bias_hh_l0.copy_(w.b_hh[layer][c])
                norm.weight.copy_(w.norm_weight[c, layer])
                norm.bias.copy_(w.norm_bias[c, layer])
            worker.head.weight.copy_(w.head_weight[c].t())  # (H, h + ctx)
            worker.head.bias.copy_(w.head_bias[c])

    def vectorized_state_dict(self) -> dict[str, Tensor]:
        """This model's weights in `DynoNet.state_dict()` layout (to compare with it)."""
        ws = self.workers
        state = {k: v for k, v in self.state_dict().items() if not k.startswith("workers.")}
        state["workers.in_weight"] = torch.stack([w.inp.weight[:, 0] for w in ws])
        state["workers.in_bias"] = torch.stack([w.inp.bias for w in ws])
        for layer in range(self.cfg.worker_layers):
            for name, attr in (("w_ih", "weight_ih_l0"), ("w_hh", "weight_hh_l0"), ("b_ih", "bias_ih_l0"),
                               ("b_hh", "bias_hh_l0")):
                state[f"workers.{name}.{layer}"] = torch.stack([getattr(w.grus[layer], attr) for w in ws])
        state["workers.norm_weight"] = torch.stack([torch.stack([n.weight for n in w.norms]) for w in ws])
        state["workers.norm_bias"] = torch.stack([torch.stack([n.bias for n in w.norms]) for w in ws])
        state["workers.head_weight"] = torch.stack([w.head.weight.t() for w in ws])
        state["workers.head_bias"] = torch.stack([w.head.bias for w in ws])
        return {k: v.detach() for k, v in state.items()}

    def signals(self, x: Tensor) -> Signals:
        mean, std, _ = self.revin.stats(x)
        return self.controller((x - mean) / std)

    def forward(self, x: Tensor, signals: Signals | None = None) -> Tensor:
        """x: (B, L, C) -> (B, H, C)."""
        if signals is None:
            signals = self.signals(x)
        z, stats = self.revin.normalize(x)
        trend, residual = self.decomposition(z)  # (B, L, C) each
        r = residual[:, -self.cfg.worker_seq_len :]  # (B, T, C)
        per_channel = [
            worker(r[:, :, c], signals.gamma[:, :, c], signals.beta[:, :, c], signals.dropout[:, c],
                   signals.gate[:, c], signals.context)
            for c, worker in enumerate(self.workers)
        ]
        trend_in = trend if self.cfg.trend_input == "average" else z
        trend_out = self.trend(trend_in)  # (B, H, C)
        if signals.trend_gamma is not None:
            trend_out = trend_out * signals.trend_gamma[:, None] + signals.trend_beta[:, None]
        y = trend_out + torch.stack(per_channel, dim=-1)  # (B, H, C)
        if self.mixer is not None:
            y = self.mixer(y)
        return self.revin.denormalize(y, stats)

    def controller_parameters(self) -> list[nn.Parameter]:
        return list(self.controller.parameters())

    def worker_parameters(self) -> list[nn.Parameter]:
        ctrl = {id(p) for p in self.controller_parameters()}
        return [p for p in self.parameters() if id(p) not in ctrl]


# =========================================================================================
# Reference training: full backward at both levels, per-sample data loading
# =========================================================================================
def unsupported(model_cfg: Any, train_cfg: Any) -> str | None:
    """What the reference path leaves out that these settings ask for, named by their flags
    (`bench speed --paths optimized` times the project's path alone); None if nothing."""
    if model_cfg.fixed_signals:
        return "--fixed-signals: the reference path does not hold signals fixed (--paths optimized)"
    if train_cfg.schedule != "cosine":
        return f"--schedule {train_cfg.schedule}: the reference path has only the cosine schedule (--paths optimized)"
    if train_cfg.ema_decay:
        return f"--ema-decay {train_cfg.ema_decay}: the reference path keeps no average of the weights (--paths optimized)"
    if train_cfg.loss != "mse":
        return f"--loss {train_cfg.loss}: the reference path trains on MSE only (--paths optimized, or --loss mse)"
    return None


class ReferenceTrainer:
    """The bi-level step of `BiLevelTrainer`, written the plain way.

    Same optimizers, learning rates, per-channel lr scaling and lr-scale hypergradient, but
    every step backpropagates through the whole model (controller included in the worker
    step, workers included in the controller step) and only the level's optimizer steps.
    """

    def __init__(self, model: ReferenceDynoNet, cfg: Any):
        if problem := unsupported(model.cfg, cfg):
            raise ConfigError(problem)
        self.model, self.cfg = model, cfg
        self.worker_opt = torch.optim.AdamW(model.worker_parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.controller_opt = torch.optim.AdamW(
            model.controller_parameters(), lr=cfg.controller_lr, weight_decay=cfg.controller_weight_decay
        )
        self.schedulers = [
            torch.optim.lr_scheduler.CosineAnnealingLR(
                opt, T_max=max(cfg.epochs, 1), eta_min=opt.defaults["lr"] * cfg.min_lr_ratio
            )
            for opt in (self.worker_opt, self.controller_opt)
        ]
        self.hyper: Tensor | None = None  # (C,) lr-scale hypergradient waiting for the next step
        self.hyper_state: Tensor | None = None  # controller state of that training batch
        self.deltas: list[list[Tensor]] = []  # per channel, the scaled-before update of each param
        self.last_state: Tensor | None = None

    def worker_step(self, x: Tensor, y: Tensor) -> Tensor:
        model = self.model
        signals = model.signals(x)  # with gradient: backward below runs through the controller too
        loss = F.mse_loss(model(x, signals), y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        channels = [list(w.parameters()) for w in model.workers]
        before = [[p.detach().clone() for p in ps] for ps in channels]
        self.worker_opt.step()
        # theta_c <- theta_c + s_c * delta_c, one channel (one module) at a time
        scale = signals.lr_scale.detach().mean(0)  # (C,)
        self.deltas = []
        with torch.no_grad():
            for c, (params, olds) in enumerate(zip(channels, before)):
                deltas = []
                for p, old in zip(params, olds):
                    delta = p - old
                    p.copy_(old + scale[c] * delta)
                    deltas.append(delta)
                self.deltas.append(deltas)
        self.last_state = signals.state.detach()
        return loss.detach()

    def controller_step(self, x: Tensor, y: Tensor) -> Tensor:
        model = self.model
        loss = F.mse_loss(model(x, model.signals(x)), y)
        objective = loss
        if self.hyper is not None:
            # first-order hypergradient of the previous step's lr scale (see training.py)
            objective = loss + (self.hyper * model.controller.lr_scale_from(self.hyper_state).mean(0)).sum()
        model.zero_grad(set_to_none=True)
        objective.backward()  # every parameter; the workers' gradients feed the hypergradient
        self.controller_opt.step()
        with torch.no_grad():
            self.hyper = torch.stack([
                sum(((d * p.grad).sum() for d, p in zip(deltas, w.parameters()) if p.grad is not None),
                    torch.zeros((), device=x.device))
                for deltas, w in zip(self.deltas, model.workers)
            ])  # (C,)
        self.hyper_state = self.last_state
        return loss.detach()


class WindowDataset(Dataset):
    """One (x, y) window per index, sliced from a (T, C) tensor: a per-sample pipeline."""

    def __init__(self, series: Tensor, rows: tuple[int, int], lookback: int, horizon: int):
        self.series = series[rows[0] : rows[1]]  # (rows, C)
        self.lookback, self.horizon = lookback, horizon

    def __len__(self) -> int:
        return max(len(self.series) - self.lookback - self.horizon + 1, 0)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        w = self.series[i : i + self.lookback + self.horizon]  # (L + H, C)
        return w[: self.lookback], w[self.lookback :]


@torch.no_grad()
def reference_validate(model: nn.Module, loader: DataLoader, device: torch.device) -> float:
    """Validation MSE over every window (same metric as `evaluate`)."""
    was_training = model.training
    model.eval()
    sq = torch.zeros((), device=device)
    count = 0
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        sq += (model(x) - y).square().sum()
        count += y.numel()
    model.train(was_training)
    return sq.item() / count
