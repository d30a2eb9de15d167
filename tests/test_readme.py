from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = next(line for line in readme.splitlines() if "pip install -e '.[test]'" in line)
    assert command in ci.splitlines()


def test_readme_results_tables_are_computed_from_the_committed_records():
    """Every marked table block in the README equals what benchmarks/readme_tables.py computes
    from its results.json: no number in those tables is typed by hand."""
    import subprocess
    import sys

    readme = (ROOT / "README.md").read_text()
    assert readme.count("<!-- tables: ") >= 2
    script = ROOT / "benchmarks" / "readme_tables.py"
    done = subprocess.run([sys.executable, str(script), "--check", str(ROOT / "README.md")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
