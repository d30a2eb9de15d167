"""Config validation: a bad value is a ConfigError naming its flag, wherever the config comes from."""

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from dynonet.config import PRESETS, DataConfig, ModelConfig, RunConfig, TrainConfig
from dynonet.errors import ConfigError
from dynonet.registry import build_model

from conftest import benchmark_script

BASE = PRESETS["quickstart"]
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

BAD = [
    *[("model", name, 0) for name in (
        "lookback", "horizon", "worker_seq_len", "worker_hidden", "worker_layers", "context_dim",
        "controller_hidden", "controller_patch_len", "ma_kernel", "mixer_hidden", "patch_len", "patch_stride",
        "d_model", "n_heads", "n_layers", "d_ff")],
    ("model", "horizon", -3),
    ("model", "lookback", 2.5),  # a JSON config with a fractional int
    ("model", "controller", 1),
    ("model", "dropout", 2.0),
    ("model", "dropout", 0.7),
    ("model", "dropout", -0.1),
    ("model", "attn_dropout", 1.0),
    ("model", "film_scale", -0.1),
    ("model", "trend_input", "both"),
    ("model", "fixed_signals", ("noise",)),
    *[("train", name, 0) for name in ("epochs", "batch_size", "eval_batch_size", "patience", "restart_epochs",
                                      "plateau_patience")],
    ("train", "plateau_factor", 1.0),
    ("train", "plateau_factor", 0.0),
    ("train", "lr_decay", 1.0),
    ("train", "lr_decay", 0.0),
    ("train", "hold_epochs", -1),
    ("train", "schedule", "linear"),
    ("train", "ema_decay", 1.0),
    ("train", "ema_decay", -0.1),
    *[("train", name, -1.0) for name in ("lr", "weight_decay", "controller_lr", "controller_weight_decay")],
    ("train", "lr", float("nan")),
    ("train", "lr", "fast"),
    ("train", "holdout_fraction", 0.0),
    ("train", "holdout_fraction", 1.0),
    ("train", "min_lr_ratio", 1.5),
    ("train", "seed", -1),
    ("train", "controller_data", "test"),
    ("train", "device", "gpu"),
    ("data", "dataset", "ETTm1"),
    ("data", "test_fraction", 1.5),
    ("data", "test_fraction", -0.1),
    ("data", "val_fraction", 0.0),
    ("data", "val_fraction", 0.9),  # + test_fraction 0.2 leaves nothing to train on
    ("data", "max_rows", 0),
]


@pytest.mark.parametrize("section, name, value", BAD)
def test_bad_value_is_a_config_error_naming_the_flag(section, name, value):
    flag = "--" + name.replace("_", "-")
    with pytest.raises(ConfigError) as e:
        BASE.replace(**{section: {name: value}})
    assert flag in str(e.value) and "\n" not in str(e.value)
    d = BASE.to_dict()
    d[section][name] = value
    with pytest.raises(ConfigError, match=flag):  # a checkpoint or JSON record: the same check
        RunConfig.from_dict(d)


def test_fields_without_a_flag_are_named_as_fields():
    with pytest.raises(ConfigError, match=r"^n_channels must be 0 or more \(got -1\)$"):
        ModelConfig(n_channels=-1)


def test_message_says_what_is_allowed():
    with pytest.raises(ConfigError, match=r"^--batch-size must be a positive integer \(got 0\)$"):
        TrainConfig(batch_size=0)
    with pytest.raises(ConfigError, match=r"^unknown device 'gpu': --device must be one of auto, cpu, cuda$"):
        TrainConfig(device="gpu")


def test_edge_values_are_accepted_and_types_normalized():
    m = ModelConfig(n_channels=0, film_scale=0.0, attn_dropout=0.0, lookback=np.int64(64), fixed_signals=["film"],
                    controller=np.bool_(True))
    assert type(m.lookback) is int and m.fixed_signals == ("film",) and m.controller is True
    t = TrainConfig(lr=1, controller_lr=0.0, min_lr_ratio=1.0, seed=2**32 - 1)
    assert type(t.lr) is float
    with pytest.raises(ConfigError, match="--lr must be above 0"):  # it would train nothing
        TrainConfig(lr=0)
    assert DataConfig(test_fraction=0.0, val_fraction=0.5, max_rows=None).max_rows is None


def test_presets_and_recorded_configs_are_valid():
    assert all(isinstance(cfg, RunConfig) for cfg in PRESETS.values())  # built (and checked) at import
    # Old benchmark records and speed reports are read back with `from_dict`: they must still load.
    records = [r["config"] for f in BENCHMARKS.glob("**/results.json") for r in json.loads(f.read_text())["records"]]
    records += [json.loads(f.read_text())["config"] for f in BENCHMARKS.glob("speed-*.json")]
    assert records
    for d in records:
        RunConfig.from_dict(d)


def test_replace_revalidates():
    cfg = dataclasses.replace(ModelConfig(), n_channels=7)
    assert cfg.n_channels == 7
    with pytest.raises(ConfigError, match="--horizon"):
        dataclasses.replace(cfg, horizon=0)


def test_plateau_patience_must_leave_room_before_early_stopping():
    with pytest.raises(ConfigError, match="--plateau-patience must be below --patience"):
        TrainConfig(schedule="plateau", plateau_patience=5, patience=5)
    TrainConfig(schedule="cosine", plateau_patience=5, patience=5)  # read only by the plateau schedule



# -- the presets are what validation picks -----------------------------------------------------
def _select_presets():
    return benchmark_script("select_presets")


def test_presets_are_what_validation_picks_from_the_recorded_runs(capsys):
    assert _select_presets().main(["--check"]) == 0, capsys.readouterr().err


def test_the_candidates_test_mse_is_shown_only_when_asked(capsys):
    select = _select_presets()
    assert select.main([]) == 0
    listed = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(("   ", " * "))]
    assert listed and not any(re.search(r"\d\.\d{4} / \d\.\d{4}", ln) for ln in listed)
    assert select.main(["--test"]) == 0
    listed = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(("   ", " * "))]
    assert listed and all(re.search(r"^ . \d\.\d{4} / \d\.\d{4} ", ln) for ln in listed)


def test_selection_reads_validation_never_test(tmp_path):
    select = _select_presets()
    base = PRESETS["etth1-96"]

    def run(seed, val, test, **model):
        cfg = base.replace(model={"n_channels": 7, **model}, train={"seed": seed})
        # `params`: what the run had; the selection counts the model the settings build now
        return {"model": "workers-only", "dataset": "ETTh1", "horizon": 96, "seed": seed, "best_val_mse": val,
                "mse": test, "params": 1, "config": cfg.to_dict()}

    records = ([run(s, 0.70, 0.30) for s in range(3)]  # the best test MSE: not picked for it
               + [run(s, 0.60, 0.50, worker_hidden=8) for s in range(3)]  # the lowest validation MSE
               + [run(s, 0.50, 0.40, worker_hidden=64) for s in range(3)]  # lower, but over 100K
               + [run(s, 0.40, 0.40, worker_seq_len=64) for s in range(2)])  # only seeds 0-1
    (tmp_path / "grid").mkdir()
    (tmp_path / "grid" / "results.json").write_text(json.dumps({"records": records}))
    entries = select.candidates(tmp_path)[("ETTh1", 96)]
    assert len(entries) == 3 and [e["val"] for e in entries] == pytest.approx([0.5, 0.6, 0.7])
    assert [e["params"] for e in entries] == [
        build_model(dataclasses.replace(base.model, n_channels=7, worker_hidden=w)).param_counts()["total"]
        for w in (64, 8, 16)]
    assert entries[0]["params"] > 100_000 > entries[2]["params"] > entries[1]["params"]
    assert select.pick(entries)["settings"]["model"]["worker_hidden"] == 8
    # where no candidate is within 100K parameters, the lowest validation MSE of all
    assert select.pick([e for e in entries if e["params"] > 100_000])["settings"]["model"]["worker_hidden"] == 64
    # on equal validation MSE (the same model), the fewer parameters
    tie = [{**entries[1], "params": 90_000, "tag": "big"}, {**entries[1], "params": 80_000, "tag": "small"}]
    assert select.pick(tie)["tag"] == "small" and select.lowest(tie)["tag"] == "small"
    # one standard error: within one SE of the lowest mean, the smallest; beyond it, not
    near = [{**entries[0], "val": 0.600, "val_std": 0.0173, "params": 90_000, "tag": "best"},
            {**entries[0], "val": 0.609, "params": 70_000, "tag": "within"},
            {**entries[0], "val": 0.611, "params": 50_000, "tag": "beyond"}]  # SE = 0.0173 / sqrt(3) = 0.0100
    assert select.pick(near)["tag"] == "within" and select.lowest(near)["tag"] == "best"
    # with no seed noise on the best, only its equals are within reach
    assert select.pick([{**near[0], "val_std": 0.0}, near[1]])["tag"] == "best"
    # and of equal size, the fewer settings away from the defaults, even with a higher mean
    plain = entries[1]
    departing = {**plain, "settings": {**plain["settings"], "train": {**plain["settings"]["train"], "loss": "mae"}}}
    assert select.departures(departing["settings"]) == select.departures(plain["settings"]) + 1
    assert select.pick([departing, plain]) is plain and select.pick([plain, departing]) is plain
    lower = {**departing, "val": plain["val"] - 0.005, "val_std": 0.02}  # SE 0.0115: plain is within it
    assert select.lowest([lower, plain]) is lower and select.pick([lower, plain]) is plain
    # the same seed and settings recorded twice: a copy counts once, another result is refused
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "results.json").write_text(json.dumps({"records": records[:3]}))
    assert len(select.candidates(tmp_path)[("ETTh1", 96)]) == 3
    # as does a rerun that reproduced it (another CPU's float sums), the earlier record standing
    dated = [{**r, "date": "2026-11-30T12:00:00"} for r in records]
    (tmp_path / "grid" / "results.json").write_text(json.dumps({"records": dated}))
    first = {e["val"] for e in select.candidates(tmp_path / "grid")[("ETTh1", 96)]}
    for date, stands in (("2026-12-02T08:00:00", True), ("2026-11-29T08:00:00", False)):
        rerun = {**dated[0], "best_val_mse": dated[0]["best_val_mse"] * (1 + 1e-4), "date": date}
        (tmp_path / "copy" / "results.json").write_text(json.dumps({"records": [rerun]}))
        again = {e["val"] for e in select.candidates(tmp_path)[("ETTh1", 96)]}
        assert len(again) == 3 and (again == first) == stands
    (tmp_path / "copy" / "results.json").write_text(json.dumps({"records": [{**records[0], "best_val_mse": 0.71}]}))
    with pytest.raises(SystemExit, match="seed 0 is recorded twice with the same settings and different results"):
        select.candidates(tmp_path)
    (tmp_path / "copy" / "results.json").unlink()
    # runs of other rows or splits, or of a horizon with no preset, are no candidates
    records = [{**r, "config": base.replace(data={"max_rows": 3000}, train={"seed": r["seed"]}).to_dict()}
               for r in records] + [{**r, "horizon": 48} for r in records]
    (tmp_path / "grid" / "results.json").write_text(json.dumps({"records": records}))
    assert select.candidates(tmp_path) == {}


@pytest.mark.parametrize("typed", ["\t", "\\t", "tab"])
def test_a_tab_separator_is_taken_as_typed(typed):
    assert DataConfig(sep=typed).sep == "\t"  # `--sep '\t'` in a shell passes a backslash and a t
    with pytest.raises(ConfigError, match=r"--sep must be one character"):
        DataConfig(sep="\\n")


def test_a_run_on_a_csv_names_no_bundled_dataset():
    assert DataConfig().dataset == "ETTh1" and DataConfig(csv="data.csv").dataset is None
    assert PRESETS["etth2-96"].replace(data={"csv": "data.csv"}).data.dataset is None  # a preset on one's own file
    # a run folder of an earlier version recorded the default beside its CSV: read as this version writes it
    assert RunConfig.from_dict({**RunConfig().to_dict(), "data": {"dataset": "ETTh1", "csv": "d.csv"}}).data.dataset \
        is None
