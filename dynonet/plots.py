"""The seed's figures: training curves, per-channel metrics, and a comparison with
published figures (labelled as published, with their lookback); a forecast and a backtest. Each returns
the image's bytes (PNG; a forecast's also PDF or SVG), so a
caller renders everything before it writes anything. Figures are built outside pyplot, so
neither the host's matplotlib backend nor its open figures are touched (a notebook keeps its own)."""

from __future__ import annotations

import io
from typing import Any, Sequence

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import LogFormatter


IMAGE_FORMATS = ("png", "pdf", "svg")  # what matplotlib writes without another library


def render(fig: Figure, tight: bool = True, fmt: str = "png") -> bytes:
    """The figure as PNG bytes (or `fmt`'s: pdf, svg), rendered by matplotlib's own backend for
    the format, whatever backend the host has chosen. Every text is drawn as written: series
    and file names are the user's ("Price in $"), not math for matplotlib to parse, and a file
    name read in a non-UTF-8 locale (its bytes kept as surrogates) is drawn as UTF-8."""
    for text in fig.findobj(Text):
        text.set_parse_math(False)
        text.set_text(text.get_text().encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    buf = io.BytesIO()
    with rc_context({"text.parse_math": False}):  # and the texts made while drawing (new ticks)
        fig.savefig(buf, format=fmt, dpi=110, **({"bbox_inches": "tight"} if tight else {}))
    return buf.getvalue()


def bar_styles(n: int) -> list[dict[str, Any]]:
    """Bar styles for `n` series, no two alike: matplotlib's ten default colors, then tab20's
    lighter shades of them (a grid of 15 variants repeats no color), and a hatch on each
    further twenty."""
    from matplotlib import colormaps

    if n <= 10:
        return [{"color": f"C{i}"} for i in range(n)]
    tab20 = colormaps["tab20"]
    hatches = ("", "//", "..", "xx", "\\\\", "oo")
    # tab20 pairs each dark shade (even) with its light one (odd): the dark ten first
    return [{"color": tab20(2 * (i % 10) + i // 10 % 2), "hatch": hatches[i // 20 % len(hatches)], "edgecolor": "white"}
            for i in range(n)]


def train_loss_label(history: list[dict[str, Any]], loss: str) -> str:
    """What the training-loss curve shows: the run's loss; the closed-form trend fit (epoch 0)
    is least squares whatever the loss."""
    if loss != "mse" and any(h.get("fit") == "ridge" for h in history):
        return f"train loss ({loss.upper()}; epoch 0, the closed-form fit: MSE)"
    return f"train loss ({loss.upper()})"


def training_curves(history: list[dict[str, Any]], title: str, loss: str = "mse") -> bytes:
    """Loss, validation MAE, learning rates and mean control signals per epoch (metrics.json's
    history); the trend-first stage is shaded. `loss` is the run's training loss (`train.loss`)."""
    epochs = [h["epoch"] for h in history]
    trend = [h["epoch"] for h in history if h.get("stage") == "trend"]  # the trend-first stage
    signals = sorted({k for h in history for k in h.get("signals", {})})  # none without a controller
    fig = Figure(figsize=(18 if signals else 13.5, 4))
    axes = fig.subplots(1, 4 if signals else 3)
    axes[0].plot(epochs, [h["train_loss"] for h in history], label=train_loss_label(history, loss))
    axes[0].plot(epochs, [h["val_mse"] for h in history], label="validation MSE")
    if any(h.get("controller_loss") is not None for h in history):
        axes[0].plot(epochs, [h["controller_loss"] for h in history], label="controller-split loss", alpha=0.7)
    best = min(history, key=lambda h: h["val_mse"])
    axes[0].axvline(best["epoch"], color="grey", ls=":", label=f"best epoch {best['epoch']}")
    if trend:
        for ax in axes:
            ax.axvspan(trend[0] - 0.5, trend[-1] + 0.5, color="C7", alpha=0.12, lw=0)
        axes[0].plot([], [], color="C7", alpha=0.3, lw=6, label="trend-first stage")
    axes[0].set_title("loss")
    axes[0].legend()
    axes[1].plot(epochs, [h["val_mae"] for h in history], color="C2")
    axes[1].set_title("validation MAE")
    stepped = [h for h in history if h.get("lr") is not None]  # not the closed-form trend fit
    axes[2].plot([h["epoch"] for h in stepped], [h["lr"] for h in stepped],
                 label="trend path, then workers" if any(h.get("stage") == "trend" for h in stepped) else "workers")
    if any(h.get("controller_lr") for h in history):
        axes[2].plot(epochs, [h["controller_lr"] for h in history], label="controller")
    axes[2].set_yscale("log")
    for set_formatter, minor in ((axes[2].yaxis.set_major_formatter, False), (axes[2].yaxis.set_minor_formatter, True)):
        set_formatter(LogFormatter(labelOnlyBase=not minor))  # plain 0.001, not math: `render` draws none
    axes[2].set_title("learning rate")
    axes[2].legend()
    if signals:
        for key in signals:
            axes[3].plot(epochs, [h.get("signals", {}).get(key) for h in history], label=key)
        axes[3].set_title("mean control signals (training batches)")
        axes[3].legend()
    for ax in axes:
        ax.set_xlabel("epoch")
    fig.suptitle(title)
    return render(fig)


MAX_CHANNEL_BARS = 40  # rows in the per-channel figure; beyond, it would grow without bound


def channel_metrics(per_channel: dict[str, dict[str, float]], title: str) -> bytes:
    """Test MSE and MAE per channel (standardized scale), sorted by MSE."""
    names = sorted(per_channel, key=lambda c: per_channel[c]["mse"])
    hidden = max(0, len(names) - MAX_CHANNEL_BARS)
    if hidden:  # the best and the worst; every channel's scores are in metrics.json
        half = MAX_CHANNEL_BARS // 2
        names = names[:half] + names[-half:]
        title += f" ({half} lowest and {half} highest MSE; {hidden} more in metrics.json)"
    fig = Figure(figsize=(12, max(4.0, 0.25 * len(names) + 1.5)))  # a readable row per channel
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("mse", "mae")):
        values = [per_channel[c][metric] for c in names]
        ax.barh(names, values, color="C0" if metric == "mse" else "C1")
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:.3f}", va="center", fontsize=8)
        ax.set_title(f"test {metric.upper()} per channel (standardized)")
    fig.suptitle(title)
    return render(fig)


def benchmark(measured: dict[str, Any], published: list[dict[str, Any]], title: str) -> bytes:
    """Measured run(s) on top, then published rows in grey, each labelled with its lookback."""
    rows = [(f"measured: {measured['label']} (L={measured['lookback']})", measured["mse"], "C0")]
    rows += [(f"{p['label']} (L={p['lookback']})", p["mse"], "0.6") for p in published]
    fig = Figure(figsize=(10, 0.45 * len(rows) + 1.5))
    ax = fig.subplots()
    labels, values, colors = zip(*rows)
    ax.barh(range(len(rows)), values, color=colors)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.invert_yaxis()
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.3f}", va="center", fontsize=8)
    ax.set_xlim(min(values) * 0.9, max(values) * 1.08)
    ax.set_xlabel("test MSE (standardized); grey = published figures, not measured here")
    ax.set_title(title)
    return render(fig)


def _interval_shade(level: int) -> dict[str, Any]:
    """How an interval at `level` percent is shaded: in the forecast's colour, the narrower darker."""
    return dict(color="C0", alpha=0.12 + 0.3 * (1 - level / 100), label=f"{level}% interval")


MAX_FORECAST_SERIES = 8  # series drawn by the forecast plot unless it is told which


def forecast_plot(history: Any, forecast: Any, actual: Any | None, title: str, fmt: str = "png",
                  series: Sequence[str] | None = None, bands: dict[int, tuple[Any, Any]] | None = None) -> bytes:
    """Recent history, forecast (and the truth, when given) per series, as PNG bytes (or
    `fmt`'s, one of IMAGE_FORMATS).

    history / forecast / actual: DataFrames indexed by date, one column per series (original units);
    series: the columns to draw, in this order (default: the first `MAX_FORECAST_SERIES`);
    bands: prediction intervals, level -> (lower, upper) DataFrames like the forecast.
    """
    columns = list(forecast.columns)[:MAX_FORECAST_SERIES] if series is None else list(series)
    fig = Figure(figsize=(11, 1.9 * len(columns) + 0.8), layout="constrained")
    axes = fig.subplots(len(columns), 1, sharex=True, squeeze=False)
    for ax, col in zip(axes[:, 0], columns):
        ax.plot(history.index, history[col], color="0.35", lw=1, label="recent history")
        # the forecast line starts at the last observed point, so the two read as one series
        ax.plot([history.index[-1], *forecast.index], [history[col].iloc[-1], *forecast[col]], color="C0", lw=1.5,
                label="forecast")
        for level, (lo, hi) in sorted((bands or {}).items(), reverse=True):  # the widest below
            shade = _interval_shade(level)
            if len(forecast) == 1:  # one step: a bar, as an area over one date has no width
                ax.vlines(forecast.index, lo[col], hi[col], lw=8, **shade)
            else:
                ax.fill_between(forecast.index, lo[col], hi[col], lw=0, **shade)
        if actual is not None and col in actual:
            ax.plot(actual.index, actual[col], color="C1", lw=1, ls="--", label="actual")
        ax.axvline(history.index[-1], color="grey", ls=":", lw=1)
        ax.set_ylabel(str(col), fontsize=8)
    axes[0, 0].legend(loc="upper left", fontsize=8, ncols=3 + len(bands or {}))
    shown = "" if len(columns) == forecast.shape[1] or series is not None else (
        f" (first {len(columns)} of {forecast.shape[1]} series)")
    fig.suptitle(title + shown)
    for label in axes[-1, 0].get_xticklabels():
        label.set(rotation=30, ha="right")
    return render(fig, tight=False, fmt=fmt)  # the constrained layout already fits the figure


def backtest_plot(backtest: Any, truth: Any, forecast: str, title: str, fmt: str = "png",
                  series: Sequence[str] | None = None, naive: tuple[str, str] | None = None,
                  levels: Sequence[int] = ()) -> bytes:
    """Each series' true values over a backtest and the forecast from every cutoff (each period
    a stretch of one line, its intervals at `levels` shaded around it), with a naive
    forecast's dashed beside it, as PNG bytes (or `fmt`'s).

    backtest: the long table `DynoNetForecaster.backtest` returns (`unique_id`, `ds`, `cutoff`,
    the `forecast` column, its bounds `forecast-lo-p` and `forecast-hi-p` at each of `levels`,
    a naive forecast's where given, `y`), in its order (cutoff by cutoff
    within each series); truth: the data, indexed by date, a column per series named as
    `unique_id` names it (every date: the periods may leave dates out); naive: its column and
    label; series: the ids to draw, in this order (default: the first `MAX_FORECAST_SERIES`).
    """
    ids = backtest["unique_id"].astype(str)
    columns = list(dict.fromkeys(ids))[:MAX_FORECAST_SERIES] if series is None else list(series)
    truth = truth[truth.index >= backtest["cutoff"].min()]
    lines = [(forecast, "forecast", dict(color="C0", lw=1.3))]
    if naive is not None:
        lines.append((naive[0], naive[1], dict(color="C1", lw=0.9, ls="--")))
    fig = Figure(figsize=(11, 1.9 * len(columns) + 0.8), layout="constrained")
    axes = fig.subplots(len(columns), 1, sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], columns):
        rows = backtest[(ids == name).to_numpy()]
        ax.plot(truth.index, truth[name], color="0.35", lw=1, label="actual")
        # one line of all periods, a NaN between two (one artist however many cutoffs); periods
        # of one step are points, as a line through one point has no length
        cutoffs = rows["cutoff"].to_numpy()
        starts = np.flatnonzero(cutoffs[1:] != cutoffs[:-1]) + 1  # each period's first row but the first
        x = np.insert(rows["ds"].to_numpy(), starts, rows["ds"].to_numpy()[starts])
        single = len(rows) == len(starts) + 1
        for column, label, look in lines:
            ax.plot(x, np.insert(rows[column].to_numpy(dtype=float), starts, np.nan), label=label,
                    marker="." if single else None, **look)
        for level in sorted(levels, reverse=True):  # the widest below
            lo, hi = (np.insert(rows[f"{forecast}-{side}-{level}"].to_numpy(dtype=float), starts, np.nan)
                      for side in ("lo", "hi"))
            shade = _interval_shade(level)
            if single:  # periods of one step: bars, as an area over one date has no width
                ax.vlines(x, lo, hi, lw=4, **shade)
            else:  # the NaN between two periods leaves a gap, as in the line
                ax.fill_between(x, lo, hi, lw=0, **shade)
        ax.set_ylabel(name, fontsize=8)
    axes[0, 0].legend(loc="upper left", fontsize=8, ncols=3 + len(levels))
    n = ids.nunique()
    shown = "" if len(columns) == n or series is not None else f" (first {len(columns)} of {n} series)"
    fig.suptitle(title + shown)
    for label in axes[-1, 0].get_xticklabels():
        label.set(rotation=30, ha="right")
    return render(fig, tight=False, fmt=fmt)
