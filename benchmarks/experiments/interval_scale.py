"""Experiment, not part of the package: should a prediction interval's half-width follow the
spread of its own input window (normalized conformal scores, |error| / window std), or be the
same for every window (the package's split conformal, `dynonet.intervals`)?

`python benchmarks/experiments/interval_scale.py RUN_FOLDER...` takes finished preset runs
(`dynonet train --preset etth1-96 --out RUN`). The choice is made on validation alone: the
first half of each run's validation windows calibrates, and the second half (the later
months) scores how far each level's coverage falls from the level. The test split's coverage
is printed beside it, measured once, not used to choose. The window std is taken on the
standardized scale with a floor of FLOOR (a tenth of the series' training std), so that a flat
window does not blow its scores up.
"""
import math
import sys

import numpy as np
import torch

from dynonet.data import load, split_windows, window_sets
from dynonet.forecaster import DynoNetForecaster
from dynonet.intervals import LEVELS

FLOOR = 0.1


@torch.no_grad()
def scores(model, windows, batch_size=512):
    """|error| and the input windows' std, each (N, H, C) / (N, 1, C)."""
    errors, spreads = [], []
    for x, y in windows.batches(batch_size):
        errors.append((model(x) - y).abs())
        spreads.append(x.std(dim=1, unbiased=False, keepdim=True).clamp_min(FLOOR))
    return torch.cat(errors), torch.cat(spreads)


def widths(errors, n_levels=LEVELS):
    n = errors.shape[0]
    ranks = [math.ceil((n + 1) * p / 100 - 1e-9) - 1 for p in n_levels]
    return errors.sort(dim=0).values[ranks]  # (levels, H, C)


def gap(errors, spreads, w, normalized):
    """Mean |coverage - level| over the levels, and the coverages."""
    bound = w[:, None] * spreads[None] if normalized else w[:, None]  # (levels, N, H, C)
    cover = (errors[None] <= bound).float().mean(dim=(1, 2, 3)).numpy()
    return float(np.mean(np.abs(cover - np.array(LEVELS) / 100))), cover


for run in sys.argv[1:]:
    f = DynoNetForecaster.load(run, device="cpu")
    cfg = f.config
    data = load(cfg)
    val = window_sets(data, cfg, torch.device("cpu"), controller=False)["val"]
    test = split_windows(data, cfg, torch.device("cpu"), "test")
    model = f.model_.eval()
    e_val, s_val = scores(model, val)
    half = e_val.shape[0] // 2
    e_test, s_test = scores(model, test)
    line = [run.rstrip("/").split("/")[-1]]
    for normalized in (False, True):
        e = e_val / s_val if normalized else e_val
        w_half = widths(e[:half])
        val_gap, _ = gap(e_val[half:], s_val[half:], w_half, normalized)
        w_all = widths(e)
        test_gap, test_cover = gap(e_test, s_test, w_all, normalized)
        line.append(f"{'window' if normalized else 'fixed '}: val gap {val_gap:.3f}, test gap {test_gap:.3f} "
                    f"(test {' '.join(f'{c:.3f}' for c in test_cover)})")
    print(" | ".join(line), flush=True)
