"""Experiment, not part of the package: is the best-epoch validation MSE a fair judge?

`python benchmarks/experiments/split_validation.py PRESET MODEL SEED [EMA_DECAY]`. Trains as the
preset does, except that early stopping (and so the choice of epoch) sees only the first half of
the validation period (A). The finished model is then scored on the second half (B), whose
target rows no window of A forecasts. If the best-epoch MSE on A favours noisy training, the
ranking of two settings on B can differ from their ranking on A. Prints validation MSE only;
the test split is never read.
"""
import sys
import time

import torch

from dynonet.config import preset
from dynonet.data import Windows, window_sets
from dynonet.evaluation import evaluate
from dynonet.runner import prepare
from dynonet.runtime import seed_everything
from dynonet.training import BiLevelTrainer

name, model_name, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
ema = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
t0 = time.perf_counter()
cfg = preset(name).replace(model={"model": model_name} if model_name != "workers-only" else {},
                           train={"seed": seed, "device": "cpu", "ema_decay": ema})
generator = seed_everything(seed)
cfg, data, model = prepare(cfg, torch.device("cpu"))
sets = window_sets(data, cfg, torch.device("cpu"), controller=False)
L, H = cfg.model.lookback, cfg.model.horizon
series = torch.as_tensor(data.values)
start, end = data.splits["val"]  # rows, the first L of them only read as input
middle = start + L + (end - start - L) // 2  # A forecasts rows [start + L, middle), B rows [middle, end)
half_a, half_b = Windows(series, (start, middle), L, H), Windows(series, (middle - L, end), L, H)
sets["val"] = sets["controller"] = half_a
state = BiLevelTrainer(model, cfg.train, generator).fit(sets)
b = evaluate(model, half_b, cfg.train.eval_batch_size)["mse"]
print(f"{name} {model_name} seed {seed} ema {ema}: A (chooses the epoch) {state.best_val:.4f} at epoch "
      f"{state.best_epoch}; B (judges) {b:.4f}; windows {len(half_a)}/{len(half_b)}; "
      f"{time.perf_counter() - t0:.0f} s", flush=True)
