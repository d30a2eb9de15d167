import json

import numpy as np
import pandas as pd
import pytest

from dynonet.cli import main


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Runs on one small CSV: two trained (other lookbacks), the naive one, and two that score other windows."""
    root = tmp_path_factory.mktemp("compare")
    t = np.arange(400)
    pd.DataFrame({"date": pd.date_range("2024-01-01", periods=400, freq="h"),
                  "load": np.sin(2 * np.pi * t / 24) + t / 100, "temp": np.cos(t / 7)}).to_csv(root / "d.csv", index=False)
    (root / "elsewhere").mkdir()
    (root / "elsewhere" / "d.csv").write_bytes((root / "d.csv").read_bytes())  # the same rows at another path
    edited = pd.read_csv(root / "d.csv")
    edited.loc[390, "load"] += 1.0  # a test row's value: the training rows (and their statistics) as they were
    edited.to_csv(root / "edited.csv", index=False)
    common = ["--csv", str(root / "d.csv"), "--epochs", "2", "--device", "cpu", "--quiet"]
    for name, flags in {"linear": ["--model", "linear", "--horizon", "8", "--lookback", "32"],
                        "linear-48": ["--model", "linear", "--horizon", "8", "--lookback", "48"],
                        "linear-s1": ["--model", "linear", "--horizon", "8", "--lookback", "32", "--seed", "1"],
                        "linear-s2": ["--model", "linear", "--horizon", "8", "--lookback", "32", "--seed", "2"],
                        "repeat": ["--model", "repeat", "--horizon", "8", "--lookback", "32"],
                        "h4": ["--model", "linear", "--horizon", "4", "--lookback", "32"],
                        "load": ["--model", "linear", "--horizon", "8", "--lookback", "32", "--columns", "load"],
                        "controller": ["--horizon", "8", "--lookback", "32", "--worker-seq-len", "32", "--worker-hidden",
                                       "4", "--context-dim", "4", "--controller", "--controller-patch-len", "8"],
                        "all": ["--model", "linear", "--horizon", "8", "--lookback", "32", "--test-fraction", "0"],
                        "moved": ["--model", "linear", "--horizon", "8", "--lookback", "32", "--csv",
                                  str(root / "elsewhere" / "d.csv")],
                        "edited": ["--model", "linear", "--horizon", "8", "--lookback", "32", "--csv",
                                   str(root / "edited.csv")]}.items():
        assert main(["train", *common, *flags, "--out", str(root / name)]) == 0
    return root


def test_runs_on_the_same_windows_are_ordered_by_validation_and_the_choice_is_marked(runs, capsys):
    capsys.readouterr()
    assert main(["compare", str(runs / "repeat"), str(runs / "linear"), str(runs / "linear-48")]) == 0
    lines = capsys.readouterr().out.splitlines()
    metrics = {n: json.loads((runs / n / "metrics.json").read_text()) for n in ("linear", "linear-48", "repeat")}
    trained = sorted(("linear", "linear-48"), key=lambda n: metrics[n]["best_val_mse"])
    assert lines[0].startswith(f" run (in {runs})")  # runs in one folder: named within it, the table narrow
    rows = [line.split() for line in lines[1:4]]
    assert [r[0] for r in rows] == ["*" + trained[0], trained[1], "repeat"]
    for row, name in zip(rows, [*trained, "repeat"]):
        assert row[-2:] == [f"{metrics[name]['test']['mse']:.4f}", f"{metrics[name]['test']['mae']:.4f}"]
    seasonal = metrics["linear"]["test"]["seasonal_naive"]
    assert lines[4].split()[-2:] == [f"{seasonal['mse']:.4f}", f"{seasonal['mae']:.4f}"]  # the naive once: a run of it
    assert f"the lowest validation MSE: {trained[0]}." in lines[5] and lines[6].startswith("n/a: no validation")
    assert lines[7].startswith("Choose by validation")


def test_runs_alike_but_their_seeds_are_summarized_over_the_seeds(runs, capsys):
    import statistics

    names = ["linear", "linear-s1", "linear-s2", "linear-48"]
    capsys.readouterr()
    assert main(["compare", *(str(runs / n) for n in names)]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("") + 1
    assert lines[start].split()[:5] == ["runs", "of", "the", "same", "settings"]
    metrics = {n: json.loads((runs / n / "metrics.json").read_text()) for n in names}
    seeds = names[:3]
    assert len({metrics[n]["seed"] for n in seeds}) == 3  # the three differ in their seed alone

    def spread(key):
        values = [metrics[n]["best_val_mse"] if key == "val" else metrics[n]["test"][key] for n in seeds]
        return [f"{statistics.fmean(values):.4f}", "+-", f"{statistics.stdev(values):.4f}"]

    group = next(line for line in lines[start + 1:] if "linear-s1" in line)
    assert group.split("RevIN+Linear_H8")[1].split() == ["3", *spread("val"), *spread("mse"), *spread("mae")]
    single = next(line for line in lines[start + 1:] if "linear-48" in line).split()
    assert single[-3:] == [f"{metrics['linear-48']['best_val_mse']:.4f}",  # one seed: no std
                           f"{metrics['linear-48']['test']['mse']:.4f}", f"{metrics['linear-48']['test']['mae']:.4f}"]
    lower = "linear, linear-s1, linear-s2" if float(spread("val")[0]) < metrics["linear-48"]["best_val_mse"] \
        else "linear-48"
    assert lines[start + 3].endswith(f"* the lowest mean validation MSE: {lower}.")
    assert ("*" + lower) in (lines[start + 1] + lines[start + 2]).replace(" ", "")
    capsys.readouterr()
    assert main(["compare", str(runs / "linear"), str(runs / "linear-48")]) == 0
    assert "" not in capsys.readouterr().out.splitlines()  # no two runs alike: no summary
    # the same as JSON, for a script
    assert main(["compare", "--json", *(str(runs / n) for n in names)]) == 0
    result = json.loads(capsys.readouterr().out)
    vals = {n: metrics[n]["best_val_mse"] for n in names}
    assert [r["run"] for r in result["runs"]] == [str(runs / n) for n in sorted(names, key=vals.get)]
    assert result["chosen"] == str(runs / min(names, key=vals.get)) and result["test_windows"] > 0
    assert [n["naive"] for n in result["naive"]] == ["naive", "seasonal_naive"]
    group = next(g for g in result["by_settings"] if len(g["runs"]) == 3)
    assert group["runs"] == [str(runs / n) for n in sorted(seeds, key=vals.get)] and sorted(group["seeds"]) == [0, 1, 2]
    assert [f"{group['val_mse']:.4f}", "+-", f"{group['val_mse_std']:.4f}"] == spread("val")
    assert [f"{group['test_mae']:.4f}", "+-", f"{group['test_mae_std']:.4f}"] == spread("mae")
    assert result["by_settings_chosen"] == result["by_settings"][0]["runs"]


def test_the_same_rows_at_another_path_are_the_same_data_and_a_folder_is_named_by_its_own_name(runs, capsys,
                                                                                                 monkeypatch):
    capsys.readouterr()
    assert main(["compare", str(runs / "linear"), str(runs / "moved")]) == 0  # the file copied elsewhere
    capsys.readouterr()
    monkeypatch.chdir(runs / "linear")
    assert main(["compare", ".", "../moved"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(" run (in ") and {line.split()[0].lstrip("*") for line in lines[1:3]} == \
        {"linear", "moved"}  # not "" for "."


def test_the_data_check_does_not_depend_on_the_order_of_the_runs(runs, tmp_path, capsys):
    import shutil

    for name, source, change in (("old", "linear", None), ("tampered", "linear-s1", "0" * 64)):
        shutil.copytree(runs / source, tmp_path / name)
        meta = json.loads((tmp_path / name / "checkpoint.json").read_text())
        meta.pop("data_sha256")  # a run folder of a version before fingerprints ...
        if change:  # ... or one whose rows differ
            meta["data_sha256"] = change
        (tmp_path / name / "checkpoint.json").write_text(json.dumps(meta))
    for order in (["old", "linear-s1", "tampered"], ["tampered", "linear-s1", "old"], ["linear-s1", "old", "tampered"]):
        capsys.readouterr()
        folders = [str(tmp_path / n) if n != "linear-s1" else str(runs / n) for n in order]
        assert main(["compare", *folders]) == 2, order
        assert "its data differ from" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "old"), str(runs / "linear-s1")]) == 0  # the same file: by its name


def test_a_moved_copy_of_the_data_joins_its_settings_seeds(runs, capsys):
    capsys.readouterr()
    assert main(["compare", "--json", str(runs / "linear-s1"), str(runs / "moved")]) == 0
    groups = json.loads(capsys.readouterr().out)["by_settings"]
    assert len(groups) == 1 and sorted(groups[0]["seeds"]) == [0, 1]  # where the file lay is no setting


def test_a_controller_trained_on_validation_takes_no_part_in_the_choice(runs, capsys):
    capsys.readouterr()
    assert main(["compare", str(runs / "controller"), str(runs / "linear")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("*linear ") and lines[2].split()[3] == "n/a"  # its val MSE: not a guide
    assert any(line.startswith("n/a: no validation score to choose by") for line in lines)


@pytest.mark.parametrize("other, says", [
    ("h4", "h4: its horizon differs from {first}'s (4 against 8): the runs scored other windows"),
    ("load", "load: its series differ from {first}'s (['load'] against ['load', 'temp'])"),
    ("all", "all: the run has no test split (test fraction 0)"),
    ("edited", "edited: its data differ from {first}'s (other dates or values, with the same training statistics)"),
    ("linear", "linear: given twice"),
    ("missing", "missing: no such run folder"),
])
def test_runs_that_scored_other_windows_are_refused_in_one_line(runs, capsys, other, says):
    capsys.readouterr()
    assert main(["compare", str(runs / "linear"), str(runs / other)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says.format(first=runs / "linear") in err


@pytest.mark.parametrize("text", ["[]", '{"name": "x"}', None])
def test_a_metrics_file_that_is_not_a_finished_runs_is_one_line(runs, tmp_path, capsys, text):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(runs / "linear", broken)
    if text is None:  # scores without their figures
        metrics = json.loads((broken / "metrics.json").read_text())
        metrics["test"] = {}
        text = json.dumps(metrics)
    (broken / "metrics.json").write_text(text)
    capsys.readouterr()
    assert main(["compare", str(runs / "linear"), str(broken)]) == 2
    err = capsys.readouterr().err
    assert err == f"dynonet: error: {broken / 'metrics.json'}: not the metrics.json of a finished run\n"


def test_a_run_that_repeats_a_seed_is_no_other_seed(runs, tmp_path, capsys):
    import shutil

    shutil.copytree(runs / "linear", tmp_path / "copy")  # the same run twice: one seed
    shutil.copytree(runs / "linear", tmp_path / "other")  # seed 0 again with other scores (another device, say)
    metrics = json.loads((tmp_path / "other" / "metrics.json").read_text())
    metrics["best_val_mse"] *= 1.5
    metrics["test"]["mse"] *= 1.5
    (tmp_path / "other" / "metrics.json").write_text(json.dumps(metrics))
    shutil.copytree(runs / "linear-s1", tmp_path / "linear-s1")
    capsys.readouterr()
    assert main(["compare", str(runs / "linear"), str(tmp_path / "copy"), str(tmp_path / "linear-s1")]) == 0
    lines = capsys.readouterr().out.splitlines()
    group = next(line for line in lines if "linear-s1" in line and "+-" in line)
    assert group.split("RevIN+Linear_H8")[1].split()[0] == "2"  # seeds 0 and 1, not three runs
    assert any("copy repeats " in line and line.endswith("linear (the same settings, seed 0 and scores): counted once.")
               for line in lines)  # (runs in several folders are named by their paths)
    assert main(["compare", "--json", str(runs / "linear"), str(tmp_path / "copy")]) == 0
    (alone,) = json.loads(capsys.readouterr().out)["by_settings"]
    assert len(alone["runs"]) == 1 and alone["val_mse_std"] is None and alone["repeats"][0]["seed"] == 0
    # the same seed with other scores is not dropped (which one would be?): both counted, and said
    assert main(["compare", "--json", str(runs / "linear"), str(tmp_path / "other")]) == 0
    (both,) = json.loads(capsys.readouterr().out)["by_settings"]
    assert len(both["runs"]) == 2 and not both["repeats"] and both["shared"][0]["seed"] == 0
    assert main(["compare", str(runs / "linear"), str(tmp_path / "other")]) == 0
    assert any(line.endswith("share seed 0 and settings, with other scores (another device or version?): both "
                             "counted.") for line in capsys.readouterr().out.splitlines())
