import json

import pytest
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from dynonet.checkpoint import META, TENSORS, WEIGHTS, load_checkpoint, save_checkpoint
from dynonet.config import RunConfig
from dynonet.errors import CheckpointError
from dynonet.registry import MODELS, build_model

from conftest import small_model_cfg


ROUND_TRIPS = {name: {"model": name} for name in sorted(MODELS)} | {
    "dynonet-attention-controller": {"model": "dynonet", "controller_encoder": "attention", "controller_heads": 2}}


@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_round_trip_needs_no_flags(tmp_path, name):
    torch.manual_seed(0)
    cfg = RunConfig(model=small_model_cfg(**ROUND_TRIPS[name]))
    model = build_model(cfg.model).eval()
    with torch.no_grad():  # every weight off its initial value: zero-initialized heads too
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    widths = torch.rand(5, cfg.model.horizon, 3)  # a run's interval half-widths, saved beside the weights
    save_checkpoint(tmp_path, model, cfg, {"columns": ["a", "b", "c"]}, tensors={"intervals.half_widths": widths})
    loaded, cfg2, meta, tensors = load_checkpoint(tmp_path, tensors=("intervals.half_widths", "absent"))
    assert cfg2 == cfg and meta["columns"] == ["a", "b", "c"] and "dynonet_version" in meta
    assert list(tensors) == ["intervals.half_widths"] and torch.equal(tensors["intervals.half_widths"], widths)
    x = torch.randn(2, 48, 3)
    with torch.no_grad():
        assert torch.equal(model(x), loaded.eval()(x))
    assert (tmp_path / WEIGHTS).read_bytes()[:8] != b"\x80\x04\x95"  # not a pickle


def test_a_runs_other_tensors_are_kept_apart_from_the_weights_and_checked(tmp_path):
    cfg = RunConfig(model=small_model_cfg())
    model = build_model(cfg.model)
    save_checkpoint(tmp_path, model, cfg, {}, tensors={"intervals.half_widths": torch.ones(2)})
    # model.safetensors holds the model's state alone: it loads into the bare module
    model.load_state_dict(load_safetensors((tmp_path / WEIGHTS).read_bytes()))
    assert load_checkpoint(tmp_path, tensors=("intervals.half_widths",))[3]["intervals.half_widths"].tolist() == [1, 1]
    assert load_checkpoint(tmp_path)[3] == {}  # asked for none
    (tmp_path / TENSORS).write_bytes(save_safetensors({"intervals.half_widths": torch.zeros(2)}))
    with pytest.raises(CheckpointError, match=f"{TENSORS}: corrupted or replaced"):
        load_checkpoint(tmp_path, tensors=("intervals.half_widths",))
    (tmp_path / TENSORS).unlink()
    with pytest.raises(CheckpointError, match=f"{TENSORS}: missing"):
        load_checkpoint(tmp_path, tensors=("intervals.half_widths",))
    save_checkpoint(tmp_path, model, cfg, {})  # a run without: no file, nothing asked of one
    assert load_checkpoint(tmp_path, tensors=("intervals.half_widths",))[3] == {}


def test_corrupted_or_truncated_checkpoint_is_a_clean_error(tmp_path):
    cfg = RunConfig(model=small_model_cfg())
    save_checkpoint(tmp_path, build_model(cfg.model), cfg, {})
    weights = (tmp_path / WEIGHTS).read_bytes()
    (tmp_path / WEIGHTS).write_bytes(weights[: len(weights) // 2])
    with pytest.raises(CheckpointError, match="corrupted"):
        load_checkpoint(tmp_path)
    (tmp_path / META).write_text('{"format_version": 1, "config": ')
    with pytest.raises(CheckpointError, match="corrupted"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="no such run folder"):
        load_checkpoint(tmp_path / "missing")


@pytest.mark.parametrize("settings", [
    "not settings",
    {"model": "x", "train": {}, "data": {}},
    {"model": {"a_setting_from_another_version": 1}, "train": {}, "data": {}},
    {"model": {"batch_size": 0}, "train": {}, "data": {}},
    {"model": {}, "train": {"batch_size": 0}, "data": {}},
    None,  # none at all
])
def test_unreadable_settings_in_a_checkpoint_name_the_file(tmp_path, settings):
    from dynonet.predict import training_csv

    cfg = RunConfig(model=small_model_cfg())
    save_checkpoint(tmp_path, build_model(cfg.model), cfg, {})
    meta = json.loads((tmp_path / META).read_text())
    (tmp_path / META).write_text(json.dumps({**meta, "config": settings} if settings is not None else
                                            {k: v for k, v in meta.items() if k != "config"}))
    for read in (load_checkpoint, lambda run: training_csv(run, "give --csv")):  # the latter: predict without --csv
        with pytest.raises(CheckpointError, match=rf"{META}: settings unreadable") as e:
            read(tmp_path)
        assert "\n" not in str(e.value)


def test_weights_from_another_save_are_refused(tmp_path):
    """A crash between the two files of a save leaves new weights beside old JSON: caught on load."""
    cfg = RunConfig(model=small_model_cfg())
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    save_checkpoint(tmp_path / "a", build_model(cfg.model), cfg, {})
    save_checkpoint(tmp_path / "b", build_model(cfg.model), cfg, {})
    (tmp_path / "a" / WEIGHTS).write_bytes((tmp_path / "b" / WEIGHTS).read_bytes())
    with pytest.raises(CheckpointError, match="hash differs"):
        load_checkpoint(tmp_path / "a")


def test_an_unreadable_run_file_is_one_line_naming_it(tmp_path):
    cfg = RunConfig(model=small_model_cfg())
    (tmp_path / "run").mkdir()
    save_checkpoint(tmp_path / "run", build_model(cfg.model), cfg, {})
    (tmp_path / "run" / WEIGHTS).unlink()
    (tmp_path / "run" / WEIGHTS).mkdir()  # anything open() cannot read: a folder, no permission
    with pytest.raises(CheckpointError, match=rf"{WEIGHTS}: cannot read \(Is a directory\)"):
        load_checkpoint(tmp_path / "run")
    (tmp_path / "other" / META).mkdir(parents=True)
    with pytest.raises(CheckpointError, match=rf"{META}: cannot read \(Is a directory\)"):
        load_checkpoint(tmp_path / "other")
