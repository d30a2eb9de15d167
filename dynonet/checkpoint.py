"""Self-describing checkpoints: weights in safetensors, everything needed to rebuild the
model and its data pipeline in JSON (config, scaler statistics, columns, frequency, version).
Nothing is pickled, so loading never runs code from the file. Writes are atomic."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import secrets
import shlex
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from dynonet import __version__
from dynonet.base import Forecaster
from dynonet.config import RunConfig
from dynonet.errors import CheckpointError, ConfigError, OutputError, first_message_line, os_reason
from dynonet.registry import build_model

FORMAT_VERSION = 1
WEIGHTS, META = "model.safetensors", "checkpoint.json"
TENSORS = "intervals.safetensors"  # a run's tensors besides the model's (its prediction intervals)
METRICS = "metrics.json"  # a finished run's scores, config and timings
STATE_FILE = "resume.safetensors"  # an unfinished run's training state (resume.py)


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


def save_checkpoint(run_dir: str | Path, model: Forecaster, cfg: RunConfig, meta: dict[str, Any],
                    extra: list[tuple[str | Path, bytes | str]] = (),
                    tensors: dict[str, torch.Tensor] | None = None) -> None:
    """Save weights and a JSON description (`meta` holds columns, scaler, freq, ...), and the
    `extra` files (metrics, figures) of the same run, all written together. `tensors`: more
    tensors of the run (an interval's half-widths), in their own file (`TENSORS`), so that
    model.safetensors holds the model's state alone."""
    run_dir = Path(run_dir)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    weights = save_safetensors(state)
    files = [(run_dir / WEIGHTS, weights)]
    # The JSON, renamed after the tensors, names their hashes: a crash between the renames is
    # caught on loading instead of pairing mismatched files.
    description = {"format_version": FORMAT_VERSION, "dynonet_version": __version__,
                   "weights_sha256": hashlib.sha256(weights).hexdigest()}
    if tensors:
        more = save_safetensors({k: v.detach().contiguous().cpu() for k, v in tensors.items()})
        files.append((run_dir / TENSORS, more))
        description["tensors_sha256"] = hashlib.sha256(more).hexdigest()
    description |= {"config": cfg.to_dict(), **meta}
    write_together([*files, (run_dir / META, json_text(description)), *extra])


def save_tensors(run_dir: str | Path, meta: dict[str, Any], tensors: dict[str, torch.Tensor],
                 extra: list[tuple[str | Path, bytes | str]] = ()) -> None:
    """Give a saved run other tensors (`TENSORS`; none: the file goes) and the checkpoint.json
    `meta` that names them, written together with the `extra` files; the weights stay as they are."""
    run_dir = Path(run_dir)
    description = {k: v for k, v in meta.items() if k != "tensors_sha256"}
    files = []
    if tensors:
        more = save_safetensors({k: v.detach().contiguous().cpu() for k, v in tensors.items()})
        files.append((run_dir / TENSORS, more))
        description["tensors_sha256"] = hashlib.sha256(more).hexdigest()
    write_together([*files, (run_dir / META, json_text(description)), *extra])
    if not tensors:
        (run_dir / TENSORS).unlink(missing_ok=True)


def require_run_folder(run_dir: str | Path, missing: str = "no such run folder") -> None:
    """A CheckpointError unless `run_dir` is a folder: a file by that name, or `missing`."""
    if not Path(run_dir).is_dir():
        raise CheckpointError(f"{run_dir}: " + ("a file, not a run folder (the folder `dynonet train --out` writes)"
                                                if Path(run_dir).exists() else missing))


def read_meta(run_dir: str | Path) -> dict[str, Any]:
    """checkpoint.json of a run folder, parsed; no folder, or a missing, unreadable or other-format file, is a CheckpointError."""
    path = Path(run_dir) / META
    require_run_folder(run_dir)
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        if (Path(run_dir) / STATE_FILE).is_file():
            raise CheckpointError(f"{run_dir}: an interrupted run, not finished; `dynonet train --out "
                                  f"{shlex.quote(str(run_dir))} --resume` finishes it") from None
        raise CheckpointError(f"{path}: missing (not a DynoNet run folder?)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: corrupted ({e})") from None
    except OSError as e:  # a folder by that name, no permission
        raise CheckpointError(f"{path}: cannot read ({os_reason(e)})") from None
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: unsupported checkpoint format {meta.get('format_version')!r}"
                              if isinstance(meta, dict) else f"{path}: corrupted (not an object)")
    return meta


def load_checkpoint(run_dir: str | Path, device: torch.device | str = "cpu", tensors: tuple[str, ...] = ()
                    ) -> tuple[Forecaster, RunConfig, dict[str, Any], dict[str, torch.Tensor]]:
    """Rebuild the model of a run folder; no flags needed. Returns the model, its config, the
    checkpoint's JSON, and those of the `tensors` saved beside the weights (`TENSORS`) that the
    run holds."""
    meta = read_meta(run_dir)
    try:
        cfg = RunConfig.from_dict(meta["config"])
    except (KeyError, ConfigError) as e:
        raise CheckpointError(f"{Path(run_dir) / META}: settings unreadable ({e})") from None
    model = build_model(cfg.model)
    path = Path(run_dir) / WEIGHTS
    try:
        raw = path.read_bytes()
        if meta.get("weights_sha256", hashlib.sha256(raw).hexdigest()) != hashlib.sha256(raw).hexdigest():
            raise CheckpointError(f"{path}: corrupted or replaced (its hash differs from the one in {META}; "
                                  "an interrupted save?)")
        model.load_state_dict(load_safetensors(raw))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing") from None
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({os_reason(e)})") from None
    except (SafetensorError, RuntimeError, ValueError) as e:
        raise CheckpointError(f"{path}: corrupted or incompatible ({first_message_line(e)})") from None
    others = _saved_tensors(Path(run_dir), meta, tensors)
    return model.to(device), cfg, meta, others


def _saved_tensors(run_dir: Path, meta: dict[str, Any], names: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """Those of `names` that the run's `TENSORS` file holds (none where it has no such file)."""
    if not names or "tensors_sha256" not in meta:
        return {}
    path = run_dir / TENSORS
    try:
        raw = path.read_bytes()
        if meta["tensors_sha256"] != hashlib.sha256(raw).hexdigest():
            raise CheckpointError(f"{path}: corrupted or replaced (its hash differs from the one in {META})")
        saved = load_safetensors(raw)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing ({META} names it)") from None
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({os_reason(e)})") from None
    except (SafetensorError, ValueError) as e:
        raise CheckpointError(f"{path}: corrupted ({first_message_line(e)})") from None
    return {k: saved[k] for k in names if k in saved}
