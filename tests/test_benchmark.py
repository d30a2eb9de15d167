import json
import re
import shlex
import shutil
import statistics

import pytest

from dynonet import benchmark
from dynonet.benchmark import RECORD_KEYS, VARIANTS, overridden_flags, run_config
from dynonet.cli import build_parser, main
from dynonet.config import SIGNALS

from conftest import benchmark_script

SMALL = ["--epochs", "1", "--max-rows", "700", "--lookback", "48", "--worker-seq-len", "16",
         "--worker-hidden", "6", "--controller-hidden", "8", "--controller-patch-len", "8",
         "--batch-size", "64", "--device", "cpu"]
GRID = ["benchmark", "--datasets", "ETTh1", "--horizons", "8", "--seeds", "0,1"]




def records(out):
    return json.loads((out / "results.json").read_text())["records"]


def section(md, metric):
    """One metric's table in a results.md."""
    title = {"mse": "Test MSE", "mae": "Test MAE", "best_val_mse": "Best validation MSE"}[metric]
    return md.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def table(md, metric):
    """{(variant, column): (mean, std or None, n)} parsed from one metric's table; n is the
    table's seed count (from its header) unless the cell says it has fewer."""
    n_seeds = len(re.search(r"over seeds? ([0-9, ]+) of", md)[1].split(","))
    lines = [ln for ln in section(md, metric).splitlines() if ln.startswith("|")]
    cols = [c.strip() for c in lines[0].strip("|").split("|")][1:]
    cells = {}
    for ln in lines[2:]:
        variant, *values = [c.strip() for c in ln.strip("|").split("|")]
        for col, v in zip(cols, values):
            if v == "-":
                continue
            text = v.removeprefix("**").removesuffix("**")  # the lowest mean is in bold
            m = re.fullmatch(r"([0-9.]+) \+- ([0-9.]+|n/a)(?: \((\d+) seeds\))?", text)
            assert m, v
            cells[(variant, col)] = (float(m[1]), None if m[2] == "n/a" else float(m[2]),
                                     int(m[3]) if m[3] else n_seeds)
    return cells


def test_variant_table_builds_configs_from_one_preset():
    overrides = {"train": {"epochs": 1, "controller_lr": 5e-4}, "model": {"lookback": 48}}
    cfgs = {v: run_config("ETTh1", 336, 2, v, overrides) for v in VARIANTS}
    assert {"dynonet", "workers-only", "frozen-controller", "no-film", "no-dropout", "no-lr_scale", "no-gate",
            "no-context", "holdout", "frozen-holdout", "linear", "dlinear", "patchtst", "repeat", "seasonal-repeat",
            "linear-ridge"} == set(VARIANTS)
    for v, cfg in cfgs.items():  # same preset, lookback, seed, pass-through overrides for all
        assert (cfg.model.horizon, cfg.model.lookback, cfg.train.seed, cfg.train.epochs) == (336, 48, 2, 1)
        assert cfg.data.dataset == "ETTh1" and cfg.train.lr == 2e-3
    assert not cfgs["workers-only"].model.controller
    full = ("dynonet", "frozen-controller", "holdout", "frozen-holdout", *(f"no-{s}" for s in SIGNALS))
    assert all(cfgs[v].model.controller for v in full)  # whatever the preset says
    off = {"model": {**overrides["model"], "controller": False}, "train": overrides["train"]}
    assert all(run_config("ETTh1", 96, 0, v, off).model.controller for v in full)  # the variant's value wins
    of = lambda v, o: overridden_flags(v, o, run_config("ETTh1", 96, 0, v, o))  # noqa: E731
    assert of("dynonet", off) == {"--no-controller": "--controller"}
    assert of("workers-only", off) == {} == of("dynonet", overrides)
    ridge = {"train": {"trend_fit": "ridge"}}  # read only by a run with a trend-first stage
    assert of("linear", ridge) == {"--trend-fit ridge": "not read"} and of("workers-only", ridge) == {}
    assert cfgs["frozen-controller"].train.controller_lr == 0 and cfgs["dynonet"].train.controller_lr == 5e-4
    assert cfgs["no-film"].model.fixed_signals == ("film",) and cfgs["no-context"].model.fixed_signals == ("context",)
    assert cfgs["holdout"].train.controller_data == "holdout" and cfgs["dynonet"].train.controller_data == "val"
    # holdout's control: the same split, the controller frozen
    assert cfgs["frozen-holdout"].train.controller_data == "holdout" and cfgs["frozen-holdout"].train.controller_lr == 0
    assert cfgs["holdout"].train.controller_lr == 5e-4
    assert [cfgs[b].model.model for b in ("linear", "dlinear", "patchtst", "repeat")] == [
        "linear", "dlinear", "patchtst", "repeat"]
    assert not any(cfgs[b].train.trend_first for b in ("linear", "dlinear", "patchtst", "repeat"))
    ridge = cfgs["linear-ridge"]  # the linear baseline of DynoNet runs with --trend-fit ridge
    assert ridge.model.model == "linear" and ridge.train.trend_first and ridge.train.trend_fit == "ridge"
    assert run_config("ETTh2", 8, 0, "dynonet", {}).model.horizon == 8  # no preset: the H96 one, horizon set


def test_a_grid_with_the_closed_form_trend_fit_records_and_says_so(tmp_path):
    out = tmp_path / "res"
    assert main([*GRID, "--variants", "linear-ridge,workers-only,linear,dlinear", "--trend-fit", "ridge",
                 "--out", str(out), *SMALL]) == 0
    recs = {(r["model"], r["seed"]): r for r in records(out)}
    for seed in (0, 1):  # the fit has nothing random: every seed gives the same model
        fit = recs[("linear-ridge", seed)]
        assert (fit["epochs"], fit["best_epoch"]) == (1, 0) and fit["config"]["train"]["trend_fit"] == "ridge"
        assert fit["mse"] == recs[("linear-ridge", 0)]["mse"]
        # DynoNet's first stage is that same fit: the workers start from its validation MSE
        assert recs[("workers-only", seed)]["best_val_mse"] <= fit["best_val_mse"]
        assert recs[("linear", seed)]["config"]["train"]["trend_first"] is False  # AdamW, as always
    table = (out / "results.md").read_text()
    assert "closed-form trend fit (`--trend-fit ridge`) in: linear-ridge, workers-only." in table


def test_grid_runs_records_every_run_and_summarizes_from_the_records(tmp_path, capsys):
    out = tmp_path / "res"
    assert main([*GRID, "--variants", "dynonet,linear,repeat", "--out", str(out), *SMALL]) == 0
    for name in ("results.json", "results.md", "results.png"):
        assert (out / name).is_file()
    assert (out / "results.png").read_bytes()[:4] == b"\x89PNG"
    recs = records(out)
    assert sorted((r["model"], r["seed"]) for r in recs) == sorted(
        (v, s) for v in ("dynonet", "linear", "repeat") for s in (0, 1))
    for r in recs:
        assert all(k in r for k in RECORD_KEYS), set(RECORD_KEYS) - set(r)
        assert (r["dataset"], r["horizon"], r["lookback"]) == ("ETTh1", 8, 48)
        assert (r["season"], r["config"]["model"]["season"]) == (24, 0)  # the hourly data's day; --season's 0
        # only a model with a controller has a controller split
        assert r["controller_data"] == ("val" if r["model"] == "dynonet" else None)
        assert r["mse"] > 0 and r["mae"] > 0 and r["seconds"] > 0 and r["device"].startswith("cpu")
        assert r["config"]["train"]["epochs"] == 1 and r["config"]["data"]["max_rows"] == 700
    assert {r["model"]: r["params"] for r in recs}["repeat"] == 0
    # the presets train trend-first: DynoNet's trend path has a stage of its own, Linear has none
    assert {r["model"]: r["epochs"] for r in recs if r["model"] != "repeat"} == {"dynonet": 2, "linear": 1}
    assert {r["model"]: r["epochs_by_stage"] for r in recs if r["model"] != "repeat"} == {
        "dynonet": {"trend": 1, "full": 1}, "linear": {"trend": 0, "full": 1}}

    md = (out / "results.md").read_text()
    assert "dynonet benchmark --datasets ETTh1 --horizons 8 --seeds 0,1" in md and "cpu" in md
    assert "lookback L: 48" in md and "validation batches" in md and "unless the variant says holdout" in md
    for metric in ("mse", "mae", "best_val_mse"):
        cells = table(md, metric)
        scored = ("dynonet", "linear") if metric == "best_val_mse" else ("dynonet", "linear", "repeat")
        assert set(cells) == {(v, "ETTh1 H8") for v in scored}  # repeat trains nothing: no validation
        for (v, _), (mean, std, n) in cells.items():
            vals = [r[metric] for r in recs if r["model"] == v]
            assert n == len(vals) == 2
            assert mean == pytest.approx(statistics.fmean(vals), abs=5e-5)
            assert std == pytest.approx(statistics.stdev(vals), abs=5e-5)
        column = {v: mean for (v, _), (mean, _, _) in cells.items()}
        bold = [ln.split("|")[1].strip() for ln in section(md, metric).splitlines() if "**" in ln]
        assert bold == [min(column, key=column.get)]  # the lowest mean, and only it, in bold
    params = md.split("## Parameters\n", 1)[1].split("\n## ", 1)[0]
    for v in ("dynonet", "linear", "repeat"):
        count = next(r["params"] for r in recs if r["model"] == v)
        assert f"| {v} | {count:,} |" in params


def test_a_diverged_run_is_recorded_and_the_grid_goes_on(tmp_path, capsys):
    out = tmp_path / "res"
    # a learning rate this large makes Linear diverge in its first epoch; repeat trains nothing
    assert main([*GRID, "--variants", "linear,repeat", "--out", str(out), *SMALL, "--lr", "1e30"]) == 0
    recs = records(out)
    assert sorted((r["model"], r["seed"]) for r in recs) == [("linear", 0), ("linear", 1), ("repeat", 0), ("repeat", 1)]
    for r in recs:
        assert all(k in r for k in RECORD_KEYS), set(RECORD_KEYS) - set(r)
    diverged = [r for r in recs if r["model"] == "linear"]
    for r in diverged:
        assert r["mse"] is None and r["mae"] is None and "diverged" in r["error"]
        assert r["params"] == 48 * 8 + 8 + 2 * 7 == 406 and r["epochs"] == 0 and r["device"].startswith("cpu")
    assert all(r["mse"] > 0 and "error" not in r for r in recs if r["model"] == "repeat")
    assert "2 recorded runs stopped without scores" in capsys.readouterr().out
    md = (out / "results.md").read_text()
    assert set(table(md, "mse")) == {("repeat", "ETTh1 H8")}  # no mean over runs that have no scores
    failed = md.split("## Runs without scores\n", 1)[1].split("\n## ", 1)[0]
    assert [ln.split("|")[1:5] for ln in failed.splitlines() if ln.startswith("| linear")] == [
        [" linear ", " ETTh1 ", " 8 ", f" {s} "] for s in (0, 1)]
    params = md.split("## Parameters\n", 1)[1].split("\n## ", 1)[0]
    assert "| linear | 406 |" in params  # a run without scores still built its model
    assert main([*GRID, "--variants", "linear,repeat", "--out", str(out), *SMALL, "--lr", "1e30", "--resume"]) == 0
    assert records(out) == recs  # recorded runs, failed or not, are not run again


def test_resume_skips_finished_runs_and_keeps_an_interrupted_grid(tmp_path, monkeypatch, capsys):
    out = tmp_path / "res"
    argv = [*GRID, "--variants", "linear,repeat", "--out", str(out), *SMALL]
    import dynonet.runner

    real, calls = dynonet.runner.train_run, []

    def flaky(cfg, *a, **kw):
        calls.append((cfg.model.model, cfg.train.seed))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(cfg, *a, **kw)

    monkeypatch.setattr(dynonet.runner, "train_run", flaky)
    assert main(argv) == 130  # interrupted at the third run
    assert [(r["model"], r["seed"]) for r in records(out)] == [("linear", 0), ("repeat", 0)]
    assert capsys.readouterr().err == (f"dynonet: interrupted; `{shlex.join(['dynonet', *argv, '--resume'])}` skips "
                                       "the runs already recorded\n")

    assert main(argv) == 2  # without --resume: refuses to duplicate runs
    assert "--resume" in capsys.readouterr().err

    calls.clear()
    assert main([*argv, "--resume"]) == 0
    assert calls == [("linear", 1), ("repeat", 1)]
    first = records(out)
    assert len(first) == 4

    calls.clear()
    assert main([*argv, "--resume"]) == 0  # all done: nothing runs, nothing changes
    assert calls == [] and records(out) == first
    assert table((out / "results.md").read_text(), "mse")[("linear", "ETTh1 H8")][2] == 2

    # the same cell with other settings would mix runs: refused
    assert main([*argv, "--resume", "--seeds", "2", "--epochs", "2"]) == 2
    assert "other settings" in capsys.readouterr().err and records(out) == first


def test_merge_joins_shards_run_side_by_side_and_refuses_conflicts(tmp_path, capsys):
    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "all"
    shard = [*GRID, "--variants", "repeat", *SMALL]
    assert main([*shard, "--seeds", "0", "--out", str(a)]) == 0
    assert main([*shard, "--seeds", "1", "--out", str(b)]) == 0
    assert main(["benchmark", "--merge", str(a), str(b), "--out", str(out)]) == 0
    merged = records(out)
    assert merged == records(a) + records(b)
    assert table((out / "results.md").read_text(), "mse")[("repeat", "ETTh1 H8")][2] == 2
    assert (out / "results.png").is_file()

    assert main(["benchmark", "--merge", str(a), "--out", str(out)]) == 0  # already there: nothing changes
    assert records(out) == merged
    assert main(["benchmark", "--merge", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert "no such results file" in capsys.readouterr().err

    e = tmp_path / "e"  # settings repeat does not read (nothing to train): the same cell
    assert main([*shard, "--seeds", "2", "--epochs", "2", "--lr", "0.1", "--out", str(e)]) == 0
    assert main(["benchmark", "--merge", str(a), str(e), "--out", str(tmp_path / "ae")]) == 0
    c = tmp_path / "c"  # the same cell with other settings: refused, nothing written
    assert main([*shard, "--seeds", "2", "--eval-batch-size", "100", "--out", str(c)]) == 0
    capsys.readouterr()
    assert main(["benchmark", "--merge", str(c), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "other settings" in err and "train.eval_batch_size" in err and records(out) == merged

    # a conflict between two sources names the earlier source; nothing is written
    d = tmp_path / "d"
    assert main([*shard, "--seeds", "0", "--eval-batch-size", "200", "--out", str(d)]) == 0
    capsys.readouterr()
    assert main(["benchmark", "--merge", str(c), str(d), "--out", str(tmp_path / "new")]) == 2
    assert str(c / "results.json") in capsys.readouterr().err and not (tmp_path / "new").exists()
    changed = json.loads((a / "results.json").read_text())
    changed["records"][0]["mse"] += 1.0
    (d / "results.json").write_text(json.dumps(changed))  # seed 0 again, another score
    assert main(["benchmark", "--merge", str(a), str(d), "--out", str(tmp_path / "new")]) == 2
    assert f"recorded differently in {a / 'results.json'} (mse differ)" in capsys.readouterr().err
    # the same run made again with the same outcome (another shard's command, another time): the first kept
    again = tmp_path / "again"
    assert main([*shard, "--seeds", "0,2", "--out", str(again)]) == 0
    capsys.readouterr()
    assert main(["benchmark", "--merge", str(a), str(again), "--out", str(tmp_path / "new")]) == 0
    said = re.search(rf"{re.escape(str(again / 'results.json'))}: repeat on ETTh1 H8 seed 0 again, the same but "
                     rf"for its (.*); {re.escape(str(a / 'results.json'))}'s record kept", capsys.readouterr().out)
    assert said and "command" in said[1].split(", ")  # (and its date and seconds, where the clock ticked)
    assert records(tmp_path / "new") == records(a) + records(again)[1:]
    shutil.rmtree(tmp_path / "new")

    # a record of an earlier version, without a setting added since (at its default): the same run
    old = tmp_path / "old"
    earlier = json.loads((a / "results.json").read_text())
    for r in earlier["records"]:
        del r["config"]["train"]["interval_levels"]
    old.mkdir()
    (old / "results.json").write_text(json.dumps(earlier))
    assert main(["benchmark", "--merge", str(a), str(old), "--out", str(tmp_path / "new")]) == 0
    assert records(tmp_path / "new") == records(a)
    shutil.rmtree(tmp_path / "new")

    # a file that is no results file, or an edited one: one line naming it and what is wrong
    bad = tmp_path / "bad"
    bad.mkdir()
    for text, message in [("{", "not JSON"), ("{}", 'no list of "records"'), ('{"records": 5}', 'no list of "records"'),
                          ('{"records": [3]}', "record 0 is not a JSON object"),
                          ('{"records": [{"x": 1}]}', "record 0 has no 'dataset'")]:
        (bad / "results.json").write_text(text)
        assert main(["benchmark", "--merge", str(a), str(bad), "--out", str(tmp_path / "new")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{bad / 'results.json'}: " in err and message in err, err
        assert not (tmp_path / "new").exists()

    # merging trains nothing: training flags are refused, not ignored
    assert main(["benchmark", "--merge", str(a), "--epochs", "3", "--out", str(out)]) == 2
    assert "takes only --out" in capsys.readouterr().err and records(out) == merged


def test_a_seasonal_model_without_a_cycle_is_refused_before_the_first_run(tmp_path, capsys):
    # repeat would run first; seasonal-repeat finds the hourly data's 24-step day longer than the lookback
    assert main([*GRID, "--variants", "repeat,seasonal-repeat", "--lookback", "12", "--max-rows", "300",
                 "--out", str(tmp_path / "g")]) == 2
    assert capsys.readouterr().err == ("dynonet: error: ETTh1: seasonal-repeat needs --season: the time step of 1 hour ('h') "
                                       "makes a cycle of 24 steps, longer than --lookback 12; give --season or a "
                                       "longer --lookback\n")
    assert not (tmp_path / "g").exists()


def test_grid_fields_are_rejected_as_config_flags(tmp_path, capsys):
    assert main([*GRID, "--horizon", "96", "--out", str(tmp_path)]) == 2
    assert "use --horizons" in capsys.readouterr().err
    assert main([*GRID, "--variants", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown variant 'nope'" in capsys.readouterr().err
    assert main(["benchmark", "--datasets", "ETTh1", "--test-fraction", "0.3", "--out", str(tmp_path / "g")]) == 2
    assert "--test-fraction: the bundled datasets are split at the protocol's fixed borders" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()
    for given in (["--date-column", "time"], ["--date-format", "%d"]):  # how a CSV is read, without one
        assert main(["benchmark", *given, "--out", str(tmp_path / "g")]) == 2
        assert f"{given[0]}: the bundled datasets' files are read as they are; these apply to --csv data" \
            in capsys.readouterr().err
    assert main(["benchmark", "--csv", "mine.csv", "--datasets", "ETTh1", "--out", str(tmp_path / "g")]) == 2
    assert "--datasets: the grid runs on the --csv data; give one of the two" in capsys.readouterr().err
    assert main(["benchmark", "--preset", "etth1-96", "--out", str(tmp_path / "g")]) == 2
    assert "--preset is for a grid on --csv data" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()
    shown = build_parser()._subparsers._group_actions[0].choices["benchmark"].format_help()
    assert "--csv CSV" in shown and "--horizon HORIZON" not in shown and "--horizons" in shown and "--epochs" in shown
    args = build_parser().parse_args(["benchmark"])
    assert (args.datasets, args.horizons, args.seeds, args.variants) == (
        ["ETTh1", "ETTh2"], [96, 192, 336, 720], [0, 1, 2], None)
    flat = " ".join(shown.split())
    assert "reads it) (default: ETTh1,ETTh2)" in flat and "(default: None)" not in flat
    assert "--device {auto,cpu,cuda}" in flat and "--resume skip runs already recorded in --out (default" not in flat
    for flag, value, says in [("--horizons", "96,0", "each must be >= 1 (got 0)"), ("--seeds", "-1", "each must be >= 0"),
                              ("--variants", "linear,,repeat", "an empty entry in 'linear,,repeat'")]:
        with pytest.raises(SystemExit):
            main(["benchmark", flag, value, "--out", str(tmp_path / "g")])
        assert f"argument {flag}: {says}" in capsys.readouterr().err
    for given in (["--datasets", "ETTh2"], ["--horizons", "96"], ["--seeds", "0"], ["--preset", "etth1-96"]):
        assert main(["benchmark", "--merge", str(tmp_path), *given, "--out", str(tmp_path / "g")]) == 2
        assert f"--merge trains nothing and takes only --out; drop {given[0]}" in capsys.readouterr().err


def test_a_record_from_before_a_new_setting_counts_with_its_default(tmp_path, capsys):
    """Records written before a config field existed (here `trend_first`) still belong to their
    cell: a missing field counts with its default, which is what those runs used."""
    out = tmp_path / "res"
    argv = [*GRID, "--seeds", "0", "--variants", "linear", "--out", str(out), *SMALL]
    assert main(argv) == 0
    data = json.loads((out / "results.json").read_text())
    for r in data["records"]:
        assert r["config"]["train"].pop("trend_first") is False  # baselines have no trend-first stage
    (out / "results.json").write_text(json.dumps(data))
    assert main([*argv, "--seeds", "0,1", "--resume"]) == 0
    assert "1 already in" in capsys.readouterr().out
    assert len(records(out)) == 2


def test_a_cell_compares_only_the_settings_its_model_reads(tmp_path, capsys):
    """A baseline recorded when DynoNet's settings differed (the preset had the controller on)
    is the same experiment; a setting the model does read still splits the cell."""
    out = tmp_path / "res"
    argv = [*GRID, "--seeds", "0", "--variants", "linear", "--out", str(out), *SMALL]
    assert main(argv) == 0
    data = json.loads((out / "results.json").read_text())
    data["records"][0]["config"]["model"].update(controller=True, worker_hidden=99, patch_len=4)
    data["records"][0]["config"]["train"]["controller_lr"] = 0.5
    (out / "results.json").write_text(json.dumps(data))
    assert main([*argv, "--seeds", "0,1", "--resume"]) == 0
    assert "1 already in" in capsys.readouterr().out and len(records(out)) == 2
    assert main([*argv, "--seeds", "2", "--resume", "--lookback", "40"]) == 0  # another cell (L is in its key)
    capsys.readouterr()
    assert main([*argv, "--seeds", "3", "--resume", "--lr", "0.01"]) == 2  # Linear reads the learning rate
    assert "train.lr" in capsys.readouterr().err and len(records(out)) == 3


def test_readme_tables_bold_the_lowest_mean_and_mark_short_cells(tmp_path, capsys):
    """benchmarks/readme_tables.py (the README's tables) computes what it prints from the records."""
    import subprocess
    import sys

    script = benchmark_script("readme_tables")
    base = {"dataset": "ETTh1", "horizon": 96, "lookback": 512, "mae": 0.4, "params": 1}
    recs = [{**base, "model": "linear", "seed": s, "mse": m, "best_val_mse": 0.6} for s, m in ((0, 0.30), (1, 0.32))]
    recs.append({**base, "model": "dlinear", "seed": 0, "mse": 0.35, "best_val_mse": 0.5})
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"records": recs}))

    def run(*args: str) -> tuple[int, str, str]:
        code = script.main([str(a) for a in args])
        return code, *capsys.readouterr()

    code, out, _ = run(path)
    assert code == 0
    test_table = out.split("Best validation")[0]
    assert "**0.3100 +- 0.0141**" in test_table and "0.3500 +- n/a (1 seed)" in test_table
    assert "**0.5000 +- n/a (1 seed)**" in out.split("Best validation")[1]
    # run as a script: an error is one line on stderr and a non-zero exit
    bad = subprocess.run([sys.executable, script.__file__, str(tmp_path / "missing.json")], capture_output=True,
                         text=True)
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "missing.json" in bad.stderr
    code, _, err = run(path, "linear,nope")
    assert code == 1 and "no records of nope" in err and err.count("\n") == 1

    # README blocks: --update fills them from the records, --check notices a hand edit, and an
    # unclosed block is refused instead of swallowing the text up to the next block's end
    block = "<!-- tables: results.json linear,dlinear -->\n<!-- /tables -->\n"
    readme = tmp_path / "README.md"
    readme.write_text("intro\n" + block + "middle\n" + block)
    assert run("--check", readme)[0] == 1
    assert run("--update", readme)[0] == 0 and run("--check", readme)[0] == 0
    text = readme.read_text()
    assert text.count("**0.3100 +- 0.0141**") == 2 and "middle" in text
    readme.write_text(text.replace("0.3100 +- 0.0141", "0.3000 +- 0.0141", 1))
    code, _, err = run("--check", readme)
    assert code == 1 and "tables differ" in err
    readme.write_text(text.replace("<!-- /tables -->", "", 1))
    code, _, err = run("--update", readme)
    assert code == 1 and "no closing" in err and "middle" in readme.read_text()


def test_readme_tables_keep_the_cells_named(tmp_path, capsys):
    script = benchmark_script("readme_tables")
    base = {"lookback": 512, "mae": 0.4, "params": 1, "model": "linear", "best_val_mse": 0.6}
    recs = [{**base, "dataset": d, "horizon": h, "seed": 0, "mse": m}
            for d, h, m in (("ETTh1", 96, 0.3), ("ETTh1", 192, 0.4), ("ETTh2", 96, 0.2))]
    (tmp_path / "results.json").write_text(json.dumps({"records": recs}))
    kept = script.tables("results.json", ["linear"], tmp_path, ["ETTh2-H96", "ETTh1-H96"])
    header = kept.splitlines()[2]
    assert header == "| variant | ETTh1 H96 | ETTh2 H96 |"  # one lookback: not named
    assert "0.3000" in kept and "0.2000" in kept and "0.4000" not in kept
    assert script.tables("results.json", ["linear"], tmp_path) != kept  # unfiltered: all three cells
    # in a README block, as a third word; a cell without records is an error
    readme = tmp_path / "README.md"
    readme.write_text("<!-- tables: results.json linear ETTh1-H192 -->\n<!-- /tables -->\n")
    assert script.main(["--update", str(readme)]) == 0
    assert "| variant | ETTh1 H192 |" in readme.read_text() and "ETTh2" not in readme.read_text().split("-->", 1)[1]
    assert script.main([str(tmp_path / "results.json"), "linear", "ETTh1-H720"]) == 1
    assert "no records in ETTh1-H720" in capsys.readouterr().err


def test_a_cell_ignores_the_settings_of_lr_schedules_it_does_not_use():
    from dynonet.config import PRESETS

    base = PRESETS["etth1-96"]
    settings = lambda **train: benchmark.cell_settings(base.replace(train=train).to_dict())  # noqa: E731
    assert settings(restart_epochs=5, plateau_factor=0.1) == settings()
    assert settings(schedule="restarts", restart_epochs=5) != settings(schedule="restarts")
    assert settings(schedule="plateau", plateau_factor=0.1) != settings(schedule="plateau")
    assert settings(schedule="plateau") != settings()
    assert settings(lr_decay=0.5, hold_epochs=0) == settings()
    assert settings(schedule="exponential", lr_decay=0.5) != settings(schedule="exponential")


def test_results_never_go_into_a_training_run_folder(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.json").write_text("{}")
    assert main([*GRID, "--variants", "repeat", "--seeds", "0", *SMALL, "--out", str(run)]) == 2
    printed = capsys.readouterr()
    assert "is the folder of a training run; choose another --out" in printed.err
    assert "no preset for H 8: those runs take the dataset's H96 preset's settings" in printed.out
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.json"]


def test_a_results_folder_that_cannot_be_written_is_refused_before_any_run(tmp_path, capsys, monkeypatch):
    import dynonet.benchmark

    def read_only(**_):
        raise PermissionError(13, "Read-only file system")

    trained = []
    monkeypatch.setattr(dynonet.benchmark.tempfile, "TemporaryFile", read_only)
    monkeypatch.setattr(dynonet.benchmark, "_run_plan", lambda *a: trained.append(a))
    (tmp_path / "ro").mkdir()
    assert main([*GRID, "--variants", "repeat", "--seeds", "0", *SMALL, "--out", str(tmp_path / "ro")]) == 2
    assert capsys.readouterr().err.strip().endswith("ro: cannot write there (Read-only file system)")
    assert trained == []


def test_a_flag_every_variant_sets_otherwise_is_refused_and_one_some_do_is_told(tmp_path, capsys):
    out = tmp_path / "grid"
    assert main([*GRID, "--variants", "holdout,frozen-holdout", "--controller-data", "val", *SMALL,
                 "--out", str(out)]) == 2
    assert ("--controller-data val: changes no run: variants 'holdout' (--controller-data holdout), 'frozen-holdout' "
            "(--controller-data holdout) set it otherwise") in capsys.readouterr().err
    assert not out.exists()
    assert main([*GRID, "--seeds", "0", "--variants", "dynonet,frozen-controller", "--controller-lr", "0.001",
                 *SMALL, "--out", str(out)]) == 0
    assert ("benchmark: --controller-lr 0.001 does not apply to variant 'frozen-controller' (--controller-lr 0.0)"
            in capsys.readouterr().out)
    lr = {r["model"]: r["config"]["train"]["controller_lr"] for r in records(out)}
    assert lr == {"dynonet": 0.001, "frozen-controller": 0.0}
    assert main([*GRID, "--seeds", "0", "--variants", "repeat", *SMALL, "--out", str(tmp_path / "r")]) == 0
    printed = capsys.readouterr().out  # a model's unread settings: told, the grid runs
    assert "benchmark: --worker-seq-len 16 does not apply to variant 'repeat' (not read)" in printed


def test_bad_data_leaves_no_results_folder(tmp_path, capsys):
    out = tmp_path / "a" / "b" / "grid"
    too_few = [a if a != "700" else "40" for a in SMALL]
    assert main([*GRID, "--variants", "repeat", *too_few, "--out", str(out)]) == 2
    assert "rows are too few" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()  # the folders this grid made, empty, are removed again


def test_a_cell_the_data_cannot_hold_fails_before_the_first_run(tmp_path, capsys):
    out = tmp_path / "grid"
    assert main(["benchmark", "--datasets", "ETTh1", "--horizons", "8,2000", "--seeds", "0", "--variants", "repeat",
                 *SMALL, "--out", str(out)]) == 2
    assert ("ETTh1: 700 rows are too few: the train split has 490 rows (line 2 to line 491), lookback 48 + "
            "horizon 2000 needs 2048") in capsys.readouterr().err
    assert not out.exists()  # no run of the H8 cell was made first
    assert main(["benchmark", "--datasets", "ETTh1", "--horizons", "8,90", "--seeds", "0", "--variants",
                 "repeat,holdout", *SMALL, "--val-fraction", "0.25", "--test-fraction", "0.15",
                 "--out", str(out)]) == 2  # the holdout's cut of the training rows too
    assert "training period of 420 rows is too short to hold out 20% for the controller with lookback 48 and " \
           "horizon 90" in capsys.readouterr().err
    assert not out.exists()


def test_kept_run_folders_are_not_written_over_unless_the_grid_resumes(tmp_path, capsys):
    grid = [*GRID, "--seeds", "0", "--variants", "linear", *SMALL, "--keep-runs", str(tmp_path / "kr")]
    assert main([*grid, "--out", str(tmp_path / "a")]) == 0
    kept = tmp_path / "kr" / "ETTh1-H8-L48-linear-seed0"
    assert (kept / "checkpoint.json").is_file()
    capsys.readouterr()
    assert main([*grid, "--out", str(tmp_path / "b")]) == 2
    assert capsys.readouterr().err == (f"dynonet: error: {kept}: holds a run already; choose another --keep-runs, "
                                       "or --resume the grid that wrote it\n")
    assert not (tmp_path / "b").exists()


def test_grid_arguments_that_cannot_make_a_table_are_refused_with_a_way_out(tmp_path, capsys):
    assert main([*GRID, "--variants", "linear", *SMALL, "--test-fraction", "0", "--out", str(tmp_path / "g")]) == 2
    assert "--test-fraction 0: a grid scores every run on its test split" in capsys.readouterr().err
    assert main([*GRID, "--variants", "no-lr-scale", *SMALL, "--out", str(tmp_path / "g")]) == 2
    assert "unknown variant 'no-lr-scale'; did you mean 'no-lr_scale'?" in capsys.readouterr().err
    assert main(["benchmark", "--datasets", "ETTh3", "--variants", "repeat", *SMALL, "--out", str(tmp_path / "g")]) == 2
    assert "unknown dataset 'ETTh3'; the grid runs ETTh1, ETTh2" in capsys.readouterr().err
    (tmp_path / "afile").write_text("x")
    assert main([*GRID, "--variants", "repeat", *SMALL, "--out", str(tmp_path / "afile")]) == 2
    assert "afile: is a file, not a folder" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()


def test_a_resumed_grid_continues_its_kept_interrupted_run_and_records_a_kept_finished_one(
        tmp_path, monkeypatch, capsys):
    import dynonet.runner

    kr = tmp_path / "kr"
    grid = [*GRID, "--seeds", "0", "--variants", "linear", *SMALL, "--epochs", "2", "--keep-runs", str(kr)]
    kept = kr / "ETTh1-H8-L48-linear-seed0"
    real_save = dynonet.runner.save_state

    def save_then_stop(*a, **kw):  # Ctrl-C right after the first epoch's state is saved
        real_save(*a, **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(dynonet.runner, "save_state", save_then_stop)
    assert main([*grid, "--out", str(tmp_path / "a")]) == 130
    assert "and continues the interrupted one" in capsys.readouterr().err
    assert (kept / "resume.safetensors").is_file() and not (tmp_path / "a" / "results.json").exists()
    monkeypatch.setattr(dynonet.runner, "save_state", real_save)

    real_train, resumed = dynonet.runner.train_run, []

    def spy(*a, **kw):
        resumed.append(kw.get("resume"))
        return real_train(*a, **kw)

    monkeypatch.setattr(dynonet.runner, "train_run", spy)
    assert main([*grid, "--out", str(tmp_path / "a"), "--resume"]) == 0
    assert resumed == [True]
    [rec] = records(tmp_path / "a")
    metrics = json.loads((kept / "metrics.json").read_text())
    assert metrics["resumed_after_epoch"] == 1 and rec["epochs"] == 2 and rec["mse"] == metrics["test"]["mse"]
    # the time printed is the time recorded
    assert f"(2 epochs, {rec['seconds']:.1f}s; the kept run, resumed)" in capsys.readouterr().out

    # the same run without the interruption scores the same
    assert main([*grid, "--out", str(tmp_path / "u"), "--keep-runs", str(tmp_path / "ku")]) == 0
    assert records(tmp_path / "u")[0]["mse"] == rec["mse"]

    # another grid resuming over the kept folder records its finished run without training it
    resumed.clear()
    capsys.readouterr()
    assert main([*grid, "--out", str(tmp_path / "b"), "--resume"]) == 0
    assert resumed == [] and "the kept run, not trained again" in capsys.readouterr().out
    assert records(tmp_path / "b")[0]["mse"] == rec["mse"]

    # a kept run of other settings is never written over: refused before any run
    assert main([*grid, "--epochs", "3", "--out", str(tmp_path / "c"), "--resume"]) == 2
    assert capsys.readouterr().err == (f"dynonet: error: {kept}: holds a finished run with other settings "
                                       "(train.epochs: 2 -> 3); remove it, or choose another --keep-runs\n")
    assert resumed == [] and not (tmp_path / "c" / "results.json").exists()
    # nor is one that cannot be read
    metrics.pop("timings")
    (kept / "metrics.json").write_text(json.dumps(metrics))
    assert main([*grid, "--out", str(tmp_path / "d"), "--resume"]) == 2
    assert capsys.readouterr().err == (f"dynonet: error: {kept}: holds a finished run that cannot be read (KeyError: "
                                       "'timings'); remove it, or choose another --keep-runs\n")
    assert resumed == [] and not (tmp_path / "d" / "results.json").exists()


def test_the_recorded_command_runs_the_grid_again(tmp_path, capsys):
    out, again = tmp_path / "g", tmp_path / "again"
    assert main([*GRID, "--variants", "repeat", *SMALL, "--interval-levels", "95,80", "--fixed-signals", "gate",
                 "--out", str(out)]) == 0
    command = records(out)[0]["command"]
    assert "--interval-levels 95,80" in command and "--fixed-signals gate" in command  # as given
    assert main([*shlex.split(command)[1:], "--out", str(again)]) == 0
    assert [r["mse"] for r in records(again)] == [r["mse"] for r in records(out)]


def test_a_grid_on_a_csv_starts_every_run_from_one_preset_and_records_the_file(tmp_path, capsys):
    """`--csv`: the grid reads the file as `dynonet train` does (its data flags too), every run
    starts from `--preset` (default: train's), and every row of a cell trains in batches of
    the size the CSV's training windows choose."""
    import pandas as pd

    from dynonet.data import bundled_path

    path = tmp_path / "mine.csv"
    pd.read_csv(bundled_path("ETTh1")).iloc[:700].to_csv(path, sep=";", index=False)
    out = tmp_path / "grid"
    grid = ["benchmark", "--csv", str(path), "--sep", ";", "--columns", "HUFL,OT", "--horizons", "8", "--seeds", "0,1",
            "--variants", "workers-only,linear,repeat", "--epochs", "1", "--lookback", "48", "--worker-seq-len", "16",
            "--worker-hidden", "6", "--device", "cpu", "--out", str(out)]
    assert main(grid) == 0
    # 490 training rows (70%) make 435 windows of 48 + 8 steps: 32 a batch makes 8 to 16 batches
    log = capsys.readouterr().out
    assert "batch size 32 on mine.csv H8 L48: chosen by its 435 training windows" in log
    assert re.search(r"^\[1/6\] mine\.csv H8 ", log, re.M)  # each run's line names the file, not its path
    recs = records(out)
    assert sorted((r["model"], r["seed"]) for r in recs) == sorted(
        (v, s) for v in ("workers-only", "linear", "repeat") for s in (0, 1))
    for r in recs:
        assert r["dataset"] == str(path) and r["preset"] == "quickstart" and r["mse"] is not None
        assert r["config"]["data"]["csv"] == str(path) and r["config"]["data"]["columns"] == ["HUFL", "OT"]
        assert r["config"]["train"]["batch_size"] == 32 and r["config"]["train"]["epochs"] == 1
    md = (out / "results.md").read_text()
    assert "| mine.csv H8 |" in md and f"- data: `mine.csv` is {path}\n" in md  # the column by the file's name
    assert "`quickstart` (`--preset`) on the CSV" in md
    assert "the CSV's rows, 70%/10%/20% in time" in md and "No published figures for" in md
    command = recs[0]["command"]
    assert "--preset quickstart" in command and f"--csv {path}" in command and "--datasets" not in command
    assert main([*grid, "--resume"]) == 0  # the same cells: the chosen batch size is the recorded one
    assert "6 runs planned, 6 already in" in capsys.readouterr().out


def test_a_csv_cell_the_holdout_cannot_hold_fails_before_the_first_run(tmp_path, capsys):
    """Each run of a CSV cell is checked, not only the first of the cell (here `repeat`, which
    holds nothing out, comes before `holdout`)."""
    import pandas as pd

    from dynonet.data import bundled_path

    path = tmp_path / "mine.csv"
    pd.read_csv(bundled_path("ETTh1")).iloc[:700].to_csv(path, index=False)
    out = tmp_path / "grid"
    assert main(["benchmark", "--csv", str(path), "--horizons", "90", "--seeds", "0", "--variants", "repeat,holdout",
                 "--lookback", "48", "--worker-seq-len", "16", "--controller-patch-len", "8", "--epochs", "1",
                 "--val-fraction", "0.25", "--test-fraction", "0.15", "--device", "cpu", "--out", str(out)]) == 2
    assert "training period of 420 rows is too short to hold out 20% for the controller with lookback 48 and " \
           "horizon 90" in capsys.readouterr().err
    assert not out.exists()
