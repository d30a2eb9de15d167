"""Where the controller's dropout rate goes when it learns: the quick start with the controller
on (`dynonet train --preset quickstart --controller`, ETTh1 H96, controller trained on
validation as in the seed), and on a holdout of the training period (`--controller-data
holdout`); seed 0. Prints the mean of each signal after every epoch of the bi-level stage
(metrics.json's history) and the test MSE. Output: dropout_signal.log.

The rate's only gradient is the controller's loss on data the workers do not fit, where
dropout is noise: a lower rate lowers that loss whatever it does for the workers' fit.
"""
import json, subprocess, sys, tempfile
from pathlib import Path

print("# python benchmarks/experiments/dropout_signal.py; seed 0; rate at initialization 0.1 (--dropout)", flush=True)
for split in ("val", "holdout"):
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["dynonet", "train", "--preset", "quickstart", "--controller", "--controller-data", split,
                        "--device", "cpu", "--quiet", "--out", str(Path(tmp) / "run")],
                       check=True, stdout=subprocess.DEVNULL)
        metrics = json.loads((Path(tmp) / "run" / "metrics.json").read_text())
    print(f"controller on {split}: test MSE {metrics['test']['mse']:.4f}, best epoch {metrics['best_epoch']}")
    for h in metrics["history"]:
        if h.get("signals"):
            print(f"  epoch {h['epoch']:2d}: " + ", ".join(f"{k} {v:.4f}" for k, v in h["signals"].items()))
sys.stdout.flush()
