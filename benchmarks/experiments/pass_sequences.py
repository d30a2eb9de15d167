"""Many series: a training step split into passes of at most `--pass-sequences` sequences,
against the whole batch in one pass. Same step, same result; what changes is peak memory.

300 synthetic hourly series of 1,200 rows (daily cycles of random phase and amplitude, random
walks, noise; seed 0) written to a CSV in a temporary folder; one epoch of
`dynonet train --csv ... --horizon 24 --lookback 96 --epochs 1 --batch-size 512`, each setting
twice, one process at a time. Peak RSS is the child's (`ru_maxrss`); the training seconds
are the run's own `timings.train_seconds`. Output: pass_sequences.log.
"""
import json, os, platform, subprocess, sys, tempfile
from pathlib import Path

import numpy as np, pandas as pd

SERIES, ROWS, BATCH, L = 300, 1200, 512, 96
CPU = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")), platform.machine()) if Path("/proc/cpuinfo").exists() else platform.machine()
MEASURE = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
rng = np.random.default_rng(0)
t = np.arange(ROWS)[:, None]
values = (rng.uniform(1, 5, SERIES) * np.sin(2 * np.pi * t / 24 + rng.uniform(0, 2 * np.pi, SERIES))
          + rng.normal(0, 0.3, (ROWS, SERIES)).cumsum(axis=0) + rng.normal(0, 0.5, (ROWS, SERIES)))
frame = pd.DataFrame(values, columns=[f"s{i}" for i in range(SERIES)])
frame.insert(0, "date", pd.date_range("2024-01-01", periods=ROWS, freq="h"))

with tempfile.TemporaryDirectory() as tmp:
    csv = Path(tmp) / "train.csv"
    frame.to_csv(csv, index=False)
    one_pass = BATCH * SERIES  # every sequence of the batch at once
    print(f"# python benchmarks/experiments/pass_sequences.py; {CPU}, {os.cpu_count()} cores, "
          f"{SERIES} series x {ROWS} rows, batch {BATCH} ({one_pass:,} sequences), seed 0", flush=True)
    for label, passes in [("one pass", one_pass), ("32,768 (default)", None)] * 2:
        out = Path(tmp) / "run"
        cmd = ["dynonet", "train", "--csv", str(csv), "--horizon", "24", "--lookback", str(L), "--epochs", "1",
               "--batch-size", str(BATCH), "--device", "cpu", "--quiet", "--overwrite", "--out", str(out),
               *(["--pass-sequences", str(passes)] if passes else [])]
        # each run under its own parent, whose children's peak is then that run's alone (KiB on Linux)
        peak = int(subprocess.run([sys.executable, "-c", MEASURE, *cmd], check=True, capture_output=True,
                                  text=True).stdout.split()[-1])
        metrics = json.loads((out / "metrics.json").read_text())
        print(f"passes of {label:>17}: peak RSS {peak / 1024:,.0f} MiB, training "
              f"{metrics['timings']['train_seconds']:.1f} s, test MSE {metrics['test']['mse']:.4f}", flush=True)
