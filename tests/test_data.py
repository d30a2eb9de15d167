import re

import numpy as np
import pandas as pd
import pytest
import torch

from dynonet.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from dynonet.data import ETT_BORDERS, bundled_path, from_table, load, split_rows, split_windows, window_sets
from dynonet.errors import DataError

from conftest import good_csv, write


def ett_cfg(L=512, H=96, dataset="ETTh1", **train):
    return RunConfig(ModelConfig(lookback=L, horizon=H), TrainConfig(**train), DataConfig(dataset=dataset))


@pytest.mark.parametrize("dataset", ["ETTh1", "ETTh2"])
def test_bundled_files_are_unmodified(dataset):
    import hashlib

    digest = hashlib.sha256(bundled_path(dataset).read_bytes()).hexdigest()
    readme = (bundled_path(dataset).parent / "README.md").read_text()
    assert digest in readme and "CC BY-ND 4.0" in readme


def test_a_built_wheel_ships_the_data_its_license_note_and_the_type_hints(tmp_path):
    """An install that is not editable reads the bundled files from the wheel: they must be in it."""
    import shutil
    import subprocess
    import sys
    import zipfile

    root = bundled_path("ETTh1").parents[2]
    if not (root / "pyproject.toml").is_file():
        pytest.skip("dynonet is installed from a wheel here, not from its sources")
    src = tmp_path / "src"  # a copy: building writes build/ and egg-info beside the sources
    shutil.copytree(root / "dynonet", src / "dynonet", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(root / "pyproject.toml", src)
    shutil.copy(root / "README.md", src)
    # the build backend is this environment's setuptools (the test extras pin one that builds wheels): no download
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                            "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("dynonet-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"dynonet/datasets/ETTh1.csv", "dynonet/datasets/ETTh2.csv", "dynonet/datasets/README.md",
            "dynonet/py.typed", "dynonet/cli.py"} <= names
    assert zipfile.ZipFile(wheel).read("dynonet/datasets/ETTh1.csv") == bundled_path("ETTh1").read_bytes()


@pytest.mark.parametrize("L", [96, 512])
def test_ett_borders_and_train_only_scaler(L):
    data = load(ett_cfg(L=L))
    assert data.splits == {"train": (0, 8640), "val": (8640 - L, 11520), "test": (11520 - L, 14400)}
    raw = pd.read_csv(bundled_path("ETTh1")).iloc[:8640, 1:].to_numpy()
    assert np.allclose(data.scaler.mean, raw.mean(0)) and np.allclose(data.scaler.std, raw.std(0))
    assert np.allclose(data.values[:8640].mean(0), 0, atol=1e-4)
    assert data.columns == ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]


def test_windows_are_the_right_slices_and_every_window_is_kept():
    data = load(ett_cfg())
    sets, test = window_sets(data, ett_cfg(), torch.device("cpu")), split_windows(data, ett_cfg(), torch.device("cpu"), "test")
    assert set(sets) == {"train", "controller", "val"}  # what training may read: never the test windows
    assert len(sets["val"]) == 11520 - (8640 - 512) - 512 - 96 + 1
    assert len(test) == 14400 - (11520 - 512) - 512 - 96 + 1
    x, y = test.get(torch.tensor([0, len(test) - 1]))
    series = torch.as_tensor(data.values)
    assert torch.equal(x[0], series[11520 - 512 : 11520]) and torch.equal(y[0], series[11520 : 11520 + 96])
    assert torch.equal(y[1][-1], series[14399])  # last test window ends on the last test row
    n = sum(b[0].shape[0] for b in test.batches(1000))
    assert n == len(test)  # last partial batch kept


def test_no_test_windows_without_a_test_split(tmp_path):
    csv = write(tmp_path, good_csv(200))
    cfg = RunConfig(ModelConfig(lookback=20, horizon=5), TrainConfig(), DataConfig(csv=str(csv), test_fraction=0.0))
    assert split_windows(load(cfg), cfg, torch.device("cpu"), "test") is None
    with_test = cfg.replace(data={"test_fraction": 0.2})
    assert len(split_windows(load(with_test), with_test, torch.device("cpu"), "test")) == 40 - 5 + 1


@pytest.mark.parametrize("mode", ["val", "holdout"])
def test_no_test_row_reaches_training_or_controller(mode):
    L, H = 512, 96
    cfg = ett_cfg(L=L, H=H, controller_data=mode)
    data = load(cfg)
    # Mark rows by their index so a window reveals which rows it read.
    data.values = np.arange(len(data.values), dtype=np.float32)[:, None].repeat(7, 1)
    sets = window_sets(data, cfg, torch.device("cpu"))
    test_start = ETT_BORDERS[1]
    for name in ("train", "controller"):
        x, y = sets[name].get(torch.arange(len(sets[name])))
        assert y.max() < test_start, name
        if mode == "holdout":
            assert (y.max() < ETT_BORDERS[0]) , name
    if mode == "holdout":
        _, ytr = sets["train"].get(torch.arange(len(sets["train"])))
        xc, yc = sets["controller"].get(torch.arange(len(sets["controller"])))
        assert ytr.max() < yc.min()  # worker targets never overlap the controller's holdout targets


@pytest.mark.parametrize("n_hold, windows", [(96, 1), (95, 0)])
def test_the_smallest_holdout_holds_one_window(n_hold, windows):
    cfg = ett_cfg(L=512, H=96, controller_data="holdout").replace(train={"holdout_fraction": n_hold / 8640})
    if windows == 0:
        with pytest.raises(DataError, match="too short to hold out"):
            window_sets(load(cfg), cfg, torch.device("cpu"))
        return
    sets = window_sets(load(cfg), cfg, torch.device("cpu"))
    assert len(sets["controller"]) == windows and len(sets["train"]) == 8640 - n_hold - 512 - 96 + 1


def test_nothing_is_held_out_for_a_model_without_a_controller():
    cfg = ett_cfg(L=512, H=96, controller_data="holdout")
    data = load(cfg)
    plain = window_sets(data, cfg.replace(train={"controller_data": "val"}), torch.device("cpu"))
    held = window_sets(data, cfg, torch.device("cpu"))
    unheld = window_sets(data, cfg, torch.device("cpu"), controller=False)
    assert len(held["train"]) < len(plain["train"]) == len(unheld["train"])
    assert unheld["controller"] is unheld["val"]


def test_series_too_short_for_lookback_and_horizon(tmp_path):
    path = write(tmp_path, good_csv(100))
    cfg = RunConfig(ModelConfig(lookback=64, horizon=24), TrainConfig(), DataConfig(csv=str(path)))
    # the split named by the file's lines, as every other CSV error is
    expected = "too few: the train split has 70 rows \\(line 2 to line 71\\), lookback 64 \\+ horizon 24"
    with pytest.raises(DataError, match=expected):
        load(cfg)


@pytest.mark.parametrize("rows, lookback, horizon, test_fraction", [(200, 96, 24, 0.0), (200, 96, 24, 0.2),
                                                                    (100, 64, 24, 0.2), (1, 8, 4, 0.2),
                                                                    (300, 512, 24, 0.2)])
def test_too_few_rows_are_told_the_fewest_that_are_enough(rows, lookback, horizon, test_fraction):
    kw = dict(ett=False, val_fraction=0.1, test_fraction=test_fraction, source="x.csv")
    with pytest.raises(DataError, match=r"\(with these settings (\d+) rows are enough(, or a (lookback of at most "
                                        r"(\d+), shorter for more windows|shorter horizon))?\)$") as e:
        split_rows(rows, lookback, horizon, **kw)
    enough = int(re.search(r"settings (\d+) rows are enough", str(e.value))[1])
    split_rows(enough, lookback, horizon, **kw)  # enough
    for fewer in range(rows, enough):  # and the fewest
        with pytest.raises(DataError):
            split_rows(fewer, lookback, horizon, **kw)
    assert ("1 row is too few: the train split has 1 row " in str(e.value)) == (rows == 1)
    if fits := re.search(r"lookback of at most (\d+)", str(e.value)):  # the longest lookback that fits these rows
        split_rows(rows, int(fits[1]), horizon, **kw)
        with pytest.raises(DataError):
            split_rows(rows, int(fits[1]) + 1, horizon, **kw)
    else:  # none does: a split shorter than the horizon
        with pytest.raises(DataError):
            split_rows(rows, 1, horizon, **kw)
        if "shorter horizon" in str(e.value):  # one that does
            split_rows(rows, 1, 1, **kw)
        else:  # none: only more rows (one row)
            with pytest.raises(DataError):
                split_rows(rows, 1, 1, **kw)


def test_a_value_too_far_out_for_float32_is_named_by_line_and_column(tmp_path):
    # fine as a float64 number, but ~1e29 training standard deviations out: its square overflows float32
    path = write(tmp_path, good_csv(1000).replace("\n2020-02-07 12:00:00,900,", "\n2020-02-07 12:00:00,1e30,"))
    with pytest.raises(DataError) as e:
        load(RunConfig(ModelConfig(lookback=20, horizon=5), TrainConfig(), DataConfig(csv=str(path))))
    assert "line 902, column 'a': 1e+30 lies" in str(e.value) and str(path) in str(e.value)


def test_training_values_too_large_for_their_std_are_named_by_column(tmp_path):
    # 1e160 is a float64 number whose square is not: the std would be inf, every forecast NaN
    path = write(tmp_path, good_csv(1000).replace("\n2020-01-01 05:00:00,5,", "\n2020-01-01 05:00:00,1e160,"))
    with pytest.raises(DataError, match=r"column 'a': its training values \(up to 1e\+160\) are too large for their "
                                        r"mean and standard deviation in float64; rescale the column"):
        load(RunConfig(ModelConfig(lookback=20, horizon=5), TrainConfig(), DataConfig(csv=str(path))))


def test_series_whose_training_rows_make_their_standardized_scores_mislead_are_noted():
    rng = np.random.default_rng(0)
    n = 400
    values = {"plain": np.sin(np.arange(n) / 3) + rng.normal(0, 0.1, n), "flat": np.full(n, 2.0),
              "near": np.full(n, 5.0), "spiky": np.sin(np.arange(n) / 3), "rare": np.zeros(n)}
    values["near"][10] = 5.000001
    values["spiky"][[20, 90, 150]] = [1e4, -1e4, 1e4]
    values["rare"][::37] = 3.0  # intermittent: mostly zeros, no typical deviation to compare with
    values["count"] = 1.7e9 + np.arange(n)  # a count near 1e9: tiny against its level, but it varies
    hours = np.arange(n) % 24
    values["peaks"] = np.where((hours >= 8) & (hours < 18), 50.0, 2.0) + rng.normal(0, 0.2, n)  # two regimes
    values["shift"] = np.where(np.arange(n) < 150, 0.0, 10.0) + rng.normal(0, 0.1, n)  # a level shift
    cfg = RunConfig(ModelConfig(lookback=20, horizon=5), TrainConfig(), DataConfig(csv="d.csv"))
    data = from_table(cfg, pd.date_range("2020-01-01", periods=n, freq="D"), list(values),
                      np.stack(list(values.values()), axis=1), source="d.csv")
    notes = data.scale_notes()
    assert [note.split("'")[1] for note in notes] == ["flat", "near", "spiky"], notes
    assert "constant over the training rows (scaled with std 1)" in notes[0]
    std = {c: f"{np.std(v[: data.splits['train'][1]]):.3g}" for c, v in values.items()}  # in the series' units
    assert f"barely varies over the training rows (std {std['near']} around 5)" in notes[1]
    assert notes[2].startswith(f"series 'spiky' has 3 training values far from its others (its std {std['spiky']} is ")
    assert load(ett_cfg()).scale_notes() == [] and load(ett_cfg(dataset="ETTh2")).scale_notes() == []


def test_csv_split_is_70_10_20_with_lookback_overlap(tmp_path):
    path = write(tmp_path, good_csv(1000))
    data = load(RunConfig(ModelConfig(lookback=20, horizon=5), TrainConfig(), DataConfig(csv=str(path))))
    assert data.splits == {"train": (0, 700), "val": (680, 800), "test": (780, 1000)}
    assert data.freq == "h"


# -- evenly spaced rows ------------------------------------------------------------------------
@pytest.mark.parametrize("dataset", ["ETTh1", "ETTh2"])
def test_bundled_data_is_evenly_spaced_hourly(dataset):
    data = load(ett_cfg(dataset=dataset))
    assert data.freq == "h" and len(data.dates) == 17420
    assert (np.diff(data.dates.asi8) == np.diff(data.dates.asi8)[0]).all()
