"""Print the README's results tables from a benchmark's results.json: test MSE and best
validation MSE, mean +- std over seeds, the lowest mean per column in bold.

    python benchmarks/readme_tables.py benchmarks/results/results.json [variant,variant,...]
"""

import json
import sys
from pathlib import Path

from dynonet.benchmark import summarize, table_axes

LABELS = {
    "dynonet": "`dynonet` (full: controller trained on validation)",
    "workers-only": "`workers-only` (the presets: no controller)",
    "frozen-controller": "`frozen-controller` (controller lr 0)",
    "linear": "`linear` (RevIN + Linear)",
}


def main(path: str, variants: list[str] | None) -> None:
    try:
        records = json.loads(Path(path).read_text())["records"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit(f"readme_tables: {path}: not a benchmark results.json ({type(e).__name__}: {e})")
    rows, cols = table_axes(records)
    rows = variants or rows
    cells = summarize(records)
    seeds = ", ".join(str(s) for s in sorted({r["seed"] for r in records}))
    n_seeds = len({r["seed"] for r in records})
    for metric, title in (("mse", "Test MSE"), ("best_val_mse", "Best validation MSE")):
        print(f"{title}, mean +- std over seeds {seeds} (lowest mean per column in bold):\n")
        print("| variant | " + " | ".join(cols) + " |")
        print("| --- |" + " --- |" * len(cols))
        means = {c: [cells[(v, c)][metric] for v in rows if cells.get((v, c), {}).get(metric) is not None]
                 for c in cols}
        for v in rows:
            out = []
            for c in cols:
                cell = cells.get((v, c))
                if cell is None or cell[metric] is None:
                    out.append("-")
                    continue
                std = cell[f"{metric}_std"]
                text = f"{cell[metric]:.4f} +- " + ("n/a" if std is None else f"{std:.4f}")
                if cell[f"{metric}_n"] != n_seeds:
                    text += f" ({cell[f'{metric}_n']} seeds)"
                out.append(f"**{text}**" if cell[metric] == min(means[c]) else text)
            print(f"| {LABELS.get(v, f'`{v}`')} | " + " | ".join(out) + " |")
        print()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python benchmarks/readme_tables.py RESULTS.json [variant,variant,...]")
    main(sys.argv[1], sys.argv[2].split(",") if len(sys.argv) > 2 else None)
