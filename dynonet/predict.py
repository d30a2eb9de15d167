"""The `dynonet predict` command: a saved run, a CSV of recent rows -> the forecast CSV;
and `dynonet backtest`: a saved run, a CSV -> forecasts from many cutoffs beside the truth.

Every input is checked and the plot drawn before anything is written; the forecast CSV and
the plot are then written together (`files.write_together`: both or neither), or the CSV
goes to standard output (`--out -`). Outputs may be files, links to files, or pipes and
devices (written into, never replaced), and never a file this command reads or a run file.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from dynonet.checkpoint import meta_config, read_meta
from dynonet.config import DataConfig, flag
from dynonet.files import check_writable, is_stream, write_together
from dynonet.dates import date_cells, date_text
from dynonet.errors import ConfigError, DataError, OutputError, names_text, os_reason
from dynonet.forecaster import DynoNetForecaster
from dynonet.intervals import calibrate_hint
from dynonet.registry import naive_named
from dynonet.report import aligned, naive_lines, score_text
from dynonet.runtime import Log, quiet, resolve_device
from dynonet.tables import LONG, STDIN, Reading, Table, header_names, read_csv, read_stdin, read_table


# names of other formats, whose programs would not read the CSV text written under them
NOT_CSV = frozenset({".xlsx", ".xls", ".xlsm", ".xlsb", ".ods", ".parquet", ".json", ".feather", ".pkl", ".pickle",
                     ".gz", ".bz2", ".xz", ".zip", ".png", ".pdf", ".svg"})  # (images: --plot's)


def _write_stdout(text: str) -> None:
    """The forecast CSV to standard output as the same UTF-8 bytes a file gets (whatever the
    terminal's encoding or the platform's newline translation)."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a text-only stream (a test's capture)
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    sys.stdout.flush()
    buffer.write(text.encode())
    buffer.flush()


def _to_stdout(text: str) -> None:
    """`_write_stdout`, a failure of the system an OutputError (the reader leaving is not)."""
    try:
        _write_stdout(text)
    except BrokenPipeError:
        raise  # the reader left (`| head`): the command line stops quietly
    except OSError as e:
        raise OutputError(f"standard output: cannot write there ({os_reason(e)})") from None


def training_csv(checkpoint: str | Path, instead: str) -> Path:
    """The file a run was trained on (`runner.training_file`), which `dynonet predict` and
    `dynonet backtest` read when given no --csv; `instead`: what to give where there is none."""
    from dynonet.runner import training_file

    meta = read_meta(checkpoint)
    return training_file(checkpoint, meta_config(meta, checkpoint), meta, instead)


def predict_csv(checkpoint: str | Path, csv: str | Path | None, out: str | Path, *, plot: str | Path | None = None,
                actual: str | Path | None = None, device: str = "auto", log: Log = quiet,
                dialect: dict[str, str] | None = None, levels: Sequence[int] = (),
                plot_series: Sequence[str] | None = None, info: Log | None = None,
                note: Log | None = None, decimals: int | None = None) -> pd.DataFrame:
    """Forecast after the last row of `csv` (None: the run's training file, `training_csv`)
    with a run folder; write the forecast CSV (and a plot) atomically. Every input is checked,
    and the plot drawn, before anything is written; then both files are written out in full
    before either takes its name (`write_together`).
    `out="-"` writes the CSV to standard output instead, after the plot file. `dialect`: how
    `csv` and `actual` are written where not as the training data (`sep`, `decimal`,
    `date_format`); the forecast is written the same way. `levels`: prediction intervals at these
    levels (percent), written beside each series and drawn on the plot. `plot_series`: the
    series the plot draws, in this order (default: the first `plots.MAX_FORECAST_SERIES`).
    `log` gets the scores against `actual`; `info` (default: `log`) what was read and written;
    `note` (default: `log`, as "note: ...") what the data leaves out. `decimals`: the numbers
    are written rounded to this many decimals (default: every digit)."""
    from dynonet import plots

    info, note = _talk(log, info, note)
    float_format = _float_format(decimals)
    _check_plot(plot, plot_series)
    if actual is not None and str(actual) == "-":
        raise ConfigError("--actual -: the true values are read from a file (standard input serves --csv -)")
    csv_flag = "--csv" if csv is not None else "training"  # how an output that is the input is told
    if csv is None:
        csv = training_csv(checkpoint, "give its recent rows with --csv")
        info(f"recent data: {csv} (the file the run was trained on, as it is now)")
    to_stdout = _check_outputs(out, [Path(plot)] if plot is not None else [], checkpoint,
                               {csv_flag: csv, **({"--actual": actual} if actual is not None else {})})
    out = Path(out)
    image_format = _plot_format(Path(plot)) if plot is not None else None
    forecaster = DynoNetForecaster.load(checkpoint, device=str(resolve_device(device)))  # errors name --device
    levels = forecaster._levels(levels, calibrate_hint(str(checkpoint)))
    if plot_series is not None:
        plot_series = _series(plot_series, forecaster.columns_)
    d, reading, recent = _read(forecaster, csv, dialect or {}, used=forecaster.config.model.lookback)
    if unread := forecaster._unread_note(recent, _named(csv)):
        note(unread)
    date_column = d.date_column
    dates, columns, values, ids = recent.dates, recent.columns, recent.values, recent.ids
    # dates are written as given or as the file settles them (13/01/2023: day first), or as the
    # recent file writes its own ('2014-01', not '2014-01-01')
    fmt = recent.date_format or recent.written
    # a long file's rows are not the pivoted table's: then rows are named by their dates
    forecast = forecaster._forecast_rows(dates, columns, values, _named(csv),
                                         first_line=recent.lines if ids is None else None,
                                         date_format=fmt, long=ids is not None)
    truth = None
    if actual is not None:
        truth = _actual(actual, dataclasses.replace(reading, used=None, blanks=True), forecaster.columns_,
                        forecast.index, note)
    # written as the input is: its dates (ISO 8601 unless --date-format says otherwise), field
    # separator and decimal mark, and long input gets long output
    bands = forecaster._bands(forecast, levels)
    framed = forecaster._framed(forecast, bands, ids)
    if ids is None:
        table = framed.set_axis(date_cells(forecast.index, fmt)).to_csv(index_label=date_column, sep=d.sep,
                                                                        decimal=d.decimal,
                                                                        float_format=float_format)
    else:
        table = framed.assign(ds=date_cells(pd.DatetimeIndex(framed["ds"]), fmt)).to_csv(
            index=False, sep=d.sep, decimal=d.decimal, float_format=float_format)
    files = [] if to_stdout else [(out, _encoded(table, csv))]
    if plot is not None:
        history = pd.DataFrame(values[:, [columns.index(c) for c in forecaster.columns_]], index=dates,
                               columns=forecaster.columns_)
        m = forecaster.config.model
        image = plots.forecast_plot(history.iloc[-max(m.lookback, 2 * m.horizon):], forecast, truth,
                                    f"{m.model} forecast, H={m.horizon}, from {Path(_named(csv)).name}", image_format,
                                    series=plot_series, bands=bands)
        files.append((Path(plot), image))
    write_together(files)
    if to_stdout:
        _to_stdout(table)
    # its first and last dates as the CSV writes them (daily dates without a time of day)
    first, last = (date_text(d, fmt) for d in forecast.index[[0, -1]]) if fmt else forecast.index.astype(str)[[0, -1]]
    info(f"forecast: {len(forecast)} steps x {forecast.shape[1]} series, {first} .. {last} -> "
        f"{'standard output' if to_stdout else out}")
    if plot is not None:
        info(_plot_line(plot, plot_series, len(forecast.columns)))
    if truth is not None:
        err = forecast.loc[truth.index] - truth  # (steps, series)
        # each series in its own units: a mean over series would mix them
        known = err.notna().sum()  # steps with a true value, per series
        # how many known values each interval held, of how many ("5/7": a count, where other tables give shares)
        held = {p: ((lo.loc[truth.index] <= truth) & (truth <= hi.loc[truth.index])).sum()
                for p, (lo, hi) in bands.items()}
        rows = [[str(c), str(int(known[c])), score_text(None if not known[c] else err[c].abs().mean()),
                 score_text(None if not known[c] else err[c].pow(2).mean()),
                 *(f"{int(held[p][c])}/{int(known[c])}" for p in held)] for c in err.columns]
        log("\n".join([f"vs {actual}: {len(truth)} of {len(forecast)} steps, in each series' units",
                       *aligned(["series", "steps", "MAE", "MSE", *(f"in {p}%" for p in held)], rows)]))
    return forecast


def backtest_csv(checkpoint: str | Path, csv: str | Path | None, out: str | Path | None, *, step: int | None = None,
                 device: str = "auto", log: Log = quiet, dialect: dict[str, str] | None = None,
                 levels: Sequence[int] = (), plot: str | Path | None = None,
                 plot_series: Sequence[str] | None = None, info: Log | None = None,
                 note: Log | None = None, decimals: int | None = None) -> pd.DataFrame:
    """`DynoNetForecaster.backtest` of a CSV (None: the run's training file, `training_csv`)
    with a run folder: the long table of forecasts from every `step`-th row (default: the
    horizon) beside the true values and the naive forecasts, written to `out` (a CSV,
    atomically; "-": standard output; None: not written) as the CSV is written (`dialect` as
    in `predict_csv`), and drawn to `plot` (the `plot_series`, as `predict_csv` takes them,
    with the intervals at `levels`), both, either or neither; the
    log gets each series' errors in its own units, the errors standardized as the run's test
    scores are (the naive forecasts' beside them), and how often each interval at `levels` held;
    `info`, `note` and `decimals` as `predict_csv` takes them."""
    from dynonet import plots

    info, note = _talk(log, info, note)
    float_format = _float_format(decimals)
    _check_plot(plot, plot_series)
    csv_flag = "--csv" if csv is not None else "training"  # how an output that is the input is told
    if csv is None:
        csv = training_csv(checkpoint, "give the data to backtest with --csv")
        info(f"data: {csv} (the file the run was trained on, as it is now)")
    to_stdout = _check_outputs(out, [Path(plot)] if plot is not None else [], checkpoint, {csv_flag: csv},
                               what="the backtest")
    image_format = _plot_format(Path(plot)) if plot is not None else None
    forecaster = DynoNetForecaster.load(checkpoint, device=str(resolve_device(device)))  # errors name --device
    levels = forecaster._levels(levels, calibrate_hint(str(checkpoint)))
    if plot_series is not None:
        plot_series = _series(plot_series, forecaster.columns_)
    d, _, table = _read(forecaster, csv, dialect or {}, used=None)
    if unread := forecaster._unread_note(table, _named(csv)):
        note(unread)
    m = forecaster.config.model
    fmt = table.date_format or table.written  # as the forecast's (`predict`)
    backtest = forecaster._backtest_rows(table.dates, table.columns, table.values, _named(csv),
                                         table.lines if table.ids is None else None,
                                         m.horizon if step is None else step, levels, table.ids, fmt, naive=True)
    cells = backtest.assign(ds=date_cells(pd.DatetimeIndex(backtest["ds"]), fmt),
                            cutoff=date_cells(pd.DatetimeIndex(backtest["cutoff"]), fmt))
    text = None if out is None else cells.to_csv(index=False, sep=d.sep, decimal=d.decimal,
                                                 float_format=float_format)
    files = [] if to_stdout or text is None else [(Path(out), _encoded(text, csv))]
    if plot is not None:  # the model's forecasts, and the seasonal naive's (or else the naive's)
        naive = [(column, key.replace("_", " ")) for key, (column, _) in forecaster._naive_columns().items()]
        named = {c: str(table.ids[c]) if table.ids is not None else c for c in forecaster.columns_}  # as unique_id
        truth = pd.DataFrame(table.values[:, [table.columns.index(c) for c in named]], index=table.dates,
                             columns=list(named.values()))  # the data: every date, also those no period covers
        files.append((Path(plot), plots.backtest_plot(
            backtest, truth, type(forecaster.model_).__name__,
            f"{m.model} backtest, H={m.horizon}, on {Path(_named(csv)).name}", image_format,
            series=None if plot_series is None else [named[c] for c in plot_series],
            naive=naive[-1] if naive else None, levels=levels)))
    write_together(files)
    if to_stdout:
        _to_stdout(text)
    scores = forecaster.scores(backtest)  # (series, figures)
    standardized = _standardized(scores)
    for key, (column, naive_cfg) in forecaster._naive_columns().items():  # from the same cutoffs
        standardized[key] = {**_standardized(forecaster.scores(backtest, model=column)), **naive_named(naive_cfg)}
    cutoffs = pd.DatetimeIndex(backtest["cutoff"].unique())
    rows = [[str(series), str(int(row["forecasts"])), score_text(row["MAE"]), score_text(row["MSE"]),
             *(f"{row[f'coverage_{p}']:.3f}" for p in levels)] for series, row in scores.iterrows()]
    first, last = cutoffs[[0, -1]].astype(str) if fmt is None else cells["cutoff"].iloc[[0, -1]]  # as written
    n, every = len(cutoffs), m.horizon if step is None else step
    log("\n".join([
        f"backtest: {n} forecast{'s' * (n != 1)} of {m.horizon} steps, cutoffs {first} .. {last} (every "
        f"{every} row{'s' * (every != 1)})" + ("" if out is None else f" -> {'standard output' if to_stdout else out}"),
        *aligned(["series", "forecasts", "MAE", "MSE", *(f"in {p}%" for p in levels)], rows),
        f"standardized by the run's training statistics (as a run's test scores are): MSE "
        f"{score_text(standardized['mse'])}, MAE {score_text(standardized['mae'])}",
        *naive_lines(standardized, "same cutoffs, standardized alike"),
        *([seen] if (seen := forecaster._seen_note(backtest, fmt)) else [])]))
    if plot is not None:
        info(_plot_line(plot, plot_series, len(forecaster.columns_)))
    return backtest


def _talk(log: Log, info: Log | None, note: Log | None) -> tuple[Log, Log]:
    """`info` and `note` as `predict_csv` takes them, the defaults filled in."""
    return (log if info is None else info), ((lambda s: log(f"note: {s}")) if note is None else note)


def _standardized(scores: pd.DataFrame) -> dict[str, Any]:
    """A backtest's standardized errors (`DynoNetForecaster.scores`) as a run's test scores
    are kept: `mse`, `mae` and `per_channel`. Every series has a row at every cutoff and step,
    so the mean of the series' means is the whole table's."""
    return {"mse": scores["scaled_MSE"].mean(), "mae": scores["scaled_MAE"].mean(),
            "per_channel": {str(series): {"mse": row["scaled_MSE"], "mae": row["scaled_MAE"]}
                            for series, row in scores.iterrows()}}


def _check_outputs(out: str | Path | None, others: list[Path], checkpoint: str | Path,
                   inputs: dict[str, str | Path], what: str = "the forecast") -> bool:
    """Check the CSV `out` of `what` ("-": standard output, then returns True; None: none) and the `others`
    files a command writes, before it reads anything: each writable, none a file it reads
    (`inputs`, flag -> path) nor a file of the run folder, `out` named as a CSV."""
    from dynonet.runner import RUN_FILES

    to_stdout = str(out) == "-"
    if to_stdout and sys.stdout is None:
        raise OutputError("--out -: standard output is closed; give a file name")
    out = None if out is None else Path(out)
    targets = ([] if to_stdout or out is None else [out]) + others
    for target in targets:
        check_writable(target)
    if others and out is not None and not to_stdout and others[0].resolve() == out.resolve():
        raise OutputError(f"{out}: --plot and --out name the same file")
    # an output never replaces what this command reads, nor a file of the run
    read = {Path(path).resolve(): name for name, path in inputs.items()}
    run_folder = Path(checkpoint).resolve()
    for target in targets:
        where = target.resolve()
        if where in read:
            raise OutputError(f"{target}: is the {read[where]} file this command reads; give another name")
        if where.parent == run_folder and where.name in RUN_FILES:
            raise OutputError(f"{target}: is a file of the run folder {checkpoint}; give another name")
    if out is not None and not to_stdout and out.suffix.lower() in NOT_CSV:  # CSV text under such a name would not open
        raise OutputError(f"{out}: {what} is written as CSV; give a name ending in .csv (not {out.suffix})")
    return to_stdout


def _read(forecaster: DynoNetForecaster, csv: str | Path, dialect: dict[str, str], used: int | None
          ) -> tuple[DataConfig, Reading, Table]:
    """A CSV of the run's series, read with the run's settings but for `dialect` (`sep`,
    `decimal`, `date_format` as given to this command), `used` last rows of it as numbers
    (None: all): the settings it was read with, and the table."""
    run = forecaster.config.data
    for name, other, runs in (("sep", "decimal", "decimal mark"), ("decimal", "sep", "field separator")):
        if name in dialect and other not in dialect and dialect[name] == getattr(run, other):
            raise ConfigError(f"{flag(name)} {dialect[name]!r} is the run's {runs}; give {flag(other)} too")
    d = dataclasses.replace(run, **dialect)  # checked as when training
    # the run's series (other columns are left alone), with its date settings; errors name
    # the settings given here as given, the rest as the run's
    reading = Reading.of(d, columns=tuple(forecaster.columns_), used=used, trained=True, given=frozenset(dialect),
                         flags=True)
    return d, reading, read_stdin(reading) if str(csv) == "-" else read_table(csv, reading)


BOM = b"\xef\xbb\xbf"  # UTF-8's byte-order mark, which Excel writes, and needs, to read a CSV as UTF-8


def _encoded(text: str, csv: str | Path) -> bytes:
    """A CSV written from `csv` as UTF-8, with a byte-order mark where `csv` begins with one
    (saved by Excel as "CSV UTF-8"): so Excel reads its names (`Zürich`) back as written."""
    bom = False
    if str(csv) != "-":  # (standard input is read already)
        try:
            with open(csv, "rb") as f:
                bom = f.read(len(BOM)) == BOM
        except OSError:  # a file gone since it was read
            pass
    return (BOM if bom else b"") + text.encode()


def _named(csv: str | Path) -> str:
    """How messages and figures name the data read: its file, or standard input (`--csv -`)."""
    return STDIN if str(csv) == "-" else str(csv)


def _as_forecast_dates(dates: pd.DatetimeIndex, index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """`dates` in the forecast's time zone (or none), so that they compare with its `index`:
    as instants for steps shorter than a day, else at their wall-clock dates (daily data keeps
    its dates across a daylight-saving change, whatever offset each is written with)."""
    instants = isinstance(index.freq, pd.offsets.Tick) and index.freq.nanos < pd.Timedelta(days=1).value
    if dates.tz is not None and index.tz is not None:
        return dates.tz_convert(index.tz) if instants else dates.tz_localize(None).tz_localize(index.tz)
    if dates.tz is not None:  # daily dates across a time change are read at wall clock
        return dates.tz_localize(None)
    if index.tz is not None:
        return dates.tz_localize(index.tz, ambiguous="NaT", nonexistent="NaT")
    return dates


def _float_format(decimals: int | None) -> str | None:
    """The `to_csv` float format that rounds to `decimals` (None: every digit, pandas' own)."""
    if decimals is None:
        return None
    if isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0:
        raise ConfigError(f"decimals: {decimals!r} is not a whole number of decimals, 0 or more")
    return f"%.{decimals}f"


def _check_plot(plot: str | Path | None, plot_series: Sequence[str] | None) -> None:
    """--plot names an image file, and --plot-series comes with it."""
    if plot is not None and str(plot) == "-":
        raise OutputError("--plot -: the plot is an image file; give it a file name")
    if plot_series is not None and plot is None:
        raise ConfigError("--plot-series: names the series --plot draws; give --plot too")


def _plot_line(plot: str | Path, plot_series: Sequence[str] | None, n: int) -> str:
    """The line that says where the plot went, and which of the `n` series it left out."""
    from dynonet.plots import MAX_FORECAST_SERIES

    left = plot_series is None and n > MAX_FORECAST_SERIES
    return f"plot: {plot}" + (f" (the first {MAX_FORECAST_SERIES} of {n} series; --plot-series names others)"
                              if left else "")


def _series(names: Sequence[str], columns: list[str]) -> list[str]:
    """--plot-series' names, checked to be the run's series (once each, in the order given)."""
    if not names:
        raise ConfigError("--plot-series: give one or more series, e.g. --plot-series " + ",".join(columns[:2]))
    for name in names:
        if name not in columns:
            close = difflib.get_close_matches(name, columns, 1)
            raise ConfigError(f"--plot-series: the run has no series {name!r}"
                              + (f"; did you mean {close[0]!r}?" if close else
                                 f" (its series: {', '.join(map(repr, columns[:5]))}{', ...' if len(columns) > 5 else ''})"))
    return list(dict.fromkeys(names))


def _plot_format(plot: Path) -> str:
    """The plot's image format, from its name: .png, .pdf or .svg; PNG without a suffix (or to
    a pipe or device)."""
    from dynonet.plots import IMAGE_FORMATS

    suffix = plot.suffix.lower().lstrip(".")
    if not suffix or is_stream(plot):
        return "png"
    if suffix not in IMAGE_FORMATS:
        raise OutputError(f"{plot}: a plot is written as {', '.join('.' + f for f in IMAGE_FORMATS)}; "
                          f"not .{suffix}")
    return suffix


def _actual(path: str | Path, reading: Reading, columns: list[str], index: pd.DatetimeIndex,
            note: Log = quiet) -> pd.DataFrame:
    """The true values of the forecast period, as `reading` (the recent data's) reads them, with
    blank cells: a value not known (yet), whose step goes unscored for that series. Only the
    rows of the forecast period must hold numbers (the file may hold older history too). A
    series the file lacks is not known at any step, and `note` names it; one of the run's
    series must be there."""
    try:
        there = header_names(path, reading.sep)
        long = set(LONG) <= set(there)
        if long:  # the series are the unique_id values (and a long table has no other columns)
            there = read_csv(path, dataclasses.replace(reading, columns=None, rows=()))[1]
        given = tuple(c for c in columns if c in there) or tuple(columns)  # none there: the error names them
        dates = read_csv(path, dataclasses.replace(reading, columns=given, rows=()))[0]
        dates = _as_forecast_dates(dates, index)
        inside = tuple(np.flatnonzero(dates.isin(index)).tolist())
        dates, _, values = read_csv(path, dataclasses.replace(reading, columns=given, rows=inside))
    except DataError as e:
        if not any(s in str(e) for s in ("--sep", "--decimal", "--date-format", "the run reads", "the run's date")):
            raise
        # one set of reading flags serves both files: a hint to change them would break --csv
        raise DataError(f"{e} (--actual is read as --csv is: write both files alike)") from None
    truth = pd.DataFrame(values, index=_as_forecast_dates(dates, index), columns=list(given)).reindex(columns=columns)
    truth = truth[truth.index.isin(index)].dropna(how="all")
    if truth.empty:
        raise DataError(f"{path}: no value in the forecast period {date_text(index[0], reading.date_format)} .. "
                        f"{date_text(index[-1], reading.date_format)}")
    if absent := [c for c in columns if c not in given]:  # (a name spelled otherwise, say)
        kind = "series" if long else "column" + "s" * (len(absent) > 1)
        note(f"{path}: no {kind} {names_text(absent, 5)} (of the run's series; {'unique_id values' if long else 'columns'} "
             f"there: {names_text(there, 10)}): not scored")
    return truth
