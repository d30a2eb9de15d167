import functools
import json
import re
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from dynonet.cli import main
from dynonet.data import load, window_sets
from dynonet.errors import CheckpointError
from dynonet.registry import build_model
from dynonet.resume import STATE_FILE, STATE_FORMAT, load_state, save_state
from dynonet.runtime import seed_everything
from dynonet.training import BiLevelTrainer

from conftest import small_run_cfg
from test_cli import SMALL as CLI_SMALL

_at = CLI_SMALL.index("--epochs")
SMALL = [*CLI_SMALL[:_at], *CLI_SMALL[_at + 2 :], "--quiet"]  # the CLI tests' small run; epochs set per test


def test_state_round_trips_tensors_int_keys_and_numbers(tmp_path):
    state = {"format": STATE_FORMAT, "a": torch.arange(3.0), "opt": {0: {"step": torch.tensor(2.0)}, 1: {}}, "inf": float("inf"),
             "nested": [1, (2, 3), None, "x"], "u8": torch.tensor([1, 2], dtype=torch.uint8)}
    save_state(tmp_path, state)
    back = load_state(tmp_path)
    assert torch.equal(back["a"], state["a"]) and back["u8"].dtype == torch.uint8
    assert list(back["opt"]) == [0, 1] and torch.equal(back["opt"][0]["step"], torch.tensor(2.0))
    assert back["inf"] == float("inf") and back["nested"] == [1, [2, 3], None, "x"]


def test_a_state_of_another_format_is_refused_naming_its_file(tmp_path):
    save_state(tmp_path, {"format": STATE_FORMAT - 1, "a": torch.ones(3)})
    with pytest.raises(CheckpointError, match=rf"^{re.escape(str(tmp_path / STATE_FILE))}: written by another version "
                                              r"of dynonet; start the run again, without --resume \(with --overwrite\)$"):
        load_state(tmp_path)


def test_truncated_state_is_a_clean_error(tmp_path):
    save_state(tmp_path, {"format": STATE_FORMAT, "a": torch.ones(100)})
    path = tmp_path / STATE_FILE
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(CheckpointError, match="corrupted"):
        load_state(tmp_path)


def _fresh(epochs):
    cfg = small_run_cfg(epochs=epochs, patience=50)
    gen = seed_everything(cfg.train.seed)
    data = load(cfg)
    cfg = cfg.replace(model={"n_channels": data.n_channels})
    model = build_model(cfg.model)
    return model, BiLevelTrainer(model, cfg.train, gen), window_sets(data, cfg, torch.device("cpu"))


def test_resumed_training_equals_uninterrupted_training(tmp_path):
    model, trainer, sets = _fresh(3)
    whole = trainer.fit(sets)
    expected = {k: v.clone() for k, v in model.state_dict().items()}

    model, trainer, sets = _fresh(3)
    saved = []
    # Stop after epoch 1 by raising from the checkpoint hook, like a crash between epochs.
    def hook(state):
        save_state(tmp_path, state)
        saved.append(state["epoch"])
        if state["epoch"] == 1:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(sets, checkpoint=hook)
    torch.manual_seed(1234)  # the process that resumes starts from other RNG states

    model, trainer, sets = _fresh(3)
    resumed = trainer.fit(sets, resume=load_state(tmp_path))
    assert saved == [1]
    assert [h["val_mse"] for h in resumed.history] == [h["val_mse"] for h in whole.history]
    assert resumed.best_epoch == whole.best_epoch
    for k, v in model.state_dict().items():
        assert torch.equal(v, expected[k]), k


def _train_cmd(out, epochs):
    return [sys.executable, "-m", "dynonet.cli", "train", "--preset", "quickstart", "--controller", "--out", str(out),
            "--epochs", str(epochs), "--patience", "100", *SMALL]


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_metrics(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    epochs = 12
    whole = tmp_path / "whole"
    subprocess.run(_train_cmd(whole, epochs), check=True, env=env, capture_output=True)

    run = tmp_path / "killed"
    proc = subprocess.Popen(_train_cmd(run, epochs), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        state = run / STATE_FILE
        if state.exists() and load_state(run)["epoch"] >= 3:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run / "metrics.json").exists()
    saved = load_state(run)
    killed_at = saved["epoch"]
    assert 3 <= killed_at < epochs and saved["elapsed_seconds"] > 0

    done = subprocess.run([sys.executable, "-m", "dynonet.cli", "train", "--out", str(run), "--resume"],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    a = json.loads((whole / "metrics.json").read_text())
    b = json.loads((run / "metrics.json").read_text())
    assert b["resumed_after_epoch"] == killed_at
    assert b["argv"][1:4] == ["train", "--preset", "quickstart"]  # the command that started it, not --resume
    assert b["test"] == a["test"]
    assert [h["val_mse"] for h in b["history"]] == [h["val_mse"] for h in a["history"]]
    assert not (run / STATE_FILE).exists()  # finished: nothing left to resume


def test_resume_rejects_changed_settings_and_missing_state(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    assert main(["train", "--out", str(out), "--resume"]) == 2
    assert "no resumable state" in capsys.readouterr().err
    save_state(out, {"format": STATE_FORMAT, "epoch": 1, "config": small_run_cfg().to_dict()})
    assert main(["train", "--out", str(out), "--resume", "--epochs", "7", *SMALL]) == 2
    err = capsys.readouterr().err
    assert "train.epochs: 2 -> 7" in err and "Traceback" not in err
    # flags alone are compared with the run's own settings, not with a preset's
    assert main(["train", "--out", str(out), "--resume", "--epochs", "7"]) == 2
    err = capsys.readouterr().err
    assert "train.epochs: 2 -> 7" in err and err.count(" -> ") == 1, err
    assert main(["train", "--resume", "--epochs", "7"]) == 2
    assert "--resume needs --out" in capsys.readouterr().err
    assert main(["train", "--out", str(out), *SMALL]) == 2  # forgot --resume: told about it
    assert "pass --resume to continue it" in capsys.readouterr().err
    foreign = small_run_cfg().to_dict()
    foreign["model"]["a_setting_from_another_version"] = 1
    save_state(out, {"format": STATE_FORMAT, "epoch": 1, "config": foreign})
    assert main(["train", "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "not readable" in err and err.count("\n") == 1, err


# plateau: high lr and patience 1, so that it backs off (asserted below) and the lowered lr must resume
# restarts: cycles of 2 epochs, so stopping after epoch 1 or 4 leaves the schedule mid-cycle
TRAINING = {"cosine": {}, "restarts": {"schedule": "restarts", "restart_epochs": 2},
            "plateau": {"schedule": "plateau", "plateau_patience": 1, "lr": 1.0},
            "weight-average": {"ema_decay": 0.9},
            "exponential": {"schedule": "exponential", "hold_epochs": 1, "lr_decay": 0.5}}


def _fresh_trend_first(**train):
    """A seeded trend-first model with a controller, its trainer and its windows."""
    cfg = small_run_cfg(epochs=3, patience=50, trend_first=True, **train)
    gen = seed_everything(cfg.train.seed)
    data = load(cfg)
    cfg = cfg.replace(model={"n_channels": data.n_channels, "controller": True})
    model = build_model(cfg.model)
    return model, BiLevelTrainer(model, cfg.train, gen), window_sets(data, cfg, torch.device("cpu"))


@functools.cache
def _uninterrupted(train: tuple[tuple[str, object], ...]):
    """The run of `_fresh_trend_first(**dict(train))`, uninterrupted: (its history, its final weights);
    computed once for all the stopping points."""
    model, trainer, sets = _fresh_trend_first(**dict(train))
    whole = trainer.fit(sets)
    return whole.history, {k: v.clone() for k, v in model.state_dict().items()}


def _stopped_and_resumed(tmp_path, stop_after: int, **train):
    """Train trend-first with a controller; again, stopped after epoch `stop_after`, then
    resumed from its saved state. Returns both histories and whether the weights are equal."""
    fresh = functools.partial(_fresh_trend_first, **train)
    whole_history, expected = _uninterrupted(tuple(sorted(train.items())))

    def hook(state):
        save_state(tmp_path, state)
        if state["epoch"] == stop_after:
            raise KeyboardInterrupt
    model, trainer, sets = fresh()
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(sets, checkpoint=hook)
    torch.manual_seed(1234)

    model, trainer, sets = fresh()
    resumed = trainer.fit(sets, resume=load_state(tmp_path))
    same = [k for k, v in model.state_dict().items() if not torch.equal(v, expected[k])] == []
    return whole_history, resumed.history, same


@pytest.mark.parametrize("training", sorted(TRAINING))
@pytest.mark.parametrize("stop_after", [1, 3, 4])  # in the trend stage, at its end, in the full stage
def test_trend_first_resumes_across_the_stage_change(tmp_path, stop_after, training):
    whole, resumed, same = _stopped_and_resumed(tmp_path, stop_after, **TRAINING[training])
    assert [h["stage"] for h in resumed] == ["trend"] * 3 + ["full"] * 3
    if training == "plateau":
        assert len({h["lr"] for h in whole}) > 1
    assert [h["val_mse"] for h in resumed] == [h["val_mse"] for h in whole]
    assert same


@pytest.mark.parametrize("stop_after", [1, 2])
def test_a_run_with_the_closed_form_trend_fit_resumes(tmp_path, stop_after):
    whole, resumed, same = _stopped_and_resumed(tmp_path, stop_after, trend_fit="ridge")
    assert [h["stage"] for h in resumed] == ["trend"] + ["full"] * 3  # the fit once, then 3 epochs
    assert [h["val_mse"] for h in resumed] == [h["val_mse"] for h in whole]
    assert same


# -- the run's data, checked when resuming -----------------------------------------------------
TINY_CSV = ["--horizon", "8", "--lookback", "32", "--worker-seq-len", "32", "--worker-hidden", "4",
            "--context-dim", "4", "--mixer-hidden", "4", "--batch-size", "512", "--device", "cpu", "--quiet"]


def _interrupted_csv_run(tmp_path, monkeypatch, flags=tuple(TINY_CSV)):
    """A CSV run stopped by Ctrl-C after its first epoch's state was saved: (its CSV, its folder)."""
    import numpy as np
    import pandas as pd
    from dynonet import runner

    t = np.arange(300)
    csv, out = tmp_path / "d.csv", tmp_path / "run"
    pd.DataFrame({"date": pd.date_range("2024-01-01", periods=300, freq="h"), "load": np.sin(t / 4),
                  "temp": np.cos(t / 5)}).to_csv(csv, index=False)
    saved = runner.save_state

    def save_then_stop(folder, state):
        saved(folder, state)
        raise KeyboardInterrupt
    monkeypatch.setattr(runner, "save_state", save_then_stop)
    assert main(["train", "--csv", str(csv), "--out", str(out), "--epochs", "3", *flags]) == 130
    monkeypatch.undo()
    assert (out / STATE_FILE).exists()
    return csv, out


@pytest.mark.parametrize("preset", [False, True])
def test_a_batch_size_the_data_chose_is_chosen_alike_when_resuming(tmp_path, monkeypatch, capsys, preset):
    at = TINY_CSV.index("--batch-size")
    unset = [*TINY_CSV[:at], *TINY_CSV[at + 2:]]  # the CSV's 171 training windows choose 16
    csv, out = _interrupted_csv_run(tmp_path, monkeypatch, unset)
    assert load_state(out)["config"]["train"]["batch_size"] == 16
    named = ["--preset", "quickstart", "--csv", str(csv), "--epochs", "3", *unset] if preset else []
    assert main(["train", *named, "--out", str(out), "--resume"]) == 0
    resumed = json.loads((out / "metrics.json").read_text())
    capsys.readouterr()
    assert main(["train", "--csv", str(csv), "--out", str(tmp_path / "whole"), "--epochs", "3", *unset]) == 0
    # a quiet run says so too: a setting it chose, not the user
    assert "dynonet: batch size 16: chosen by the 171 training windows (--batch-size sets one)\n" in capsys.readouterr().err
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    assert resumed["windows"] == whole["windows"] == {"train": 171, "val": 23, "test": 53}
    assert resumed["config"]["train"]["batch_size"] == whole["config"]["train"]["batch_size"] == 16
    assert resumed["resumed_after_epoch"] == 1 and resumed["test"]["mse"] == whole["test"]["mse"]
    # the run says the data chose it: the Python API, loading it, lets a refit choose again
    from dynonet import DynoNetForecaster

    assert resumed["batch_size_chosen"] and "batch_size" not in DynoNetForecaster.load(out).get_params()


@pytest.mark.parametrize("preset", [False, True])
def test_a_resumed_run_may_ask_for_other_interval_levels(tmp_path, monkeypatch, capsys, preset):
    csv, out = _interrupted_csv_run(tmp_path, monkeypatch)
    assert load_state(out)["config"]["train"]["batch_size"] == 512  # given: as given
    assert main(["train", "--out", str(out), "--resume", "--epochs", "4"]) == 2  # a training setting: refused
    assert "train.epochs: 3 -> 4" in capsys.readouterr().err
    # with its preset named, the run's settings are compared whole: the levels given still may differ
    named = ["--preset", "quickstart", "--csv", str(csv), "--epochs", "3", *TINY_CSV] if preset else []
    assert main(["train", *named, "--out", str(out), "--resume", "--interval-levels", "60,85",
                 "--pass-sequences", "70"]) == 0  # smaller passes: for a run that ran out of memory
    metrics = json.loads((out / "metrics.json").read_text())  # calibrated at those levels after training
    assert metrics["intervals"]["levels"] == metrics["config"]["train"]["interval_levels"] == [60, 85]
    assert metrics["config"]["train"]["pass_sequences"] == 70
    assert metrics["resumed_after_epoch"] == 1


def test_resume_refuses_data_that_changed_since_the_interrupt(tmp_path, monkeypatch, capsys):
    import pandas as pd

    csv, out = _interrupted_csv_run(tmp_path, monkeypatch)
    original = pd.read_csv(csv)
    capsys.readouterr()
    for changed, says in [
        (original.assign(new=1.0), "columns ['load', 'temp', 'new'] differ from the interrupted run's ['load', 'temp']"),
        (original.assign(load=original["load"] * 2), "training rows differ from those the interrupted run was trained on"),
        (original.iloc[:250], "differ from the interrupted run's (train [0, 210), val [178, 240), test [208, 300)): "
                              "rows added or removed?"),
    ]:
        changed.to_csv(csv, index=False)
        assert main(["train", "--out", str(out), "--resume"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and says in err, err
        assert (out / STATE_FILE).exists() and not (out / "checkpoint.json").exists()  # still resumable
    original.to_csv(csv, index=False)
    assert main(["train", "--out", str(out), "--resume"]) == 0


def test_a_run_whose_csv_moved_resumes_with_its_new_path(tmp_path, monkeypatch, capsys):
    csv, out = _interrupted_csv_run(tmp_path, monkeypatch)
    moved = tmp_path / "moved.csv"
    csv.rename(moved)
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--resume"]) == 2
    assert "d.csv: file not found (the interrupted run's CSV; moved? resume with --csv and its new path)" in \
        capsys.readouterr().err
    assert main(["train", "--out", str(out), "--resume", "--csv", str(moved)]) == 0
    assert json.loads((out / "checkpoint.json").read_text())["config"]["data"]["csv"] == str(moved)


def test_another_csv_is_refused_where_the_state_cannot_check_it(tmp_path, monkeypatch, capsys):
    csv, out = _interrupted_csv_run(tmp_path, monkeypatch)
    state = load_state(out)
    del state["data"]  # as a state saved before the data was recorded
    save_state(out, state)
    moved = tmp_path / "moved.csv"
    csv.rename(moved)
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--resume", "--csv", str(moved)]) == 2
    assert f"data.csv: '{csv}' -> '{moved}'" in capsys.readouterr().err
    # nor does a run on the bundled data resume on a CSV
    save_state(out, {**state, "config": small_run_cfg().to_dict()})
    assert main(["train", "--out", str(out), "--resume", "--csv", str(moved)]) == 2
    assert f"data.csv: None -> '{moved}'" in capsys.readouterr().err


def test_the_saved_state_reads_cuda_generators_only_once_cuda_is_in_use(monkeypatch):
    from dynonet.resume import rng_state

    def start_cuda():
        raise AssertionError("a CPU run read CUDA's generators (which starts CUDA on every GPU)")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a GPU machine, CUDA not started
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", start_cuda)
    assert rng_state(torch.Generator())["cuda"] == []
