import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dynonet.cli import build_parser, config_from_args, main

SMALL = ["--max-rows", "700", "--lookback", "48", "--horizon", "8", "--worker-seq-len", "16",
         "--worker-hidden", "6", "--batch-size", "64", "--epochs", "2", "--device", "cpu"]


def test_flags_override_the_preset():
    args = build_parser().parse_args(["train", "--preset", "etth1-336", "--epochs", "3", "--no-controller",
                                      "--controller-data", "holdout", "--fixed-signals", "film,gate"])
    cfg = config_from_args(args)
    assert cfg.model.horizon == 336 and cfg.train.epochs == 3 and not cfg.model.controller
    assert cfg.train.controller_data == "holdout" and cfg.model.fixed_signals == ("film", "gate")
    assert cfg.train.lr == 2e-3  # untouched fields keep the preset's value


def test_a_short_lookback_caps_the_workers_steps_unless_they_are_given():
    cfg = config_from_args(build_parser().parse_args(["train", "--lookback", "64", "--controller-patch-len", "80"]))
    assert (cfg.model.lookback, cfg.model.worker_seq_len, cfg.model.controller_patch_len) == (64, 64, 80)
    cfg = config_from_args(build_parser().parse_args(["train", "--lookback", "64", "--worker-seq-len", "32"]))
    assert (cfg.model.worker_seq_len, cfg.model.controller_patch_len) == (32, 16)  # given; the preset's 16 fits


def test_csv_path_is_recorded_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = config_from_args(build_parser().parse_args(["train", "--csv", "data/my.csv"]))
    assert cfg.data.csv == str(tmp_path / "data" / "my.csv")  # the checkpoint works from any folder


def test_train_is_quiet_by_default_when_output_is_not_a_terminal(tmp_path, capsys):
    assert main(["train", "--preset", "quickstart", "--out", str(tmp_path / "run"), *SMALL]) == 0  # capsys: no tty
    printed = capsys.readouterr().out
    assert printed.startswith("=" * 60 + "\nTEST RESULTS - DynoNet_H8") and "epoch" not in printed
    assert printed.endswith(f"run folder: {tmp_path / 'run'}\n")


def test_train_then_evaluate_smoke(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--preset", "quickstart", "--out", str(out), "--verbose", *SMALL]) == 0
    printed = capsys.readouterr().out
    assert "TEST RESULTS - DynoNet_H8" in printed and "MSE:" in printed and "OT" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("config", "seed", "device", "params", "history", "test", "versions", "timings"):
        assert key in metrics
    assert metrics["params"]["total"] == sum(v for k, v in metrics["params"].items() if k != "total")
    assert metrics["argv"] == ["dynonet", "train", "--preset", "quickstart", "--out", str(out), "--verbose", *SMALL]
    # the preset trains trend-first: 2 epochs of the trend path alone, then 2 of the whole model
    assert [h["stage"] for h in metrics["history"]] == ["trend", "trend", "full", "full"]
    assert metrics["epochs_by_stage"] == {"trend": 2, "full": 2}
    assert {"train_loss", "val_mse", "val_mae", "lr", "seconds", "signals"} <= set(metrics["history"][0])
    assert "epoch   1  trend  train" in printed and "epoch   3  train" in printed
    assert printed.index("stage 1 of 2: the trend path alone\nepoch   1") < printed.index(
        "stage 2 of 2: the whole model, from the trend path's best epoch\nepoch   3")
    assert set(metrics["test"]["per_channel"]) == {"HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"}
    for png in ("training_curves.png", "channel_metrics.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    assert not (out / "benchmark.png").exists()  # no published figure is for 700 rows and H=8
    coverage = ", ".join(f"{p}%: {s['coverage']:.3f}" for p, s in metrics["test"]["intervals"].items())
    assert f"test values inside the prediction intervals: {coverage}\n" in printed
    assert main(["evaluate", "--checkpoint", str(out), "--device", "cpu"]) == 0
    again = capsys.readouterr().out
    assert f"MSE: {metrics['test']['mse']:.4f}" in again
    assert f"test values inside the prediction intervals: {coverage}\n" in again  # re-scored from the saved widths
    assert main(["evaluate", "--checkpoint", str(out), "--csv", "elsewhere.csv"]) == 2
    assert "trained on the bundled ETTh1, not on a CSV; omit --csv" in capsys.readouterr().err


def test_a_protocol_run_is_drawn_next_to_the_published_figures_and_overwrite_removes_them(tmp_path, capsys):
    out = tmp_path / "run"
    # RevIN + Linear fitted in closed form: the bundled ETTh1 at H96 under the protocol, in seconds
    assert main(["train", "--preset", "etth1-96", "--model", "linear", "--trend-fit", "ridge", "--device", "cpu",
                 "--out", str(out), "--quiet"]) == 0
    figures = ("training_curves.png", "channel_metrics.png", "benchmark.png")
    assert all((out / name).read_bytes()[:4] == b"\x89PNG" for name in figures)
    capsys.readouterr()
    # repeat-last trains nothing (no curves); with --test-fraction 0 there is no test to plot or compare
    assert main(["train", "--out", str(out), "--quiet", "--overwrite", "--model", "repeat", *SMALL,
                 "--test-fraction", "0"]) == 0
    assert capsys.readouterr().out == f"run folder: {out}\n"  # --quiet without a test split
    assert not any((out / name).exists() for name in figures)
    assert json.loads((out / "metrics.json").read_text())["model"] == "repeat"


def test_a_run_folder_named_as_one_model_file_is_refused_before_training(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "run.ckpt"), "--model", "repeat", *SMALL]) == 2
    assert capsys.readouterr().err.endswith("run.ckpt: a run is a folder of several files, not one .ckpt file; give a "
                                            f"folder name, such as '{tmp_path / 'run'}'\n")
    assert not (tmp_path / "run.ckpt").exists()


def test_train_with_the_closed_form_trend_fit(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--preset", "quickstart", "--trend-fit", "ridge", "--out", str(out), "--verbose", *SMALL]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    first = metrics["history"][0]
    assert f"epoch   0  trend  train mse {first['train_loss']:.4f}" in printed
    assert f"ridge penalty {first['penalty']:g}" in printed and "epoch   1  train" in printed
    assert metrics["epochs_by_stage"] == {"trend": 1, "full": 2} and metrics["config"]["train"]["trend_fit"] == "ridge"
    # the fit's time is its own, not a trend epoch's
    assert metrics["timings"]["trend_fit_seconds"] == first["seconds"]
    assert metrics["timings"]["median_trend_epoch_seconds"] is None
    assert (out / "training_curves.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["evaluate", "--checkpoint", str(out), "--device", "cpu"]) == 0
    assert f"MSE: {metrics['test']['mse']:.4f}" in capsys.readouterr().out


@pytest.mark.parametrize("argv, fragment", [
    (["train", "--csv", "missing.csv"], "missing.csv: file not found"),
    (["evaluate", "--checkpoint", "nowhere"], "nowhere: no such run folder"),
    (["train", "--fixed-signals", "noise", *SMALL], "unknown signals"),
    (["train", "--out", "-", *SMALL], "--out -: a run is a folder of files"),
    (["train", "--csv", " ", *SMALL], "--csv must be a file name, not empty (got ' ')"),  # not the folder it is in
])
def test_bad_input_one_line_error_and_nonzero_exit(tmp_path, monkeypatch, capsys, argv, fragment):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1 and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing written


PREDICT = ["predict", "--checkpoint", "r", "--csv", "c", "--out", "o"]


@pytest.mark.parametrize("argv, says, where", [
    ([*PREDICT, "--date-column", "d"], "--date-column d; --date-column is a training setting, which a run keeps "
     "(`dynonet train --date-column ...` trains another)", "dynonet predict --help"),
    ([*PREDICT, "--horizon=48"], "--horizon=48; --horizon is a training setting, which a run keeps (`dynonet train "
     "--horizon ...` trains another)", "dynonet predict --help"),
    ([*PREDICT, "--levels", "80"], "--levels 80; did you mean --level?", "dynonet predict --help"),
    (["backtest", "--checkpoint", "r", "--csv", "c", "--out", "o", "--lookback", "5"], "--lookback 5; --lookback is a "
     "training setting, which a run keeps (`dynonet train --lookback ...` trains another)", "dynonet backtest --help"),
    (["evaluate", "--checkpoint", "r", "--level", "80"], "--level 80", "dynonet evaluate --help"),  # no flag near
    (["bench", "speed", "--bogus"], "--bogus", "dynonet bench speed --help"),
    (["bench", "speed", "--throughput-bach", "8"], "--throughput-bach 8; did you mean --throughput-batch?",
     "dynonet bench speed --help"),
    (["train", "--no-such-flag", "3"], "--no-such-flag 3", "dynonet train --help"),
])
def test_an_unknown_flag_points_to_its_commands_help_and_what_it_may_have_meant(capsys, argv, says, where):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert capsys.readouterr().err == f"dynonet: error: unrecognized arguments: {says} (see {where})\n"


def test_an_interrupted_run_says_how_to_continue_it(tmp_path, capsys, monkeypatch):
    from dynonet.training import BiLevelTrainer

    real = BiLevelTrainer._epoch

    def epoch(self, n, *rest):  # Ctrl-C during the second epoch
        if n == 2:
            raise KeyboardInterrupt
        return real(self, n, *rest)

    monkeypatch.setattr(BiLevelTrainer, "_epoch", epoch)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--quiet", *SMALL]) == 130  # into the default folder, runs/<preset>-<time>
    out = next((tmp_path / "runs").iterdir()).relative_to(tmp_path)
    assert capsys.readouterr().err == (f"dynonet: interrupted; `dynonet train --out {out} --resume` continues "
                                       "after the last finished epoch\n")
    spaced = tmp_path / "my run"
    assert main(["train", "--quiet", "--out", str(spaced), *SMALL]) == 130
    assert f"--out '{spaced}' --resume" in capsys.readouterr().err  # a command that can be pasted
    # starting over in that folder: an interruption before its first epoch offers nothing to resume
    calls = []
    monkeypatch.setattr(BiLevelTrainer, "_epoch", lambda self, n, *rest: calls.append(n) or epoch(self, 2, *rest))
    assert main(["train", "--quiet", "--overwrite", "--out", str(spaced), *SMALL]) == 130
    assert calls == [1] and capsys.readouterr().err == "dynonet: interrupted\n"
    monkeypatch.setattr(BiLevelTrainer, "_epoch", epoch)
    assert main(["train", "--quiet", "--overwrite", "--out", str(spaced), *SMALL]) == 130
    monkeypatch.setattr(BiLevelTrainer, "_epoch", real)
    capsys.readouterr()
    assert main(["train", "--quiet", "--out", str(spaced), "--resume"]) == 0
    assert capsys.readouterr().err.startswith("dynonet: resumed after epoch 1\n")  # quiet, but not silent on it
    from dynonet.resume import load_state, save_state

    save_state(out, {**load_state(out), "elapsed_seconds": 1e4})  # as if it had run long before stopping
    assert main(["train", "--out", str(out), "--resume", "--verbose"]) == 0
    printed = capsys.readouterr().out
    # resumed in the trend stage: the second stage still gets its title, the first no second one
    assert "stage 1 of 2" not in printed and "stage 2 of 2: the whole model" in printed
    argv = json.loads((tmp_path / out / "metrics.json").read_text())["argv"]
    assert argv == ["dynonet", "train", "--quiet", *SMALL]  # the command that started the run
    timings = json.loads((tmp_path / out / "metrics.json").read_text())["timings"]
    assert timings["total_seconds"] > 1e4 and timings["train_seconds"] > 1e4  # the time before the stop counts


def _notes(capsys) -> str:
    """What a quiet run printed on stderr but the note every --max-rows run on ETTh1 gets (checked once here)."""
    err = capsys.readouterr().err
    cut = ("dynonet: note: --max-rows 700: ETTh1's first 700 rows, split 70% / 10% / 20% (train / validation / test), "
           "not at the protocol's borders: these scores compare with no benchmark or published figure\n")
    assert err.count(cut) == 1, err
    return err.replace(cut, "")


def test_a_flag_the_model_does_not_read_is_noted(tmp_path, capsys):
    assert main(["train", "--quiet", "--model", "repeat", *SMALL, "--out", str(tmp_path / "run")]) == 0  # (no batch)
    err = _notes(capsys)
    assert err.startswith("dynonet: note: model 'repeat' does not read --worker-seq-len, ") and err.count("\n") == 1
    assert main(["train", "--quiet", *SMALL, "--out", str(tmp_path / "dynonet")]) == 0
    assert _notes(capsys) == ""
    assert main(["train", "--quiet", "--model", "linear", "--no-controller", "--controller-lr", "0.001",
                 "--max-rows", "700", "--lookback", "48", "--horizon", "8", "--epochs", "1", "--batch-size", "64", "--out",
                 str(tmp_path / "linear")]) == 0
    assert _notes(capsys) == "dynonet: note: model 'linear' does not read --no-controller, --controller-lr\n"
    assert main(["train", "--quiet", "--controller-lr", "0.001", *SMALL, "--out", str(tmp_path / "off")]) == 0
    assert _notes(capsys) == ("dynonet: note: model 'dynonet' with the controller off (--controller turns it "
                                       "on) does not read --controller-lr\n")
    # PatchTST's settings go unread with the controller on or off: no word of the controller
    assert main(["train", "--quiet", "--patch-len", "8", *SMALL, "--out", str(tmp_path / "patch"), "--overwrite"]) == 0
    assert _notes(capsys) == "dynonet: note: model 'dynonet' does not read --patch-len\n"
    assert main(["train", "--quiet", "--patch-len", "8", "--controller-lr", "0.01", *SMALL, "--out",
                 str(tmp_path / "patch"), "--overwrite"]) == 0  # each said apart
    assert _notes(capsys) == ("dynonet: note: model 'dynonet' does not read --patch-len\n"
                                       "dynonet: note: model 'dynonet' with the controller off (--controller turns it "
                                       "on) does not read --controller-lr\n")


def test_an_os_error_nothing_names_is_still_one_line(tmp_path, capsys, monkeypatch):
    import dynonet.runner

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "x"))

    monkeypatch.setattr(dynonet.runner, "train_run", full)
    assert main(["train", "--quiet", *SMALL, "--out", str(tmp_path / "run")]) == 1
    assert capsys.readouterr().err == f"dynonet: error: {tmp_path / 'x'}: No space left on device\n"

    def broken(*args, **kwargs):
        raise OSError(5, "not a file's error")

    monkeypatch.setattr(dynonet.runner, "train_run", broken)
    with pytest.raises(OSError, match="not a file's error"):  # a bug or a broken install: its traceback
        main(["train", "--quiet", *SMALL, "--out", str(tmp_path / "run")])


def test_standard_output_that_cannot_be_written_is_one_line_with_exit_1(capsys, monkeypatch):
    import errno
    import io

    import dynonet.cli

    class Full(io.StringIO):  # as /dev/full: every write fails
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dynonet.cli, "cmd_compare", lambda args: print("a table") or 0)
    monkeypatch.setattr("sys.stdout", Full())
    assert main(["compare", "r"]) == 1
    assert capsys.readouterr().err == "dynonet: error: standard output: cannot write there (No space left on device)\n"


@pytest.mark.skipif(os.name != "posix", reason="closes a descriptor before the child starts")
def test_a_closed_standard_error_leaves_standard_output_to_the_forecast(tmp_path):
    import subprocess
    import sys

    # Python's print() falls back to standard output where standard error is closed (2>&-)
    done = subprocess.run([sys.executable, "-m", "dynonet", "predict", "--checkpoint", str(tmp_path / "none"),
                           "--out", "-"], stdout=subprocess.PIPE, preexec_fn=lambda: os.close(2), timeout=120)
    assert done.returncode == 2 and done.stdout == b""


@pytest.mark.skipif(os.name != "posix", reason="the C locale's ASCII standard output")
def test_text_a_non_utf8_standard_output_cannot_encode_is_escaped_not_an_error():
    import subprocess
    import sys

    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    env.pop("PYTHONIOENCODING", None)
    script = "\n".join([
        "import sys",
        "from dynonet.cli import main",
        "before = sys.stdout.errors",
        "main(['compare', '--json', 'r\\u00fc'])",  # (no such run: an error, exit 2; what matters is after)
        "assert sys.stdout.errors == before, sys.stdout.errors",  # main leaves standard output as it found it
        "from dynonet.cli import _standard_streams",
        "_standard_streams()",
        "print('Temp\\u00e9rature')",  # a name in another alphabet: escaped
        "print(b'r\\xc3\\xbc'.decode('ascii', 'surrogateescape'))",  # a file name read as bytes: those bytes
    ])
    done = subprocess.run([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout == b"Temp\\xe9rature\nr\xc3\xbc\n"


def test_the_default_run_folder_is_one_no_run_of_the_same_second_took(tmp_path, monkeypatch):
    from datetime import datetime

    import dynonet.cli

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 1, 2, 3, 4, 5)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(dynonet.cli, "datetime", Frozen)
    made = []
    first = dynonet.cli._default_run_folder("quickstart", made)
    assert first == Path("runs/quickstart-20260102-030405") and first.is_dir()  # made at once: a run beside ...
    assert made == [first, Path("runs")]
    (tmp_path / "runs" / "quickstart-20260102-030405-2").mkdir()
    assert dynonet.cli._default_run_folder("quickstart", []) == Path("runs/quickstart-20260102-030405-3")  # ... the next
    # a run that fails before it writes anything leaves no empty folder behind
    for folder in (tmp_path / "runs").iterdir():
        folder.rmdir()
    (tmp_path / "runs").rmdir()
    assert main(["train", "--csv", "missing.csv", *SMALL]) == 2
    assert not any(tmp_path.iterdir())


def test_refuses_to_overwrite_a_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    assert main(["train", "--out", str(out), *SMALL]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (out / "metrics.json").read_text() == "{}"


@pytest.mark.parametrize("bad, flag", [
    (["--batch-size", "0"], "--batch-size"),
    (["--horizon", "-3"], "--horizon"),
    (["--dropout", "2", "--controller"], "--dropout"),
    (["--epochs", "0"], "--epochs"),
    (["--test-fraction", "1.5"], "--test-fraction"),
])
def test_bad_config_value_is_one_line_naming_the_flag(tmp_path, monkeypatch, capsys, bad, flag):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    assert main(["train", "--preset", "quickstart", "--out", str(out), *SMALL, *bad]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dynonet: error: {flag} must be") and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("flags, fragment", [
    (["--csv", "x.csv", "--dataset", "ETTh2"], "--csv and --dataset both name the data to train on"),
    (["--test-fraction", "0.5"], "--test-fraction: the bundled datasets are split at the protocol's fixed borders"),
    (["--val-fraction", "0.2", "--test-fraction", "0.5"], "--test-fraction and --val-fraction: the bundled"),
])
def test_flags_that_would_be_ignored_are_refused(tmp_path, capsys, flags, fragment):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dynonet: error: {fragment}") and err.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize("argv, fragment", [
    (["train", "--controller-encoder", "transformer"], "argument --controller-encoder: invalid choice: 'transformer'"),
    (["train", "--trend-fit", "exact"], "argument --trend-fit: invalid choice: 'exact'"),
    (["train", "--epochs", "x"], "argument --epochs: invalid int value: 'x'"),
    (["benchmark", "--schedule", "foo"], "argument --schedule: invalid choice: 'foo'"),
    (["bench", "speed", "--paths", "foo"], "argument --paths: invalid choice: 'foo'"),
    (["predict", "--checkpoint", "r", "--csv", "c", "--out", "o", "--level", "80,100"],
     "argument --level: level '100': a level is a whole percent from 1 to 99"),
    (["train", "--interval-levels", "80,x"], "argument --interval-levels: invalid list '80,x'"),
    (["evaluate", "--checkpoint", "r", "--interval-levels", "80,,90"], "argument --interval-levels: an empty entry"),
    (["predict", "--checkpoint", "r", "--csv", "c", "--out", "o", "--level", ""],
     "argument --level: give one or more levels, e.g. --level 80,95"),
    (["nosuch"], "invalid choice: 'nosuch'"),
    # an unset shell variable would name the current folder, and the run would write its files there
    (["train", "--out", "", *SMALL], "argument --out: empty path (an unset variable?)"),
    (["predict", "--checkpoint", "r", "--csv", "", "--out", "o"], "argument --csv: empty path"),
    (["compare", "r", " "], "argument RUN: empty path"),
])
def test_usage_errors_are_one_line_with_exit_2(tmp_path, monkeypatch, capsys, argv, fragment):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and fragment in err and err.count("\n") == 1 and "--help" in err
    assert not any(tmp_path.iterdir())  # nothing written


def test_resume_names_what_is_wrong_with_its_folder(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    for out, says in [(tmp_path / "nothere", "nothere: no such run folder to resume"),
                      (tmp_path / "afile", "afile: a file, not a run folder (the folder `dynonet train --out` writes)")]:
        assert main(["train", "--out", str(out), "--resume"]) == 2
        assert capsys.readouterr().err.endswith(f"{says}\n")
    assert main(["train", "--out", str(tmp_path / "run"), "--resume", "--overwrite"]) == 2
    assert "--resume continues the run in --out and --overwrite starts it over; give one" in capsys.readouterr().err


def test_a_constant_series_is_noted(tmp_path, capsys):
    dates = pd.date_range("2023-01-01", periods=200, freq="h")
    pd.DataFrame({"date": dates, "a": np.sin(np.arange(200) / 5), "flat": 5.0}).to_csv(tmp_path / "c.csv", index=False)
    argv = ["train", "--csv", str(tmp_path / "c.csv"), "--horizon", "4", "--lookback", "24", "--epochs", "1",
            "--batch-size", "16", "--quiet", "--out", str(tmp_path / "run")]
    assert main(argv) == 0
    note = ("series 'flat' is constant over the training rows (scaled with std 1): its scores may not compare "
            "with the other series'")
    assert capsys.readouterr().err == f"dynonet: note: {note}\n"
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["notes"] == [note]


def test_a_batch_size_the_windows_chose_is_noted_as_chosen_not_as_a_flag(tmp_path, capsys):
    t = np.arange(60)
    pd.DataFrame({"date": pd.date_range("2024-01-01", periods=60, freq="h"), "load": np.sin(t / 4)}).to_csv(
        tmp_path / "d.csv", index=False)
    # about 26 training rows of 60 hold 26 - (16 + 8) + 1 = 3 windows: one a batch makes 3 steps, too few
    args = ["train", "--csv", str(tmp_path / "d.csv"), "--horizon", "8", "--lookback", "16", "--worker-seq-len", "16",
            "--epochs", "1", "--device", "cpu", "--quiet", "--val-fraction", "0.56", "--test-fraction", "0"]
    assert main([*args, "--model", "linear", "--out", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    windows = json.loads((tmp_path / "run" / "metrics.json").read_text())["windows"]["train"]
    assert windows < 4  # so that no batch size makes 4 steps: the note comes
    assert "at batch size 1: too few to train far" in err and "--batch-size 1" not in err
    assert f"chosen by the {windows} training window{'s' * (windows != 1)} (--batch-size sets one)" in err
    # a batch size given is named as the flag
    assert main([*args, "--model", "linear", "--batch-size", "1", "--out", str(tmp_path / "given")]) == 0
    assert "at --batch-size 1: too few to train far" in capsys.readouterr().err


def test_help_lists_the_registered_models_and_each_choice_flags_choices():
    from dynonet.registry import MODELS

    shown = " ".join(build_parser()._subparsers._group_actions[0].choices["train"].format_help().split())
    assert "--model {" + ",".join(MODELS) + "}" in shown and "--device {auto,cpu,cuda}" in shown


def test_a_quiet_csv_run_names_a_batch_size_it_chose_and_its_validation_score_without_a_test_split(tmp_path, capsys):
    import numpy as np
    import pandas as pd

    t = np.arange(300)
    pd.DataFrame({"date": pd.date_range("2024-01-01", periods=300, freq="h"), "load": np.sin(t / 4)}).to_csv(
        tmp_path / "d.csv", index=False)
    small = ["--csv", str(tmp_path / "d.csv"), "--horizon", "8", "--lookback", "32", "--epochs", "1", "--device", "cpu",
             "--quiet"]
    assert main(["train", *small, "--model", "repeat", "--out", str(tmp_path / "repeat")]) == 0
    assert "batch size" not in capsys.readouterr().err
    assert main(["train", *small, "--model", "linear", "--out", str(tmp_path / "linear")]) == 0
    assert "dynonet: batch size 16: chosen by the 171 training windows" in capsys.readouterr().err
    # fit on every row, a quiet run still gives the one score there is
    assert main(["train", *small, "--model", "linear", "--test-fraction", "0", "--out", str(tmp_path / "all")]) == 0
    best = json.loads((tmp_path / "all" / "metrics.json").read_text())
    assert capsys.readouterr().out == (f"RevIN+Linear_H8: no test split (test fraction 0); validation MSE "
                                       f"{best['best_val_mse']:.4f} at the epoch kept ({best['best_epoch']})\n"
                                       f"run folder: {tmp_path / 'all'}\n")
