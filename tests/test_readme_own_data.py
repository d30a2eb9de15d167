"""README, section "Your own data": every command runs as written (slow: real training, minutes on 2 cores)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def section() -> str:
    text = README.read_text()
    start = text.index("## Your own data")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else None]


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", section(), re.S)


def test_doc_has_the_promised_commands():
    bash = "\n".join(blocks("bash"))
    assert "dynonet train --csv data.csv --horizon 24 --lookback 96 --out run/ --epochs 3" in bash
    assert "dynonet predict --checkpoint run/ --csv recent.csv --out forecast.csv" in bash
    assert "--test-fraction 0" in bash and "bundled_path" in bash
    assert "DynoNetForecaster" in blocks("python")[0]


@pytest.mark.slow
def test_doc_commands_run_as_written(tmp_path):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", MPLBACKEND="Agg")
    for command in blocks("bash"):
        subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=tmp_path, env=env, check=True)
    assert (tmp_path / "forecast.png").read_bytes()[:4] == b"\x89PNG"
    (tmp_path / "example.py").write_text(blocks("python")[0])
    subprocess.run([sys.executable, "example.py"], cwd=tmp_path, env=env, check=True)
    assert (tmp_path / "run-py" / "model.safetensors").exists()
