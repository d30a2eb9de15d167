"""dynonet.forecaster: the DataFrame front end (fit / predict / save / load) and its errors."""

from __future__ import annotations

import doctest
import json
import random
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import dynonet.forecaster
from dynonet.checkpoint import META, TENSORS, WEIGHTS
from dynonet.config import PRESETS
from dynonet.errors import CheckpointError, ConfigError, DataError, TrainingError
from dynonet.forecaster import DynoNetForecaster

L, H = 32, 8
TINY = dict(worker_hidden=4, context_dim=4, mixer_hidden=4, batch_size=512, epochs=1)
TINY_LINEAR = dict(batch_size=512, epochs=1)  # a linear model reads none of the workers' settings


def make_wide(n: int = 200, start: str = "2024-01-01", freq: str = "h") -> pd.DataFrame:
    t = np.arange(n)
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"load": 1000 + 50 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1, n),
         "temp": -5 + np.cos(2 * np.pi * t / 24) + 0.01 * t},
        index=pd.date_range(start, periods=n, freq=freq, name="date"),
    )


def to_long(wide: pd.DataFrame, ids: dict[str, object] | None = None) -> pd.DataFrame:
    long = wide.rename_axis(index="ds", columns="unique_id").stack().rename("y").reset_index()
    if ids:
        long["unique_id"] = long["unique_id"].map(ids)
    return long.sample(frac=1.0, random_state=0).reset_index(drop=True)  # order does not matter


@pytest.fixture(scope="module")
def wide() -> pd.DataFrame:
    return make_wide()


@pytest.fixture(scope="module")
def fitted(wide: pd.DataFrame) -> DynoNetForecaster:
    return DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(wide)


# -- configuration ---------------------------------------------------------------------------
def test_defaults_come_from_the_preset_and_overrides_map_to_fields():
    base = PRESETS["quickstart"]
    f = DynoNetForecaster()
    cfg = f.config
    assert (cfg.model.horizon, cfg.model.lookback, cfg.model.model) == (24, 96, "dynonet")
    assert cfg.train.epochs == base.train.epochs and cfg.train.lr == base.train.lr
    assert cfg.data.test_fraction == 0.0
    g = DynoNetForecaster(horizon=8, lookback=32, epochs=3, worker_hidden=7, patience=2, val_fraction=0.25,
                          fixed_signals="film,gate", controller=True)
    assert g.config.model.worker_hidden == 7 and g.config.train.patience == 2
    assert g.config.train.epochs == 3 and g.config.data.val_fraction == 0.25
    assert g.config.model.fixed_signals == ("film", "gate")
    assert g.config.model.worker_seq_len == 32  # capped at the lookback


def test_unknown_or_reserved_settings_are_config_errors():
    with pytest.raises(ConfigError, match="did you mean 'worker_hidden'"):
        DynoNetForecaster(worker_hiden=4)
    with pytest.raises(ConfigError, match="n_channels"):
        DynoNetForecaster(n_channels=3)
    # the command line's own flags say what they are here
    with pytest.raises(ConfigError, match=r"^no setting 'out' here: save\(path\) writes the run folder$"):
        DynoNetForecaster(out="run/")
    with pytest.raises(ConfigError, match=r"^no setting 'csv' here: fit takes a DataFrame: pd.read_csv"):
        DynoNetForecaster(csv="data.csv")
    with pytest.raises(ConfigError, match="horizon"):
        DynoNetForecaster(horizon=0)
    # settings as other libraries name them are told this API's name
    with pytest.raises(ConfigError, match=r"^no setting 'h' here: horizon=12 sets the steps to forecast$"):
        DynoNetForecaster(h=12)
    with pytest.raises(ConfigError, match=r"^no setting 'random_state' here: seed=3 seeds everything the fit draws$"):
        DynoNetForecaster(random_state=3)
    with pytest.raises(ConfigError, match=r"^unknown setting 'zzz' \(every setting: `dynonet train --help`, as "
                                          r"keywords without the dashes\)$"):
        DynoNetForecaster(zzz=1)


def test_the_package_names_the_api_and_its_errors_which_are_value_errors():
    import dynonet

    assert {"DynoNetForecaster", "DataError", "ConfigError", "DynoNetError"} <= set(dir(dynonet))
    assert set(dynonet.__all__) <= set(dir(dynonet)) and dynonet.DynoNetForecaster is DynoNetForecaster
    with pytest.raises(ValueError, match="horizon must be a positive integer"):
        DynoNetForecaster(horizon=-1)
    with pytest.raises(ValueError, match="expected a pandas DataFrame, got ndarray"):
        DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(np.zeros((100, 2)))
    with pytest.raises(ValueError, match=r"expected a pandas DataFrame, got Series \(s.to_frame\(\) makes a Series one\)$"):
        DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(pd.Series([1.0, 2.0]))


def test_repr_shows_the_settings_that_differ():
    assert repr(DynoNetForecaster()) == "DynoNetForecaster(horizon=24, lookback=96, model='dynonet')"
    f = DynoNetForecaster(horizon=12, lookback=48, epochs=2, worker_hidden=8, loss="mae")
    assert repr(f) == ("DynoNetForecaster(horizon=12, lookback=48, model='dynonet', worker_hidden=8, epochs=2, "
                       "loss='mae')")
    # the named arguments alone could not run (a patch longer than the lookback): repr still works
    p = DynoNetForecaster(horizon=4, lookback=8, model="patchtst", patch_len=4, patch_stride=4)
    assert repr(p).startswith("DynoNetForecaster(horizon=4, lookback=8, model='patchtst', patch_len=4")


def test_load_names_a_bad_device_as_the_api_does(tmp_path):
    with pytest.raises(ConfigError, match="^device='gpu': choose auto, cpu or cuda$"):
        DynoNetForecaster.load(tmp_path, device="gpu")


@pytest.mark.parametrize("settings, message", [
    ({"batch_size": 0}, "batch_size must be a positive integer (got 0)"),
    ({"worker_seq_len": 200}, "worker_seq_len=200 exceeds lookback=96; set worker_seq_len to 96 or less"),
    ({"model": "patchtst", "patch_len": 300}, "patch_len=300 exceeds lookback=96; set patch_len to 96 or less"),
    ({"model": "patchtst", "lookback": 8}, "patch_len=16 exceeds lookback=8; set patch_len to 8 or less"),  # default
    ({"device": "--gpu"}, "unknown device '--gpu': device must be one of auto, cpu, cuda"),  # a value is kept as given
])
def test_bad_settings_are_named_as_keyword_arguments_not_cli_flags(settings, message):
    with pytest.raises(ConfigError) as e:
        DynoNetForecaster(**settings)
    assert str(e.value) == message


def test_fit_gives_the_caller_its_random_streams_back(wide):
    random.seed(7), np.random.seed(7), torch.manual_seed(7)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(7), np.random.seed(7), torch.manual_seed(7)
    DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(wide)  # seeds everything with its own seed inside
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_a_diverged_fit_names_the_keyword_to_change(wide):
    with pytest.raises(TrainingError) as e:
        DynoNetForecaster(horizon=H, lookback=L, **{**TINY, "lr": 1e30}).fit(wide)
    assert str(e.value).endswith("training diverged; lower lr")
    assert e.value.run["epochs_run"] == 0 and e.value.run["params"]["total"] > 0


def test_not_fitted(tmp_path):
    from dynonet import NotFittedError

    for use in (lambda f: f.predict(make_wide()), lambda f: f.save(tmp_path / "run"), lambda f: f.columns_):
        with pytest.raises(NotFittedError, match="not fitted yet: call fit"):
            use(DynoNetForecaster())
    assert issubclass(NotFittedError, ValueError) and not issubclass(NotFittedError, ConfigError)
    assert not (tmp_path / "run").exists()


# -- fit / predict ---------------------------------------------------------------------------
def test_predict_shape_timestamps_and_original_units(fitted, wide):
    fc = fitted.predict(wide)
    assert list(fc.columns) == ["load", "temp"]
    expected = pd.date_range(wide.index[-1], periods=H + 1, freq="h")[1:]
    assert fc.index.equals(expected) and fc.index.name == "date" and fc.index.freq == "h"
    assert fitted.freq_ == "h" and fitted.columns_ == ["load", "temp"]
    assert np.isfinite(fc.to_numpy()).all()
    # original units: the "load" series lives around 1000, the standardized scale around 0
    assert 800 < fc["load"].mean() < 1200
    assert -10 < fc["temp"].mean() < 5


def test_predict_matches_the_scaled_model_by_hand(fitted, wide):
    import torch

    scaler = dynonet.forecaster.Scaler.from_dict(fitted.meta_["scaler"])
    x = torch.as_tensor(scaler.transform(wide.to_numpy()[-L:]), dtype=torch.float32)[None]
    with torch.no_grad():
        y = fitted.model_(x)[0].double().numpy()
    np.testing.assert_allclose(fitted.predict(wide).to_numpy(), scaler.inverse(y), rtol=1e-6)


def test_a_step_count_for_predict_is_told_that_the_horizon_is_the_models(fitted):
    for steps in (6, 6.0, np.int64(6)):  # predict(n), as some libraries take it
        with pytest.raises(DataError, match=rf"got {type(steps).__name__}: predict\(\) forecasts the model's horizon, "
                                            rf"{H} steps, set when it is made \(DynoNetForecaster\(horizon=...\)\); "
                                            r"pass the recent data: predict\(df\)$"):
            fitted.predict(steps)


def test_only_the_last_lookback_rows_matter_and_column_order_is_free(fitted, wide):
    full = fitted.predict(wide)
    pd.testing.assert_frame_equal(fitted.predict(wide.iloc[-L:]), full)
    pd.testing.assert_frame_equal(fitted.predict(wide[["temp", "load"]]), full)
    with_column = wide.reset_index()  # a "date" column instead of a DatetimeIndex
    pd.testing.assert_frame_equal(fitted.predict(with_column), full)


def test_long_in_long_out(fitted, wide):
    long = to_long(wide.iloc[-50:])
    out = fitted.predict(long)
    # the forecast named by the model, as neuralforecast names it: `y` holds actual values
    assert list(out.columns) == ["unique_id", "ds", "DynoNet"]
    assert out["unique_id"].tolist() == ["load"] * H + ["temp"] * H
    wide_fc = fitted.predict(wide)
    np.testing.assert_allclose(out.loc[out.unique_id == "load", "DynoNet"], wide_fc["load"])
    assert pd.DatetimeIndex(out.loc[out.unique_id == "temp", "ds"]).equals(wide_fc.index.rename("ds"))


def test_long_ids_come_back_as_given_so_the_forecasts_merge_onto_the_data(fitted, wide):
    long = to_long(wide.iloc[-50:], {"load": "load ", "temp": " temp"})  # blanks around: one series to a reader
    out = fitted.predict(long)
    assert out["unique_id"].tolist() == ["load "] * H + [" temp"] * H  # in the run's order, as without the blanks
    pd.testing.assert_series_equal(out["DynoNet"], fitted.predict(to_long(wide.iloc[-50:]))["DynoNet"])
    data = to_long(make_wide(260).iloc[200 - L:], {"load": "load ", "temp": " temp"})
    bt = fitted.backtest(data)
    merged = bt.merge(data, on=["unique_id", "ds"], suffixes=("", "_data"))  # every row finds its own
    assert len(bt) and len(merged) == len(bt) and (merged["y"] == merged["y_data"]).all()


def test_a_long_frame_with_unique_id_as_its_index_is_told_to_reset_it(fitted, wide):
    long = to_long(wide.iloc[-50:]).set_index("unique_id")
    message = r"^(recent data|DataFrame): the long format with unique_id as the index: df\.reset_index\(\) makes it "
    with pytest.raises(DataError, match=message):
        fitted.predict(long)
    with pytest.raises(DataError, match=message):
        DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(long)


def test_long_forecasts_are_named_by_the_models_class():
    long = to_long(make_wide(180))
    f = DynoNetForecaster(horizon=H, lookback=L, model="linear", **TINY_LINEAR).fit(long)
    assert list(f.predict(long, level=80).columns) == ["unique_id", "ds", "RevINLinear", "RevINLinear-lo-80",
                                                       "RevINLinear-hi-80"]


def test_fit_on_long_format_with_integer_ids():
    wide = make_wide(180).rename(columns={"load": "10", "temp": "2"})
    long = to_long(wide, {"10": 10, "2": 2})
    f = DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(long)
    assert f.columns_ == ["2", "10"]
    out = f.predict(long)
    assert out["unique_id"].tolist() == [2] * H + [10] * H
    assert np.isfinite(out["DynoNet"]).all()


def test_test_fraction_gives_test_scores(fitted):
    assert fitted.metrics_["test"] is None and "test" not in fitted.meta_["splits"]  # default: fit on all rows
    assert fitted.metrics_["argv"] is None  # the host's (pytest's) arguments are not the run's
    f = DynoNetForecaster(horizon=H, lookback=L, model="linear", test_fraction=0.2, **TINY_LINEAR).fit(make_wide(300))
    assert f.metrics_["test"]["windows"] > 0 and np.isfinite(f.metrics_["test"]["mse"])
    assert "test" in f.meta_["splits"]


def test_dates_outside_the_nanosecond_range_train_and_forecast():
    old = make_wide(150, "1659-01-01", "MS")  # as the Central England temperature record starts
    model = DynoNetForecaster(horizon=H, lookback=L, model="linear", **TINY_LINEAR).fit(old)
    assert len(model.meta_["data_sha256"]) == 64 and model.predict(old).index[0] == pd.Timestamp("1671-07-01")


def test_daily_frequency_is_kept():
    f = DynoNetForecaster(horizon=H, lookback=L, model="dlinear", **TINY_LINEAR).fit(make_wide(150, "2020-01-01", "D"))
    fc = f.predict(make_wide(150, "2020-01-01", "D"))
    assert f.freq_ == "D" and str(fc.index[0]) == "2020-05-30 00:00:00"


def test_semi_monthly_dates_forecast_on_the_1st_and_15th():
    wide = make_wide(150, "2001-01-01", "SMS")
    fc = DynoNetForecaster(horizon=H, lookback=L, model="linear", **TINY_LINEAR).fit(wide).predict(wide)
    assert fc.index.equals(pd.date_range(wide.index[-1], periods=H + 1, freq="SMS")[1:])
    assert {d.day for d in fc.index} == {1, 15}


def test_whole_number_dates_are_read_as_a_csv_reads_them_not_as_nanoseconds():
    wide = make_wide(150)
    seconds = wide.reset_index().assign(date=(wide.index - pd.Timestamp(0)) // pd.Timedelta(seconds=1))
    model = DynoNetForecaster(horizon=H, lookback=L, model="linear", **TINY_LINEAR)
    with pytest.raises(DataError, match=r"row 0: cannot parse date '1704067200' in column 'date' \(Unix time in "
                                        r"seconds\? train with date_format='%s'\)"):
        model.fit(seconds)
    fc = DynoNetForecaster(horizon=H, lookback=L, model="linear", date_format="%s", **TINY_LINEAR).fit(seconds).predict(seconds)
    # numbers in, numbers out, as `dynonet predict` writes them
    assert fc.index.tolist() == (seconds["date"].iloc[-1] + 3600 * np.arange(1, H + 1)).tolist()


def _steps(wide: pd.DataFrame, shape: str, scale: float = 1) -> pd.DataFrame:
    """`wide` with its dates replaced by time steps 0, 1, ... (times `scale`), as `shape` holds them."""
    steps = pd.Index(np.arange(len(wide)) * scale, name="date")
    numbered = wide.set_axis(steps)
    return {"column": numbered.reset_index(), "index": numbered.rename_axis("t"),
            "long": to_long(numbered.rename_axis("ds"))}[shape]


@pytest.mark.parametrize("shape", ["column", "index", "long"])
def test_time_steps_in_give_time_steps_out(shape):
    df = _steps(make_wide(150), shape)
    f = DynoNetForecaster(horizon=H, lookback=L, model="linear", date_format="%s", **TINY_LINEAR).fit(df)
    fc, future = f.predict(df, level=80), list(range(150, 150 + H))
    assert (fc.index if shape != "long" else pd.Index(fc["ds"].unique())).tolist() == future
    assert shape == "long" or fc.index.name == {"column": "date", "index": "t"}[shape]  # as the frame names them
    with pytest.warns(UserWarning, match=r"trained or validated on \(up to 149 "):  # a date as the frame gives it
        bt = f.backtest(df)
    assert bt["ds"].dtype == bt["cutoff"].dtype == np.int64
    assert bt["ds"].max() == 149 and (bt["ds"] - bt["cutoff"]).between(1, H).all()
    # dates that are dates stay dates, with the same setting
    dated = make_wide(150, start="1970-01-01", freq="s")
    fc = f.predict(to_long(dated.rename_axis("ds")) if shape == "long" else dated)
    assert pd.api.types.is_datetime64_any_dtype(fc["ds"] if shape == "long" else fc.index)


@pytest.mark.parametrize("scale", [0.5, 1.0])
def test_time_steps_given_as_floats_come_back_as_floats(scale):
    df = _steps(make_wide(150), "column", scale=scale)
    fc = DynoNetForecaster(horizon=H, lookback=L, model="linear", date_format="%s", **TINY_LINEAR).fit(df).predict(df)
    assert fc.index.dtype == np.float64 and fc.index.tolist() == pytest.approx(scale * (150 + np.arange(H)))


def test_a_frame_indexed_by_whole_numbers_is_told_how_to_read_them_as_time_steps(wide):
    with pytest.raises(DataError, match=r"; or, if its index counts time steps, date_format='%s' reads them so$"):
        DynoNetForecaster(horizon=H, lookback=L, model="linear", **TINY_LINEAR).fit(wide.reset_index(drop=True))


def test_each_fit_starts_from_the_given_settings_not_from_what_earlier_data_settled():
    # the first frame's dates settle day first (a 13th); the second's settle month first
    day_first = make_wide(150, "2024-01-01", "D").reset_index()
    day_first["date"] = day_first["date"].dt.strftime("%d/%m/%Y")
    month_first = make_wide(150, "2024-01-01", "D").reset_index()
    month_first["date"] = month_first["date"].dt.strftime("%m/%d/%Y")
    model = DynoNetForecaster(horizon=H, lookback=L, model="linear", **TINY_LINEAR)
    assert model.fit(day_first).config.data.date_format == "%d/%m/%Y"
    assert model.fit(month_first).config.data.date_format == "%m/%d/%Y"
    assert model.predict(month_first).index[0] == pd.Timestamp("2024-05-30")
    assert "date_format" not in repr(model)  # guessed from the data, not a setting given



def test_a_loaded_forecaster_refits_without_the_date_format_its_data_settled(tmp_path):
    day_first = make_wide(150, "2024-01-01", "D").reset_index()
    day_first["date"] = day_first["date"].dt.strftime("%d/%m/%Y")
    DynoNetForecaster(horizon=H, lookback=L, model="linear", **TINY_LINEAR).fit(day_first).save(tmp_path / "run")
    loaded = DynoNetForecaster.load(tmp_path / "run")
    assert loaded.config.data.date_format == "%d/%m/%Y"  # what its forecasts read
    assert "date_format" not in repr(loaded)
    iso = make_wide(150, "2024-01-01", "D")
    assert loaded.fit(iso).config.data.date_format is None
    given = DynoNetForecaster(horizon=H, lookback=L, model="linear", date_format="%d/%m/%Y", **TINY_LINEAR)
    given.fit(day_first).save(tmp_path / "given")
    assert DynoNetForecaster.load(tmp_path / "given")._settings.data.date_format == "%d/%m/%Y"  # given: kept


def test_recent_dates_off_the_runs_anchored_step_are_named_so():
    weekly = make_wide(120, "2020-01-05", "W-SUN")  # weeks ending on Sundays
    model = DynoNetForecaster(horizon=4, lookback=16, model="linear", **TINY_LINEAR).fit(weekly)
    mondays = weekly.tail(20).set_axis(weekly.index[-20:] + pd.Timedelta(days=1))
    with pytest.raises(DataError, match=r"is not one step \(W-SUN\) after .* is not a W-SUN date, as "
                                        r"2022-01-09 is: the run's steps fall on those dates\)$"):
        model.predict(mondays)


def _clone(estimator):
    """What `sklearn.base.clone` does (scikit-learn is no dependency): a new object from
    `get_params`, whose own `get_params` must return the very same objects."""
    params = estimator.get_params(deep=False)
    new = type(estimator)(**params)
    assert all(new.get_params(deep=False)[k] is v for k, v in params.items())
    return new


def test_the_scikit_learn_estimator_protocol(fitted, wide, tmp_path):
    f = DynoNetForecaster(horizon=H, lookback=L, columns=["load"], **TINY)
    assert not f.__sklearn_is_fitted__() and fitted.__sklearn_is_fitted__()  # what check_is_fitted asks
    assert not _clone(fitted).__sklearn_is_fitted__()
    copy = _clone(f)
    assert copy.config == f.config and repr(copy) == repr(f) and copy.model_ is None
    assert f.set_params(worker_hidden=8, seed=3) is f
    assert f.config.model.worker_hidden == 8 and f.config.train.seed == 3 and f.get_params()["columns"] == ["load"]
    with pytest.raises(ConfigError, match="did you mean 'worker_hidden'"):  # checked as the constructor checks
        f.set_params(worker_hiden=4)
    with pytest.warns(UserWarning, match="^model 'linear' does not read worker_hidden$"):  # warned of once ...
        linear = DynoNetForecaster(model="linear", worker_hidden=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        linear.set_params(lr=1e-3)  # ... not again when another setting changes
    with pytest.warns(UserWarning, match="^model 'linear' does not read context_dim$"):
        linear.set_params(context_dim=4)
    assert f.config.model.worker_hidden == 8  # unchanged by the refused call
    # fitted: a clone is unfitted, with the same settings; a fitted model changes only at its next fit
    again = _clone(fitted)
    assert again.model_ is None and again.config == fitted._settings
    fitted.save(tmp_path / "run")
    loaded = DynoNetForecaster.load(tmp_path / "run", device="cpu")
    # the same settings, less the channel count its data set (the next fit's data sets it again)
    assert _clone(loaded).config == loaded._settings.replace(model={"n_channels": 0})
    config = loaded.config
    assert repr(loaded).endswith("fitted on 2 series)")
    loaded.set_params(worker_hidden=2)
    assert loaded.config is config and loaded.predict(wide).shape == (H, 2)
    assert "worker_hidden=2," in repr(loaded) and repr(loaded).endswith("fitted on 2 series with other settings)")


def test_a_loaded_run_and_its_clone_fit_alike(tmp_path):
    # a run of the first 150 rows, its dates in column 'time': a refit takes every row it is given
    frame = make_wide(240).rename_axis("time")
    DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(frame.iloc[:150]).save(tmp_path / "run")
    loaded = DynoNetForecaster.load(tmp_path / "run", device="cpu")
    clone = _clone(loaded)
    other = frame.rename_axis("stamp")  # the run's date column is kept, as a setting given
    for f in (loaded, clone, loaded.set_params(seed=0)):
        f.fit(other)
        assert f.config.data.date_column == "time" and f.meta_["splits"]["val"][1] == 240


@pytest.mark.parametrize("name", [np.nan, ""])
def test_a_frame_is_refused_where_a_csv_of_it_would_be(name):
    # a series without a name: the run would name it 'nan' or '', which no CSV of the frame holds
    frame = make_wide(240).rename(columns={"temp": name})
    with pytest.raises(DataError, match=rf"^DataFrame: a column has no name \({name!r}\); give every series a "
                                        r"name, as a CSV's header must$"):
        DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(frame)
    # dates named as a series: a CSV of the frame would hold two columns of that name
    with pytest.raises(DataError, match=r"^DataFrame: its DatetimeIndex is named 'temp', as one of its columns is; "
                                        r"rename one, e\.g\. df\.rename_axis\('date'\)$"):
        DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(make_wide(240).rename_axis("temp"))
    with pytest.raises(DataError, match=r"^DataFrame: its DatetimeIndex is named 'date', as one of its columns is; "
                                        r"rename one, e\.g\. df\.rename_axis\('time'\)$"):
        DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(make_wide(240).assign(date=1.0))
    with pytest.raises(DataError, match=r"columns is; rename one, e\.g\. df\.rename_axis\('_date'\)$"):
        DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(make_wide(240).assign(date=1.0, time=1.0, timestamp=1.0))
    with pytest.raises(DataError, match=r"columns is; drop the column, a copy of the dates: df\.drop\(columns='date'\)$"):
        DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(make_wide(240).pipe(lambda f: f.assign(date=f.index)))


def test_a_frame_of_decimal_comma_text_is_read_with_decimal_comma_alone():
    frame = make_wide(240)
    text = frame.map(lambda v: f"{v:.6f}".replace(".", ","))
    with pytest.raises(DataError, match=r"is not a finite number \(a decimal comma\? give decimal=','\)$"):
        DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(text)  # (a frame has no field separator to change)
    fitted = DynoNetForecaster(horizon=H, lookback=L, decimal=",", **TINY).fit(text)
    assert fitted.predict(text).shape == (H, 2) and fitted.config.data.sep == ";"  # as a CSV of it is written


def test_blank_last_rows_and_a_late_series_are_told_what_fixes_them():
    frame = make_wide(240)
    future = pd.DataFrame(index=pd.date_range(frame.index[-1] + pd.Timedelta(hours=1), periods=4, freq="h",
                                              name="date"), columns=frame.columns, dtype=float)
    appended = r"the last {} have no value in any series: drop those rows, e\.g\. with {}; a forecast starts after " \
        r"the last row it reads\)$"
    with pytest.raises(DataError, match=appended.format("4 rows", r"df\.dropna\(how='all'\)")):
        DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(pd.concat([frame, future]))
    fitted = DynoNetForecaster(horizon=H, lookback=L, model="linear", **TINY_LINEAR).fit(frame)
    many = pd.DataFrame(index=pd.date_range(frame.index[-1] + pd.Timedelta(hours=1), periods=L + 3, freq="h",
                                            name="date"), columns=frame.columns, dtype=float)
    with pytest.raises(DataError, match=appended.format(f"{L + 3} rows", r"df\.dropna\(how='all'\)")):
        fitted.predict(pd.concat([frame, many]))  # more than the lookback: every row it reads is blank
    long = to_long(pd.concat([frame, future]))  # neuralforecast's habit: the future's ds with y left blank
    with pytest.raises(DataError, match=appended.format("4 dates", r"df\.dropna\(subset=\['y'\]\)")):
        fitted.predict(long)
    with pytest.raises(DataError, match=appended.format("4 dates", r"df\.dropna\(subset=\['y'\]\)")):
        DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(long)
    late = frame.copy()
    late.iloc[:50, 1] = np.nan  # interpolation fills no value before a series' first
    late.iloc[100, 1] = np.nan  # (a gap later on changes nothing about that)
    with pytest.raises(DataError, match=rf"^DataFrame: date {frame.index[0]}, column 'temp': missing value \(its first "
                                        rf"value is at date {frame.index[50]}: start the table there, or leave this "
                                        r"column out: columns names the series to read\)$"):
        DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(late)


# -- save / load -------------------------------------------------------------------------------
def test_save_load_round_trip(fitted, wide, tmp_path):
    run = tmp_path / "nested" / "run"
    fitted.save(run)
    assert {p.name for p in run.iterdir()} == {META, WEIGHTS, TENSORS, "metrics.json"}  # no temporary files left
    meta = json.loads((run / META).read_text())
    assert meta["freq"] == "h" and meta["columns"] == ["load", "temp"]
    assert meta["source"] == "DataFrame" and meta["config"]["data"]["dataset"] is None  # no bundled dataset named
    again = DynoNetForecaster.load(run, device="cpu")
    pd.testing.assert_frame_equal(again.predict(wide), fitted.predict(wide))
    assert again.metrics_ is not None and "fitted on 2 series" in repr(again)
    with pytest.raises(CheckpointError, match=rf"^{re.escape(str(run / WEIGHTS))}: one file of the run folder "
                                              rf"{re.escape(repr(str(run)))}; give the folder$"):
        DynoNetForecaster.load(run / WEIGHTS)


def test_predict_without_data_forecasts_after_the_data_fit_was_given(fitted, wide, tmp_path):
    pd.testing.assert_frame_equal(fitted.predict(level=80), fitted.predict(wide, level=80))
    long = to_long(wide.rename_axis("ds"))
    by_long = DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(long)
    pd.testing.assert_frame_equal(by_long.predict(), by_long.predict(long))
    fitted.save(tmp_path / "run")
    with pytest.raises(DataError, match=r"^predict\(\) forecasts after the data fit was given, and a loaded run keeps "
                                        r"none: pass the recent data, predict\(df\)$"):
        DynoNetForecaster.load(tmp_path / "run").predict()


def test_forecasts_name_series_and_dates_as_the_frame_does(wide):
    numbered = wide.set_axis([0, " temp "], axis=1).rename_axis(None)  # the run's names: '0' and 'temp'
    f = DynoNetForecaster(horizon=H, lookback=L, model="linear", **TINY_LINEAR).fit(numbered)
    assert f.columns_ == ["0", "temp"]
    fc = f.predict(numbered, level=80)
    assert fc.columns.tolist() == [0, "0-lo-80", "0-hi-80", " temp ", "temp-lo-80", "temp-hi-80"]
    assert fc.index.name is None and f.predict().columns.tolist() == [0, " temp "]
    with pytest.warns(UserWarning, match="trained or validated on"):
        assert set(f.backtest(numbered)["unique_id"]) == {0, " temp "}
    # a frame of other labels for the same series gets its own back
    assert f.predict(numbered.set_axis(["0", "temp"], axis=1)).columns.tolist() == ["0", "temp"]


def test_a_batch_size_the_data_chose_is_chosen_again_by_a_later_fit(tmp_path):
    small, large = make_wide(150), make_wide(5000)  # 96 and 4461 training windows
    f = DynoNetForecaster(horizon=H, lookback=L, model="linear", epochs=1).fit(small)
    assert f.config.train.batch_size == 8
    f.save(tmp_path / "run")
    g = DynoNetForecaster.load(tmp_path / "run")
    assert g.config.train.batch_size == 8 and "batch_size" not in g.get_params()  # the run's, not a setting
    assert g.fit(large).config.train.batch_size == 512
    assert g.set_params(batch_size=64).fit(small).config.train.batch_size == 64  # given: as given
    assert g.set_params(batch_size=None).fit(small).config.train.batch_size == 8  # None: chosen again
    # a batch size given stays given after load, the preset's 512 too
    given = DynoNetForecaster(horizon=H, lookback=L, model="linear", epochs=1, batch_size=512).fit(small)
    given.save(tmp_path / "given")
    again = DynoNetForecaster.load(tmp_path / "given")
    assert again.get_params()["batch_size"] == 512 and again.fit(small).config.train.batch_size == 512


def test_old_ways_of_calling_and_old_pickles_still_work(fitted, wide):
    import pickle

    earlier = wide.iloc[:-7]  # not the data fit was given: predict() would forecast otherwise
    with pytest.warns(FutureWarning, match=r"predict\(recent=\.\.\.\) is now predict\(df=\.\.\.\)"):
        pd.testing.assert_frame_equal(fitted.predict(recent=earlier), fitted.predict(earlier))
    with pytest.raises(TypeError, match="got the recent data twice"):
        fitted.predict(wide, recent=earlier)
    old = pickle.loads(pickle.dumps(fitted))
    del old.__dict__["_fit_tail"]  # as pickled before predict() read the data fit was given
    with pytest.raises(DataError, match="pass the recent data"):
        old.predict()


def test_save_and_load_expand_the_home_folder(fitted, wide, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    fitted.save("~/runs/x")
    assert (tmp_path / "runs" / "x" / META).is_file()
    pd.testing.assert_frame_equal(DynoNetForecaster.load("~/runs/x", device="cpu").predict(wide), fitted.predict(wide))


def test_save_refuses_a_folder_in_use_unless_overwrite(fitted, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    with pytest.raises(CheckpointError, match="folder is not empty; pass overwrite=True"):
        fitted.save(run)
    assert [p.name for p in run.iterdir()] == ["notes.txt"]
    for name in ("resume.safetensors", "metrics.json", "benchmark.png"):  # an earlier run's files
        (run / name).write_text("stale")
    fitted.metrics_, kept = None, fitted.metrics_
    try:
        fitted.save(run, overwrite=True)
    finally:
        fitted.metrics_ = kept
    assert {p.name for p in run.iterdir()} == {META, WEIGHTS, TENSORS, "notes.txt"}
    assert (run / "notes.txt").read_text() == "mine"


def test_save_to_a_file_path_fails(fitted, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match="not a folder"):
        fitted.save(tmp_path / "file")
    # a new run folder named as one model file is most likely a mistake; a folder so named is kept
    with pytest.raises(CheckpointError, match=r"model.pt: a run is a folder of several files, not one .pt file; give "
                                              r"a folder name, such as '.*model'$"):
        fitted.save(tmp_path / "model.pt")
    assert not (tmp_path / "model.pt").exists()
    (tmp_path / "old.pkl").mkdir()
    fitted.save(tmp_path / "old.pkl")
    assert (tmp_path / "old.pkl" / META).is_file()


@pytest.mark.parametrize("damage", ["truncate_json", "garbage_json", "truncate_weights", "empty_weights",
                                    "drop_weights", "drop_json", "no_columns", "wrong_scaler", "bad_freq"])
def test_corrupted_checkpoints_are_checkpoint_errors(fitted, tmp_path, damage):
    run = tmp_path / "run"
    fitted.save(run)
    meta_path, weights = run / META, run / WEIGHTS
    meta = json.loads(meta_path.read_text())
    if damage == "truncate_json":
        meta_path.write_text(meta_path.read_text()[:50])
    elif damage == "garbage_json":
        meta_path.write_bytes(b"\xff\xfe\x00garbage")
    elif damage == "truncate_weights":
        weights.write_bytes(weights.read_bytes()[:100])
    elif damage == "empty_weights":
        weights.write_bytes(b"")
    elif damage == "drop_weights":
        weights.unlink()
    elif damage == "drop_json":
        meta_path.unlink()
    elif damage == "no_columns":
        del meta["columns"]
        meta_path.write_text(json.dumps(meta))
    elif damage == "wrong_scaler":
        meta["scaler"]["mean"] = meta["scaler"]["mean"][:1]
        meta_path.write_text(json.dumps(meta))
    elif damage == "bad_freq":
        meta["freq"] = "not-a-frequency"
        meta_path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError) as e:
        DynoNetForecaster.load(run)
    assert str(run) in str(e.value) and "\n" not in str(e.value)


def test_missing_run_folder(tmp_path):
    with pytest.raises(CheckpointError, match="no such run folder"):
        DynoNetForecaster.load(tmp_path / "nope")


# -- bad input ---------------------------------------------------------------------------------
def test_predict_input_errors(fitted, wide):
    with pytest.raises(DataError, match=r"no column 'temp' \(one of the run's series; columns there: 'load', 'x'\)"):
        fitted.predict(wide.rename(columns={"temp": "x"}))
    with pytest.warns(UserWarning, match="'x' is not among the run's 2 series: left out"):
        assert fitted.predict(wide.assign(x=1.0)).equals(fitted.predict(wide))  # other columns are left alone
    with pytest.raises(DataError, match=f"31 rows, but the model needs the last {L}"):
        fitted.predict(wide.iloc[-31:])
    with pytest.raises(DataError, match=f"31 dates, but the model needs the last {L}"):  # long: 62 rows
        fitted.predict(to_long(wide.iloc[-31:]))
    gap = wide.drop(wide.index[-5])
    with pytest.raises(DataError, match=r"^recent data: date 2024-01-09 04:00:00 is not one step \(h\) after "
                                        r"2024-01-09 02:00:00; .* \(a gap: fill it on a regular grid first, e.g. with "
                                        r"pandas' .asfreq\('h'\) and .interpolate\(\), or .ffill\(\) over holidays\)$"):
        fitted.predict(gap)  # named by its dates, not its position; how to fill it, as training data is told
    daily = make_wide(L + 5, freq="D")
    with pytest.raises(DataError, match=rf"^recent data: its last {L} dates step by 1 day \('D'\), the training data's by 1 hour \('h'\): "
                                        r"give data at the training data's step$"):
        fitted.predict(daily)
    with pytest.raises(DataError, match=r"^recent data: its dates step by 1 day \('D'\), "):  # all its rows
        fitted.predict(daily.tail(L))
    # the same length anchored elsewhere is told where the run's steps fall
    monthly = DynoNetForecaster(horizon=4, lookback=16, model="linear", **TINY_LINEAR).fit(
        make_wide(100, "2000-01-31", "ME"))
    with pytest.raises(DataError, match=r"is not one step \(ME\) after .*: the run's steps fall on those dates\)$"):
        monthly.predict(make_wide(20, "2020-01-01", "MS"))
    with pytest.raises(DataError, match="expected a pandas DataFrame"):
        fitted.predict(wide.to_numpy())
    far = wide.assign(load=wide["load"].where(wide.index != wide.index[-1], 1e30))
    with pytest.raises(DataError, match=rf"date {wide.index[-1]}, column 'load': 1e\+30 lies .* training standard"):
        fitted.predict(far)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.assign(load=d["load"].where(d.index != d.index[7])), r"date 2024-01-01 07:00:00, column 'load': missing value"),
    (lambda d: d.assign(temp=d["temp"].replace(d["temp"].iloc[3], np.inf)), r"date 2024-01-01 03:00:00, column 'temp': inf is not"),
    (lambda d: d.iloc[[0, 2, 1, *range(3, len(d))]], r"row 2: date goes backwards"),
    (lambda d: d.set_axis(d.index.where(d.index != d.index[5])), r"^DataFrame: row 5: its DatetimeIndex has no date "
                                                                 r"there \(NaT\)$"),
    (lambda d: d.iloc[[0, 1, 1, *range(2, len(d))]], r"row 2: duplicate date .* \(each date once: keep one row of it, "
                                                     r"e\.g\. with df\[~df\.index\.duplicated\(\)\]\)$"),
    (lambda d: d.reset_index().iloc[[0, 1, 1, *range(2, len(d))]], r"\.drop_duplicates\('date'\)\)$"),  # a column
    (lambda d: d.set_axis(pd.MultiIndex.from_arrays([d.index, ["x"] * len(d)])),
     r"columns are: 'load', 'temp'; its index has 2 levels \('date', None\): df\.reset_index"),
    (lambda d: d.set_axis(pd.MultiIndex.from_arrays([d.index.to_numpy(), ["x"] * len(d)])),
     r"columns are: 'load', 'temp'; its index has 2 levels: df\.reset_index\(\) makes them columns$"),
    (lambda d: to_long(d.rename_axis("ds")).set_index(["unique_id", "ds"]),  # as some libraries keep the long format
     r"; its index has 2 levels \('unique_id', 'ds'\): df\.reset_index\(\) makes them columns$"),
    (lambda d: d.assign(city="Paris"), r"date 2024-01-01 00:00:00, column 'city': 'Paris' is not a finite number"),
    (lambda d: d.set_axis(d.index.to_period("h")).rename_axis("date").reset_index(),
     r"^DataFrame: column 'date' holds periods, not dates: df\['date'\] = df\['date'\]\.dt\.to_timestamp\(\) "),
    (lambda d: to_long(d.set_axis(d.index.to_period("h")).rename_axis("ds")), r"column 'ds' holds periods"),
    (lambda d: d[[]], r"no numeric columns besides its DatetimeIndex$"),
    (lambda d: d.assign(load=d["load"].where(d.index != d.index[190], 1e30)), r"date 2024-01-08 22:00:00, column 'load': 1e\+30 lies"),
    (lambda d: d.reset_index(drop=True), r"needs a DatetimeIndex, a 'date' column, or the long format"),
    (lambda d: d.iloc[:20], r"20 rows are too few"),
    (lambda d: d.drop(d.index[100:110]),
     r"^DataFrame: date 2024-01-05 14:00:00 is not one step \(h\) after 2024-01-05 03:00:00; "),
    (lambda d: d.reset_index().assign(date=lambda x: x["date"].astype(str).where(x.index != 4, "soon")),
     r"row 4: cannot parse date 'soon'"),
])
def test_fit_validates_like_read_csv(wide, edit, message):
    with pytest.raises(DataError, match=message):
        DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(edit(wide))


def test_dates_in_a_column_of_another_name_are_found_and_the_keyword_that_reads_them_named(fitted, wide):
    with pytest.raises(DataError, match=r"appears more than once|columns are: 'a', 'a', 'b'; or, if its "
                                        r"index counts time steps, date_format='%s' reads them so$"):  # repeated names
        DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(pd.DataFrame(np.ones((100, 3)), columns=["a", "a", "b"]))
    stamped = wide.rename_axis("timestamp").reset_index()
    with pytest.raises(DataError, match=r"columns are: 'timestamp', 'load', 'temp'; column 'timestamp' holds dates: "
                                        r"date_column='timestamp' reads them there$"):
        DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(stamped)
    assert DynoNetForecaster(horizon=H, lookback=L, date_column="timestamp", **TINY).fit(stamped).columns_ == \
        ["load", "temp"]
    as_text = stamped.assign(timestamp=stamped["timestamp"].astype(str))  # as a CSV holds them
    with pytest.raises(DataError, match=r"^recent data: .*; column 'timestamp' holds dates: the run reads them from a "
                                        r"column 'date' \(df.rename\(columns=\{'timestamp': 'date'\}\)\)$"):
        fitted.predict(as_text)  # the run's date column is settled
    assert len(fitted.predict(as_text.rename(columns={"timestamp": "date"}))) == H  # as it says
    with pytest.raises(DataError, match=r"columns are: 'when', 'load', 'temp'$"):  # no dates there: no hint
        fitted.predict(stamped.assign(timestamp="soon").rename(columns={"timestamp": "when"}))


# -- backtest --------------------------------------------------------------------------------
def test_a_backtest_forecasts_from_each_cutoff_as_predict_does_beside_the_values_that_came(fitted, wide):
    longer = make_wide(260)  # the fitted rows, then 60 the run never saw
    pd.testing.assert_frame_equal(longer.iloc[:200], wide)
    new = longer.iloc[200 - L:]  # from the last fitted row's lookback on
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # forecasts of new rows only: no note
        bt = fitted.backtest(new, step=5, level=[80, 90])
    assert list(bt.columns) == ["unique_id", "ds", "cutoff", "DynoNet", "DynoNet-lo-90", "DynoNet-lo-80",
                                "DynoNet-hi-80", "DynoNet-hi-90", "y"]
    # every 5th row with a lookback before it and a horizon after it, counted back from the last such row
    cutoffs = new.index[np.arange(len(new) - H - 1, L - 2, -5)[::-1]]
    assert cutoffs[-1] == new.index[-H - 1] and cutoffs[0] >= new.index[L - 1]
    assert list(bt["cutoff"].unique()) == list(cutoffs) and len(bt) == len(cutoffs) * H * 2
    for cutoff in cutoffs[[0, 3, -1]]:  # the plain way: predict from the rows up to the cutoff
        expected = fitted.predict(new.loc[:cutoff], level=[80, 90])
        for series in ("load", "temp"):
            got = bt[(bt["cutoff"] == cutoff) & (bt["unique_id"] == series)]
            assert list(got["ds"]) == list(expected.index)
            for column in ("", "-lo-90", "-hi-80"):
                np.testing.assert_allclose(got[f"DynoNet{column}"], expected[f"{series}{column}"], rtol=1e-6)
            np.testing.assert_array_equal(got["y"], longer.loc[got["ds"], series])
    # by default the forecast periods tile the data: each date once per series
    tiled = fitted.backtest(new)
    assert tiled["cutoff"].nunique() == (len(new) - L) // H and not tiled.duplicated(["unique_id", "ds"]).any()
    assert "DynoNet-lo-80" not in tiled


@pytest.mark.parametrize("season", [0, 5])
def test_a_backtest_with_naive_forecasts_repeats_the_values_before_each_cutoff(wide, season):
    """naive=True: the last value and the last cycle (a day of these hourly rows, unless
    `season` names one) repeated from each cutoff, each a column that `scores` scores."""
    fitted = DynoNetForecaster(horizon=H, lookback=L, model="linear", season=season, **TINY_LINEAR).fit(wide)
    new = make_wide(260).iloc[200 - L:]
    bt = fitted.backtest(new, step=3, naive=True)
    assert list(bt.columns) == ["unique_id", "ds", "cutoff", "RevINLinear", "RepeatLast", "SeasonalRepeat", "y"]
    cycle = season or 24
    step = bt.groupby(["unique_id", "cutoff"]).cumcount()  # 0 .. H-1 within each forecast
    rows = new.index.get_indexer(bt["cutoff"]) - cycle + 1 + step % cycle  # one cycle back, cycle after cycle
    values = new.to_numpy()[:, [["load", "temp"].index(u) for u in bt["unique_id"]]]  # (T, rows)
    pick = lambda r: values[r, np.arange(len(bt))]  # noqa: E731
    np.testing.assert_array_equal(bt["RepeatLast"], pick(new.index.get_indexer(bt["cutoff"])))
    np.testing.assert_array_equal(bt["SeasonalRepeat"], pick(rows))
    scores = fitted.scores(bt, model="SeasonalRepeat")
    error = bt["SeasonalRepeat"] - bt["y"]
    assert scores["MSE"].tolist() == pytest.approx([error[bt["unique_id"] == u].pow(2).mean() for u in scores.index])
    with pytest.raises(DataError, match=r"^scores: not a backtest table of 'RepeatLast' \(no column 'RepeatLast'; "
                                        r"backtest\(df, naive=True\) adds the naive forecasts\)$"):
        fitted.scores(fitted.backtest(new), model="RepeatLast")
    for name in ("seasonal-repeat", "seasonal_naive"):  # as the CLI names it, as metrics.json keys its scores
        pd.testing.assert_frame_equal(fitted.scores(bt, model=name), scores)
    pd.testing.assert_frame_equal(fitted.scores(bt, model="RevIN+Linear"), fitted.scores(bt))  # as metrics.json
    with pytest.raises(DataError, match=r"^scores: not a backtest table of 'Naive' \(no column 'Naive'; its "
                                        r"forecasts: 'RevINLinear', 'RepeatLast', 'SeasonalRepeat'\)$"):
        fitted.scores(bt, model="Naive")


def test_scores_of_a_seasonal_naive_forecast_a_run_has_none_of_say_why(wide):
    fitted = DynoNetForecaster(horizon=H, lookback=16, model="linear", **TINY_LINEAR).fit(wide)  # a day: 24 steps
    bt = fitted.backtest(make_wide(260).iloc[200 - 16:], naive=True)
    assert "SeasonalRepeat" not in bt.columns
    with pytest.raises(DataError, match=r"^scores: .* this run has no seasonal naive forecast: its time step's cycle "
                                        r"of 24 steps is longer than its lookback \(16\); season=N, from 2 to 16, "
                                        r"gives it one\)$"):
        fitted.scores(bt, model="SeasonalRepeat")
    naive = DynoNetForecaster(horizon=H, lookback=L, model="linear", season=1, **TINY_LINEAR).fit(wide)
    with pytest.raises(DataError, match=r"this run has no seasonal naive forecast: season=1 makes it the naive "
                                        r"forecast, RepeatLast; season=N, from 2 to 32, gives it one\)$"):
        naive.scores(naive.backtest(make_wide(260).iloc[200 - L:], naive=True), model="SeasonalRepeat")


@pytest.mark.parametrize("model", ["repeat", "seasonal-repeat"])
def test_a_model_that_repeats_values_forecasts_them_exactly(wide, model):
    """Not through the run's scaling and back, which would add rounding to a copied value."""
    fitted = DynoNetForecaster(horizon=H, lookback=L, model=model).fit(wide)  # (nothing to train)
    forecast = fitted.predict()
    season = 1 if model == "repeat" else 24  # hourly rows: a day
    np.testing.assert_array_equal(forecast[["load", "temp"]], wide.to_numpy()[-season:][np.arange(H) % season])


def test_a_backtest_says_how_many_forecasts_reach_into_rows_the_run_trained_or_validated_on(fitted, wide):
    longer = make_wide(260)
    with pytest.warns(UserWarning) as caught:
        bt = fitted.backtest(longer)
    first = bt.groupby("cutoff")["ds"].min()
    inside = int((first <= wide.index[-1]).sum())  # the API's runs have no test split: every row was seen
    assert 0 < inside < len(first)
    assert [str(w.message) for w in caught] == [
        f"{inside} of {len(first)} forecasts reach into the rows the run was trained or validated on (up to "
        f"{wide.index[-1]}): their errors may read lower than on new data"]


def test_the_seen_rows_note_compares_dates_with_and_without_offsets_at_their_wall_clock(fitted, wide):
    zoned = make_wide(260).tz_localize("Europe/Berlin")  # the run's dates have none
    with pytest.warns(UserWarning, match=r"^(\d+) of (\d+) forecasts reach into the rows") as caught:
        bt = fitted.backtest(zoned)
    first = bt.groupby("cutoff")["ds"].min().dt.tz_localize(None)
    assert str(caught[0].message).startswith(f"{int((first <= wide.index[-1]).sum())} of {len(first)} forecasts")


def test_a_backtest_of_long_data_is_that_of_the_wide_table_it_pivots_to(fitted):
    new = make_wide(260).iloc[200 - L:]
    pd.testing.assert_frame_equal(fitted.backtest(to_long(new)), fitted.backtest(new))
    with pytest.raises(DataError, match=rf"^data: {L + H - 1} dates, but a backtest needs at least"):
        fitted.backtest(to_long(new.iloc[: L + H - 1]))  # a long table's rows are not its dates
    zoned = new.tz_localize("Europe/Berlin")  # dates keep their time zone, as predict's do
    bt = fitted.backtest(zoned)
    assert bt["ds"].dt.tz == bt["cutoff"].dt.tz == fitted.predict(zoned).index.tz is not None
    assert set(bt["ds"]) <= set(zoned.index)


@pytest.mark.parametrize("edit, kwargs, error, message", [
    (lambda d: d, dict(step=0), ConfigError, r"^step=0: a whole number of rows >= 1$"),
    (lambda d: d, dict(step=2.5), ConfigError, r"^step=2.5: "),
    (lambda d: d, dict(step=True), ConfigError, r"^step=True: "),
    (lambda d: d, dict(level=85), ConfigError, r"^level 85: the run calibrated levels"),
    (lambda d: d.iloc[: L + H - 1], {}, DataError, rf"^data: {L + H - 1} rows, but a backtest needs at least "
                                                   rf"lookback \+ horizon = {L + H}$"),
    (lambda d: d.drop(d.index[5]), {}, DataError, r"^data: .* is not one step \(h\) after"),
    (lambda d: d[["load"]], {}, DataError, r"^data: no column 'temp'"),
])
def test_a_backtest_checks_its_data_and_settings(fitted, wide, edit, kwargs, error, message):
    with pytest.raises(error, match=message):
        fitted.backtest(edit(wide), **kwargs)


def test_fit_on_long_format_with_a_gap_names_the_dates():
    long = to_long(make_wide().drop(make_wide().index[100:110]))
    with pytest.raises(DataError, match=r"^DataFrame: date 2024-01-05 14:00:00 is not one step \(h\) after "
                                        r"2024-01-05 03:00:00; rows must be evenly spaced in time \(a gap: "):
        DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(long)


def test_a_run_folder_without_freq_still_loads_and_checks_the_recent_rows(fitted, wide, tmp_path):
    """Versions before evenly spaced data was required could write `"freq": null`."""
    run = tmp_path / "run"
    fitted.save(run)
    meta = json.loads((run / META).read_text())
    meta["freq"] = None
    (run / META).write_text(json.dumps(meta))
    old = DynoNetForecaster.load(run, device="cpu")
    assert old.freq_ is None
    pd.testing.assert_frame_equal(old.predict(wide), fitted.predict(wide))
    with pytest.raises(DataError, match=r"^recent data: date 2024-01-09 04:00:00 is not one step \(h\) after "
                                        r"2024-01-09 02:00:00; "):  # named by its dates, not its position
        old.predict(wide.drop(wide.index[-5]))


def test_a_named_datetime_index_names_the_runs_date_column_for_the_command_line(wide, tmp_path):
    from dynonet.cli import main

    df = wide.rename_axis(" timestamp ")
    f = DynoNetForecaster(horizon=H, lookback=L, model="linear", **TINY_LINEAR).fit(df)
    assert f.config.data.date_column == "timestamp"
    assert f.predict(df).index.name == " timestamp "  # as the frame names it
    f.save(tmp_path / "run")
    df.tail(L).to_csv(tmp_path / "recent.csv")  # its dates in a column " timestamp ", as read back: "timestamp"
    assert main(["predict", "--checkpoint", str(tmp_path / "run"), "--csv", str(tmp_path / "recent.csv"),
                 "--out", str(tmp_path / "f.csv")]) == 0
    np.testing.assert_allclose(pd.read_csv(tmp_path / "f.csv", index_col="timestamp").to_numpy(),
                               f.predict(df).to_numpy())
    # an index made from a column it keeps: that column stays what it is, the dates its index
    kept = wide.assign(timestamp=wide.index).rename_axis("timestamp")
    f = DynoNetForecaster(horizon=H, lookback=L, model="linear", columns="load,temp", **TINY_LINEAR).fit(kept)
    assert f.config.data.date_column == "date" and f.columns_ == ["load", "temp"]
    given = DynoNetForecaster(horizon=H, lookback=L, model="linear", date_column="when", **TINY_LINEAR).fit(df)
    assert given.config.data.date_column == "when"  # as asked
    assert DynoNetForecaster(horizon=H, lookback=L, model="linear", **TINY_LINEAR).fit(
        wide.rename_axis(None)).config.data.date_column == "date"  # an unnamed index: the default


# -- prediction intervals ----------------------------------------------------------------------
def test_intervals_surround_the_forecast_by_the_calibrated_widths_in_each_series_units(fitted, wide):
    start, end = fitted.meta_["splits"]["val"]  # the validation rows, from the lookback before them
    levels = fitted.intervals_.levels
    assert fitted.intervals_.windows == end - start - L - H + 1 == 13 and levels == (50, 80, 90)
    point = fitted.predict(wide)
    out = fitted.predict(wide, level=[90, 80])
    pd.testing.assert_frame_equal(fitted.predict(wide, level="80, 90"), out)  # as --level takes them
    assert list(out.columns) == [f"{c}{side}" for c in ("load", "temp")  # the lowest bound first, as neuralforecast
                                 for side in ("", "-lo-90", "-lo-80", "-hi-80", "-hi-90")]
    pd.testing.assert_frame_equal(out[["load", "temp"]], point)
    std = dynonet.forecaster.Scaler.from_dict(fitted.meta_["scaler"]).std
    for level in (80, 90):
        half = fitted.intervals_.half_widths[levels.index(level)].double().numpy() * std  # (H, C)
        np.testing.assert_allclose(out[[f"load-hi-{level}", f"temp-hi-{level}"]].to_numpy() - point.to_numpy(), half)
        np.testing.assert_allclose(point.to_numpy() - out[[f"load-lo-{level}", f"temp-lo-{level}"]].to_numpy(), half)
    assert (out["load-hi-90"] >= out["load-hi-80"]).all()  # a higher level is never narrower
    long = fitted.predict(to_long(wide.iloc[-50:]), level=np.int64(80))
    assert list(long.columns) == ["unique_id", "ds", "DynoNet", "DynoNet-lo-80", "DynoNet-hi-80"]
    assert list(fitted.predict(to_long(wide.iloc[-50:]), level=(90, 50)).columns)[3:] == [
        "DynoNet-lo-90", "DynoNet-lo-50", "DynoNet-hi-50", "DynoNet-hi-90"]
    np.testing.assert_allclose(long.loc[long.unique_id == "temp", "DynoNet-lo-80"], out["temp-lo-80"])
    with pytest.raises(ConfigError, match=r"level 85: the run calibrated levels 50, 80, 90; fitting with "
                                          r"interval_levels=\[50,80,85,90\] adds it"):
        fitted.predict(wide, level=85)
    with pytest.raises(ConfigError, match="level 100: a level is a whole percent from 1 to 99"):
        fitted.predict(wide, level=100)
    pd.testing.assert_frame_equal(fitted.predict(wide, level="80, 90,"), out)  # an empty entry, as --level drops it
    with pytest.raises(ConfigError, match="^give one or more levels, e.g. 80,95$"):
        fitted.predict(wide, level=" ,")


def test_interval_levels_are_the_whole_percents_asked_for(wide, tmp_path):
    default = DynoNetForecaster(horizon=H, lookback=L, model="linear", **TINY_LINEAR).fit(wide)
    asked = DynoNetForecaster(horizon=H, lookback=L, model="linear", interval_levels=[85, 50], **TINY_LINEAR).fit(wide)
    assert asked.config.train.interval_levels == asked.intervals_.levels == (50, 85)
    # the same training: the level both runs calibrated has the same half-widths
    np.testing.assert_array_equal(asked.intervals_.widths(50), default.intervals_.widths(50))
    assert (default.intervals_.widths(80) <= asked.intervals_.widths(85)).all()
    assert (asked.intervals_.widths(85) <= default.intervals_.widths(90)).all()
    assert list(asked.predict(wide, level=85).columns) == ["load", "load-lo-85", "load-hi-85",
                                                          "temp", "temp-lo-85", "temp-hi-85"]
    asked.save(tmp_path / "run")
    loaded = DynoNetForecaster.load(tmp_path / "run")
    assert loaded.intervals_.levels == (50, 85)
    with pytest.raises(ConfigError) as e:  # the command that adds it stays as typed
        loaded.predict(wide, level=60)
    assert str(e.value) == ("level 60: the run calibrated levels 50, 85; fitting with interval_levels=[50,60,85] adds "
                            "it (a run folder: `dynonet evaluate --checkpoint RUN --calibrate --interval-levels "
                            "50,60,85`)")
    for given in (85, "85", [85.0], np.array([85]), (np.int64(85), 85)):  # as predict(level=...) takes them
        assert DynoNetForecaster(interval_levels=given).config.train.interval_levels == (85,)
    assert DynoNetForecaster(interval_levels=" 95, 80").config.train.interval_levels == (80, 95)
    with pytest.raises(ConfigError, match="interval_levels: level 0: a level is a whole percent from 1 to 99"):
        DynoNetForecaster(interval_levels=[0, 50])
    with pytest.raises(ConfigError, match="interval_levels must be one or more whole percents from 1 to 99"):
        DynoNetForecaster(interval_levels=[])


def test_intervals_are_saved_with_the_run_and_their_test_coverage_measured(fitted, wide, tmp_path):
    fitted.save(tmp_path / "run")
    again = DynoNetForecaster.load(tmp_path / "run")
    pd.testing.assert_frame_equal(again.predict(wide, level=(50, 90)), fitted.predict(wide, level=(50, 90)))
    f = DynoNetForecaster(horizon=H, lookback=L, model="linear", test_fraction=0.2, **TINY_LINEAR).fit(make_wide(300))
    coverage = {p: s["coverage"] for p, s in f.metrics_["test"]["intervals"].items()}
    assert list(coverage) == [str(p) for p in f.intervals_.levels] and all(0 <= c <= 1 for c in coverage.values())
    assert list(coverage.values()) == sorted(coverage.values())  # wider intervals hold at least as much


def test_a_run_folder_from_before_intervals_forecasts_and_says_it_has_none(fitted, wide, tmp_path):
    run = tmp_path / "run"
    fitted.save(run)
    meta = json.loads((run / META).read_text())
    del meta["intervals"]
    (run / META).write_text(json.dumps(meta))
    old = DynoNetForecaster.load(run, device="cpu")
    assert old.intervals_ is None
    pd.testing.assert_frame_equal(old.predict(wide), fitted.predict(wide))
    with pytest.raises(ConfigError, match="this run has no prediction intervals"):
        old.predict(wide, level=80)


def _other_half_widths(meta: dict, run) -> None:
    """Half-widths of 5 series for a run of 2, in a file whose hash checkpoint.json names."""
    import hashlib
    from safetensors.torch import save

    data = save({"intervals.half_widths": torch.zeros(3, H, 5)})
    (run / TENSORS).write_bytes(data)
    meta["tensors_sha256"] = hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("edit, says", [
    (lambda m, run: m["intervals"].update(levels=[80, 50, 90]), "levels [80, 50, 90] and half-widths"),
    (lambda m, run: m["intervals"].pop("windows"), "'windows'"),
    (_other_half_widths, "half-widths of shape (3, 8, 5) for horizon 8 and 2 series"),
])
def test_corrupted_intervals_are_named_with_their_run_folder(fitted, tmp_path, edit, says):
    run = tmp_path / "run"
    fitted.save(run)
    meta = json.loads((run / META).read_text())
    edit(meta, run)
    (run / META).write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=re.escape(f"{run / META}: corrupted")) as e:
        DynoNetForecaster.load(run)
    assert says in str(e.value)


def test_a_short_validation_split_calibrates_only_the_levels_it_can():
    with pytest.warns(UserWarning, match="the validation split holds 3 windows"):
        f = DynoNetForecaster(horizon=H, lookback=L, model="linear", val_fraction=0.05, **TINY_LINEAR).fit(
            make_wide(200))
    start, end = f.meta_["splits"]["val"]
    assert f.intervals_.windows == end - start - L - H + 1 == 3 and f.intervals_.levels == (50,)  # 80 needs 4
    assert f.metrics_["intervals"]["notes"] == [  # said when training ends, not first at predict
        "the 3 validation windows calibrate prediction intervals at levels 50, not 80, 90, 95, 99 (80 needs 4, 90 "
        "needs 9, 95 needs 19, 99 needs 99; more rows, a larger val_fraction or a shorter horizon give more)",
        "prediction intervals calibrated on 3 validation windows; with no test split, nothing measures how often "
        "they hold"]
    with pytest.raises(ConfigError, match=r"the run's 3 validation windows calibrate levels 50; 80 needs at least 4 "
                                          r"\(more rows, a larger val_fraction or a shorter horizon give more\)"):
        f.predict(make_wide(200), level=80)


# -- the runnable example in the module docstring ----------------------------------------------
def test_docstring_example_runs():
    result = doctest.testmod(dynonet.forecaster, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_columns_choose_the_series_of_a_wider_frame(wide):
    extra = wide.assign(site="north", humidity=50.0)
    with pytest.raises(DataError, match="column 'site'"):
        DynoNetForecaster(horizon=H, lookback=L, **TINY).fit(extra)
    f = DynoNetForecaster(horizon=H, lookback=L, columns=["temp"], **TINY).fit(extra)
    assert f.columns_ == ["temp"] and list(f.predict(extra).columns) == ["temp"]
    assert DynoNetForecaster(columns="temp, load").config.data.columns == ("temp", "load")  # as the flag takes them
    assert DynoNetForecaster(columns=[0, "a"]).config.data.columns == ("0", "a")  # names are text
    with pytest.warns(UserWarning, match="^model 'linear' does not read worker_hidden, controller_lr$"):
        DynoNetForecaster(model="linear", worker_hidden=8, controller_lr=1e-3, patience=3)
    with pytest.warns(UserWarning, match="^model 'repeat' does not read epochs$"):
        DynoNetForecaster(model="repeat", epochs=5)
    with pytest.warns(UserWarning, match=r"^model 'dynonet' with the controller off \(controller=True turns it on\) "
                                         "does not read controller_lr$"):
        DynoNetForecaster(controller_lr=1e-3)
    with pytest.warns(UserWarning, match=r"^model 'dynonet' does not read patch_len$"):
        DynoNetForecaster(patch_len=8)
    with pytest.raises(ConfigError, match=r"^no setting 'max_rows' here: `fit` takes the rows it is given; pass "
                                          r"df.head\(n\)"):
        DynoNetForecaster(max_rows=100)
    odd = extra[["temp", "load", "humidity"]].set_axis(["temp", 1, "1"], axis=1)  # 1 and "1": one name as text
    pd.testing.assert_frame_equal(f.predict(odd), f.predict(extra))  # columns not chosen are left alone
    with pytest.raises(DataError, match="column names '1' are not distinct as text"):
        DynoNetForecaster(horizon=H, lookback=L, columns=["1"], **TINY).fit(odd)
    with pytest.raises(DataError, match=r"no column 'temp' \(one of the run's series"):
        f.predict(wide[["load"]])


def test_notes_on_the_data_are_warnings_and_the_verbose_log_names_keywords(capsys):
    flat = make_wide(120).assign(flat=5.0)
    with pytest.warns(UserWarning) as caught:
        f = DynoNetForecaster(horizon=H, lookback=L, **TINY_LINEAR, model="linear").fit(flat)
    assert f.metrics_["notes"] == [str(w.message) for w in caught] and len(caught) == 2
    assert caught[0].message.args[0].startswith("series 'flat' is constant over the training rows")
    assert "optimizer step per epoch at batch_size=512: too few" in caught[1].message.args[0]
    with pytest.warns(UserWarning) as caught:  # 110 rows: 4 validation windows
        DynoNetForecaster(horizon=H, lookback=L, **TINY_LINEAR, model="linear").fit(make_wide(110))
    assert [str(w.message) for w in caught if "validation split" in str(w.message)] == [
        "the validation split holds 4 windows: which epoch is kept rests on them (a larger val_fraction, or a "
        "shorter lookback or horizon, gives more)"]
    assert capsys.readouterr().out == ""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # printed instead
        DynoNetForecaster(horizon=H, lookback=L, **TINY_LINEAR, model="linear").fit(flat, verbose=True)
    log = capsys.readouterr().out
    # 120 rows give 4 validation windows: the log says which setting gives more, as this API names it
    assert "series 'flat' is constant" in log and "val_fraction" in log and "--val-fraction" not in log


def test_a_flag_and_its_choice_in_a_note_read_as_a_keyword_argument(wide):
    with pytest.warns(UserWarning, match="the controller trained on the validation windows") as caught:
        DynoNetForecaster(horizon=H, lookback=L, **TINY, controller=True).fit(wide)
    [note] = [str(w.message) for w in caught if "controller trained" in str(w.message)]
    assert 'controller_data="holdout" keeps the two apart' in note and "--" not in note


def test_scikit_learn_tools_read_the_estimators_tags_and_fitted_state(fitted):
    pytest.importorskip("sklearn")  # (no dependency: runs where scikit-learn is installed)
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError
    from sklearn.utils import get_tags
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(fitted)
    with pytest.raises(NotFittedError):
        check_is_fitted(clone(fitted))
    assert get_tags(fitted).requires_fit and not get_tags(fitted).target_tags.required  # fit(df): no y
