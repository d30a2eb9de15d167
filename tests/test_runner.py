"""dynonet.runner: re-scoring a saved run (`dynonet evaluate`) and what it checks first."""

import json

import pandas as pd
import pytest

from dynonet.checkpoint import META, TENSORS
from dynonet.cli import main
from dynonet.forecaster import DynoNetForecaster

from test_predict import H, L, TINY, one_error_line, series_csv


def test_evaluate_an_api_run_on_its_rows_saved_as_a_csv(tmp_path, capsys):
    df = series_csv(tmp_path / "data.csv", 300)
    fc = DynoNetForecaster(horizon=H, lookback=L, worker_seq_len=L, worker_hidden=4,
                           context_dim=4, mixer_hidden=4, epochs=1, device="cpu", test_fraction=0.2)
    fc.fit(df.set_index(pd.DatetimeIndex(df.pop("date"), name="date"))).save(tmp_path / "run")
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run")]) == 2
    assert "trained on 'DataFrame', not on a CSV or bundled dataset; give its rows as a CSV with --csv" in \
        one_error_line(capsys)
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run"), "--csv", str(tmp_path / "data.csv")]) == 0
    assert f"MSE: {fc.metrics_['test']['mse']:.4f}" in capsys.readouterr().out


def test_a_loaded_csv_run_fitted_again_on_a_frame_forgets_where_its_rows_came_from(tmp_path, capsys):
    df = series_csv(tmp_path / "data.csv", 300)
    assert main(["train", "--csv", str(tmp_path / "data.csv"), "--max-rows", "250", "--out", str(tmp_path / "run"),
                 "--quiet", *TINY]) == 0
    fc = DynoNetForecaster.load(tmp_path / "run")
    fc.fit(df.set_index(pd.DatetimeIndex(df.pop("date"), name="date")) * 2).save(tmp_path / "refit")
    assert fc.config.data.csv is None and fc.meta_["splits"]["test"][1] == 300  # every row it was given
    assert main(["evaluate", "--checkpoint", str(tmp_path / "refit")]) == 2  # not data.csv: not these rows
    assert "trained on 'DataFrame', not on a CSV or bundled dataset" in one_error_line(capsys)


def test_evaluate_says_first_that_a_run_fitted_on_all_its_rows_has_no_test_split(tmp_path, capsys):
    df = series_csv(tmp_path / "data.csv", 300)
    fc = DynoNetForecaster(horizon=H, lookback=L, worker_seq_len=L, worker_hidden=4, epochs=1, device="cpu")
    fc.fit(df.set_index(pd.DatetimeIndex(df.pop("date"), name="date"))).save(tmp_path / "run")
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run")]) == 2
    assert one_error_line(capsys).endswith("run: the run has no test split to re-score (it was fitted on all its "
                                           "rows: test_fraction 0)")


def test_an_interrupted_run_folder_says_how_to_finish_it(tmp_path, capsys):
    run = tmp_path / "my run"
    run.mkdir()
    (run / "resume.safetensors").write_bytes(b"")
    for argv in (["evaluate"], ["predict", "--csv", "x.csv", "--out", "-"]):
        assert main([*argv, "--checkpoint", str(run)]) == 2
        assert one_error_line(capsys).endswith(f"my run: an interrupted run, not finished; `dynonet train --out "
                                               f"'{run}' --resume` finishes it")


def test_evaluate_a_run_whose_csv_has_moved(tmp_path, capsys):
    series_csv(tmp_path / "data.csv", 300)
    run = tmp_path / "run"
    assert main(["train", "--csv", str(tmp_path / "data.csv"), "--out", str(run), "--quiet", *TINY]) == 0
    mse = json.loads((run / "metrics.json").read_text())["test"]["mse"]
    (tmp_path / "data.csv").rename(tmp_path / "moved.csv")
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(run)]) == 2
    assert f"{tmp_path / 'data.csv'}: file not found (the run's CSV; moved? give its new path with --csv)" in \
        one_error_line(capsys)
    assert main(["evaluate", "--checkpoint", str(run), "--csv", str(tmp_path / "moved.csv")]) == 0
    assert f"MSE: {mse:.4f}" in capsys.readouterr().out
    # the run's series are read, in its order; other columns are left alone
    pd.read_csv(tmp_path / "moved.csv")[["temp", "date", "load"]].assign(note="x").to_csv(
        tmp_path / "reordered.csv", index=False)
    assert main(["evaluate", "--checkpoint", str(run), "--csv", str(tmp_path / "reordered.csv")]) == 0
    assert f"MSE: {mse:.4f}" in capsys.readouterr().out
    series_csv(tmp_path / "other.csv", 300, start="2023-01-01").assign(load=lambda d: d["load"] + 1).to_csv(
        tmp_path / "other.csv", index=False)
    assert main(["evaluate", "--checkpoint", str(run), "--csv", str(tmp_path / "other.csv")]) == 2
    assert "training rows differ from those the checkpoint was trained on" in one_error_line(capsys)
    # the same means, another spread; then rows added, which moves the split borders
    moved = pd.read_csv(tmp_path / "moved.csv")
    stretched = moved.assign(load=lambda d: 2 * d["load"] - d["load"].iloc[:210].mean())
    stretched.to_csv(tmp_path / "stretched.csv", index=False)
    assert main(["evaluate", "--checkpoint", str(run), "--csv", str(tmp_path / "stretched.csv")]) == 2
    assert "training rows differ from those the checkpoint was trained on" in one_error_line(capsys)
    series_csv(tmp_path / "longer.csv", 310)
    assert main(["evaluate", "--checkpoint", str(run), "--csv", str(tmp_path / "longer.csv")]) == 2
    assert "longer.csv: its splits (rows train [0, 217), val [" in one_error_line(capsys)
    # a step edited in checkpoint.json by hand: `predict` refuses it, and so does `evaluate`
    meta = json.loads((run / META).read_text())
    (run / META).write_text(json.dumps({**meta, "freq": "15min"}))
    assert main(["evaluate", "--checkpoint", str(run), "--csv", str(tmp_path / "moved.csv")]) == 2
    assert f"time step of 1 hour ('h') differs from the checkpoint's 15 minutes ('15min') ({run / META})" in one_error_line(capsys)
    (run / META).write_text(json.dumps({**meta, "freq": None}))  # a run folder from before steps were kept
    assert main(["evaluate", "--checkpoint", str(run), "--csv", str(tmp_path / "moved.csv")]) == 0
    assert f"MSE: {mse:.4f}" in capsys.readouterr().out


def _without_intervals(run):
    """The run folder as a version before prediction intervals wrote it."""
    meta = json.loads((run / META).read_text())
    del meta["intervals"], meta["tensors_sha256"]
    (run / META).write_text(json.dumps(meta))
    (run / TENSORS).unlink()


def test_evaluate_calibrate_gives_a_run_folder_from_before_intervals_the_same_intervals(tmp_path, capsys):
    series_csv(tmp_path / "data.csv", 300)
    run = tmp_path / "run"
    assert main(["train", "--csv", str(tmp_path / "data.csv"), "--out", str(run), "--quiet", *TINY]) == 0
    saved, levels = (run / TENSORS).read_bytes(), json.loads((run / META).read_text())["intervals"]
    coverage = json.loads((run / "metrics.json").read_text())["test"]["intervals"]
    _without_intervals(run)
    capsys.readouterr()
    assert main(["predict", "--checkpoint", str(run), "--csv", str(tmp_path / "data.csv"), "--out", "-",
                 "--level", "80"]) == 2
    assert "this run has no prediction intervals" in one_error_line(capsys)
    assert main(["evaluate", "--checkpoint", str(run), "--calibrate"]) == 0
    printed = capsys.readouterr().out
    assert f"prediction intervals calibrated on {levels['windows']} validation windows, levels 50, 80, 90, 95" in printed
    assert (run / TENSORS).read_bytes() == saved and json.loads((run / META).read_text())["intervals"] == levels
    assert f"80%: {coverage['80']['coverage']:.3f}" in printed  # scored with them, as the run was
    assert main(["predict", "--checkpoint", str(run), "--csv", str(tmp_path / "data.csv"), "--out", "-",
                 "--level", "80"]) == 0


def test_evaluate_calibrate_a_run_fitted_on_all_its_rows(tmp_path, capsys):
    series_csv(tmp_path / "data.csv", 300)
    run = tmp_path / "run"
    assert main(["train", "--csv", str(tmp_path / "data.csv"), "--out", str(run), "--quiet", "--test-fraction", "0",
                 *TINY]) == 0
    _without_intervals(run)
    assert main(["evaluate", "--checkpoint", str(run), "--calibrate"]) == 0  # calibrated only: nothing to score
    assert "TEST RESULTS" not in capsys.readouterr().out and (run / TENSORS).exists()


def test_evaluate_calibrate_mends_a_run_whose_intervals_file_no_longer_matches(tmp_path, capsys):
    """A recalibration stopped between its two renames leaves new half-widths beside the old
    checkpoint.json: the run no longer loads, and --calibrate must still mend it."""
    series_csv(tmp_path / "data.csv", 300)
    run = tmp_path / "run"
    assert main(["train", "--csv", str(tmp_path / "data.csv"), "--out", str(run), "--quiet", *TINY]) == 0
    saved = (run / TENSORS).read_bytes()
    (run / TENSORS).write_bytes(saved[:-4] + bytes(4))  # other bytes than checkpoint.json's hash names
    assert main(["predict", "--checkpoint", str(run), "--csv", str(tmp_path / "data.csv"), "--out", "-"]) == 2
    assert "intervals.safetensors: corrupted or replaced" in one_error_line(capsys)
    assert main(["evaluate", "--checkpoint", str(run), "--calibrate"]) == 0
    assert (run / TENSORS).read_bytes() == saved
    assert main(["predict", "--checkpoint", str(run), "--csv", str(tmp_path / "data.csv"), "--out", "-"]) == 0


def test_a_run_calibrates_the_levels_asked_for_and_evaluate_calibrates_others(tmp_path, capsys):
    data = tmp_path / "data.csv"
    series_csv(data, 300)
    default, run = tmp_path / "default", tmp_path / "run"
    assert main(["train", "--csv", str(data), "--out", str(default), "--quiet", *TINY]) == 0
    assert main(["train", "--csv", str(data), "--out", str(run), "--quiet", "--interval-levels", "85,60", *TINY]) == 0
    assert list(json.loads((run / "metrics.json").read_text())["test"]["intervals"]) == ["60", "85"]
    capsys.readouterr()
    recent = ["--csv", str(data), "--out", "-"]
    assert main(["predict", "--checkpoint", str(run), *recent, "--level", "80"]) == 2
    assert one_error_line(capsys) == ("dynonet: error: level 80: the run calibrated levels 60, 85; `dynonet evaluate "
                                      f"--checkpoint {run} --calibrate --interval-levels 60,80,85` adds it")
    # the levels are checked before the run's data is read; they go with --calibrate
    for bad, says in ((["--calibrate", "--interval-levels", "0"], "--interval-levels must be one or more whole "
                       "percents from 1 to 99 (got (0,))"),
                      (["--interval-levels", "80"], "--interval-levels: the levels are calibrated with --calibrate")):
        assert main(["evaluate", "--checkpoint", str(run), *bad]) == 2
        assert says in one_error_line(capsys)
    # a level the validation windows cannot calibrate, asked for by name: refused, the run left as it was
    files = {p.name: p.read_bytes() for p in run.iterdir()}
    windows = json.loads((run / META).read_text())["intervals"]["windows"]
    assert main(["evaluate", "--checkpoint", str(run), "--calibrate", "--interval-levels", "80,99"]) == 2
    assert one_error_line(capsys) == (
        f"dynonet: error: {run}: the {windows} validation windows calibrate prediction intervals at levels 80, not 99 "
        "(99 needs 99; more rows, a larger --val-fraction or a shorter --horizon give more); nothing written")
    assert {p.name: p.read_bytes() for p in run.iterdir()} == files
    assert main(["evaluate", "--checkpoint", str(run), "--calibrate", "--interval-levels", "60,80,85"]) == 0
    printed = capsys.readouterr().out
    assert "validation windows, levels 60, 80, 85:" in printed
    assert json.loads((run / META).read_text())["config"]["train"]["interval_levels"] == [60, 80, 85]
    # the run's record names the new levels, and how often each held on the test split, as printed
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["config"]["train"]["interval_levels"] == metrics["intervals"]["levels"] == [60, 80, 85]
    assert "recalibrated" in metrics["intervals"] and list(metrics["test"]["intervals"]) == ["60", "80", "85"]
    coverage = ", ".join(f"{p}%: {s['coverage']:.3f}" for p, s in metrics["test"]["intervals"].items())
    assert f"test values inside the prediction intervals: {coverage}\n" in printed
    # the same training as the run with the default levels: the same half-widths at 80
    ours, theirs = DynoNetForecaster.load(run), DynoNetForecaster.load(default)
    assert (ours.intervals_.widths(80) == theirs.intervals_.widths(80)).all()
    assert main(["predict", "--checkpoint", str(run), *recent, "--level", "80,85"]) == 0
    assert "temp-hi-85" in capsys.readouterr().out
    # evaluate --calibrate again keeps the levels the run now has
    assert main(["evaluate", "--checkpoint", str(run), "--calibrate"]) == 0
    assert DynoNetForecaster.load(run).intervals_.levels == (60, 80, 85)


def test_a_run_records_the_last_row_it_trained_or_validated_on_not_the_files_last():
    import torch

    from dynonet.config import RunConfig
    from dynonet.data import bundled_path, load
    from dynonet.intervals import Intervals
    from dynonet.runner import checkpoint_meta

    data = load(RunConfig())  # the bundled ETTh1, split at the protocol's borders; the file goes on after them
    meta = checkpoint_meta(data, Intervals((), torch.zeros(0, 1, 1), 0))
    val_end = data.splits["val"][1]
    assert data.splits["test"][1] < len(data.dates)
    assert meta["seen_until"] == str(pd.Timestamp(pd.read_csv(bundled_path("ETTh1"))["date"][val_end - 1]))


def test_a_backtest_from_every_row_of_the_test_split_scores_what_the_run_scored_on_it(tmp_path):
    import warnings

    data = tmp_path / "data.csv"
    series_csv(data, 300)
    run = tmp_path / "run"
    assert main(["train", "--csv", str(data), "--out", str(run), "--quiet", *TINY]) == 0
    meta = json.loads((run / META).read_text())
    start, end = meta["splits"]["test"]  # its first L rows are the first window's lookback
    frame = pd.read_csv(data, parse_dates=["date"], index_col="date")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # test rows: the run neither trained nor validated on them
        bt = DynoNetForecaster.load(run).backtest(frame.iloc[start:end], step=1)
    std = dict(zip(meta["columns"], meta["scaler"]["std"]))
    scaled = (bt["DynoNet"] - bt["y"]) / bt["unique_id"].map(std)
    test = json.loads((run / "metrics.json").read_text())["test"]
    assert bt["cutoff"].nunique() == end - start - L - H + 1
    assert scaled.pow(2).mean() == pytest.approx(test["mse"], rel=1e-5)
    assert scaled.abs().mean() == pytest.approx(test["mae"], rel=1e-5)


@pytest.mark.parametrize("windows, batch, note", [
    (236, 512, "the 236 training windows make 1 optimizer step per epoch at --batch-size 512: too few to train "
               "far; --batch-size 16 makes 15"),
    (1600, 512, None),  # 4 steps: enough
    (1500, 512, "the 1500 training windows make 3 optimizer steps per epoch at --batch-size 512: too few to train "
                "far; --batch-size 128 makes 12"),
    (7, 8, "the 7 training windows make 1 optimizer step per epoch at --batch-size 8: too few to train far; "
           "--batch-size 1 makes 7"),
    # no batch size makes enough steps of fewer windows than that
    (3, 8, "the 3 training windows make 1 optimizer step per epoch at --batch-size 8: too few to train far; "
           "a longer series, or a shorter --lookback or --horizon, gives more windows"),
    (1, 1, "the 1 training window makes 1 optimizer step per epoch at --batch-size 1: too few to train far; "
           "a longer series, or a shorter --lookback or --horizon, gives more windows"),
])
def test_too_few_steps_per_epoch_are_noted_with_a_batch_size_that_makes_more(windows, batch, note):
    from dynonet.runner import few_steps_notes

    assert few_steps_notes(windows, batch, trains=True) == ([note] if note else [])
    assert few_steps_notes(windows, batch, trains=False) == []  # `repeat` has nothing to train


def test_a_batch_size_the_windows_chose_is_not_named_as_a_flag_given():
    from dynonet.report import batch_size_line
    from dynonet.runner import batch_size_for, few_steps_notes

    assert batch_size_for(3) == 1  # what the 3 windows choose
    assert few_steps_notes(3, 1, trains=True, chosen=True) == [
        "the 3 training windows make 3 optimizer steps per epoch at batch size 1: too few to train far; "
        "a longer series, or a shorter --lookback or --horizon, gives more windows"]
    assert batch_size_line(1, 1) == "batch size 1: chosen by the 1 training window (--batch-size sets one)"
    assert batch_size_line(128, 1281) == "batch size 128: chosen by the 1,281 training windows (--batch-size sets one)"


def test_the_python_api_picks_a_batch_size_for_small_data_and_names_its_own_in_the_few_steps_note():
    import warnings

    import numpy as np

    t = np.arange(300)
    df = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=300, freq="D"), "y": np.sin(t / 3)})
    with pytest.warns(UserWarning, match=r"make 1 optimizer step per epoch at batch_size=512: too few to train far; "
                                         r"batch_size=16 makes "):
        DynoNetForecaster(horizon=7, lookback=28, epochs=1, device="cpu", batch_size=512).fit(df)  # as given
    # not given: the preset's 512, or smaller where the windows are few (236 here: 16 makes 15 steps)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = DynoNetForecaster(horizon=7, lookback=28, epochs=1, device="cpu").fit(df)
    assert f.config.train.batch_size == 16 and "batch_size" not in f.get_params()
    assert repr(f).endswith(", fitted on 1 series)")  # the settings given, the batch size chosen by the data
    many = pd.DataFrame({"date": pd.date_range("2000-01-01", periods=5000, freq="D"), "y": np.sin(np.arange(5000) / 3)})
    assert DynoNetForecaster(horizon=7, lookback=28, epochs=1, model="linear", device="cpu").fit(
        many).config.train.batch_size == 512  # 4466 windows: the preset's batch size, no larger


@pytest.mark.parametrize("model", ["repeat", "seasonal-repeat", "linear"])
def test_the_test_scores_come_with_the_naive_forecasts_on_the_same_windows(tmp_path, capsys, model):
    series_csv(tmp_path / "data.csv", 300)  # hourly, with a daily cycle
    assert main(["train", "--csv", str(tmp_path / "data.csv"), "--out", str(tmp_path / "run"), "--model", model,
                 "--horizon", str(H), "--lookback", str(L), "--epochs", "2", "--batch-size", "16", "--quiet"]) == 0
    test = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]
    references = {"naive": ("repeat", "naive forecast (each series' last value repeated)"),
                  "seasonal_naive": ("seasonal-repeat", "seasonal naive (each series' last 24 steps repeated)")}
    printed = []
    for key, (name, what) in references.items():
        if model == name:  # a naive run: its own scores once
            assert key not in test
            continue
        naive = test[key]
        assert naive["model"] == name and naive["mse"] != pytest.approx(test["mse"])
        lower = [n for n in ("MSE", "MAE") if naive[n.lower()] < test[n.lower()]]  # said where the model loses
        printed.append(f"{what}, same test windows: MSE {naive['mse']:.4f}, MAE {naive['mae']:.4f}"
                       + (f" (lower than this model's {' and '.join(lower)})" if lower else "") + "\n")
        assert set(naive["original_units"]["per_channel"]) == set(test["per_channel"])  # each in its own units
    # hourly data: a day's cycle, which repeats this data's sine waves to their rounding
    season = test.get("seasonal_naive", test)  # (a seasonal-repeat run: its own scores)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["season"] == 24 and season["mse"] < 1e-5
    out = capsys.readouterr().out
    assert all(line in out for line in printed)
    assert sum(line.startswith(("naive forecast", "seasonal naive")) for line in out.splitlines()) == len(printed)
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run")]) == 0  # re-scored alike
    out = capsys.readouterr().out
    assert all(line in out for line in printed)
    # a run from before the naive scores gets them when its intervals are calibrated again
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for key, (name, _) in references.items():
        if model == name:  # a run from before naive runs left out their own scores: dropped
            metrics["test"][key] = {"model": name}
        else:
            metrics["test"].pop(key, None)
    (tmp_path / "run" / "metrics.json").write_text(json.dumps(metrics))
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run"), "--calibrate"]) == 0
    rescored = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]
    assert {k: rescored.get(k) for k in references} == {k: test.get(k) for k in references}


def test_a_seasonal_naive_needs_a_cycle_the_lookback_holds(tmp_path, capsys):
    """Daily rows with a lookback under a week: no seasonal reference (a cycle of one step would
    be the naive forecast); --season names one, and --model seasonal-repeat needs one."""
    df = series_csv(tmp_path / "hourly.csv", 300)
    df.assign(date=pd.date_range("2020-01-01", periods=300, freq="D").strftime("%Y-%m-%d")).to_csv(
        tmp_path / "daily.csv", index=False)
    run = ["train", "--csv", str(tmp_path / "daily.csv"), "--horizon", "4", "--lookback", "6", "--model", "repeat",
           "--quiet", "--overwrite", "--out", str(tmp_path / "run")]
    assert main(run) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert "seasonal_naive" not in metrics["test"] and metrics["season"] == 0
    said = ("the time step of 1 day ('D') makes a seasonal cycle of 7 steps, longer than --lookback 6: no seasonal naive forecast "
            "is scored beside this run's (give --season for a shorter cycle, or a --lookback of 7 or more)")
    assert said in metrics["notes"]
    out, err = capsys.readouterr()
    assert "seasonal naive" not in out and f"note: {said}" in err
    assert main([*run, "--test-fraction", "0"]) == 0  # nothing scored: nothing missed
    assert said not in json.loads((tmp_path / "run" / "metrics.json").read_text())["notes"]
    assert main([*run, "--season", "3"]) == 0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]["seasonal_naive"]["season"] == 3
    assert "seasonal naive (each series' last 3 steps repeated)" in capsys.readouterr().out
    assert main([*run, "--model", "seasonal-repeat"]) == 2
    assert one_error_line(capsys) == (f"dynonet: error: {tmp_path / 'daily.csv'}: seasonal-repeat needs --season: the "
                                      "time step of 1 day ('D') makes a cycle of 7 steps, longer than --lookback 6; give --season "
                                      "or a longer --lookback")
    assert (tmp_path / "run" / "metrics.json").exists()  # refused before --overwrite cleared the folder
    assert main([*run, "--model", "seasonal-repeat", "--lookback", "14", "--test-fraction", "0"]) == 0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["season"] == 7  # found, without a test split


def test_a_bundled_dataset_cut_by_max_rows_is_said_to_be_split_off_the_protocol():
    from dynonet.config import preset
    from dynonet.runner import cut_notes

    cut = preset("quickstart").replace(data={"max_rows": 3000})
    assert cut_notes(cut, 3000) == ["--max-rows 3000: ETTh1's first 3000 rows, split 70% / 10% / 20% (train / validation / "
                              "test), not at the protocol's borders: these scores compare with no benchmark or "
                              "published figure"]
    assert cut_notes(preset("quickstart"), 17420) == []  # the protocol's borders
    assert cut_notes(cut.replace(data={"csv": "own.csv"}), 3000) == []  # a CSV is split by fractions anyway
    assert "ETTh1's 17420 rows (all of them), split" in cut_notes(cut.replace(data={"max_rows": 20000}), 17420)[0]


@pytest.mark.parametrize("windows, trains, note", [
    (1, True, "the validation split holds 1 window: which epoch is kept rests on it (a larger --val-fraction, or a "
              "shorter --lookback or --horizon, gives more)"),
    (4, True, "the validation split holds 4 windows: which epoch is kept rests on them (a larger --val-fraction, or a "
              "shorter --lookback or --horizon, gives more)"),
    (5, True, None),
    (1, False, None),  # a model that trains nothing keeps no epoch
])
def test_too_few_validation_windows_are_noted(windows, trains, note):
    from dynonet.runner import few_val_notes

    assert few_val_notes(windows, trains) == ([note] if note else [])
