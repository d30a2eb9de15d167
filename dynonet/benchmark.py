"""`dynonet benchmark`: a grid of datasets x horizons x seeds x variants under one protocol.

Every variant is a named set of config overrides applied to the same preset
(`{dataset}-{horizon}` for the bundled datasets; for a CSV, `--csv`, the one `--preset` names,
as `dynonet train` takes it), so all rows share lookback, splits, schedule and early stopping.
Every run is recorded (no selection) in `results.json`, rewritten atomically after each run;
`results.md` and `results.png` are rebuilt from those records. Published figures appear
only in their own labelled section of `results.md`.
"""

from __future__ import annotations

import argparse
import difflib
import json
import shlex
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import torch

from dynonet.checkpoint import META, METRICS, STATE_FILE
from dynonet.config import DATASETS, DEFAULT_PRESET, HORIZONS, PRESETS, RunConfig, flag, override, preset
from dynonet.data import SeriesData, bundled_path, holdout_cut, load, split_rows, split_windows
from dynonet.dates import regular_freq
from dynonet.errors import ConfigError, DynoNetError, OutputError, TrainingError, os_reason
from dynonet.files import atomic_write, write_json
from dynonet.registry import MODELS, check_config, with_season
from dynonet.resume import load_state
from dynonet.report import score_text
from dynonet.summary import figure, markdown, runs_text
from dynonet.variants import VARIANTS
from dynonet.runtime import Log
from dynonet.tables import line_namer, read_table

# Set by the grid itself: a config flag for these would silently fight the grid. They are
# refused with what to use instead, and left out of `dynonet benchmark --help`.
GRID_FIELDS = {"model.model": "set by the grid; use --variants", "model.horizon": "set by the grid; use --horizons",
               "data.dataset": "set by the grid; use --datasets", "train.seed": "set by the grid; use --seeds"}
RECORD_KEYS = ("dataset", "horizon", "lookback", "model", "seed", "mse", "mae", "params", "device",
               "controller_data", "epochs", "best_epoch", "seconds")
RESULTS, TABLE, FIGURE = "results.json", "results.md", "results.png"
SEEDS = (0, 1, 2)  # the protocol's
GRID_DEFAULTS = {"datasets": list(DATASETS), "horizons": list(HORIZONS), "seeds": list(SEEDS)}



# -- the grid ----------------------------------------------------------------------------

def overrides_from_args(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Config flags given on the command line, refusing those the grid sets itself."""
    from dynonet.cli import flag_changes, refuse_ignored_flags

    changes = flag_changes(args)
    for key in (f"{section}.{name}" for section, fields in changes.items() for name in fields):
        if key in GRID_FIELDS:
            raise ConfigError(f"{flag(key.split('.', 1)[1])}: {GRID_FIELDS[key]}")
    refuse_ignored_flags(changes)  # the grid's datasets are the bundled ones
    if changes.get("data", {}).get("test_fraction") == 0:
        raise ConfigError("--test-fraction 0: a grid scores every run on its test split; give a fraction above 0")
    return changes


def _flag_words(name: str, value: Any) -> list[str]:
    """A config field's value as the command-line words that give it."""
    option = flag(name)
    if isinstance(value, bool):
        return [option if value else "--no-" + option[2:]]
    return [option, ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)]


def _flag_text(name: str, value: Any) -> str:
    return " ".join(_flag_words(name, value))


def command_line(args: argparse.Namespace, variants: list[str], overrides: dict[str, dict[str, Any]],
                 horizons: list[int]) -> str:
    """The grid as one reproducible command (what was asked, not how it was typed)."""
    data = ["--preset", base_preset(args, overrides)] if "csv" in overrides.get("data", {}) else [
        "--datasets", ",".join(args.datasets)]  # the CSV is among the config flags
    parts = ["dynonet", "benchmark", *data,
             "--horizons", ",".join(map(str, horizons)), "--seeds", ",".join(map(str, args.seeds)),
             "--variants", ",".join(variants)]
    for section in overrides.values():
        for name, value in section.items():
            parts += _flag_words(name, value)
    return " ".join(shlex.quote(p) for p in parts)


def preset_name(dataset: str, horizon: int) -> str:
    """`{dataset}-{H}`; a horizon without a preset (smoke tests) takes the dataset's H96 preset."""
    for name in (f"{dataset.lower()}-{horizon}", f"{dataset.lower()}-96"):
        if name in PRESETS:
            return name
    raise ConfigError(f"unknown dataset {dataset!r}; the grid runs {', '.join(DATASETS)}")


def base_preset(args: argparse.Namespace, overrides: dict[str, dict[str, Any]]) -> str | None:
    """The preset every run of a CSV grid starts from: `--preset`, or `dynonet train`'s default.
    None for the bundled datasets, each of whose cells starts from its own (`preset_name`)."""
    if "csv" not in overrides.get("data", {}):
        if args.preset is not None:
            raise ConfigError(f"--preset {args.preset}: the bundled datasets' cells each start from their own "
                              "preset (<dataset>-<H>); --preset is for a grid on --csv data")
        return None
    if args.datasets is not GRID_DEFAULTS["datasets"]:
        raise ConfigError("--datasets: the grid runs on the --csv data; give one of the two")
    return args.preset or DEFAULT_PRESET


def run_config(dataset: str, horizon: int, seed: int, variant: str,
               overrides: dict[str, dict[str, Any]], base: str | None = None) -> RunConfig:
    """Preset (`base`, or the bundled dataset's for H) -> command-line overrides -> the
    variant's own overrides -> seed."""
    if variant not in VARIANTS:
        raise ConfigError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    cfg = preset(base or preset_name(dataset, horizon)).replace(model={"horizon": horizon})
    if overrides:
        cfg = override(cfg, overrides)
    if VARIANTS[variant]:
        cfg = cfg.replace(**VARIANTS[variant])
    return cfg.replace(train={"seed": seed})


def overridden_flags(variant: str, overrides: dict[str, dict[str, Any]], cfg: RunConfig) -> dict[str, str]:
    """The flags given that do not apply to `variant` (whose runs have config `cfg`), as {flag
    as given: why}: those it sets otherwise (its own value wins: `frozen-controller` keeps lr 0
    under `--controller-lr`), as the variant's flag, and those its runs do not read ("not read")."""
    unread = unread_settings(cfg.to_dict())
    out = {_flag_text(name, value): "not read" for section, fields in overrides.items()
           for name, value in fields.items() if f"{section}.{name}" in unread}
    return out | {_flag_text(name, overrides[section][name]): _flag_text(name, value)
                  for section, fields in VARIANTS[variant].items() for name, value in fields.items()
                  if overrides.get(section, {}).get(name, value) != value}


def check_overridden_flags(variants: list[str], overrides: dict[str, dict[str, Any]],
                           config_of: Callable[[str], RunConfig], log: Log) -> None:
    """Refuse a flag that every variant of the grid sets otherwise (it contradicts the grid);
    say which variants the others do not apply to, and why (one set of flags for grids of
    several models is a fair use, so a flag a model does not read is told, not refused)."""
    clashes = {v: overridden_flags(v, overrides, config_of(v)) for v in variants}
    for given in dict.fromkeys(g for c in clashes.values() for g in c):
        mine = [f"{v!r} ({c[given]})" for v, c in clashes.items() if given in c]
        if all(given in c and c[given] != "not read" for c in clashes.values()):
            raise ConfigError(f"{given}: changes no run: variant{'s' * (len(mine) > 1)} {', '.join(mine)} "
                              f"set{'s' * (len(mine) == 1)} it otherwise")
        log(f"benchmark: {given} does not apply to variant{'s' * (len(mine) > 1)} {', '.join(mine)}")


# the settings only one lr schedule reads
SCHEDULE_SETTINGS = {"restarts": ("restart_epochs",), "plateau": ("plateau_patience", "plateau_factor"),
                     "exponential": ("hold_epochs", "lr_decay")}


def cell_settings(cfg: dict[str, Any]) -> dict[str, Any]:
    """The settings shared by every seed of one table cell: all that the run's model reads
    (the device only changes where it ran). A setting that a record's version did not have yet
    counts with its default value."""
    try:
        full = RunConfig.from_dict(cfg).to_dict()
    except ConfigError as e:
        raise DynoNetError(f"a recorded config this version cannot read ({e})") from None
    skip = {"train.device", "train.seed", "model.n_channels"} | unread_settings(full)
    return {section: {k: v for k, v in values.items() if f"{section}.{k}" not in skip}
            for section, values in json.loads(json.dumps(full)).items()}


def unread_settings(full: dict[str, Any]) -> set[str]:
    """The settings a run of config `full` (a `RunConfig.to_dict()`) does not read: its model's
    `unread`, the lr schedules it does not use, the trend fit without a trend-first stage."""
    model = MODELS.get(full["model"]["model"])
    skip = set(model.unread) if model else set()
    skip |= {f"train.{name}" for schedule, names in SCHEDULE_SETTINGS.items() if full["train"]["schedule"] != schedule
             for name in names}
    if not full["train"]["trend_first"]:
        skip.add("train.trend_fit")
    return skip


def make_folder(out: Path) -> None:
    """Create the results folder; one that cannot be made, or a training run's, is an OutputError."""
    if (out / META).exists():
        raise OutputError(f"{out}: is the folder of a training run; choose another --out for the results")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: is a file, not a folder; choose another --out for the results")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{out}: cannot make the results folder there ({os_reason(e)})") from None
    try:  # before the first run trains, not after it: a folder that cannot be written to
        tempfile.TemporaryFile(dir=out).close()
    except OSError as e:
        raise OutputError(f"{out}: cannot write there ({os_reason(e)})") from None


def _key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["dataset"], r["horizon"], r["lookback"], r["model"], r["seed"])


def _diff(a: dict[str, Any], b: dict[str, Any]) -> str:
    out = []
    for section in sorted(set(a) | set(b)):
        for k in sorted(set(a.get(section, {})) | set(b.get(section, {}))):
            va, vb = a.get(section, {}).get(k), b.get(section, {}).get(k)
            if va != vb:
                out.append(f"{section}.{k} {va!r} there, {vb!r} now")
    return "; ".join(out[:4])


def _check_same_cell(there: dict[str, Any] | None, config: dict[str, Any], where: str, hint: str) -> None:
    """Every seed of one table cell must share its settings; refuse to mix them."""
    if there is not None and cell_settings(there["config"]) != cell_settings(config):
        raise DynoNetError(f"{where} holds {there['model']} on {there['dataset']} H{there['horizon']} "
                           f"(seed {there['seed']}) with other settings "
                           f"({_diff(cell_settings(there['config']), cell_settings(config))}); {hint}")


def _value(record: dict[str, Any], key: str) -> Any:
    """A record's field as two records of one run compare it: the config with every setting,
    one its version did not have yet at its default (as `cell_settings` counts it)."""
    value = record.get(key)
    if key == "config":
        try:
            return RunConfig.from_dict(value).to_dict()
        except (ConfigError, TypeError):  # unreadable: compared as written
            return value
    return value


# what two records of one run may differ by: when it ran, how long it took, the grid's command
WHEN_AND_HOW_LONG = {"seconds", "median_epoch_seconds", "date", "command"}


def merge(out: Path, sources: list[Path], log: Log = print) -> list[dict[str, Any]]:
    """Add the records of other results folders (grid shards run side by side) to `out`.

    A run recorded in two places must be the same record but for WHEN_AND_HOW_LONG (the
    first kept); a cell must keep one set of settings.
    """
    records = load_records(out)
    done = {_key(r): (r, out / RESULTS) for r in records}  # run -> (record, the file it came from)
    settings = {_key(r)[:4]: (r, out / RESULTS) for r in records}
    added = 0
    for src in sources:
        if not (src / RESULTS).exists():
            raise DynoNetError(f"{src / RESULTS}: no such results file")
        for r in load_records(src):
            if _key(r) in done:
                there, where = done[_key(r)]
                fields = [k for k in sorted(set(there) | set(r)) if _value(there, k) != _value(r, k)]
                if set(fields) - WHEN_AND_HOW_LONG:
                    raise DynoNetError(f"{src / RESULTS}: {r['model']} on {r['dataset']} H{r['horizon']} seed "
                                       f"{r['seed']} is recorded differently in {where} ({', '.join(fields[:4])} "
                                       "differ); nothing merged")
                if fields:  # the same run made twice, with the same outcome
                    log(f"{src / RESULTS}: {r['model']} on {r['dataset']} H{r['horizon']} seed {r['seed']} "
                        f"again, the same but for its {', '.join(fields)}; {where}'s record kept")
                continue
            there, where = settings.get(_key(r)[:4], (None, None))
            _check_same_cell(there, r["config"], f"{where}", f"{src / RESULTS} differs; nothing merged")
            records.append(r)
            done[_key(r)] = settings[_key(r)[:4]] = (r, src / RESULTS)
            added += 1
    make_folder(out)
    save(out, records, None)
    log(f"merged {runs_text(added)} into {out / RESULTS} ({len(records)} in all); {out / TABLE}, {out / FIGURE}")
    return records


def _record(variant: str, cfg: RunConfig, command: str, base: str | None, **run: Any) -> dict[str, Any]:
    """One run's record: what the grid asked for, then what the run reports (`run`). `base`:
    the preset of a CSV grid (`base_preset`)."""
    return {"dataset": cfg.data.dataset or cfg.data.csv, "horizon": cfg.model.horizon, "lookback": cfg.model.lookback,
            "model": variant, "base_model": cfg.model.model,
            "preset": base or preset_name(cfg.data.dataset, cfg.model.horizon), "seed": cfg.train.seed,
            **run, "variant_overrides": VARIANTS[variant], "command": command,
            "date": datetime.now().isoformat(timespec="seconds")}


def record(variant: str, cfg: RunConfig, metrics: dict[str, Any], command: str,
           base: str | None = None) -> dict[str, Any]:
    """The results.json record of one finished run (every RECORD_KEYS field, plus its config)."""
    test = metrics["test"] or {}
    return _record(
        variant, cfg, command, base,
        dataset=metrics["dataset"],
        mse=test.get("mse"),
        mae=test.get("mae"),
        params=metrics["params"]["total"],
        params_by_component=metrics["params"],
        device=metrics["device"],
        controller_data=metrics["controller_data"],
        epochs=metrics["epochs_run"],
        epochs_by_stage=metrics["epochs_by_stage"],
        season=metrics.get("season"),  # the seasonal cycle the run found (its config keeps --season's 0)
        best_epoch=metrics["best_epoch"],
        best_val_mse=metrics.get("best_val_mse"),
        seconds=metrics["timings"]["total_seconds"],
        median_epoch_seconds=metrics["timings"].get("median_epoch_seconds"),
        # the share of test values inside each prediction interval (calibrated on validation)
        interval_coverage={p: s["coverage"] for p, s in test.get("intervals", {}).items()},
        config=metrics["config"],
    )


def failed_record(variant: str, cfg: RunConfig, error: TrainingError, command: str,
                  base: str | None = None) -> dict[str, Any]:
    """The record of a run that stopped without a model to score (training diverged): no
    scores, and the reason. Tables leave it out of their means and list it below them."""
    run = error.run
    params = run.get("params", {})
    return _record(
        variant, cfg, command, base,
        dataset=run.get("dataset", cfg.data.dataset or cfg.data.csv), mse=None, mae=None,
        params=params.get("total"), params_by_component=params,
        device=run.get("device", cfg.train.device), controller_data=run.get("controller_data"),
        epochs=run.get("epochs_run"), best_epoch=None, best_val_mse=None, seconds=run.get("seconds"),
        error=str(error), config=cfg.to_dict(),
    )


def load_records(out: Path) -> list[dict[str, Any]]:
    """The records of `out`/results.json ([] if there is no such file yet); another file there is a DynoNetError."""
    path = out / RESULTS
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DynoNetError(f"{path}: not a benchmark results file (not JSON: {e})") from None
    except OSError as e:
        raise DynoNetError(f"{path}: cannot read ({os_reason(e)})") from None
    records = data.get("records") if isinstance(data, dict) else None
    if not isinstance(records, list):
        raise DynoNetError(f"{path}: not a benchmark results file (no list of \"records\")")
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            raise DynoNetError(f"{path}: record {i} is not a JSON object (not a benchmark results file)")
        if missing := [k for k in (*RECORD_KEYS, "config") if k not in r]:
            raise DynoNetError(f"{path}: record {i} has no {missing[0]!r} (not a benchmark results file, or "
                               "an edited one)")
    return records


def save(out: Path, records: list[dict[str, Any]], command: str | None) -> None:
    """Write results.json, results.md and results.png for `records`."""
    write_json(out / RESULTS, {"records": records})
    atomic_write(out / TABLE, markdown(records, command))
    figure(records, out / FIGURE)


def run_grid(args: argparse.Namespace, log: Log = print) -> list[dict[str, Any]]:
    """Train every (dataset, horizon, seed, variant) not yet recorded in --out, saving after each run."""
    overrides = overrides_from_args(args)
    base = base_preset(args, overrides)  # a CSV grid's preset; None: each bundled cell's own
    datasets = [overrides["data"]["csv"]] if base else args.datasets
    # a CSV grid forecasts its preset's horizon unless told otherwise (as `dynonet train` does)
    horizons = [preset(base).model.horizon] if base and args.horizons is GRID_DEFAULTS["horizons"] else args.horizons
    variants = args.variants or list(VARIANTS)
    command = command_line(args, variants, overrides, horizons)
    check_overridden_flags(variants, overrides,
                           lambda v: run_config(datasets[0], horizons[0], args.seeds[0], v, overrides, base), log)
    plan = []
    for ds in datasets:
        for h in horizons:
            for s in args.seeds:
                for v in variants:
                    cfg = run_config(ds, h, s, v, overrides, base)
                    check_config(cfg.model)  # every run can start: fail before any folder is made
                    plan.append((cfg.data.dataset or cfg.data.csv, h, s, v, cfg))
    plan = list({run[:4]: run for run in plan}.values())  # `etth1,ETTh1` names one dataset: one run each
    loaded = check_cells(plan)
    if base is not None and "batch_size" not in overrides.get("train", {}):
        plan = chosen_batch_sizes(plan, loaded, log)
    lone = [] if base else sorted({h for h in horizons for ds in datasets if preset_name(ds, h) != f"{ds.lower()}-{h}"})
    if lone:
        log(f"benchmark: no preset for H {', '.join(map(str, lone))}: those runs take the dataset's H96 preset's "
            "settings")
    out: Path = args.out
    made = [f for f in (out, *out.parents) if not f.exists()]  # the folders this grid makes, deepest first
    make_folder(out)
    try:
        return _run_plan(args, plan, command, log, base)
    finally:
        for folder in made:  # nothing recorded (bad data, Ctrl-C): leave no empty folder behind
            if not folder.is_dir() or any(folder.iterdir()):
                break
            folder.rmdir()


def check_cells(plan: list[tuple[str, int, int, str, RunConfig]]) -> dict[str, SeriesData]:
    """Every planned run's data holds its windows: a horizon too long for the data fails
    before the first run, not hours into a grid (split as `data.from_table` and
    `data.window_sets` split it), as does a seasonal model whose data has no cycle. Returns
    a CSV grid's data, read once per cell (`csv_cell`)."""
    rows: dict[str, int] = {}
    steps: dict[str, str] = {}
    loaded: dict[str, SeriesData] = {}
    for ds, h, _, _, cfg in plan:
        d, L = cfg.data, cfg.model.lookback
        if d.csv is not None:  # read and split as training will: its errors name the file's lines
            if (cell := csv_cell(cfg)) not in loaded:
                loaded[cell] = load(cfg)
            step, splits = loaded[cell].freq, loaded[cell].splits
        else:
            if ds not in rows:
                dates = read_table(bundled_path(ds)).dates
                rows[ds], steps[ds] = len(dates), regular_freq(dates, ds)
            step = steps[ds]
            splits = split_rows(rows[ds] if d.max_rows is None else min(rows[ds], d.max_rows), L, h,
                                ett=d.max_rows is None, val_fraction=d.val_fraction, test_fraction=d.test_fraction,
                                source=ds, where=line_namer(2))  # the bundled file's lines, as training names them
        try:  # a model that forecasts by the data's seasonal cycle finds one
            with_season(cfg.model, step)
        except ConfigError as e:
            raise ConfigError(f"{ds}: {e}") from None
        if holds_out(cfg):
            holdout_cut(splits["train"], L, h, cfg.train.holdout_fraction, ds)
    return loaded


def csv_cell(cfg: RunConfig) -> str:
    """What a CSV run's windows depend on: how the file is read and split, lookback and horizon."""
    return json.dumps([cfg.to_dict()["data"], cfg.model.lookback, cfg.model.horizon], sort_keys=True)


def holds_out(cfg: RunConfig) -> bool:
    """Whether the run trains a controller on a holdout cut from its training period."""
    reads_holdout = "train.controller_data" not in MODELS[cfg.model.model].unread
    return reads_holdout and cfg.model.controller and cfg.train.controller_data == "holdout"


def chosen_batch_sizes(plan: list[tuple[str, int, int, str, RunConfig]], loaded: dict[str, SeriesData], log: Log
                       ) -> list[tuple[str, int, int, str, RunConfig]]:
    """A CSV grid's batch size, chosen as `dynonet train` chooses it for a CSV (the preset's, or
    on small data the power of two that makes 8 to 16 steps per epoch), once per cell from its
    training windows: every row of a cell trains in batches of one size."""
    from dynonet.runner import batch_size_for

    sizes: dict[tuple[str, int, int], int] = {}
    out = []
    for ds, h, s, v, cfg in plan:
        cell = (ds, h, cfg.model.lookback)
        if cell not in sizes:
            windows = len(split_windows(loaded[csv_cell(cfg)], cfg, torch.device("cpu"), "train"))
            sizes[cell] = batch_size_for(windows, cfg.train.batch_size)
            log(f"benchmark: batch size {sizes[cell]} on {Path(ds).name} H{h} L{cfg.model.lookback}: chosen by "
                f"its {windows} training windows (--batch-size sets one)")
        out.append((ds, h, s, v, cfg.replace(train={"batch_size": sizes[cell]})))
    return out


FINISHED, INTERRUPTED = "finished", "interrupted"


def kept_run(folder: Path, variant: str, cfg: RunConfig, command: str, base: str | None = None
             ) -> tuple[str | None, dict[str, Any] | None]:
    """What a kept run folder holds for the grid's run (`variant`, `cfg`) when the grid
    resumes: (FINISHED, its metrics.json, recorded without training again), (INTERRUPTED,
    None: training continues from its saved state) or (None, None: no run, it trains from the
    start). A run of other settings there, or one that cannot be read, is an OutputError,
    found before any run trains: the grid never writes over it."""
    from dynonet.runner import config_changes

    if (folder / META).is_file():
        what, saved = FINISHED, lambda: json.loads((folder / METRICS).read_text())
    elif (folder / STATE_FILE).is_file():
        what, saved = INTERRUPTED, lambda: load_state(folder)
    else:
        return None, None
    a = f"a{'n' * (what == INTERRUPTED)} {what} run"
    try:
        run = saved()
        changes = config_changes(RunConfig.from_dict(run["config"]), cfg)
        if what == FINISHED and not changes:
            record(variant, cfg, run, command, base)  # the fields a record takes are there
    except (OSError, ValueError, KeyError, TypeError, AttributeError, DynoNetError) as e:
        raise OutputError(f"{folder}: holds {a} that cannot be read ({type(e).__name__}: {e}); "
                          "remove it, or choose another --keep-runs") from None
    if changes:
        raise OutputError(f"{folder}: holds {a} with other settings ({'; '.join(changes[:3])}); "
                          "remove it, or choose another --keep-runs")
    return what, run if what == FINISHED else None


def _run_plan(args: argparse.Namespace, plan: list[tuple[str, int, int, str, RunConfig]], command: str,
              log: Log, base: str | None = None) -> list[dict[str, Any]]:
    from dynonet.runner import train_run

    out: Path = args.out
    records = load_records(out)
    done = {_key(r): r for r in records}
    settings = {_key(r)[:4]: r for r in records}  # one cell of the table: all seeds share settings
    todo = []
    for ds, h, s, v, cfg in plan:
        key = (ds, h, cfg.model.lookback, v, s)
        _check_same_cell(settings.get(key[:4]), cfg.to_dict(), f"{out / RESULTS}", "choose another --out")
        if key not in done:
            todo.append((ds, h, s, v, cfg))
        elif not args.resume:
            raise DynoNetError(f"{out / RESULTS} already holds {v} on {ds} H{h} seed {s}; "
                               "pass --resume to skip finished runs, or choose another --out")

    def kept_folder(ds: str, h: int, s: int, v: str, cfg: RunConfig) -> Path:
        return args.keep_runs / f"{Path(ds).stem}-H{h}-L{cfg.model.lookback}-{v}-seed{s}"  # a CSV: its name

    if args.keep_runs and not args.resume:  # a kept run is never written over unless the grid resumes
        for folder in (kept_folder(*run) for run in todo):
            if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
                what = ("holds a run already" if (folder / META).exists() or (folder / STATE_FILE).exists() else
                        "is not an empty folder")
                raise OutputError(f"{folder}: {what}; choose another --keep-runs, or --resume the grid that wrote it")
    # resuming: each kept folder's run is recorded if it finished, continued if it was interrupted
    kept_runs = [kept_run(kept_folder(ds, h, s, v, cfg), v, cfg, command, base) if args.keep_runs and args.resume
                 else (None, None) for ds, h, s, v, cfg in todo]
    there = f", {len(plan) - len(todo)} already in {out / RESULTS}" if records else f" into {out / RESULTS}"
    log(f"benchmark: {runs_text(len(plan))} planned{there}, {len(todo)} to run")
    for i, ((ds, h, s, v, cfg), (state, metrics)) in enumerate(zip(todo, kept_runs), 1):
        kept = kept_folder(ds, h, s, v, cfg) if args.keep_runs else None
        try:
            if state != FINISHED:  # a tqdm bar per epoch on a terminal (runs can take many minutes)
                metrics = train_run(cfg, kept, progress=True, overwrite=args.resume, resume=state == INTERRUPTED,
                                    argv=getattr(args, "argv", None))
        except TrainingError as e:  # a diverged run is a result too: recorded, and the grid goes on
            rec = failed_record(v, cfg, e, command, base)
        else:
            rec = record(v, cfg, metrics, command, base)
        records.append(rec)
        save(out, records, command)
        outcome = f"failed: {rec['error']}" if rec.get("error") else f"mse {score_text(rec['mse'])} mae {score_text(rec['mae'])}"
        how = {FINISHED: "; the kept run, not trained again", INTERRUPTED: "; the kept run, resumed"}.get(state, "")
        seconds = "" if rec.get("seconds") is None else f", {rec['seconds']:.1f}s"  # as recorded
        log(f"[{i}/{len(todo)}] {Path(ds).name} H{h} {v:<18} seed {s}: {outcome} ({rec['epochs']} epochs{seconds}{how})")
    if not todo and records:
        save(out, records, command)  # refresh the table and figure
    if failed := sum(bool(r.get("error")) for r in records):
        log(f"{failed} recorded run{'s' * (failed != 1)} stopped without scores; {out / TABLE} lists them")
    log(f"results: {out / RESULTS}, {out / TABLE}, {out / FIGURE}")
    return records


# -- command line ------------------------------------------------------------------------

def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `dynonet benchmark` to the CLI's subcommands."""
    from dynonet.cli import DefaultsHelp, add_config_flags, comma_list, path_arg

    p = subparsers.add_parser(
        "benchmark", formatter_class=DefaultsHelp,
        help="grid of datasets x horizons x seeds x variants; every run recorded",
        description="Train every (dataset, horizon, seed, variant) from the preset <dataset>-<H> (with --csv: "
                    "every (horizon, seed, variant) on that CSV, from --preset) with the "
                    "variant's overrides; record every run in results.json and summarize in results.md/png. "
                    "Config flags (e.g. --epochs, --device, --max-rows, --lookback) apply to every run, but where a "
                    "variant sets that setting itself (frozen-controller keeps --controller-lr 0). The values "
                    "shown are etth1-96's; each cell starts from its own preset.")
    # the default lists are these very objects, so that --merge can tell a list given from none
    p.add_argument("--datasets", type=comma_list(str), default=GRID_DEFAULTS["datasets"],
                   help="comma-separated bundled datasets (your own: --csv FILE, read as `dynonet train` reads it)")
    p.add_argument("--preset", default=None, choices=sorted(PRESETS),
                   help=f"with --csv: the preset every run starts from (default: {DEFAULT_PRESET}, as `dynonet train`'s)")
    p.add_argument("--horizons", type=comma_list(int, minimum=1), default=GRID_DEFAULTS["horizons"],
                   help="comma-separated; with --csv, the --preset's unless given")
    p.add_argument("--seeds", type=comma_list(int, minimum=0, maximum=2**32 - 1), default=GRID_DEFAULTS["seeds"],
                   help="comma-separated")
    p.add_argument("--variants", type=comma_list(str), default=None,
                   help=f"comma-separated (default: all: {','.join(VARIANTS)})")
    p.add_argument("--out", type=path_arg, default=Path("runs/benchmark"),
                   help="results folder (benchmarks/results/ holds the committed, measured grid)")
    p.add_argument("--resume", action="store_true",
                   help="skip runs already recorded in --out; with --keep-runs, record a kept finished run "
                        "and continue a kept interrupted one")
    p.add_argument("--keep-runs", type=path_arg, default=None, help="also write each run's folder under this one")
    p.add_argument("--merge", type=path_arg, nargs="+", default=None, metavar="FOLDER",
                   help="train nothing: add the runs recorded in these results folders (grid shards run "
                        "side by side) to --out and rebuild its table and figure")
    add_config_flags(p, "etth1-96", hidden=set(GRID_FIELDS))
    p.set_defaults(func=cmd_benchmark)


def cmd_benchmark(args: argparse.Namespace) -> int:
    """`dynonet benchmark`: run the grid (or merge shards) and write the results."""
    for v in args.variants or []:
        if v not in VARIANTS:
            dashed = {n.replace("_", "-"): n for n in VARIANTS}  # no-lr_scale is typed no-lr-scale too
            close = difflib.get_close_matches(v.replace("_", "-"), list(dashed), 1)
            hint = f"; did you mean {dashed[close[0]]!r}?" if close else ""
            raise ConfigError(f"unknown variant {v!r}{hint} (choose from {', '.join(VARIANTS)})")
    if args.merge:
        grid = [(f"--{name}", getattr(args, name) is not default) for name, default in GRID_DEFAULTS.items()]
        trains = [flag for flag, given in (*grid, ("--variants", args.variants), ("--preset", args.preset),
                                           ("--resume", args.resume), ("--keep-runs", args.keep_runs),
                                           ("config flags", overrides_from_args(args)))
                  if given]
        if trains:
            raise ConfigError(f"--merge trains nothing and takes only --out; drop {', '.join(trains)}")
        merge(args.out, args.merge)
    else:
        run_grid(args)
    return 0
