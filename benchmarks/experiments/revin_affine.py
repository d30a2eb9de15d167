"""Experiment, not part of the package: how much of AdamW-trained RevIN + Linear's validation
MSE comes from RevIN's learnable affine?

`python benchmarks/experiments/revin_affine.py PRESET SEED frozen|trained`. Trains `linear`
(RevIN + Linear(L, H)) with AdamW epochs as the `linear` baseline does (`--trend-fit adamw`),
with RevIN's affine either trained (the baseline) or frozen at the identity. With a linear
forecaster the affine cancels except for one offset per channel and output step,
`(b_c (W 1 - 1) + c) / g_c`: it adds per-channel intercepts and nothing else. Prints the
best-epoch validation MSE, then the test MSE of the finished model (scored once, after
training, as every run is; nothing is chosen on it here).
"""
import sys
import time

import torch

from dynonet.config import preset
from dynonet.data import split_windows, window_sets
from dynonet.evaluation import evaluate
from dynonet.runner import prepare
from dynonet.runtime import seed_everything
from dynonet.training import BiLevelTrainer

name, seed, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t0 = time.perf_counter()
cfg = preset(name).replace(model={"model": "linear"}, train={"seed": seed, "device": "cpu", "trend_fit": "adamw"})
generator = seed_everything(seed)
cfg, data, model = prepare(cfg, torch.device("cpu"))
if mode == "frozen":
    model.revin.weight.requires_grad_(False)  # AdamW skips a parameter without a gradient
    model.revin.bias.requires_grad_(False)
sets = window_sets(data, cfg, torch.device("cpu"), controller=False)
state = BiLevelTrainer(model, cfg.train, generator).fit(sets)
test = evaluate(model, split_windows(data, cfg, torch.device("cpu"), "test"), cfg.train.eval_batch_size)["mse"]
g, b = model.revin.weight.detach(), model.revin.bias.detach()
print(f"{name} seed {seed} affine {mode}: val {state.best_val:.4f} at epoch {state.best_epoch}; test {test:.4f}; "
      f"|g - 1| max {(g - 1).abs().max():.3f}, |b| max {b.abs().max():.3f}; {time.perf_counter() - t0:.0f} s",
      flush=True)
