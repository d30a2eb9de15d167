"""Bi-level, first-order training (not MAML).

Level 1, every step: the worker optimizer (workers, trend, mixer, RevIN; with trend-first,
only workers and mixer) steps on a training batch. The controller's signals are inputs here,
computed without gradient: nothing in this step updates the controller. The learning-rate-scale
signal s_c scales channel c's worker update: theta_c <- theta_c + s_c * delta_c, where delta_c
is AdamW's step.

Level 2, every step: the controller optimizer steps on a batch of the controller split
(validation, as in the paper, or a holdout of the training period). Its loss is the forecast
loss there, which reaches FiLM, gates, context and (through relaxed dropout) the dropout
rate. The lr scale only acts through the worker update, so it learns from a first-order
hypergradient (Baydin et al., 2018): d L_ctrl(theta + s * delta) / d s_c = <delta_c, g_c>,
with g the controller-split gradient w.r.t. the workers, computed in the same backward pass
and applied, one step later, to the lr-scale head's output on that training batch.

Every step's loss is `train.loss` (MSE by default, or MAE or Huber); validation, early
stopping and the closed-form trend fit stay on MSE, the metric reported.

No parameter is in both optimizers; test windows reach neither. Both learning rates follow
`train.schedule` (cosine by default); early stopping watches validation MSE and the best state
is restored. With `train.ema_decay` > 0, an exponential moving average of all weights is kept
over the steps of each stage, and it is what validation scores and what the run keeps.

Trend-first (`train.trend_first`, for models with a `trend_path`): a first stage fits the
trend path (RevIN + Linear) alone, with its own optimizer, schedule and early stopping. Its
best state is restored and frozen, everything else is set to add nothing (`zero_residual`),
and the two-level training above continues from there, with the fitted trend path's
validation MSE as the best so far: the finished model is never worse on validation than the
linear model it started as. Each stage has up to `epochs` epochs. With `train.trend_fit` "ridge"
the first stage is instead the trend path's exact least-squares fit (`least_squares.py`),
recorded as epoch 0.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from dynonet.base import Forecaster
from dynonet.config import TrainConfig
from dynonet.data import Windows
from dynonet.errors import ConfigError, TrainingError
from dynonet.evaluation import evaluate
from dynonet.least_squares import fit_ridge
from dynonet.resume import STATE_FORMAT, rng_state, set_rng_state
from dynonet.schedules import epoch_schedule


@dataclass
class TrainState:
    """Everything early stopping needs; the best weights are kept in memory."""

    best_val: float = math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    best_weights: dict[str, Tensor] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    stage: str = "full"  # "trend" while trend-first training fits the trend path alone
    stage_start: int = 0  # epochs finished before the current stage began


def _channel_view(scale: Tensor, p: Tensor) -> Tensor:
    return scale.view(-1, *([1] * (p.dim() - 1)))  # (C,) -> broadcast over a channel-first param


# The training loss, by `train.loss`; all on the standardized scale (channels have unit std on
# the training rows), where Huber's threshold of 1 is one standard deviation.
LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "mse": F.mse_loss, "mae": F.l1_loss, "huber": F.huber_loss,
}


class BiLevelTrainer:
    """Trains any registered model: bi-level when it has a controller, plain otherwise."""

    def __init__(self, model: Forecaster, cfg: TrainConfig, generator: torch.Generator):
        self.model, self.cfg, self.generator = model, cfg, generator
        self.loss = LOSSES[cfg.loss]
        self.controller_params = model.controller_parameters()
        self.trend = model.trend_path() if cfg.trend_first else None
        self.trend_params = list(self.trend.parameters()) if self.trend is not None else []
        trend_ids = {id(p) for p in self.trend_params}
        # with a trend stage, the trend path is frozen once fitted: the other optimizer never holds it
        worker_params = [p for p in model.worker_parameters() if id(p) not in trend_ids]
        self.channel_params = [p for p in model.channel_parameters() if id(p) not in trend_ids]
        # the trend stage's own optimizer; none when the stage is the closed-form fit
        self.trend_opt = (
            torch.optim.AdamW(self.trend_params, lr=cfg.lr, weight_decay=cfg.weight_decay)
            if self.trend_params and cfg.trend_fit == "adamw" else None
        )
        self.trend_scheduler = epoch_schedule(self.trend_opt, cfg) if self.trend_opt is not None else None
        self.worker_opt = (
            torch.optim.AdamW(worker_params, lr=cfg.lr, weight_decay=cfg.weight_decay) if worker_params else None
        )
        self.controller_opt = (
            torch.optim.AdamW(self.controller_params, lr=cfg.controller_lr, weight_decay=cfg.controller_weight_decay)
            if self.controller_params and cfg.controller_lr > 0
            else None
        )
        optimizers = [opt for opt in (self.worker_opt, self.controller_opt) if opt is not None]
        self.schedulers = [sched for sched in (epoch_schedule(opt, cfg) for opt in optimizers) if sched is not None]
        self.scales_updates = model.scales_channel_updates() and self.controller_opt is not None
        self.one_pass = model.mixes_windows()  # a batch's statistics are its own: never split into passes
        self.ema = None if cfg.ema_decay == 0 else torch.optim.swa_utils.AveragedModel(
            model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True)
        # What a worker step leaves for the controller step after it (lr scale on): each channel
        # parameter's AdamW step, and the controller state of the training batch.
        self.deltas: list[Tensor] = []
        self.last_state: Tensor | None = None
        self.hyper: Tensor | None = None  # (C,) lr-scale hypergradient waiting for the next step
        self.hyper_state: Tensor | None = None  # controller state of the training batch it belongs to
        self.ctrl_order = torch.empty(0, dtype=torch.long)  # shuffled controller-split windows ...
        self.ctrl_pos = 0  # ... and how many of them were used

    def _back_off(self, state: TrainState) -> None:
        """Plateau schedule: back to the best weights, at a lower lr (not below the floor).

        Written here rather than with torch's ReduceLROnPlateau so that "best" and "epochs
        without a new best" are early stopping's own, including the trend stage's best that
        the full stage starts from. Adam's moment estimates are kept; a hypergradient waiting
        for the controller judged an update that is now undone, so it is dropped.
        """
        self.model.load_state_dict(state.best_weights)
        self._restart_average()
        self.hyper = self.hyper_state = None
        for opt in self._stage_optimizers(state.stage):
            for group in opt.param_groups:
                group["lr"] = max(group["lr"] * self.cfg.plateau_factor, opt.defaults["lr"] * self.cfg.min_lr_ratio)

    def _scored(self) -> Forecaster:
        """What validation scores and early stopping keeps: the weight average, if there is one."""
        return self.model if self.ema is None else self.ema.module

    def _restart_average(self) -> None:
        """After the live weights jump (a new stage, a plateau's return to the best), the
        average starts again from them: its next update copies them."""
        if self.ema is not None:
            self.ema.n_averaged.zero_()

    def _stage_optimizers(self, stage: str) -> list[torch.optim.Optimizer]:
        """The optimizers that step in `stage` (the controller's too, in the full stage)."""
        if stage == "trend":
            return [self.trend_opt]
        return [opt for opt in (self.worker_opt, self.controller_opt) if opt is not None]

    # -- resume --------------------------------------------------------------------------
    def state_dict(self, epoch: int, state: TrainState) -> dict[str, Any]:
        """Everything needed to continue after `epoch` exactly as if training never stopped."""
        return {
            "format": STATE_FORMAT,
            "epoch": epoch,
            "model": self.model.state_dict(),
            "optimizers": [opt.state_dict() for opt in (self.worker_opt, self.controller_opt) if opt is not None],
            "schedulers": [sched.state_dict() for sched in self.schedulers],
            "early_stopping": {"best_val": state.best_val, "best_epoch": state.best_epoch,
                               "bad_epochs": state.bad_epochs, "history": state.history},
            "stage": [state.stage, state.stage_start],
            "trend_stage": None if self.trend_opt is None else [
                self.trend_opt.state_dict(), None if self.trend_scheduler is None else self.trend_scheduler.state_dict()
            ],
            "best_weights": state.best_weights,
            "ema": None if self.ema is None else self.ema.state_dict(),
            "schedule": self.cfg.schedule,
            "hypergradient": None if self.hyper is None else [self.hyper, self.hyper_state],
            "controller_cursor": [self.ctrl_order, self.ctrl_pos],
            "rng": rng_state(self.generator),
        }

    def load_state_dict(self, saved: dict[str, Any]) -> tuple[int, TrainState]:
        """Inverse of `state_dict`: returns the last finished epoch and the early-stopping state."""
        device = next(self.model.parameters()).device
        if saved.get("format") != STATE_FORMAT:  # a state is transient: one of another version is not read
            raise ConfigError("the saved training state was written by another version of dynonet; start the run "
                              "again, without --resume (with --overwrite)")
        # what the state was trained with; checked before anything is loaded
        if saved["schedule"] != self.cfg.schedule:
            raise ConfigError(f"the saved training state used the {saved['schedule']} schedule, this trainer "
                              f"{self.cfg.schedule}")
        if (saved.get("ema") is None) != (self.ema is None):
            raise ConfigError("the saved training state and this trainer disagree on weight averaging")
        self.model.load_state_dict(saved["model"])
        for opt, opt_state in zip([o for o in (self.worker_opt, self.controller_opt) if o is not None],
                                  saved["optimizers"], strict=True):
            opt.load_state_dict(opt_state)
        for sched, sched_state in zip(self.schedulers, saved["schedulers"], strict=True):
            sched.load_state_dict(sched_state)
        trend_stage = saved["trend_stage"]
        if (trend_stage is None) != (self.trend_opt is None):
            raise ConfigError("the saved training state and this trainer disagree on the trend stage "
                              "(trend-first, its path trained by AdamW epochs)")
        if self.trend_opt is not None:
            self.trend_opt.load_state_dict(trend_stage[0])
            if self.trend_scheduler is not None:
                self.trend_scheduler.load_state_dict(trend_stage[1])
        if self.ema is not None:
            self.ema.load_state_dict(saved["ema"])
        es = saved["early_stopping"]
        stage, stage_start = saved["stage"]
        state = TrainState(es["best_val"], es["best_epoch"], es["bad_epochs"], saved["best_weights"], es["history"],
                           stage, stage_start)
        if stage == "full":
            self._freeze_trend(True)
        if saved["hypergradient"] is not None:
            self.hyper, self.hyper_state = (t.to(device) for t in saved["hypergradient"])
        order, self.ctrl_pos = saved["controller_cursor"]
        self.ctrl_order = order.to(device)
        set_rng_state(saved["rng"], self.generator)
        return saved["epoch"], state

    # -- trend stage ---------------------------------------------------------------------
    def trend_step(self, x: Tensor, y: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """One AdamW step of the trend path alone (the trend-first stage); (loss, no signals)."""
        self.trend_opt.zero_grad(set_to_none=True)
        loss = self._backward(lambda rows: self.trend(x[rows]), y)
        self.trend_opt.step()
        return loss, {}

    def _passes(self, y: Tensor) -> list[tuple[slice, float | None]]:
        """The windows of each pass of a batch (y: (B, H, C)) of at most `pass_sequences`
        windows x series (at least one window), and its share of the batch's windows; one pass
        (share None) where the batch fits, as the bundled data's 7 series with the presets'
        batch do, or where the model normalizes over its batch (`Forecaster.mixes_windows`)."""
        n, size = y.shape[0], max(1, self.cfg.pass_sequences // y.shape[2])
        if size >= n or self.one_pass:
            return [(slice(None), None)]
        return [(slice(start, start + size), min(size, n - start) / n) for start in range(0, n, size)]

    def _backward(self, forward: Callable[[slice], Tensor], y: Tensor) -> Tensor:
        """Backpropagate the loss of `forward(rows)`, the forecast of those windows of the
        batch, against y, pass by pass (`_passes`): each pass's loss weighted by its share,
        so that the gradients add up to the batch's (the loss is a mean over windows), and
        each pass's activations are freed before the next. Returns the batch's loss."""
        total = None
        for rows, share in self._passes(y):
            loss = self.loss(forward(rows), y[rows])
            loss = loss if share is None else loss * share
            loss.backward()
            total = loss.detach() if total is None else total + loss.detach()
        return total

    def _freeze_trend(self, frozen: bool) -> None:
        for p in self.trend_params:
            p.requires_grad_(not frozen)

    def _begin_full_stage(self, state: TrainState, epoch: int) -> None:
        """The trend path's best state, frozen; the rest adds nothing yet, so that state is
        the best so far of the full model too."""
        if state.best_weights is not None:
            self.model.load_state_dict(state.best_weights)
        self._freeze_trend(True)
        self.model.zero_residual()
        self._restart_average()
        state.best_weights = copy.deepcopy(self.model.state_dict())
        state.bad_epochs, state.stage, state.stage_start = 0, "full", epoch

    def _fit_trend_closed_form(self, state: TrainState, sets: dict[str, Windows],
                               report: Callable[[dict[str, Any]], None] | None) -> None:
        """The trend stage as one ridge least-squares fit (`trend_fit="ridge"`), recorded as
        epoch 0 of the history; then the full stage begins from it, as after AdamW epochs."""
        fit = fit_ridge(self.trend, sets["train"], sets["val"], self.cfg.eval_batch_size)
        entry = {"epoch": 0, "stage": "trend", **fit, "controller_loss": None, "lr": None,
                 "controller_lr": None, "signals": {}, "best": True}
        state.best_val, state.best_epoch = entry["val_mse"], 0  # the model holds the fit: the full stage copies it
        state.history.append(entry)
        if report:
            report(entry)
        self._begin_full_stage(state, 0)

    # -- level 1 -------------------------------------------------------------------------
    def worker_step(self, x: Tensor, y: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """One worker-optimizer step on a training batch, each channel's update scaled by its
        lr-scale signal; (loss, mean signals of the batch)."""
        with torch.no_grad():
            signals = self.model.signals(x)
        self.worker_opt.zero_grad(set_to_none=True)
        loss = self._backward(lambda rows: self.model(x[rows], None if signals is None else signals.rows(rows)), y)
        if not self.scales_updates:
            self.worker_opt.step()
            # without a controller the signals are constants: nothing to report
            return loss, ({} if signals is None or not self.controller_params else signals.summary())
        before = [p.detach().clone() for p in self.channel_params]
        self.worker_opt.step()
        # one optimizer step per batch: the per-window scales act as their mean over the batch
        scale = signals.lr_scale.mean(0)  # (C,)
        with torch.no_grad():
            self.deltas = []
            for p, old in zip(self.channel_params, before):
                delta = p - old
                p.copy_(old.addcmul_(delta, _channel_view(scale, p)))
                self.deltas.append(delta)
        self.last_state = signals.state
        return loss, signals.summary()

    # -- level 2 -------------------------------------------------------------------------
    def controller_step(self, x: Tensor, y: Tensor) -> Tensor:
        """One controller-optimizer step on a controller-split batch; with the lr scale on, also
        the hypergradient of the last worker step's update, for the next controller step."""
        wanted = self.controller_params + (self.channel_params if self.scales_updates else [])
        loss, grads = None, None
        for rows, share in self._passes(y):  # gradients summed over the passes, as `_backward`'s
            part = self.loss(self.model(x[rows], self.model.signals(x[rows])), y[rows])
            part = part if share is None else part * share
            objective = part
            if self.hyper is not None and grads is None:  # once, with the first pass
                # The lr-scale head re-reads the (gradient-free) controller state of the training
                # batch whose update the hypergradient judges; the encoder learns from `loss`.
                lr_scale = self.model.lr_scale_from_state(self.hyper_state)  # (B, C)
                objective = part + (self.hyper * lr_scale.mean(0)).sum()
            new = torch.autograd.grad(objective, wanted, allow_unused=True)
            grads = new if grads is None else [a if b is None else b if a is None else a + b
                                               for a, b in zip(grads, new)]
            loss = part.detach() if loss is None else loss + part.detach()
        k = len(self.controller_params)
        for p, g in zip(self.controller_params, grads[:k]):
            p.grad = g
        self.controller_opt.step()
        if self.scales_updates:
            self.hyper = sum(
                (d * g).flatten(1).sum(1) for d, g in zip(self.deltas, grads[k:]) if g is not None
            ).detach()
            self.hyper_state = self.last_state
        return loss

    # -- epochs --------------------------------------------------------------------------
    def fit(self, sets: dict[str, Windows], report: Callable[[dict[str, Any]], None] | None = None,
            progress: Callable[[int, int], Any] | None = None,
            checkpoint: Callable[[dict[str, Any]], None] | None = None,
            resume: dict[str, Any] | None = None) -> TrainState:
        """Train up to `cfg.epochs` per stage, early-stop on validation MSE, restore the best weights.

        `checkpoint` receives `state_dict(...)` after every epoch; `resume` is such a state to
        continue from.
        """
        cfg, model = self.cfg, self.model
        state = TrainState(stage="trend" if self.trend_params else "full")
        if self.worker_opt is None and not self.trend_params:  # nothing to train (e.g. repeat-last baseline)
            return state
        try:
            epoch = 0
            if resume is not None:
                epoch, state = self.load_state_dict(resume)
            elif state.stage == "trend" and self.trend_opt is None:
                self._fit_trend_closed_form(state, sets, report)
            while True:
                if state.stage == "full" and self.worker_opt is None:  # a linear model: fitted in its trend stage
                    break
                if epoch - state.stage_start >= cfg.epochs or state.bad_epochs >= cfg.patience:
                    if state.stage == "full":
                        break
                    self._begin_full_stage(state, epoch)
                    continue
                epoch += 1
                entry = self._epoch(epoch, state.stage, sets, progress)
                if not (math.isfinite(entry["train_loss"]) and math.isfinite(entry["val_mse"])):
                    raise TrainingError(f"epoch {epoch}: the loss is no longer finite (train {entry['train_loss']}, "
                                        f"validation {entry['val_mse']}): training diverged; lower --lr",
                                        run={"epochs_run": epoch - 1})
                improved = entry["val_mse"] < state.best_val
                if improved:
                    state.best_val, state.best_epoch, state.bad_epochs = entry["val_mse"], epoch, 0
                    state.best_weights = copy.deepcopy(self._scored().state_dict())
                else:
                    state.bad_epochs += 1
                    if (cfg.schedule == "plateau" and state.bad_epochs % cfg.plateau_patience == 0
                            and state.bad_epochs < cfg.patience):  # not when early stopping ends the stage
                        self._back_off(state)
                entry["best"] = improved
                state.history.append(entry)
                if report:
                    report(entry)
                if checkpoint:
                    checkpoint(self.state_dict(epoch, state))
            if state.best_weights is not None:
                model.load_state_dict(state.best_weights)
        finally:
            self._freeze_trend(False)  # hand back an ordinary module, also after an interruption
        return state

    def _controller_batch(self, ctrl: Windows) -> tuple[Tensor, Tensor]:
        """The next batch of the controller split: a cursor over a shuffled order that runs
        across epochs (the split is smaller than the training one), reshuffled when spent."""
        size = self.cfg.batch_size
        if self.ctrl_pos + size > len(self.ctrl_order):
            self.ctrl_order = torch.randperm(len(ctrl), generator=self.generator).to(ctrl.device)
            self.ctrl_pos = 0
        batch = ctrl.get(self.ctrl_order[self.ctrl_pos : self.ctrl_pos + size])
        self.ctrl_pos += size
        return batch

    def _epoch(self, epoch: int, stage: str, sets: dict[str, Windows],
               progress: Callable[[int, int], Any] | None) -> dict[str, Any]:
        """One pass over the training windows in `stage`, then validation; the history entry."""
        cfg, model = self.cfg, self.model
        train, ctrl, val = sets["train"], sets["controller"], sets["val"]
        device = train.device
        t0 = time.perf_counter()
        model.train()
        trend_stage = stage == "trend"
        step = self.trend_step if trend_stage else self.worker_step
        with_controller = self.controller_opt is not None and not trend_stage
        order = torch.randperm(len(train), generator=self.generator).to(device)
        loss_sum = torch.zeros((), device=device)
        ctrl_sum = torch.zeros((), device=device)
        signal_sums: dict[str, Tensor] = {}
        steps = windows = 0  # the last batch may be smaller: means are over windows, not batches
        bar = progress(epoch, math.ceil(len(train) / cfg.batch_size)) if progress else None
        for x, y in train.batches(cfg.batch_size, order):
            loss, summary = step(x, y)
            n = x.shape[0]
            loss_sum += loss * n
            for k, v in summary.items():
                signal_sums[k] = signal_sums.get(k, 0) + v * n
            if with_controller:
                ctrl_sum += self.controller_step(*self._controller_batch(ctrl))
            if self.ema is not None:  # after both levels have stepped
                self.ema.update_parameters(model)
            steps += 1
            windows += n
            if bar is not None:
                bar.update(1)
                if steps % 4 == 0:  # reading values syncs with the device: not every step
                    bar.set_postfix(loss=f"{loss_sum.item() / windows:.4f}",
                                    **{k: f"{v.item() / windows:.3f}" for k, v in signal_sums.items()})
        if bar is not None:
            bar.close()
        optimizers = self._stage_optimizers(stage)
        if not trend_stage:
            schedulers = self.schedulers
        else:
            schedulers = [] if self.trend_scheduler is None else [self.trend_scheduler]
        lrs = [opt.param_groups[0]["lr"] for opt in optimizers]
        for sched in schedulers:
            sched.step()
        scored = self._scored()
        scores = evaluate(scored.trend_path() if trend_stage else scored, val, cfg.eval_batch_size)
        return {
            "epoch": epoch,
            "stage": stage,
            "train_loss": loss_sum.item() / windows,
            "controller_loss": ctrl_sum.item() / steps if with_controller else None,
            "val_mse": scores["mse"],
            "val_mae": scores["mae"],
            "lr": lrs[0],
            "controller_lr": lrs[1] if len(lrs) > 1 else None,
            "signals": {k: v.item() / windows for k, v in signal_sums.items()},
            "seconds": time.perf_counter() - t0,
        }


def make_progress(enabled: bool) -> Callable[[int, int], Any] | None:
    """A tqdm bar per epoch when stderr is a terminal; None otherwise."""
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return lambda epoch, total: tqdm(total=total, desc=f"epoch {epoch}", leave=False, unit="step")
