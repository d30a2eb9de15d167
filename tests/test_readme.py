import json
from pathlib import Path

from conftest import benchmark_script

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = next(line for line in readme.splitlines() if "pip install -e '.[test]'" in line)
    assert command in ci.splitlines()


def test_readme_results_tables_are_computed_from_the_committed_records(capsys):
    """Every marked table block in the README and docs/RESULTS.md equals what
    benchmarks/readme_tables.py computes from its results.json: no number in those tables is
    typed by hand."""
    for doc in ("README.md", "docs/RESULTS.md"):
        assert (ROOT / doc).read_text().count("<!-- tables: ") >= 2, doc
        assert benchmark_script("readme_tables").main(["--check", str(ROOT / doc)]) == 0, \
            f"{doc}: {capsys.readouterr().err}"


def test_compared_grids_show_the_same_figures_as_each_grid_alone():
    readme_tables = benchmark_script("readme_tables")
    path = "benchmarks/results/results.json"
    alone = readme_tables.tables(path, ["workers-only", "linear"], ROOT).splitlines()
    compared = readme_tables.tables(f"a={path},b={path}", ["workers-only", "linear"], ROOT).splitlines()
    figures = lambda line: line.split(" | ", 1)[1]  # noqa: E731 - the cells after the row label
    rows_alone = [figures(line) for line in alone if line.startswith("| `")]
    rows_compared = [figures(line) for line in compared if line.startswith("| `")]
    assert rows_compared == [row for row in rows_alone for _ in range(2)]  # each variant twice: grid a, grid b
    # these runs had the mixer, which the presets have only where they fit the trend path otherwise
    assert "| `workers-only`, a |" in compared[4]
    # the no-mixer AdamW runs are the presets where validation picked that setting
    no_mixer = readme_tables.tables("a=benchmarks/no-mixer/adamw/results.json", ["workers-only"], ROOT)
    assert "| `workers-only`, a (the preset at ETTh1 H96) |" in no_mixer


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation but '-' and '_'
    dropped, spaces to hyphens."""
    import re

    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_relative_link_in_the_docs_reaches_its_file_and_heading():
    import re

    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md"]
    anchors = {}
    for doc in docs:
        text = re.sub(r"```.*?```", "", doc.read_text(), flags=re.S)
        anchors[doc.resolve()] = {github_anchor(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}
    broken = []
    for doc in docs:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # a web address
            path, _, anchor = target.partition("#")
            file = (doc.parent / path).resolve() if path else doc.resolve()
            if not file.exists() or (anchor and anchor not in anchors.get(file, ())):
                broken.append(f"{doc.relative_to(ROOT)}: {target}")
    assert not broken, broken
    assert github_anchor("The presets, picked on validation (`benchmarks/select_presets.py`)") == \
        "the-presets-picked-on-validation-benchmarksselect_presetspy"


def test_the_intervals_coverage_table_is_read_from_its_runs():
    from dynonet.benchmark import cell_settings
    from dynonet.config import PRESETS

    text = README.read_text()
    table = text[text.index("<!-- intervals coverage -->"):].split("\n\n")[1].splitlines()
    header = [c.strip() for c in table[0].strip("|").split("|")][1:]
    folders = [h.lower().replace(" h", "-") for h in header]  # "ETTh1 H96" -> "etth1-96"
    for row in table[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        level = cells[0].rstrip("%")
        for folder, cell in zip(folders, cells[1:]):
            metrics = json.loads((ROOT / "benchmarks" / "intervals" / folder / "metrics.json").read_text())
            assert metrics["config"]["train"]["seed"] == 0 and metrics["argv"][2:4] == ["--preset", folder]
            assert cell_settings(metrics["config"]) == cell_settings(PRESETS[folder].to_dict()), folder  # as it is now
            assert cell == f"{metrics['test']['intervals'][level]['coverage']:.3f}", (folder, level)
    assert len(table) == 2 + 5 and len(folders) == 8


def test_the_layout_table_names_every_module():
    """The README's Architecture table maps the package: a module added without a row there fails."""
    readme = README.read_text()
    missing = [p.name for p in sorted((ROOT / "dynonet").glob("*.py"))
               if not p.name.startswith("__") and f"`dynonet/{p.name}`" not in readme]
    assert not missing, f"modules without a row in the README's layout table: {missing}"
