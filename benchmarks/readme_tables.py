"""The results tables of the README and docs/RESULTS.md, computed from a benchmark's
results.json: test MSE and best validation MSE, mean +- std over seeds, the lowest mean per
column in bold.

    python benchmarks/readme_tables.py benchmarks/results/results.json [variant,variant,...] [ETTh1-H96,...]
    python benchmarks/readme_tables.py --update README.md   # rewrite every marked block
    python benchmarks/readme_tables.py --check README.md    # exit 1 if a block is stale

A marked block in such a file is `<!-- tables: RESULTS.json [variant,...] -->`, the tables,
`<!-- /tables -->`; the path is relative to the file's folder. A third word,
`ETTh1-H96,ETTh2-H96`, keeps those cells (dataset and horizon) alone. `<!-- tables: presets -->` is
the presets' table of `select_presets.py` (what validation picks, from every record here). To compare grids run with
different settings, name each: `<!-- tables: cosine=A/results.json,restarts=B/results.json
variant,... -->` gives a row per variant and grid.
"""

import json
import re
import sys
from pathlib import Path

from dynonet.benchmark import cell_settings, preset_name
from dynonet.summary import metric_table, seed_list
from dynonet.config import PRESETS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from select_presets import presets_table  # noqa: E402

LABELS = {
    "dynonet": "`dynonet` (full: controller trained on validation)",
    "workers-only": "`workers-only` (no controller)",
    "frozen-controller": "`frozen-controller` (controller lr 0)",
    "holdout": "`holdout` (controller trained on a holdout of the training period)",
    "frozen-holdout": "`frozen-holdout` (the same holdout, controller lr 0)",
    "linear": "`linear` (RevIN + Linear)",
    "linear-ridge": "`linear-ridge` (RevIN + Linear, closed-form ridge fit)",
}
OPEN = "<!-- tables: "
# a block's content never holds another opening marker: an unclosed block cannot swallow the next
BLOCK = re.compile(r"(<!-- tables: (\S+)(?: (\S+))?(?: (\S+))? -->\n)((?:(?!<!-- tables: ).)*?)(<!-- /tables -->)",
                   re.S)


class Failure(Exception):
    """An error `main` prints as one line, exiting 1."""


def fail(message: str) -> None:
    raise Failure(message)


def _records(path: Path) -> list[dict]:
    try:
        records = json.loads(path.read_text())["records"]
    except FileNotFoundError:
        fail(f"{path}: no such results file")
    except OSError as e:
        fail(f"{path}: cannot read ({e.strerror})")
    except (ValueError, KeyError, TypeError) as e:
        fail(f"{path}: not a benchmark results.json ({type(e).__name__}: {e})")
    return records


def _presets_note(records: list[dict]) -> str:
    """" (the presets)", " (the presets at ETTh1 H96, H192, ETTh2 H720)", " (the preset at ETTh1 H96)" or
    "": the cells in which
    every workers-only run trained exactly as the presets now train (every setting its model reads)."""
    runs = [r for r in records if r["model"] == "workers-only"]
    cells = sorted({(r["dataset"], r["horizon"]) for r in runs})
    as_presets = [(d, h) for d, h in cells if all(
        cell_settings(r["config"]) == cell_settings(PRESETS[preset_name(d, h)].to_dict())
        for r in runs if (r["dataset"], r["horizon"]) == (d, h))]
    if not as_presets:
        return ""
    if as_presets == cells:
        return " (the presets)"
    by_dataset = {d: [f"H{h}" for dd, h in as_presets if dd == d] for d, _ in as_presets}
    noun = "preset" if len(as_presets) == 1 else "presets"
    return f" (the {noun} at {', '.join(f'{d} ' + ', '.join(hs) for d, hs in by_dataset.items())})"


def tables(spec: str, variants: list[str] | None = None, root: Path = Path("."),
           cells: list[str] | None = None) -> str:
    """The README's two tables (test MSE, best validation MSE) for the records in `spec`: one
    results.json, or several as `label=path,...` (then a row per variant and label); `cells`
    (`ETTh1-H96`, ...): those columns alone."""
    sources = [part.split("=", 1) if "=" in part else (None, part) for part in spec.split(",")]
    named = len(sources) > 1 or sources[0][0] is not None
    if named and (not variants or any(label is None for label, _ in sources)):
        fail(f"{spec}: compare grids as label=path,... and name the variants")
    grids = [(label, path, _records(root / path)) for label, path in sources]
    if cells:
        grids = [(label, path, [r for r in found if f"{r['dataset']}-H{r['horizon']}" in cells])
                 for label, path, found in grids]
        with_records = {f"{r['dataset']}-H{r['horizon']}" for _, _, found in grids for r in found}
        if missing := [c for c in cells if c not in with_records]:
            fail(f"{spec}: no records in {', '.join(missing)}")
    held = [{r["model"] for r in found} for _, _, found in grids]
    # every variant named is in some grid (a row per grid that has it)
    if unknown := [v for v in variants or [] if all(v not in models for models in held)]:
        fail(f"{spec}: no records of {', '.join(unknown)}")
    if not named:
        records, rows = grids[0][2], variants
        labels = {v: LABELS.get(v, f"`{v}`") for v in {r["model"] for r in records}}
        if note := _presets_note(records):
            labels["workers-only"] = f"`workers-only`{note[:-1]}: no controller)"
    else:
        records, rows, labels = [], [], {}
        for v in variants:
            for label, _, found in grids:
                runs = [r for r in found if r["model"] == v]
                if not runs:
                    continue
                row = f"`{v}`, {label}" + (_presets_note(runs) if v == "workers-only" else "")
                rows.append(row)
                records += [{**r, "model": row} for r in runs]  # relabelled for display only
    seeds = ", ".join(map(str, seed_list(records)))
    out = []
    for metric, title in (("mse", "Test MSE"), ("best_val_mse", "Best validation MSE")):
        out.append(f"{title}, mean +- std over seeds {seeds} (lowest mean per column in bold, compared before "
                   "rounding):\n")
        out.append("\n".join(metric_table(records, metric, rows, labels)) + "\n")
    return "\n".join(out)


def updated(readme: Path) -> tuple[str, str]:
    """(the README as it is, the README with every marked block recomputed)."""
    try:
        text = readme.read_text()
    except OSError as e:
        fail(f"{readme}: cannot read ({e.strerror})")

    def block(m: re.Match) -> str:
        if m[2] == "presets":
            return m[1] + "\n" + presets_table(Path(__file__).resolve().parent) + "\n" + m[6]
        variants = m[3].split(",") if m[3] else None
        return m[1] + "\n" + tables(m[2], variants, readme.parent, m[4].split(",") if m[4] else None) + "\n" + m[6]

    new, n = BLOCK.subn(block, text)
    if n != text.count(OPEN):
        fail(f"{readme}: {text.count(OPEN) - n} of its {text.count(OPEN)} table blocks have no closing <!-- /tables -->")
    return text, new


def main(argv: list[str] | None = None) -> int:
    """The command line above; returns the exit status (1, with one line on stderr: an error,
    or with --check a stale block)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        if args[:1] in (["-h"], ["--help"]):
            print(__doc__.strip())
        elif len(args) == 2 and args[0] in ("--update", "--check"):
            readme = Path(args[1])
            old, new = updated(readme)
            if OPEN not in old:
                fail(f"{readme}: no table blocks (<!-- tables: ... -->) to {args[0][2:]}")
            if args[0] == "--check" and old != new:
                fail(f"{readme}: tables differ from their results.json; "
                     f"run python benchmarks/readme_tables.py --update {readme}")
            if args[0] == "--update" and old != new:
                try:
                    readme.write_text(new)
                except OSError as e:
                    fail(f"{readme}: cannot write ({e.strerror})")
        elif len(args) in (1, 2, 3) and not args[0].startswith("--"):
            print(tables(args[0], args[1].split(",") if len(args) > 1 else None, Path("."),
                         args[2].split(",") if len(args) > 2 else None), end="")
        else:
            fail("usage: readme_tables.py RESULTS.json [variant,...] [cell,...] | --update README.md | "
                 "--check README.md")
    except Failure as e:
        print(f"readme_tables: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
