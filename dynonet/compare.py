"""`dynonet compare`: finished runs on the same data side by side, from their metrics.json.

The runs must have scored the same target windows (same data, horizon and splits), so that
their figures compare; lookbacks may differ (each split's windows are the same targets). The
table is ordered by validation MSE, the split a choice between them may rest on, and marks the
run it would choose; the test scores beside it estimate how that choice does on data no choice
saw. Choosing by test MSE would make that estimate optimistic, as choosing on any split does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dynonet.checkpoint import METRICS, require_run_folder
from dynonet.errors import CheckpointError, DataError
from dynonet.report import aligned, score_text
from dynonet.registry import NAIVE_KEYS

# what must agree for the runs' scores to be on the same windows (config fields, and the windows scored)
SAME = (("data", ("config", "data", "csv")), ("dataset", ("dataset",)), ("horizon", ("config", "model", "horizon")),
        ("val_fraction", ("config", "data", "val_fraction")), ("test_fraction", ("config", "data", "test_fraction")),
        ("max_rows", ("config", "data", "max_rows")), ("test windows", ("test", "windows")))


def read_metrics(run_dir: Path) -> dict[str, Any]:
    """A finished run's metrics.json; a folder without one is a CheckpointError."""
    require_run_folder(run_dir)
    path = Path(run_dir) / METRICS
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing (a finished run folder of `dynonet train`?)") from None
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{path}: not readable ({e})") from None


def _field(metrics: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        metrics = metrics.get(key) if isinstance(metrics, dict) else None
    return metrics


def check_comparable(runs: dict[Path, dict[str, Any]]) -> None:
    """A DataError naming the first run whose data, horizon, splits or test windows differ from the first run's."""
    for run, metrics in runs.items():
        if metrics.get("test") is None:
            raise DataError(f"{run}: the run has no test split (test fraction 0): no scores on data it did not "
                            "train on to compare")
    (first, reference), *rest = runs.items()
    for run, metrics in rest:
        for name, keys in SAME:
            if _field(metrics, keys) != _field(reference, keys):
                raise DataError(f"{run}: its {name} ({_field(metrics, keys)!r}) differs from {first}'s "
                                f"({_field(reference, keys)!r}): the runs scored other windows")


def table(runs: dict[Path, dict[str, Any]]) -> str:
    """The runs as a table, ordered by validation MSE (runs that train nothing last), with the naive
    forecasts on the same test windows below; the run validation would choose is marked."""
    order = sorted(runs, key=lambda r: (runs[r]["best_val_mse"] is None, runs[r]["best_val_mse"] or 0.0))
    chosen = order[0] if runs[order[0]]["best_val_mse"] is not None else None
    rows = [["*" + str(r) if r == chosen else " " + str(r), runs[r]["name"], f"{runs[r]['params']['total']:,}",
             score_text(runs[r]["best_val_mse"]), score_text(runs[r]["test"]["mse"]),
             score_text(runs[r]["test"]["mae"])] for r in order]
    test = runs[order[0]]["test"]
    for key in NAIVE_KEYS:  # the same windows for every run: any run's references
        naive = next((runs[r]["test"][key] for r in order if key in runs[r]["test"]), None)
        if naive is not None and all(runs[r]["model"] != naive["model"] for r in order):  # (not a run of its own)
            label = key.replace("_", " ") + (f" (season {naive['season']})" if "season" in naive else "")
            rows.append([" " + label, naive["model"], "0", "n/a", score_text(naive["mse"]), score_text(naive["mae"])])
    lines = aligned(["  run", "model", "params", "val MSE", "test MSE", "test MAE"], rows)
    lines.append(f"{test['windows']:,} test windows, the same for every run; standardized scale."
                 + (f" * the lowest validation MSE: {chosen}." if chosen else ""))
    lines.append("Choose by validation: the test columns estimate how that choice does on data it did not see.")
    return "\n".join(lines)


def compare(run_dirs: list[Path]) -> str:
    """`dynonet compare`'s table for the run folders `run_dirs` (`table`), after `check_comparable`."""
    runs = {Path(r): read_metrics(Path(r)) for r in run_dirs}
    check_comparable(runs)
    return table(runs)
