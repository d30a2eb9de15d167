"""Experiment, not part of the package: trend-first training.

`python benchmarks/experiments/trend_first.py PRESET SEED`. Fit RevIN+Linear alone (early-stopped on
validation), copy it into DynoNet's trend branch, freeze it, zero the workers' head (so the model
starts exactly as the fitted linear model), then train the rest with early stopping on validation.
Prints validation MSE only.

Since built into the package as `train.trend_first` (`--trend-first`, on in the presets); this
script and its log stay as the record of the validation runs behind that choice."""
import json, sys, time
import torch
from dynonet.config import preset
from dynonet.data import window_sets
from dynonet.evaluation import evaluate
from dynonet.runner import prepare, train
from dynonet.runtime import seed_everything
from dynonet.training import BiLevelTrainer

name, seed = sys.argv[1], int(sys.argv[2])
extra = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
t0 = time.perf_counter()
base = preset(name).replace(train={"seed": seed, "device": "cpu", "trend_first": False})  # the staging is done here
if extra:
    base = base.replace(**extra)
lin = train(base.replace(model={"model": "linear"}))
print(f"{name} seed {seed}: linear best val {lin.metrics['best_val_mse']:.4f} at epoch {lin.metrics['best_epoch']}", flush=True)
gen = seed_everything(seed)
cfg, data, model = prepare(base, torch.device("cpu"), lin.data)
sets = window_sets(data, cfg, torch.device("cpu"))
model.trend.load_state_dict(lin.model.linear.state_dict())
model.revin.load_state_dict(lin.model.revin.state_dict())
for p in [*model.trend.parameters(), *model.revin.parameters()]:
    p.requires_grad_(False)
with torch.no_grad():
    model.workers.head_weight.zero_()
    model.workers.head_bias.zero_()
model.eval()
v0 = evaluate(model, sets["val"], 1024)["mse"]
state = BiLevelTrainer(model, cfg.train, gen).fit(sets)
print(f"{name} seed {seed} {extra}: start (= linear) val {v0:.4f}; staged dynonet best val {state.best_val:.4f} "
      f"at epoch {state.best_epoch} of {len(state.history)}; vals {[round(h['val_mse'], 4) for h in state.history[:12]]}; "
      f"{time.perf_counter() - t0:.0f}s", flush=True)
