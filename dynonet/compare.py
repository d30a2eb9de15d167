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
import math
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
        """The settings that shape what the run trains, but its seed: runs of the same data (as
        `check_comparable` checks) alike in these differ by chance alone. Not among them: where
        and how the data was read (its `data` section), where the run ran, and what does not
        change the training (`runner.RESUME_MAY_CHANGE`: interval levels, sequences per pass)."""
        from dynonet.runner import RESUME_MAY_CHANGE

        config = self.metrics["config"]
        skip = {"seed", "device", "eval_batch_size", *RESUME_MAY_CHANGE}
        train = {k: v for k, v in config.get("train", {}).items() if k not in skip}
        return json.dumps({"model": config.get("model"), "train": train}, sort_keys=True)

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
    # the rows read, wherever the file lay (checkpoint.json's fingerprint); where a run folder of a version before
    # fingerprints is among them, the file's name, the same for every run
    fingerprinted = [r for r in runs if r.meta.get("data_sha256") is not None]
    if other := next((r for r in fingerprinted if r.meta["data_sha256"] != fingerprinted[0].meta["data_sha256"]),
                     None):
        raise DataError(f"{other.folder}: its data differ from {fingerprinted[0].folder}'s (other dates or values, "
                        "with the same training statistics): the runs scored other windows")
    if len(fingerprinted) < len(runs) and (other := next((r for r in runs if r.meta.get("source") !=
                                                          first.meta.get("source")), None)):
        raise DataError(f"{other.folder}: its data differ from {first.folder}'s ({other.meta.get('source')!r} "
                        f"against {first.meta.get('source')!r}): the runs scored other windows")


def summary(runs: list[Run]) -> dict[str, Any]:
    """The comparison as data (what `--json` prints, and `table` writes out): the runs ordered
    by validation MSE (runs with none last), the one validation would choose, the naive
    forecasts on the same test windows (but those run as runs of their own), and each
    settings' runs that differ in their seed alone, as mean and std (sample) over their
    seeds, ordered by mean validation MSE."""
    order = sorted(runs, key=lambda r: (r.val_mse is None, r.val_mse or 0.0))
    rows = [{"run": str(r.folder), "model": r.metrics["model"], "name": r.metrics["name"],
             "params": r.metrics["params"]["total"], "seed": r.metrics.get("seed"), "val_mse": r.val_mse,
             "test_mse": r.metrics["test"]["mse"], "test_mae": r.metrics["test"]["mae"]} for r in order]
    # each run as a naive forecast is named: its model, and its season where it forecasts by one
    ran = {(r.metrics["model"], r.metrics.get("season", 0) if MODELS[r.metrics["model"]].needs_season else 0)
           for r in runs if r.metrics["model"] in MODELS}
    naive = []
    for key in NAIVE_KEYS:  # on the same windows for every run: the first run's that has it
        scores = next((r.metrics["test"][key] for r in order if key in r.metrics["test"]), None)
        if scores is not None and (scores["model"], scores.get("season", 0)) not in ran:  # (not a run of its own)
            naive.append({"naive": key, "model": scores["model"], "season": scores.get("season"),
                          "test_mse": scores["mse"], "test_mae": scores["mae"]})
    groups: dict[str, list[Run]] = {}
    for r in order:
        groups.setdefault(r.settings(), []).append(r)
    settings = sorted((_over_seeds(g) for g in groups.values()),
                      key=lambda g: (g["val_mse"] is None, g["val_mse"] or 0.0))
    return {"test_windows": order[0].metrics["test"]["windows"], "scale": "standardized",
            "chosen": rows[0]["run"] if rows[0]["val_mse"] is not None else None, "runs": rows, "naive": naive,
            "by_settings": settings,
            "by_settings_chosen": settings[0]["runs"] if settings[0]["val_mse"] is not None else None}


def _over_seeds(runs: list[Run]) -> dict[str, Any]:
    """Runs whose settings differ in their seed alone: mean and std (sample; None for one run)
    over them. A run of a seed already among them with the same scores (a copied folder) is a
    repeat, not another seed: listed under `repeats` and left out; one with other scores (another
    device, say) stays in, and is listed under `shared`."""
    kept: list[Run] = []
    repeats: list[dict[str, Any]] = []
    shared: list[dict[str, Any]] = []
    for r in runs:
        seed = r.metrics.get("seed")
        first = next((k for k in kept if seed is not None and k.metrics.get("seed") == seed), None)
        same = first is not None and (first.val_mse, first.metrics["test"]) == (r.val_mse, r.metrics["test"])
        if same:
            repeats.append({"run": str(r.folder), "seed": seed, "of": str(first.folder)})
            continue
        if first is not None:
            shared.append({"run": str(r.folder), "seed": seed, "with": str(first.folder)})
        kept.append(r)
    runs = kept
    out: dict[str, Any] = {"runs": [str(r.folder) for r in runs], "model": runs[0].metrics["model"],
                           "name": runs[0].metrics["name"], "seeds": [r.metrics.get("seed") for r in runs],
                           "repeats": repeats, "shared": shared}
    for key, values in (("val_mse", [r.val_mse for r in runs]), ("test_mse", [r.metrics["test"]["mse"] for r in runs]),
                        ("test_mae", [r.metrics["test"]["mae"] for r in runs])):
        known = None not in values
        out[key] = statistics.fmean(values) if known else None
        out[f"{key}_std"] = statistics.stdev(values) if known and len(values) > 1 else None
    return out


def table(result: dict[str, Any]) -> str:
    """`summary`'s comparison as text: a table of the runs with the naive forecasts below, the
    run validation would choose marked; where runs differ in their seed alone, a table over
    the seeds too."""
    folders = [Path(r["run"]) for r in result["runs"]]
    # runs in one folder are named within it, so that long paths keep the table narrow
    together = len({f.resolve().parent for f in folders}) == 1
    parent = str(folders[0].parent) if together and folders[0].parent != Path(".") else ""
    shown = {str(f): f.name if together else str(f) for f in folders}
    chosen = result["chosen"]
    rows = [[("*" if r["run"] == chosen else " ") + shown[r["run"]], r["name"], f"{r['params']:,}",
             score_text(r["val_mse"]), score_text(r["test_mse"]), score_text(r["test_mae"])] for r in result["runs"]]
    for n in result["naive"]:
        label = n["naive"].replace("_", " ") + (f" (season {n['season']})" if n["season"] is not None else "")
        rows.append([" " + label, n["model"], "0", "n/a", score_text(n["test_mse"]), score_text(n["test_mae"])])
    lines = aligned([" run" + (f" (in {parent})" if parent else ""), "model", "params", "val MSE", "test MSE",
                     "test MAE"], rows)
    lines.append(f"{result['test_windows']:,} test windows, the same for every run; standardized scale."
                 + (f" * the lowest validation MSE: {shown[chosen]}." if chosen else ""))
    if any(len(g["runs"]) > 1 for g in result["by_settings"]):
        def spread(g: dict[str, Any], key: str) -> str:
            std = g[f"{key}_std"]
            return score_text(g[key]) + (f" +- {score_text(std)}" if std is not None else "")

        def label(names: list[str]) -> str:
            return ", ".join(names) if len(names) <= 3 else f"{names[0]}, {names[1]}, ... ({len(names)} runs)"

        best = result["by_settings_chosen"]
        lines += ["", *aligned([" runs of the same settings", "model", "seeds", "val MSE", "test MSE", "test MAE"],
                               [[("*" if g["runs"] == best else " ") + label([shown[r] for r in g["runs"]]), g["name"],
                                 str(len(g["runs"])), spread(g, "val_mse"), spread(g, "test_mse"),
                                 spread(g, "test_mae")] for g in result["by_settings"]]),
                  "each row: runs whose settings differ in their seed alone; mean +- std over them (std: sample)."
                  + (f" * the lowest mean validation MSE: {label([shown[r] for r in best])}." if best else "")]
    for g in result["by_settings"]:  # said whether or not the table above is shown
        for rep in g["repeats"]:
            lines.append(f"{shown[rep['run']]} repeats {shown[rep['of']]} (the same settings, seed {rep['seed']} and "
                         "scores): counted once.")
        for two in g["shared"]:
            lines.append(f"{shown[two['run']]} and {shown[two['with']]} share seed {two['seed']} and settings, with "
                         "other scores (another device or version?): both counted.")
    if any(r["val_mse"] is None for r in result["runs"]):
        lines.append("n/a: no validation score to choose by (a model that trains nothing, or a controller trained on "
                     "the validation windows: --controller-data holdout keeps them for choosing).")
    lines.append("Choose by validation: the test columns estimate how that choice does on data it did not see.")
    return "\n".join(lines)


def compare(run_dirs: list[Path], as_json: bool = False) -> str:
    """`dynonet compare`'s table for the run folders `run_dirs` (`table`; `as_json`: the
    `summary` as JSON), after `check_comparable`."""
    runs = [Run(Path(r)) for r in run_dirs]
    check_comparable(runs)
    result = summary(runs)
    return json.dumps(_finite(result), indent=2, allow_nan=False) if as_json else table(result)


def _finite(value: Any) -> Any:
    """`value` with every NaN or infinity None, as JSON has no such numbers."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return None if isinstance(value, float) and not math.isfinite(value) else value
