"""Dates in a user's table: parsed as written (inferred formats, day-first slashes,
--date-format, UTC offsets that change at a daylight-saving switch, Unix seconds), written
back the same way, named in messages, and checked for one regular time step (fixed like `h`
or calendar like `MS`), with hints for the usual breaks (a clock change, a mid-month date).
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from dynonet.errors import DataError, first_message_line

if TYPE_CHECKING:  # only its settings are read here; tables imports this module
    from dynonet.tables import Reading


def parse_dates(raw: pd.Series, column: str, source: str, where: Callable[[int], str],
                reading: Reading) -> pd.DatetimeIndex:
    """Parse a date column (as `reading.date_format` says); the first cell that is no date is
    named by its line."""
    date_format, named = reading.date_format, reading.format_words()
    if date_format == UNIX_SECONDS and not pd.api.types.is_datetime64_any_dtype(raw):  # dates are dates
        return _unix_seconds(raw, column, source, where, named)
    if pd.api.types.is_numeric_dtype(raw):
        # numbers are read as a CSV's cells are (2020: the year), not as pandas' nanoseconds
        raw = raw.map(_number_text)
    if date_format is not None:
        try:
            try:
                with warnings.catch_warnings():  # pandas 2 warns of mixed offsets where pandas 3 raises
                    warnings.filterwarnings("error", message=".*mixed time zones", category=FutureWarning)
                    dates = pd.DatetimeIndex(pd.to_datetime(raw, format=date_format, errors="coerce"))
            except (ValueError, FutureWarning):  # %z with several offsets (a daylight-saving change): read in UTC
                dates = pd.DatetimeIndex(pd.to_datetime(raw, format=date_format, errors="coerce", utc=True))
                latest = raw.iloc[[int(dates.argmax())]] if dates.notna().any() else raw.iloc[-1:]  # rows may run backwards
                dates = _in_last_offset(dates, pd.to_datetime(latest, format=date_format, errors="coerce"))
        except (ValueError, TypeError, OverflowError) as e:
            raise DataError(f"{source}: column {column!r}: cannot parse dates with {named} "
                            f"({first_message_line(e)})") from None
        bad = dates.isna().nonzero()[0]
        shape = lambda cell: re.sub(r"\d+", "0", str(cell))  # noqa: E731 - 29/02/2023 and 13/01/2023 alike
        if len(bad) and reading.settled and shape(raw.iloc[bad[0]]) != shape(raw.iloc[0]):
            # no format was given: the first dates set it, and this one is written otherwise
            raise DataError(f"{source}: {where(bad[0])}: date {raw.iloc[bad[0]]!r} in column {column!r} is written "
                            f"otherwise than {raw.iloc[0]!r} ({where(0)}); write every date one way, or give "
                            "--date-format")
        if len(bad) and reading.settled:
            raise DataError(f"{source}: {where(bad[0])}: date {raw.iloc[bad[0]]!r} in column {column!r} is no "
                            f"calendar date (read as {date_format!r}, as the column's other dates)")
        if len(bad):
            raise DataError(f"{source}: {where(bad[0])}: date {raw.iloc[bad[0]]!r} in column {column!r} does not "
                            f"match {named}" + (" (give --date-format for this file)"
                                                if reading.the_runs("date_format") and reading.flags else ""))
        return dates
    if (order := _slash_order(raw)) is not None and order[0] == "either" and order[1] is not None:
        i = order[1]
        day, month = _slash_format(raw, day_first=True), _slash_format(raw, day_first=False)
        hint = ("the run reads dates without a format: write them year first (2023-02-01)"
                + (", or give --date-format" if reading.flags else "") if reading.the_runs("date_format") else
                f"give --date-format {day!r} or {month!r}" if day and month else
                "give --date-format, day first (%d/%m/%Y) or month first (%m/%d/%Y), with the time's format")
        raise DataError(f"{source}: {where(i)}: date {raw.iloc[i]!r} in column {column!r} could be day first or "
                        f"month first, as could every date of the column; {hint}")
    # a column that settles day first, in a form no format was found for: parsed so, cell by cell
    day_first = order is not None and order[0] == "day"
    try:
        with warnings.catch_warnings():  # "could not infer format": cells parsed one by one, as wanted
            warnings.simplefilter("ignore")
            dates = pd.DatetimeIndex(pd.to_datetime(raw, errors="coerce", dayfirst=day_first))
    except (ValueError, TypeError, OverflowError) as e:  # e.g. mixed time zones
        if (dates := _several_offsets(raw)) is not None:
            return dates
        for i, cell in enumerate(raw):
            try:
                with warnings.catch_warnings():  # a number cast to a date may warn before failing
                    warnings.simplefilter("ignore")
                    parsed = pd.to_datetime(cell)
                if pd.isna(parsed):
                    raise ValueError
            except (ValueError, TypeError, OverflowError):
                raise DataError(f"{source}: {where(i)}: cannot parse date {cell!r} in column {column!r}"
                                + _format_hint(cell, raw)) from None
        raise DataError(f"{source}: column {column!r}: cannot parse dates ({first_message_line(e)})") from None
    if dates.hasnans:  # pandas guesses one format from the first cell; ISO 8601 may fit them all
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                iso = pd.DatetimeIndex(pd.to_datetime(raw, errors="coerce", format="ISO8601"))
            dates = dates if iso.hasnans else iso
        except (ValueError, TypeError, OverflowError):
            pass
    bad = dates.isna().nonzero()[0]
    if len(bad):
        i = bad[0]
        raise DataError(f"{source}: {where(i)}: cannot parse date {raw.iloc[i]!r} in column {column!r}"
                        + _format_hint(raw.iloc[i], raw))
    return dates


SLASH_DATE = re.compile(r"^\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{2}|\d{4})(?!\d)(.*)")  # 01/02/2023 ...


def _slash_order(raw: pd.Series) -> tuple[str, int | None] | None:
    """How a column of day/month/year or month/day/year dates is written: ("day", None) or
    ("month", None) where a number above 12 settles it, ("either", i) where every date reads
    both ways (i: the first whose two numbers differ; None if none does, as 03/03/2023). None
    for a column not so written."""
    if not pd.api.types.is_object_dtype(raw) and not pd.api.types.is_string_dtype(raw):
        return None
    if not len(raw) or not SLASH_DATE.match(str(raw.iloc[0])):  # most columns: decided by their first cell
        return None
    parts = raw.astype(str).str.extract(SLASH_DATE)
    if parts[0].isna().any():
        return None
    first, second = parts[0].astype(int), parts[2].astype(int)
    if (first > 12).any() or (second > 12).any():
        return ("day" if (first > 12).any() else "month"), None
    differ = (first != second).to_numpy().nonzero()[0]
    return "either", (int(differ[0]) if len(differ) else None)


def _slash_format(raw: pd.Series, day_first: bool) -> str | None:
    """The strftime format of a column of dates such as '01/02/2023 14:00', day or month first;
    its time part as pandas reads it after an unmistakable date. None if pandas cannot tell."""
    m = SLASH_DATE.match(str(raw.iloc[0]))
    sep, year = m[2], "%Y" if len(m[4]) == 4 else "%y"
    date = sep.join(("%d", "%m") if day_first else ("%m", "%d")) + sep + year
    for rest in dict.fromkeys(raw.iloc[:24].astype(str).str.extract(SLASH_DATE)[4]):
        if not rest.strip():
            return date
        if re.search(r"\b[AP]M\b", rest, flags=re.IGNORECASE):  # a 12-hour clock: pandas' guess misses '1:00 PM'
            rest = re.sub(r"\bPM\b", "AM", re.sub(r"^(\D*)\d{1,2}:", r"\g<1>01:", rest), flags=re.IGNORECASE)
        if (guess := guess_datetime_format("2023-01-31" + rest)) and guess.startswith("%Y-%m-%d"):
            return date + guess[len("%Y-%m-%d"):]
    return None


def settled_format(reading: Reading, raw: pd.Series) -> Reading:
    """`reading` with the format of a day/month/year or month/day/year date column that the
    column itself settles (a 13 somewhere), where no format was given: read so, rather than by
    pandas' guess from the first cell, and kept by a trained run, whose later data may not settle it."""
    if reading.date_format is not None or (order := _slash_order(raw)) is None or order[0] == "either":
        return reading
    fmt = _slash_format(raw, day_first=order[0] == "day")
    return reading if fmt is None else dataclasses.replace(reading, date_format=fmt, settled=True)


def written_format(raw: pd.Series, dates: pd.DatetimeIndex) -> str | None:
    """The strftime format that writes a column's last dates back as they are written, such as
    '%Y-%m' for '2014-01', so that a forecast's dates look like its input's; None where none
    does (pandas' ISO 8601 then writes them). `dates`: the column as it was read (the format
    must read the same dates: a guess may take '03 02 2020' month first where the column was
    read day first). Read off the column's last 24 dates."""
    cells, read = raw.astype(str).iloc[-24:], dates[-24:]
    if not len(cells):
        return None
    with warnings.catch_warnings():  # pandas' note on a day-first guess: the checks below decide
        warnings.simplefilter("ignore")
        guess = guess_datetime_format(cells.iloc[-1])
        for fmt in [guess] if guess else MONTH_FORMATS:
            try:
                again = pd.DatetimeIndex(pd.to_datetime(cells, format=fmt, errors="coerce"))
                if (again == read).all() and again.strftime(fmt).tolist() == cells.tolist():
                    return fmt
            except (ValueError, TypeError, OverflowError):  # several UTC offsets; with and without a zone
                return None
    return None


# 'Jan 2000', which pandas reads but does not guess a format for
MONTH_FORMATS = ("%b %Y", "%B %Y", "%b-%Y", "%B-%Y")


def _number_text(cell: object) -> object:
    """A number as a CSV would hold it: 2020.0 (a whole float, as a column with a gap keeps its
    integers) as '2020'; a missing cell stays missing."""
    if pd.isna(cell):
        return cell
    if isinstance(cell, (float, np.floating)) and float(cell).is_integer():
        return str(int(cell))
    return str(cell)


def _format_hint(cell: object, column: pd.Series) -> str:
    """Day-first dates (31/01/2023) are what pandas' month-first guess most often trips on;
    and a count of seconds is no date until the format says so, nor a column of step numbers. The format is a setting of
    training (`dynonet predict` reads dates as the run was trained to)."""
    if isinstance(cell, str) and re.match(r"\d{1,2}([/.-])\d{1,2}\1\d{2,4}", cell):
        return " (day first? give the format when training, e.g. --date-format %d/%m/%Y)"
    if isinstance(cell, (str, int, float, np.number)) and re.fullmatch(r"-?\d{9,}(\.\d*)?", str(cell).strip()):
        digits = str(cell).strip()
        if (written := DIGIT_DATES.get(len(digits))) and 1800 <= int(digits[:4]) <= 2200 \
                and not pd.isna(pd.to_datetime(digits, format=written, errors="coerce")):  # 2024010113: a date
            return f" (a date written as digits? train with --date-format {written}; Unix seconds: --date-format %s)"
        if abs(float(cell)) > MAX_UNIX_SECONDS:
            return " (Unix time in milliseconds? divide by 1000, and train with --date-format %s)"
        return " (Unix time in seconds? train with --date-format %s)"
    if isinstance(cell, str) and (zone := re.search(r"\d\s*([A-Z]{3,5})$", cell.strip())) and zone[1] not in (
            "UTC", "GMT"):  # 'CET', 'EST': pandas reads offsets, and UTC
        return " (a time zone name? write the dates in UTC, or with their UTC offsets such as +01:00)"
    if column.astype(str).str.strip().str.fullmatch(r"-?\d{1,7}").all():  # every date: not one bad cell
        return (" (whole numbers for time steps? train with --date-format %s: they are read as seconds, and a "
                "forecast counts on from the last)")
    return ""


UNIX_SECONDS = "%s"  # as `date +%s` prints: seconds since 1970-01-01 00:00 UTC
DIGIT_DATES = {10: "%Y%m%d%H"}  # dates as digits pandas does not read, by their length (it reads 8, 12 and 14)
# Beyond this (the year 5138) a count is more likely milliseconds than seconds.
MAX_UNIX_SECONDS = 1e11


def _unix_seconds(raw: pd.Series, column: str, source: str, where: Callable[[int], str],
                  named: str = f"--date-format {UNIX_SECONDS!r}") -> pd.DatetimeIndex:
    """Dates given as Unix time in seconds, read as UTC wall-clock dates (no time zone), in
    microseconds as pandas reads ISO dates (so they reach far beyond pandas' nanosecond 2262)."""
    seconds = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if len(bad := (~np.isfinite(seconds)).nonzero()[0]):
        raise DataError(f"{source}: {where(bad[0])}: date {raw.iloc[bad[0]]!r} in column {column!r} is not a "
                        f"Unix time in seconds ({named})")
    if len(bad := (np.abs(seconds) > MAX_UNIX_SECONDS).nonzero()[0]):
        raise DataError(f"{source}: {where(bad[0])}: date {raw.iloc[bad[0]]!r} in column {column!r} is out of "
                        f"range for Unix time in seconds (above {MAX_UNIX_SECONDS:.0e}: milliseconds? divide "
                        "them by 1000)")
    # whole seconds exactly (a float64 holds them), fractions to the microsecond
    whole = np.floor(seconds)
    micros = np.round((seconds - whole) * 1e6).astype(np.int64)
    return pd.DatetimeIndex(whole.astype(np.int64).astype("datetime64[s]").astype("datetime64[us]")
                            + micros.astype("timedelta64[us]"))


def date_cells(index: pd.DatetimeIndex, date_format: str | None) -> pd.Index:
    """The forecast's dates as a CSV writes them: as the input wrote its own (`date_format`)."""
    if date_format == UNIX_SECONDS:
        utc = index.tz_convert("UTC").tz_localize(None) if index.tz is not None else index
        micros = utc.as_unit("us").asi8  # integers: no overflow, no rounding
        return pd.Index([_seconds_text(int(m)) for m in micros], name=index.name)
    if date_format is None:
        return index
    return pd.Index(index.strftime(date_format), name=index.name)


def unix_seconds(dates: pd.DatetimeIndex | pd.Series) -> pd.Index:
    """Dates read as Unix seconds (`UNIX_SECONDS`) as numbers again, as a table in memory held
    them: integers where every date is a whole second, else float seconds."""
    index = pd.DatetimeIndex(dates)
    micros = index.as_unit("us").asi8  # (N,) integers: no overflow, no rounding
    name = dates.name
    if (micros % 10**6 == 0).all():
        return pd.Index(micros // 10**6, name=name)
    return pd.Index(micros / 1e6, name=name)


def date_text(date: pd.Timestamp, date_format: str | None) -> str:
    """One date for a message, as the user's file writes it; Unix seconds with the UTC time
    beside them ('1700000000 (2023-11-14 22:13:20 UTC)'), as nobody reads those at sight."""
    text = str(date_cells(pd.DatetimeIndex([date]), date_format)[0])
    if date_format == UNIX_SECONDS:
        utc = date.tz_convert("UTC").tz_localize(None) if date.tz is not None else date
        return f"{text} ({utc} UTC)"
    return text


def _seconds_text(micros: int) -> str:
    """Microseconds since 1970 as exact decimal seconds: '1700000000', '-1.5'."""
    whole, fraction = divmod(abs(micros), 10**6)
    text = f"{whole}.{fraction:06d}".rstrip("0").rstrip(".")
    return f"-{text}" if micros < 0 else text


OFFSET = re.compile(r"\s*(Z|[+-]\d\d(:?\d\d)?)$")  # a date's UTC offset, written at its end


def _several_offsets(raw: pd.Series) -> pd.DatetimeIndex | None:
    """Dates written with more than one UTC offset (a time zone's daylight-saving changes, as
    pandas writes them). Calendar data, every date at one wall-clock time (daily at midnight),
    keeps its wall-clock dates; finer data is read in UTC, where its steps are even. None when
    the cells do not all parse so."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            utc = pd.DatetimeIndex(pd.to_datetime(raw, utc=True, errors="coerce"))
            wall = pd.DatetimeIndex(pd.to_datetime(raw.str.replace(OFFSET, "", regex=True), errors="coerce"))
    except (ValueError, TypeError, OverflowError, AttributeError):  # AttributeError: cells are not text
        return None
    if utc.hasnans or wall.hasnans:
        return None
    last = pd.to_datetime(raw.iloc[[int(utc.argmax())]], errors="coerce")  # the latest date (rows may run backwards)
    if (wall - wall.normalize()).nunique() == 1:
        return wall.tz_localize(last.dt.tz) if last.dt.tz is not None else wall
    return _in_last_offset(utc, last)


def _in_last_offset(utc: pd.DatetimeIndex, last: pd.Series) -> pd.DatetimeIndex:
    """Dates read in UTC, in the UTC offset of the column's latest date (`last`, parsed alone),
    as an offset names no time zone: a forecast goes on in the offset its data ended in."""
    tz = getattr(last.dt, "tz", None) if not last.isna().all() else None
    return utc.tz_convert(tz) if tz is not None else utc


def regular_freq(dates: pd.DatetimeIndex, source: str, where: Callable[[int], str] | None = None) -> str:
    """The one frequency that steps from every date to the next, as an offset string ('h',
    '15min', 'D', 'B', 'MS', ...; calendar steps such as months count as one step).

    `dates` strictly increase and number at least 2. When no frequency fits them all, raises
    `DataError` at the first date off the most common step, or off a calendar frequency
    (pandas' inference on a leading stretch, e.g. business days or months) that fits a longer
    leading stretch; `where(i)` names row i ("line 12") in the message (None: the dates do).
    """
    try:
        return _regular_freq(dates, source, where)
    except DataError:
        # Time-zone-aware calendar data (daily at midnight across a DST change) steps evenly in
        # local wall time, not in absolute time (pandas 2 counts a day as 24 hours).
        if dates.tz is None:
            raise
        wall = dates.tz_localize(None)
        if wall.is_monotonic_increasing and wall.is_unique:
            try:
                return _regular_freq(wall, source, where)
            except DataError:
                pass
        raise


def _regular_freq(dates: pd.DatetimeIndex, source: str, where: Callable[[int], str] | None) -> str:
    if len(dates) < 2:
        raise DataError(f"{source}: a single row has no time step")
    full = _infer(dates) if len(dates) >= 3 else None
    if full is not None and first_break(dates, full) == len(dates):
        return full.freqstr
    deltas, counts = np.unique(np.diff(dates.asi8), return_counts=True)
    common_step = pd.Timedelta(int(deltas[counts.argmax()]), unit=dates.unit)
    candidates = [pd.tseries.frequencies.to_offset(common_step)]  # a fixed step ('24h' for days)
    if common_step % pd.Timedelta(days=1) == pd.Timedelta(0):  # or whole calendar days ('D'), named first
        candidates.insert(0, pd.offsets.Day(common_step.days))
    k = 8
    while k < len(dates):  # calendar frequencies of ever longer leading stretches
        lead = _infer(dates[:k])
        if lead is not None and not isinstance(lead, pd.offsets.Tick) and lead not in candidates:
            candidates.append(lead)
        k *= 2
    reach = [first_break(dates, c) for c in candidates]
    best = int(np.argmax(reach))  # the first of the longest-reaching: a common step on a tie
    i, step = reach[best], candidates[best]
    if i == len(dates):
        return step.freqstr
    place = f"{where(i)}: " if where is not None else ""
    hint = _clock_change_hint(dates, i, step) or _mid_month_hint(dates)
    hint = hint or gap_hint(dates[i - 1 : i + 1], step)
    fmt = message_format(dates, None)
    raise DataError(f"{source}: {place}date {date_text(dates[i], fmt)} is not one step ({step.freqstr}) after "
                    f"{date_text(dates[i - 1], fmt)}; rows must be evenly spaced in time" + hint)


def gap_hint(pair: pd.DatetimeIndex, step: pd.DateOffset) -> str:
    """How to fill the gap between two dates on the grid of `step` with rows missing between
    them ("" where they are not such a pair)."""
    if not (pair[1] > pair[0] + step and on_grid(pair, step)):
        return ""
    return (f" (a gap: fill it on a regular grid first, e.g. with pandas' .asfreq({step.freqstr!r}) and "
            ".interpolate(), or .ffill() over holidays)")


# steps in one cycle of a calendar step: a week of days (of business days), a year of weeks,
# months, half months or quarters; a fixed step below a day counts its cycle in days (`season_of`)
_CYCLES = ((pd.offsets.Day, 7), (pd.offsets.BusinessDay, 5), (pd.offsets.Week, 52),
           ((pd.offsets.MonthBegin, pd.offsets.MonthEnd, pd.offsets.BusinessMonthBegin,
             pd.offsets.BusinessMonthEnd), 12),
           ((pd.offsets.SemiMonthBegin, pd.offsets.SemiMonthEnd), 24),
           ((pd.offsets.QuarterBegin, pd.offsets.QuarterEnd, pd.offsets.BQuarterBegin, pd.offsets.BQuarterEnd), 4))


def season_of(freq: str) -> int | None:
    """Steps in one seasonal cycle of data that steps by `freq` (`regular_freq`): a day of
    steps shorter than a day (24 hours, 96 quarter hours), a week of days (5 business days),
    a year of weeks (52), months (12), half months (24) or quarters (4); None where no such
    cycle is a whole number of steps above one (yearly data, 7-minute or 2-day steps)."""
    try:
        step = pd.tseries.frequencies.to_offset(freq)
    except ValueError:  # a step another pandas wrote ('H', 'T'): no cycle, as for an unknown one
        return None
    cycle = next((per // step.n for kinds, per in _CYCLES if isinstance(step, kinds) and per % step.n == 0), 0)
    if not cycle and isinstance(step, pd.offsets.Tick):  # a fixed step: hours, minutes, seconds, ...
        steps, rest = divmod(pd.Timedelta(days=1), pd.Timedelta(step))
        cycle = steps if rest == pd.Timedelta(0) else 0
    return int(cycle) if cycle > 1 else None


# What messages call a step of each kind of pandas offset (anchors such as '-SUN' stay in its code)
_STEP_UNITS = ((pd.offsets.Nano, "nanosecond"), (pd.offsets.Micro, "microsecond"), (pd.offsets.Milli, "millisecond"),
               (pd.offsets.Second, "second"), (pd.offsets.Minute, "minute"), (pd.offsets.Hour, "hour"),
               (pd.offsets.Day, "day"), (pd.offsets.BusinessHour, "business hour"),
               (pd.offsets.CustomBusinessDay, "business day"), (pd.offsets.BusinessDay, "business day"),
               (pd.offsets.Week, "week"), ((pd.offsets.SemiMonthBegin, pd.offsets.SemiMonthEnd), "half month"),
               ((pd.offsets.MonthBegin, pd.offsets.MonthEnd, pd.offsets.BusinessMonthBegin,
                 pd.offsets.BusinessMonthEnd), "month"),
               ((pd.offsets.QuarterBegin, pd.offsets.QuarterEnd, pd.offsets.BQuarterBegin,
                 pd.offsets.BQuarterEnd), "quarter"),
               ((pd.offsets.YearBegin, pd.offsets.YearEnd, pd.offsets.BYearBegin, pd.offsets.BYearEnd), "year"))


def step_text(freq: str) -> str:
    """A time step as messages name it: in words, with its pandas code (what pandas' `.asfreq`
    takes): "1 hour ('h')", "15 minutes ('15min')", "1 year ('YS-JAN')"; the code alone where
    pandas does not know it."""
    try:
        step = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        return repr(freq)
    unit = next((name for kinds, name in _STEP_UNITS if isinstance(step, kinds)), None)
    return repr(freq) if unit is None else f"{step.n} {unit}{'s' * (step.n != 1)} ({freq!r})"


def message_format(dates: pd.DatetimeIndex, date_format: str | None,
                   step: pd.DateOffset | None = None) -> str | None:
    """How messages write `dates`: in `date_format`, or calendar dates as written (2013-08-01),
    without the midnight pandas would add (unless `step`, the data's, is shorter than a day)."""
    finer = isinstance(step, pd.offsets.Tick) and pd.Timedelta(step) < pd.Timedelta(days=1)
    if date_format is None and not finer and len(dates) and (dates == dates.normalize()).all():
        return "%Y-%m-%d"
    return date_format


def date_namer(dates: pd.DatetimeIndex, date_format: str | None) -> Callable[[int], str]:
    """How errors name row i of a table in memory, or of a long table pivoted: by its date
    ("date 2024-01-08"), as its position need not be the caller's label for it."""
    fmt = message_format(dates, date_format)
    return lambda i: f"date {date_text(dates[i], fmt)}"


CLOCK_CHANGE_HINT = " (a daylight-saving switch? write the dates in UTC, or with their UTC offsets)"


def _mid_month_hint(dates: pd.DatetimeIndex) -> str:
    """Dates a whole number of months apart on one day of the month, neither its first nor its
    last (the 15th): no pandas frequency steps so, so the hint names the ones that do."""
    months = np.diff(dates.year * 12 + dates.month)
    if len(dates) < 3 or dates.day.nunique() != 1 or len(set(months)) != 1 or months[0] < 1 \
            or (dates - dates.normalize()).nunique() != 1:
        return ""
    return (f" (dates {months[0]} month{'s' if months[0] > 1 else ''} apart on day {dates[0].day}: a monthly step "
            "falls on a month's first or last day; date the rows so, e.g. "
            "df['date'] = df['date'].dt.to_period('M').dt.to_timestamp())")


def on_grid(dates: pd.DatetimeIndex, step: pd.DateOffset) -> bool:
    """Whether `dates` lie on one grid of `step`s (a whole number of fixed steps apart, or each on
    a calendar step's dates): then a longer distance between two is rows missing, which filling
    on that grid mends."""
    for a, b in zip(dates[:-1], dates[1:]):  # any offset, fixed or calendar (pandas 3's Day is no Tick)
        grid = pd.date_range(a, b, freq=step)
        if not len(grid) or grid[0] != a or grid[-1] != b:
            return False
    return True


def clock_change_at(date: pd.Timestamp) -> bool:
    """Whether local clocks go forward or back near `date` somewhere: at night (0-4 h), in the
    months of the switches (March, April, September to November, either hemisphere)."""
    return date.tz is None and date.month in (3, 4, 9, 10, 11) and date.hour < 4


def _clock_change_hint(dates: pd.DatetimeIndex, i: int, step: pd.DateOffset) -> str:
    """Local times without their UTC offsets skip an hour when clocks go forward."""
    gap = dates[i] - dates[i - 1]
    skipped = isinstance(step, pd.offsets.Tick) and gap - pd.Timedelta(step) == pd.Timedelta(hours=1)
    return CLOCK_CHANGE_HINT if skipped and clock_change_at(dates[i - 1]) else ""


def _infer(dates: pd.DatetimeIndex) -> pd.DateOffset | None:
    with warnings.catch_warnings():  # pandas is changing the return type; accept both
        warnings.simplefilter("ignore")
        freq = pd.infer_freq(dates)
    if freq is not None:
        return pd.tseries.frequencies.to_offset(freq)
    # pandas never infers semi-monthly steps: the 1st and the k-th (SMS-k), or the k-th and the
    # month's end (SME-k), k = 15 by default; k is read off the first dates
    days = sorted({d for d in dates[:3].day if 2 <= d <= 27})
    steps = [step(day_of_month=k) for k in days for step in (pd.offsets.SemiMonthBegin, pd.offsets.SemiMonthEnd)]
    return next((step for step in steps if first_break(dates, step) == len(dates)), None)


def first_break(dates: pd.DatetimeIndex, step: pd.DateOffset) -> int:
    """The first i with dates[i] != dates[i - 1] + step; len(dates) if there is none."""
    with warnings.catch_warnings():  # adding a calendar offset element-wise warns about speed
        warnings.simplefilter("ignore")
        following = dates[:-1] + step
    bad = np.nonzero(np.asarray(following != dates[1:]))[0]
    return int(bad[0]) + 1 if len(bad) else len(dates)
