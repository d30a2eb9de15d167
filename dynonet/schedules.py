"""Learning-rate schedules, stepped once per epoch: cosine (the presets'), cosine with warm
restarts (SGDR), exponential decay after a hold (PatchTST's published adjustment). The plateau
schedule is not here: it returns to the best weights, which only the trainer holds
(`BiLevelTrainer._back_off`)."""

from __future__ import annotations

import torch

from dynonet.config import TrainConfig


def epoch_schedule(opt: torch.optim.Optimizer, cfg: TrainConfig) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The per-epoch schedule of `opt` by `cfg.schedule`, down to `min_lr_ratio` of its lr;
    None for "plateau", which the trainer drives."""
    if cfg.schedule == "plateau":
        return None
    floor = opt.defaults["lr"] * cfg.min_lr_ratio
    if cfg.schedule == "restarts":
        return torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=cfg.restart_epochs, T_mult=2,
                                                                    eta_min=floor)
    if cfg.schedule == "exponential":
        return torch.optim.lr_scheduler.LambdaLR(opt, ExponentialDecay(cfg))
    return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.epochs, 1), eta_min=floor)


class ExponentialDecay:
    """LambdaLR factor of the exponential schedule at epoch e (from 0): 1 for the first
    `hold_epochs`, then `lr_decay` once more each epoch, not below `min_lr_ratio`. With 4 and
    0.9 it is PatchTST's published `type3` adjustment (set after each epoch for the next:
    epochs 1-4 at the full lr, epoch 5 at 0.9 of it)."""

    def __init__(self, cfg: TrainConfig) -> None:
        self.hold, self.decay, self.floor = cfg.hold_epochs, cfg.lr_decay, cfg.min_lr_ratio

    def __call__(self, epoch: int) -> float:
        return max(self.decay ** max(epoch - self.hold + 1, 0), self.floor)
