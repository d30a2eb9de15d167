"""dynonet.plots: every figure renders to PNG bytes without touching the host's matplotlib."""

from __future__ import annotations

import importlib
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

import dynonet.plots as plots

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture()
def host_backend():
    """A host that chose its own backend before dynonet.plots was imported."""
    before = matplotlib.get_backend()
    matplotlib.use("svg")
    yield "svg"
    matplotlib.use(before)


def test_figures_render_and_leave_the_host_backend_alone(host_backend):
    importlib.reload(plots)  # the import itself must not switch the backend either
    history = [{"epoch": e, "train_loss": 1.0 / (e + 1), "val_mse": 0.5 + 0.01 * e, "val_mae": 0.4, "lr": 1e-3,
                "stage": "trend" if e == 0 else "full", "signals": {"gamma": 1.0}} for e in range(3)]
    dates = pd.date_range("2024-01-01", periods=6, freq="h")
    figures = [
        plots.training_curves(history, "t"),
        plots.channel_metrics({"a": {"mse": 0.3, "mae": 0.4}, "b": {"mse": 0.2, "mae": 0.3}}, "t"),
        plots.benchmark({"label": "run", "lookback": 96, "mse": 0.4},
                        [{"label": "published", "lookback": 512, "mse": 0.38}], "t"),
        plots.forecast_plot(pd.DataFrame({"x": range(4)}, index=dates[:4]),
                            pd.DataFrame({"x": [4.0, 5.0]}, index=dates[4:]), None, "t"),
    ]
    assert all(f.startswith(PNG) and len(f) > 1000 for f in figures)
    assert matplotlib.get_backend() == host_backend


def test_names_with_dollar_signs_are_drawn_as_written_not_parsed_as_math(monkeypatch):
    from matplotlib.text import Text

    names = ["Price in $ #1 and $ #2", "Revenue ($) in $k", "p $^$"]  # the first two fail to parse as math
    drawn = []
    real = Text.draw
    monkeypatch.setattr(Text, "draw", lambda self, r: drawn.append((self.get_text(), self.get_parse_math()))
                        or real(self, r))
    dates = pd.date_range("2024-01-01", periods=6, freq="h")
    history = pd.DataFrame({n: range(4) for n in names}, index=dates[:4])
    forecast = pd.DataFrame({n: [4.0, 5.0] for n in names}, index=dates[4:])
    for fmt in plots.IMAGE_FORMATS:
        assert plots.forecast_plot(history, forecast, forecast, names[2], fmt=fmt)
    assert plots.channel_metrics({n: {"mse": 0.3, "mae": 0.4} for n in names}, names[1])[:4] == PNG[:4]
    shown = [text for text, _ in drawn]
    assert all(n in shown for n in names) and not any(math for _, math in drawn)


def test_a_file_name_read_in_a_non_utf8_locale_is_drawn_as_utf8(monkeypatch):
    from matplotlib.text import Text

    drawn = []
    real = Text.draw
    monkeypatch.setattr(Text, "draw", lambda self, r: drawn.append(self.get_text()) or real(self, r))
    name = b"d\xc3\xbc.csv".decode("ascii", "surrogateescape")  # how Python reads the path d\u00fc.csv under LC_ALL=C
    assert plots.channel_metrics({"a": {"mse": 0.3, "mae": 0.4}}, f"on {name}")[:4] == PNG[:4]
    assert "on d\u00fc.csv" in drawn


@pytest.mark.parametrize("lrs", [(2e-3, 5e-4), (1e-2, 1e-5)])  # less than a decade (minor ticks labelled), several
def test_every_drawn_text_reads_as_written_the_learning_rates_axis_too(monkeypatch, lrs):
    from matplotlib.text import Text

    drawn = []
    real = Text.draw
    monkeypatch.setattr(Text, "draw", lambda self, r: drawn.append(self.get_text()) or real(self, r))
    history = [{"epoch": e, "train_loss": 1.0 / e, "val_mse": 1.0 / e, "val_mae": 1.0 / e,
                "lr": lrs[0] + (lrs[1] - lrs[0]) * (e - 1) / 4} for e in range(1, 6)]
    assert plots.training_curves(history, "t")[:4] == PNG[:4]
    # a log axis labels its ticks as math by default, drawn as "$\\mathdefault{10^{-3}}$" where math is not parsed
    assert not any("$" in text or "mathdefault" in text for text in drawn)
    assert sum(bool(re.fullmatch(r"[\d.]+e[-\u2212+]?\d+", text)) for text in drawn) >= 2  # the axis labelled: 2e-03


@pytest.mark.parametrize("loss, fit, label", [
    ("mse", "ridge", "train loss (MSE)"),
    ("mae", None, "train loss (MAE)"),
    ("huber", "ridge", "train loss (HUBER; epoch 0, the closed-form fit: MSE)"),
])
def test_the_training_loss_curve_names_the_runs_loss(loss, fit, label):
    history = [{"epoch": 0, "fit": fit, "train_loss": 1.0}, {"epoch": 1, "train_loss": 0.5}]
    assert plots.train_loss_label(history, loss) == label


def png_size(image: bytes) -> tuple[int, int]:
    return int.from_bytes(image[16:20], "big"), int.from_bytes(image[20:24], "big")


def test_figures_have_no_empty_panel_and_room_for_every_channel():
    history = [{"epoch": e, "train_loss": 1.0, "val_mse": 0.5, "val_mae": 0.4, "lr": 1e-3, "signals": {}}
               for e in range(3)]
    with_signals = [{**h, "signals": {"gamma": 1.0}} for h in history]
    plain, signalled = png_size(plots.training_curves(history, "t")), png_size(plots.training_curves(with_signals, "t"))
    assert plain[0] < signalled[0] and plain[1] == signalled[1]  # the signals panel only with a controller
    few = png_size(plots.channel_metrics({c: {"mse": 0.1, "mae": 0.1} for c in "ab"}, "t"))
    many = png_size(plots.channel_metrics({f"s{i}": {"mse": 0.1, "mae": 0.1} for i in range(50)}, "t"))
    assert many[1] > 2 * few[1]
    very_many = png_size(plots.channel_metrics({f"s{i}": {"mse": i, "mae": i} for i in range(3000)}, "t"))
    assert very_many[1] == png_size(plots.channel_metrics({f"s{i}": {"mse": i, "mae": i} for i in range(40)}, "t"))[1]


@pytest.mark.parametrize("steps", [1, 4])
def test_the_intervals_are_drawn_for_every_horizon_one_step_too(steps, monkeypatch):
    from matplotlib.axes import Axes

    drawn = []
    for name in ("fill_between", "vlines"):  # an area over several dates, a bar over one
        real = getattr(Axes, name)
        monkeypatch.setattr(Axes, name, lambda self, *a, _real=real, _name=name, **k: drawn.append(
            (_name, k["label"])) or _real(self, *a, **k))
    history = pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=pd.date_range("2024-01-01", periods=3, freq="h"))
    forecast = pd.DataFrame({"a": [3.0] * steps}, index=pd.date_range("2024-01-01 03:00", periods=steps, freq="h"))
    bands = {80: (forecast - 1, forecast + 1), 95: (forecast - 2, forecast + 2)}
    assert plots.forecast_plot(history, forecast, None, "t", bands=bands)[:4] == b"\x89PNG"
    assert drawn == [("vlines" if steps == 1 else "fill_between", f"{p}% interval") for p in (95, 80)]


def test_the_forecast_plot_draws_the_first_series_or_those_named():
    dates = pd.date_range("2024-01-01", periods=6, freq="h")
    history = pd.DataFrame({f"s{i}": range(4) for i in range(10)}, index=dates[:4])
    forecast = pd.DataFrame({f"s{i}": [4.0, 5.0] for i in range(10)}, index=dates[4:])
    height = {n: png_size(plots.forecast_plot(history[[f"s{i}" for i in range(n)]],
                                              forecast[[f"s{i}" for i in range(n)]], None, "t"))[1] for n in (2, 8)}
    assert png_size(plots.forecast_plot(history, forecast, None, "t"))[1] == height[8]  # the first 8 of 10
    assert png_size(plots.forecast_plot(history, forecast, None, "t", series=["s9", "s0"]))[1] == height[2]


def test_the_backtest_plot_draws_the_data_and_every_period_of_each_forecast(monkeypatch):
    from matplotlib.axes import Axes

    drawn = []
    real = Axes.plot
    monkeypatch.setattr(Axes, "plot", lambda self, x, y, *a, **k: drawn.append(
        (k.get("label"), list(y), k.get("marker"))) or real(self, x, y, *a, **k))
    dates = pd.date_range("2024-01-01", periods=12, freq="h")
    truth = pd.DataFrame({"a": np.arange(12.0), "b": np.arange(12.0) + 1}, index=dates)

    def table(cutoffs, steps):
        return pd.DataFrame([{"unique_id": s, "ds": dates[c + 1 + k], "cutoff": dates[c], "M": 10.0 * c + k,
                              "N": -1.0, "y": truth.loc[dates[c + 1 + k], s]}
                             for s in ("a", "b") for c in cutoffs for k in range(steps)])

    # periods that overlap (cutoffs 1 and 3, 3 steps) and that leave dates out (cutoff 8: 7 and 8 are in none)
    assert plots.backtest_plot(table([1, 3, 8], 3), truth, "M", "t", naive=("N", "seasonal naive"))[:4] == PNG[:4]
    nan = float("nan")
    np.testing.assert_equal(drawn[:3], [  # per series: the data from the first cutoff on, every date once
        ("actual", list(np.arange(1.0, 12.0)), None),
        ("forecast", [10.0, 11.0, 12.0, nan, 30.0, 31.0, 32.0, nan, 80.0, 81.0, 82.0], None),  # one line each
        ("seasonal naive", [-1.0] * 3 + [nan] + [-1.0] * 3 + [nan] + [-1.0] * 3, None)])
    assert len(drawn) == 2 * 3 and drawn[3][1] == list(np.arange(2.0, 13.0))
    drawn.clear()
    plots.backtest_plot(table([1, 5], 1), truth, "M", "t", series=["b"])  # one step: points; no naive given
    np.testing.assert_equal(drawn[1:], [("forecast", [10.0, nan, 50.0], ".")])


@pytest.mark.parametrize("steps", [1, 3])
def test_the_backtest_plot_shades_each_period_s_intervals_apart(steps, monkeypatch):
    from matplotlib.axes import Axes

    drawn = []
    for name in ("fill_between", "vlines"):  # an area over several dates, a bar over one
        real = getattr(Axes, name)
        monkeypatch.setattr(Axes, name, lambda self, x, lo, hi, *a, _real=real, _name=name, **k: drawn.append(
            (_name, k["label"], list(lo), list(hi))) or _real(self, x, lo, hi, *a, **k))
    dates = pd.date_range("2024-01-01", periods=12, freq="h")
    truth = pd.DataFrame({"a": np.arange(12.0)}, index=dates)
    table = pd.DataFrame([{"unique_id": "a", "ds": dates[c + 1 + k], "cutoff": dates[c], "M": 1.0 * c,
                           "M-lo-95": c - 2.0, "M-lo-80": c - 1.0, "M-hi-80": c + 1.0, "M-hi-95": c + 2.0,
                           "y": 0.0} for c in (1, 5) for k in range(steps)])
    plots.backtest_plot(table, truth, "M", "t", levels=(80, 95))
    nan = float("nan")
    kind = "vlines" if steps == 1 else "fill_between"
    np.testing.assert_equal(drawn, [  # the widest first; a gap (NaN) between the periods
        (kind, f"{p}% interval", [1.0 - w] * steps + [nan] + [5.0 - w] * steps,
         [1.0 + w] * steps + [nan] + [5.0 + w] * steps) for p, w in ((95, 2.0), (80, 1.0))])
