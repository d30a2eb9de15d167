"""dynonet.tables: reading and checking a user's table (CSV or DataFrame), its dates and its
time step; errors name the file, line and column (the date functions alone: test_dates.py)."""

import re

import numpy as np
import pandas as pd
import pytest

from dynonet.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from dynonet.data import load
from dynonet.errors import DataError
from dynonet import tables
from dynonet.dates import date_cells, regular_freq
from dynonet.tables import Reading, read_csv

from conftest import good_csv, write

def test_read_csv_accepts_a_valid_file(tmp_path):
    dates, cols, values = read_csv(write(tmp_path, good_csv()))
    assert cols == ["a", "b"] and values.shape == (10, 2) and len(dates) == 10


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda t: t.replace("date,a,b", "time,a,b"), "no date column 'date'"),
        (lambda t: "date\n" + "\n".join(l.split(",")[0] for l in t.splitlines()[1:]) + "\n", "no numeric columns"),
        (lambda t: t.replace(",3,6", ",,6"), "line 5, column 'a': missing value (fill gaps first, e.g. with "
                                              "pandas' .interpolate() or .ffill())"),
        (lambda t: t + "2020-01-01 10:00:00,,\n2020-01-01 11:00:00,,\n",  # dates appended for the forecast
         "line 12, column 'a': missing value (the last 2 rows have no value in any series: delete those rows; a "
         "forecast starts after the last row it reads)"),
        (lambda t: t.replace(",0,0\n", ",,0\n").replace(",1,2\n", ",,2\n").replace(",2,4\n", ",,4\n"),
         "line 2, column 'a': missing value (its first value is at line 5: start the table there, or leave this "
         "column out: --columns names the series to read)"),  # a series that starts late: nothing interpolates that
        (lambda t: t.replace(",3,6", ",nan,6"), "line 5, column 'a'"),
        (lambda t: t.replace(",3,6", ",3,inf"), "line 5, column 'b'"),
        (lambda t: t.replace(",3,6", ",3,abc"), "'abc' is not a finite number"),
        (lambda t: t.replace("2020-01-01 03:00:00", "2020-01-01 02:00:00"), "line 5: duplicate date"),
        (lambda t: t.replace("2020-01-01 03:00:00", "2019-01-01 01:00:00"), "line 5: date goes backwards"),
        (lambda t: t.replace("2020-01-01 03:00:00", "yesterday"), "line 5: cannot parse date"),
        (lambda t: "date,a,b\n", "no data rows"),
        (lambda t: "".join(f"{i - 1 if i else ''},{line}\n" for i, line in enumerate(t.splitlines())),
         "line 1: column 1 has no name (a saved index?"),  # what DataFrame.to_csv writes by default
        (lambda t: "".join(f"{i - 1 if i else 'Unnamed: 0'},{line}\n" for i, line in enumerate(t.splitlines())),
         "column 'Unnamed: 0' is how pandas names a column written without a name: a saved index? write the CSV "
         "with index=False, or leave it out with --columns"),  # such a file read and written again by pandas
        (lambda t: "".join(f"{i - 1 if i else ''},{line.replace('date', 'ds')}\n"
                           for i, line in enumerate(t.splitlines())).replace(",ds,a,b", ",ds,unique_id,y"),
         "line 1: column 1 has no name (a saved index? write the CSV with index=False)"),  # a long table's
        (lambda t: "".join(f"{i - 1 if i else 'Unnamed: 0'},{line.replace('date', 'ds')}\n"
                           for i, line in enumerate(t.splitlines())).replace(",ds,a,b", ",ds,unique_id,y"),
         "column 'Unnamed: 0' is how pandas names a column written without a name: a saved index? write the CSV "
         "with index=False, or leave it out of the table"),  # a long table read and written again by pandas
        (lambda t: t.replace("date,a,b", ",a,b"),  # a date index saved without a name
         "line 1: column 1 has no name (the dates? name it: df.rename_axis('date').to_csv(...))"),
        (lambda t: t.replace(",", ";"), "line 1: one column 'date;a;b' (it looks separated by ';': give --sep ';')"),
        (lambda t: t.replace(",3,6", ',"1,003",6'), "line 5, column 'a': '1,003' is not a finite number "
                                                     "(thousands separators?"),
        (lambda t: "\n".join(f"{l},x" if i else f"{l},city" for i, l in enumerate(t.splitlines())),
         "line 2, column 'city': 'x' is not a finite number (no cell of this column is a number; --columns "
         "chooses which columns are series)"),
        (lambda t: t.replace("date,a,b", "time,a,b"), "(columns: 'time', 'a', 'b'; --date-column names another, or give the long format: columns unique_id, ds, y)"),
        (lambda t: t.replace("date,a,b", "date,a,a"), "line 1: column 'a' appears more than once"),
        (lambda t: t.replace("date,a,b", "Date,a,b"), "no date column 'date' (columns: 'Date', 'a', 'b'; give "
                                                      "--date-column Date)"),
        (lambda t: "\n".join([t.splitlines()[0], *(f"{i}," + l.split(",", 1)[1] for i, l in
                                                   enumerate(t.splitlines()[1:]))]) + "\n",
         "line 2: cannot parse date '0' in column 'date' (whole numbers for time steps? train with --date-format %s"),
        (lambda t: t.replace("date,a,b", "date,a,"), "line 1: column 3 has no name"),
    ],
)
def test_bad_csv_gives_one_line_error_naming_the_place(tmp_path, mutate, fragment):
    path = write(tmp_path, mutate(good_csv()))
    with pytest.raises(DataError) as e:
        read_csv(path)
    msg = str(e.value)
    assert fragment in msg and str(path) in msg and "\n" not in msg


def test_blanks_around_header_names_are_not_part_of_them(tmp_path):
    dates, cols, values = read_csv(write(tmp_path, good_csv().replace("date,a,b", " date , a,b ")))
    assert cols == ["a", "b"] and len(dates) == 10


@pytest.mark.parametrize("freq, tz, instants", [("h", "Europe/Berlin", True), ("D", "America/New_York", False)])
def test_dates_written_with_several_utc_offsets(tmp_path, freq, tz, instants):
    """What pandas writes for time-zone-aware dates across a daylight-saving change: read in
    the offset of the last date (an offset names no zone: a forecast goes on in it), hourly
    data as instants (even steps), daily data at its wall-clock dates."""
    local = pd.date_range("2023-03-01", periods=24 * 40 if freq == "h" else 40, freq=freq, tz=tz)
    pd.DataFrame({"a": range(len(local))}, index=local.rename("date")).to_csv(tmp_path / "d.csv")
    assert len(set(local.strftime("%z"))) == 2  # the file holds two offsets
    dates, _, _ = read_csv(tmp_path / "d.csv")
    last = pd.Timestamp(str(local[-1])).tz  # a fixed offset: -04:00 / +02:00
    expected = local.tz_convert(last) if instants else local.tz_localize(None).tz_localize(last)
    assert dates.equals(expected) and regular_freq(dates, "x") == freq


def test_a_date_format_with_utc_offsets_across_a_time_change(tmp_path):
    local = pd.date_range("2023-03-20", periods=24 * 10, freq="h", tz="Europe/Berlin")
    text = "date,a\n" + "".join(f"{d:%d.%m.%Y %H:%M%z},{i}\n" for i, d in enumerate(local))
    dates, _, _ = read_csv(write(tmp_path, text), Reading(date_format="%d.%m.%Y %H:%M%z"))
    assert str(dates[-1]) == "2023-03-30 00:00:00+02:00"  # in the last date's offset
    assert dates.equals(local.tz_convert(dates[-1].tz)) and regular_freq(dates, "x") == "h"


def test_day_first_dates_are_read_so_where_the_column_settles_it(tmp_path):
    text = "date,a\n" + "".join(f"{d:%d/%m/%Y},{i}\n" for i, d in enumerate(pd.date_range("2023-01-01", periods=20)))
    path = write(tmp_path, text)
    table = tables.read_table(path)  # 13/01/2023 on line 14 settles it: pandas' guess from line 2 would not
    assert table.dates.equals(pd.date_range("2023-01-01", periods=20)) and table.date_format == "%d/%m/%Y"
    dates, _, _ = read_csv(path, Reading(date_format="%d/%m/%Y"))
    assert dates.equals(pd.date_range("2023-01-01", periods=20))
    with pytest.raises(DataError, match=r"line 2: date '01/01/2023' in column 'date' does not match --date-format "
                                        r"'%Y-%m-%d'"):
        read_csv(path, Reading(date_format="%Y-%m-%d"))


@pytest.mark.parametrize("freq, cell_format, first", [
    ("h", "%d/%m/%Y %H:%M", 2),  # 24 hours of 1 February: read as 2 January they would pass unseen
    ("MS", "%d/%m/%Y", 3),  # monthly, day first: read month first they would be days 1-12 of January
    ("D", "%m.%d.%y", 3),
])
def test_dates_that_read_both_day_and_month_first_need_their_format(tmp_path, freq, cell_format, first):
    dates = pd.date_range("2023-02-01" if freq == "h" else "2023-01-01", periods=24 if freq == "h" else 12, freq=freq)
    path = write(tmp_path, "date,a\n" + "".join(f"{d.strftime(cell_format)},{i}\n" for i, d in enumerate(dates)))
    day, month = (cell_format, cell_format.replace("%d", "%D").replace("%m", "%d").replace("%D", "%m"))
    if not cell_format.startswith("%d"):
        day, month = month, day
    cell = dates[first - 2].strftime(cell_format)
    with pytest.raises(DataError, match=rf"line {first}: date '{re.escape(cell)}' in column 'date' could be day first "
                                        rf"or month first, as could every date of the column; give --date-format "
                                        rf"'{re.escape(day)}' or '{re.escape(month)}'$"):
        read_csv(path)
    assert read_csv(path, Reading(date_format=cell_format))[0].equals(dates)
    with pytest.raises(DataError, match=r"the run reads dates without a format: write them year first"):
        read_csv(path, Reading(trained=True))


@pytest.mark.parametrize("cells, fmt", [
    (["12/01/2023 1:00 PM", "13/01/2023 1:00 PM"], "%d/%m/%Y %I:%M %p"),  # a 13 first: day first
    (["01/12/2023 00:00:00.000", "01/13/2023 00:00:00.000"], "%m/%d/%Y %H:%M:%S.%f"),  # a 13 second: month first
    (["12.01.23T10:00", "13.01.23T10:00"], "%d.%m.%yT%H:%M"),
    (["12/01/2023 12:00:00 AM", "13/01/2023 12:00:00 AM"], "%d/%m/%Y %I:%M:%S %p"),  # midnight, not noon
    (["2012-01-02", "2012-01-03"], None),  # year first: pandas reads these without doubt
    (["01/01/2023 00:00", "01/01/2023 01:00"], None),  # the same both ways
])
def test_a_column_that_settles_day_or_month_first_is_read_so_and_keeps_its_format(tmp_path, cells, fmt):
    path = write(tmp_path, "date,a\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells)))
    table = tables.read_table(path)
    assert table.date_format == fmt and len(table.dates) == 2 and table.dates[1] - table.dates[0] > pd.Timedelta(0)
    if fmt is not None:
        assert (table.dates.to_numpy() == pd.to_datetime(cells, format=fmt).to_numpy()).all()  # read right
        written = pd.to_datetime(list(date_cells(table.dates, fmt)), format=fmt)  # written back in that format
        assert (written.to_numpy() == table.dates.to_numpy()).all()
        frame = pd.DataFrame({"date": cells, "a": [1.0, 2.0]})
        assert tables.frame_table(frame).date_format == fmt  # a DataFrame's text dates too


def test_a_decimal_comma_is_named_when_the_decimal_mark_is_a_point(tmp_path):
    path = write(tmp_path, "date;a\n2023-01-01;1,5\n2023-01-02;2,5\n")
    with pytest.raises(DataError, match=r"line 2, column 'a': '1,5' is not a finite number \(a decimal comma\? "
                                        r"give --decimal ','\)$"):
        read_csv(path, Reading(sep=";"))
    assert read_csv(path, Reading(sep=";", decimal=","))[2][:, 0].tolist() == [1.5, 2.5]


def test_a_quoted_decimal_comma_in_a_comma_separated_file_is_told_to_take_another_separator(tmp_path):
    path = write(tmp_path, 'date,a\n"2023-01-01","1,5"\n"2023-01-02","2,5"\n')
    with pytest.raises(DataError, match=r"'1,5' is not a finite number \(a decimal comma in a comma-separated file\? "
                                        r"write the file separated by ';', e.g. df.to_csv\(sep=';', decimal=','\), "
                                        r"and give --sep ';' --decimal ','\)$"):
        read_csv(path)


def test_an_empty_column_is_named_as_such(tmp_path):
    path = write(tmp_path, "date,a,empty\n2023-01-01,1,\n2023-01-02,2,\n")
    with pytest.raises(DataError, match=r"line 2, column 'empty': missing value \(no cell of this column is filled; "
                                        r"--columns chooses which columns are series\)$"):
        read_csv(path)
    assert read_csv(path, Reading(columns=("a",)))[1] == ["a"]


def test_columns_left_alone_may_have_repeated_or_blank_names(tmp_path):
    path = write(tmp_path, "date,a,note,note,,b\n2023-01-01,1,x,y,z,3\n2023-01-02,2,x,y,z,4\n")
    dates, columns, values = read_csv(path, Reading(columns=("b", "a")))
    assert columns == ["b", "a"] and values.tolist() == [[3.0, 1.0], [4.0, 2.0]]
    with pytest.raises(DataError, match="line 1: column 5 has no name"):  # all columns read: each needs a name
        read_csv(path)
    with pytest.raises(DataError, match="line 1: column 'note' appears more than once"):
        read_csv(path, Reading(columns=("a", "note")))


def test_a_dataframe_s_names_that_clash_without_blanks_are_named_and_unchosen_ones_left_alone():
    df = pd.DataFrame({"date": pd.date_range("2023-01-01", periods=3, freq="h"), "a": [1.0] * 3, "a ": [2.0] * 3,
                       "b": [3.0, 4.0, 5.0]})
    with pytest.raises(DataError, match=r"columns 'a' and 'a ' are one name without the blanks around them"):
        tables.frame_table(df)
    assert tables.frame_table(df, Reading(columns=("b",))).columns == ["b"]


def test_a_dataframe_s_saved_index_is_refused_unless_left_out():
    df = pd.DataFrame({"Unnamed: 0": [0, 1, 2], "date": pd.date_range("2023-01-01", periods=3, freq="h"),
                       "b": [3.0, 4.0, 5.0]})
    with pytest.raises(DataError, match=r"^DataFrame: column 'Unnamed: 0' is how pandas names a column written "
                                        r"without a name: .* or drop it: df.drop\(columns='Unnamed: 0'\)$"):
        tables.frame_table(df, source="DataFrame")
    assert tables.frame_table(df, Reading(columns=("b",))).columns == ["b"]
    # a run trained on such a column before it was refused still reads it
    assert tables.frame_table(df, Reading(columns=("Unnamed: 0", "b"), trained=True)).columns == ["Unnamed: 0", "b"]


def test_a_long_file_newest_first_is_read_in_its_latest_dates_offset(tmp_path):
    hours = pd.date_range("2024-03-28", periods=24 * 5, freq="h", tz="Europe/Berlin")  # Mar 31: +01:00 to +02:00
    long = pd.DataFrame({"unique_id": "a", "ds": hours.astype(str), "y": range(len(hours))})
    long.iloc[::-1].to_csv(tmp_path / "desc.csv", index=False)
    dates, _, _ = read_csv(tmp_path / "desc.csv")
    assert str(dates[-1]) == str(hours[-1]) and str(dates[-1]).endswith("+02:00")


def test_a_dataframe_s_column_names_are_read_as_a_csv_header_is(tmp_path):
    df = pd.DataFrame({" date ": pd.date_range("2023-01-01", periods=3, freq="h"), " load ": [1.0, 2.0, 3.0]})
    df.to_csv(tmp_path / "d.csv", index=False)
    from_csv, from_frame = read_csv(tmp_path / "d.csv"), tables.frame_table(df)
    assert from_csv[1] == from_frame.columns == ["load"]
    assert from_frame.dates.equals(from_csv[0])


def test_a_dataframe_with_two_level_column_names_is_refused():
    df = pd.DataFrame(np.ones((4, 2)), index=pd.date_range("2023-01-01", periods=4, freq="h"),
                      columns=pd.MultiIndex.from_tuples([("a", "load"), ("b", "temp")]))
    with pytest.raises(DataError, match=r"^DataFrame: has 2-level column names \(such as \('a', 'load'\)\); "
                                        r"give one level"):
        tables.frame_table(df)


@pytest.mark.parametrize("cells, expected", [
    (["1700000000", "1700000060"], ["2023-11-14 22:13:20", "2023-11-14 22:14:20"]),
    (["0.5", "1.5"], ["1970-01-01 00:00:00.5", "1970-01-01 00:00:01.5"]),
    (["-86400", "0"], ["1969-12-31", "1970-01-01"]),
])
def test_unix_seconds_read_as_utc_dates_and_written_back(tmp_path, cells, expected):
    dates, _, _ = read_csv(write(tmp_path, "date,a\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells))),
                           Reading(date_format="%s"))
    assert (dates == pd.DatetimeIndex(expected)).all() and dates.tz is None  # any unit: pandas 2 parses to ns
    assert [str(v) for v in date_cells(dates, "%s")] == [str(float(c)) if "." in c else c for c in cells]


def test_numbers_in_a_dataframe_date_column_read_as_a_csv_would_hold_them():
    years = pd.DataFrame({"date": [2020.0, 2021.0, 2022.0], "a": [1.0, 2, 3]})
    assert tables.validate_frame(years)[0].equals(pd.DatetimeIndex(["2020", "2021", "2022"]))
    gap = pd.DataFrame({"date": [20200101, None, 20200103], "a": [1.0, 2, 3]})  # floats, with a gap
    with pytest.raises(DataError, match="row 1: date nan in column 'date' does not match"):
        tables.validate_frame(gap, Reading(date_format="%Y%m%d"), first_line=None)
    dates = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=3, freq="h"), "a": [1.0, 2, 3]})
    assert tables.validate_frame(dates, Reading(date_format="%s"))[0].equals(pd.DatetimeIndex(dates["date"]))


@pytest.mark.parametrize("cell", ["soon", "", "inf"])
def test_a_cell_that_is_no_unix_time_is_named(tmp_path, cell):
    path = write(tmp_path, f"date,a\n1700000000,1\n{cell},2\n")
    with pytest.raises(DataError, match="line 3: date .* in column 'date' is not a Unix time in seconds"):
        read_csv(path, Reading(date_format="%s"))


def test_dates_written_as_digits_are_told_their_format(tmp_path):
    first, second, written = "2024011513", "2024011514", "%Y%m%d%H"  # (pandas reads 12 and 14 digits itself)
    path = write(tmp_path, f"date,a\n{first},1\n{second},2\n")
    with pytest.raises(DataError, match=rf"line 2: cannot parse date '{first}' in column 'date' \(a date written as "
                                        rf"digits\? train with --date-format {written}; Unix seconds: --date-format "
                                        r"%s\)$"):
        read_csv(path)
    assert read_csv(path, Reading(date_format=written))[0][0] == pd.Timestamp("2024-01-15 13:00")  # as it says


def test_milliseconds_are_told_apart_from_seconds(tmp_path):
    path = write(tmp_path, "date,a\n1700000000000,1\n1700000060000,2\n")
    with pytest.raises(DataError, match=r"line 2: cannot parse date '1700000000000' in column 'date' \(Unix time in "
                                        r"milliseconds\? divide by 1000, and train with --date-format %s\)"):
        read_csv(path)
    with pytest.raises(DataError, match=r"line 2: date '1700000000000' in column 'date' is out of range for Unix time "
                                        r"in seconds \(above 1e\+11: milliseconds\? divide them by 1000\)"):
        read_csv(path, Reading(date_format="%s"))


def test_true_and_false_cells_count_as_a_dataframes_bool_column_does(tmp_path):
    flags = [True, False, True, True]
    frame = pd.DataFrame({"date": pd.date_range("2023-01-01", periods=4), "holiday": flags, "a": [1.0, 2, 3, 4]})
    frame.to_csv(tmp_path / "d.csv", index=False)
    assert "True" in (tmp_path / "d.csv").read_text()
    _, columns, values = read_csv(tmp_path / "d.csv")
    assert columns == ["holiday", "a"] and values[:, 0].tolist() == [1.0, 0.0, 1.0, 1.0]
    (tmp_path / "e.csv").write_text("date,holiday\n2023-01-01,TRUE\n2023-01-02,false\n2023-01-03,maybe\n")
    with pytest.raises(DataError, match="line 4, column 'holiday': 'maybe' is not a finite number"):
        read_csv(tmp_path / "e.csv")
    # a TRUE among numbers is a slip, not a 1 (pandas reads that column as text)
    (tmp_path / "f.csv").write_text("date,price\n2023-01-01,50.2\n2023-01-02,TRUE\n2023-01-03,49.8\n")
    with pytest.raises(DataError, match=r"^.*f.csv: line 3, column 'price': 'TRUE' is not a finite number \(True/False "
                                        r"count as 1/0 in a series of flags, beside 1s and 0s, not among other "
                                        r"numbers\)$"):
        read_csv(tmp_path / "f.csv")
    # flags beside 1s and 0s (a hand-edited sheet), and a series of flags beside others in the long format
    (tmp_path / "g.csv").write_text("date,holiday\n2023-01-01,TRUE\n2023-01-02,0\n2023-01-03,1\n2023-01-04,false\n")
    assert read_csv(tmp_path / "g.csv")[2][:, 0].tolist() == [1.0, 0.0, 1.0, 0.0]
    (tmp_path / "long.csv").write_text("unique_id,ds,y\nload,2023-01-01,1.5\nload,2023-01-02,2.5\n"
                                       "holiday,2023-01-01,TRUE\nholiday,2023-01-02,0\n")
    assert read_csv(tmp_path / "long.csv")[2].tolist() == [[1.0, 1.5], [0.0, 2.5]]  # (holiday, load)
    (tmp_path / "long.csv").write_text("unique_id,ds,y\nload,2023-01-01,1.5\nload,2023-01-02,TRUE\n")
    with pytest.raises(DataError, match=r"line 3, column 'y' \(series 'load'\): 'TRUE' is not a finite number \(True/"):
        read_csv(tmp_path / "long.csv")
    # a frame's bools are read as a CSV of it reads them: among floats refused, beside 1s and 0s flags
    frame = pd.DataFrame({"price": np.array([50.2, True, 49.8], dtype=object),
                          "holiday": np.array([np.True_, 0, 1], dtype=object)},
                         index=pd.date_range("2023-01-01", periods=3, name="date"))
    with pytest.raises(DataError, match=r"^DataFrame: date 2023-01-02, column 'price': True is not a finite number "
                                        r"\(True/False count as 1/0 in a series of flags"):
        tables.frame_table(frame)
    frame.to_csv(tmp_path / "frame.csv")
    with pytest.raises(DataError, match=r"line 3, column 'price': 'True' is not a finite number \(True/False"):
        read_csv(tmp_path / "frame.csv")  # the same refusal
    assert tables.frame_table(frame[["holiday"]]).values[:, 0].tolist() == [1.0, 0.0, 1.0]


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_csv(tmp_path / "nope.csv")


def csv_of(dates) -> str:
    return "date,a,b\n" + "".join(f"{d},{i},{2 * i}\n" for i, d in enumerate(dates))


def small_cfg(path, L=20, H=5):
    return RunConfig(ModelConfig(lookback=L, horizon=H), TrainConfig(), DataConfig(csv=str(path)))


def test_a_gap_in_the_middle_is_a_one_line_error_naming_file_line_dates_and_step(tmp_path):
    dates = pd.date_range("2020-01-01", periods=400, freq="h").delete(range(200, 210))  # 10 rows missing
    path = write(tmp_path, csv_of(dates))
    with pytest.raises(DataError) as e:
        load(small_cfg(path))
    msg = str(e.value)
    # row 200 of the data is line 202 of the file (the header is line 1)
    assert msg == (f"{path}: line 202: date 2020-01-09 18:00:00 is not one step (h) after 2020-01-09 07:00:00; "
                   "rows must be evenly spaced in time (a gap: fill it on a regular grid first, e.g. with pandas' "
                   ".asfreq('h') and .interpolate(), or .ffill() over holidays)")


def test_an_uneven_row_past_the_first_thousand_is_caught(tmp_path):
    dates = pd.date_range("2020-01-01", periods=3000, freq="15min")
    dates = dates.delete(2500)
    with pytest.raises(DataError, match=r"line 2502: .* is not one step \(15min\)"):
        load(small_cfg(write(tmp_path, csv_of(dates))))


def test_an_uneven_step_is_reported_against_the_most_common_step(tmp_path):
    dates = pd.DatetimeIndex(["2020-01-01 00:00", "2020-01-01 05:00"]).append(
        pd.date_range("2020-01-01 06:00", periods=300, freq="h"))
    with pytest.raises(DataError, match=r"line 3: date 2020-01-01 05:00:00 is not one step \(h\) after "
                                        r"2020-01-01 00:00:00"):
        load(small_cfg(write(tmp_path, csv_of(dates))))


@pytest.mark.parametrize("freq", ["MS", "ME", "B", "W-SUN", "D", "90min", "SMS", "SME", "SMS-10", "SME-20"])
def test_calendar_and_fixed_frequencies_pass(tmp_path, freq):
    dates = pd.date_range("2001-01-01", periods=300, freq=freq)
    data = load(small_cfg(write(tmp_path, csv_of(dates))))
    assert pd.tseries.frequencies.to_offset(data.freq) == pd.tseries.frequencies.to_offset(freq)


@pytest.mark.parametrize("freq, gap, expected", [
    ("MS", 150, r"line 152: date 2013-08-01 is not one step \(MS\) after 2013-06-01;"),  # no midnight added
    ("B", 150, r"line 152: date 2001-07-31 is not one step \(B\) after 2001-07-27;"),  # Fri -> Tue
    ("SMS", 150, r"line 152: date 2007-04-15 is not one step \(SMS-15\) after 2007-03-15;"),
])
def test_a_gap_in_calendar_data_is_named_at_its_calendar_step(tmp_path, freq, gap, expected):
    dates = pd.date_range("2001-01-01", periods=300, freq=freq).delete(gap)
    with pytest.raises(DataError, match=expected):
        load(small_cfg(write(tmp_path, csv_of(dates))))


def test_a_directory_is_not_a_file(tmp_path):
    with pytest.raises(DataError, match="is a directory, not a file"):
        read_csv(tmp_path)


# -- DataFrames, wide or long ------------------------------------------------------------------
def _long(n: int = 60) -> pd.DataFrame:
    """Series 2, 10 and 'temp' (ids of mixed types, as a user's may be), rows shuffled."""
    index = pd.date_range("2024-01-01", periods=n, freq="h")
    wide = pd.DataFrame({2: np.arange(n, dtype=float), 10: np.arange(n) * 2.0, "temp": np.cos(np.arange(n))},
                        index=index)
    long = wide.rename_axis(index="ds", columns="unique_id").stack().rename("y").reset_index()
    return long.sample(frac=1.0, random_state=0).reset_index(drop=True)


def test_long_format_goes_wide_and_back():
    long = _long()
    dates, columns, values, ids, *_ = tables.frame_table(long)
    assert columns == ["2", "10", "temp"] and ids == {"2": 2, "10": 10, "temp": "temp"}  # numbers as numbers
    assert len(dates) == 60 and dates.is_monotonic_increasing and values.shape == (60, 3)
    back = tables.to_long(pd.DataFrame(values, index=dates, columns=columns), ids, "y")
    assert list(back.columns) == ["unique_id", "ds", "y"] and back["unique_id"].tolist()[::60] == [2, 10, "temp"]
    assert back.groupby("unique_id", sort=False)["ds"].apply(lambda d: d.is_monotonic_increasing).all()
    merged = back.merge(long, on=["unique_id", "ds"], suffixes=("", "_in"))
    assert len(merged) == len(long) and np.array_equal(merged["y"], merged["y_in"])


@pytest.mark.parametrize("names", [("ds", "temp"), ("date", "_date", "y"), ("unique_id",)])
def test_series_may_be_named_as_the_long_formats_columns_are(names):
    long = _long()
    long = long[long["unique_id"].isin([2, 10, "temp"][: len(names)])].replace(
        {"unique_id": dict(zip([2, 10, "temp"], names))})
    dates, columns, values, ids, *_ = tables.frame_table(long)
    assert columns == sorted(names) and values.shape == (60, len(names)) and len(dates) == 60
    back = tables.to_long(pd.DataFrame(values, index=dates, columns=columns), ids, "y")
    merged = back.merge(long, on=["unique_id", "ds"], suffixes=("", "_in"))
    assert len(merged) == len(long) and np.array_equal(merged["y"], merged["y_in"])


def test_ids_of_one_number_written_two_ways_come_back_each_in_one_block():
    long = _long()
    long = long[long["unique_id"] != "temp"].replace({"unique_id": {2: "1", 10: "1.0"}})
    dates, columns, values, ids, *_ = tables.frame_table(long)
    assert columns == ["1", "1.0"]
    back = tables.to_long(pd.DataFrame(values, index=dates, columns=columns), ids, "y")
    assert back["unique_id"].tolist() == ["1"] * 60 + ["1.0"] * 60  # not interleaved by date


def test_long_format_errors():
    long = _long()
    inside = long.index[(long.unique_id == "temp") & (long.ds == pd.Timestamp("2024-01-02 06:00"))]
    with pytest.raises(DataError, match=r"series 'temp' has no value for date 2024-01-02 06:00:00 \(every series "
                                        r"needs every "
                                        r"date: give it a row for that date \(interpolated, say\)\)"):
        tables.frame_table(long.drop(inside))
    late = long.drop(long.index[(long.unique_id == "temp") & (long.ds < pd.Timestamp("2024-01-01 03:00"))])
    with pytest.raises(DataError, match=r"series 'temp' has no value for date 2024-01-01 00:00:00 \(every series "
                                        r"needs every date: trim the series to the dates they all span, "
                                        r"2024-01-01 03:00:00 .. 2024-01-03 11:00:00, or leave out 'temp' \(it starts "
                                        r"at 2024-01-01 03:00:00; --columns chooses the series\)\)$"):
        tables.frame_table(late)  # (a store opened late: leaving it out may keep more of the others' history)
    early = long.drop(long.index[(long.unique_id == "temp") & (long.ds > pd.Timestamp("2024-01-03 09:00"))])
    with pytest.raises(DataError, match=r"span, 2024-01-01 00:00:00 .. 2024-01-03 09:00:00, or leave out 'temp' \(it "
                                        r"ends at 2024-01-03 09:00:00; --columns chooses the series\)\)$"):
        tables.frame_table(early)
    with pytest.raises(DataError, match="has date .* more than once"):
        tables.frame_table(pd.concat([long, long.iloc[:1]]))
    numbered = long.assign(unique_id=(long.unique_id == "temp").astype(float))  # ids as numbers print as numbers
    with pytest.raises(DataError, match=r"^DataFrame: row 27: series 0.0 has date \S+ \S+ more than once$"):
        tables.frame_table(pd.concat([numbered, numbered.iloc[:1]]))
    with pytest.raises(DataError, match=r"column 'y' \(series .*\): 'x' is not a finite number"):
        tables.frame_table(long.assign(y=long["y"].astype(object).where(long.index != 5, "x")))
    with pytest.raises(DataError, match=r"unexpected 'price' \(the models read no other inputs: leave it out"):
        tables.frame_table(long.assign(price=1.0))
    blanks = long.assign(unique_id=long["unique_id"].astype(str).where(long.index % 2 == 0, " temp"))
    with pytest.raises(DataError, match=r"unique_id values ('temp' and ' temp'|' temp' and 'temp') are one name without the blanks"):
        tables.frame_table(blanks[blanks["unique_id"].str.strip() == "temp"])
    with pytest.raises(DataError, match="cannot parse date 'never'"):
        tables.frame_table(long.assign(ds=long["ds"].astype(str).where(long.index != 2, "never")))
    with pytest.raises(DataError, match="expected a pandas DataFrame, got list"):
        tables.frame_table([1, 2])


# -- choosing the series: columns= (--columns) --------------------------------------------------
def test_columns_choose_and_order_the_series_and_leave_the_rest_alone(tmp_path):
    path = tmp_path / "sites.csv"
    pd.read_csv(write(tmp_path, good_csv())).assign(site="north").to_csv(path, index=False)  # a column of text
    with pytest.raises(DataError, match="column 'site': 'north' is not a finite number"):
        read_csv(path)
    dates, cols, values = read_csv(path, Reading(columns=("b", "a")))
    assert cols == ["b", "a"] and values[3].tolist() == [6.0, 3.0] and len(dates) == 10
    with pytest.raises(DataError, match=r"no column 'c' \(one of --columns; columns there: 'a', 'b', 'site'\)"):
        read_csv(path, Reading(columns=("a", "c")))
    with pytest.raises(DataError, match=r"no column 'c' \(one of the run's series"):
        read_csv(path, Reading(columns=("c",), trained=True))


def test_columns_choose_series_of_a_long_table_and_name_its_own_rows():
    long = _long()
    dates, columns, values, ids, *_ = tables.frame_table(long, Reading(columns=("temp", "10")))
    assert columns == ["temp", "10"] and values.shape == (60, 2) and ids == {"temp": "temp", "10": 10}
    bad = long.assign(y=long["y"].astype(object).where(long.index != 7, "x"))
    row = f"row 7, column 'y' (series {bad['unique_id'][7]!r})"
    with pytest.raises(DataError, match=re.escape(row)):
        tables.frame_table(bad, Reading(columns=(str(bad["unique_id"][7]),)))
    with pytest.raises(DataError, match=r"no series 'rain' \(one of --columns; unique_id values there: '10', "):
        tables.frame_table(long, Reading(columns=("rain",)))


def test_a_long_table_read_for_a_forecast_needs_only_its_last_dates():
    long = _long()
    late = long[~((long.unique_id == "temp") & (long.ds < long.ds.min() + pd.Timedelta(hours=10)))]  # starts later
    with pytest.raises(DataError, match="series 'temp' has no value for date 2024-01-01 00:00:00"):
        tables.frame_table(late)
    dates, columns, values, *_ = tables.frame_table(late, Reading(used=50))
    assert dates.equals(tables.frame_table(long)[0][10:]) and np.isfinite(values).all()  # the last 50 dates alone
    with pytest.raises(DataError, match="series 'temp' has no value for date 2024-01-01 09:00:00"):
        tables.frame_table(late, Reading(used=51))
    blank = long.astype({"y": object})
    blank.loc[(blank.unique_id == "temp") & (blank.ds == blank.ds.min()), "y"] = "n/a"  # before the dates read
    assert np.array_equal(tables.frame_table(blank, Reading(used=50))[2], tables.frame_table(long)[2][10:])
    with pytest.raises(DataError, match=r"series 'temp'\): 'n/a' is not a finite number"):
        tables.frame_table(blank, Reading(used=60))
    # a series that ends before the dates read is named, whether the series are chosen or not
    early = long[~((long.unique_id == "temp") & (long.ds > long.ds.max() - pd.Timedelta(hours=15)))]
    for columns in (None, ("2", "10", "temp")):
        with pytest.raises(DataError, match=r"^DataFrame: series 'temp' has no value for date 2024-01-03 (.*)"
                                            r"every series needs every date"):
            tables.frame_table(early, Reading(used=10, columns=columns))


def test_a_comma_at_the_end_of_every_line_is_no_column(tmp_path):
    text = "".join(line + ",\n" for line in good_csv().splitlines())
    dates, cols, values = read_csv(write(tmp_path, text))
    assert cols == ["a", "b"] and values.shape == (10, 2)
    with pytest.raises(DataError, match="line 1: column 4 has no name"):  # a nameless column that holds data
        header, rest = text.split("\n", 1)
        read_csv(write(tmp_path, header + "\n" + rest.replace(",\n", ",1\n")))


def test_a_long_table_in_unix_seconds_names_a_missing_date_as_written():
    long = _long()
    seconds = long.assign(ds=(long["ds"] - pd.Timestamp(0)) // pd.Timedelta(seconds=1))
    gap = seconds.drop(seconds.index[(seconds.unique_id == "temp") & (seconds.ds == 1704070800)])
    with pytest.raises(DataError, match=re.escape("series 'temp' has no value for date 1704070800 "
                                                  "(2024-01-01 01:00:00 UTC)")):
        tables.frame_table(gap, Reading(date_format="%s"))


def test_a_semicolon_file_with_decimal_commas(tmp_path):
    text = good_csv().replace(",", ";").replace(";3;6", ";3,5;6,25")
    dates, cols, values = read_csv(write(tmp_path, text), Reading(sep=";", decimal=","))
    assert cols == ["a", "b"] and values[3].tolist() == [3.5, 6.25] and values[4].tolist() == [4.0, 8.0]
    with pytest.raises(DataError, match=r"line 5, column 'a': '3,5' is not a finite number"):
        read_csv(write(tmp_path, text), Reading(sep=";"))
    with pytest.raises(DataError, match=r"one column 'date,a,b' \(the run reads fields separated by ';'; "
                                        r"give --sep ',' for this file\)$"):
        read_csv(write(tmp_path, good_csv()), Reading(sep=";", trained=True))
    with pytest.raises(DataError, match=r"one column 'date,a,b' \(the run reads fields separated by ';'\)$"):
        read_csv(write(tmp_path, good_csv()), Reading(sep=";", trained=True, flags=False))  # as `evaluate` reads
    with pytest.raises(DataError, match=r"one column 'date,a,b' \(it looks separated by ',': give --sep ','\)$"):
        read_csv(write(tmp_path, good_csv()), Reading(sep=";", trained=True, given=frozenset({"sep"})))
    # the decimal mark the file's numbers show comes with the separator, and a separator is no decimal mark
    european = Reading(sep=";", decimal=",", trained=True)
    with pytest.raises(DataError, match=r"\(the run reads fields separated by ';'; give --sep ',' --decimal '\.' for "):
        read_csv(write(tmp_path, good_csv()), european)  # whole numbers: a comma is not their mark
    with pytest.raises(DataError, match=r"give --sep ',' --decimal '\.' for this file\)$"):
        read_csv(write(tmp_path, good_csv().replace(",3,6", ",3.5,6.25")), european)
    with pytest.raises(DataError, match=r"\(it looks separated by ';': give --sep ';' --decimal ','\)$"):
        read_csv(write(tmp_path, text), Reading())
    with pytest.raises(DataError, match=r"\(it looks separated by ';': give --sep ';'\)$"):
        read_csv(write(tmp_path, text), Reading(decimal=","))  # the mark already given


def test_with_a_decimal_comma_a_point_is_no_decimal_mark(tmp_path):
    # 1.088 in a file of decimal commas is a thousand and eighty-eight written with a separator:
    # read as 1.088 it would be a thousandth of its neighbours', without a word
    for cell in ("1.088", "1.003,80"):
        text = good_csv().replace(",", ";").replace(";3;6", f";{cell};6")
        with pytest.raises(DataError, match=rf"line 5, column 'a': '{re.escape(cell)}' is not a finite number "
                                            r"\(thousands separators\? write numbers without them\)$"):
            read_csv(write(tmp_path, text), Reading(sep=";", decimal=","))
    text = good_csv().replace(",", ";").replace(";3;6", ";2.5;6")  # a decimal point, where commas were said
    with pytest.raises(DataError, match=r"'2.5' is not a finite number \(a decimal point\? numbers are read with "
                                        r"--decimal ','\)$"):
        read_csv(write(tmp_path, text), Reading(sep=";", decimal=","))
    with pytest.raises(DataError, match=r"'2.5' is not a finite number \(a decimal point\? the run reads decimal "
                                        r"commas; give --decimal '.'\)$"):
        read_csv(write(tmp_path, text), Reading(sep=";", decimal=",", trained=True))


def test_the_long_format_with_date_column_ds_is_still_long(tmp_path):
    path = write(tmp_path, "unique_id,ds,y\n" + "".join(f"{u},2020-01-01 {h:02d}:00,{h}\n" for h in range(4) for u in (1, 2)))
    table = tables.read_table(path, Reading(date_column="ds"))
    assert table.columns == ["1", "2"] and table.ids == {"1": "1", "2": "2"} and table.values.shape == (4, 2)


def test_dates_newest_first_or_repeated_per_series_are_told_what_they_look_like(tmp_path):
    newest_first = pd.date_range("2024-01-01", periods=30, freq="B")[::-1]
    with pytest.raises(DataError, match=r"line 3: date goes backwards: .*\(the rows run newest first: sort them "
                                        r"oldest first\)$"):
        read_csv(write(tmp_path, csv_of(newest_first)))
    shuffled = pd.date_range("2024-01-01", periods=30, freq="B")[[0, 1, 3, 2, *range(4, 30)]]
    with pytest.raises(DataError, match=r"line 5: date goes backwards: .*\(rows out of order\? sort them oldest "
                                        r"first\)$"):
        read_csv(write(tmp_path, csv_of(shuffled)))
    rows = "".join(f"{d},{store},{i}\n" for i, d in enumerate(pd.date_range("2024-01-01", periods=20, freq="D"))
                   for store in ("north", "south"))
    with pytest.raises(DataError, match=r"line 3: duplicate date .*\(several rows a date: a time of day in another "
                                        r"column\? or one row per series and date, the long format: name its columns "
                                        r"unique_id, ds, y\)$"):
        read_csv(write(tmp_path, "date,store,sales\n" + rows), Reading(columns=("sales",)))
    by_store = "".join(f"{d},{store},{i}\n" for store in ("north", "south")
                       for i, d in enumerate(pd.date_range("2024-01-01", periods=20, freq="D")))
    with pytest.raises(DataError, match=r"line 22: date goes backwards: .*the long format: name its columns "
                                        r"unique_id, ds, y\)$"):
        read_csv(write(tmp_path, "date,store,sales\n" + by_store))


@pytest.mark.parametrize("index, hint", [
    (pd.period_range("2020-01", periods=4, freq="M"), r"; its index is a PeriodIndex: df.to_timestamp\(\) makes it"),
    (pd.Index(["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04"]), r"; its index holds dates as text or objects"),
    (pd.Index(["north", "south", "east", "west"]), r"columns are: 'a'$"),  # no dates there: no such hint
])
def test_a_frame_whose_index_holds_its_dates_is_told_how_to_make_them_a_datetime_index(index, hint):
    with pytest.raises(DataError, match=r"^DataFrame: needs a DatetimeIndex, .*" + hint):
        tables.frame_table(pd.DataFrame({"a": [1.0, 3.0, 2.0, 5.0]}, index=index))


@pytest.mark.parametrize("series", [{"a": [1.0, 3.0, 2.0, 5.0]}, {"a": [1.0, 3.0, 2.0, 5.0], "step": [0, 1, 2, 3]}])
def test_time_steps_are_read_from_the_index_unless_a_column_counts_them(series):
    df = pd.DataFrame(series)
    if "step" not in df:
        assert tables.frame_table(df, Reading(date_format="%s")).columns == ["a"]
        with pytest.raises(DataError, match=r"columns are: 'a'; or, if its index counts time steps, --date-format %s "
                                            r"reads them so$"):
            tables.frame_table(df)
        return
    # a column that counts evenly is the dates under another name, not a series beside the index's
    for reading in (Reading(), Reading(date_format="%s")):
        with pytest.raises(DataError, match=r"columns are: 'a', 'step'; column 'step' counts evenly: --date-column "
                                            r"'step', --date-format %s reads it as the dates \(a series: --columns "
                                            r"chooses the series, it among them\)$"):
            tables.frame_table(df, reading)
    assert tables.frame_table(df, Reading(date_column="step", date_format="%s")).columns == ["a"]
    assert tables.frame_table(df, Reading(date_format="%s", columns=("a", "step"))).columns == ["a", "step"]


def test_dates_written_two_ways_are_named_so_not_by_a_format_never_given(tmp_path):
    # midnight without its time, as some spreadsheets export it; the 13 settles month first
    path = write(tmp_path, "date,a\n1/13/2024,1\n1/13/2024 01:00,2\n1/13/2024 02:00,3\n")
    with pytest.raises(DataError, match=r"line 3: date '1/13/2024 01:00' in column 'date' is written otherwise than "
                                        r"'1/13/2024' \(line 2\); write every date one way, or give --date-format$"):
        read_csv(path)
    impossible = write(tmp_path, "date,a\n13/01/2023,1\n29/02/2023,2\n")  # day first, settled; no 29 February 2023
    with pytest.raises(DataError, match=r"line 3: date '29/02/2023' in column 'date' is no calendar date \(read as "
                                        r"'%d/%m/%Y', as the column's other dates\)$"):
        read_csv(impossible)


def test_the_date_column_among_the_chosen_series_is_named_as_the_date_column(tmp_path):
    with pytest.raises(DataError, match=r"'date' is the date column, not a series; leave it out of --columns$"):
        read_csv(write(tmp_path, good_csv()), Reading(columns=("date", "a")))


def test_a_csv_that_cannot_be_read_is_one_line_naming_it(tmp_path, monkeypatch):
    path = write(tmp_path, good_csv(), "a.csv")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tables.pd, "read_csv", denied)
    with pytest.raises(DataError, match=r"a.csv: cannot read \(Permission denied\)$"):
        read_csv(path)


def test_rows_of_bare_commas_at_the_end_are_no_rows(tmp_path):
    path = write(tmp_path, good_csv(4) + ",,\n , ,\n")
    dates, _, values = read_csv(path)
    assert len(dates) == len(values) == 4
    with pytest.raises(DataError, match="line 3: cannot parse date ''"):  # not at the end: a row with no date
        read_csv(write(tmp_path, "date,a,b\n2020-01-01,1,2\n,,\n2020-01-03,1,2\n", "mid.csv"))


def test_a_file_that_is_empty_or_not_utf8_says_so(tmp_path):
    with pytest.raises(DataError, match=r"e.csv: no header line \(an empty file\?\)$"):
        read_csv(write(tmp_path, "", "e.csv"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes(good_csv(6000).encode() + "2020-01-03,1,2 °C\n".encode("latin-1"))  # past pandas' first chunk
    with pytest.raises(DataError, match=r"latin.csv: line 6002, byte 0xb0: not UTF-8 text; save it as CSV UTF-8$"):
        read_csv(latin)


def test_the_long_format_with_its_dates_or_values_misnamed_is_named(tmp_path):
    path = write(tmp_path, "unique_id,date,y\na,2020-01-01,1\n")
    with pytest.raises(DataError, match=r"columns unique_id, date, y: the long format names its date column ds "
                                        r"\(rename 'date' to ds\)$"):
        read_csv(path)
    with pytest.raises(DataError, match="rename 'time' to ds"):
        tables.frame_table(pd.DataFrame({"unique_id": ["a"], "time": ["2020-01-01"], "y": [1.0]}))
    # the values misnamed, as a run's recent data or its training data, in a file or a frame
    sales = write(tmp_path, "unique_id,ds,sales\na,2020-01-01,1\n", "sales.csv")
    for reading in (Reading(), Reading(columns=("a",), trained=True)):
        with pytest.raises(DataError, match=r"sales.csv: columns unique_id, ds, sales: the long format names its "
                                            r"values column y \(rename 'sales' to y\)$"):
            tables.read_table(sales, reading)
        with pytest.raises(DataError, match=r"^DataFrame: columns unique_id, ds, sales: .* \(rename 'sales' to y\)$"):
            tables.frame_table(pd.DataFrame({"unique_id": ["a"], "ds": ["2020-01-01"], "sales": [1.0]}), reading)
    # a wide table whose series are so named is wide
    wide = write(tmp_path, "date,unique_id,ds\n2020-01-01,1,2\n2020-01-02,3,4\n", "wide.csv")
    assert tables.read_table(wide, Reading(columns=("unique_id", "ds"), trained=True)).columns == ["unique_id", "ds"]
    indexed = pd.DataFrame({"unique_id": [1.0, 2.0], "y": [1.0, 2.0], "z": [3.0, 4.0]},
                           index=pd.date_range("2020-01-01", periods=2, freq="h", name="date"))
    assert tables.frame_table(indexed).columns == ["unique_id", "y", "z"]  # its dates are the index: wide
    long_indexed = pd.DataFrame({"unique_id": ["a", "b"], "y": [1.0, 2.0]}, index=indexed.index.rename("ds"))
    with pytest.raises(DataError, match=r"columns unique_id and y with the dates as the index: the long format needs "
                                        r"them in a column ds \(df.rename_axis\('ds'\).reset_index\(\)\)$"):
        tables.frame_table(long_indexed)


@pytest.mark.parametrize("start, problem", [("2023-03-25", r"not one step \(h\)"), ("2023-10-28", "duplicate date")])
def test_local_times_across_a_clock_change_are_named_so(tmp_path, start, problem):
    local = pd.date_range(start, periods=60, freq="h", tz="Europe/Berlin").tz_localize(None)  # offsets dropped
    path = tmp_path / "local.csv"
    pd.DataFrame({"date": local, "a": range(60)}).to_csv(path, index=False)
    with pytest.raises(DataError, match=rf"{problem}.*\(a daylight-saving switch\? write the dates in UTC, or with "
                                        r"their UTC offsets\)$"):
        regular_freq(*read_csv(path)[:1], str(path))
    for day in ("2023-01-02", "2023-04-02"):  # no clock change in January, nor at midnight in daily data
        days = [*pd.date_range(end=day, periods=5, freq="D").strftime("%Y-%m-%d"), day]
        daily = write(tmp_path, "date,a\n" + "".join(f"{d},1\n" for d in days), "daily.csv")
        with pytest.raises(DataError, match=rf"duplicate date '{day}' after '{day}' \(each date once: keep one row "
                                            r"of it, e.g. with pandas' .drop_duplicates\('date'\)\)$"):
            read_csv(daily)


def test_a_frame_s_local_times_across_a_clock_change_are_told_to_take_their_time_zone():
    local = pd.date_range("2023-10-28", periods=60, freq="h", tz="Europe/Berlin").tz_localize(None)
    frame = pd.DataFrame({"a": range(60)}, index=local.rename("date"))
    with pytest.raises(DataError, match=r"duplicate date .* \(a daylight-saving switch\? give the dates their time "
                                        r"zone, e\.g\. df\.index\.tz_localize\('Europe/Berlin', ambiguous='infer'\), "
                                        r"or write them in UTC\)$"):
        tables.frame_table(frame)
    with pytest.raises(DataError, match=r"e\.g\. df\['date'\]\.dt\.tz_localize\('Europe/Berlin', ambiguous='infer'\)"):
        tables.frame_table(frame.reset_index())
    zoned = frame.set_axis(frame.index.tz_localize("Europe/Berlin", ambiguous="infer"))  # as the hint says
    assert len(tables.frame_table(zoned).dates) == 60


@pytest.mark.parametrize("drop, problem", [(5, r"not one step \(h\)"), (None, "duplicate date")])
def test_a_missing_or_repeated_row_away_from_a_clock_change_gets_no_such_hint(tmp_path, drop, problem):
    dates = pd.date_range("2023-07-01", periods=24, freq="h")  # no clock changes in July
    dates = dates.delete(drop) if drop is not None else dates.insert(6, dates[5])
    path = tmp_path / "july.csv"
    pd.DataFrame({"date": dates, "a": range(len(dates))}).to_csv(path, index=False)
    with pytest.raises(DataError, match=rf"{problem}") as e:
        regular_freq(*read_csv(path)[:1], str(path))
    assert "daylight" not in str(e.value)


def test_monthly_dates_on_the_15th_are_told_how_a_monthly_step_falls(tmp_path):
    dates = pd.date_range("2000-01-01", periods=30, freq="MS") + pd.Timedelta(days=14)
    path = write(tmp_path, "date,v\n" + "".join(f"{d:%Y-%m-%d},{i}\n" for i, d in enumerate(dates)))
    with pytest.raises(DataError, match=r"rows must be evenly spaced in time \(dates 1 month apart on day 15: a "
                                        r"monthly step falls on a month's first or last day; date the rows so"):
        load(RunConfig(ModelConfig(lookback=8, horizon=2), TrainConfig(), DataConfig(csv=str(path))))


def test_blank_lines_among_the_rows_are_skipped_and_errors_name_the_files_own_lines(tmp_path):
    rows = [f"2023-01-{d:02d},{d}" for d in range(1, 11)]
    rows[6] = "2023-01-07,oops"  # on line 11 of the file below: 2 blank lines and one of spaces before it
    text = "date,a\n" + "\n".join(rows[:2] + [""] + rows[2:4] + ["   ", ""] + rows[4:]) + "\n"
    with pytest.raises(DataError, match=r"line 11, column 'a': 'oops' is not a finite number"):
        read_csv(write(tmp_path, text))
    assert text.splitlines()[10] == "2023-01-07,oops"
    gap = text.replace("2023-01-07,oops\n", "")  # a missing day: named by its own line too
    with pytest.raises(DataError, match=r"line 11: date 2023-01-08 is not one step \(D\) after 2023-01-06"):
        load(RunConfig(ModelConfig(lookback=2, horizon=1), TrainConfig(), DataConfig(csv=str(write(tmp_path, gap)))))
    clean = read_csv(write(tmp_path, text.replace("oops", "7")))
    assert clean[2][:, 0].tolist() == list(range(1, 11))  # the blank lines are no rows


@pytest.mark.parametrize("cells", [
    pd.date_range("2020-01-01", periods=4, freq="D"), pd.date_range("2020-01-01", periods=4, freq="D", tz="UTC"),
    pd.to_timedelta(range(4), unit="D"), np.arange(4) + 1j,
], ids=["datetime", "datetime-tz", "timedelta", "complex"])
def test_dates_durations_and_complex_numbers_in_a_frame_are_no_series(cells):
    # pandas reads dates and durations as nanoseconds: they would be fitted as series
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "when": cells},
                         index=pd.date_range("2021-01-01", periods=4, freq="h"))
    with pytest.raises(DataError, match=r"date 2021-01-01 00:00:00, column .when.: .* is not a finite number \(no cell of this column "
                                        r"is a number; --columns chooses"):
        tables.frame_table(frame)
    assert tables.frame_table(frame, Reading(columns=("a",))).columns == ["a"]


@pytest.mark.parametrize("column", [
    pd.Series(["a", "", None, np.nan, " "]),
    pd.Series(["a", "", None, [1, 2], np.array([1, 2]), pd.NaT, np.str_(""), 1.5, pd.NA, b""], dtype=object),
    pd.Series([1.0, np.nan]), pd.Series(["a", "", None], dtype="string"), pd.Series(pd.to_datetime(["2020", None])),
    pd.Series([True, None], dtype="boolean"), pd.Series(["", 1, None], dtype="category"),
    pd.Series(["", "a", None], dtype="category"), pd.Series([], dtype=object),
], ids=lambda c: str(c.dtype))
def test_missing_cells_is_is_missing_of_every_cell(column):
    expected = np.array([tables.is_missing(c) for c in column.astype(object)], dtype=bool)
    assert np.array_equal(tables.missing_cells(column), expected)


def test_a_run_s_series_named_in_the_cells_of_a_column_are_told_the_long_format():
    store = pd.DataFrame({"store_id": ["S1", "S1", "S2", "S2"], "date": ["2020-01-01", "2020-01-02"] * 2,
                          "sales": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(DataError, match=r"no columns 'S1', 'S2' \(all of the run's series; columns there: "
                                        r"'store_id', 'sales'\); column 'store_id' holds the series' names: the long "
                                        r"format\? name its columns unique_id, ds, y \(rename 'store_id' to unique_id\)$"):
        tables.frame_table(store, Reading(columns=("S1", "S2"), trained=True))
    with pytest.raises(DataError, match=r"no column 'S3' \(one of the run's series; columns there: 'store_id', "
                                        r"'sales'\)$"):  # no column names it: no hint
        tables.frame_table(store, Reading(columns=("S3",), trained=True))


def test_a_decimal_comma_in_the_long_format_gets_the_wide_format_s_hint(tmp_path):
    path = write(tmp_path, "unique_id;ds;y\na;2020-01-01;1,5\n", "semi.csv")
    with pytest.raises(DataError, match=r"line 2, column 'y' \(series 'a'\): '1,5' is not a finite number \(a decimal "
                                        r"comma\? give --decimal ','\)$"):
        tables.read_table(path, Reading(sep=";"))
    with pytest.raises(DataError, match=r"'1,5' is not a finite number \(the run reads decimal points; give "
                                        r"--decimal ','\)$"):
        tables.read_table(path, Reading(sep=";", columns=("a",), trained=True, given=frozenset({"sep"})))


def test_hints_about_the_run_s_series_read_only_what_fits(tmp_path):
    # names repeated in a frame: the error, not a crash
    dup = pd.DataFrame([["2020-01-01", "S1", 1.0]], columns=["date", "x", "x"])
    with pytest.raises(DataError, match=r"no columns 'S1', 'S2'"):
        tables.frame_table(dup, Reading(columns=("S1", "S2"), trained=True))
    # numbers that match numbered series' names are values, not ids (a CSV's numbers are text)
    path = write(tmp_path, "date,a,b\n2020-01-01,1,2\n2020-01-02,2,1\n", "numbers.csv")
    with pytest.raises(DataError, match=r"no columns '1', '2' \(all of the run's series; columns there: 'a', 'b'\)$"):
        tables.read_table(path, Reading(columns=("1", "2"), trained=True))
    # a trained run's data cannot leave a series of the run out: only trimming is told
    long = pd.DataFrame({"unique_id": ["a"] * 4 + ["b"] * 3, "ds": list(pd.date_range("2020-01-01", periods=4, freq="h"))
                         + list(pd.date_range("2020-01-01 01:00", periods=3, freq="h")), "y": np.arange(7.0)})
    with pytest.raises(DataError, match=r"they all span, 2020-01-01 01:00:00 .. 2020-01-01 03:00:00\)$"):
        tables.frame_table(long, Reading(columns=("a", "b"), trained=True))
    # of a wide table's other columns, only those of numbers are series the run leaves out
    wide = write(tmp_path, "Unnamed: 0,date,a,site,note,new\n0,2020-01-01,1,A1,x,5\n1,2020-01-02,2,A1,,6\n", "w.csv")
    assert tables.read_table(wide, Reading(columns=("a",), trained=True)).unread == ("new",)
    frame = pd.read_csv(wide, dtype=str).assign(new=[5.0, 6.0])
    assert tables.frame_table(frame, Reading(columns=("a",), trained=True)).unread == ("new",)
