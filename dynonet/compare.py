"""`dynonet compare`: finished runs on the same data side by side, from their metrics.json.

The runs must have scored the same target windows: the same training rows (series, scaling
statistics, time step), horizon, and validation and test targets, as their checkpoint.json
records them; lookbacks may differ (each split's targets do not depend on it). The table is
ordered by validation MSE, the split a choice between them may rest on, and marks the run it
would choose; the test scores beside it estimate how that choice does on data no choice saw.
Choosing by test MSE would make that estimate optimistic, as choosing on any split does.
Runs whose settings differ in their seed alone are summarized too, mean +- std over their
seeds, as one run's luck is no basis for a choice.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from dynonet.checkpoint import METRICS, read_meta, require_run_folder
from dynonet.errors import CheckpointError, DataError
from dynonet.registry import MODELS, NAIVE_KEYS
from dynonet.report import aligned, score_text


class Run:
    """What `compare` reads of a finished run folder: its metrics.json and checkpoint.json."""

    def __init__(self, folder: Path):
        require_run_folder(folder)
        # named by its own name in the table: "." and ".." have none of their own
        self.folder = folder.resolve() if folder.name in ("", "..") else folder
        self.meta = read_meta(folder)
        path = folder / METRICS
        try:
            self.metrics = json.loads(path.read_text())
        except FileNotFoundError:
            raise CheckpointError(f"{path}: missing (a finished run folder of `dynonet train`?)") from None
        except (OSError, ValueError) as e:
            raise CheckpointError(f"{path}: not readable ({e})") from None
        test = self.metrics.get("test", {}) if isinstance(self.metrics, dict) else {}
        if not isinstance(self.metrics, dict) or not {"name", "model", "config", "params", "best_val_mse",
                                                      "test"} <= set(self.metrics) \
                or not (test is None or isinstance(test, dict) and {"mse", "mae", "windows"} <= set(test)):
            raise CheckpointError(f"{path}: not the metrics.json of a finished run")

    def targets(self, split: str) -> list[int] | None:
        """The rows of `split` whose values its windows forecast (its first `lookback` rows are inputs only)."""
        rows = self.meta.get("splits", {}).get(split)
        return None if rows is None else [rows[0] + self.metrics["config"]["model"]["lookback"], rows[1]]

    def windows(self) -> dict[str, Any]:
        """What must agree for two runs' scores to be on the same windows."""
        return {"series": self.meta.get("columns"),
                "training rows (their mean and std)": self.meta.get("scaler"), "time step": self.meta.get("freq"),
                "horizon": self.metrics["config"]["model"]["horizon"], "validation targets": self.targets("val"),
                "test targets": self.targets("test")}

    def settings(self) -> str:
        """The run's settings but its seed (and where it ran): runs alike in these differ by chance alone."""
        config = self.metrics["config"]
        train = {k: v for k, v in config.get("train", {}).items() if k not in ("seed", "device", "eval_batch_size")}
        return json.dumps({**config, "train": train}, sort_keys=True)

    @property
    def val_mse(self) -> float | None:
        """The validation MSE a choice may rest on: none for a controller trained on validation."""
        return None if self.metrics.get("controller_data") == "val" else self.metrics["best_val_mse"]


def check_comparable(runs: list[Run]) -> None:
    """A DataError naming the first run given twice, without a test split, or whose windows
    (`Run.windows`) or data differ from the first run's."""
    where = [r.folder.resolve() for r in runs]
    if (twice := next((r for i, r in enumerate(runs) if where[i] in where[:i]), None)) is not None:
        raise DataError(f"{twice.folder}: given twice")
    for run in runs:
        if run.metrics["test"] is None:
            raise DataError(f"{run.folder}: the run has no test split (test fraction 0): no scores on data it did "
                            "not train on to compare")
    first, *rest = runs
    for run in rest:
        for (name, value), reference in zip(run.windows().items(), first.windows().values()):
            if value != reference:
                shown = "" if name.startswith("training rows") else f" ({value!r} against {reference!r})"
                raise DataError(f"{run.folder}: its {name} differ{'s' * (name[-1] != 's')} from {first.folder}'s"
                                f"{shown}: the runs scored other windows")
        # the rows read, wherever the file lay; a run folder of a version before fingerprints: its file's name
        fingerprints = run.meta.get("data_sha256"), first.meta.get("data_sha256")
        if None in fingerprints and run.meta.get("source") != first.meta.get("source"):
            raise DataError(f"{run.folder}: its data differ from {first.folder}'s ({run.meta.get('source')!r} "
                            f"against {first.meta.get('source')!r}): the runs scored other windows")
        if None not in fingerprints and fingerprints[0] != fingerprints[1]:
            raise DataError(f"{run.folder}: its data differ from {first.folder}'s (other dates or values, with the "
                            "same training statistics): the runs scored other windows")


def table(runs: list[Run]) -> str:
    """The runs as a table, ordered by validation MSE (runs with none last), with the naive
    forecasts on the same test windows below; the run validation would choose is marked."""
    order = sorted(runs, key=lambda r: (r.val_mse is None, r.val_mse or 0.0))
    chosen = order[0] if order[0].val_mse is not None else None
    # runs in one folder are named within it, so that long paths keep the table narrow
    together = len({r.folder.resolve().parent for r in runs}) == 1
    parent = str(runs[0].folder.parent) if together and runs[0].folder.parent != Path(".") else ""
    shown = {id(r): r.folder.name if together else str(r.folder) for r in runs}
    rows = [[("*" if r is chosen else " ") + shown[id(r)], r.metrics["name"], f"{r.metrics['params']['total']:,}",
             score_text(r.val_mse), score_text(r.metrics["test"]["mse"]), score_text(r.metrics["test"]["mae"])]
            for r in order]
    # each run as a naive forecast is named: its model, and its season where it forecasts by one
    ran = {(r.metrics["model"], r.metrics.get("season", 0) if MODELS[r.metrics["model"]].needs_season else 0)
           for r in runs if r.metrics["model"] in MODELS}
    for key in NAIVE_KEYS:  # on the same windows for every run: the first run's that has it
        naive = next((r.metrics["test"][key] for r in order if key in r.metrics["test"]), None)
        if naive is not None and (naive["model"], naive.get("season", 0)) not in ran:  # (not a run of its own)
            label = key.replace("_", " ") + (f" (season {naive['season']})" if "season" in naive else "")
            rows.append([" " + label, naive["model"], "0", "n/a", score_text(naive["mse"]), score_text(naive["mae"])])
    lines = aligned([" run" + (f" (in {parent})" if parent else ""), "model", "params", "val MSE", "test MSE",
                     "test MAE"], rows)
    lines.append(f"{order[0].metrics['test']['windows']:,} test windows, the same for every run; standardized scale."
                 + (f" * the lowest validation MSE: {shown[id(chosen)]}." if chosen else ""))
    groups: dict[str, list[Run]] = {}
    for r in order:
        groups.setdefault(r.settings(), []).append(r)
    if any(len(g) > 1 for g in groups.values()):
        lines += ["", *over_seeds(list(groups.values()), shown)]
    if any(r.val_mse is None for r in runs):
        lines.append("n/a: no validation score to choose by (a model that trains nothing, or a controller trained on "
                     "the validation windows: --controller-data holdout keeps them for choosing).")
    lines.append("Choose by validation: the test columns estimate how that choice does on data it did not see.")
    return "\n".join(lines)


def over_seeds(groups: list[list[Run]], shown: dict[int, str]) -> list[str]:
    """Runs of the same settings but their seeds, as one row each: mean +- std (sample) over
    the seeds, ordered by mean validation MSE, whose lowest is marked; `shown`: each run's name."""
    def spread(values: list[float | None]) -> tuple[float | None, str]:
        if any(v is None for v in values):
            return None, "n/a"
        mean = statistics.fmean(values)
        return mean, score_text(mean) + (f" +- {score_text(statistics.stdev(values))}" if len(values) > 1 else "")

    rows = []
    for runs in groups:
        names = [shown[id(r)] for r in runs]
        label = ", ".join(names) if len(names) <= 3 else f"{names[0]}, {names[1]}, ... ({len(names)} runs)"
        val = spread([r.val_mse for r in runs])
        rows.append((val[0], [label, runs[0].metrics["name"], str(len(runs)), val[1],
                              spread([r.metrics["test"]["mse"] for r in runs])[1],
                              spread([r.metrics["test"]["mae"] for r in runs])[1]]))
    rows.sort(key=lambda row: (row[0] is None, row[0] or 0.0))
    chosen = rows[0][1][0] if rows[0][0] is not None else None
    return [*aligned([" runs of the same settings", "model", "seeds", "val MSE", "test MSE", "test MAE"],
                     [[("*" if row[0] == chosen else " ") + row[0], *row[1:]] for _, row in rows]),
            "each row: runs whose settings differ in their seed alone; mean +- std over them (std: sample)."
            + (f" * the lowest mean validation MSE: {chosen}."
                                                           if chosen else "")]


def compare(run_dirs: list[Path]) -> str:
    """`dynonet compare`'s table for the run folders `run_dirs` (`table`), after `check_comparable`."""
    runs = [Run(Path(r)) for r in run_dirs]
    check_comparable(runs)
    return table(runs)
