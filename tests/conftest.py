import dataclasses
import functools
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
import torch

from dynonet.config import ModelConfig, RunConfig, TrainConfig, DataConfig


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--device", default="cpu", choices=("cpu", "cuda"),
                     help="device of the tests that take the `device` fixture (the recurrence backends and "
                          "the reference-path equalities); CI runs them on the CPU")


@pytest.fixture
def device(request: pytest.FixtureRequest) -> Iterator[torch.device]:
    """The device named by `pytest --device` (cpu by default): `pytest --device cuda
    tests/test_recurrence.py tests/test_reference.py` checks the CUDA path on a GPU machine."""
    name = request.config.getoption("--device")
    if name == "cuda" and not torch.cuda.is_available():
        pytest.fail("--device cuda: no CUDA device is available")
    # cuDNN's GRU rounds through TF32 by default (about 1e-4): these tests compare float32 paths
    tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield torch.device(name)
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)  # tiny tensors: one thread avoids oversubscription on a shared machine


@pytest.fixture
def backend_calls(monkeypatch) -> list[str]:
    """The cuDNN recurrence backends called from now on, by name (the fused loop runs inline)."""
    from dynonet import recurrence

    picked = []
    for name, real in list(recurrence._IMPLEMENTATIONS.items()):
        monkeypatch.setitem(recurrence._IMPLEMENTATIONS, name,
                            lambda *a, name=name, real=real: picked.append(name) or real(*a))
    return picked


def small_model_cfg(**kw) -> ModelConfig:
    base = dict(lookback=48, horizon=8, n_channels=3, season=6, worker_seq_len=16, worker_hidden=6, context_dim=4,
                controller_hidden=8, mixer_hidden=4, ma_kernel=5, patch_len=8, patch_stride=4, d_model=8,
                n_heads=2, n_layers=1, d_ff=16)
    base.update(kw)
    return ModelConfig(**base)


def small_run_cfg(**train) -> RunConfig:
    """A tiny CSV-free run on the first rows of bundled ETTh1 (70/10/20 split)."""
    t = dict(epochs=2, batch_size=32, eval_batch_size=64, patience=5, device="cpu")
    t.update(train)
    m = dataclasses.replace(small_model_cfg(), n_channels=0, season=0)  # the season: the data's time step's
    return RunConfig(m, TrainConfig(**t), DataConfig(dataset="ETTh1", max_rows=600))


def write(tmp_path, text, name="d.csv"):
    """`text` as the file `name` in `tmp_path`; its path."""
    p = tmp_path / name
    p.write_text(text)
    return p


def good_csv(n=10):
    """A valid CSV text of n hourly rows and two series."""
    dates = pd.date_range("2020-01-01", periods=n, freq="h")
    return "date,a,b\n" + "".join(f"{d},{i},{2 * i}\n" for i, d in enumerate(dates))


@functools.cache
def benchmark_script(name: str) -> ModuleType:
    """One of benchmarks/*.py (`readme_tables`, `select_presets`), imported as a module: its
    `main(argv)` runs in the test's process, without a subprocess's second import of torch."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
