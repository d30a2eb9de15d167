"""A user's table read and checked: a CSV or a DataFrame, wide (a date column and one numeric
column per series) or long (`unique_id`, `ds`, `y`), its dates (read by `dates`: inferred,
--date-format, UTC offsets, Unix time), the series chosen (--columns) and its one time step.
Every problem is one `DataError` naming the file (or table), column and line/row; for a
trained run's data (`Reading.trained`), in the words of the run's settings rather than the
flags that set them.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np
import pandas as pd

from dynonet.config import DataConfig
from dynonet.dates import (CLOCK_CHANGE_HINT, UNIX_SECONDS, clock_change_at, date_namer, date_text, message_format,
                           parse_dates, settled_format, written_format)
from dynonet.errors import DataError, first_message_line, names_text, os_reason


@dataclass(frozen=True)
class Reading:
    """How a user's table is read.

    `date_column` and `date_format` (strftime codes; "%s": Unix time in seconds; None: inferred)
    say where the dates are and how they are written; `sep` and `decimal`, a CSV's field
    separator ("" for a table in memory, which has none) and decimal mark (a DataFrame's text
    cells are read with the mark too).
    `columns`: the series to read, in this order (a long table's `unique_id`s; None: every
    column besides the dates), other columns left alone. `used`: how many of the last rows must hold numbers (what a forecast reads;
    earlier cells may be blank and come back NaN; None: all). `trained`: these are a trained
    run's settings, and errors name them so, not by the flags that set them when training,
    except those in `given` (set on this command line over the run's). `flags`: the command
    reading takes `--sep`, `--decimal` and `--date-format`, so errors may suggest them.
    """

    date_column: str = DataConfig.date_column
    date_format: str | None = DataConfig.date_format
    columns: tuple[str, ...] | None = DataConfig.columns
    sep: str = DataConfig.sep
    decimal: str = DataConfig.decimal
    used: int | None = None
    blanks: bool = False  # blank cells are values not known (yet): NaN, wherever they are
    rows: tuple[int, ...] | None = None  # only these rows' cells must be numbers (of a long table: its dates')
    trained: bool = False
    given: frozenset[str] = frozenset()
    flags: bool = True
    settled: bool = False  # `date_format` was read off the column itself (`settled_format`), not given

    @classmethod
    def of(cls, data: DataConfig, *, columns: tuple[str, ...] | None = None, used: int | None = None,
           trained: bool = False, given: frozenset[str] = frozenset(), flags: bool | None = None) -> "Reading":
        """The reading `data`'s settings describe; `columns` (None: `data.columns`), `used`,
        `trained` and `given` as in the class; `flags` by default for a command that trains (a
        trained run's data is read by commands without them, but for `dynonet predict`)."""
        return cls(date_column=data.date_column, date_format=data.date_format,
                   columns=data.columns if columns is None else columns, sep=data.sep, decimal=data.decimal,
                   used=used, trained=trained, given=given, flags=not trained if flags is None else flags)

    def the_runs(self, setting: str) -> bool:
        """Whether a reading setting (`sep`, `decimal`, `date_format`) is the trained run's, not
        one given to this command."""
        return self.trained and setting not in self.given

    def give(self, flag_and_value: str) -> str:
        """"; give --sep ';'" where the command takes that flag, else nothing."""
        return f"; give {flag_and_value}" if self.flags else ""

    def format_words(self) -> str:
        """How errors name the date format: "--date-format '%d/%m/%Y'" or the run's."""
        whose = "the run's date format" if self.the_runs("date_format") else "--date-format"
        return f"{whose} {self.date_format!r}"


class Table(NamedTuple):
    """A user's table, checked: the wide (dates, columns, values (T, C) float64); `ids`, for
    long input, maps each column name back to its `unique_id` value (None for wide input);
    `date_format`, the one the dates were read with (given, or settled by the column itself:
    `settled_format`; None: inferred); `written`, for inferred dates of a CSV, the format that
    writes them back as the file does (`written_format`); `lines`, how errors name a CSV's rows
    (`line_namer`): 2, the file line of row 0, or each row's line where blank lines sit among
    them; None for a table in memory (its rows are named by position). `unread`: of a table read
    for a trained run, the series there that are not the run's (a wide table's other columns, a
    long table's other unique_id values, as text), which nothing forecasts."""

    dates: pd.DatetimeIndex
    columns: list[str]
    values: np.ndarray
    ids: dict[str, Any] | None
    date_format: str | None
    written: str | None = None
    lines: int | np.ndarray | None = None
    unread: tuple[str, ...] = ()


def read_csv(path: str | Path, reading: Reading = Reading()) -> tuple[pd.DatetimeIndex, list[str], np.ndarray]:
    """Read and validate a CSV: wide (one date column, one numeric column per series) or long
    (columns `unique_id`, `ds`, `y`, pivoted to wide), as `reading` says.

    Returns (dates, column names, values (T, C) float64). Raises `DataError` with the file,
    column and line of the first problem found.
    """
    return read_table(path, reading)[:3]


STDIN = "standard input"  # how messages name `--csv -`


def read_stdin(reading: Reading = Reading()) -> Table:
    """`read_table` of the CSV on standard input (`--csv -`), which is read to its end first
    (the reader opens a file more than once); errors name it as standard input."""
    if sys.stdin is None:
        raise DataError(f"--csv -: {STDIN} is closed; pipe the CSV in, or give a file name")
    if sys.stdin.isatty():  # reading would wait for typing
        raise DataError(f"--csv -: {STDIN} is a terminal; pipe the CSV in (cat recent.csv | dynonet ...)")
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "stdin.csv"
        path.write_bytes(data)
        try:
            return read_table(path, reading)
        except DataError as e:
            raise DataError(str(e).replace(str(path), STDIN)) from None


def read_table(path: str | Path, reading: Reading = Reading()) -> Table:
    """`read_csv`, with the ids of a long file (so that a forecast can be written back long)
    and the date format read with (`Table`)."""
    date_column = reading.date_column
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a file")
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file")
    try:
        frame = pd.read_csv(path, sep=reading.sep, dtype=str, keep_default_na=False)
        # the header as written: pandas names a blank one "Unnamed: i" and renames a repeat "a.1"
        names = [n.strip() for n in pd.read_csv(path, sep=reading.sep, header=None, nrows=1, dtype=str,
                                                keep_default_na=False).iloc[0]]
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: no header line (an empty file?)") from None
    except UnicodeDecodeError:  # Excel saves "CSV" in the system's code page
        raise DataError(f"{path}: {_not_utf8(path)}not UTF-8 text; save it as CSV UTF-8") from None
    except (pd.errors.ParserError, ValueError) as e:  # e.g. decimal commas split a line of another separator
        _check_separator(path, _header(path), reading)
        raise DataError(f"{path}: {_parser_error(first_message_line(e))}") from None
    except OSError as e:  # no permission, an I/O error
        raise DataError(f"{path}: cannot read ({os_reason(e)})") from None
    lines = _data_lines(path, reading.sep, len(frame))  # (before rows of bare commas at the end are dropped)
    lines = 2 if lines is None else lines  # the file line of row 0, or of each row
    if len(names) == 1:
        _check_separator(path, names[0], reading)
    if not isinstance(frame.index, pd.RangeIndex):  # pandas took the surplus first field as an index
        raise DataError(f"{path}: line 2: more fields than the header's {len(frame.columns)} names")
    while len(names) > 1 and not names[-1] and (frame.iloc[:, -1].str.strip() == "").all():
        names, frame = names[:-1], frame.iloc[:, :-1]  # a comma at the end of every line, as spreadsheets write
    if len(frame) and (frame.iloc[-1].str.strip() == "").all():  # rows of bare commas at the end, as
        filled = (frame.apply(lambda cells: cells.str.strip()) != "").any(axis=1).to_numpy()  # spreadsheets leave
        frame = frame.iloc[: int(filled.nonzero()[0][-1]) + 1 if filled.any() else 0]
    # with chosen series (--columns, or a run's), other columns are left alone, their names too
    chosen = None if reading.columns is None else {date_column, *reading.columns}
    if (blank := next((i for i, n in enumerate(names) if not n), None)) is not None and (
            chosen is None or date_column not in names):
        hint = ""
        if reading.sep == " " and "  " in _header(path):  # as df.to_string() or a report aligns them
            hint = (" (fields aligned with runs of spaces? --sep ' ' splits at every space: write one separator "
                    "between fields, e.g. with df.to_csv())")
        elif blank == 0:  # pandas' to_csv writes an unnamed index so
            dated = date_column in names or set(LONG) <= set(names)  # a long table's dates are in ds
            hint = (" (a saved index? write the CSV with index=False)" if dated else
                    f" (the dates? name it: df.rename_axis({date_column!r}).to_csv(...))")
        raise DataError(f"{path}: line 1: column {blank + 1} has no name{hint}")
    if dup := next((n for i, n in enumerate(names) if n in names[:i] and (chosen is None or n in chosen)), None):
        raise DataError(f"{path}: line 1: column {dup!r} appears more than once")
    frame.columns = names  # blanks around a name are not part of it, as around a cell
    # unique_id, ds, y (others are refused there), unless a wide table's dates are in another column
    if set(LONG) <= set(names) and (date_column not in names or date_column == "ds"):
        reading = settled_format(reading, _strip(frame["ds"]))
        dates, columns, values, ids, written, unread = _long_table(frame, reading, str(path), first_line=lines)
        return Table(dates, columns, values, ids, reading.date_format, written, unread=unread)
    _refuse_misnamed_long(names, reading, str(path))
    if date_column not in names:
        other = next((n for n in names if n.lower() == date_column.lower()), None)  # 'Date'
        hint = ("the run was trained on dates in that column" if reading.trained else
                f"give --date-column {shlex.quote(other)}" if other is not None else
                "--date-column names another, or give the long format: columns unique_id, ds, y")
        raise DataError(f"{path}: no date column {date_column!r} (columns: {', '.join(map(repr, names[:10]))}; "
                        f"{hint})")
    unread = _unread(reading, [n for n in names if n != date_column], frame)
    if reading.columns is not None:
        frame = frame[[date_column, *_chosen(reading, [n for n in names if n != date_column], str(path),
                                             frame=frame)]]
    _refuse_saved_index(list(frame.columns), date_column, str(path), "or leave it out with --columns", reading.trained)
    reading = settled_format(reading, _strip(frame[date_column]))
    dates, columns, values = validate_frame(frame, reading, source=str(path), first_line=lines)
    written = written_format(_strip(frame[date_column]), dates) if reading.date_format is None else None
    return Table(dates, columns, values, None, reading.date_format, written, lines, unread)


def _unread(reading: Reading, there: list[str], frame: pd.DataFrame | None = None) -> tuple[str, ...]:
    """The series `there` that a trained run's reading leaves out (`Table.unread`): of a wide
    `frame`, its columns of numbers only (not ids, text, or a saved index)."""
    if not reading.trained or reading.columns is None:
        return ()
    if frame is None:  # a long table's unique_id values: each a series
        return tuple(n for n in there if n not in reading.columns)
    names = [str(c) for c in frame.columns]
    return tuple(n for n in there if n not in reading.columns and not SAVED_INDEX.fullmatch(n)
                 and _numeric_column(frame.iloc[:, names.index(n)]))


def _parser_error(message: str) -> str:
    """pandas' tokenizer error, told by the line it names (its 'row' counts from the header, 0;
    both count a quoted field over several lines as one)."""
    if m := re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message):
        return f"line {m[2]}: {m[3]} fields where the lines before have {m[1]}"
    if m := re.search(r"EOF inside string starting at row (\d+)", message):
        return f'line {int(m[1]) + 1}: a quote (") opens a field that no quote closes before the end of the file'
    return f"not a readable CSV ({message})"


def _not_utf8(path: Path) -> str:
    """Where a file stops being UTF-8, as 'line 3, byte 0xe9: ' (pandas' error counts within a
    chunk); '' if a second read does not find it."""
    try:
        raw = path.read_bytes()
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        return f"line {line}, byte {raw[e.start]:#04x}: "
    except OSError:
        pass
    return ""


def header_names(path: str | Path, sep: str) -> list[str]:
    """A CSV's column names as its header line writes them, blanks around each dropped ([]
    where it cannot be read: reading the file says why)."""
    try:
        return [n.strip() for n in pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str,
                                               keep_default_na=False).iloc[0]]
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError, IndexError):
        return []


def _header(path: Path) -> str:
    """A CSV's first line, as text ("" if unreadable)."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            return f.readline().rstrip("\r\n")
    except (OSError, UnicodeDecodeError):
        return ""


def _check_separator(path: Path, header: str, reading: Reading) -> None:
    """A DataError naming the separator (and decimal mark) to give if `header`, a single
    field as `reading` splits it, holds another separator."""
    if reading.sep in header or not (sep := next((c for c in ",;\t|" if c in header and c != reading.sep), None)):
        return
    mark = _decimal_mark(path, sep) or ("." if sep == reading.decimal else None)  # a field separator is no mark
    flags = f"--sep {sep!r}" + (f" --decimal {mark!r}" if mark not in (None, reading.decimal) else "")
    hint = (f"the run reads fields separated by {reading.sep!r}" + reading.give(f"{flags} for this file")
            if reading.the_runs("sep") else f"it looks separated by {sep!r}: give {flags}")
    raise DataError(f"{path}: line 1: one column {header.strip()!r} ({hint})")


def _decimal_mark(path: Path, sep: str, lines: int = 20) -> str | None:
    """The decimal mark ("." or ",") of the numbers in a CSV's first `lines` data lines, its
    fields separated by `sep`; None where no field is a number with one."""
    number = re.compile(r"[-+]?\d*([.,])\d+")
    marks = []
    try:
        with open(path, encoding="utf-8-sig") as f:
            for _, line in zip(range(lines + 1), f):
                marks += [m[1] for field in line.strip().split(sep) if (m := number.fullmatch(field.strip(' "')))]
    except (OSError, UnicodeDecodeError):
        return None
    return max(set(marks), key=marks.count) if marks else None


def _chosen(reading: Reading, there: list[str], source: str, long: bool = False,
            frame: pd.DataFrame | None = None) -> list[str]:
    """The series to read (`reading.columns`), each checked to be among `there` (a wide
    table's columns, or a `long` table's unique_id values); where one is not, a column of the
    wide `frame` whose cells name them is told to be the long format's unique_id."""
    columns = list(reading.columns or ())
    if not long and reading.date_column in columns:
        raise DataError(f"{source}: {reading.date_column!r} is the date column, not a series; leave it out of "
                        + ("the run's series" if reading.trained else "--columns"))
    if missing := [c for c in columns if c not in there]:
        whose = "the run's series" if reading.trained else "--columns"
        names = ", ".join(map(repr, missing[:5])) + (", ..." if len(missing) > 5 else "")
        kind, place = ("series", "unique_id values there") if long else ("column", "columns there")
        listed = (f"{place}: " + ", ".join(map(repr, there[:10])) + (", ..." if len(there) > 10 else "")
                  if there else "no column there besides the dates")
        plural = "s" if len(missing) > 1 and kind == "column" else ""
        share = "one" if len(missing) == 1 else "all" if len(missing) == len(columns) else "some"
        raise DataError(f"{source}: no {kind}{plural} {names} ({share} of {whose}; {listed}){_ids_hint(frame, missing)}")
    return columns


def _ids_hint(frame: pd.DataFrame | None, series: list[str]) -> str:
    """Where a wide table lacks `series` and one of its text columns names them in its cells:
    the long format, with its columns under other names."""
    if frame is None:
        return ""
    for i, column in enumerate(frame.columns):  # (by position: names may repeat)
        cells = frame.iloc[:100_000, i]
        if not _text_column(cells):
            continue
        if cells.astype(str).str.strip().isin(series).any():
            return (f"; column {column!r} holds the series' names: the long format? name its columns unique_id, ds, "
                    f"y (rename {column!r} to unique_id)")
    return ""


def _text_column(cells: pd.Series) -> bool:
    """Whether a column holds text that is not numbers (a CSV's numbers are read as text too)."""
    if not (cells.dtype == object or pd.api.types.is_string_dtype(cells)):
        return False
    filled = cells[~missing_cells(cells)]
    return bool(len(filled)) and pd.to_numeric(filled.astype(str).str.strip(), errors="coerce").isna().any()


def _numeric_column(cells: pd.Series) -> bool:
    """Whether a column's filled cells are all numbers (as numbers, or as a CSV's text)."""
    if is_numbers(cells):
        return True
    filled = cells[~missing_cells(cells)]
    return bool(len(filled)) and not _text_column(filled)


def validate_frame(frame: pd.DataFrame, reading: Reading = Reading(), *, source: str = "DataFrame",
                   first_line: int | np.ndarray | None = 2, index_dates: bool = False
                   ) -> tuple[pd.DatetimeIndex, list[str], np.ndarray]:
    """Validate a wide table (a date column, one numeric column per series), as read from a
    CSV (cells as text) or given in memory (any dtypes), as `reading` says (its `columns` are
    chosen by the caller).

    `first_line` is the file line of row 0 (2 after a CSV's header), or of each row
    (`Table.lines`); None (a table in memory) names rows by their dates ("date 2024-01-08"), or
    by their position ("row 0") where the dates are what is wrong. Returns what
    `read_csv` returns; raises `DataError` naming `source`, the column and the line/row of the
    first problem found. `index_dates`: the date column was the given frame's index (so
    hints name that).
    """
    date_column, used, where = reading.date_column, reading.used, line_namer(first_line)
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()][0]
        raise DataError(f"{source}: column {dup!r} appears more than once")
    if date_column not in frame.columns:
        raise DataError(
            f"{source}: no date column {date_column!r} (columns: {', '.join(map(repr, frame.columns[:10]))})"
        )
    value_columns = [c for c in frame.columns if c != date_column]
    if not value_columns:
        raise DataError(f"{source}: no numeric columns besides " + ("its DatetimeIndex" if index_dates else
                                                                     repr(date_column)))
    if len(frame) == 0:
        raise DataError(f"{source}: no data rows")

    raw_dates = _strip(frame[date_column])
    dates = parse_dates(raw_dates, date_column, source, where, reading)
    step = np.diff(dates.asi8)  # in the dates' own unit (ns, us, ...)
    if (step <= 0).any():
        i = int((step <= 0).nonzero()[0][0]) + 1
        kind = "duplicate date" if step[i - 1] == 0 else "date goes backwards:"
        # local times without offsets repeat up to an hour when clocks go back: in data of an
        # hourly or finer step (that of a neighbouring row)
        hour = np.timedelta64(1, "h") // np.timedelta64(1, dates.unit)  # in the unit of `step`
        hourly = any(0 < step[k] <= hour for k in (i - 2, i) if 0 <= k < len(step))
        hour_back = hourly and dates[i - 1] - dates[i] < pd.Timedelta(hours=1) and clock_change_at(dates[i])
        if hour_back and first_line is None:  # a frame's dates take their time zone in pandas
            dates_of = "df.index" if index_dates else f"df[{date_column!r}].dt"
            hint = (" (a daylight-saving switch? give the dates their time zone, e.g. "
                    f"{dates_of}.tz_localize('Europe/Berlin', ambiguous='infer'), or write them in UTC)")
        elif hour_back:
            hint = CLOCK_CHANGE_HINT
        elif (step < 0).all():  # as exports of prices often come
            hint = " (the rows run newest first: sort them oldest first)"
        # each date once per series: rows by date, or series by series
        elif (repeats := len(dates) - dates.nunique()) >= 2 and 2 * repeats >= len(dates):
            hint = (" (several rows a date: a time of day in another column? or one row per series and date, the "
                    "long format: name its columns unique_id, ds, y)")
        elif step[i - 1] < 0:
            hint = " (rows out of order? sort them oldest first)"
        else:  # a row written twice, or two readings of one time
            keep = "df[~df.index.duplicated()]" if index_dates else f"pandas' .drop_duplicates({date_column!r})"
            hint = f" (each date once: keep one row of it, e.g. with {keep})"
        raise DataError(f"{source}: {where(i)}: {kind} {show_cell(raw_dates.iloc[i])} "
                        f"after {show_cell(raw_dates.iloc[i - 1])}" + hint)

    if first_line is None:  # a frame's row positions need not be its index's labels
        where = date_namer(dates, reading.date_format)
    numeric = {}
    for col in value_columns:
        text = _strip(frame[col])
        values = _numbers(text, reading.decimal)
        start = 0 if used is None else max(len(values) - used, 0)  # rows before are not read
        unread = ~np.isfinite(values)
        unread[:start] = False
        if reading.rows is not None:
            unread &= np.isin(np.arange(len(values)), reading.rows)
        if reading.blanks:
            unread &= ~missing_cells(text)
        bad = unread.nonzero()[0]
        if len(bad):
            i = bad[0]
            cell = text.iloc[i]
            what = cell_problem(cell, reading)
            if not written_hint(cell, reading):  # what else may say why
                blank = np.logical_and.reduce([missing_cells(_strip(frame[c])) for c in value_columns]) \
                    if is_missing(cell) else np.zeros(0, bool)  # (rows,): blank in every series read
                if (tail := _tail(blank)) and i >= len(values) - tail:  # dates appended for the forecast
                    what += _blank_tail_hint(tail, "rows", first_line is None, "df.dropna(how='all')")
                elif len(bad) == len(values) - start and np.isnan(values[i]):
                    what += (" (no cell of this column is " + ("filled" if missing_cells(text).all() else "a number")
                             + ("" if reading.trained else "; --columns chooses which columns are series") + ")")
                elif is_missing(cell):  # the model reads every step of its lookback
                    what += _gap_hint(text, i, start, reading, where)
            raise DataError(f"{source}: {where(i)}, column {col!r}: {what}")
        numeric[str(col)] = values
    if len(numeric) != len(value_columns):
        raise DataError(f"{source}: column names {value_columns} are not distinct as text")
    return dates, list(numeric), np.stack(list(numeric.values()), axis=1)


def _tail(blank: np.ndarray) -> int:
    """How many of the last entries of `blank` (bools) are True, one after another."""
    return len(blank) - (int(np.flatnonzero(~blank)[-1]) + 1 if (~blank).any() else 0)


def _blank_tail_hint(n: int, what: str, in_memory: bool, dropna: str) -> str:
    """The hint for a table whose last `n` `what` ("rows", "dates") have no value in any series
    read: dates appended for the forecast, which go (a frame's by `dropna`)."""
    last = f"the last {n} {what} have" if n > 1 else f"the last {what[:-1]} has"
    drop = f"drop those rows, e.g. with {dropna}" if in_memory else "delete those rows"
    return f" ({last} no value in any series: {drop}; a forecast starts after the last row it reads)"


def _gap_hint(text: pd.Series, i: int, start: int, reading: Reading, where: Callable[[int], str]) -> str:
    """What fills the blank cell `i` of the column `text` (read from row `start`): the series'
    start where the cell is before its first value (training: interpolation fills nothing
    there), else interpolation."""
    filled = ~missing_cells(text[start:])
    first = int(filled.argmax())
    if not reading.trained and filled.any() and i - start < first:
        return (f" (its first value is at {where(start + first)}: start the table there, or leave this column out: "
                "--columns names the series to read)")
    return " (fill gaps first, e.g. with pandas' .interpolate() or .ffill())"


def cell_problem(cell: Any, reading: Reading) -> str:
    """What a cell that holds no number is ("missing value", "'x' is not a finite number"),
    with `written_hint`'s hint where it has one."""
    return ("missing value" if is_missing(cell) else f"{show_cell(cell)} is not a finite number") \
        + written_hint(cell, reading)


def written_hint(cell: Any, reading: Reading) -> str:
    """Why a cell holds no number where the way it is written says ("" where it does not):
    thousands separators, the other decimal mark (as `reading` reads them, naming the flag that
    reads it), True/False among numbers."""
    if isinstance(cell, str) and (THOUSANDS.fullmatch(cell) or THOUSANDS_POINT.fullmatch(cell)):
        return " (thousands separators? write numbers without them)"
    if isinstance(cell, str) and reading.decimal == "." and DECIMAL_COMMA.fullmatch(cell):
        if reading.sep == ",":  # a quoted decimal comma: the mark cannot also separate the fields
            return (" (a decimal comma in a comma-separated file? write the file separated by ';', e.g. "
                    "df.to_csv(sep=';', decimal=','), and give --sep ';' --decimal ',')")
        return (" (the run reads decimal points" + reading.give("--decimal ','") + ")"
                if reading.the_runs("decimal") else " (a decimal comma? give --decimal ',')")
    if isinstance(cell, str) and reading.decimal != "." and "." in cell:
        return (" (a decimal point? the run reads decimal commas" + reading.give("--decimal '.'") + ")"
                if reading.the_runs("decimal") else " (a decimal point? numbers are read with --decimal ',')")
    if isinstance(cell, (bool, np.bool_)) or isinstance(cell, str) and cell.lower() in BOOLEAN_CELLS:
        return FLAG_HINT
    return ""


def _numbers(cells: pd.Series, decimal: str = ".", series: np.ndarray | None = None) -> np.ndarray:
    """A column's cells as float64, NaN where no number is; True/False count as 1/0 in a series
    of flags, as a bool column's do, also beside 1s and 0s (not among other numbers: a TRUE among
    prices is more likely a slip than a 1). `series`: each cell's series, where the column holds
    several (the long format's y); else the column is one. Text cells are read with `decimal` as
    the decimal mark. Dates, durations and complex numbers are no numbers here (pandas would read
    dates as nanoseconds since 1970)."""
    if cells.dtype.kind in "mMc":  # (datetime64 with a time zone too)
        return np.full(len(cells), np.nan)
    if decimal != "." and pd.api.types.infer_dtype(cells, skipna=True) in ("string", "mixed", "mixed-integer"):
        # with another decimal mark a '.' is no decimal point (a thousands separator, as in 1.088,5): no number
        dotted = cells.str.contains(".", regex=False).fillna(False).astype(bool)
        text = cells.str.replace(decimal, ".", regex=False).mask(dotted, "")  # NaN where a cell is no text
        cells = text.where(text.notna(), cells)
    values = np.array(pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan))  # writable
    if cells.dtype == object and pd.api.types.infer_dtype(cells, skipna=True) in ("mixed", "mixed-integer"):
        # a frame's Python bools among numbers are read as a CSV of it reads their text (to_numeric takes them as 1/0)
        values[cells.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)] = np.nan
    unread = np.isnan(values)
    if unread.any() and not pd.api.types.is_numeric_dtype(cells):
        other = ~unread & (values != 0) & (values != 1)  # a number no flag could be
        # (the series as a set: np.isin compares object arrays element by element, quadratic in the rows)
        flagged = (unread & ~pd.Series(series).isin(set(series[other])).to_numpy() if series is not None
                   else unread & ~other.any())
        flags = cells[flagged].astype(str).str.lower().map(BOOLEAN_CELLS)  # only the cells no number was read from
        values[flagged] = flags.to_numpy(dtype=np.float64, na_value=np.nan)
    return values


BOOLEAN_CELLS = {"true": 1.0, "false": 0.0}  # in any case (pandas reads True, TRUE and true as bools)
FLAG_HINT = " (True/False count as 1/0 in a series of flags, beside 1s and 0s, not among other numbers)"
THOUSANDS = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?")
DECIMAL_COMMA = re.compile(r"[-+]?\d*,\d+")  # 3,5 (1,000 is taken as thousands first)
THOUSANDS_POINT = re.compile(r"[-+]?\d{1,3}(\.\d{3})+(,\d*)?")  # 1.088 or 1.003,80, as with decimal commas


def line_namer(first_line: int | np.ndarray | None, offset: int = 0) -> Callable[[int], str]:
    """How errors name row i (of those from row `offset` on): "line {i + first_line}" of a file,
    its line `first_line[i]` where blank lines sit among the rows (`Table.lines`), or "row {i}"
    of a table."""
    def where(i: int) -> str:
        if first_line is None:
            return f"row {i + offset}"
        if isinstance(first_line, np.ndarray):
            return f"line {first_line[i + offset]}"
        return f"line {i + offset + first_line}"
    return where


def _data_lines(path: Path, sep: str, rows: int) -> np.ndarray | None:
    """The file line of each of a CSV's `rows` data rows where blank lines (which pandas skips)
    sit among them; None where row i is on line i + 2, or where the lines do not pair with the
    rows one to one (a quoted cell over several lines). The file is read line by line; only
    its blank lines' numbers are kept."""
    chars = " \r\n" if sep == "\t" else None  # a line of tabs holds fields of a tab-separated file
    header, filled, last, blanks = None, 0, 0, []
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:  # "": \r, \n and \r\n end lines, as for pandas
            for n, line in enumerate(f, 1):
                if not line.strip(chars):
                    blanks.append(n)
                elif header is None:
                    header = n
                else:
                    filled, last = filled + 1, n
    except (OSError, UnicodeDecodeError):
        return None
    inside = [b for b in blanks if header is not None and b < last]  # blank lines before the last row
    if header is None or filled != rows or (header == 1 and not inside):
        return None
    return np.setdiff1d(np.arange(header + 1, last + 1), inside)


def _strip(column: pd.Series) -> pd.Series:
    """Text cells without surrounding blanks; anything else as it is."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        return column
    if pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
        return column.str.strip()
    return column


def show_cell(cell: object) -> str:
    """'text' quoted, numbers (numpy's too) as they print."""
    return repr(cell) if isinstance(cell, str) else " ".join(str(cell).split())


def is_missing(cell: object) -> bool:
    if isinstance(cell, str):
        return cell == ""
    try:
        return bool(pd.isna(cell))
    except (TypeError, ValueError):  # a list or array in a cell
        return False


def missing_cells(column: pd.Series) -> np.ndarray:
    """`is_missing` of every cell, without a pandas call per cell (a long table can hold
    millions): NA of any kind, or empty text."""
    missing = np.array(column.isna(), dtype=bool)  # a copy: pandas may lend a read-only array
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        return missing
    if pd.api.types.is_string_dtype(column) and column.dtype != object:  # text alone
        return missing | column.eq("").fillna(False).to_numpy(dtype=bool)
    # objects, categories, Arrow dictionaries, ...: text among other things, "" missing, a list not
    cells = column.to_numpy(dtype=object)
    return missing | np.fromiter((isinstance(c, str) and c == "" for c in cells), bool, len(cells))


# -- DataFrames: wide or long ----------------------------------------------------------------
LONG = ("unique_id", "ds", "y")


def frame_table(df: Any, reading: Reading = Reading(), *, source: str = "DataFrame") -> Table:
    """A wide or long DataFrame -> a validated `Table`. Wide input's dates are its
    DatetimeIndex or the `reading.date_column` column; the rest as `reading` says (`Reading`;
    column names compared as text)."""
    date_column = reading.date_column
    reading = dataclasses.replace(reading, sep="")  # a table in memory has no field separator
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}"
                        + (" (s.to_frame() makes a Series one)" if isinstance(df, pd.Series) else ""))
    if isinstance(df.columns, pd.MultiIndex):  # pivot_table(values=[...]), unstack()
        raise DataError(f"{source}: has {df.columns.nlevels}-level column names (such as {df.columns[0]!r}); "
                        "give one level, e.g. df.columns = ['_'.join(map(str, c)) for c in df.columns]")
    # column names without blanks around them, as a CSV's header is read: either run reads the other's data
    names = list(df.columns)
    stripped, first = [c.strip() if isinstance(c, str) else c for c in names], {}
    for name, bare in zip(names, stripped):
        if bare in first and first[bare] != name and (reading.columns is None or str(bare) in reading.columns):
            raise DataError(f"{source}: columns {first[bare]!r} and {name!r} are one name without the blanks around "
                            "them (as a CSV's header is read); rename one")
        first.setdefault(bare, name)
    df = df.set_axis(stripped, axis=1)
    name = "ds" if set(LONG) <= set(df.columns) else date_column
    if name in df.columns and isinstance(df[name].dtype, pd.PeriodDtype):  # (as a PeriodIndex is told)
        raise DataError(f"{source}: column {name!r} holds periods, not dates: df[{name!r}] = "
                        f"df[{name!r}].dt.to_timestamp() makes them dates")
    if {"ds", "y"} <= set(df.columns) and "unique_id" not in df.columns and str(df.index.name).strip() == "unique_id":
        raise DataError(f"{source}: the long format with unique_id as the index: df.reset_index() makes it the "
                        "column the long format needs")  # (as older statsforecast and neuralforecast kept it)
    if set(LONG) <= set(df.columns):
        reading = settled_format(reading, _strip(df["ds"]))
        dates, columns, values, ids, _, unread = _long_table(df, reading, source)
        return Table(dates, columns, values, ids, reading.date_format, unread=unread)
    if not isinstance(df.index, pd.DatetimeIndex):
        _refuse_misnamed_long(list(df.columns), reading, source)
    if set(df.columns) == {"unique_id", "y"} and isinstance(df.index, pd.DatetimeIndex) \
            and not pd.api.types.is_numeric_dtype(df["unique_id"]):  # (two numeric series so named: wide)
        raise DataError(f"{source}: columns unique_id and y with the dates as the index: the long format needs "
                        "them in a column ds (df.rename_axis('ds').reset_index())")
    if isinstance(df.index, pd.DatetimeIndex):
        if len(missing := df.index.isna().nonzero()[0]):  # (a DatetimeIndex holds no text to show: just NaT)
            raise DataError(f"{source}: row {missing[0]}: its DatetimeIndex has no date there (NaT)")
        if date_column in df.columns:
            raise DataError(f"{source}: has both a DatetimeIndex and a {date_column!r} column; keep one")
        frame = df.reset_index(drop=True)
        frame.insert(0, date_column, df.index)
    elif date_column in df.columns:
        frame = df.reset_index(drop=True)
    elif reading.date_format == UNIX_SECONDS and is_numbers(df.index) and _counting_column(df, reading) is None:
        # time steps as the index (where no column counts them: a date column under another name)
        frame = df.reset_index(drop=True)
        frame.insert(0, date_column, df.index.to_numpy())
    else:
        raise DataError(f"{source}: needs a DatetimeIndex, a {date_column!r} column, or the long format "
                        f"(columns unique_id, ds, y); columns are: {', '.join(map(repr, df.columns[:10]))}"
                        + (_index_hint(df.index) or _date_column_hint(df, reading)
                           or ("" if reading.trained else _steps_hint(df, reading))))
    if reading.columns is None and any(is_missing(blank := c) for c in frame.columns if c != date_column):
        # as a CSV's header is refused: the run would name the series 'nan' or '', which no CSV holds
        raise DataError(f"{source}: a column has no name ({blank!r}); give every series a name, as a CSV's "
                        "header must")
    unread: tuple[str, ...] = ()
    if reading.columns is not None:  # other columns are left alone, their names too
        as_text = [str(c) for c in frame.columns if c != date_column]
        unread = _unread(reading, as_text, frame)
        if dup := next((n for i, n in enumerate(as_text) if n in as_text[:i] and n in reading.columns), None):
            raise DataError(f"{source}: column names {dup!r} are not distinct as text")
        series = {str(c): c for c in frame.columns if c != date_column}
        frame = frame[[date_column, *(series[c] for c in _chosen(reading, list(series), source, frame=frame))]]
    _refuse_saved_index(list(frame.columns), date_column, source, "or drop it: df.drop(columns={name})",
                        reading.trained)
    reading = settled_format(reading, _strip(frame[date_column]))
    return Table(*validate_frame(frame, reading, source=source, first_line=None,
                                 index_dates=isinstance(df.index, pd.DatetimeIndex)), None, reading.date_format,
                 unread=unread)


SAVED_INDEX = re.compile(r"Unnamed: \d+")  # how pandas reads back a column written without a name


def _refuse_saved_index(columns: list[Any], date_column: str, source: str, fix: str, trained: bool) -> None:
    """A DataError for a series named as pandas names a column written without a name: a
    saved index (row numbers), not a series, where `df.to_csv()` kept it and `read_csv` read it back.
    `fix`: the other way out, with `{name}` for the column's name."""
    if trained:  # a run trained on such a column (before it was refused) reads it
        return
    if (name := next((c for c in columns if c != date_column and SAVED_INDEX.fullmatch(str(c))), None)) is not None:
        raise DataError(f"{source}: column {name!r} is how pandas names a column written without a name: a saved "
                        f"index? write the CSV with index=False, {fix.format(name=repr(name))}")


def _index_hint(index: pd.Index) -> str:
    """How to make a frame's dates, if its index holds them, the DatetimeIndex it needs."""
    if isinstance(index, pd.MultiIndex):  # (df.set_index(["unique_id", "ds"]), as some libraries keep the long format)
        named = f" ({', '.join(map(repr, index.names))})" if any(n is not None for n in index.names) else ""
        return f"; its index has {index.nlevels} levels{named}: df.reset_index() makes them columns"
    if isinstance(index, pd.PeriodIndex):
        return "; its index is a PeriodIndex: df.to_timestamp() makes it a DatetimeIndex"
    if isinstance(index, pd.RangeIndex) or not _holds_dates(index):
        return ""
    return "; its index holds dates as text or objects: df.index = pd.to_datetime(df.index) makes it a DatetimeIndex"


def is_numbers(values: pd.Index | pd.Series) -> bool:
    """Whether `values` are numbers (not booleans): what dates given as time steps or Unix seconds are."""
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _counting_column(df: pd.DataFrame, reading: Reading) -> Any:
    """A column among the series `reading` would read whose numbers step up evenly (0, 1, 2, ...
    or Unix seconds): dates in all likelihood, not a series; None if there is none."""
    for name in df.columns if reading.columns is None else []:  # (series chosen by name are series)
        values = df[name]
        if is_numbers(values) and len(values) >= 3:
            steps = np.diff(values.to_numpy(dtype=np.float64, na_value=np.nan))
            if np.isfinite(steps).all() and steps[0] > 0 and (steps == steps[0]).all():
                return name
    return None


def _steps_hint(df: pd.DataFrame, reading: Reading) -> str:
    """How to read the numbers a frame counts its time steps with as its dates: a counting
    column's, or a whole-number index's."""
    if (counter := _counting_column(df, reading)) is not None:
        return (f"; column {counter!r} counts evenly: --date-column {str(counter)!r}, --date-format %s reads it "
                "as the dates (a series: --columns chooses the series, it among them)")
    if is_numbers(df.index) and pd.api.types.is_integer_dtype(df.index):
        return "; or, if its index counts time steps, --date-format %s reads them so"
    return ""


def _date_column_hint(df: pd.DataFrame, reading: Reading) -> str:
    """Where a frame's dates are, if one of its columns holds them under another name."""
    columns = [df.iloc[:, i] for i in range(df.shape[1])]  # by position: names may repeat
    there = next((c.name for c in columns if c.dtype.kind == "M" or (c.dtype.kind == "O" or
                                                                     pd.api.types.is_string_dtype(c))
                  and _holds_dates(c.dropna())), None)
    if there is None:
        return ""
    if reading.trained:  # the run's date column is settled
        return (f"; column {there!r} holds dates: the run reads them from a column {reading.date_column!r} "
                f"(df.rename(columns={{{there!r}: {reading.date_column!r}}}))")
    return f"; column {there!r} holds dates: date_column={there!r} reads them there"


def _holds_dates(values: pd.Index | pd.Series) -> bool:
    """Whether the first few of `values` are dates, or text pandas reads as dates."""
    if len(values) == 0 or pd.api.types.infer_dtype(values, skipna=True) not in ("string", "date", "datetime",
                                                                                  "datetime64", "mixed"):
        return False
    with warnings.catch_warnings():  # "could not infer format"
        warnings.simplefilter("ignore")
        try:
            return not pd.to_datetime(pd.Series(values[:5]), errors="coerce").isna().any()
        except (ValueError, TypeError, OverflowError):
            return False


def _refuse_misnamed_long(names: list[Any], reading: Reading, source: str) -> None:
    """unique_id beside ds or y, and a third column under another name: the long format with
    its dates or values misnamed (unless the third is one of the series to read: then wide)."""
    missing = [n for n in LONG if n not in names]
    if len(names) != 3 or "unique_id" not in names or len(missing) != 1 or (
            reading.columns is not None and set(reading.columns) <= set(map(str, names))):
        return
    other = next(n for n in names if n not in LONG)
    ds, y = (other, "y") if missing == ["ds"] else ("ds", other)
    role = "date column ds" if missing == ["ds"] else "values column y"
    raise DataError(f"{source}: columns unique_id, {ds}, {y}: the long format names its {role} "
                    f"(rename {other!r} to {missing[0]})")


def _short_series_hint(wide: pd.DataFrame, known: np.ndarray, start: int, shown: Callable[[Any], str]) -> str:
    """Of a long table's series (`wide`'s columns; `known`: (dates, series) where each has a
    value, from row `start`), those that start last or end first, which a reader may rather
    leave out than trim the others to them: a store opened late, say."""
    starts, ends = known.argmax(axis=0), len(known) - 1 - known[::-1].argmax(axis=0)
    for edge, at, word in ((starts, starts.max(), "start"), (ends, ends.min(), "end")):
        if (edge != at).any():  # some series reach past this edge: the others limit the span
            named = [str(c) for c, e in zip(wide.columns, edge) if e == at]
            listed = names_text(named, 3)
            return (f", or leave out {listed} ({'it' if len(named) == 1 else 'they'} {word}{'s' * (len(named) == 1)} "
                    f"at {shown(wide.index[start + at])}; --columns chooses the series)")
    return ""


def _long_table(df: pd.DataFrame, reading: Reading, source: str, first_line: int | np.ndarray | None = None
                ) -> tuple[pd.DatetimeIndex, list[str], np.ndarray, dict[str, Any], str | None, tuple[str, ...]]:
    """A long table (`unique_id`, `ds`, `y`; a CSV's cells as text, or any dtypes) -> the wide
    (dates, columns, values), the ids, the format that writes its dates back as they are
    (`written_format`, where none was given) and the series left out (`Table.unread`); errors
    name its rows (`first_line` as in `validate_frame`), and its dates parse as a wide
    table's do. Every series needs a row at every date; with `reading.used`, only the rows of
    the last `used` dates are read and returned (a long history costs a forecast nothing);
    with `reading.blanks`, at none."""
    columns, used = reading.columns, reading.used
    extra = [c for c in df.columns if c not in LONG]
    if extra:
        # (no long run was trained on another column: refused for every command)
        _refuse_saved_index(extra, "ds", source, "or leave it out of the table", trained=False)
        raise DataError(f"{source}: long format takes only the columns unique_id, ds, y; "
                        f"unexpected {', '.join(map(repr, extra[:5]))} (the models read no other inputs: "
                        "leave it out of the table)")
    if len(df) == 0:
        raise DataError(f"{source}: no data rows")
    rows = df.reset_index(drop=True)
    ids = _strip(rows["unique_id"])
    spellings = pd.DataFrame({"id": ids.astype(str), "as_written": rows["unique_id"].astype(str)}).drop_duplicates()
    if len(twice := spellings[spellings["id"].duplicated(keep=False)]):  # ' A' and 'A': one series to a reader
        a, b = twice["as_written"].iloc[:2]
        raise DataError(f"{source}: unique_id values {a!r} and {b!r} are one name without the blanks around them")
    others: tuple[str, ...] = ()
    if columns is not None:  # the chosen series' rows; row numbers stay the table's own
        text = ids.astype(str)
        _chosen(reading, list(pd.unique(text)), source, long=True)
        others = _unread(reading, list(pd.unique(text)))
        chosen = text.isin(columns).to_numpy()
        rows, ids = rows[chosen], ids[chosen]
    named = line_namer(first_line)
    where = lambda i: named(int(rows.index[i]))  # noqa: E731 - row i of those read: its place in the table
    ds = parse_dates(_strip(rows["ds"]), "ds", source, where, reading)
    if len(gone := missing_cells(ids).nonzero()[0]):
        raise DataError(f"{source}: {where(int(gone[0]))}: missing unique_id")
    names = ids.astype(str)
    first = ~names.duplicated().to_numpy()
    # every series (also one without rows among the dates read) -> its id as given, blanks and all:
    # the forecast's rows then merge back onto the caller's
    back = dict(zip(names[first], rows["unique_id"].to_numpy()[first]))
    if len(back) != ids.nunique():
        raise DataError(f"{source}: unique_id values {sorted(set(ids), key=str)[:5]} are not distinct as text")
    if used is not None and len(ds):  # a forecast reads the last `used` dates: rows before them are skipped unread
        read = ds >= ds.unique().sort_values()[-used:][0]
        rows, ds, ids, names = rows[read], ds[read], ids[read], names[read]
    cells = _strip(rows["y"])
    y = _numbers(cells, reading.decimal, names.to_numpy())
    unread = ~np.isfinite(y)
    if reading.blanks or used is not None:  # as a wide table's blank cell: not known, or before the rows read
        unread &= ~missing_cells(cells)
    if len(bad := unread.nonzero()[0]):
        i = int(bad[0])
        cell = cells.iloc[i]
        hint = ""
        if is_missing(cell):  # dates appended for the forecast, with y left blank?
            blank = pd.Series(missing_cells(cells), index=ds).groupby(level=0).all().sort_index()  # (dates,)
            if (tail := _tail(blank.to_numpy())) and ds[i] >= blank.index[-tail]:
                hint = _blank_tail_hint(tail, "dates", first_line is None, "df.dropna(subset=['y'])")
        raise DataError(f"{source}: {where(i)}, column 'y' (series {show_cell(ids.iloc[i])}): "
                        f"{cell_problem(cell, reading) + hint}")
    key = pd.DataFrame({"unique_id": names, "ds": ds})
    if len(dup := key.duplicated().to_numpy().nonzero()[0]):
        i = int(dup[0])
        raise DataError(f"{source}: {where(i)}: series {show_cell(ids.iloc[i])} has date "
                        f"{show_cell(rows['ds'].iloc[i])} more than once")
    wide = pd.DataFrame({"unique_id": names, "ds": ds, "y": y}).pivot(index="ds", columns="unique_id", values="y")
    wide = wide.sort_index()
    # a series without rows among the dates read comes back all NaN, and is named below
    wide = wide.reindex(columns=list(columns) if columns is not None else sorted(back, key=_sort_key_one))
    start = 0 if used is None else max(len(wide) - used, 0)  # dates before are not read
    holes = np.argwhere(wide.iloc[start:].isna().to_numpy()) + [start, 0]
    if len(holes) and not reading.blanks:
        r, c = holes[0]
        known = wide.iloc[start:].notna().to_numpy()  # (dates, series)
        if (tail := _tail(~known.any(axis=1))) and r - start >= len(known) - tail:  # as a wide table's blank rows
            raise DataError(f"{source}: series {show_cell(back[wide.columns[c]])} has no value for date "
                            f"{date_text(wide.index[r], message_format(wide.index, reading.date_format))}"
                            + _blank_tail_hint(tail, "dates", first_line is None, "df.dropna(subset=['y'])"))
        first = wide.index[start + known.argmax(axis=0)].max()  # the dates every series spans
        last = wide.index[start + len(known) - 1 - known[::-1].argmax(axis=0)].min()
        shown = lambda d: date_text(d, message_format(wide.index, reading.date_format))  # noqa: E731
        # a hint where the whole table is read (not a forecast's last dates) and the series overlap
        fix = ("" if used is not None or first > last or not known.any(axis=0).all() else
               ": give it a row for that date (interpolated, say)" if first <= wide.index[r] <= last else
               f": trim the series to the dates they all span, {shown(first)} .. {shown(last)}"
               + ("" if reading.trained else _short_series_hint(wide, known, start, shown)))
        raise DataError(f"{source}: series {show_cell(back[wide.columns[c]])} has no value for date "
                        f"{shown(wide.index[r])} (every series needs every date{fix})")
    # the dates in a column named as no series is (a series may be called 'date' or 'ds')
    date_column = "date"
    while date_column in back:
        date_column = "_" + date_column
    frame = wide.rename_axis(columns=None).reset_index(names=date_column)
    frame.columns = [str(c) for c in frame.columns]
    pivoted = Reading(date_column=date_column, used=used, blanks=reading.blanks, rows=reading.rows,
                      trained=reading.trained, given=reading.given, flags=reading.flags)
    dates, names, values = validate_frame(frame, pivoted, source=source, first_line=None)
    written = written_format(_strip(rows["ds"]), ds) if reading.date_format is None else None
    return dates, names, values, back, written, others


def _sort_key_one(v: Any) -> tuple[int, Any, str]:
    """Numbers as numbers ("2" before "10"), then text; ids of one number ("1", "1.0") by their text."""
    try:
        return (0, float(v), str(v))
    except (TypeError, ValueError):
        return (1, str(v), "")


def _sort_key(col: pd.Series) -> pd.Series:
    return col.map(_sort_key_one) if col.name == "unique_id" else col


def to_long(forecast: pd.DataFrame, ids: dict[str, Any], name: str) -> pd.DataFrame:
    """A wide forecast back to the long format it came in, with the caller's own `unique_id`
    values (`ids`, from `frame_table`), sorted by series then date: columns `unique_id`, `ds`
    and the forecast in column `name` (as neuralforecast names it by its model; `y` holds
    actual values)."""
    long = forecast.rename_axis(index="ds", columns="unique_id").stack().rename(name).reset_index()
    # sorted by the run's names: a caller's id with blanks around it sorts as without them
    long = long[["unique_id", "ds", name]].sort_values(["unique_id", "ds"], kind="stable", key=_sort_key)
    return long.assign(unique_id=long["unique_id"].map(ids)).reset_index(drop=True)
