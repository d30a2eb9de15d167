"""Command line: `dynonet train | evaluate | predict | benchmark | bench speed`. Flags are derived from the config dataclasses."""

from __future__ import annotations

import argparse
import codecs
import dataclasses
import difflib
import errno
import itertools
import os
import shlex
import sys
from datetime import datetime
from pathlib import Path
from typing import AbstractSet, Any, Callable, NoReturn, Sequence

from dynonet import __version__
from dynonet.config import (DEFAULT_PRESET, DEVICES, PRESETS, SECTIONS, DataConfig, RunConfig, TrainConfig, field_types,
                            flag, override, preset, split_list)
from dynonet.errors import ConfigError, DynoNetError, OutputError, os_reason

LEVELS = ",".join(map(str, TrainConfig().interval_levels))  # the default interval levels, as typed


def path_arg(text: str) -> Path:
    """An argparse type: a path, not empty (an unset shell variable would name the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty path (an unset variable?)")
    return Path(text)


def choices_text(choices: Sequence[str]) -> str:
    """A flag's choices as help shows them: {a,b,c}, a '.' or ',' quoted so it can be told apart."""
    return "{" + ",".join(repr(c) if c in ".," else c for c in choices) + "}"


class DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Help that shows a default where it says something: not None or off, a list as it is typed."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_, default = action.help or "", action.default
        if default is None or default is False or default is argparse.SUPPRESS or "%(default)" in help_:
            return help_
        if isinstance(default, (list, tuple)):
            return f"{help_} (default: {','.join(map(str, default))})"
        return super()._get_help_string(action)


def comma_list(kind: Callable[[str], Any], minimum: int | None = None, maximum: int | None = None
               ) -> Callable[[str], list[Any]]:
    """An argparse type: a comma-separated list of `kind` (integers within [`minimum`, `maximum`])."""
    def parse(s: str) -> list[Any]:
        try:
            items = split_list(s)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        if not any(items):
            raise argparse.ArgumentTypeError("empty list")
        if "" in items:
            raise argparse.ArgumentTypeError(f"an empty entry in {s!r}")
        try:
            values = [kind(x) for x in items]
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid list {s!r}") from None
        if minimum is not None and (low := [v for v in values if v < minimum]):
            raise argparse.ArgumentTypeError(f"each must be >= {minimum} (got {low[0]})")
        if maximum is not None and (high := [v for v in values if v > maximum]):
            raise argparse.ArgumentTypeError(f"each must be <= {maximum} (got {high[0]})")
        return list(dict.fromkeys(values))
    return parse


def add_config_flags(parser: argparse.ArgumentParser, shown: str, hidden: AbstractSet[str] = frozenset()) -> None:
    """One flag per config field; a flag not given keeps the preset's value (its help shows the
    value in the preset named `shown`). Flags not given are absent from the parsed namespace.
    Fields in `hidden` ("data.csv") still parse, for a clear refusal, but are not in --help."""
    base = preset(shown)
    for section, cls in SECTIONS.items():
        group = parser.add_argument_group(f"{section} settings (override the preset)")
        types_ = field_types(cls)
        for f in dataclasses.fields(cls):
            meta = f.metadata
            if meta.get("cli") is False:
                continue
            tp, _ = types_[f.name]
            value = getattr(getattr(base, section), f.name)
            if isinstance(value, tuple):  # as it is typed
                value = ",".join(map(str, value)) or "none"
            kw: dict[str, Any] = {"dest": f"{section}.{f.name}", "default": argparse.SUPPRESS,
                                  "metavar": f.name.upper(),
                                  "help": f"{meta.get('help', '')} ({shown}: {value})".replace("%", "%%")}  # argparse formats help with %
            if (section, f.name) == ("model", "model"):  # the registry's names, which config.py cannot import
                from dynonet.registry import MODELS

                kw["metavar"] = "{" + ",".join(MODELS) + "}"
            if f"{section}.{f.name}" in hidden:
                kw["help"] = argparse.SUPPRESS
            if tp is bool:
                group.add_argument(flag(f.name), action=argparse.BooleanOptionalAction, **{k: v for k, v in kw.items() if k != "metavar"})
            elif tp == tuple[int, ...]:  # the range is the dataclass's to check, with its message
                group.add_argument(flag(f.name), type=comma_list(int), **kw)
            elif tp == tuple[str, ...]:
                group.add_argument(flag(f.name), type=names, **kw)
            else:
                if meta.get("choices"):  # shown as {a,b,c}, not as a bare name
                    kw["metavar"] = choices_text(meta["choices"])
                group.add_argument(flag(f.name), type=tp, choices=meta.get("choices"), **kw)


def names(text: str) -> tuple[str, ...]:
    """An argparse type: the names of a comma-separated list (`split_list`), empty entries dropped."""
    try:
        return tuple(x for x in split_list(text) if x)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The preset (`--preset`, default quickstart) with the config flags given applied; a
    --lookback below the preset's worker steps or controller patch caps them, unless given."""
    changes = flag_changes(args)
    refuse_ignored_flags(changes)
    return override(preset(args.preset or DEFAULT_PRESET), changes)


def unread_flags(args: argparse.Namespace, cfg: RunConfig) -> dict[str, str]:
    """The config flags given that the model `cfg` names does not read ("model.mixer": as given,
    `--no-mixer`); told, not refused: one set of flags for several models (a script's loop) is a
    fair use."""
    from dynonet.registry import MODELS

    unread = MODELS[cfg.model.model].unread_with(cfg.model) if cfg.model.model in MODELS else frozenset()
    return {f"{section}.{name}": flag(name) if value is not False else "--no-" + flag(name)[2:]
            for section, fields in flag_changes(args).items() for name, value in fields.items()
            if f"{section}.{name}" in unread}


def refuse_ignored_flags(changes: dict[str, dict[str, Any]]) -> None:
    """Flags that would have no effect are a ConfigError, not ignored without a word."""
    data = changes.get("data", {})
    if "csv" in data and "dataset" in data:
        raise ConfigError("--csv and --dataset both name the data to train on; give one")
    fractions = [flag(k) for k in ("test_fraction", "val_fraction") if k in data]
    if fractions and "csv" not in data and "max_rows" not in data:
        raise ConfigError(f"{' and '.join(fractions)}: the bundled datasets are split at the protocol's fixed "
                          "borders; the fractions apply to --csv data (or to the first --max-rows rows)")
    dates = [flag(k) for k in ("date_column", "date_format", "columns", "sep", "decimal") if k in data]
    if dates and "csv" not in data:
        raise ConfigError(f"{' and '.join(dates)}: the bundled datasets' files are read as they are; "
                          "these apply to --csv data")


def flag_changes(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The config flags given on the command line: `--epochs 1` -> {"train": {"epochs": 1}}.
    A CSV path is made absolute, so the checkpoint that records it works from any folder."""
    changes: dict[str, dict[str, Any]] = {}
    for key, value in vars(args).items():
        if "." in key:
            section, name = key.split(".", 1)
            absolute = key == "data.csv" and value.strip()  # (an empty name is refused by the config)
            changes.setdefault(section, {})[name] = str(Path(value).absolute()) if absolute else value
    return changes


def at_least(minimum: float, kind: type = int) -> Callable[[str], Any]:
    """An argparse type: a number of `kind` (int or float) no less than `minimum`, for the
    flags of commands that are not config fields (those are checked by their dataclass)."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value >= minimum:
            raise argparse.ArgumentTypeError(f"must be {'an integer' if kind is int else 'a number'} >= "
                                             f"{minimum:g} (got {text!r})")
        return value
    return parse


class Parser(argparse.ArgumentParser):
    """argparse with a one-line usage error (argparse prints the whole usage block first);
    subcommands' parsers are of the same class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def parse_args(self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
                   ) -> argparse.Namespace:  # type: ignore[override]
        """As argparse's, but an unknown flag points to the help of the command it was given to
        (`dynonet predict --help`), not the top level's."""
        known, extras = self.parse_known_args(args, namespace)
        if extras:
            command = [c for c in (getattr(known, "command", None), getattr(known, "bench_command", None)) if c]
            self.exit(2, f"{self.prog}: error: unrecognized arguments: {' '.join(extras)}"
                         f"{self._unknown_hint(command, extras)} (see {' '.join([self.prog, *command])} --help)\n")
        return known

    def _unknown_hint(self, command: list[str], extras: list[str]) -> str:
        """What the first unknown flag of `extras` may have meant: a setting a trained run keeps,
        or a flag of `command` spelt alike ("" if neither)."""
        parser: argparse.ArgumentParser = self
        for name in command:  # argparse keeps a command's parser only among its actions
            sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            parser = sub.choices[name]
        unknown = next((x.split("=")[0] for x in extras if x.startswith("--")), None)
        if unknown is None:
            return ""
        settings = {flag(f.name) for cls in SECTIONS.values() for f in dataclasses.fields(cls)
                    if f.metadata.get("cli") is not False}
        if command[:1] in (["predict"], ["evaluate"], ["backtest"]) and unknown in settings:
            return f"; {unknown} is a training setting, which a run keeps (`dynonet train {unknown} ...` trains another)"
        close = difflib.get_close_matches(unknown, [o for o in parser._option_string_actions if o.startswith("--")], 1,
                                        cutoff=0.75)  # (--level is not --device)
        return f"; did you mean {close[0]}?" if close else ""


def build_parser() -> argparse.ArgumentParser:
    """The `dynonet` argument parser with every subcommand."""
    parser = Parser(prog="dynonet", description="DynoNet: input-adaptive time-series forecasting")
    parser.add_argument("--version", action="version", version=f"dynonet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a model and score it on the test split")
    train.add_argument("--preset", default=None, choices=sorted(PRESETS),
                       help=f"named configuration (default: {DEFAULT_PRESET})")
    train.add_argument("--out", type=path_arg, default=None, help="run folder (default: runs/<preset>-<time>)")
    train.add_argument("--overwrite", action="store_true", help="allow writing into a non-empty --out")
    add_talk_flags(train, "the test results (overall and per channel) and the run folder",
                   "the parameters and every epoch")
    train.add_argument("--resume", action="store_true",
                       help="continue the interrupted run in --out from its last finished epoch "
                            "(its own settings unless the command gives some; they must match)")
    add_config_flags(train, DEFAULT_PRESET)

    from dynonet import benchmark  # imported here: benchmark imports this module's flag helpers

    benchmark.register(sub)  # set_defaults(func=...)

    ev = sub.add_parser("evaluate", help="re-score a saved run on its test split")
    ev.add_argument("--checkpoint", type=path_arg, required=True, help="run folder written by `dynonet train`")
    ev.add_argument("--device", default="auto", choices=DEVICES,
                    help="where to run the model (auto: CUDA when available)")
    ev.add_argument("--csv", type=path_arg, default=None,
                    help="the run's CSV where it is now, if it has moved since training (default: the path "
                         "recorded in checkpoint.json); its training rows must be the run's")
    ev.add_argument("--calibrate", action="store_true",
                    help="first calibrate the run's prediction intervals on its validation windows and save them in "
                         "the run folder (a run folder from before intervals gets them; a run without a test split "
                         "is calibrated only)")
    ev.add_argument("--interval-levels", type=comma_list(int), default=None, metavar="80,85,95",
                    help="with --calibrate: the levels (whole percents) to calibrate, which become the run's "
                         f"(default: the run's own, {LEVELS} unless it was trained with others)")

    pr = sub.add_parser("predict", help="forecast the steps after the last row of a CSV with a saved run")
    pr.add_argument("--checkpoint", type=path_arg, required=True, help="run folder written by `dynonet train`")
    pr.add_argument("--csv", type=path_arg, default=None,
                    help="recent data: the training CSV's series, at least `lookback` rows (wide, or long: "
                         "unique_id, ds, y, and then the forecast is written long too); - reads it from standard "
                         "input; default: the file the run was trained on, as it is now")
    pr.add_argument("--out", type=path_arg, required=True,
                    help="forecast CSV to write (original units); - writes it to standard output")
    pr.add_argument("--plot", type=path_arg, default=None,
                    help="also draw recent history + forecast to this image (.png, .pdf or .svg; PNG without a suffix)")
    pr.add_argument("--plot-series", default=None, action="extend", type=comma_list(str), metavar="load,temp",
                    help="the series --plot draws, comma-separated (or the flag given again), in this order "
                         "(default: the first 8)")
    pr.add_argument("--actual", type=path_arg, default=None,
                    help="CSV with the true values of the forecast period: drawn on the plot and scored per series "
                         "(a blank cell, or a series the file lacks, goes unscored)")
    pr.add_argument("--level", default=[], action="extend", type=_levels, metavar="80,95",
                    help="prediction intervals at these levels (percent), of those the run calibrated on its validation "
                         f"windows (`dynonet train --interval-levels`; {LEVELS} unless set): columns NAME-lo-95, NAME-lo-80, NAME-hi-80, NAME-hi-95 after each "
                         "series")
    pr.add_argument("--device", default="auto", choices=DEVICES,
                    help="where to run the model (auto: CUDA when available)")
    pr.add_argument("--decimals", type=at_least(0), default=None, metavar="N",
                    help="write the forecast and its bounds rounded to N decimals (default: every digit)")
    add_dialect_flags(pr, "of --csv and --actual, if not the training CSV's; the forecast is written with it too")
    add_talk_flags(pr, "the scores against --actual, if given, and notes on the data, which go to standard error",
                   "what was read and written")

    bt = sub.add_parser("backtest", help="forecast from many cutoffs of a CSV with a saved run, beside the true "
                        "values, and score them")
    bt.add_argument("--checkpoint", type=path_arg, required=True, help="run folder written by `dynonet train`")
    bt.add_argument("--csv", type=path_arg, default=None,
                    help="data of the run's series (wide or long), evenly spaced at its step, every row a number; "
                         "rows after those the run trained and validated on score it fairly (it says how many "
                         "forecasts reach into those); - reads it from standard input; default: the file the run "
                         "was trained on, as it is now")
    bt.add_argument("--out", type=path_arg, default=None,
                    help="long CSV to write: unique_id, ds, cutoff, the forecast, its bounds, the naive forecasts "
                         "(RepeatLast, SeasonalRepeat), y (the true value); - writes it to standard output "
                         "(default: none, the scores are printed alone)")
    bt.add_argument("--plot", type=path_arg, default=None,
                    help="also draw each series' true values, the forecast from every cutoff (with its intervals "
                         "at --level) and the seasonal naive (or naive) forecast to this image (.png, .pdf or .svg; "
                         "PNG without a suffix)")
    bt.add_argument("--plot-series", default=None, action="extend", type=comma_list(str), metavar="load,temp",
                    help="the series --plot draws, comma-separated (or the flag given again), in this order "
                         "(default: the first 8)")
    bt.add_argument("--step", type=at_least(1), default=None,
                    help="rows between cutoffs (default: the run's horizon, so the forecast periods tile the data)")
    bt.add_argument("--level", default=[], action="extend", type=_levels, metavar="80,95",
                    help="prediction intervals at these levels (percent), of those the run calibrated; how often "
                         "they held is printed")
    bt.add_argument("--device", default="auto", choices=DEVICES,
                    help="where to run the model (auto: CUDA when available)")
    bt.add_argument("--decimals", type=at_least(0), default=None, metavar="N",
                    help="write every number of the backtest rounded to N decimals (default: every digit)")
    add_dialect_flags(bt, "of --csv, if not the training CSV's; the backtest is written with it too")
    add_talk_flags(bt, "the scores, and notes on the data, which go to standard error", "what was read and written")

    cmp = sub.add_parser("compare", help="finished runs on the same data side by side, ordered by validation MSE",
                         description="The test and validation scores of finished runs (their metrics.json) that "
                                     "scored the same windows: the same data, horizon and splits (lookbacks may "
                                     "differ), with the naive forecasts' on those windows. Ordered by validation "
                                     "MSE, which marks the run to choose; the test scores estimate how that choice "
                                     "does on data no choice saw. Runs whose settings differ in their seed alone "
                                     "are also summarized: mean +- std over their seeds.")
    cmp.add_argument("runs", type=path_arg, nargs="+", metavar="RUN", help="run folders written by `dynonet train`")
    cmp.add_argument("--json", action="store_true",
                     help="print the comparison as JSON, for a script: runs (ordered by validation MSE), chosen, "
                          "naive, by_settings (mean and std over seeds), by_settings_chosen")

    from dynonet import speed  # imported here: speed imports this module's flag helpers

    speed.register(sub)
    return parser


def add_talk_flags(parser: argparse.ArgumentParser, quiet: str, verbose: str) -> None:
    """--quiet (print only `quiet`; the default when output is not a terminal) and --verbose
    (also `verbose`, even then), one or the other."""
    talk = parser.add_mutually_exclusive_group()
    talk.add_argument("--quiet", action="store_true",
                      help=f"print only {quiet} (the default when output is not a terminal)")
    talk.add_argument("--verbose", action="store_true",
                      help=f"print {verbose} even when output is not a terminal (a pipe, a log file)")


def _is_quiet(args: argparse.Namespace, stream: Any) -> bool:
    """--quiet, or output to `stream` that is not a terminal (a pipe, a log file, closed) and no --verbose."""
    return args.quiet or not (args.verbose or (stream is not None and stream.isatty()))


def _command_talk(args: argparse.Namespace) -> dict[str, Callable[[str], None]]:
    """The `log`, `info` and `note` of `predict_csv` and `backtest_csv` for a command line:
    results on standard output (standard error when the CSV goes there), what was read and
    written too unless quiet, notes on standard error (`dynonet: note: ...`) in any mode."""
    stream = sys.stderr if str(args.out) == "-" else sys.stdout  # stdout then holds the CSV alone

    def log(s: str) -> None:
        print(s, file=stream, flush=True)  # in order with the notes, where both streams go to one file

    def note(s: str) -> None:
        print(f"dynonet: note: {s}", file=sys.stderr, flush=True)

    return {"log": log, "info": (lambda s: None) if _is_quiet(args, stream) else log, "note": note}


def add_dialect_flags(parser: argparse.ArgumentParser, says: str) -> None:
    """The reading flags (`PREDICT_DIALECT`) of a command that reads a CSV with a trained run's
    settings; each flag's help is its meaning and then `says`. Checked as when training
    (`DataConfig`)."""
    for name, what in PREDICT_DIALECT.items():
        choices = DataConfig.__dataclass_fields__[name].metadata.get("choices")
        parser.add_argument(flag(name), dest=name, default=None, choices=choices,
                            metavar=choices_text(choices) if choices else None,
                            help=f"{what} {says}".replace("%", "%%"))


def cmd_train(args: argparse.Namespace) -> int:
    """`dynonet train`: one run into its folder."""
    from dynonet.runner import train_run

    if args.resume and args.out is None:
        raise ConfigError("--resume needs --out: the run folder of the interrupted run")
    if args.resume and args.overwrite:
        raise ConfigError("--resume continues the run in --out and --overwrite starts it over; give one")
    if str(args.out) == "-":
        raise ConfigError("--out -: a run is a folder of files; give the folder a name")
    # Resuming: a --preset is compared whole with the run's settings, flags alone one by one.
    resumed_with_flags = args.resume and args.preset is None
    cfg = None if resumed_with_flags else config_from_args(args)
    if cfg is not None and (unread := unread_flags(args, cfg)):
        from dynonet.registry import unread_notes

        for note in unread_notes(cfg.model, unread):
            print(f"dynonet: note: {note}", file=sys.stderr)
    made = []  # the folders made here for the default run folder: removed again if the run leaves them empty
    out = args.out or _default_run_folder(args.preset or DEFAULT_PRESET, made)
    args.out = out  # the folder a Ctrl-C hint names
    quiet = _is_quiet(args, sys.stdout)
    log = (lambda s: None) if quiet else (lambda s: print(s, flush=True))
    # a CSV's training windows choose the batch size unless --batch-size is given (the preset's, or fewer)
    given = flag_changes(args)
    choose_batch = (not args.resume and cfg is not None and cfg.data.csv is not None
                    and "batch_size" not in given.get("train", {}))
    try:
        metrics = train_run(cfg, out, log=log, progress=not quiet, overwrite=args.overwrite, resume=args.resume,
                            flags=given if args.resume else None, argv=args.argv, choose_batch=choose_batch)
    except BaseException:  # bad data, an interruption before the first epoch: no empty run folder left behind
        for folder in made:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    if quiet:
        from dynonet.report import batch_size_line, result_block

        if metrics["resumed_after_epoch"] is not None:  # what the run printed before it stopped is gone
            print(f"dynonet: resumed after epoch {metrics['resumed_after_epoch']}", file=sys.stderr)
        for note in metrics["notes"]:  # about the data, so shown in any mode
            print(f"dynonet: note: {note}", file=sys.stderr)
        if metrics["batch_size_chosen"] and metrics["params"]["total"]:  # chosen by the run, not the user: say so
            print(f"dynonet: {batch_size_line(metrics['config']['train']['batch_size'], metrics['windows']['train'])}",
                  file=sys.stderr)
        if metrics["test"] is not None:
            print(result_block(metrics["name"], metrics["test"]))
        elif metrics["best_val_mse"] is not None:  # fit on every row: the one score there is
            print(f"{metrics['name']}: no test split (test fraction 0); validation MSE {metrics['best_val_mse']:.4f} "
                  f"at the epoch kept ({metrics['best_epoch']})")
        print(f"run folder: {out}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """`dynonet compare`: finished runs side by side."""
    from dynonet.compare import compare

    print(compare(args.runs, as_json=args.json))
    return 0


def _default_run_folder(name: str, made: list[Path]) -> Path:
    """runs/NAME-DATE-TIME, made at once, so that a run started in the same second (a shell
    loop of `&` jobs) takes the next name, with -2, -3, ... after it; `made` gets the folders
    made, deepest first. One that cannot be made is returned for the run's own checks to refuse."""
    base = Path("runs") / f"{name}-{datetime.now():%Y%m%d-%H%M%S}"
    for n in itertools.count(1):
        folder = base if n == 1 else base.with_name(f"{base.name}-{n}")
        missing = [f for f in (folder, *folder.parents) if not f.exists()]
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            continue
        except OSError:
            return folder
        made += missing
        break
    return folder


def cmd_evaluate(args: argparse.Namespace) -> int:
    """`dynonet evaluate`: re-score a saved run on its test split."""
    from dynonet.runner import evaluate_run

    evaluate_run(args.checkpoint, device=args.device, csv=args.csv, log=print, calibrate_intervals=args.calibrate,
                 levels=args.interval_levels)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """`dynonet predict`: forecast from a CSV with a saved run."""
    from dynonet.predict import predict_csv

    dialect = {name: getattr(args, name) for name in PREDICT_DIALECT if getattr(args, name) is not None}
    predict_csv(args.checkpoint, args.csv, args.out, plot=args.plot, actual=args.actual, device=args.device,
                dialect=dialect, levels=tuple(args.level), plot_series=args.plot_series, decimals=args.decimals,
                **_command_talk(args))
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    """`dynonet backtest`: forecasts from many cutoffs of a CSV with a saved run, scored."""
    from dynonet.predict import backtest_csv

    dialect = {name: getattr(args, name) for name in PREDICT_DIALECT if getattr(args, name) is not None}
    backtest_csv(args.checkpoint, args.csv, args.out, step=args.step, device=args.device, dialect=dialect,
                 levels=tuple(args.level), plot=args.plot, plot_series=args.plot_series, decimals=args.decimals,
                 **_command_talk(args))
    return 0


def _levels(text: str) -> tuple[int, ...]:
    """--level 80,95 -> (80, 95)."""
    from dynonet.intervals import parse_levels

    try:
        return parse_levels(text, "--level 80,95")
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


# the reading settings `predict` takes for its recent data, when not written as the training CSV
PREDICT_DIALECT = {"sep": "the field separator", "decimal": "the decimal mark",
                   "date_format": "how the dates are written (strftime codes, e.g. %d/%m/%Y; %s: Unix seconds)"}

# what the system fails at, whatever the input: no space, over quota, an I/O error
SYSTEM_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO})


def main(argv: Sequence[str] | None = None) -> int:
    """The `dynonet` command: returns the exit status (2 with a one-line error for bad input, 1
    with one for a file the system failed to read or write)."""
    errors = _standard_streams()
    try:
        return _main(argv)
    finally:  # a program that calls main() gets its standard output back as it was
        if errors is not None and hasattr(sys.stdout, "reconfigure"):
            sys.stdout.reconfigure(errors=errors)


def _main(argv: Sequence[str] | None) -> int:
    """`main`, its standard streams made ready."""
    args = build_parser().parse_args(argv)
    args.argv = ["dynonet", *(sys.argv[1:] if argv is None else argv)]  # for metrics.json
    from dynonet.runtime import keep_freed_memory

    keep_freed_memory()  # this process only; see runtime.py
    stdout = sys.stdout
    if stdout is not None:
        sys.stdout = _StandardOutput(stdout)
    try:
        commands = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "backtest": cmd_backtest,
                    "compare": cmd_compare}
        status = (commands.get(args.command) or args.func)(args)  # benchmark, bench speed: set_defaults(func=...)
        if sys.stdout is not None:
            sys.stdout.flush()  # a failed write to standard output (a full disk) is told here, not at exit
        return status
    except DynoNetError as e:
        print(f"dynonet: error: {e}", file=sys.stderr)
        # 2: the input was bad; 1: the system failed a read or write (a full disk, an I/O error)
        failed = isinstance(e.__context__, OSError) and e.__context__.errno in SYSTEM_FAILURES
        return 1 if failed else 2
    except KeyboardInterrupt:
        print(f"dynonet: interrupted{_resume_hint(args)}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`| head`): stop quietly, as Unix tools do, with
        # the status of a SIGPIPE (128 + 13); what is left to flush at exit goes nowhere.
        _discard_stdout()
        return 141
    except OSError as e:  # the system refused a file that the readers and writers above do not name
        if e.filename is None:
            raise  # not a file's: a bug or a broken install, whose traceback is wanted
        print(f"dynonet: error: {e.filename2 or e.filename}: {os_reason(e)}", file=sys.stderr)
        return 1
    finally:
        if isinstance(sys.stdout, _StandardOutput):
            sys.stdout = stdout


def _escape(error: UnicodeEncodeError) -> tuple[str | bytes, int]:
    """An encoding error handler: a name read from the system as bytes (surrogate-escaped, as
    Python reads file names in a non-UTF-8 locale) is written back as those bytes, other text
    the encoding cannot write as backslash escapes (`Temp\\xe9rature`)."""
    text = error.object[error.start:error.end]
    if all(0xDC80 <= ord(c) <= 0xDCFF for c in text):
        return bytes(ord(c) - 0xDC00 for c in text), error.end
    return codecs.backslashreplace_errors(error)


codecs.register_error("dynonet-escape", _escape)


def _standard_streams() -> str | None:
    """Standard streams as a script may leave them. A closed one (`>&-`, `2>&-`) gets the null
    device as its descriptor, so that no file this process opens takes it; closed standard
    error is then written there, not to standard output (print's fallback, which would put
    messages into a forecast written there); closed standard output stays None (print
    writes nothing; `--out -` is refused). Text that standard output's encoding cannot write
    (a series named in a non-UTF-8 locale) is escaped (`_escape`), not an error after the work
    is done. Returns standard output's error handler before, for `main` to restore (None: unchanged)."""
    for fd, name in ((1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is None:
            try:
                os.fstat(fd)
            except OSError:  # closed: the null device in its place
                null = os.open(os.devnull, os.O_WRONLY)
                if null != fd:
                    os.dup2(null, fd)
                    os.close(null)
    if sys.stderr is None:
        sys.stderr = open(2, "w", closefd=False, errors="dynonet-escape")
    if hasattr(sys.stdout, "reconfigure") and (sys.stdout.encoding or "").lower().replace("-", "") != "utf8":
        before = sys.stdout.errors
        sys.stdout.reconfigure(errors="dynonet-escape")
        return before
    return None


class _StandardOutput:
    """Standard output while a command runs: a write the system fails (a full disk) is an
    OutputError naming it, and what is left to flush is dropped, so that exit does not fail
    again. A reader that left (BrokenPipeError) is `main`'s to handle."""

    def __init__(self, stream: Any):
        self.stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def _written(self, method: Callable[..., Any], *args: Any) -> Any:
        try:
            return method(*args)
        except BrokenPipeError:
            raise
        except OSError as e:
            _discard_stdout(self.stream)
            raise OutputError(f"standard output: cannot write there ({os_reason(e)})") from e

    def write(self, text: str) -> int:
        return self._written(self.stream.write, text)

    def writelines(self, lines: Any) -> None:
        self._written(self.stream.writelines, lines)

    def flush(self) -> None:
        self._written(self.stream.flush)


def _discard_stdout(stream: Any = None) -> None:
    """What is left to flush to standard output (`stream`, default sys.stdout) at exit goes
    nowhere (its reader left, or it cannot be written), so that exit neither fails again nor
    prints a traceback."""
    try:
        fd = (stream or sys.stdout).fileno()
    except (AttributeError, OSError, ValueError):  # no file behind sys.stdout: nothing to flush
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    except OSError:
        pass
    finally:
        os.close(null)


def _resume_hint(args: argparse.Namespace) -> str:
    """How to continue what was interrupted, where something can be continued."""
    from dynonet.checkpoint import STATE_FILE

    out = getattr(args, "out", None)
    if args.command == "train" and out is not None and (Path(out) / STATE_FILE).exists():
        return f"; `dynonet train --out {shlex.quote(str(out))} --resume` continues after the last finished epoch"
    if args.command == "benchmark" and not getattr(args, "merge", None):
        again = shlex.join([*args.argv, *(["--resume"] if "--resume" not in args.argv else [])])
        kept = " and continues the interrupted one" if getattr(args, "keep_runs", None) else ""
        return f"; `{again}` skips the runs already recorded{kept}"
    return ""


if __name__ == "__main__":
    sys.exit(main())
