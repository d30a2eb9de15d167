"""Experiment, not part of the package: should trend-first training keep the workers per channel?

`python benchmarks/experiments/channel_keep.py KEPT_DIR`, where KEPT_DIR holds the finished
`workers-only` runs of a grid (`dynonet benchmark --variants workers-only --keep-runs KEPT_DIR`).

Trend-first training keeps the workers only if they lower validation MSE over the linear trend
path they start from: one choice for all channels. Without the mixer each channel's forecast is
its own, so the choice could be made per channel (the workers' output head zeroed where they do
not help). Whether such a choice carries beyond the windows it was made on is measured within
validation: the validation period is cut in two halves by time (A forecasts rows before the
middle, B after it, as `split_validation.py` does); the channels are chosen on one half and
judged on the other, both ways. (With the mixer, at ETTh1 H720, channels are not independent and
the per-channel figure is only approximate.) Prints validation MSE only; the test split is never read.
"""
import sys
from pathlib import Path

import torch

from dynonet.checkpoint import load_checkpoint
from dynonet.data import Windows, load
from dynonet.errors import DynoNetError


@torch.no_grad()
def channel_mse(model: torch.nn.Module, windows: Windows) -> torch.Tensor:
    """(C,) MSE per channel over every window."""
    model.eval()
    errors = [(model(x) - y).square().mean(dim=(0, 1)) * len(x) for x, y in windows.batches(1024)]
    return torch.stack(errors).sum(0) / len(windows)


for run in sorted(Path(sys.argv[1]).glob("*-workers-only-*")):
    try:
        model, cfg, _, _ = load_checkpoint(run)
    except DynoNetError:  # an unfinished run
        continue
    data = load(cfg, trained=True)
    L, H = cfg.model.lookback, cfg.model.horizon
    series = torch.as_tensor(data.values)
    start, end = data.splits["val"]
    middle = start + L + (end - start - L) // 2
    halves = Windows(series, (start, middle), L, H), Windows(series, (middle - L, end), L, H)
    full = [channel_mse(model, w) for w in halves]
    model.zero_residual()  # the trend path alone (trend-first froze it): the workers add nothing
    trend = [channel_mse(model, w) for w in halves]
    judged = {"workers everywhere": 0.0, "trend path alone": 0.0, "workers per channel": 0.0}
    for fit, judge in ((0, 1), (1, 0)):
        keep = full[fit] < trend[fit]  # (C,) chosen on one half ...
        judged["workers everywhere"] += full[judge].mean().item() / 2  # ... judged on the other
        judged["trend path alone"] += trend[judge].mean().item() / 2
        judged["workers per channel"] += torch.where(keep, full[judge], trend[judge]).mean().item() / 2
    change = judged["workers per channel"] - judged["workers everywhere"]
    print(f"{run.name}: " + ", ".join(f"{k} {v:.4f}" for k, v in judged.items()) + f"; per channel {change:+.4f}",
          flush=True)
