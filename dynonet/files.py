"""Writing files safely: every file the package writes goes through here. A file is written
beside its name and renamed into place (never half-written); the files of one result are
written together (all or none); a pipe or device (`/dev/stdout`) is written into as it is."""

from __future__ import annotations

import errno
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from dynonet.errors import OutputError, os_reason


def _create_beside(where: Path) -> tuple[int, str]:
    """A new, empty temporary file in `where`'s folder, opened for writing: (fd, its path). It
    gets the mode open() gives a new file (0666 less the umask; mkstemp would give 0600), with
    no query of the process-wide umask."""
    while True:
        tmp = str(where.parent / f".{where.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue


def is_stream(path: str | Path) -> bool:
    """Whether `path` (through links) is a pipe, device or socket, which is written into as it
    is (`/dev/stdout`, a named pipe): a rename would replace it with a file."""
    if str(Path(path).absolute()).startswith(("/dev/", "/proc/")):
        return True  # /dev/stdout, /dev/fd/N, /proc/self/fd/N: a redirect's file is appended to, not replaced
    try:
        mode = os.stat(path).st_mode
    except OSError:  # nothing there yet (or a dangling link): a file to create
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_writable(path: Path) -> None:
    """Fail before any work if `path` cannot be written (its folder is tried with a probe; a
    pipe or device, with its permissions)."""
    try:
        path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a loop of links, before Python 3.13
        raise OutputError(f"{path}: cannot write there (a loop of symbolic links)") from None
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name")
    if is_stream(path):
        if not os.access(path, os.W_OK):
            raise OutputError(f"{path}: cannot write there (permission denied)")
        return
    where = Path(os.path.realpath(path))  # a link's target is what gets written
    folder = where.parent
    if not folder.is_dir():
        why = f"{folder} is a file, not a folder" if folder.exists() else f"folder {folder} does not exist"
        raise OutputError(f"{path}: cannot write there ({why})")
    try:
        fd, probe = _create_beside(where)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputError(f"{path}: cannot write there ({os_reason(e)})") from None


def _write_stream(path: Path, data: bytes) -> None:
    """Write into a pipe or device as it is. A named pipe with no reader is an error at once,
    not a wait forever (the open is non-blocking; the writes block again)."""
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0))
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def write_together(files: list[tuple[str | Path, bytes | str]]) -> None:
    """Write every file to a temporary file beside it (flushed to disk), then rename them into
    place in order. A failure while writing leaves none of them, and no temporary file, behind;
    only a failed rename (rare: the folder was writable a moment before) can leave the files
    before it replaced. A link is followed (its target is replaced, the link kept); a pipe or
    device (`is_stream`) is written into last, as it is. An OS error is an `OutputError`
    naming the file as given."""
    kinds = [(Path(path), data, is_stream(path)) for path, data in files]  # each path looked at once
    streams = [(path, data) for path, data, stream in kinds if stream]
    regular = [(path, data) for path, data, stream in kinds if not stream]
    staged: list[tuple[str, Path, Path]] = []  # (temporary file, where it goes, the name given)
    try:
        for path, data in regular:
            where = Path(os.path.realpath(path))
            try:
                fd, tmp = _create_beside(where)
                staged.append((tmp, where, path))
                with os.fdopen(fd, "wb") as f:
                    f.write(data.encode() if isinstance(data, str) else data)
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as e:
                raise OutputError(f"{path}: cannot write there ({os_reason(e)})") from None
        while staged:
            tmp, where, path = staged[0]
            try:
                os.replace(tmp, where)
            except OSError as e:
                raise OutputError(f"{path}: cannot write there ({os_reason(e)})") from None
            staged.pop(0)
    finally:
        for tmp, _, _ in staged:
            Path(tmp).unlink(missing_ok=True)
    for path, data in streams:
        try:
            _write_stream(path, data.encode() if isinstance(data, str) else data)
        except OSError as e:
            reason = "a named pipe with no reader" if e.errno == errno.ENXIO else os_reason(e)
            raise OutputError(f"{path}: cannot write there ({reason})") from None


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Write via a temporary file in the same folder and rename: never a half-written file."""
    write_together([(path, data)])


def json_text(obj: Any) -> str:
    """How every JSON file here is written: indented, NumPy numbers as floats."""
    return json.dumps(obj, indent=2, default=float) + "\n"


def write_json(path: str | Path, obj: Any) -> None:
    """Write `obj` as indented JSON, atomically."""
    atomic_write(path, json_text(obj))
