import os

import pytest

from dynonet.files import atomic_write, is_stream


def test_written_files_are_readable_like_other_files(tmp_path):
    import stat

    atomic_write(tmp_path / "f.json", "{}")
    (tmp_path / "g.json").write_text("{}")
    mode = lambda name: stat.S_IMODE(os.stat(tmp_path / name).st_mode)  # noqa: E731
    assert mode("f.json") == mode("g.json")  # what the umask gives, not mkstemp's 0600
    before = os.umask(0o077)  # a umask set after import is the one a write follows
    try:
        atomic_write(tmp_path / "h.json", "{}")
    finally:
        os.umask(before)
    assert mode("h.json") == 0o600


def test_importing_the_package_leaves_the_umask_alone():
    import subprocess
    import sys

    code = ("import os; calls = []; real = os.umask; os.umask = lambda m: calls.append(m) or real(m); "
            "import dynonet.files; import dynonet.checkpoint; import dynonet; print(calls)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_atomic_write_leaves_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "f.json"
    atomic_write(target, "old")

    class Boom(str):
        def encode(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, Boom("new"))
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.json"]


@pytest.mark.skipif(os.name != "posix", reason="/dev and /proc paths")
def test_device_and_descriptor_paths_are_written_into_not_replaced(tmp_path):
    assert is_stream("/dev/null") and is_stream("/dev/stdout") and is_stream("/proc/self/fd/1")
    assert not is_stream(tmp_path / "new.csv") and not is_stream(tmp_path)
