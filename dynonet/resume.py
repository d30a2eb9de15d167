"""Resumable training state: what `dynonet train --resume` continues from.

After every epoch the trainer's full state (model, every optimizer and schedule, early
stopping and the training stage, the controller-split cursor, every RNG) is written to one safetensors file in the
run folder: the tensors as tensors, everything else as JSON in the file's metadata. One
file, replaced atomically, so a crash at any moment leaves either the previous epoch's state
or the new one, never a mix. Nothing is pickled. The file is removed once the run finishes.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as save_safetensors
from torch import Tensor

from dynonet.checkpoint import STATE_FILE, require_run_folder
from dynonet.files import atomic_write
from dynonet.errors import CheckpointError, first_message_line

_TENSOR, _DICT = "__tensor__", "__dict__"
# of the trainer's state (`BiLevelTrainer.state_dict`); one of another format is refused.
# 3: the workers' heads of a model without a controller have no context rows (2026-12-02).
STATE_FORMAT = 3


def _encode(obj: Any, tensors: dict[str, Tensor]) -> Any:
    """Replace tensors by references; dicts become key/value pairs so int keys survive JSON
    (an optimizer's state is keyed by parameter index)."""
    if isinstance(obj, Tensor):
        key = str(len(tensors))
        tensors[key] = obj.detach().cpu().clone().contiguous()
        return {_TENSOR: key}
    if isinstance(obj, dict):
        return {_DICT: [[k, _encode(v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [_encode(v, tensors) for v in obj]
    return obj


def _decode(obj: Any, tensors: dict[str, Tensor]) -> Any:
    if isinstance(obj, dict):
        if _TENSOR in obj:
            return tensors[obj[_TENSOR]]
        return {k: _decode(v, tensors) for k, v in obj[_DICT]}
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    return obj


def rng_state(generator: torch.Generator) -> dict[str, Any]:
    """Every random number generator a training run draws from."""
    return {
        "generator": generator.get_state(),
        "torch": torch.get_rng_state(),
        # only once CUDA is in use: reading its generators would otherwise start CUDA on every GPU
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
        "numpy": _numpy_state(),
        "python": random.getstate(),
    }


def _numpy_state() -> dict[str, Any]:
    state = np.random.get_state(legacy=False)
    state["state"]["key"] = state["state"]["key"].tolist()  # 624 uint32 words, JSON-able
    return state


def set_rng_state(state: dict[str, Any], generator: torch.Generator) -> None:
    """Restore what `rng_state` saved: Python, NumPy, torch (CPU, CUDA) and the batch-order generator."""
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    numpy_state = state["numpy"]
    numpy_state["state"]["key"] = np.asarray(numpy_state["state"]["key"], dtype=np.uint32)
    np.random.set_state(numpy_state)
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def save_state(run_dir: str | Path, state: dict[str, Any]) -> None:
    """Atomically replace the run folder's resume state."""
    tensors: dict[str, Tensor] = {}
    meta = json.dumps(_encode(state, tensors))
    atomic_write(Path(run_dir) / STATE_FILE, save_safetensors(tensors, metadata={"state": meta}))


def load_state(run_dir: str | Path) -> dict[str, Any]:
    """The training state that `save_state` wrote in `run_dir`; a damaged file is a CheckpointError."""
    path = Path(run_dir) / STATE_FILE
    require_run_folder(run_dir, missing="no such run folder to resume")
    if not path.is_file():
        raise CheckpointError(f"{path}: no resumable state (the run finished, or never completed an epoch)")
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
            meta = f.metadata()
        state = _decode(json.loads(meta["state"]), tensors)
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{path}: corrupted ({first_message_line(e)})") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:  # transient: not translated
        raise CheckpointError(f"{path}: written by another version of dynonet; start the run again, without "
                              "--resume (with --overwrite)")
    return state


def clear_state(run_dir: str | Path) -> None:
    """Remove the resume state of `run_dir`, if any (a finished or restarted run has none)."""
    (Path(run_dir) / STATE_FILE).unlink(missing_ok=True)
