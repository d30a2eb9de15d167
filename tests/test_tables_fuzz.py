"""Property-based tests of tables.read_csv / tables.validate_frame: whatever text (or bytes, or
DataFrame) comes in, the only exception that comes out is `DataError`, and a result that
comes out is valid (dates parse and strictly increase, every value finite, shapes agree)."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynonet.tables import Reading, read_csv, validate_frame
from dynonet.errors import DataError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DATES = ["2020-01-01", "2020-01-02", "2020-01-01 01:00", "2020-01-01T00:00+01:00", "2020-01-01T00:00+02:00",
         "2020-01-01T00:00Z", "2262-04-12", "1677-09-21", "0001-01-01", "99999-01-01", "Jan 5 2020",
         "2020/13/01", "1", "1700000000", "x", ""]
CELLS = ["", " ", "nan", "NaN", "NA", "null", "inf", "-inf", "1e400", "1", "-2.5", " 3 ", "0x10", "1,5",
         "abc", "True", '"', '"a,b"', '"1\n2"', "\t", "#", "\x00", "é"]
cell = st.one_of(st.sampled_from(DATES + CELLS), st.text(max_size=6))
header_name = st.one_of(st.sampled_from(["date", "a", "b", "date", " date", "", "Unnamed: 0"]), st.text(max_size=4))


@st.composite
def csv_text(draw) -> str:
    """Mostly CSV-shaped text: a header and rows of odd cells, odd row lengths, odd line ends."""
    header = draw(st.lists(header_name, max_size=4))
    rows = draw(st.lists(st.lists(cell, max_size=5), max_size=6))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return newline.join([",".join(header)] + [",".join(r) for r in rows]) + draw(st.sampled_from(["", "\n"]))


@st.composite
def nearly_valid_csv(draw) -> str:
    """A valid file with at most one cell broken: errors must name that cell's line."""
    n = draw(st.integers(1, 8))
    dates = pd.date_range("2021-03-01", periods=n, freq=draw(st.sampled_from(["h", "D", "15min"])))
    values = draw(st.lists(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=2),
                           min_size=n, max_size=n))
    lines = ["date,x,y"] + [f"{d},{a!r},{b!r}" for d, (a, b) in zip(dates.astype(str), values)]
    if draw(st.booleans()):
        row = draw(st.integers(1, n))
        col = draw(st.integers(0, 2))
        cells = lines[row].split(",")
        cells[col] = draw(cell)
        lines[row] = ",".join(cells)
    return "\n".join(lines) + "\n"


def check(result: tuple[pd.DatetimeIndex, list[str], np.ndarray]) -> None:
    dates, columns, values = result
    assert isinstance(dates, pd.DatetimeIndex) and not dates.hasnans
    assert values.dtype == np.float64 and values.shape == (len(dates), len(columns)) and len(columns) >= 1
    assert np.isfinite(values).all()
    assert (np.diff(dates.asi8) > 0).all()
    assert len(set(columns)) == len(columns)


def read_bytes(raw: bytes) -> tuple[pd.DatetimeIndex, list[str], np.ndarray] | None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.csv"
        path.write_bytes(raw)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pandas' ParserWarning / UserWarning are not errors
                return read_csv(path)
        except DataError as e:
            assert str(path) in str(e) and "\n" not in str(e)  # one line that names the file
            return None


@FUZZ
@given(csv_text())
def test_csv_shaped_text(text):
    result = read_bytes(text.encode("utf-8", "surrogatepass"))
    if result is not None:
        check(result)


@FUZZ
@given(st.one_of(st.text(max_size=80), st.binary(max_size=80)))
def test_arbitrary_text_and_bytes(raw):
    result = read_bytes(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass"))
    if result is not None:
        check(result)


@FUZZ
@given(nearly_valid_csv())
def test_one_broken_cell_is_named_or_the_values_round_trip(text):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.csv"
        path.write_text(text)
        try:
            dates, columns, values = read_csv(path)
        except DataError as e:
            assert "line " in str(e) or "not a readable CSV" in str(e) or "more fields" in str(e), str(e)
            return
        expected = pd.read_csv(path)
    check((dates, columns, values))
    if list(expected.columns) == ["date", "x", "y"] and expected[["x", "y"]].dtypes.eq(float).all():
        np.testing.assert_array_equal(values, expected[["x", "y"]].to_numpy())


frame_cell = st.one_of(st.none(), st.floats(), st.integers(-10**20, 10**20), st.booleans(), st.text(max_size=4),
                       st.sampled_from(DATES))


@FUZZ
@given(st.integers(0, 6).flatmap(lambda n: st.tuples(
    st.lists(frame_cell, min_size=n, max_size=n),  # the date column
    st.lists(st.lists(frame_cell, min_size=n, max_size=n), max_size=3),  # value columns
)))
def test_validate_frame_on_dataframes(columns):
    date_cells, value_columns = columns
    frame = pd.DataFrame({"date": pd.Series(date_cells, dtype=object),
                          **{f"v{i}": pd.Series(c, dtype=object) for i, c in enumerate(value_columns)}})
    try:
        result = validate_frame(frame, source="frame", first_line=None)
    except DataError as e:
        assert str(e).startswith("frame: ") and "\n" not in str(e)
        return
    check(result)


def test_a_file_aligned_with_runs_of_spaces_is_told_apart_from_a_saved_index(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("      date  a\n2020-01-01  1\n2020-01-02  2\n")  # as df.to_string(index=False) writes it
    with pytest.raises(DataError, match=r"line 1: column 1 has no name \(fields aligned with runs of spaces\? --sep ' ' "):
        read_csv(path, Reading(sep=" "))


@pytest.mark.parametrize("text, message", [
    ("date,a\n2020-01-01,1\n2020-01-01,2\n", "line 3: duplicate date"),
    ("date,a\n2020-01-02,1\n2020-01-01,2\n", "line 3: date goes backwards"),
    ("date,a\n2020-01-01,1\n2020-01-02,\n", "line 3, column 'a': missing value"),
    ("date,a\n2020-01-01,1\n2020-01-02\n", "line 3, column 'a': missing value"),
    ("date,a\n2020-01-01,-inf\n", "line 2, column 'a': '-inf' is not a finite number"),
    ("date,a\nX,2020-01-01,1\n", "more fields than the header"),
    ("date,a\n2020-01-01,1\n2020-01-02,2,3\n", r"f.csv: line 3: 3 fields where the lines before have 2$"),
    ("date,a\n2020-01-01,1\n2020-01-02,\"2\n2020-01-03,3\n",
     r'f.csv: line 3: a quote \(\"\) opens a field that no quote closes before the end of the file$'),
    ("date,a\n2020-01-01 00:00 CET,1\n", r"line 2: cannot parse date .* \(a time zone name\? write the dates in UTC"),
    ("day,a\n2020-01-01,1\n", "no date column 'date'"),
    ("date\n2020-01-01\n", "no numeric columns"),
    ("date,a\n", "no data rows"),
    ("", "no header line"),
])
def test_named_errors(tmp_path, text, message):
    path = tmp_path / "f.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_csv(path)


def test_iso_dates_with_and_without_time_parse(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("date,a\n2020-01-01,1\n2020-01-01 01:00,2\n")
    dates, _, _ = read_csv(path)
    assert [str(d) for d in dates] == ["2020-01-01 00:00:00", "2020-01-01 01:00:00"]


DATE_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d/%m/%Y %H:%M",
                "%m/%d/%Y %I:%M %p", "%d-%m-%y", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %I:%M:%S %p", "%d/%m/%Y %H:%M:%S.%f"]


@FUZZ
@given(start=st.datetimes(min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
                          max_value=pd.Timestamp("2030-12-31").to_pydatetime()),
       freq=st.sampled_from(["h", "D", "MS", "6h", "W"]), n=st.integers(2, 40), fmt=st.sampled_from(DATE_FORMATS))
def test_dates_are_read_right_or_refused_never_misread(start, freq, n, fmt):
    """Dates written in a common format and read without one: the right dates, or a DataError
    (day or month first cannot be told), never other dates (pandas' month-first guess)."""
    dates = pd.date_range(pd.Timestamp(start).floor("h" if freq in ("h", "6h") else "D"), periods=n, freq=freq)
    if "%H" not in fmt and "%I" not in fmt and freq in ("h", "6h"):
        dates = pd.date_range(dates[0].normalize(), periods=n, freq="D")  # a format without hours: daily data
    cells = [d.strftime(fmt) for d in dates]
    if len(set(cells)) < n:
        return  # the format cannot tell these dates apart (a 2-digit year across a century)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.csv"
        path.write_text("date,a\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells)))
        try:
            read, _, _ = read_csv(path)
        except DataError as e:
            # refused only where it cannot be told: the format begins with the day or the month,
            # and no day is past 12 to tell which
            assert fmt[:2] in ("%d", "%m") and max(d.day for d in dates) <= 12, (fmt, cells[:3], str(e))
            assert "could be day first or month first" in str(e), str(e)
            return
    expected = pd.DatetimeIndex(pd.to_datetime(cells, format=fmt))
    assert (read.to_numpy() == expected.to_numpy()).all(), (cells[:3], list(read[:3]))
