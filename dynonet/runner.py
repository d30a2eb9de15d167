"""One run end to end: data -> model -> bi-level training -> one test evaluation -> run folder."""

from __future__ import annotations

import hashlib
import json
import math
import platform
import time
from datetime import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch

from dynonet import __version__
from dynonet.base import Forecaster
from dynonet.checkpoint import (META, METRICS, TENSORS, WEIGHTS, load_checkpoint, refuse_file_name, save_checkpoint,
                                save_tensors)
from dynonet.config import ModelConfig, RunConfig
from dynonet.data import SeriesData, Scaler, Windows, bundled_path, load, split_windows, window_sets
from dynonet.dates import season_of, step_text
from dynonet.errors import CheckpointError, ConfigError, DataError, TrainingError, os_reason
from dynonet.evaluation import evaluate
from dynonet.files import json_text
from dynonet.intervals import TENSOR, Intervals, calibrate
from dynonet.published import published_for
from dynonet.registry import NAIVE_KEYS, build_model, check_config, naive_configs, naive_named
from dynonet.report import batch_size_line, epoch_report, format_params, result_block
from dynonet.resume import STATE_FILE, clear_state, load_state, save_state
from dynonet.runtime import Log, quiet, resolve_device, seed_everything
from dynonet.training import BiLevelTrainer, make_progress


def versions() -> dict[str, str]:
    """The versions a run records next to its results (dynonet, torch, NumPy, pandas, Python)."""
    return {"dynonet": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "pandas": pd.__version__, "python": platform.python_version()}


def prepare(cfg: RunConfig, device: torch.device, data: SeriesData | None = None
            ) -> tuple[RunConfig, SeriesData, Forecaster]:
    """Load data (unless given), fill n_channels and the date format into the config, build the
    model on the device."""
    check_config(cfg.model)  # a setting the model cannot run with fails before the data is read
    data = load(cfg) if data is None else data
    # a date format the data settled (day or month first) is the run's, for its later data
    cfg = cfg.replace(model={"n_channels": data.n_channels}, data={"date_format": data.date_format})
    try:
        model = build_model(cfg.model, data.freq)
    except ConfigError as e:  # (a model that needs a seasonal cycle and finds none in the data)
        raise ConfigError(f"{data.source}: {e}") from None
    return cfg, data, model.to(device)


FIGURES = {"training_curves.png", "channel_metrics.png", "benchmark.png"}  # what a run folder may hold ...
RUN_FILES = {WEIGHTS, TENSORS, META, METRICS, STATE_FILE} | FIGURES  # ... in all


def prepare_out_dir(out: Path, overwrite: bool, resume: bool = False) -> None:
    """Make `out` ready for a run: refuse a folder that is not empty unless `overwrite` or
    `resume`; a run that starts over removes an earlier run's files (other files stay)."""
    if out.exists() and not out.is_dir():
        raise CheckpointError(f"{out}: exists and is not a folder")
    refuse_file_name(out)
    if out.is_dir() and any(out.iterdir()) and not (overwrite or resume):
        if (out / STATE_FILE).exists():
            raise CheckpointError(f"{out}: holds an interrupted run; pass --resume to continue it, "
                                  "--overwrite to start over, or choose another --out")
        raise CheckpointError(f"{out}: folder is not empty; pass --overwrite or choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
        if not resume:  # starting over: an earlier run's files would pass for this run's if it fails
            for name in RUN_FILES:  # (its resume state: a Ctrl-C before the first epoch would offer it)
                (out / name).unlink(missing_ok=True)
    except OSError as e:
        raise CheckpointError(f"{out}: cannot write there ({os_reason(e)})") from None


@dataclass
class TrainedRun:
    """What `train` returns: the config (n_channels filled in), data, trained model, metrics.json,
    and the prediction intervals calibrated on validation."""

    cfg: RunConfig
    data: SeriesData
    model: Forecaster
    metrics: dict[str, Any]
    intervals: Intervals


def config_changes(saved: RunConfig, given: RunConfig, moved: bool = False) -> list[str]:
    """'section.field: saved -> given' for every setting that differs (n_channels comes from
    data). `moved`: a CSV's path may change (to another CSV, whose rows `check_same_data` checks)."""
    a, b = saved.to_dict(), given.to_dict()
    moved = moved and saved.data.csv is not None and given.data.csv is not None
    return [f"{sec}.{k}: {a[sec][k]!r} -> {b[sec][k]!r}" for sec in a for k in a[sec]
            if k != "n_channels" and a[sec][k] != b[sec][k] and (sec, k) != ("train", "device")
            and not (moved and (sec, k) == ("data", "csv"))]


def data_meta(data: SeriesData) -> dict[str, Any]:
    """What identifies a run's data: its series, splits, training rows' scaler and time step."""
    return {"columns": data.columns, "scaler": data.scaler.to_dict(), "freq": data.freq, "splits": data.splits}


def check_same_data(data: SeriesData, meta: dict[str, Any], whose: str, where: Path | None = None) -> None:
    """A DataError unless `data` has the series, splits, training rows and time step that
    `meta` (`data_meta`, or a checkpoint's) records; `whose` names the run ("the checkpoint"),
    `where` the file it was read from."""
    if data.columns != meta["columns"]:
        raise DataError(f"{data.source}: columns {data.columns} differ from {whose}'s {meta['columns']}")
    splits = {name: list(rows) for name, rows in data.splits.items()}
    if "splits" in meta and splits != {name: list(rows) for name, rows in meta["splits"].items()}:
        rows = lambda s: ", ".join(f"{k} [{a}, {b})" for k, (a, b) in s.items())  # noqa: E731
        raise DataError(f"{data.source}: its splits (rows {rows(splits)}) differ from {whose}'s "
                        f"({rows(meta['splits'])}): rows added or removed?")
    saved = Scaler.from_dict(meta["scaler"])
    if not (np.allclose(data.scaler.mean, saved.mean, rtol=1e-6, atol=1e-9)
            and np.allclose(data.scaler.std, saved.std, rtol=1e-6, atol=1e-9)):
        raise DataError(f"{data.source}: training rows differ from those {whose} was trained on")
    if meta.get("freq") is not None and data.freq != meta["freq"]:  # None: a folder from before steps were kept
        raise DataError(f"{data.source}: time step of {step_text(data.freq)} differs from {whose}'s "
                        f"{step_text(meta['freq'])}"
                        + (f" ({where})" if where else ""))


RESUME_MAY_CHANGE = ("interval_levels", "pass_sequences")  # train settings a resumed run may give anew


def train_run(cfg: RunConfig | None, out: Path | None = None, *, data: SeriesData | None = None,
              log: Log = quiet, progress: bool = False, overwrite: bool = False,
              resume: bool = False, flags: dict[str, dict[str, Any]] | None = None,
              argv: list[str] | None = None, choose_batch: bool = False) -> dict[str, Any]:
    """Train one model under the protocol and score its test split once. Returns metrics.json.

    `data`: an in-memory series (`data.from_table`) instead of the one `cfg.data` names.
    With `out`, the training state is saved there after every epoch; `resume` continues from
    it (`cfg` None: the run's own config, with `flags`, the settings given on the command
    line, applied; either must match the run's config, but for the `RESUME_MAY_CHANGE`
    settings given there). `argv`: the command that started the run, recorded in metrics.json.
    `choose_batch`: as `train` takes it; a resumed run chooses as it did when it started.
    """
    saved = None
    if resume:
        if out is None:
            raise ConfigError("--resume needs the run folder (--out) of the interrupted run")
        saved = load_state(out)
        try:
            saved_cfg = RunConfig.from_dict(saved["config"])
        except (ConfigError, KeyError) as e:
            raise ConfigError(f"{out}: the interrupted run's settings are not readable by dynonet "
                              f"{__version__} ({e}); start the run again") from None
        if cfg is None:
            cfg = saved_cfg.replace(**(flags or {}))
        if (chosen := saved.get("batch_size_chosen")) is not None:  # the data chose it: it chooses the same
            choose_batch = True
            if "batch_size" not in (flags or {}).get("train", {}):
                cfg = cfg.replace(train={"batch_size": chosen})
        if cfg.data.csv is not None and not Path(cfg.data.csv).exists():
            raise DataError(f"{cfg.data.csv}: file not found (the interrupted run's CSV; moved? resume with "
                            "--csv and its new path)")
        # settings that change how, not what, is trained, as given here: levels are calibrated once
        # training ends, and smaller passes let a run that ran out of memory go on
        given = {k: getattr(cfg.train, k) for k in RESUME_MAY_CHANGE if k in (flags or {}).get("train", {})}
        saved_cfg = saved_cfg.replace(train=given) if given else saved_cfg
        # a moved CSV, where the state records the rows to check it by (states before that: as saved)
        if changes := config_changes(saved_cfg, cfg, moved="data" in saved):
            raise ConfigError(f"{out}: --resume with settings that differ from the interrupted run's "
                              f"({'; '.join(changes)}); resume with the same command, or omit the settings")
        log(f"resuming {out} after epoch {saved['epoch']}")
    elif cfg is None:
        raise ConfigError("a config is needed unless resuming")
    ready = (lambda: prepare_out_dir(out, overwrite, resume)) if out is not None else None
    if saved is not None:
        argv = saved.get("argv", argv)  # the command that started the run, not the one resuming it

    def save_with_config(state: dict[str, Any]) -> None:  # the run's settings, with the batch size the data chose
        chosen = state.get("batch_size_chosen")
        config = cfg if chosen is None else cfg.replace(train={"batch_size": chosen})
        save_state(out, {**state, "config": config.to_dict(), "argv": argv})
    checkpoint = save_with_config if out is not None else None
    try:
        run = train(cfg, data=data, log=log, progress=progress, ready=ready, checkpoint=checkpoint, resume=saved,
                    argv=argv, choose_batch=choose_batch)
    except TrainingError:
        if out is not None and out.is_dir():
            # a diverged run cannot be resumed (it would diverge again): leave nothing that
            # blocks the retry with other settings that the error suggests
            clear_state(out)
            if not any(out.iterdir()):
                out.rmdir()
        raise
    if out is not None:
        write_artifacts(out, run.model, run.cfg, run.data, run.metrics, run.intervals)
        clear_state(out)  # finished: nothing left to resume
        log(f"run folder: {out}")
    return run.metrics


MIN_STEPS = 4  # fewer optimizer steps per epoch than this leave a run of the presets' epochs far from trained


def batch_size_for(windows: int, largest: int | None = None) -> int:
    """The power of two that cuts `windows` training windows into 8 to 16 batches (one window
    a batch where there are fewer than 16), at most `largest`."""
    size = 2 ** max(int(math.log2(max(windows / 8, 1))), 0)
    return size if largest is None else min(size, largest)


def few_steps_notes(windows: int, batch_size: int, trains: bool, chosen: bool = False) -> list[str]:
    """A note where `windows` training windows in batches of `batch_size` make fewer than
    `MIN_STEPS` steps per epoch (small data at the presets' batch size), naming a batch size
    that makes 8 to 16 (`batch_size_for`). `chosen`: the windows chose `batch_size`, no flag
    gave it."""
    steps = math.ceil(windows / batch_size)
    if not trains or steps >= MIN_STEPS:
        return []
    smaller = batch_size_for(windows)
    # under MIN_STEPS windows, even one window a batch makes too few steps: more windows help
    more = (f"--batch-size {smaller} makes {math.ceil(windows / smaller)}" if windows >= MIN_STEPS else
            "a longer series, or a shorter --lookback or --horizon, gives more windows")
    return [f"the {windows} training window{'s' * (windows != 1)} make{'s' * (windows == 1)} {steps} optimizer "
            f"step{'s' * (steps != 1)} per epoch at {'batch size' if chosen else '--batch-size'} {batch_size}: "
            f"too few to train far; {more}"]


MIN_VAL_WINDOWS = 5  # fewer validation windows than this make early stopping a guess


def few_val_notes(windows: int, trains: bool) -> list[str]:
    """A note where the validation split holds fewer than `MIN_VAL_WINDOWS` windows: early
    stopping (which epoch is kept) and the intervals rest on them."""
    if not trains or windows >= MIN_VAL_WINDOWS:
        return []
    return [f"the validation split holds {windows} window{'s' * (windows != 1)}: which epoch is kept rests on "
            f"{'them' if windows != 1 else 'it'} (a larger --val-fraction, or a shorter --lookback or --horizon, "
            "gives more)"]


def cut_notes(cfg: RunConfig, rows: int) -> list[str]:
    """A note where a bundled dataset is cut by --max-rows (to `rows`, fewer where the dataset
    is shorter than --max-rows): its first rows are then split by
    --val-fraction and --test-fraction, not at the protocol's borders, so its scores compare
    with no benchmark record or published figure."""
    d = cfg.data
    if d.csv is not None or d.dataset is None or d.max_rows is None:
        return []
    shares = f"{1 - d.val_fraction - d.test_fraction:.0%} / {d.val_fraction:.0%} / {d.test_fraction:.0%}"
    kept = f"first {d.max_rows} rows" if d.max_rows <= rows else f"{rows} rows (all of them)"
    return [f"--max-rows {d.max_rows}: {d.dataset}'s {kept}, split {shares} (train / validation / "
            "test), not at the protocol's borders: these scores compare with no benchmark or published figure"]


def season_notes(cfg: ModelConfig, freq: str, rows: int, tested: bool) -> list[str]:
    """A note where a run with a test split finds the time step's seasonal cycle longer than
    the lookback: no seasonal naive forecast is scored beside it (`registry.naive_configs`)
    unless --season names one. Not where its `rows` hold fewer than two cycles (time steps
    read as seconds make a day of 86400): there the data shows no cycle to miss."""
    season = season_of(freq)
    if not tested or cfg.season or season is None or not cfg.lookback < season <= rows // 2:
        return []
    return [f"the time step of {step_text(freq)} makes a seasonal cycle of {season} steps, longer than --lookback "
            f"{cfg.lookback}: no seasonal naive forecast is scored beside this run's (give --season for a shorter "
            f"cycle, or a --lookback of {season} or more)"]


def train(cfg: RunConfig, *, data: SeriesData | None = None, log: Log = quiet, progress: bool = False,
          ready: Callable[[], None] | None = None, checkpoint: Callable[[dict[str, Any]], None] | None = None,
          resume: dict[str, Any] | None = None, argv: list[str] | None = None,
          choose_batch: bool = False) -> TrainedRun:
    """`train_run` without the run folder: returns the trained model too. `ready` is called once
    data and config have passed their checks, before training starts; `checkpoint` and `resume`
    as in `BiLevelTrainer.fit`. `choose_batch`: `cfg.train.batch_size` is the largest batch
    size, cut down to the data's training windows (`batch_size_for`); the run's config has
    the size used."""
    t_start = time.perf_counter()
    generator = seed_everything(cfg.train.seed)
    device = resolve_device(cfg.train.device)
    cfg, data, model = prepare(cfg, device, data)  # bad data or config fails here, before any folder exists
    # which split the controller trains on; None for a model without a controller. A frozen
    # controller (lr 0) keeps its split: `frozen-holdout` is the control of `holdout`, on the
    # same shortened training period.
    controller_data = cfg.train.controller_data if model.controller_parameters() else None
    sets = window_sets(data, cfg, device, controller=controller_data is not None)
    if choose_batch:
        cfg = cfg.replace(train={"batch_size": batch_size_for(len(sets["train"]), cfg.train.batch_size)})
    if resume is not None and "data" in resume:  # (states saved before data was recorded: not checked)
        check_same_data(data, resume["data"], "the interrupted run")
    if ready is not None:
        ready()
    params = model.param_counts()
    title = f"{model.display_name}_H{cfg.model.horizon}"
    log(f"{title} on {data.source} ({data.n_channels} channel{'s' * (data.n_channels != 1)}, L={cfg.model.lookback}) device={device} "
        f"seed={cfg.train.seed} controller data={controller_data or 'none (no controller)'}")
    log("trainable parameters:\n" + format_params(params))
    test_set = split_windows(data, cfg, device, "test")  # scored once, after training; the trainer never sees it
    log(f"windows: train {len(sets['train'])}"
        + (f", controller {len(sets['controller'])}" if controller_data is not None else "") + f", val {len(sets['val'])}"
        + (f", test {len(test_set)}" if test_set is not None else ", no test split (test fraction 0): not scored"))
    trains = bool(params["total"])
    if choose_batch and trains:  # (a model with nothing to train takes no optimizer steps)
        log(batch_size_line(cfg.train.batch_size, len(sets["train"])))
    steps_notes = few_steps_notes(len(sets["train"]), cfg.train.batch_size, trains, chosen=choose_batch)
    notes = (cut_notes(cfg, len(data.dates)) + data.scale_notes() + steps_notes
             + few_val_notes(len(sets["val"]), trains)
             + season_notes(cfg.model, data.freq, len(data.dates), tested=test_set is not None))
    for note in notes:
        log(f"note: {note}")

    trainer = BiLevelTrainer(model, cfg.train, generator)
    # the time a resumed run took before it stopped, up to its last saved epoch
    earlier = resume.get("elapsed_seconds", 0.0) if resume else 0.0
    save = checkpoint

    def checkpoint_with_time(state: dict[str, Any]) -> None:  # each saved state: the time so far, and its data
        save({**state, "elapsed_seconds": earlier + time.perf_counter() - t_start, "data": data_meta(data),
              **({"batch_size_chosen": cfg.train.batch_size} if choose_batch else {})})
    device_name = str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else
                                 f" ({torch.get_num_threads()} threads)")
    try:
        # a model that is its trend path alone (RevIN + Linear) trains in one stage: no stage titles
        two_stages = trainer.worker_opt is not None and bool(trainer.trend_params)
        state = trainer.fit(sets, report=epoch_report(log, resume.get("stage", ["full"])[0] if resume else None,
                                                      titles=two_stages, loss=cfg.train.loss),
                            progress=make_progress(progress),
                            checkpoint=None if save is None else checkpoint_with_time, resume=resume)
    except TrainingError as e:  # what a record of the stopped run needs (the trainer gives its epochs)
        raise TrainingError(str(e), run={**e.run, "dataset": data.source, "device": device_name, "params": params,
                                         "controller_data": controller_data,
                                         "seconds": earlier + time.perf_counter() - t_start}) from None
    t_train = earlier + time.perf_counter() - t_start
    # the trained model's validation errors
    intervals = calibrate(model, sets["val"], cfg.train.eval_batch_size, cfg.train.interval_levels)
    # on the console (and in metrics.json's "intervals"), not among the notes on the data that quiet runs print
    interval_notes = [text for text in (intervals.missing(cfg.train.interval_levels),
                                        "" if test_set is not None else untested(intervals)) if text]
    for text in interval_notes:
        log(f"note: {text}")
    if controller_data == "val":
        notes.append("the controller trained on the validation windows that calibrate the prediction intervals: "
                     "they may hold less than their level on later data (--controller-data holdout keeps the two "
                     "apart)")
        log(f"note: {notes[-1]}")
    test = None if test_set is None else test_scores(model, test_set, cfg, data, intervals)
    # the bi-level epochs' time; trend-first epochs (the linear path alone) are much cheaper
    seconds = [h["seconds"] for h in state.history if h.get("stage", "full") == "full"]
    # the closed-form fit (`--trend-fit ridge`) is not an epoch: its time is reported on its own
    trend_seconds = [h["seconds"] for h in state.history if h.get("stage") == "trend" and "fit" not in h]
    fit_seconds = [h["seconds"] for h in state.history if "fit" in h]
    metrics = {
        "name": title,
        "model": cfg.model.model,
        "dataset": data.source,
        "config": cfg.to_dict(),
        "seed": cfg.train.seed,
        "device": device_name,
        "controller_data": controller_data,
        "params": params,
        "batch_size_chosen": choose_batch,  # by the training windows (`batch_size_for`), not given
        # the windows of each split (the controller's only where it trains: it reads validation's otherwise)
        "windows": {name: len(windows) for name, windows in [*sets.items(), ("test", test_set)]
                    if windows is not None and (name != "controller" or controller_data is not None)},
        "season": model.cfg.season,  # the seasonal cycle in steps (--season, or the time step's; 0: none)
        "epochs_run": len(state.history),
        "epochs_by_stage": {stage: sum(h.get("stage") == stage for h in state.history)
                            for stage in ("trend", "full")},
        "notes": notes,
        "resumed_after_epoch": None if resume is None else resume["epoch"],
        "best_epoch": state.best_epoch,
        "best_val_mse": None if not state.history else state.best_val,
        "history": state.history,
        "test": test,
        "intervals": {**intervals.meta(), "notes": interval_notes},
        "timings": {"total_seconds": earlier + time.perf_counter() - t_start, "train_seconds": t_train,
                    "median_epoch_seconds": float(np.median(seconds)) if seconds else None,
                    "median_trend_epoch_seconds": float(np.median(trend_seconds)) if trend_seconds else None,
                    "trend_fit_seconds": fit_seconds[0] if fit_seconds else None},
        "versions": versions(),
        "argv": argv,  # None from the Python API: its host's arguments say nothing of the run
    }
    if test is not None:
        log(result_block(title, test))
    return TrainedRun(cfg, data, model, metrics, intervals)


def training_file(run_dir: str | Path, cfg: RunConfig, meta: dict[str, Any], instead: str) -> Path:
    """The file a run (`cfg`, its checkpoint's `meta`) was trained on: its CSV, or the bundled
    dataset's. A DataError where it has none (a run fit on a DataFrame: `instead` says what to
    do) or its CSV is no longer there."""
    if cfg.data.csv is None and meta.get("source") == cfg.data.dataset:
        return bundled_path(cfg.data.dataset)
    if cfg.data.csv is None:
        raise DataError(f"{run_dir}: trained on {meta.get('source')!r}, not on a CSV or bundled dataset; {instead}")
    if not Path(cfg.data.csv).is_file():
        raise DataError(f"{cfg.data.csv}: file not found (the run's CSV; moved? give its new path with --csv)")
    return Path(cfg.data.csv)


def test_scores(model: Forecaster, test_set: Windows, cfg: RunConfig, data: SeriesData,
                intervals: Intervals) -> dict[str, Any]:
    """`model`'s scores on the test windows (`evaluation.evaluate`), with those of the naive
    forecasts on the same windows beside them (`registry.naive_configs`: `naive`, and
    `seasonal_naive` where the data has a cycle; each with its model's name, its season, and
    its scores overall, per channel and in original units): what the numbers mean on a user's
    own data, where no published figure says."""
    scores = evaluate(model, test_set, cfg.train.eval_batch_size, data.columns, data.scaler, intervals)
    for key, naive_cfg in naive_configs(cfg.model, data.freq).items():
        naive = evaluate(build_model(naive_cfg), test_set, cfg.train.eval_batch_size, data.columns, data.scaler)
        scores[key] = {**naive_named(naive_cfg), **{k: naive[k] for k in ("mse", "mae", "per_channel",
                                                                           "original_units")}}
    return scores


def data_fingerprint(data: SeriesData) -> str:
    """The SHA-256 of the rows a run read (dates and values as scaled): runs with the same
    fingerprint read the same data, wherever the file lay (`dynonet compare`)."""
    try:  # UTC instants at one unit, whatever unit the dates were read at
        instants = data.dates.as_unit("ns").asi8
    except (OverflowError, ValueError):  # (OutOfBoundsDatetime) dates before 1677 or after 2262: microseconds
        instants = data.dates.as_unit("us").asi8
    digest = hashlib.sha256(np.ascontiguousarray(instants).tobytes())
    digest.update(np.ascontiguousarray(data.values, dtype=np.float32).tobytes())
    return digest.hexdigest()


def checkpoint_meta(data: SeriesData, intervals: Intervals, batch_size_chosen: bool = False) -> dict[str, Any]:
    """What a checkpoint records about its data: columns, scaler, step, source, splits, last date,
    the date of the last row it trained or validated on (what a backtest's note counts from),
    and whether its date format was read off the dates rather than given, and its batch size
    chosen by the data (a refit reads and chooses afresh); and the levels of its prediction
    intervals (their half-widths: `checkpoint_tensors`)."""
    return {"columns": data.columns, "scaler": data.scaler.to_dict(), "freq": data.freq,
            "source": data.source, "data_sha256": data_fingerprint(data), "splits": data.splits,
            "last_date": str(data.dates[-1]),
            "seen_until": str(data.dates[max(b for name, (_, b) in data.splits.items() if name != "test") - 1]),
            "date_format_settled": data.date_format_settled, "intervals": intervals.meta(),
            **({"batch_size_chosen": True} if batch_size_chosen else {})}


def checkpoint_tensors(intervals: Intervals | None) -> dict[str, torch.Tensor]:
    """The tensors a run saves beside its weights: the intervals' half-widths, if any."""
    return {TENSOR: intervals.half_widths} if intervals is not None and intervals.levels else {}


def saved_intervals(meta: dict[str, Any], tensors: dict[str, torch.Tensor], cfg: RunConfig,
                    run_dir: Path) -> Intervals | None:
    """A loaded run's intervals, checked against its horizon and series; None for a run folder
    of a version before them."""
    if meta.get("intervals") is None:
        return None
    try:
        intervals = Intervals.from_saved(meta["intervals"], tensors.get(TENSOR))
        if intervals.levels and intervals.half_widths.shape[1:] != (cfg.model.horizon, cfg.model.n_channels):
            raise ValueError(f"half-widths of shape {tuple(intervals.half_widths.shape)} for horizon "
                             f"{cfg.model.horizon} and {cfg.model.n_channels} series")
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{run_dir / META}: corrupted (its prediction intervals and {TENSORS} disagree: "
                              f"{e})") from None
    return intervals


def write_artifacts(out: Path, model: Forecaster, cfg: RunConfig, data: SeriesData, metrics: dict[str, Any],
                    intervals: Intervals) -> None:
    """Write the run folder: weights, checkpoint.json, metrics.json and the figures, all or none."""
    from dynonet import plots

    # Every figure is rendered before anything is written: a failure leaves no partial run folder.
    title = f"{metrics['name']} on {data.source}, seed {cfg.train.seed}"
    figures = {}
    if metrics["history"]:
        figures["training_curves.png"] = plots.training_curves(metrics["history"], title, cfg.train.loss)
    if metrics["test"] is not None:
        figures["channel_metrics.png"] = plots.channel_metrics(metrics["test"]["per_channel"], title)
    # published figures hold for the bundled data under the protocol's splits only (not --max-rows)
    protocol = cfg.data.csv is None and cfg.data.max_rows is None
    published = published_for(data.source, cfg.model.horizon) if protocol else []
    if metrics["test"] is not None and published:
        measured = {"label": f"{metrics['name']}, seed {cfg.train.seed}", "lookback": cfg.model.lookback,
                    "mse": metrics["test"]["mse"]}
        figures["benchmark.png"] = plots.benchmark(measured, published,
                                                   f"{data.source} H={cfg.model.horizon}: this run vs published figures")
    save_checkpoint(out, model, cfg, checkpoint_meta(data, intervals, metrics.get("batch_size_chosen", False)),
                    extra=[(out / METRICS, json_text(metrics)), *((out / n, png) for n, png in figures.items())],
                    tensors=checkpoint_tensors(intervals))


def evaluate_run(run_dir: Path, *, device: str = "auto", csv: str | Path | None = None,
                 log: Log = quiet, calibrate_intervals: bool = False,
                 levels: Sequence[int] | None = None) -> dict[str, Any] | None:
    """Re-score a saved run on its test split; the data is rebuilt from the checkpoint (from
    `csv` instead of the recorded path, for a CSV that has moved). `calibrate_intervals`: first
    calibrate the run's prediction intervals on its validation windows, at `levels` (default:
    the run's `interval_levels`, which then become these), and save them in the run folder (a
    folder from before intervals gets them); a run without a test split then returns None."""
    if levels is not None and not calibrate_intervals:
        raise ConfigError("--interval-levels: the levels are calibrated with --calibrate; add it")
    dev = resolve_device(device)
    # intervals about to be calibrated again are not read: a damaged or stale file cannot stop the mend
    model, cfg, meta, tensors = load_checkpoint(run_dir, dev, () if calibrate_intervals else (TENSOR,))
    if levels is not None:  # checked before the data is read
        cfg = cfg.replace(train={"interval_levels": tuple(levels)})
    bundled = cfg.data.csv is None and meta.get("source") == cfg.data.dataset
    if cfg.data.test_fraction == 0 and not bundled and not calibrate_intervals:  # (bundled: the protocol's test)
        raise DataError(f"{run_dir}: the run has no test split to re-score (it was fitted on all its rows: "
                        "test_fraction 0)")
    if csv is not None:
        if bundled:
            raise ConfigError(f"{run_dir}: trained on the bundled {cfg.data.dataset}, not on a CSV; omit --csv")
        cfg = cfg.replace(data={"csv": str(Path(csv).absolute())})  # also a DataFrame's rows, saved as a CSV
    else:
        training_file(run_dir, cfg, meta, "give its rows as a CSV with --csv to re-score it")  # there to read
    # the run's series, in its order, from a CSV (other columns are left alone, as predict does)
    data = load(cfg.replace(data={"columns": tuple(meta["columns"])}) if cfg.data.csv else cfg, trained=True)
    check_same_data(data, meta, "the checkpoint", run_dir / META)
    if calibrate_intervals:  # the model's errors on its validation windows, as at the end of training
        intervals = calibrate(model, split_windows(data, cfg, dev, "val"), cfg.train.eval_batch_size,
                              cfg.train.interval_levels)
        missing = intervals.missing(cfg.train.interval_levels)
        if levels is not None and missing:  # asked for by name: all of them, or the run stays as it is
            raise DataError(f"{run_dir}: {missing}; nothing written")
    else:
        intervals = saved_intervals(meta, tensors, cfg, run_dir)
    test_set = split_windows(data, cfg, dev, "test")
    scores = None if test_set is None else test_scores(model, test_set, cfg, data, intervals)
    if calibrate_intervals:
        recalibrated(run_dir, meta, intervals, cfg, scores,
                     [text for text in (missing, "" if scores is not None else untested(intervals)) if text])
        log(f"prediction intervals calibrated on {intervals.windows} validation windows, levels "
            f"{', '.join(map(str, intervals.levels)) or 'none'}: {run_dir / TENSORS}")
        if missing:
            log(f"note: {missing}")
    if scores is None:
        if calibrate_intervals:
            return None
        raise DataError(f"{data.source}: the run has no test split (test_fraction 0)")
    log(result_block(f"{model.display_name}_H{cfg.model.horizon}", scores))
    return scores


def untested(intervals: Intervals) -> str:
    """The note on the intervals of a run without a test split."""
    return (f"prediction intervals calibrated on {intervals.windows} validation windows; with no test split, nothing "
            "measures how often they hold")


def recalibrated(run_dir: Path, meta: dict[str, Any], intervals: Intervals, cfg: RunConfig,
                 scores: dict[str, Any] | None, notes: list[str]) -> None:
    """Save a run's new intervals: intervals.safetensors, and checkpoint.json and metrics.json
    naming their levels (in the run's settings too), with the test coverage `scores` measured
    (None: no test split), all written together."""
    asked = list(cfg.train.interval_levels)
    meta = {**meta, "intervals": intervals.meta(),
            "config": {**meta["config"], "train": {**meta["config"]["train"], "interval_levels": asked}}}
    extra = []
    try:  # the record of the run, where it has one that reads
        metrics = json.loads((run_dir / METRICS).read_text())
        metrics["config"]["train"]["interval_levels"] = asked
    except (OSError, ValueError, KeyError, TypeError):
        metrics = None
    if isinstance(metrics, dict):
        metrics["intervals"] = {**intervals.meta(), "notes": notes,
                                "recalibrated": datetime.now().isoformat(timespec="seconds")}
        if isinstance(metrics.get("test"), dict) and scores is not None:
            metrics["test"]["intervals"] = scores.get("intervals", {})
            for key in NAIVE_KEYS:  # as scored now (a run from before them gets them too)
                if key in scores:
                    metrics["test"][key] = scores[key]
                else:  # (a naive run's own, or a cycle --season or the lookback no longer gives)
                    metrics["test"].pop(key, None)
        extra.append((run_dir / METRICS, json_text(metrics)))
    save_tensors(run_dir, meta, checkpoint_tensors(intervals), extra=extra)

