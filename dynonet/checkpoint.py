"""Self-describing checkpoints: weights in safetensors, everything needed to rebuild the
model and its data pipeline in JSON (config, scaler statistics, columns, frequency, version).
Nothing is pickled, so loading never runs code from the file. A run's files are written
together (`files.write_together`)."""

from __future__ import annotations

import hashlib
import json
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
from dynonet.errors import CheckpointError, ConfigError, first_message_line, os_reason
from dynonet.files import json_text, write_together
from dynonet.registry import build_model

FORMAT_VERSION = 1
WEIGHTS, META = "model.safetensors", "checkpoint.json"
TENSORS = "intervals.safetensors"  # a run's tensors besides the model's (its prediction intervals)
METRICS = "metrics.json"  # a finished run's scores, config and timings
STATE_FILE = "resume.safetensors"  # an unfinished run's training state (resume.py)


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


# names of one-file models elsewhere: a new run folder so named is most likely a mistake
MODEL_FILE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".joblib", ".safetensors", ".ckpt", ".onnx", ".h5")


def refuse_file_name(run_dir: Path) -> None:
    """A CheckpointError for a new run folder named as one model file (`model.pt`): a run is a
    folder of several files. A folder that exists keeps its name."""
    if not run_dir.is_dir() and run_dir.suffix.lower() in MODEL_FILE_SUFFIXES:
        raise CheckpointError(f"{run_dir}: a run is a folder of several files, not one {run_dir.suffix} file; "
                              f"give a folder name, such as {str(run_dir.with_suffix(''))!r}")


def require_run_folder(run_dir: str | Path, missing: str = "no such run folder") -> None:
    """A CheckpointError unless `run_dir` is a folder: a file by that name, or `missing`."""
    if not Path(run_dir).is_dir():
        folder = Path(run_dir).parent
        raise CheckpointError(f"{run_dir}: " + (
            (f"one file of the run folder {str(folder)!r}; give the folder" if (folder / META).is_file() else
             "a file, not a run folder (the folder `dynonet train --out` writes)")
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


def meta_config(meta: dict[str, Any], run_dir: str | Path) -> RunConfig:
    """The settings a run folder's checkpoint.json (`meta`) records; unreadable ones are a CheckpointError."""
    try:
        return RunConfig.from_dict(meta["config"])
    except (KeyError, ConfigError) as e:
        raise CheckpointError(f"{Path(run_dir) / META}: settings unreadable ({e})") from None


def load_checkpoint(run_dir: str | Path, device: torch.device | str = "cpu", tensors: tuple[str, ...] = ()
                    ) -> tuple[Forecaster, RunConfig, dict[str, Any], dict[str, torch.Tensor]]:
    """Rebuild the model of a run folder; no flags needed. Returns the model, its config, the
    checkpoint's JSON, and those of the `tensors` saved beside the weights (`TENSORS`) that the
    run holds."""
    meta = read_meta(run_dir)
    cfg = meta_config(meta, run_dir)
    model = build_model(cfg.model, meta.get("freq"))
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
