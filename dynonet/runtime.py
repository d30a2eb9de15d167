"""Process-wide runtime state: the device, the random generators, the allocator.

A library should not change its host's state: nothing here is applied on `import dynonet`.
The command line seeds and tunes its own process; `DynoNetForecaster.fit` seeds inside
`host_rng_kept`, which gives the caller's generators back afterwards.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import random
import sys
from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np
import torch

from dynonet.errors import ConfigError

Log = Callable[[str], None]  # where progress lines go: print, a logger, or `quiet`


def quiet(_: str) -> None:
    """A `Log` that drops every line (the library's default: no output unless asked)."""


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when available, else CPU; 'cuda' without a CUDA device is a ConfigError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise ConfigError(f"--device {name!r}: choose auto, cpu or cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {name} requested but no CUDA device is available")
    return device


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (the one `seed` setting); return the generator that orders batches."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@contextmanager
def host_rng_kept(cuda: bool = False) -> Iterator[None]:
    """Run a block that seeds the global generators (Python, NumPy, torch), then restore the
    states they had: a caller's own random streams go on as if it had not run. The CUDA
    generators are kept too when the block trains on CUDA (`cuda`) or CUDA is already in use;
    otherwise reading them would start CUDA on every GPU for nothing."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    gpus = range(torch.cuda.device_count()) if cuda or torch.cuda.is_initialized() else []
    try:
        with torch.random.fork_rng(devices=gpus):
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)

# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse instead of returning it to the OS.

    Every training step allocates and frees the same large buffers (the worker recurrence
    keeps its gates for the backward pass: tens of MB per step). By default glibc serves
    each from fresh memory-mapped pages, and on 2 CPU cores the page faults cost about a
    third of the recurrence. Keeping freed memory is what a caching allocator (jemalloc,
    tcmalloc; PyTorch's CPU performance guide suggests them) gives; the resident size stays
    near its peak instead of shrinking between steps. Returns whether it was applied (only
    on Linux with glibc).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # no glibc (e.g. musl)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return all(
        mallopt(param, value) == 1
        for param, value in ((_M_MMAP_THRESHOLD, 1 << 30), (_M_TRIM_THRESHOLD, (1 << 31) - 1), (_M_TOP_PAD, 64 << 20))
    )
