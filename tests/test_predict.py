"""`dynonet predict` (and `dynonet train --test-fraction 0`) end to end through cli.main:
a forecast CSV and plot on success; on bad input one `dynonet: error:` line naming the
file/column/line, exit status 2, and nothing written. Then `predict.predict_csv` itself:
both output files or neither."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from dynonet import files
from dynonet.checkpoint import META, WEIGHTS
from dynonet.cli import main
from dynonet.errors import ConfigError, DataError, OutputError
from dynonet.predict import predict_csv
from dynonet.forecaster import DynoNetForecaster

L, H = 32, 8
TINY = ["--horizon", str(H), "--lookback", str(L), "--worker-seq-len", str(L), "--worker-hidden", "4",
        "--context-dim", "4", "--mixer-hidden", "4", "--batch-size", "512",
        "--epochs", "1", "--device", "cpu"]


def series_csv(path: Path, n: int, start: str = "2024-01-01") -> pd.DataFrame:
    t = np.arange(n)
    df = pd.DataFrame({"date": pd.date_range(start, periods=n, freq="h").strftime("%Y-%m-%d %H:%M:%S"),
                       "load": np.round(1000 + 50 * np.sin(2 * np.pi * t / 24), 3),
                       "temp": np.round(-5 + np.cos(2 * np.pi * t / 24), 3)})
    df.to_csv(path, index=False)
    return df


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A run trained on all 200 rows (--test-fraction 0), recent data = its last 40 rows,
    and `actual.csv` = the 8 rows after them."""
    d = tmp_path_factory.mktemp("predict")
    full = series_csv(d / "all.csv", 208)
    full.iloc[:200].to_csv(d / "data.csv", index=False)
    full.iloc[160:200].to_csv(d / "recent.csv", index=False)
    full.iloc[200:].to_csv(d / "actual.csv", index=False)
    assert main(["train", "--csv", str(d / "data.csv"), "--out", str(d / "run"), "--test-fraction", "0",
                 "--quiet", *TINY]) == 0
    return d


def predict(setup: Path, *extra: str, csv: str = "recent.csv", run: str = "run") -> int:
    return main(["predict", "--checkpoint", str(setup / run), "--csv", str(setup / csv), *extra])


def one_error_line(capsys) -> str:
    """The one line of the error on stderr (a tiny training run before it may have noted its few
    steps per epoch, or the batch size its windows chose)."""
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines()
             if "optimizer step" not in line and not line.startswith("dynonet: batch size ")]
    assert len(lines) == 1 and lines[0].startswith("dynonet: error: "), err
    return lines[0]


def test_a_run_keeps_the_day_or_month_order_its_training_dates_settled(tmp_path, capsys):
    """US dates: the training file settles month first (01/13 and later); a recent file whose
    dates all read both ways (01/01-01/02) is read month first too, and the forecast is
    written the same way."""
    full = series_csv(tmp_path / "iso.csv", 360, start="2024-01-01")
    us = full.assign(date=pd.to_datetime(full["date"]).dt.strftime("%m/%d/%Y %H:%M"))
    us.to_csv(tmp_path / "data.csv", index=False)  # 01/01/2024 .. 01/15/2024
    early = us.iloc[0:40]  # 01/01 00:00 .. 01/02 15:00: every date reads both ways
    early.to_csv(tmp_path / "early.csv", index=False)
    assert main(["train", "--csv", str(tmp_path / "data.csv"), "--out", str(tmp_path / "run"), "--test-fraction",
                 "0", "--quiet", *TINY]) == 0
    saved = json.loads((tmp_path / "run" / META).read_text())["config"]["data"]["date_format"]
    assert saved == "%m/%d/%Y %H:%M"  # the run's, as if given with --date-format
    assert main(["predict", "--checkpoint", str(tmp_path / "run"), "--csv", str(tmp_path / "early.csv"),
                 "--out", str(tmp_path / "f.csv")]) == 0
    written = pd.read_csv(tmp_path / "f.csv")["date"]
    assert written.iloc[0] == "01/02/2024 16:00" and written.iloc[-1] == "01/02/2024 23:00"
    iso = full.iloc[0:40]
    iso.to_csv(tmp_path / "iso_recent.csv", index=False)
    assert main(["predict", "--checkpoint", str(tmp_path / "run"), "--csv", str(tmp_path / "iso_recent.csv"),
                 "--out", "-"]) == 2
    assert "does not match the run's date format '%m/%d/%Y %H:%M'" in one_error_line(capsys)


def test_train_with_test_fraction_0_skips_test_scoring(setup, capsys):
    run = setup / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"] is None and metrics["config"]["data"]["test_fraction"] == 0
    meta = json.loads((run / META).read_text())
    assert "test" not in meta["splits"] and meta["splits"]["val"][1] == 200  # every row used
    assert not (run / "channel_metrics.png").exists() and (run / WEIGHTS).exists()
    assert main(["evaluate", "--checkpoint", str(run)]) == 2
    assert "no test split" in one_error_line(capsys)


def test_predict_writes_forecast_plot_and_scores_actual(setup, capsys):
    out, png = setup / "forecast.csv", setup / "forecast.png"
    assert predict(setup, "--out", str(out), "--plot", str(png), "--actual", str(setup / "actual.csv"),
                   "--verbose") == 0
    printed = capsys.readouterr().out
    assert "forecast: 8 steps x 2 series" in printed and "8 of 8 steps, in each series' units" in printed
    fc = pd.read_csv(out)
    actual = pd.read_csv(setup / "actual.csv")
    for name in ("load", "temp"):  # one line per series: its MAE and MSE against the actual values
        err = fc[name] - actual[name]
        assert [name, "8", f"{err.abs().mean():.4f}", f"{(err ** 2).mean():.4f}"] in [x.split() for x in printed.splitlines()]
    assert list(fc.columns) == ["date", "load", "temp"]
    assert fc["date"].tolist() == actual["date"].tolist()  # the 8 hours after recent.csv
    assert 800 < fc["load"].mean() < 1200  # original units
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in setup.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_predict_and_backtest_are_quiet_but_for_results_unless_on_a_terminal(setup, tmp_path, capsys, monkeypatch):
    actual, out = str(setup / "actual.csv"), str(tmp_path / "f.csv")
    assert predict(setup, "--out", out) == 0  # in a pipe or log file: the file is the result
    assert capsys.readouterr() == ("", "")
    assert predict(setup, "--out", out, "--actual", actual) == 0  # the scores asked for, alone
    printed = capsys.readouterr().out
    assert printed.startswith(f"vs {actual}: 8 of 8 steps") and "forecast:" not in printed
    bt = ["backtest", "--checkpoint", str(setup / "run"), "--csv", str(setup / "all.csv")]
    assert main([*bt, "--plot", str(tmp_path / "p.png")]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("backtest: ") and "MAE" in printed and "plot:" not in printed
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # on a terminal: what was read and written too
    assert predict(setup, "--out", out) == 0
    assert capsys.readouterr().out.startswith("forecast: 8 steps x 2 series")
    assert predict(setup, "--out", out, "--quiet") == 0
    assert capsys.readouterr() == ("", "")


def test_predict_writes_the_intervals_asked_for_beside_each_series_and_draws_them(setup, capsys):
    out, png = setup / "intervals.csv", setup / "intervals.png"
    assert predict(setup, "--out", str(out), "--plot", str(png), "--level", "80", "--level", "90") == 0  # or 80,90
    fc = pd.read_csv(out)
    assert list(fc.columns) == ["date", *(f"{c}{side}" for c in ("load", "temp")
                                          for side in ("", "-lo-90", "-lo-80", "-hi-80", "-hi-90"))]
    for c in ("load", "temp"):
        assert (fc[f"{c}-lo-90"] <= fc[f"{c}-lo-80"]).all() and (fc[f"{c}-lo-80"] <= fc[c]).all()
        assert (fc[c] <= fc[f"{c}-hi-80"]).all() and (fc[f"{c}-hi-80"] <= fc[f"{c}-hi-90"]).all()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # with the true values: how many of each series' steps fell inside each interval
    capsys.readouterr()
    assert predict(setup, "--out", str(out), "--level", "80,90", "--actual", str(setup / "actual.csv")) == 0
    lines = [x.split() for x in capsys.readouterr().out.splitlines()]
    assert ["series", "steps", "MAE", "MSE", "in", "80%", "in", "90%"] in lines
    truth = pd.read_csv(setup / "actual.csv")
    for c in ("load", "temp"):
        held = [f"{((fc[f'{c}-lo-{p}'] <= truth[c]) & (truth[c] <= fc[f'{c}-hi-{p}'])).sum()}/{truth[c].notna().sum()}"
                for p in (80, 90)]
        assert [x for x in lines if x[:1] == [c]][0][-2:] == held
    # the run's 13 validation windows calibrate 50, 80 and 90: a 95% interval is refused, and nothing written
    capsys.readouterr()
    assert predict(setup, "--out", str(setup / "none.csv"), "--level", "95") == 2
    assert "level 95: the run's 13 validation windows calibrate levels 50, 80, 90; 95 needs at least 19 (more rows, " \
        "a larger --val-fraction or a shorter --horizon give more)" in one_error_line(capsys)  # flags, not keywords
    assert not (setup / "none.csv").exists()
    # levels it could calibrate but did not: all named, with the command that adds them to this run folder
    assert predict(setup, "--out", str(setup / "none.csv"), "--level", "60,85,90") == 2
    assert one_error_line(capsys).endswith(
        f"levels 60, 85: the run calibrated levels 50, 80, 90; `dynonet evaluate --checkpoint {setup / 'run'} "
        "--calibrate --interval-levels 50,60,80,85,90` adds them")
    assert not (setup / "none.csv").exists()


def test_plot_series_draws_the_series_named_and_is_checked_before_anything_is_written(setup, capsys, monkeypatch):
    import dynonet.plots

    drawn = []
    real = dynonet.plots.forecast_plot
    monkeypatch.setattr(dynonet.plots, "forecast_plot", lambda *a, **k: drawn.append(k["series"]) or real(*a, **k))
    out, png = setup / "one.csv", setup / "one.png"
    assert predict(setup, "--out", str(out), "--plot", str(png), "--plot-series", "temp") == 0
    assert drawn == [["temp"]] and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert predict(setup, "--out", str(out), "--plot", str(png), "--plot-series", "temp,load,temp") == 0
    assert drawn[-1] == ["temp", "load"]  # in the order given, once each
    capsys.readouterr()
    for extra, says in ((["--plot", str(setup / "no.png"), "--plot-series", "tmp"],
                         "--plot-series: the run has no series 'tmp'; did you mean 'temp'?"),
                        (["--plot", str(setup / "no.png"), "--plot-series", "x"],
                         "--plot-series: the run has no series 'x' (its series: 'load', 'temp')"),
                        (["--plot-series", "temp"], "--plot-series: names the series --plot draws; give --plot too")):
        assert predict(setup, "--out", str(setup / "no.csv"), *extra) == 2
        assert one_error_line(capsys) == f"dynonet: error: {says}"
        assert not (setup / "no.csv").exists() and not (setup / "no.png").exists()


def test_a_plot_of_the_first_8_series_says_so_and_how_to_name_others(tmp_path, capsys):
    rng = np.random.default_rng(0)
    wide = pd.DataFrame(rng.normal(size=(120, 9)), columns=[f"s{i}" for i in range(9)])
    wide.insert(0, "date", pd.date_range("2024-01-01", periods=120, freq="h").astype(str))
    wide.to_csv(tmp_path / "nine.csv", index=False)
    assert main(["train", "--csv", str(tmp_path / "nine.csv"), "--out", str(tmp_path / "run"), "--model", "repeat",
                 "--lookback", str(L), "--horizon", str(H), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["predict", "--checkpoint", str(tmp_path / "run"), "--csv", str(tmp_path / "nine.csv"), "--out",
                 str(tmp_path / "f.csv"), "--plot", str(tmp_path / "f.png"), "--verbose"]) == 0
    assert f"plot: {tmp_path / 'f.png'} (the first 8 of 9 series; --plot-series names others)" in capsys.readouterr().out


def test_predict_without_plot(setup):
    out = setup / "plain.csv"
    assert predict(setup, "--out", str(out)) == 0
    assert len(pd.read_csv(out)) == H


def test_predict_without_csv_forecasts_after_the_runs_training_file(setup, tmp_path, capsys, monkeypatch):
    assert main(["predict", "--checkpoint", str(setup / "run"), "--out", str(tmp_path / "own.csv"), "--verbose"]) == 0
    assert capsys.readouterr().out.startswith(f"recent data: {setup / 'data.csv'} (the file the run was trained on, "
                                              "as it is now)\n")
    assert predict(setup, "--out", str(tmp_path / "recent.csv")) == 0  # its last rows: the same forecast
    assert (tmp_path / "own.csv").read_text() == (tmp_path / "recent.csv").read_text()
    capsys.readouterr()
    assert main(["backtest", "--checkpoint", str(setup / "run"), "--out", str(tmp_path / "bt.csv"),
                 "--verbose"]) == 0  # alike
    assert capsys.readouterr().out.startswith(f"data: {setup / 'data.csv'} (the file the run was trained on, as it "
                                              "is now)\n")
    assert main(["backtest", "--checkpoint", str(setup / "run"), "--csv", str(setup / "data.csv"),
                 "--out", str(tmp_path / "bt-data.csv")]) == 0
    assert (tmp_path / "bt.csv").read_text() == (tmp_path / "bt-data.csv").read_text()
    # a run fit on a DataFrame has no file to read; one whose file is gone is told so
    frame = pd.read_csv(setup / "data.csv", parse_dates=["date"], index_col="date")
    DynoNetForecaster(horizon=H, lookback=L, model="repeat").fit(frame).save(tmp_path / "api-run")
    assert main(["predict", "--checkpoint", str(tmp_path / "api-run"), "--out", str(tmp_path / "f.csv")]) == 2
    assert one_error_line(capsys) == (f"dynonet: error: {tmp_path / 'api-run'}: trained on 'DataFrame', not on a CSV "
                                      "or bundled dataset; give its recent rows with --csv")
    # a CSV named relative to where the run was trained is found from anywhere
    frame.to_csv(tmp_path / "gone.csv")
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--csv", "gone.csv", "--out", "run", "--model", "repeat", "--horizon", str(H),
                 "--lookback", str(L), "--quiet"]) == 0
    monkeypatch.chdir(setup)
    assert main(["predict", "--checkpoint", str(tmp_path / "run"), "--out", str(tmp_path / "rel.csv")]) == 0
    # the file read is no output
    assert main(["predict", "--checkpoint", str(tmp_path / "run"), "--out", str(tmp_path / "gone.csv")]) == 2
    assert one_error_line(capsys).endswith("gone.csv: is the training file this command reads; give another name")
    (tmp_path / "gone.csv").unlink()
    assert main(["predict", "--checkpoint", str(tmp_path / "run"), "--out", str(tmp_path / "f.csv")]) == 2
    assert one_error_line(capsys) == (f"dynonet: error: {tmp_path / 'gone.csv'}: file not found (the run's CSV; "
                                      "moved? give its new path with --csv)")
    assert not (tmp_path / "f.csv").exists()


def test_predict_without_csv_reads_the_bundled_data_a_run_was_trained_on(tmp_path, capsys):
    from dynonet.data import bundled_path

    assert main(["train", "--max-rows", "700", "--model", "repeat", "--horizon", str(H), "--lookback", str(L),
                 "--out", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["predict", "--checkpoint", str(tmp_path / "run"), "--out", str(tmp_path / "f.csv"), "--verbose"]) == 0
    assert capsys.readouterr().out.startswith(f"recent data: {bundled_path('ETTh1')} (the file the run was trained on")
    ett = pd.read_csv(bundled_path("ETTh1"), parse_dates=["date"])  # after its last row, not after the 700 read
    forecast = pd.read_csv(tmp_path / "f.csv", parse_dates=["date"])
    assert forecast["date"].iloc[0] == ett["date"].iloc[-1] + pd.Timedelta(hours=1)
    assert forecast["OT"].to_numpy() == pytest.approx(ett["OT"].iloc[-1], rel=1e-6)  # the last value, repeated


@pytest.mark.parametrize("name, start", [("p.pdf", b"%PDF"), ("p.SVG", b"<?xml"), ("p", b"\x89PNG")])
def test_the_plot_format_follows_its_name(setup, name, start):
    assert predict(setup, "--out", str(setup / f"{name}.csv"), "--plot", str(setup / name)) == 0
    assert (setup / name).read_bytes().startswith(start)


def test_a_plot_format_matplotlib_cannot_write_is_refused_first(setup, capsys):
    assert predict(setup, "--out", str(setup / "jpg.csv"), "--plot", str(setup / "p.jpg")) == 2
    assert "p.jpg: a plot is written as .png, .pdf, .svg; not .jpg" in one_error_line(capsys)
    assert not (setup / "jpg.csv").exists() and not (setup / "p.jpg").exists()


def test_out_dash_writes_the_forecast_csv_alone_to_standard_output(setup, capsys, monkeypatch):
    monkeypatch.chdir(setup)
    assert predict(setup, "--out", "plain-copy.csv") == 0
    capsys.readouterr()
    assert predict(setup, "--out", "-", "--plot", "dash.png", "--actual", str(setup / "actual.csv"), "--verbose") == 0
    captured = capsys.readouterr()
    assert captured.out == (setup / "plain-copy.csv").read_text()  # the same CSV, and nothing else
    assert "-> standard output" in captured.err and "MAE" in captured.err
    assert (setup / "dash.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (setup / "-").exists()
    assert predict(setup, "--out", "-", "--plot", "-") == 2
    assert "--plot -" in one_error_line(capsys)


class _Stdout:
    """A standard output whose writes fail as `error` says."""

    def __init__(self, error: OSError):
        self.error = error

    def write(self, text: str) -> int:
        raise self.error

    def flush(self) -> None:
        pass


def test_out_dash_stops_quietly_when_the_reader_leaves_and_names_other_failures(setup, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdout", _Stdout(BrokenPipeError(32, "Broken pipe")))
    assert predict(setup, "--out", "-") == 141  # as if killed by SIGPIPE, no traceback
    monkeypatch.setattr("sys.stdout", _Stdout(OSError(28, "No space left on device")))
    assert predict(setup, "--out", "-") == 1  # the system failed, not the input
    assert "error: standard output: cannot write there (No space left on device)" in one_error_line(capsys)
    backtest = ["backtest", "--checkpoint", str(setup / "run"), "--csv", str(setup / "all.csv"), "--out", "-"]
    assert main(backtest) == 1  # dynonet backtest writes the same way
    assert "error: standard output: cannot write there (No space left on device)" in one_error_line(capsys)
    monkeypatch.setattr("sys.stdout", _Stdout(BrokenPipeError(32, "Broken pipe")))
    assert main(backtest) == 141
    monkeypatch.setattr("sys.stdout", None)  # `>&-`
    assert predict(setup, "--out", "-") == 2
    assert "--out -: standard output is closed" in one_error_line(capsys)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_out_through_a_link_replaces_its_target_and_a_pipe_is_written_into(setup, tmp_path):
    (tmp_path / "target.csv").write_text("old\n")
    (tmp_path / "link.csv").symlink_to(tmp_path / "target.csv")
    assert predict(setup, "--out", str(tmp_path / "link.csv")) == 0
    assert (tmp_path / "link.csv").is_symlink() and len(pd.read_csv(tmp_path / "target.csv")) == H
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    assert predict(setup, "--out", str(fifo)) == 0
    reader.join(timeout=30)
    assert fifo.is_fifo() and received and received[0].startswith("date,load,temp\n")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_pipe_with_no_reader_and_a_loop_of_links_are_one_line_errors(setup, tmp_path, capsys):
    os.mkfifo(tmp_path / "fifo")
    assert predict(setup, "--out", str(tmp_path / "fifo")) == 2  # at once, not a wait for a reader
    assert "fifo: cannot write there (a named pipe with no reader)" in one_error_line(capsys)
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    assert predict(setup, "--out", str(tmp_path / "a.csv")) == 2
    assert "a.csv: cannot write there (a loop of symbolic links)" in one_error_line(capsys)


def test_out_dash_when_the_reader_has_left_exits_141_without_a_word(setup):
    """The real thing: a child process whose standard output is a pipe closed before it writes."""
    child = subprocess.Popen([sys.executable, "-m", "dynonet", "predict", "--checkpoint", str(setup / "run"),
                              "--csv", str(setup / "recent.csv"), "--out", "-"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # the reader leaves (`| true`)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 141 and b"Traceback" not in err and b"error" not in err, err


# -- bad input: one line, exit 2, nothing written --------------------------------------------
def write_recent(setup: Path, name: str, text: str) -> str:
    (setup / name).write_text(text)
    return name


def edit_cell(setup: Path, name: str, line: int, column: int, value: str) -> str:
    """recent.csv with the cell at (1-based file line, column number) replaced."""
    lines = recent_text(setup)
    cells = lines[line - 1].split(",")
    cells[column] = value
    lines[line - 1] = ",".join(cells)
    return write_recent(setup, name, "\n".join(lines) + "\n")


def recent_text(setup: Path) -> list[str]:
    return (setup / "recent.csv").read_text().splitlines()


CASES = {
    "missing file": (lambda s: "nope.csv", ["nope.csv", "file not found"]),
    "no numeric columns": (lambda s: write_recent(s, "nonum.csv", "date\n2024-01-01\n"), ["nonum.csv", "no columns 'load', 'temp' (all of the run's series; no column there besides the dates)"]),
    # lines 10-41 hold the model's window (the last L = 32 rows)
    "nan": (lambda s: edit_cell(s, "nan.csv", 16, 2, "nan"),
            ["nan.csv", "line 16", "column 'temp'", "'nan' is not a finite number"]),
    "inf": (lambda s: edit_cell(s, "inf.csv", 10, 1, "inf"), ["inf.csv", "line 10", "column 'load'", "'inf'"]),
    "blank": (lambda s: edit_cell(s, "blank.csv", 19, 2, ""), ["blank.csv", "line 19", "column 'temp'", "missing value"]),
    "text date": (lambda s: edit_cell(s, "date.csv", 7, 0, "tomorrow"), ["date.csv", "line 7", "'tomorrow'"]),
    "backwards": (lambda s: write_recent(s, "back.csv", "\n".join([recent_text(s)[0], recent_text(s)[2], recent_text(s)[1]]
                                                            + recent_text(s)[3:]) + "\n"),
                  ["back.csv", "line 3", "date goes backwards"]),
    "duplicate": (lambda s: write_recent(s, "dup.csv", "\n".join(recent_text(s)[:3] + recent_text(s)[2:]) + "\n"),
                  ["dup.csv", "line 4", "duplicate date"]),
    "too short": (lambda s: write_recent(s, "short.csv", "\n".join(recent_text(s)[:1] + recent_text(s)[-20:]) + "\n"),
                  ["short.csv", "20 rows", "lookback"]),
    "columns differ": (lambda s: write_recent(s, "cols.csv", "\n".join([recent_text(s)[0].replace("temp", "humidity")]
                                                               + recent_text(s)[1:]) + "\n"),
                       ["cols.csv", "no column 'temp' (one of the run's series; columns there: 'load', 'humidity')"]),
    "gap": (lambda s: write_recent(s, "gap.csv", "\n".join(recent_text(s)[:30] + recent_text(s)[31:]) + "\n"),
            ["gap.csv", "line 31", "not one step"]),
    "not a csv": (lambda s: write_recent(s, "bin.csv", "date,a\n\"unterminated\n"), ["bin.csv"]),
    "too far out": (lambda s: edit_cell(s, "far.csv", 41, 1, "1e30"),  # the last line, in the model's window
                    ["far.csv", "line 41, column 'load'", "1e+30 lies", "training standard deviations"]),
}


def test_rows_before_the_window_are_not_read(setup, capsys):
    """Only the last L rows are read: a blank or a gap before them changes nothing."""
    edit_cell(setup, "early.csv", 9, 1, "")  # line 9: the row just before the window
    lines = (setup / "early.csv").read_text().splitlines()
    write_recent(setup, "early.csv", "\n".join(lines[:3] + lines[4:] + [""]))  # and a gap at line 4
    assert predict(setup, "--out", str(setup / "early-fc.csv"), csv="early.csv") == 0
    assert predict(setup, "--out", str(setup / "clean-fc.csv")) == 0
    assert (setup / "early-fc.csv").read_text() == (setup / "clean-fc.csv").read_text()
    recent = pd.read_csv(setup / "early.csv", parse_dates=["date"], index_col="date")
    model = DynoNetForecaster.load(setup / "run", device="cpu")  # the Python API reads the same rows
    pd.testing.assert_frame_equal(model.predict(recent), pd.read_csv(setup / "clean-fc.csv", parse_dates=["date"],
                                                                     index_col="date"), check_freq=False)


def test_daily_dates_with_utc_offsets_match_across_a_time_change(tmp_path, capsys):
    """recent.csv within one UTC offset, actual.csv across a daylight-saving change (read at
    wall-clock dates): the forecast's days still meet the actual ones."""
    days = pd.date_range("2023-01-01", periods=320, freq="D", tz="America/New_York")
    df = pd.DataFrame({"load": 100 + 10 * np.sin(np.arange(320) / 3)}, index=days.rename("date"))
    df.iloc[:260].to_csv(tmp_path / "train.csv")
    df.iloc[260 - L:300].to_csv(tmp_path / "recent.csv")  # to Oct 27: -04:00 throughout
    df.iloc[300:].to_csv(tmp_path / "actual.csv")  # Oct 28 to Nov 16: -04:00, then -05:00
    assert main(["train", "--csv", str(tmp_path / "train.csv"), "--out", str(tmp_path / "run"), "--test-fraction",
                 "0", "--quiet", *TINY]) == 0
    assert main(["predict", "--checkpoint", str(tmp_path / "run"), "--csv", str(tmp_path / "recent.csv"), "--out",
                 str(tmp_path / "f.csv"), "--actual", str(tmp_path / "actual.csv")]) == 0
    assert f"{H} of {H} steps" in capsys.readouterr().out


def test_a_recent_window_across_a_time_change_forecasts_in_its_last_rows_offset(tmp_path, capsys):
    hours = pd.date_range("2021-10-25", periods=24 * 12, freq="h", tz="Europe/Berlin")  # Oct 31: +02:00 to +01:00
    df = pd.DataFrame({"load": 10 + np.sin(np.arange(len(hours)) * 2 * np.pi / 24)}, index=hours.rename("date"))
    df.to_csv(tmp_path / "train.csv")
    assert main(["train", "--csv", str(tmp_path / "train.csv"), "--out", str(tmp_path / "run"), "--test-fraction",
                 "0", *TINY]) == 0
    end = int(np.flatnonzero(hours == pd.Timestamp("2021-10-31 12:00", tz="Europe/Berlin"))[0])
    for recent, offset in [(df.iloc[end - L : end], "+01:00"), (df.iloc[end - 40 - L : end - 40], "+02:00")]:
        recent.to_csv(tmp_path / "recent.csv")  # across the change, and before it
        assert main(["predict", "--checkpoint", str(tmp_path / "run"), "--csv", str(tmp_path / "recent.csv"),
                     "--out", str(tmp_path / "f.csv")]) == 0
        dates = pd.read_csv(tmp_path / "f.csv")["date"]
        last = pd.Timestamp(str(recent.index[-1]))
        assert dates[0] == str(last + pd.Timedelta(hours=1)) and dates[0].endswith(offset)


@pytest.mark.parametrize("freq, written, first", [
    ("MS", "%Y-%m", ["2016-09", "2016-10"]),  # monthly data written without its day: 2000-01 .. 2016-08
    ("YS", "%Y", ["2200", "2201"]),  # 2000 .. 2199
    ("h", "%Y-%m-%dT%H:%M", ["2024-01-09T08:00", "2024-01-09T09:00"]),
])
def test_a_forecast_writes_its_dates_as_the_recent_file_writes_them(tmp_path, capsys, freq, written, first):
    t = np.arange(200)
    dates = pd.date_range("2000-01-01" if freq != "h" else "2024-01-01", periods=200, freq=freq)
    pd.DataFrame({"date": dates.strftime(written), "load": np.round(10 + np.sin(t / 3), 3)}).to_csv(
        tmp_path / "d.csv", index=False)
    assert main(["train", "--csv", str(tmp_path / "d.csv"), "--out", str(tmp_path / "run"), "--test-fraction", "0",
                 "--quiet", *TINY]) == 0
    assert main(["predict", "--checkpoint", str(tmp_path / "run"), "--csv", str(tmp_path / "d.csv"),
                 "--out", str(tmp_path / "f.csv"), "--verbose"]) == 0
    assert pd.read_csv(tmp_path / "f.csv", dtype=str)["date"].tolist()[:2] == first
    assert f"{first[0]} .. " in capsys.readouterr().out  # the console names them so too


def test_a_date_format_is_kept_from_training_to_forecast(tmp_path, capsys):
    df = series_csv(tmp_path / "iso.csv", 200)
    df.assign(date=pd.to_datetime(df["date"]).dt.strftime("%d/%m/%Y %H:%M")).to_csv(tmp_path / "d.csv", index=False)
    assert main(["train", "--csv", str(tmp_path / "d.csv"), "--date-format", "%d/%m/%Y %H:%M", "--out",
                 str(tmp_path / "run"), "--test-fraction", "0", "--quiet", *TINY]) == 0
    (tmp_path / "recent.csv").write_text("".join((tmp_path / "d.csv").read_text().splitlines(True)[:1] +
                                                 (tmp_path / "d.csv").read_text().splitlines(True)[-L:]))
    assert main(["predict", "--checkpoint", str(tmp_path / "run"), "--csv", str(tmp_path / "recent.csv"),
                 "--out", str(tmp_path / "f.csv")]) == 0
    assert pd.read_csv(tmp_path / "f.csv")["date"].tolist()[:2] == ["09/01/2024 08:00", "09/01/2024 09:00"]
    capsys.readouterr()
    # predict has no date flags: its errors name the run's settings, not the flags that set them
    iso = tmp_path / "iso_recent.csv"
    iso.write_text("".join((tmp_path / "iso.csv").read_text().splitlines(True)[:1] +
                           (tmp_path / "iso.csv").read_text().splitlines(True)[-L:]))
    assert main(["predict", "--checkpoint", str(tmp_path / "run"), "--csv", str(iso), "--out", "-"]) == 2
    assert "does not match the run's date format '%d/%m/%Y %H:%M'" in one_error_line(capsys)
    iso.write_text(iso.read_text().replace("date,", "Date,", 1))
    assert main(["predict", "--checkpoint", str(tmp_path / "run"), "--csv", str(iso), "--out", "-"]) == 2
    line = one_error_line(capsys)
    assert "no date column 'date'" in line and "the run was trained on dates in that column" in line
    assert "--date" not in line
    assert main(["train", "--date-format", "%d/%m/%Y", "--out", str(tmp_path / "bundled")]) == 2
    assert "--date-format: the bundled datasets' files are read as they are" in one_error_line(capsys)


def test_recent_dates_that_settle_day_first_are_written_so_by_a_run_trained_on_iso_dates(tmp_path):
    df = series_csv(tmp_path / "d.csv", 300)  # ISO dates, to 2024-01-13 11:00
    assert main(["train", "--csv", str(tmp_path / "d.csv"), "--out", str(tmp_path / "run"), "--test-fraction", "0",
                 "--quiet", *TINY]) == 0
    recent = df.assign(date=pd.to_datetime(df["date"]).dt.strftime("%d/%m/%Y %H:%M")).iloc[-3 * L:]  # 13/01/2024 ...
    recent.to_csv(tmp_path / "recent.csv", index=False)
    assert predict(tmp_path, "--out", str(tmp_path / "f.csv")) == 0
    assert pd.read_csv(tmp_path / "f.csv", dtype=str)["date"].tolist()[:2] == ["13/01/2024 12:00", "13/01/2024 13:00"]
    assert main(["backtest", "--checkpoint", str(tmp_path / "run"), "--csv", str(tmp_path / "recent.csv"),
                 "--out", str(tmp_path / "bt.csv")]) == 0
    assert pd.read_csv(tmp_path / "bt.csv", dtype=str)["cutoff"].str.fullmatch(r"\d\d/01/2024 \d\d:\d\d").all()


def test_unix_seconds_dates_are_read_and_written_back_as_unix_seconds(tmp_path, capsys):
    df = series_csv(tmp_path / "iso.csv", 200)
    seconds = (pd.to_datetime(df["date"]) - pd.Timestamp(0)) // pd.Timedelta(seconds=1)
    df.assign(date=seconds).to_csv(tmp_path / "unix.csv", index=False)
    assert main(["train", "--csv", str(tmp_path / "unix.csv"), "--out", str(tmp_path / "refused"), "--test-fraction",
                 "0", "--quiet", *TINY]) == 2
    assert "Unix time in seconds? train with --date-format %s" in one_error_line(capsys)
    assert main(["train", "--csv", str(tmp_path / "unix.csv"), "--date-format", "%s", "--out", str(tmp_path / "run"),
                 "--test-fraction", "0", "--quiet", *TINY]) == 0
    assert main(["predict", "--checkpoint", str(tmp_path / "run"), "--csv", str(tmp_path / "unix.csv"),
                 "--out", str(tmp_path / "f.csv"), "--verbose"]) == 0
    written = pd.read_csv(tmp_path / "f.csv")["date"]
    assert written.dtype.kind == "i" and written.tolist() == [int(seconds.iloc[-1]) + 3600 * k for k in range(1, H + 1)]
    first = pd.Timestamp(int(written.iloc[0]), unit="s")
    assert f"series, {written.iloc[0]} ({first} UTC) .. {written.iloc[-1]} (" in capsys.readouterr().out  # as written
    gap = (tmp_path / "unix.csv").read_text().replace(f"\n{seconds.iloc[-3]},", f"\n{seconds.iloc[-3] + 60},")
    (tmp_path / "gap.csv").write_text(gap)
    assert main(["predict", "--checkpoint", str(tmp_path / "run"), "--csv", str(tmp_path / "gap.csv"),
                 "--out", str(tmp_path / "g.csv")]) == 2
    moved = pd.Timestamp(int(seconds.iloc[-3]) + 60, unit="s")
    assert f"line 199: date {seconds.iloc[-3] + 60} ({moved} UTC) is not one step (h) after {seconds.iloc[-4]} (" \
        in one_error_line(capsys)
    (tmp_path / "bad.csv").write_text((tmp_path / "unix.csv").read_text().replace(f"\n{seconds.iloc[-3]},", "\nsoon,"))
    assert main(["predict", "--checkpoint", str(tmp_path / "run"), "--csv", str(tmp_path / "bad.csv"),
                 "--out", str(tmp_path / "g.csv")]) == 2
    assert "line 199: date 'soon' in column 'date' is not a Unix time in seconds" in one_error_line(capsys)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_csv(setup, capsys, case):
    make, expected = CASES[case]
    name = make(setup)
    out = setup / f"out-{case.replace(' ', '_')}.csv"
    out.write_text("previous forecast\n")
    assert predict(setup, "--out", str(out), "--plot", str(out.with_suffix(".png")), csv=name) == 2
    line = one_error_line(capsys)
    for part in expected:
        assert part in line, line
    assert out.read_text() == "previous forecast\n"  # an existing file is left as it was
    assert not out.with_suffix(".png").exists()


def test_bad_actual(setup, capsys):
    out = setup / "never.csv"
    write_recent(setup, "old_actual.csv", "date,load,temp\n2000-01-01 00:00:00,1,2\n")
    assert predict(setup, "--out", str(out), "--actual", str(setup / "old_actual.csv")) == 2
    assert "old_actual.csv: no value in the forecast period" in one_error_line(capsys)
    write_recent(setup, "other_actual.csv", "date,wind\n2024-01-09 08:00:00,1\n")
    assert predict(setup, "--out", str(out), "--actual", str(setup / "other_actual.csv")) == 2
    assert "other_actual.csv: no columns 'load', 'temp' (all of the run's series; columns there: 'wind')" \
        in one_error_line(capsys)
    assert not out.exists()


def test_an_actual_file_without_some_series_scores_those_it_has(setup, tmp_path, capsys):
    actual = pd.read_csv(setup / "actual.csv")
    actual[["date", "temp"]].rename(columns={"temp": "Temp"}).assign(load=actual["load"]).to_csv(
        tmp_path / "actual.csv", index=False)  # a name spelled otherwise
    assert predict(setup, "--out", str(tmp_path / "f.csv"), "--actual", str(tmp_path / "actual.csv")) == 0
    printed = capsys.readouterr()
    lines = [x.split() for x in printed.out.splitlines()]
    assert ["temp", "0", "n/a", "n/a"] in lines and ["load", "8"] in [x[:2] for x in lines]
    assert printed.err == (f"dynonet: note: {tmp_path / 'actual.csv'}: no column 'temp' (of the run's series; columns "
                           "there: 'date', 'Temp', 'load'): not scored\n")
    # columns the run does not read are left alone, whatever they are: a saved index, a name twice
    actual.assign(x=1, y=2).rename(columns={"y": "x"}).to_csv(tmp_path / "indexed.csv")
    assert predict(setup, "--out", str(tmp_path / "f.csv"), "--actual", str(tmp_path / "indexed.csv")) == 0
    assert "8 of 8 steps" in capsys.readouterr().out
    long = actual.melt(id_vars="date", var_name="unique_id", value_name="y").rename(columns={"date": "ds"})
    long[long.unique_id == "load"].to_csv(tmp_path / "long.csv", index=False)
    assert predict(setup, "--out", str(tmp_path / "f.csv"), "--actual", str(tmp_path / "long.csv")) == 0
    assert capsys.readouterr().err.endswith("long.csv: no series 'temp' (of the run's series; unique_id values there: "
                                            "'load'): not scored\n")


@pytest.mark.parametrize("target", ["missing folder", "a folder", "same as plot", "the input", "the actual",
                                    "a file of the run"])
def test_unwritable_output(setup, capsys, target):
    if target == "missing folder":
        args, expect = ["--out", str(setup / "no" / "such" / "f.csv")], "does not exist"
    elif target == "a folder":
        args, expect = ["--out", str(setup)], "is a folder"
    elif target == "same as plot":
        args, expect = ["--out", str(setup / "x.csv"), "--plot", str(setup / "x.csv")], "same file"
    elif target == "the input":
        args, expect = ["--out", str(setup / "recent.csv")], "is the --csv file this command reads"
    elif target == "the actual":
        args, expect = ["--out", str(setup / "x.csv"), "--plot", str(setup / "actual.csv"), "--actual",
                        str(setup / "actual.csv")], "is the --actual file this command reads"
    else:
        args, expect = ["--out", str(setup / "run" / "checkpoint.json")], "is a file of the run folder"
    protected = [setup / "recent.csv", setup / "actual.csv", setup / "run" / "checkpoint.json"]
    before = [p.read_bytes() if p.exists() else None for p in protected]
    assert predict(setup, *args) == 2
    assert expect in one_error_line(capsys)
    assert not (setup / "x.csv").exists()
    assert [p.read_bytes() if p.exists() else None for p in protected] == before


def test_a_forecast_kept_in_the_run_folder_can_be_written_again(setup, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(setup / "run", run)
    for _ in range(2):  # the second time the file exists: it is the user's, not the run's
        assert main(["predict", "--checkpoint", str(run), "--csv", str(setup / "recent.csv"),
                     "--out", str(run / "forecast.csv")]) == 0
    assert (run / "forecast.csv").read_text().startswith("date,")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(setup, capsys, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert predict(setup, "--out", str(ro / "f.csv")) == 2
        assert "cannot write there" in one_error_line(capsys)
    finally:
        ro.chmod(0o700)


@pytest.mark.parametrize("damage", ["truncated json", "truncated weights", "missing weights", "no folder", "a file",
                                    "other widths"])
def test_corrupted_checkpoint(setup, capsys, tmp_path, damage):
    run = tmp_path / "run"
    shutil.copytree(setup / "run", run)
    if damage == "truncated json":
        (run / META).write_text((run / META).read_text()[:200])
        expect = f"{run / META}: corrupted"
    elif damage == "truncated weights":
        (run / WEIGHTS).write_bytes((run / WEIGHTS).read_bytes()[:-100])
        expect = f"{run / WEIGHTS}: corrupted"
    elif damage == "missing weights":
        (run / WEIGHTS).unlink()
        expect = f"{run / WEIGHTS}: missing"
    elif damage == "no folder":
        shutil.rmtree(run)
        expect = "no such run folder"
    elif damage == "a file":
        shutil.rmtree(run)
        run.write_text("date,load\n")
        expect = "a file, not a run folder"
    else:  # settings edited by hand: the weights no longer fit the model they describe
        meta = json.loads((run / META).read_text())
        meta["config"]["model"]["worker_hidden"] += 1
        (run / META).write_text(json.dumps(meta))
        expect = f"{run / WEIGHTS}: corrupted or incompatible (size mismatch for "
    out = tmp_path / "f.csv"
    assert main(["predict", "--checkpoint", str(run), "--csv", str(setup / "recent.csv"), "--out", str(out)]) == 2
    assert expect in one_error_line(capsys)
    assert not out.exists()


def test_train_on_too_short_csv(setup, capsys):
    write_recent(setup, "tiny.csv", "\n".join(recent_text(setup)[:21]) + "\n")
    assert main(["train", "--csv", str(setup / "tiny.csv"), "--out", str(setup / "tiny_run"), "--quiet",
                 "--test-fraction", "0", *TINY]) == 2
    assert "tiny.csv: 20 rows are too few" in one_error_line(capsys)


# -- predict_csv: both files or neither --------------------------------------------------------
@pytest.fixture()
def predict_setup(setup, tmp_path):
    """The trained run and recent rows in a folder of their own, beside a previous forecast."""
    shutil.copytree(setup / "run", tmp_path / "run")
    shutil.copy(setup / "recent.csv", tmp_path / "recent.csv")
    (tmp_path / "out.csv").write_text("previous forecast\n")
    return tmp_path


def test_predict_csv_writes_both_files(predict_setup):
    d = predict_setup
    predict_csv(d / "run", d / "recent.csv", d / "out.csv", plot=d / "out.png", device="cpu")
    assert len(pd.read_csv(d / "out.csv")) == H and (d / "out.png").read_bytes()[:4] == b"\x89PNG"
    assert not [p for p in d.iterdir() if p.name.startswith(".")]


def test_a_failing_plot_leaves_no_forecast_behind(predict_setup, monkeypatch):
    import dynonet.plots

    d = predict_setup

    def broken(*args, **kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(dynonet.plots, "forecast_plot", broken)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        predict_csv(d / "run", d / "recent.csv", d / "out.csv", plot=d / "out.png", device="cpu")
    assert (d / "out.csv").read_text() == "previous forecast\n" and not (d / "out.png").exists()
    assert not [p for p in d.iterdir() if p.name.startswith(".")]


def test_a_failing_plot_write_leaves_no_forecast_behind(predict_setup, monkeypatch):
    d = predict_setup
    real, tries = files._create_beside, []

    def no_png(where):
        if where.name == "out.png":
            tries.append(where)
            if len(tries) == 2:  # the first is check_writable's probe, before any work; the second, the write
                raise OSError(28, "No space left on device")
        return real(where)

    monkeypatch.setattr(files, "_create_beside", no_png)
    with pytest.raises(OutputError, match=r"out.png: cannot write there \(No space left on device\)"):
        predict_csv(d / "run", d / "recent.csv", d / "out.csv", plot=d / "out.png", device="cpu")
    assert (d / "out.csv").read_text() == "previous forecast\n" and not (d / "out.png").exists()
    assert not [p for p in d.iterdir() if p.name.startswith(".")] and len(tries) == 2


# -- the long format: unique_id, ds, y -------------------------------------------------------
def _long_csv(wide: pd.DataFrame, path: Path) -> pd.DataFrame:
    long = wide.melt(id_vars="date", var_name="unique_id", value_name="y").rename(columns={"date": "ds"})
    long = long[["unique_id", "ds", "y"]]
    long.to_csv(path, index=False)
    return long


def test_a_long_csv_trains_and_forecasts_long(setup, tmp_path, capsys):
    full = pd.read_csv(setup / "all.csv")
    _long_csv(full.iloc[:200], tmp_path / "data.csv")
    _long_csv(full.iloc[160:200], tmp_path / "recent.csv")
    assert main(["train", "--csv", str(tmp_path / "data.csv"), "--out", str(tmp_path / "run"), "--test-fraction", "0",
                 "--quiet", *TINY]) == 0
    assert predict(tmp_path, "--out", str(tmp_path / "f.csv")) == 0
    out = pd.read_csv(tmp_path / "f.csv")
    assert list(out.columns) == ["unique_id", "ds", "DynoNet"] and out["unique_id"].tolist() == ["load"] * H + ["temp"] * H
    assert out["ds"].tolist()[:2] == [f"2024-01-09 {h:02d}:00:00" for h in (8, 9)]
    # the same run forecasting the same rows given wide: the same numbers
    assert predict(tmp_path, "--out", str(tmp_path / "g.csv"), csv=str(setup / "recent.csv")) == 0
    wide = pd.read_csv(tmp_path / "g.csv")
    assert np.array_equal(out["DynoNet"].to_numpy(), np.concatenate([wide["load"], wide["temp"]]))
    # and with an interval: its bounds beside the forecast, as the wide file's beside each series
    assert predict(tmp_path, "--out", str(tmp_path / "i.csv"), "--level", "80") == 0
    assert predict(tmp_path, "--out", str(tmp_path / "j.csv"), "--level", "80", csv=str(setup / "recent.csv")) == 0
    long, wide = pd.read_csv(tmp_path / "i.csv"), pd.read_csv(tmp_path / "j.csv")
    assert list(long.columns) == ["unique_id", "ds", "DynoNet", "DynoNet-lo-80", "DynoNet-hi-80"]
    assert long["ds"].equals(out["ds"])
    assert np.array_equal(long["DynoNet-hi-80"].to_numpy(), np.concatenate([wide["load-hi-80"], wide["temp-hi-80"]]))
    # a bad cell among the dates read is named by its line of the long file (load's last date: line 41)
    text = (tmp_path / "recent.csv").read_text().splitlines()
    text[40] = text[40].rsplit(",", 1)[0] + ",n/a"
    (tmp_path / "bad.csv").write_text("\n".join(text) + "\n")
    capsys.readouterr()
    assert predict(tmp_path, "--out", str(tmp_path / "h.csv"), csv="bad.csv") == 2
    assert "bad.csv: line 41, column 'y' (series 'load'): 'n/a' is not a finite number" in one_error_line(capsys)
    assert not (tmp_path / "h.csv").exists()
    # one before the last `lookback` dates is not read, as a wide file's rows before them are not
    text = (tmp_path / "recent.csv").read_text().splitlines()
    text[1] = text[1].rsplit(",", 1)[0] + ",n/a"
    (tmp_path / "early.csv").write_text("\n".join(text) + "\n")
    assert predict(tmp_path, "--out", str(tmp_path / "e.csv"), csv="early.csv") == 0
    assert pd.read_csv(tmp_path / "e.csv").equals(out)
    # too short, counted in dates (a long file has a row per series and date)
    _long_csv(full.iloc[190:200], tmp_path / "short.csv")
    assert predict(tmp_path, "--out", str(tmp_path / "h.csv"), csv="short.csv") == 2
    assert "short.csv: 10 dates, but the model needs the last" in one_error_line(capsys)
    # a long file with another column is refused as such, as a long DataFrame is
    (tmp_path / "extra.csv").write_text("unique_id,ds,y,note\n" + "".join(
        line + ",x\n" for line in (tmp_path / "recent.csv").read_text().splitlines()[1:]))
    assert predict(tmp_path, "--out", str(tmp_path / "h.csv"), csv="extra.csv") == 2
    assert "extra.csv: long format takes only the columns unique_id, ds, y; unexpected 'note'" in one_error_line(capsys)
    # true values given long, some not known yet: a blank y, and rows not there at all
    actual = _long_csv(full.iloc[200:], tmp_path / "actual.csv")
    actual.loc[actual["unique_id"] == "load", "y"] = actual["y"].where(actual.index % 8 < 6)
    actual[~((actual["unique_id"] == "temp") & (actual.index % 8 >= 4))].to_csv(tmp_path / "actual.csv", index=False)
    assert predict(tmp_path, "--out", str(tmp_path / "f.csv"), "--actual", str(tmp_path / "actual.csv")) == 0
    lines = [x.split() for x in capsys.readouterr().out.splitlines()]
    assert [x[:2] for x in lines if x[:1] in (["load"], ["temp"])] == [["load", "6"], ["temp", "4"]]


# -- choosing the series: --columns ----------------------------------------------------------
def test_columns_train_on_some_series_and_predict_from_a_wider_file(tmp_path, capsys):
    full = series_csv(tmp_path / "all.csv", 300).assign(site="north", humidity=50.0)
    full.to_csv(tmp_path / "data.csv", index=False)
    assert main(["train", "--csv", str(tmp_path / "data.csv"), "--out", str(tmp_path / "refused"), "--quiet",
                 *TINY]) == 2
    assert "column 'site': 'north' is not a finite number" in one_error_line(capsys)
    assert main(["train", "--csv", str(tmp_path / "data.csv"), "--columns", "temp, load", "--out",
                 str(tmp_path / "run"), "--quiet", *TINY]) == 0
    assert json.loads((tmp_path / "run" / META).read_text())["columns"] == ["temp", "load"]
    full.iloc[-L:][["humidity", "load", "date", "temp", "site"]].to_csv(tmp_path / "recent.csv", index=False)
    assert predict(tmp_path, "--out", str(tmp_path / "f.csv")) == 0
    assert list(pd.read_csv(tmp_path / "f.csv").columns) == ["date", "temp", "load"]
    full.iloc[-L:][["date", "load"]].to_csv(tmp_path / "narrow.csv", index=False)
    capsys.readouterr()
    assert predict(tmp_path, "--out", str(tmp_path / "g.csv"), csv="narrow.csv") == 2
    assert "narrow.csv: no column 'temp' (one of the run's series; columns there: 'load')" in one_error_line(capsys)
    assert main(["train", "--columns", "OT", "--out", str(tmp_path / "bundled")]) == 2
    assert "--columns: the bundled datasets' files are read as they are" in one_error_line(capsys)


def test_a_series_whose_name_holds_a_comma_is_named_in_quotes(tmp_path, capsys):
    series_csv(tmp_path / "all.csv", 300).rename(columns={"load": "lo,ad"}).assign(site="north").to_csv(
        tmp_path / "data.csv", index=False)
    assert main(["train", "--csv", str(tmp_path / "data.csv"), "--columns", '"lo,ad", temp', "--out",
                 str(tmp_path / "run"), "--quiet", *TINY]) == 0
    assert json.loads((tmp_path / "run" / META).read_text())["columns"] == ["lo,ad", "temp"]
    assert predict(tmp_path, "--out", str(tmp_path / "f.csv"), "--plot", str(tmp_path / "f.png"), "--plot-series",
                   '"lo,ad"', csv="data.csv") == 0
    from dynonet import DynoNetForecaster  # the Python API reads the same text alike

    assert DynoNetForecaster(columns='"lo,ad",temp').config.data.columns == ("lo,ad", "temp")
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:  # a quote left open: refused, not read as 'lo,ad'
        main(["train", "--csv", str(tmp_path / "data.csv"), "--columns", '"lo,ad', "--out", str(tmp_path / "open")])
    assert stop.value.code == 2 and "'\"lo,ad': a quote is left open" in capsys.readouterr().err
    assert not (tmp_path / "open").exists()


def test_a_semicolon_csv_with_decimal_commas_trains_and_is_forecast_in_kind(tmp_path, capsys):
    df = series_csv(tmp_path / "plain.csv", 300)
    df.to_csv(tmp_path / "data.csv", sep=";", decimal=",", index=False)
    df.iloc[-L:].to_csv(tmp_path / "recent.csv", sep=";", decimal=",", index=False)
    assert main(["train", "--csv", str(tmp_path / "data.csv"), "--out", str(tmp_path / "refused"), "--quiet",
                 *TINY]) == 2
    assert "(it looks separated by ';': give --sep ';' --decimal ',')" in one_error_line(capsys)
    assert main(["train", "--csv", str(tmp_path / "data.csv"), "--sep", ";", "--decimal", ",", "--out",
                 str(tmp_path / "run"), "--quiet", *TINY]) == 0
    assert predict(tmp_path, "--out", str(tmp_path / "f.csv")) == 0
    text = (tmp_path / "f.csv").read_text()
    assert text.startswith("date;load;temp\n") and "," in text.splitlines()[1]  # as the input writes numbers
    written = pd.read_csv(tmp_path / "f.csv", sep=";", decimal=",")
    assert len(written) == H and written["load"].dtype.kind == "f"
    assert main(["train", "--csv", str(tmp_path / "data.csv"), "--sep", ",", "--decimal", ",", "--out",
                 str(tmp_path / "both"), "--quiet", *TINY]) == 2
    assert "--sep and --decimal are both ','" in one_error_line(capsys)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_a_write_the_system_fails_exits_1_and_a_bad_path_2(setup, capsys):
    assert predict(setup, "--out", "/dev/full") == 1  # a full disk: the input was fine
    assert one_error_line(capsys) == "dynonet: error: /dev/full: cannot write there (No space left on device)"
    assert predict(setup, "--out", str(setup / "no-such-folder" / "f.csv")) == 2  # the path given was wrong
    assert "does not exist" in one_error_line(capsys)


def test_recent_data_in_another_dialect_than_training_is_read_with_flags_and_answered_in_it(setup, tmp_path, capsys):
    european = pd.read_csv(setup / "recent.csv")
    european["date"] = pd.to_datetime(european["date"]).dt.strftime("%d.%m.%Y %H:%M")
    european.to_csv(tmp_path / "recent.csv", sep=";", decimal=",", index=False)

    def run(out: str, *flags: str) -> int:
        return main(["predict", "--checkpoint", str(setup / "run"), "--csv", str(tmp_path / "recent.csv"),
                     "--out", str(tmp_path / out), *flags])

    assert run("f.csv") == 2  # read as the training CSV was
    assert "(the run reads fields separated by ','; give --sep ';' --decimal ',' for this file)" in one_error_line(capsys)
    assert run("f.csv", "--sep", ";") == 2  # 07.01.2024: day or month first?
    assert "the run reads dates without a format: write them year first (2023-02-01), or give --date-format" \
        in one_error_line(capsys)
    assert run("f.csv", "--sep", ";", "--date-format", "%d.%m.%Y %H:%M") == 2
    assert "(the run reads decimal points; give --decimal ',')" in one_error_line(capsys)
    dialect = ("--sep", ";", "--decimal", ",", "--date-format", "%d.%m.%Y %H:%M")
    assert run("f.csv", *dialect, "--actual", str(setup / "actual.csv")) == 2  # --actual is read their way too
    capsys.readouterr()
    assert run("f.csv", *dialect) == 0
    written = (tmp_path / "f.csv").read_text().splitlines()
    assert written[0] == "date;load;temp" and written[1].startswith("09.01.2024 08:00;")
    assert predict(setup, "--out", str(tmp_path / "plain.csv")) == 0
    plain = pd.read_csv(tmp_path / "plain.csv")
    again = pd.read_csv(tmp_path / "f.csv", sep=";", decimal=",")
    assert np.allclose(again[["load", "temp"]], plain[["load", "temp"]])  # the same forecast, written their way
    assert run("g.csv", "--sep", ",", "--decimal", ",") == 2
    assert "--sep and --decimal are both ','" in one_error_line(capsys)
    assert run("g.csv", "--sep", "|") == 2  # the separator given is named as given, not as the run's
    assert "(it looks separated by ';': give --sep ';' --decimal ',')" in one_error_line(capsys)
    assert run("g.csv", "--date-format", "%d/%m/%Y %H:%M", "--sep", ";") == 2
    assert "does not match --date-format '%d/%m/%Y %H:%M'" in one_error_line(capsys)
    with_commas = tmp_path / "run"  # a run whose CSV had decimal commas: --sep ',' alone meets its mark
    shutil.copytree(setup / "run", with_commas)
    meta = json.loads((with_commas / META).read_text())
    meta["config"]["data"].update(sep=";", decimal=",")
    (with_commas / META).write_text(json.dumps(meta))
    assert main(["predict", "--checkpoint", str(with_commas), "--csv", str(setup / "recent.csv"),
                 "--out", str(tmp_path / "h.csv"), "--sep", ","]) == 2
    assert "--sep ',' is the run's decimal mark; give --decimal too" in one_error_line(capsys)


@pytest.mark.parametrize("name", ["f.xlsx", "f.JSON", "f.parquet", "forecast.png", "f.svg"])
def test_a_forecast_is_not_written_under_another_format_s_name(setup, tmp_path, capsys, name):
    assert predict(setup, "--out", str(tmp_path / name)) == 2
    assert "the forecast is written as CSV; give a name ending in .csv" in one_error_line(capsys)
    assert not list(tmp_path.iterdir())


def test_the_console_names_daily_forecast_dates_as_the_csv_writes_them(tmp_path, capsys):
    days = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=120, freq="D").strftime("%Y-%m-%d"),
                         "a": np.sin(np.arange(120) / 5)})
    days.to_csv(tmp_path / "d.csv", index=False)
    assert main(["train", "--csv", str(tmp_path / "d.csv"), "--out", str(tmp_path / "run"), "--model", "linear",
                 "--horizon", "7", "--lookback", "14", "--epochs", "1", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["predict", "--checkpoint", str(tmp_path / "run"), "--csv", str(tmp_path / "d.csv"),
                 "--out", str(tmp_path / "f.csv"), "--verbose"]) == 0
    assert "7 steps x 1 series, 2024-04-30 .. 2024-05-06 ->" in capsys.readouterr().out
    assert (tmp_path / "f.csv").read_text().splitlines()[1].startswith("2024-04-30,")


def test_blank_actual_values_go_unscored_and_the_rest_is_scored(setup, tmp_path, capsys):
    actual = pd.read_csv(setup / "actual.csv")
    actual.loc[5:, "load"] = np.nan  # the last three hours of load not known yet
    actual.loc[:, "temp"] = np.nan  # temp not at all
    actual.to_csv(tmp_path / "actual.csv", index=False)
    assert predict(setup, "--out", str(tmp_path / "f.csv"), "--actual", str(tmp_path / "actual.csv"),
                   "--plot", str(tmp_path / "f.png")) == 0
    lines = [x.split() for x in capsys.readouterr().out.splitlines()]
    fc = pd.read_csv(tmp_path / "f.csv")
    err = (fc["load"] - actual["load"])[:5]
    assert ["load", "5", f"{err.abs().mean():.4f}", f"{(err ** 2).mean():.4f}"] in lines
    assert ["temp", "0", "n/a", "n/a"] in lines
    actual.loc[:, "load"] = np.nan
    actual.to_csv(tmp_path / "actual.csv", index=False)
    assert predict(setup, "--out", str(tmp_path / "g.csv"), "--actual", str(tmp_path / "actual.csv")) == 2
    assert "no value in the forecast period" in one_error_line(capsys)
    actual["load"] = actual["load"].astype(object)
    actual.loc[2, "load"] = "oops"  # a cell that is there but no number is refused, not left unscored
    actual.to_csv(tmp_path / "actual.csv", index=False)
    assert predict(setup, "--out", str(tmp_path / "g.csv"), "--actual", str(tmp_path / "actual.csv")) == 2
    assert "line 4, column 'load': 'oops' is not a finite number" in one_error_line(capsys)


def test_actual_with_older_history_needs_numbers_only_in_the_forecast_period(setup, tmp_path, capsys):
    history = pd.read_csv(setup / "all.csv")  # every row from the start, the forecast period at the end
    history["load"] = history["load"].astype(object)
    history.loc[3, "load"] = "NA"  # long before the forecast period: not read
    history.to_csv(tmp_path / "actual.csv", index=False)
    assert predict(setup, "--out", str(tmp_path / "f.csv"), "--actual", str(tmp_path / "actual.csv")) == 0
    assert "8 of 8 steps" in capsys.readouterr().out
    history.loc[203, "load"] = "NA"  # inside it: refused
    history.to_csv(tmp_path / "actual.csv", index=False)
    assert predict(setup, "--out", str(tmp_path / "f.csv"), "--actual", str(tmp_path / "actual.csv")) == 2
    assert "line 205, column 'load': 'NA' is not a finite number" in one_error_line(capsys)


def test_an_actual_file_written_otherwise_than_the_recent_one_is_told_to_match_it(setup, tmp_path, capsys):
    pd.read_csv(setup / "recent.csv").to_csv(tmp_path / "recent.csv", sep=";", index=False)
    assert main(["predict", "--checkpoint", str(setup / "run"), "--csv", str(tmp_path / "recent.csv"), "--sep", ";",
                 "--out", str(tmp_path / "f.csv"), "--actual", str(setup / "actual.csv")]) == 2
    assert one_error_line(capsys).endswith("(--actual is read as --csv is: write both files alike)")


def test_errors_in_recent_data_name_the_files_lines_across_blank_lines(setup, capsys):
    lines = (setup / "recent.csv").read_text().splitlines()
    # a blank line before the lookback window, and a missing hour in it (the row of file line 31)
    text = "\n".join(lines[:3] + [""] + lines[3:30] + lines[31:]) + "\n"
    assert predict(setup, "--out", "-", csv=write_recent(setup, "blank.csv", text)) == 2
    after = lines[31].split(",")[0]
    assert f"blank.csv: line 32: date {after} is not one step (h) after" in one_error_line(capsys)
    assert text.splitlines()[31].startswith(after)  # on line 32 of the file


# -- dynonet backtest ----------------------------------------------------------------------
def test_backtest_writes_the_forecast_from_each_cutoff_beside_the_truth_and_scores_them(setup, tmp_path, capsys):
    out = tmp_path / "backtest.csv"
    capsys.readouterr()
    assert main(["backtest", "--checkpoint", str(setup / "run"), "--csv", str(setup / "all.csv"), "--out", str(out),
                 "--step", "4", "--level", "80"]) == 0
    printed = capsys.readouterr().out.splitlines()
    written = pd.read_csv(out, parse_dates=["ds", "cutoff"])
    assert list(written.columns) == ["unique_id", "ds", "cutoff", "DynoNet", "DynoNet-lo-80", "DynoNet-hi-80",
                                     "RepeatLast", "SeasonalRepeat", "y"]
    frame = pd.read_csv(setup / "all.csv", parse_dates=["date"], index_col="date")
    with pytest.warns(UserWarning, match="reach into the rows the run was trained or validated on"):
        api = DynoNetForecaster.load(setup / "run").backtest(frame, step=4, level=80, naive=True)
    np.testing.assert_allclose(written.drop(columns=["unique_id", "ds", "cutoff"]),
                               api.drop(columns=["unique_id", "ds", "cutoff"]), rtol=1e-9)
    assert (written["ds"] == api["ds"]).all() and (written["cutoff"] == api["cutoff"]).all()
    # each series' errors in its own units, and standardized as the run's test scores are
    std = dict(zip(["load", "temp"], json.loads((setup / "run" / "checkpoint.json").read_text())["scaler"]["std"]))
    error = written["DynoNet"] - written["y"]
    for series in ("load", "temp"):
        mine = error[written["unique_id"] == series]
        inside = written[written["unique_id"] == series].eval("`DynoNet-lo-80` <= y <= `DynoNet-hi-80`").mean()
        assert [series, str(written["cutoff"].nunique()), f"{mine.abs().mean():.4f}", f"{mine.pow(2).mean():.4f}",
                f"{inside:.3f}"] in [line.split() for line in printed]
    scaled = error / written["unique_id"].map(std)
    assert f"MSE {scaled.pow(2).mean():.4f}, MAE {scaled.abs().mean():.4f}" in printed[-4]
    # the naive forecasts from the same cutoffs: the values at the cutoff, and a day (the hourly data's cycle) before
    truth = frame.stack().rename_axis(["ds", "unique_id"])
    for column, before in (("RepeatLast", written["cutoff"]), ("SeasonalRepeat", written["ds"] - pd.Timedelta("24h"))):
        np.testing.assert_array_equal(written[column], truth.loc[list(zip(before, written["unique_id"]))])
    for line, (column, what) in zip(printed[-3:-1], [("RepeatLast", "naive forecast (each series' last value "
                                                                    "repeated)"),
                                                     ("SeasonalRepeat", "seasonal naive (each series' last 24 steps "
                                                                        "repeated)")]):
        naive = (written[column] - written["y"]) / written["unique_id"].map(std)
        assert line.startswith(f"{what}, same cutoffs, standardized alike: MSE {naive.pow(2).mean():.4f}, "
                               f"MAE {naive.abs().mean():.4f}")
    # the same figures in Python
    scores = DynoNetForecaster.load(setup / "run").scores(api)
    assert scores.index.tolist() == ["load", "temp"]
    assert scores.columns.tolist() == ["forecasts", "MAE", "MSE", "scaled_MAE", "scaled_MSE", "coverage_80"]
    for series in ("load", "temp"):
        mine, rows = error[written["unique_id"] == series], written[written["unique_id"] == series]
        assert scores.loc[series, "forecasts"] == written["cutoff"].nunique()
        assert scores.loc[series, ["MAE", "MSE"]].tolist() == pytest.approx([mine.abs().mean(), mine.pow(2).mean()])
        assert scores.loc[series, "coverage_80"] == rows.eval("`DynoNet-lo-80` <= y <= `DynoNet-hi-80`").mean()
    assert scores[["scaled_MSE", "scaled_MAE"]].mean().tolist() == pytest.approx([scaled.pow(2).mean(),
                                                                                   scaled.abs().mean()])
    with pytest.raises(DataError, match=r"^scores: not a backtest table of this model \(no column 'cutoff'\)$"):
        DynoNetForecaster.load(setup / "run").scores(api.drop(columns="cutoff"))
    # an interval with one bound left is none; a part of the table scores that part
    assert "coverage_80" not in DynoNetForecaster.load(setup / "run").scores(api.drop(columns="DynoNet-hi-80"))
    part = DynoNetForecaster.load(setup / "run").scores(api[api["unique_id"] == "temp"])
    pd.testing.assert_series_equal(part.loc["temp"], scores.loc["temp"])
    # a true value not known (NaN: not yet, or masked) is scored by no column, as --actual leaves a blank cell
    unknown = api.assign(y=api["y"].where(api.index % 2 == 0))
    known = DynoNetForecaster.load(setup / "run").scores(api[api.index % 2 == 0])
    pd.testing.assert_frame_equal(DynoNetForecaster.load(setup / "run").scores(unknown).drop(columns="forecasts"),
                                  known.drop(columns="forecasts"))
    first = written.groupby("cutoff")["ds"].min()
    seen = int((first <= frame.index[199]).sum())  # the run trained and validated on the first 200 rows
    assert printed[-1].startswith(f"{seen} of {len(first)} forecasts reach into the rows the run was trained")
    # standard output holds the CSV alone
    assert main(["backtest", "--checkpoint", str(setup / "run"), "--csv", str(setup / "all.csv"), "--out", "-",
                 "--step", "4", "--level", "80"]) == 0
    assert capsys.readouterr().out == out.read_text()


def test_backtest_checks_everything_before_it_writes(setup, tmp_path, capsys):
    out = tmp_path / "backtest.csv"

    def backtest(*extra: str, csv: str = "all.csv", to: Path = out) -> int:
        return main(["backtest", "--checkpoint", str(setup / "run"), "--csv", str(setup / csv), "--out", str(to),
                     *extra])

    capsys.readouterr()
    assert backtest("--level", "60,85") == 2
    assert one_error_line(capsys).endswith(f"levels 60, 85: the run calibrated levels 50, 80, 90; `dynonet evaluate "
                                           f"--checkpoint {setup / 'run'} --calibrate --interval-levels 50,60,80,85,90` "
                                           "adds them")
    assert backtest(csv="actual.csv") == 2  # 8 rows
    assert f"actual.csv: 8 rows, but a backtest needs at least lookback + horizon = {L + H}" in one_error_line(capsys)
    assert backtest(to=setup / "all.csv") == 2
    assert "all.csv: is the --csv file this command reads; give another name" in one_error_line(capsys)
    assert backtest(to=tmp_path / "b.xlsx") == 2
    assert "b.xlsx: the backtest is written as CSV; give a name ending in .csv (not .xlsx)" in one_error_line(capsys)
    with pytest.raises(SystemExit) as stop:
        backtest("--step", "0")
    assert stop.value.code == 2 and "--step: must be an integer >= 1 (got '0')" in capsys.readouterr().err
    assert backtest("--plot", str(tmp_path / "p.txt")) == 2
    assert one_error_line(capsys).endswith("p.txt: a plot is written as .png, .pdf, .svg; not .txt")
    assert backtest("--plot", str(out)) == 2
    assert one_error_line(capsys).endswith("--plot and --out name the same file")
    assert backtest("--plot-series", "temp") == 2
    assert one_error_line(capsys).endswith("--plot-series: names the series --plot draws; give --plot too")
    assert backtest("--plot", str(tmp_path / "p.png"), "--plot-series", "tmp") == 2
    assert one_error_line(capsys).endswith("--plot-series: the run has no series 'tmp'; did you mean 'temp'?")
    assert not out.exists() and not (tmp_path / "b.xlsx").exists() and not (tmp_path / "p.png").exists()
    assert (setup / "all.csv").read_text().startswith("date,load,temp\n")  # untouched
    # both written together; the plot beside a CSV on standard output too
    assert backtest("--plot", str(tmp_path / "p.png"), "--plot-series", "temp", "--verbose") == 0
    assert out.is_file() and (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    assert capsys.readouterr().out.splitlines()[-1] == f"plot: {tmp_path / 'p.png'}"
    assert backtest("--plot", str(tmp_path / "p.svg"), "--verbose", to="-") == 0
    printed = capsys.readouterr()
    assert printed.out == out.read_text() and (tmp_path / "p.svg").read_text().lstrip().startswith("<?xml")
    assert printed.err.splitlines()[-1] == f"plot: {tmp_path / 'p.svg'}"


def test_the_csv_may_come_on_standard_input(setup, tmp_path, capsys, monkeypatch):
    import io

    def piped(path: Path) -> None:  # `cat FILE | dynonet ... --csv -`
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))

    base = ["--checkpoint", str(setup / "run"), "--out", "-"]
    for command, data, extra in (("predict", "recent.csv", []), ("backtest", "all.csv", ["--step", "4"])):
        assert main([command, *base, "--csv", str(setup / data), *extra]) == 0
        from_file = capsys.readouterr().out
        piped(setup / data)
        assert main([command, *base, "--csv", "-", *extra]) == 0
        assert capsys.readouterr().out == from_file
    (tmp_path / "short.csv").write_text("".join((setup / "recent.csv").read_text().splitlines(True)[:5]))
    piped(tmp_path / "short.csv")
    assert main(["predict", *base, "--csv", "-"]) == 2
    assert one_error_line(capsys).startswith("dynonet: error: standard input: 4 rows, but the model needs the last ")
    assert main(["predict", *base, "--csv", "-", "--actual", "-"]) == 2
    assert one_error_line(capsys).endswith("--actual -: the true values are read from a file (standard input serves "
                                           "--csv -)")


@pytest.mark.skipif(torch.cuda.is_available(), reason="asks for CUDA where there is none")
@pytest.mark.parametrize("command", ["predict", "backtest"])
def test_a_device_not_there_is_named_as_the_flag(setup, capsys, command):
    assert main([command, "--checkpoint", str(setup / "run"), "--csv", str(setup / "all.csv"), "--out", "-",
                 "--device", "cuda"]) == 2
    assert one_error_line(capsys) == "dynonet: error: --device cuda requested but no CUDA device is available"


def test_backtest_without_out_prints_the_scores_and_writes_the_plot_alone(setup, tmp_path, capsys):
    base = ["backtest", "--checkpoint", str(setup / "run"), "--csv", str(setup / "all.csv"), "--step", "4"]
    assert main(base) == 0
    alone = capsys.readouterr().out.splitlines()
    assert alone[0].startswith("backtest: ") and alone[0].endswith("(every 4 rows)")  # no file named
    assert main([*base, "--out", str(tmp_path / "bt.csv")]) == 0
    written = capsys.readouterr().out.splitlines()
    assert written[0] == f"{alone[0]} -> {tmp_path / 'bt.csv'}" and written[1:] == alone[1:]  # the same scores
    assert main([*base, "--plot", str(tmp_path / "bt.png"), "--level", "80"]) == 0
    assert (tmp_path / "bt.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bt.csv", "bt.png"]


def test_backtest_reads_and_writes_the_csv_in_its_own_dialect_and_shape(setup, tmp_path):
    frame = pd.read_csv(setup / "all.csv")
    frame.to_csv(tmp_path / "european.csv", sep=";", decimal=",", index=False)
    frame.melt(id_vars="date", var_name="unique_id", value_name="y").rename(columns={"date": "ds"}).to_csv(
        tmp_path / "long.csv", index=False)
    base = ["backtest", "--checkpoint", str(setup / "run"), "--step", "4"]
    assert main([*base, "--csv", str(setup / "all.csv"), "--out", str(tmp_path / "plain.csv")]) == 0
    assert main([*base, "--csv", str(tmp_path / "european.csv"), "--out", str(tmp_path / "e.csv"), "--sep", ";",
                 "--decimal", ","]) == 0
    assert main([*base, "--csv", str(tmp_path / "long.csv"), "--out", str(tmp_path / "l.csv")]) == 0
    plain = pd.read_csv(tmp_path / "plain.csv")
    assert (tmp_path / "e.csv").read_text().splitlines()[0] == "unique_id;ds;cutoff;DynoNet;RepeatLast;SeasonalRepeat;y"
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "e.csv", sep=";", decimal=","), plain)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "l.csv"), plain)


def test_series_that_are_not_the_run_s_are_said_to_be_left_out(setup, tmp_path, capsys):
    recent = pd.read_csv(setup / "recent.csv")
    recent.assign(wind=recent["temp"] * 2).to_csv(tmp_path / "wide.csv", index=False)  # a column the run lacks
    assert predict(setup, "--out", str(tmp_path / "f.csv"), csv=str(tmp_path / "wide.csv")) == 0
    note = ("dynonet: note: {}: 'wind' is not among the run's 2 series: left out (a model forecasts the series it was "
            "trained on)")
    assert note.format(tmp_path / "wide.csv") in capsys.readouterr().err.splitlines()
    assert list(pd.read_csv(tmp_path / "f.csv").columns) == ["date", "load", "temp"]
    long = _long_csv(recent.assign(S099=recent["load"]), tmp_path / "long.csv")  # a store opened since
    assert main(["backtest", "--checkpoint", str(setup / "run"), "--csv", str(tmp_path / "long.csv")]) == 0
    printed = capsys.readouterr().err.splitlines()
    assert note.format(tmp_path / "long.csv").replace("'wind'", "'S099'") in printed
    with pytest.warns(UserWarning, match=r"^recent data: 'S099' is not among the run's 2 series: left out"):
        DynoNetForecaster.load(setup / "run").predict(long)
    # a run that chose its series (--columns) leaves the others out as asked: no note
    assert main(["train", "--csv", str(setup / "data.csv"), "--out", str(tmp_path / "run"), "--test-fraction", "0",
                 "--columns", "load", "--quiet", *TINY]) == 0
    capsys.readouterr()
    assert predict(setup, "--out", str(tmp_path / "g.csv"), csv=str(tmp_path / "wide.csv"), run=str(tmp_path / "run")) == 0
    assert "not among the run's" not in capsys.readouterr().err


def test_a_recent_file_saved_with_a_byte_order_mark_gets_its_forecast_so_too(setup, tmp_path):
    marked = tmp_path / "excel.csv"
    marked.write_bytes(b"\xef\xbb\xbf" + (setup / "recent.csv").read_bytes().replace(b"\n", b"\r\n"))  # "CSV UTF-8"
    for command, csv in (("predict", marked), ("backtest", marked), ("predict", setup / "recent.csv")):
        out = tmp_path / f"{command}-{csv.name}"
        assert main([command, "--checkpoint", str(setup / "run"), "--csv", str(csv), "--out", str(out)]) == 0
        assert out.read_bytes().startswith(b"\xef\xbb\xbf") == (csv == marked)
        assert pd.read_csv(out, encoding="utf-8-sig").columns[0] in ("date", "unique_id")  # the mark is no name


def test_decimals_rounds_every_number_written_and_changes_nothing_else(setup, tmp_path, capsys):
    full, rounded = tmp_path / "full.csv", tmp_path / "rounded.csv"
    assert predict(setup, "--out", str(full), "--level", "80") == 0
    assert predict(setup, "--out", str(rounded), "--level", "80", "--decimals", "2") == 0
    cells = [line.split(",")[1:] for line in rounded.read_text().splitlines()[1:]]
    assert cells and all(len(c.split(".")[1]) == 2 for row in cells for c in row)  # 2 decimals, each number
    a, b = pd.read_csv(full, index_col="date"), pd.read_csv(rounded, index_col="date")
    assert (a.columns == b.columns).all() and (a.index == b.index).all()
    np.testing.assert_allclose(b, a, rtol=0, atol=0.005 + 1e-9)
    # a backtest rounds every number it writes, the true values too; --decimals 0 writes whole numbers
    out = tmp_path / "backtest.csv"
    assert main(["backtest", "--checkpoint", str(setup / "run"), "--csv", str(setup / "all.csv"), "--out", str(out),
                 "--decimals", "0", "--quiet"]) == 0
    written = pd.read_csv(out)
    numbers = written.drop(columns=["unique_id", "ds", "cutoff"])
    assert (numbers.dtypes.map(lambda t: t.kind) == "i").all()  # no decimal point anywhere
    # a negative count is refused by the flag, and in Python, before anything is written
    capsys.readouterr()
    with pytest.raises(SystemExit) as refused:
        predict(setup, "--out", str(tmp_path / "none.csv"), "--decimals", "-1")
    assert refused.value.code == 2 and "--decimals" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="decimals: -1 is not a whole number of decimals"):
        predict_csv(setup / "run", setup / "recent.csv", tmp_path / "none.csv", decimals=-1)
    assert not (tmp_path / "none.csv").exists()
