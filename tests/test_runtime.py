import ctypes.util
import sys

from dynonet.runtime import keep_freed_memory


def test_keep_freed_memory_applies_on_linux_glibc_and_is_idempotent():
    first = keep_freed_memory()
    assert isinstance(first, bool) and keep_freed_memory() == first
    if sys.platform.startswith("linux") and ctypes.util.find_library("c"):
        assert first  # glibc accepts every setting
