"""A benchmark grid's records summarized: mean +- std over seeds per variant and cell, as the
Markdown tables of results.md (with published figures only in their own, labelled section)
and the bars of results.png."""

from __future__ import annotations

import math
import statistics
from datetime import datetime
from pathlib import Path, PureWindowsPath
from typing import Any, Callable

from dynonet.files import atomic_write
from dynonet.report import score_text
from dynonet.variants import VARIANTS


def split_text(record: dict[str, Any]) -> str:
    """How a run's rows were split, from its config: the protocol's borders, or (a CSV's rows,
    or the first `max_rows` rows) in the fractions given."""
    d = record.get("config", {}).get("data", {})
    if not d.get("max_rows") and not d.get("csv"):
        return "the protocol's borders"
    v, t = d.get("val_fraction", 0.1), d.get("test_fraction", 0.2)
    shares = f"{1 - v - t:.0%}/{v:.0%}/{t:.0%}"
    return f"the first {d['max_rows']} rows, {shares} (`--max-rows`)" if d.get("max_rows") else \
        f"the CSV's rows, {shares} in time"


def runs_text(n: int) -> str:
    return f"{n} run" + "s" * (n != 1)


def summarize(records: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(variant, column) -> mean/std/n over seeds of test MSE and MAE and best validation MSE
    (std: sample, ddof 1), and the parameter count."""
    column = columns(records)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        if r["mse"] is None:
            continue
        groups.setdefault((r["model"], column(r)), []).append(r)
    out = {}
    for key, rs in groups.items():
        cell: dict[str, Any] = {"n": len(rs), "params": max(r["params"] for r in rs)}
        for m in ("mse", "mae", "best_val_mse"):
            vals = [r[m] for r in rs if r.get(m) is not None]
            cell[m] = statistics.fmean(vals) if vals else None
            cell[f"{m}_std"] = statistics.stdev(vals) if len(vals) > 1 else None
            cell[f"{m}_n"] = len(vals)
        out[key] = cell
    return out


def dataset_names(records: list[dict[str, Any]]) -> dict[str, str]:
    """Each record's dataset as the tables name it: a CSV (recorded by its absolute path) by its
    file name, unless that would name two datasets alike; a bundled dataset by its name."""
    datasets = sorted({r["dataset"] for r in records})
    short = {d: PureWindowsPath(d).name or d for d in datasets}  # (cut at / and at \ alike: a shard recorded on Windows)
    if len(set(short.values())) < len(datasets):  # one name for two datasets: keep the ones that clash whole
        clash = {n for n in short.values() if list(short.values()).count(n) > 1}
        short = {d: d if n in clash else n for d, n in short.items()}
    return short if len(set(short.values())) == len(datasets) else {d: d for d in datasets}


def columns(records: list[dict[str, Any]]) -> Callable[[dict[str, Any]], str]:
    """record -> its table column among `records`: 'ETTh1 H96', or 'load.csv H24', with the
    lookback ('ETTh1 H96 L512') where the records mix several. Distinct cells get distinct names."""
    names, with_lookback = dataset_names(records), len({r["lookback"] for r in records}) > 1
    return lambda r: f"{names[r['dataset']]} H{r['horizon']}" + (f" L{r['lookback']}" if with_lookback else "")


def table_axes(records: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Rows (variants, in the grid's order) and columns (dataset, horizon and, when the records
    mix lookbacks, lookback) of the results tables."""
    column, names = columns(records), dataset_names(records)
    rows = [v for v in VARIANTS if any(r["model"] == v for r in records)]
    rows += sorted({r["model"] for r in records} - set(rows))
    cols = sorted({(r["dataset"], r["horizon"], r["lookback"]) for r in records}, key=lambda c: (names[c[0]], *c[1:]))
    return rows, list(dict.fromkeys(column({"dataset": d, "horizon": h, "lookback": L}) for d, h, L in cols))


def seed_list(records: list[dict[str, Any]]) -> list[int]:
    """The seeds present in `records`, sorted."""
    return sorted({r["seed"] for r in records})


def cell_text(c: dict[str, Any] | None, metric: str, n_seeds: int) -> str:
    """"mean +- std", with "(k seeds)" where the cell has fewer seeds than the table."""
    if c is None or c[metric] is None:
        return "-"
    std = score_text(c[f"{metric}_std"])
    k = c[f"{metric}_n"]
    short = f" ({k} seed{'s' * (k != 1)})" if k != n_seeds else ""
    return f"{score_text(c[metric])} +- {std}{short}"


def metric_table(records: list[dict[str, Any]], metric: str, rows: list[str] | None = None,
                 labels: dict[str, str] | None = None) -> list[str]:
    """One metric's Markdown table (the lines): a row per variant (`rows`, default all, in the
    grid's order; `labels` renames them), a column per dataset and horizon, mean +- std over
    seeds in each cell and the lowest mean of each column in bold."""
    all_rows, cols = table_axes(records)
    rows, labels = rows or all_rows, labels or {}
    cells, n_seeds = summarize(records), len(seed_list(records))
    lines = ["| variant | " + " | ".join(cols) + " |", "| --- |" + " --- |" * len(cols)]
    lowest = {c: min((cells[(v, c)][metric] for v in rows if cells.get((v, c), {}).get(metric) is not None),
                     default=None) for c in cols}
    for v in rows:
        out = []
        for c in cols:
            text = cell_text(cells.get((v, c)), metric, n_seeds)
            out.append(f"**{text}**" if text != "-" and cells[(v, c)][metric] == lowest[c] else text)
        lines.append(f"| {labels.get(v, v)} | " + " | ".join(out) + " |")
    return lines


def markdown(records: list[dict[str, Any]], command: str | None) -> str:
    """results.md: the tables of test MSE / MAE, validation MSE and parameters, then published figures."""
    from dynonet.published import published_for

    rows, cols = table_axes(records)
    names = dataset_names(records)
    devices = sorted({r["device"] for r in records})
    lookbacks = sorted({r["lookback"] for r in records})
    holdout = sorted({r["model"] for r in records if r["controller_data"] == "holdout"})
    dates = sorted(r["date"] for r in records)
    trained = [r.get("config", {}).get("train", {}) for r in records]
    ridge = sorted({r["model"] for r, t in zip(records, trained) if t.get("trend_first") and t.get("trend_fit") == "ridge"})
    commands = list(dict.fromkeys([r["command"] for r in records] + ([command] if command else [])))
    by_split: dict[str, list[str]] = {}  # how each record's rows were split -> its cells
    for r in records:
        by_split.setdefault(split_text(r), []).append(f"{names[r['dataset']]} H{r['horizon']}")
    if len(by_split) == 1:
        splits = f"splits ({next(iter(by_split))}) alike for every row"
    else:
        splits = "splits: " + "; ".join(f"{text} in {', '.join(dict.fromkeys(cells))}" for text, cells in by_split.items())
    on_csv = [bool(r.get("config", {}).get("data", {}).get("csv")) for r in records]
    csv_presets = sorted({r["preset"] for r, csv in zip(records, on_csv) if csv})
    presets = "; ".join((["`<dataset>-<H>`, or `<dataset>-96` for a horizon without one"] if not all(on_csv) else [])
                        + ([f"`{'`, `'.join(csv_presets)}` (`--preset`) on the CSV"] if csv_presets else []))
    # cells with runs on other rows than the protocol's: published figures do not compare with them
    cut = {(r["dataset"], r["horizon"]) for r in records if r.get("config", {}).get("data", {}).get("max_rows")}
    lines = [
        "# DynoNet benchmark (measured)", "",
        f"- command: {'; '.join(f'`{c}`' for c in commands)}",
        *([f"- data: {'; '.join(f'`{n}` is {d}' for d, n in names.items() if n != d)}"]
          if any(n != d for d, n in names.items()) else []),
        f"- device: {', '.join(devices) or '-'}",
        f"- date: written {datetime.now():%Y-%m-%d %H:%M}"
        + (f"; runs from {dates[0]} to {dates[-1]}" if dates else ""),
        f"- lookback L: {', '.join(map(str, lookbacks)) or '-'}; each cell's preset ({presets}), schedule and "
        f"early stopping alike for every row; {splits}",
        "- controller split: the controller is trained on validation batches (bi-level protocol) unless the "
        "variant says holdout" + (f" (holdout here: {', '.join(holdout)})" if holdout else "")
        + "; validation also drives early stopping; test is scored once on the restored best checkpoint",
        *([f"- closed-form trend fit (`--trend-fit ridge`) in: {', '.join(ridge)}. Their linear path is the exact "
           "weighted ridge least-squares fit on the training windows, the penalty chosen on validation MSE, "
           "recorded as epoch 0 (one of their epochs); the rest of such a model trains from it as usual"]
          if ridge else []),
        f"- cells: mean +- std over seed{'s' * (len(seed_list(records)) > 1)} {', '.join(map(str, seed_list(records)))}"
        " of test MSE / MAE on the "
        "standardized scale, (k seeds) where a cell has fewer; std is the sample standard deviation "
        "(n/a for one seed); lowest mean per column in bold (compared before rounding); every recorded run with "
        "scores is included" + ("; runs without scores are listed below the tables" if any(r.get("error") for r in records) else ""),
        "",
    ]
    header = ["| variant | " + " | ".join(cols) + " |", "| --- |" + " --- |" * len(cols)]
    for metric, title in (("mse", "Test MSE"), ("mae", "Test MAE"), ("best_val_mse", "Best validation MSE")):
        lines += [f"## {title}", ""]
        if metric == "best_val_mse":
            lines += ["What early stopping (and every choice of settings) sees. A controller trained on "
                      "validation batches has seen these windows, so its row here is not a clean comparison.", ""]
        lines += [*metric_table(records, metric), ""]
    failed = [r for r in records if r.get("error")]
    if failed:
        lines += ["## Runs without scores", "",
                  "Recorded runs that stopped before a model could be scored; the cells above leave them out "
                  "(their seed counts say so).", "",
                  "| variant | dataset | H | seed | reason |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {r['model']} | {names[r['dataset']]} | {r['horizon']} | {r['seed']} | {r['error']} |" for r in failed]
        lines.append("")
    # from every run that got as far as building its model, scored or not
    column = columns(records)
    params: dict[tuple[str, str], int] = {}
    for r in records:
        if r.get("params") is not None:
            key = (r["model"], column(r))
            params[key] = max(params.get(key, 0), r["params"])
    lines += ["## Parameters", "", *header]
    for v in rows:
        lines.append(f"| {v} | " + " | ".join(
            "-" if (v, c) not in params else f"{params[(v, c)]:,}" for c in cols) + " |")
    lines.append("")
    pub = [(d, h) for d, h in dict.fromkeys((r["dataset"], r["horizon"]) for r in records) if (d, h) not in cut]
    lines += ["## Published figures (not measured here)", ""]
    if cut:  # other rows, other splits: nothing to set beside them
        lines += [f"None for {', '.join(f'{names[d]} H{h}' for d, h in sorted(cut))}: runs there read the first rows of the "
                  "data only (`--max-rows`), and published figures, on the protocol's splits, do not compare with them.",
                  ""]
        if not pub:
            return "\n".join(lines)
    rows_published = [(d, h, p) for d, h in sorted(pub) for p in published_for(d, h)]
    if rows_published:  # (a grid on a CSV, or at another horizon, has none to copy)
        lines += ["Copied from the shared protocol for orientation only: other code, other lookbacks, other "
                  "machines. They are not part of the measured table above.", "",
                  "| dataset | H | published model / protocol | L | MSE | MAE | source |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
    for d, h, p in rows_published:
        mae = "-" if p["mae"] is None else f"{p['mae']:.3f}"
        lines.append(f"| {d} | {h} | {p['label']} | {p['lookback']} | {p['mse']:.3f} | {mae} | {p['source']} |")
    if missing := [f"{names[d]} H{h}" for d, h in sorted(pub) if not published_for(d, h)]:
        lines += [""] * bool(rows_published) + [f"No published figures for {', '.join(missing)}."]
    return "\n".join(lines) + "\n"


def figure(records: list[dict[str, Any]], path: Path) -> None:
    """results.png: test MSE per cell, mean +- std over seeds, one bar per variant."""
    from dynonet import plots

    rows, cols = table_axes(records)
    cells = summarize(records)
    fig = plots.Figure(figsize=(max(6.0, 0.35 * len(rows) * len(cols) + 2), 4.5))
    ax = fig.subplots()
    width = 0.8 / max(len(rows), 1)
    unscored = []  # (x, variant) where a variant has no scored run in a cell
    for i, (v, style) in enumerate(zip(rows, plots.bar_styles(len(rows)))):
        xs, ys, es = [], [], []
        for j, c in enumerate(cols):
            cell = cells.get((v, c))
            x = j - 0.4 + width * (i + 0.5)
            if cell is not None:
                xs.append(x)
                ys.append(cell["mse"])
                es.append(math.nan if cell["mse_std"] is None else cell["mse_std"])  # one seed: no std, no bar
            else:
                unscored.append(x)
        ax.bar(xs, ys, width, yerr=es, capsize=2, label=v, **style)
    lows = [c["mse"] - (c["mse_std"] or 0.0) for c in cells.values()]
    if lows:
        ax.set_ylim(bottom=0.9 * min(lows))  # differences between models are small next to the MSE itself
    for x in unscored:  # a gap says why, rather than nothing
        ax.text(x, 0.02, "no scores", transform=ax.get_xaxis_transform(), rotation=90, fontsize=6,
                ha="center", va="bottom", color="0.4")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_xlim(-0.5, len(cols) - 0.5)  # every variant's place in every cell, bar or not
    ax.set_ylabel("test MSE (standardized), mean +- std over seeds\n(no error bar: one seed; y axis does not "
                  "start at 0)")
    ax.set_title("measured here: " + ", ".join(sorted({r["device"] for r in records})))
    ax.legend(fontsize=7, ncol=2)
    atomic_write(path, plots.render(fig))
