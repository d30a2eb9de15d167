"""dynonet.summary: a grid's records as results.md tables (published figures apart)."""

from dynonet import summary

from test_benchmark import table


def test_published_figures_only_in_their_labelled_section():
    recs = []
    for seed, (mse, mae) in enumerate([(0.40, 0.42), (0.42, 0.43), (0.41, 0.41)]):
        recs.append({"dataset": "ETTh1", "horizon": 96, "lookback": 512, "model": "dynonet", "seed": seed,
                     "mse": mse, "mae": mae, "params": 1, "device": "cpu", "controller_data": "val",
                     "epochs": 3, "best_epoch": 2, "seconds": 1.0, "command": "dynonet benchmark",
                     "date": "2026-01-01T00:00:00"})
    md = summary.markdown(recs, "dynonet benchmark")
    measured, published = md.split("## Published figures (not measured here)", 1)
    assert "published" not in measured.lower()
    assert "0.386" not in measured and "0.373" not in measured
    assert table(md, "mse")[("dynonet", "ETTh1 H96")] == (0.41, 0.01, 3)
    rows = [ln for ln in published.splitlines() if ln.startswith("| ETTh1 | 96 |")]
    assert len(rows) >= 5 and all("published:" in ln and "PROTOCOL.md" in ln for ln in rows)
    assert published.lstrip().startswith("Copied from the shared protocol for orientation only")  # said above them
    assert any("| 512 | 0.386 | 0.415 |" in ln for ln in rows) and any("| 336 |" in ln for ln in rows)


def test_a_cell_without_published_figures_gets_no_empty_table_and_huge_scores_stay_readable():
    base = {"dataset": "ETTh1", "horizon": 24, "lookback": 96, "model": "linear", "mae": 0.5, "best_val_mse": 0.4,
            "params": 10, "device": "cpu", "controller_data": None, "epochs": 1, "best_epoch": 1, "seconds": 1.0,
            "config": {}, "date": "2026-11-30T12:00:00", "command": "x"}
    md = summary.markdown([{**base, "seed": 0, "mse": 5e18}, {**base, "seed": 1, "mse": 0.3}], "x")
    assert "| linear | **2.5000e+18 +- 3.5355e+18** |" in md
    published = md.split("## Published figures (not measured here)", 1)[1]
    assert "| dataset |" not in published and published.strip() == "No published figures for ETTh1 H24."


def test_runs_on_the_first_rows_only_say_so_and_get_no_published_figures():
    rec = {"dataset": "ETTh1", "horizon": 96, "lookback": 512, "model": "linear", "seed": 0, "mse": 1.9, "mae": 1.0,
           "params": 1, "device": "cpu", "controller_data": None, "epochs": 2, "best_epoch": 2, "seconds": 1.0,
           "command": "x", "date": "2026-11-30T12:00:00",
           "config": {"data": {"max_rows": 3000, "val_fraction": 0.2, "test_fraction": 0.3}}}
    md = summary.markdown([rec], "x")
    assert "splits (the first 3000 rows, 50%/20%/30% (`--max-rows`)) alike for every row" in md
    published = md.split("## Published figures (not measured here)", 1)[1]
    assert "None for ETTh1 H96" in published and "| dataset |" not in published and "0.386" not in published
    protocol = {**rec, "dataset": "ETTh2", "config": {"data": {"max_rows": None}}}
    merged = summary.markdown([rec, protocol], "x")  # shards of both kinds, merged
    assert ("splits: the first 3000 rows, 50%/20%/30% (`--max-rows`) in ETTh1 H96; the protocol's borders in "
            "ETTh2 H96") in merged and "alike for every row;" in merged
    published = merged.split("## Published figures (not measured here)", 1)[1]
    assert "None for ETTh1 H96" in published and "| ETTh2 | 96 |" in published and "| ETTh1 | 96 |" not in published


def test_every_variant_of_the_figure_has_a_bar_style_of_its_own(tmp_path, monkeypatch):
    from matplotlib.colors import to_rgba
    from matplotlib.container import BarContainer

    from dynonet import plots

    drawn = []
    monkeypatch.setattr(plots, "render", lambda fig, *a, **k: drawn.append(fig) or b"png")
    base = {"dataset": "ETTh1", "horizon": 96, "lookback": 96, "seed": 0, "mse": 0.4, "mae": 0.4, "params": 1,
            "device": "cpu", "controller_data": None, "epochs": 1, "best_epoch": 1, "seconds": 1.0}
    for n in (3, 15, 25):  # the default colors; tab20's beyond ten (the committed grid has 15); hatches beyond 20
        summary.figure([{**base, "model": f"m{i}"} for i in range(n)], tmp_path / "results.png")
        bars = [c.patches[0] for c in drawn.pop().axes[0].containers if isinstance(c, BarContainer)]
        assert len(bars) == n
        styles = {(to_rgba(b.get_facecolor()), b.get_hatch() or "") for b in bars}
        assert len(styles) == n, f"{n} variants drawn in {len(styles)} styles"


def test_csv_columns_are_named_by_file_name_and_files_of_one_name_stay_apart():
    base = {"horizon": 24, "lookback": 96, "model": "linear", "seed": 0, "mae": 0.5, "params": 1, "device": "cpu",
            "controller_data": None, "epochs": 1, "best_epoch": 1, "seconds": 1.0, "command": "x",
            "date": "2026-12-02T00:00:00", "config": {"data": {"csv": "x"}}, "preset": "quickstart"}
    merged = [{**base, "dataset": "/data/a/load.csv", "mse": 0.1}, {**base, "dataset": "/data/b/load.csv", "mse": 0.2},
              {**base, "dataset": "/data/b/temp.csv", "mse": 0.3}, {**base, "dataset": "ETTh1", "mse": 0.4,
                                                                     "config": {}},
              {**base, "dataset": "C:\\data\\wind.csv", "mse": 0.5}]  # a shard recorded on Windows
    md = summary.markdown(merged, "x")
    cells = table(md, "mse")
    assert list(cells) == [("linear", c) for c in ("/data/a/load.csv H24", "/data/b/load.csv H24", "ETTh1 H24",
                                                   "temp.csv H24", "wind.csv H24")]  # in the order of their names
    assert cells[("linear", "temp.csv H24")][0] == 0.3 and cells[("linear", "ETTh1 H24")][0] == 0.4
    assert cells[("linear", "/data/a/load.csv H24")][0] == 0.1 and cells[("linear", "/data/b/load.csv H24")][0] == 0.2
    assert "- data: `temp.csv` is /data/b/temp.csv; `wind.csv` is C:\\data\\wind.csv\n" in md  # the names shortened
    one = summary.markdown([merged[2]], "x")
    assert list(table(one, "mse")) == [("linear", "temp.csv H24")] and "No published figures for temp.csv H24." in one
    assert "/data/b/temp.csv H24" not in one
