"""`dynonet bench speed` runs end to end and times what it says. No timing is asserted."""

import json
import signal

import pytest

from dynonet.speed import bench_config
from dynonet.cli import build_parser, main
from dynonet.errors import ConfigError


def test_cli_bench_speed_smoke(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main([
        "bench", "speed", "--device", "cpu", "--epochs", "1", "--warmup", "1", "--max-steps", "2",
        "--lookback", "64", "--horizon", "8", "--worker-seq-len", "16", "--worker-hidden", "4",
        "--controller-hidden", "8", "--batch-size", "16", "--eval-batch-size", "256", "--max-rows", "800",
        "--latency-calls", "5", "--throughput-batch", "32", "--budget", "1", "--floor", "--json", str(out),
    ])
    assert code == 0
    printed = capsys.readouterr().out
    assert "speedup" in printed and "cpu:" in printed
    r = json.loads(out.read_text())
    for key in ("device", "preset", "epoch_seconds", "training_step_seconds", "speedup", "latency_ms_batch1",
                "throughput_windows_per_s",
                "peak_memory_mib", "floor_seconds", "epoch_seconds_extrapolated_full"):
        assert key in r, key
    assert r["steps_per_epoch"] == 2 and r["truncated_epochs"]
    for path in ("optimized", "reference"):
        assert r["epoch_seconds"][path] > r["training_step_seconds"][path] > 0
        assert r["latency_ms_batch1"][path] > 0
        assert r["throughput_windows_per_s"][path] > 0
        assert r["peak_memory_mib"][path]["train"] > 0
        assert r["peak_memory_mib"][path]["inference"] > 0
    assert r["speedup"] > 0
    assert r["floor_seconds"]["step_floor"] > 0
    for backend in ("fused", "per_channel", "block_diagonal"):
        assert r["floor_seconds"][f"worker_{backend}_fwd_bwd"] > 0
    assert r["recurrence_backend"] == "auto: fused" and "with the block-diagonal backend" in printed
    assert "recurrence backend auto: fused" in printed  # what auto picks on a CPU


def test_bench_speed_runs_the_optimized_path_on_the_backend_asked_for(tmp_path, backend_calls):
    import dynonet.recurrence as rec

    picked = backend_calls
    assert main(["bench", "speed", "--device", "cpu", "--epochs", "1", "--warmup", "0", "--max-steps", "1",
                 "--channels", "3", "--max-rows", "600", "--lookback", "48", "--horizon", "8", "--worker-seq-len", "16",
                 "--batch-size", "8", "--paths", "optimized", "--latency-calls", "2", "--throughput-batch", "4",
                 "--budget", "0.5", "--recurrence-backend", "block-diagonal", "--json", str(tmp_path / "b.json")]) == 0
    assert picked and set(picked) == {"block-diagonal"}  # every worker recurrence (on a CPU, auto is the fused loop)
    assert json.loads((tmp_path / "b.json").read_text())["recurrence_backend"] == "block-diagonal"
    assert rec._default.get() == "auto"  # and only inside the bench


def test_cli_bench_synthetic_channels(tmp_path):
    out = tmp_path / "bench.json"
    code = main([
        "bench", "speed", "--device", "cpu", "--epochs", "1", "--warmup", "0", "--max-steps", "1",
        "--channels", "5", "--max-rows", "600", "--lookback", "48", "--horizon", "8", "--worker-seq-len", "16",
        "--batch-size", "8", "--paths", "optimized", "--latency-calls", "3", "--throughput-batch", "8",
        "--budget", "0.5", "--json", str(out),
    ])
    assert code == 0
    r = json.loads(out.read_text())
    assert r["data"]["channels"] == 5 and r["data"]["synthetic"]
    assert r["speedup"] is None and "reference" not in r["epoch_seconds"]


def test_bench_speed_measures_the_bilevel_epochs_only():
    """The presets train trend-first; the speed benchmark times the full system's epochs,
    never the trend path's stage (the reference path has none), and says so if asked to."""
    args = build_parser().parse_args(["bench", "speed", "--preset", "etth1-96", "--epochs", "2", "--warmup", "1"])
    cfg = bench_config(args)
    assert cfg.model.controller and not cfg.train.trend_first
    assert cfg.train.epochs == 3 and cfg.train.patience == 4
    args = build_parser().parse_args(["bench", "speed", "--preset", "etth1-96", "--trend-first"])
    with pytest.raises(ConfigError, match="drop --trend-first"):
        bench_config(args)
    for given in (["--patience", "1"], ["--trend-fit", "ridge"], ["--interval-levels", "80"]):  # they change nothing there
        args = build_parser().parse_args(["bench", "speed", "--preset", "etth1-96", *given])
        with pytest.raises(ConfigError, match=rf"^{given[0]}: changes nothing in bench speed"):
            bench_config(args)
    with pytest.raises(ConfigError, match=r"^--loss mae: the reference path trains on MSE only"):
        bench_config(build_parser().parse_args(["bench", "speed", "--loss", "mae"]))  # before any data is read
    plateau = bench_config(build_parser().parse_args(["bench", "speed", "--schedule", "plateau", "--epochs", "1",
                                                      "--paths", "optimized"]))
    assert plateau.train.patience > max(plateau.train.epochs, plateau.train.plateau_patience)


def test_a_controller_split_smaller_than_a_batch_is_one_batch(tmp_path):
    """A controller split (here validation) of fewer windows than a batch (400 rows against a
    batch of 512): the reference path draws all of them as one batch, as `fit` does, instead of
    waiting forever for a full one (the alarm turns a hang into a failure)."""
    def hung(*_):
        raise TimeoutError("bench speed still running after 120 s")

    before = signal.signal(signal.SIGALRM, hung)
    signal.alarm(120)
    try:
        code = main([
            "bench", "speed", "--device", "cpu", "--epochs", "1", "--warmup", "0", "--max-steps", "2",
            "--max-rows", "400", "--lookback", "48", "--horizon", "8", "--worker-seq-len", "16",
            "--worker-hidden", "4", "--controller-hidden", "8", "--batch-size", "512", "--latency-calls", "2",
            "--throughput-batch", "8", "--budget", "0.5", "--json", str(tmp_path / "bench.json"),
        ])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)
    assert code == 0 and json.loads((tmp_path / "bench.json").read_text())["speedup"] > 0


@pytest.mark.parametrize("flag, value, says", [
    ("--max-steps", "0", "must be an integer >= 1"), ("--latency-calls", "0", "must be an integer >= 1"),
    ("--throughput-batch", "0", "must be an integer >= 1"), ("--channels", "0", "must be an integer >= 1"),
    ("--threads", "0", "must be an integer >= 1"), ("--warmup", "-1", "must be an integer >= 0"),
    ("--budget", "0", "must be a number >= 0.001"), ("--epochs", "x", "must be an integer >= 1"),
])
def test_a_bench_flag_out_of_range_is_one_line_before_any_measuring(flag, value, says, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["bench", "speed", flag, value])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1 and f"argument {flag}: {says} (got '{value}')" in err


def test_a_json_path_that_cannot_be_written_is_refused_before_any_measuring(tmp_path, capsys, monkeypatch):
    import dynonet.speed

    monkeypatch.setattr(dynonet.speed, "bench_config", lambda args: pytest.fail("measured before the check"))
    assert main(["bench", "speed", "--json", str(tmp_path / "no" / "x.json")]) == 2
    assert capsys.readouterr().err == f"dynonet: error: {tmp_path / 'no' / 'x.json'}: cannot write there (folder " \
                                      f"{tmp_path / 'no'} does not exist)\n"
    (tmp_path / "file").write_text("x")
    assert main(["bench", "speed", "--json", str(tmp_path / "file" / "x.json")]) == 2
    assert capsys.readouterr().err.endswith(f"cannot write there ({tmp_path / 'file'} is a file, not a folder)\n")
