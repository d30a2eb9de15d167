"""Process-wide runtime settings that the command line applies to its own process.

They are not applied on `import dynonet`: a library should not change its host's allocator.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from typing import Callable

Log = Callable[[str], None]  # where progress lines go: print, a logger, or `quiet`


def quiet(_: str) -> None:
    """A `Log` that drops every line (the library's default: no output unless asked)."""

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
