"""dynonet.dates: dates written back as read, Unix seconds, and the one regular time step."""

import numpy as np
import pandas as pd
import pytest

from dynonet import dates
from dynonet.dates import date_cells, regular_freq, step_text
from dynonet.errors import DataError


def test_unix_seconds_of_zoned_dates_count_from_utc():
    berlin = pd.date_range("2023-11-14 23:13:20", periods=2, freq="min", tz="Europe/Berlin")
    assert list(date_cells(berlin, "%s")) == ["1700000000", "1700000060"]


@pytest.mark.parametrize("micros, text", [(0, "0"), (1_500_000, "1.5"), (-1_500_000, "-1.5"), (-500_000, "-0.5"),
                                          (1_700_000_000_000_001, "1700000000.000001")])
def test_unix_seconds_are_written_as_exact_decimals(micros, text):
    assert dates._seconds_text(micros) == text


def test_unix_seconds_reach_past_the_nanosecond_range_and_back():
    late = pd.DatetimeIndex(np.array(["2261-01-01", "2262-01-01", "2263-01-01"], dtype="datetime64[us]"))  # past 2262
    cells = date_cells(late, "%s")
    again = pd.Series([str(c) for c in cells])
    assert dates._unix_seconds(again, "date", "x", str).equals(late)


def test_a_constant_step_pandas_does_not_name_still_passes():
    across_dst = pd.date_range("2020-03-01", periods=60, freq="24h", tz="Europe/Paris")  # 24 h, not calendar days
    assert regular_freq(across_dst, "x") in ("24h", "D")  # pandas 3 / pandas 2 (where a day is 24 h)
    odd = pd.date_range("2020-01-01", periods=50, freq=pd.Timedelta(hours=1, seconds=0.5))
    assert pd.Timedelta(pd.tseries.frequencies.to_offset(regular_freq(odd, "x"))) == pd.Timedelta("1h 0.5s")


@pytest.mark.parametrize("freq", ["D", "h"])
def test_time_zone_aware_data_across_a_dst_change_passes(freq):
    dates = pd.date_range("2020-03-01", periods=24 * 60 if freq == "h" else 60, freq=freq, tz="Europe/Paris")
    assert pd.tseries.frequencies.to_offset(regular_freq(dates, "x")) == pd.tseries.frequencies.to_offset(freq)


def test_a_date_off_the_grid_gets_no_gap_hint(tmp_path):
    dates = pd.DatetimeIndex(["2024-01-01 08:00", "2024-01-01 09:00", "2024-01-01 10:30", "2024-01-01 11:30"])
    with pytest.raises(DataError, match=r"rows must be evenly spaced in time$"):  # filling on 'h' would drop 10:30
        regular_freq(dates, "d.csv")
    days = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-05 12:00"])
    with pytest.raises(DataError, match=r"rows must be evenly spaced in time$"):  # nor on 'D' (12:00)
        regular_freq(days, "d.csv")
    with pytest.raises(DataError, match=r"\(a gap: fill it on a regular grid first, e.g. with pandas' .asfreq\('D'\)"):
        regular_freq(days[:3].append(pd.DatetimeIndex(["2024-01-05"])), "d.csv")


@pytest.mark.parametrize("cells, fmt", [
    (["2014-01", "2014-02"], "%Y-%m"),
    (["2016-07-01 00:00:00"], "%Y-%m-%d %H:%M:%S"),
    (["2016-07-01T00:00"], "%Y-%m-%dT%H:%M"),
    (["2020", "2021"], "%Y"),
    (["31.01.2023"], "%d.%m.%Y"),
    (["2021-03-28 01:00:00+01:00", "2021-03-28 03:00:00+02:00"], None),  # strftime writes +0100, not +01:00
    (["2014-1"], None),  # strftime pads the month
    (["Dec 2013", "Jan 2014"], "%b %Y"),  # month names, which pandas reads but does not guess
    (["April-2013", "May-2013"], "%B-%Y"),
    (["2000Q1"], None),  # a quarter has no strftime code: written in ISO 8601
])
def test_written_format_writes_the_last_dates_back_as_they_are_written(cells, fmt):
    offsets = any("+" in c for c in cells)  # read in UTC, as dates with several offsets are
    read = pd.DatetimeIndex([pd.Timestamp(c).tz_convert("UTC") if offsets else pd.Timestamp(c) for c in cells])
    assert dates.written_format(pd.Series(cells), read) == fmt


def test_written_format_reads_the_dates_the_column_was_read_as():
    # '03 02 2020' guessed month first, in a column read day first: not the dates read, so not kept
    cells = pd.Series(["03 02 2020 00:00", "03 02 2020 01:00"])
    assert dates.written_format(cells, pd.DatetimeIndex(["2020-02-03 00:00", "2020-02-03 01:00"])) is None
    assert dates.written_format(cells, pd.DatetimeIndex(["2020-03-02 00:00", "2020-03-02 01:00"])) is not None


@pytest.mark.parametrize("freq, season", [
    ("h", 24), ("2h", 12), ("15min", 96), ("min", 1440), ("10s", 8640), ("D", 7), ("B", 5), ("W-SUN", 52),
    ("W-MON", 52), ("2W-SUN", 26), ("MS", 12), ("ME", 12), ("SMS", 24), ("3MS", 4), ("QS-OCT", 4), ("QE-DEC", 4),
    ("YS", None), ("7min", None), ("25h", None), ("2D", None), ("5D", None)])
def test_season_of_a_time_step_is_a_day_week_or_year_of_steps(freq, season):
    assert dates.season_of(freq) == season


@pytest.mark.parametrize("freq, text", [("h", "1 hour ('h')"), ("15min", "15 minutes ('15min')"),
                                        ("B", "1 business day ('B')"), ("W-SUN", "1 week ('W-SUN')"),
                                        ("MS", "1 month ('MS')"), ("SMS", "1 half month ('SMS')"),
                                        ("QE-DEC", "1 quarter ('QE-DEC')"), ("YS-JAN", "1 year ('YS-JAN')"),
                                        ("H", "'H'"), ("nonsense", "'nonsense'")])
def test_a_step_is_named_in_words_beside_its_pandas_code(freq, text):
    assert step_text(freq) == text
