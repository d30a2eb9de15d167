"""dynonet.intervals: split-conformal half-widths against a plain computation, their coverage
as `evaluate` measures it, and the levels a run can calibrate."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, strategies as st

from dynonet.data import Windows
from dynonet.errors import ConfigError
from dynonet import intervals as intervals_module
from dynonet.evaluation import evaluate
from dynonet.intervals import (LEVELS, Intervals, bounds, calibrate, calibrate_hint, check_levels, require, windows_needed,
                               with_bounds)

from test_evaluation import Shifted


def plain_half_width(errors: np.ndarray, level: int) -> float:
    """The ceil((n + 1) p)-th smallest of n absolute errors, by sorting a list."""
    n, ranked = len(errors), sorted(abs(float(e)) for e in errors)
    k = math.ceil((n + 1) * level / 100 - 1e-9)
    return math.inf if k > n else ranked[k - 1]


def series_and_windows(n_rows: int, L: int = 6, H: int = 4, C: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    series = torch.as_tensor(rng.normal(size=(n_rows, C)), dtype=torch.float32)  # (T, C)
    return series, Windows(series, (0, n_rows), L, H)


@pytest.mark.parametrize("n_rows", [12, 30, 200])  # 3, 21 and 191 windows: some levels calibrated, or all
@pytest.mark.parametrize("batch_size", [5, 1000])
@pytest.mark.parametrize("chunk", [1, 2**24])  # series sorted one at a time, or all at once
@pytest.mark.parametrize("levels", [LEVELS, (97, 1, 33, 85, 33)])  # the default, or any asked for
def test_half_widths_are_the_conformal_rank_of_each_step_and_series(n_rows, batch_size, chunk, levels, monkeypatch):
    monkeypatch.setattr(intervals_module, "CHUNK_VALUES", chunk)
    L, H, C = 6, 4, 3
    series, windows = series_and_windows(n_rows, L, H, C)
    model = Shifted(H, torch.tensor([0.0, 0.3, -0.7]))
    intervals = calibrate(model, windows, batch_size, levels)

    n = len(windows)
    errors = np.stack([model(series[None, s : s + L])[0].numpy() - series[s + L : s + L + H].numpy()
                       for s in range(n)])  # (N, H, C), one window at a time
    assert intervals.windows == n
    assert intervals.levels == tuple(p for p in sorted(set(levels)) if math.isfinite(plain_half_width(errors[:, 0, 0], p)))
    assert bool(intervals.missing(levels)) == (len(intervals.levels) < len(set(levels)))  # a note when any is left out
    assert intervals.half_widths.shape == (len(intervals.levels), H, C)
    for i, level in enumerate(intervals.levels):
        want = [[plain_half_width(errors[:, h, c], level) for c in range(C)] for h in range(H)]
        assert intervals.half_widths[i].numpy() == pytest.approx(np.array(want), rel=1e-6)


@given(st.integers(1, 99))
def test_windows_needed_is_the_fewest_that_give_a_finite_interval(level):
    n = windows_needed(level)
    assert math.isfinite(plain_half_width(np.zeros(n), level))
    assert n == 1 or not math.isfinite(plain_half_width(np.zeros(n - 1), level))


@pytest.mark.parametrize("batch_size", [3, 1000])
def test_evaluate_counts_the_true_values_inside_each_interval(batch_size):
    L, H, C = 6, 4, 3
    series, windows = series_and_windows(120, L, H, C, seed=1)
    model = Shifted(H, torch.tensor([0.2, 0.0, -0.4]))
    widths = torch.as_tensor(np.random.default_rng(2).uniform(0.2, 2.0, size=(2, H, C)), dtype=torch.float32)
    intervals = Intervals((80, 95), widths, 50)

    scores = evaluate(model, windows, batch_size, ["a", "b", "c"], intervals=intervals)

    errors = np.stack([model(series[None, s : s + L])[0].numpy() - series[s + L : s + L + H].numpy()
                       for s in range(len(windows))])  # (N, H, C)
    for i, level in enumerate(("80", "95")):
        inside = np.abs(errors) <= widths[i].numpy()  # (N, H, C)
        assert scores["intervals"][level]["coverage"] == pytest.approx(inside.mean(), rel=1e-6)
        assert [scores["intervals"][level]["per_channel"][c] for c in "abc"] == pytest.approx(
            inside.mean(axis=(0, 1)), rel=1e-6)
        assert scores["intervals"][level]["mean_half_width"] == pytest.approx(float(widths[i].mean()), rel=1e-6)


@pytest.mark.parametrize("levels", [LEVELS, (5, 37, 85)])
def test_on_exchangeable_errors_the_coverage_on_new_windows_is_near_the_level(levels):
    # independent noise and a forecast of zero: every window's errors are exchangeable
    H, C = 2, 2
    rng = np.random.default_rng(3)
    series = torch.as_tensor(rng.normal(size=(6000, C)), dtype=torch.float32)
    model = Shifted(H, torch.zeros(C))
    zero = lambda x: torch.zeros(x.shape[0], H, C)  # noqa: E731
    model.forward = zero
    intervals = calibrate(model, Windows(series, (0, 3000), 1, H), 512, levels)
    scores = evaluate(model, Windows(series, (3000, 6000), 1, H), 512, intervals=intervals)
    assert sorted(map(int, scores["intervals"])) == list(levels)
    for level in levels:
        assert abs(scores["intervals"][str(level)]["coverage"] - level / 100) < 0.02


def test_levels_are_checked_and_a_level_the_run_could_not_calibrate_is_named():
    assert check_levels(["95", 80, 95.0, np.int64(50)]) == (50, 80, 95)  # sorted, once each
    assert check_levels([1, "85", 99]) == (1, 85, 99)  # any whole percent
    for bad in (0, 100, -5, "x", None, 99.5, math.nan, True):
        with pytest.raises(ConfigError, match="a level is a whole percent from 1 to 99"):
            check_levels([bad])
    few = Intervals((50, 80), torch.zeros(2, 1, 1), 5)
    with pytest.raises(ConfigError, match="5 validation windows calibrate levels 50, 80; 95 needs at least 19"):
        require(few, [80, 95])
    assert few.missing((50, 80, 95, 99)).startswith("the 5 validation windows calibrate prediction intervals at "
                                                     "levels 50, 80, not 95, 99 (95 needs 19, 99 needs 99;")
    none = Intervals((), torch.zeros(0, 1, 1), 5)
    assert none.missing((95,)).startswith("the 5 validation windows calibrate no prediction intervals: not at levels "
                                          "95 (95 needs 19;")
    # enough windows, but not asked for when the run calibrated: how to add it
    with pytest.raises(ConfigError, match=r"level 60: the run calibrated levels 50, 80; `dynonet evaluate --checkpoint "
                                          r"RUN --calibrate --interval-levels 50,60,80` adds it"):
        require(few, [60])
    with pytest.raises(ConfigError, match=r"interval_levels=\[50,60,80\] adds it"):
        require(few, [60], "interval_levels=[{levels}] adds {it}")
    # every missing level is named at once, in the command of the run folder named
    with pytest.raises(ConfigError, match=r"^levels 60, 70: the run calibrated levels 50, 80; `dynonet evaluate "
                                          r"--checkpoint 'my run' --calibrate --interval-levels 50,60,70,80` adds them$"):
        require(few, [50, 60, 70, 80], calibrate_hint("my run"))
    with pytest.raises(ConfigError, match=r"^levels 95, 99: the run's 5 validation windows calibrate levels 50, 80; "
                                          r"95 needs at least 19, 99 needs at least 99 \(more rows.*\); level 60: the "
                                          r"run calibrated levels 50, 80; `dynonet evaluate --checkpoint RUN --calibrate "
                                          r"--interval-levels 50,60,80` adds it$"):
        require(few, [60, 95, 99])  # those no recalibration gives first, then those it does
    with pytest.raises(ConfigError, match=r"^level 85: this run has no prediction intervals .*--interval-levels "
                                          + ",".join(map(str, sorted({*LEVELS, 85}))) + "` adds them$"):
        require(None, [85])
    require(None, [])


def test_bounds_are_in_each_series_units_and_follow_their_series():
    forecast = pd.DataFrame({"load": [10.0, 20.0], "temp": [1.0, 2.0]})
    widths = np.array([[1.0, 2.0], [3.0, 4.0]])  # (H, C) on the standardized scale
    lo, hi = bounds(forecast, widths, np.array([10.0, 0.5]))
    assert lo.to_numpy().tolist() == [[0.0, 0.0], [-10.0, 0.0]]
    assert hi.to_numpy().tolist() == [[20.0, 2.0], [50.0, 4.0]]
    wide = with_bounds(forecast, {80: (lo, hi), 95: (lo - 1, hi + 1)})
    assert list(wide.columns) == ["load", "load-lo-95", "load-lo-80", "load-hi-80", "load-hi-95",
                                  "temp", "temp-lo-95", "temp-lo-80", "temp-hi-80", "temp-hi-95"]
    assert wide["temp-hi-95"].tolist() == [3.0, 5.0]
    clash = forecast.assign(**{"load-lo-80": 0.0})
    with pytest.raises(ConfigError, match="'load-lo-80' is named as another series' bound"):
        with_bounds(clash, {80: bounds(clash, np.ones((2, 3)), np.ones(3))})

