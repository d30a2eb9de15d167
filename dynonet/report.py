"""What a run prints on the console: its parameters, a line per epoch, and the test scores."""

from __future__ import annotations

from typing import Any, Callable

from dynonet.errors import names_text
from dynonet.runtime import Log


def format_params(counts: dict[str, int]) -> str:
    """Parameter counts (`param_counts()`), one indented line per component."""
    return "\n".join(f"  {name:<14}{n:>10,}" for name, n in counts.items())


def score_text(x: float | None) -> str:
    """A score as printed: 4 decimals, or scientific notation where that would grow long."""
    return "n/a" if x is None else f"{x:.4f}" if abs(x) < 1e4 else f"{x:.4e}"


def aligned(header: list[str], rows: list[list[str]]) -> list[str]:
    """A table as lines: the first column left-aligned, the others right-aligned, each as wide
    as its widest cell, so that no two cells run together."""
    table = [header, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    return ["  ".join([r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:]))]).rstrip()
            for r in table]


def batch_size_line(batch_size: int, train_windows: int) -> str:
    """What a run says of a batch size its training windows chose (`runner.batch_size_for`)."""
    return (f"batch size {batch_size}: chosen by the {train_windows:,} training window{'s' * (train_windows != 1)} "
            "(--batch-size sets one)")


def result_block(title: str, scores: dict[str, Any]) -> str:
    """The printed block of test scores: overall MSE / MAE, then per channel."""
    bar = "=" * 60
    lines = [bar, f"TEST RESULTS - {title}", bar, f"MSE: {score_text(scores['mse'])}",
             f"MAE: {score_text(scores['mae'])}",
             "(each series standardized by its training rows' mean and std; in original units: metrics.json, "
             "or metrics_ in Python)"]
    lines += naive_lines(scores, "same test windows")
    if scores.get("intervals"):  # calibrated on validation: how often they held on test is measured, not assumed
        lines.append("test values inside the prediction intervals: "
                     + ", ".join(f"{p}%: {s['coverage']:.3f}" for p, s in scores["intervals"].items()))
    lines.append(bar)
    if "per_channel" in scores:
        # and the share of each series' test values inside each interval: the pooled share can hide a series
        held = {p: s["per_channel"] for p, s in (scores.get("intervals") or {}).items() if "per_channel" in s}
        lines += aligned(["channel", "MSE", "MAE", *(f"in {p}%" for p in held)],
                         [[str(c), score_text(m["mse"]), score_text(m["mae"]), *(f"{held[p][c]:.3f}" for p in held)]
                          for c, m in scores["per_channel"].items()])
        lines.append(bar)
    return "\n".join(lines)


def naive_lines(scores: dict[str, Any], where: str) -> list[str]:
    """What the numbers mean: a line for each naive forecast scored beside `scores` (its
    `naive` and `seasonal_naive`, each with `mse`, `mae`, `per_channel` and the latter's
    `season`) on `where` ("same test windows"), saying where it scores lower than the model."""
    return [f"{what.format(**naive)}, {where}: MSE {score_text(naive['mse'])}, MAE {score_text(naive['mae'])}"
            f"{_naive_wins(scores, naive)}" for key, what in _NAIVE_FORECASTS if (naive := scores.get(key))]


_NAIVE_FORECASTS = (("naive", "naive forecast (each series' last value repeated)"),
                    ("seasonal_naive", "seasonal naive (each series' last {season} steps repeated)"))


def _naive_wins(scores: dict[str, Any], naive: dict[str, Any]) -> str:
    """Where a naive forecast scores lower than the model: overall (MSE, MAE), else the
    series whose MSE it beats (a pooled score can hide a series); "" where nowhere."""
    overall = [name for name in ("MSE", "MAE") if naive[name.lower()] < scores[name.lower()]]
    if overall:
        return f" (lower than this model's {' and '.join(overall)})"
    mine, theirs = scores.get("per_channel", {}), naive.get("per_channel", {})
    series = [c for c in mine if c in theirs and theirs[c]["mse"] < mine[c]["mse"]]
    if not series:
        return ""
    named = names_text(series, 3)
    return f" (lower than this model's MSE on series {named})"


def epoch_line(e: dict[str, Any], loss: str = "mse") -> str:
    """One history entry as the line printed after each epoch; `loss`: the run's training loss,
    which the training figure is (the closed-form trend fit's is least squares: MSE)."""
    sig = " ".join(f"{k}={v:.3f}" for k, v in e["signals"].items())
    stage = "  trend" if e.get("stage") == "trend" else ""
    # the closed-form trend fit (`--trend-fit ridge`) has a penalty where epochs have an lr
    step = f"lr {e['lr']:.2e}" if e.get("lr") is not None else f"ridge penalty {e['penalty']:g}"
    trained_on = "mse" if e.get("fit") == "ridge" else loss
    return (f"epoch {e['epoch']:3d}{stage}  train {trained_on} {e['train_loss']:.4f}  val mse {e['val_mse']:.4f} "
            f"mae {e['val_mae']:.4f}  {step}  {e['seconds']:.1f}s{'  *' if e['best'] else ''}"
            + (f"  [{sig}]" if sig else ""))


STAGE_TITLES = {"trend": "stage 1 of 2: the trend path alone",
                "full": "stage 2 of 2: the whole model, from the trend path's best epoch"}


def epoch_report(log: Log, resumed_in: str | None = None, titles: bool = True,
                 loss: str = "mse") -> Callable[[dict[str, Any]], None]:
    """Logs each epoch's line (`loss`: the run's training loss), and a title where a trend-first
    run's stage begins (`resumed_in`: the stage a resumed run was in; no `titles` for a model
    that is its trend path alone)."""
    stages: list[str] = [] if resumed_in is None else [resumed_in]

    def report(entry: dict[str, Any]) -> None:
        stage = entry.get("stage", "full")
        if titles and (stage == "trend" and not stages or stage == "full" and stages[-1:] == ["trend"]):
            log(STAGE_TITLES[stage])
        stages.append(stage)
        log(epoch_line(entry, loss))
    return report
