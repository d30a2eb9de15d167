"""Print the README's results tables from a benchmark's results.json: test MSE and best
validation MSE, mean +- std over seeds, the lowest mean per column in bold.

    python benchmarks/readme_tables.py benchmarks/results/results.json [variant,variant,...]
"""

import json
import sys
from pathlib import Path

from dynonet.benchmark import metric_table, seed_list

LABELS = {
    "dynonet": "`dynonet` (full: controller trained on validation)",
    "workers-only": "`workers-only` (the presets: no controller)",
    "frozen-controller": "`frozen-controller` (controller lr 0)",
    "linear": "`linear` (RevIN + Linear)",
}


def main(path: str, variants: list[str] | None) -> None:
    try:
        records = json.loads(Path(path).read_text())["records"]
        seeds = ", ".join(map(str, seed_list(records)))
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit(f"readme_tables: {path}: not a benchmark results.json ({type(e).__name__}: {e})")
    labels = {v: LABELS.get(v, f"`{v}`") for v in {r["model"] for r in records}}
    for metric, title in (("mse", "Test MSE"), ("best_val_mse", "Best validation MSE")):
        print(f"{title}, mean +- std over seeds {seeds} (lowest mean per column in bold, compared before rounding):\n")
        print("\n".join(metric_table(records, metric, variants, labels)) + "\n")

if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python benchmarks/readme_tables.py RESULTS.json [variant,variant,...]")
    main(sys.argv[1], sys.argv[2].split(",") if len(sys.argv) > 2 else None)
