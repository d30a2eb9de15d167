"""What validation picks for each preset, from the recorded benchmark runs.

For each preset cell (dataset, H), the recorded runs of the presets' model (`workers-only`:
DynoNet without the controller) under `benchmarks/` are grouped by their settings (every
setting the model reads, `dynonet.benchmark.cell_settings`). Among the groups with all of
seeds 0, 1 and 2 the rule is the one-standard-error rule (Breiman et al. 1984; Hastie,
Tibshirani and Friedman, *The Elements of Statistical Learning*, 7.10): take the lowest mean
best validation MSE, then, among every group whose mean is within one standard error of it
(its seeds' standard deviation / sqrt(3)), the simplest: the fewest parameters, then the
fewest settings away from the package's defaults, then the lower validation MSE. A lower
mean by less than its own seed noise does not buy a bigger or more tuned model. Where some
group has at most 100K parameters, larger ones are not candidates (the issue's size aim).
Test MSE is printed beside each candidate and is never read for the choice. Parameters are
counted on the model the settings build now (a record's `params` is what its run had: until
2026-12-02 the workers' heads carried rows for a context that is zero without a controller).

    python benchmarks/select_presets.py          # the candidates of every cell, the pick marked *
    python benchmarks/select_presets.py --check  # exit 1 unless every preset trains as picked
    python benchmarks/select_presets.py --argmin # also mark (+) the lowest mean, where it differs
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dynonet.benchmark import cell_settings  # noqa: E402
from dynonet.config import PRESETS, DataConfig, ModelConfig, RunConfig, TrainConfig  # noqa: E402
from dynonet.registry import build_model  # noqa: E402

SEEDS = {0, 1, 2}
MAX_PARAMS = 100_000
SAME = 1e-3  # relative: a rerun of the same seed and settings this close to a record reproduces it


def candidates(root: Path) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """(dataset, H) -> one entry per settings group with seeds 0-2: its folders, settings,
    mean validation and test MSE."""
    groups: dict[tuple[str, int, str], dict[str, Any]] = {}
    for path in sorted(root.glob("**/results.json")):
        for r in json.loads(path.read_text())["records"]:
            name = preset_of(r["dataset"], r["horizon"])
            if (r["model"] != "workers-only" or r.get("best_val_mse") is None or r["seed"] not in SEEDS
                    or name not in PRESETS):  # e.g. a smoke test's horizon
                continue
            settings = cell_settings(r["config"])
            if settings["data"] != cell_settings(PRESETS[name].to_dict())["data"]:  # other rows or splits
                continue
            key = (r["dataset"], r["horizon"], json.dumps(settings, sort_keys=True))
            g = groups.setdefault(key, {"settings": settings, "runs": {}, "folders": set()})
            folder = str(path.parent.relative_to(root))
            there = g["runs"].setdefault(r["seed"], {**r, "folder": folder})
            # A copy of a record counts once, as does a rerun that reproduced it (on another CPU
            # float sums round differently, and a hundred epochs carry that into the 4th digit):
            # the earlier record stands. Any other rerun is ambiguous.
            if not math.isclose(there["best_val_mse"], r["best_val_mse"], rel_tol=SAME):
                sys.exit(f"select_presets: {r['dataset']} H{r['horizon']} seed {r['seed']} is recorded twice with the "
                         f"same settings and different results ({there['folder']}/, {folder}/); keep one")
            if r.get("date", "") < there.get("date", ""):
                g["runs"][r["seed"]] = {**r, "folder": folder}
            g["folders"].add(folder)
    cells: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for (dataset, horizon, _), g in groups.items():
        if set(g["runs"]) != SEEDS:
            continue
        runs = [g["runs"][s] for s in sorted(SEEDS)]
        cells.setdefault((dataset, horizon), []).append({
            "settings": g["settings"], "folders": sorted(g["folders"]),
            "params": params(runs[0]["config"]),
            "val": statistics.mean(r["best_val_mse"] for r in runs), "test": statistics.mean(r["mse"] for r in runs),
            "val_std": statistics.stdev(r["best_val_mse"] for r in runs),
            "test_std": statistics.stdev(r["mse"] for r in runs)})
    for entries in cells.values():
        entries.sort(key=lambda e: (e["val"], e["params"], departures(e["settings"])))  # as `lowest` ranks them
    return cells


def params(config: dict[str, Any]) -> int:
    """Parameters of the model a record's settings build with this code."""
    return build_model(RunConfig.from_dict(config).model).param_counts()["total"]


def pick(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The presets' rule, one standard error: among the candidates (those within MAX_PARAMS
    where any is) whose mean validation MSE is within one standard error (std / sqrt(3
    seeds)) of the lowest, the fewest parameters, then the fewest settings away from the
    defaults, then the lower validation MSE."""
    small = [e for e in entries if e["params"] <= MAX_PARAMS] or entries
    bound = lowest(small)["val"] + standard_error(entries)
    near = [e for e in small if e["val"] <= bound]
    return min(near, key=lambda e: (e["params"], departures(e["settings"]), e["val"]))


def standard_error(entries: list[dict[str, Any]]) -> float:
    """The rule's yardstick: the lowest mean's seed std / sqrt(number of seeds)."""
    return lowest(entries)["val_std"] / len(SEEDS) ** 0.5


def lowest(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The lowest mean validation MSE (`--argmin`, for comparison; the presets' rule until
    2026-11-30); on a tie (the same model: e.g. workers that never beat the linear start), the
    fewest parameters, then the fewest settings away from the defaults."""
    small = [e for e in entries if e["params"] <= MAX_PARAMS] or entries
    return min(small, key=lambda e: (e["val"], e["params"], departures(e["settings"])))


def departures(settings: dict[str, Any]) -> int:
    """How many training and model settings differ from the package's defaults."""
    defaults = RunConfig(ModelConfig(), TrainConfig(), DataConfig()).to_dict()
    return sum(value != defaults[section].get(name) for section in ("model", "train")
               for name, value in settings[section].items())


def presets_table(root: Path) -> str:
    """The picks as a Markdown table (what the README quotes): per preset cell, test and
    validation MSE of the picked settings and what they are."""
    cells = candidates(root)
    keys = sorted(cells)
    picks = [pick(cells[k]) for k in keys]
    row = lambda label, values: f"| {label} | " + " | ".join(values) + " |"  # noqa: E731
    lines = [row("the presets (seeds 0-2)", [f"{d} H{h}" for d, h in keys]),
             row("---", ["---"] * len(keys)),
             row("test MSE, mean +- std", [f"{p['test']:.4f} +- {p['test_std']:.4f}" for p in picks]),
             row("validation MSE, mean +- std", [f"{p['val']:.4f} +- {p['val_std']:.4f}" for p in picks]),
             row("lookback", [str(p["settings"]["model"]["lookback"]) for p in picks]),
             row("trend path fit", [{"ridge": "ridge", "adamw": "AdamW"}.get(p["settings"]["train"].get("trend_fit"),
                                                                             "joint training") for p in picks]),
             row("mixer", ["on" if p["settings"]["model"]["mixer"] else "off" for p in picks]),
             row("schedule", [p["settings"]["train"]["schedule"] for p in picks]),
             row("worker units", [str(p["settings"]["model"]["worker_hidden"]) for p in picks]),
             row("training loss", [{"mse": "MSE", "mae": "MAE", "huber": "Huber"}[p["settings"]["train"]["loss"]]
                                   for p in picks]),
             row("parameters", [f"{p['params']:,}" for p in picks]),
             row("records", [", ".join(f"`{f}/`" for f in p["folders"]) for p in picks])]
    return "\n".join(lines) + "\n"


def differences(settings: dict[str, Any], reference: dict[str, Any]) -> str:
    """'train.trend_fit=ridge, model.mixer=False': where `settings` departs from `reference`."""
    out = [f"{section}.{k}={v}" for section, values in settings.items() for k, v in values.items()
           if reference.get(section, {}).get(k) != v]
    return ", ".join(out) or "the preset's settings"


def preset_of(dataset: str, horizon: int) -> str:
    """The preset a (dataset, H) cell belongs to (it may not exist)."""
    return f"{dataset.lower()}-{horizon}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 unless every preset trains as picked")
    parser.add_argument("--argmin", action="store_true",
                        help="also mark (+) the lowest mean validation MSE where the rule picks another")
    parser.add_argument("--test", action="store_true",
                        help="also show each candidate's test MSE (hidden by default: the pick never reads it, and "
                             "a choice made by someone reading it would not be a validation choice)")
    args = parser.parse_args(argv)
    cells = candidates(Path(__file__).resolve().parent)
    wrong = []
    if not args.check:
        print(f"* the pick: the fewest parameters, then the fewest departures from the defaults, among the settings "
              f"(within {MAX_PARAMS:,} parameters where any is)\n  within one standard error (the lowest mean's seed "
              f"std / sqrt({len(SEEDS)}), shown as 'se') of the lowest mean validation MSE; test MSE is "
              + ("shown, never read\n" if args.test else "never read (--test shows it)\n"))
    for (dataset, horizon), entries in sorted(cells.items()):
        name = preset_of(dataset, horizon)
        preset = cell_settings(PRESETS[name].to_dict())
        picked = pick(entries)
        if picked["settings"] != preset:
            wrong.append(f"{name}: validation picks {differences(picked['settings'], preset)}")
        if not args.check:
            print(f"{name} ({'val / test MSE' if args.test else 'validation MSE'}, mean of seeds 0-2; lowest "
                  "validation first; "
                  f"se {standard_error(entries):.4f}):")
            alternative = lowest(entries) if args.argmin else None
            for e in entries:
                mark = "*" if e is picked else "+" if e is alternative else " "
                test = f" / {e['test']:.4f}" if args.test else ""
                print(f" {mark} {e['val']:.4f}{test}  {e['params']:>7,} params  "
                      f"{differences(e['settings'], preset)}"
                      f"  [{', '.join(e['folders'])}]")
    missing = sorted(n for n in PRESETS if n != "quickstart" and
                     not any(preset_of(d, h) == n for d, h in cells))
    if args.check:
        for line in wrong + [f"{n}: no candidate with seeds 0-2 recorded" for n in missing]:
            print(line, file=sys.stderr)
        return 1 if wrong or missing else 0
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `| head`: the reader left; stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
