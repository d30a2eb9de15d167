import dataclasses

import pytest
import torch

from dynonet.config import PRESETS, TREND_STAGE_SETTINGS
from dynonet.model import DynoNet
from dynonet.registry import MODELS, build_model

from conftest import small_model_cfg


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_registered_model_maps_window_to_horizon(name):
    torch.manual_seed(0)
    cfg = small_model_cfg(model=name)
    model = build_model(cfg).train()
    x = torch.randn(4, cfg.lookback, cfg.n_channels)
    y = model(x)
    assert y.shape == (4, cfg.horizon, cfg.n_channels) and torch.isfinite(y).all()
    counts = model.param_counts()
    assert counts["total"] == sum(p.numel() for p in model.parameters())
    assert sum(v for k, v in counts.items() if k != "total") == counts["total"]
    if counts["total"]:
        y.square().mean().backward()
        assert all(p.grad is not None for p in model.worker_parameters()), name


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_build_dynonet(preset):
    cfg = dataclasses.replace(PRESETS[preset].model, n_channels=7)
    model = build_model(cfg)
    assert model.param_counts()["total"] > 0


def test_full_h96_model_is_under_100k_parameters():
    """The seed's ~94K-parameter budget: the full system at H96 (controller and mixer on) stays under 100K."""
    cfg = dataclasses.replace(PRESETS["etth1-96"].model, n_channels=7, controller=True, mixer=True)
    counts = build_model(cfg).param_counts()
    assert counts["total"] < 100_000, counts
    assert {"revin", "controller", "trend", "workers", "mixer"} <= set(counts)
    assert counts["trend"] == cfg.lookback * cfg.horizon + cfg.horizon  # one Linear(L, H) shared by channels
    assert counts["revin"] == 2 * cfg.n_channels
    # the figures README and the preset comment quote (a change to the architecture shows here)
    assert counts["total"] == 99_947
    # without the controller the workers' heads read no context: 7 channels x 8 context x 96 fewer
    assert build_model(dataclasses.replace(cfg, controller=False)).param_counts()["total"] == 72_805
    assert build_model(dataclasses.replace(cfg, controller=False, mixer=False)).param_counts()["total"] == 72_558


def test_no_controller_model_has_no_controller_parameters_and_scale_invariance():
    torch.manual_seed(0)
    model = build_model(small_model_cfg(controller=False)).eval()
    assert model.controller_parameters() == [] and "controller" not in model.param_counts()
    x = torch.randn(2, 48, 3)
    with torch.no_grad():  # RevIN makes the forecast follow an affine change of the input
        assert torch.allclose(model(x * 3 + 5), model(x) * 3 + 5, atol=1e-4)


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("trend_input", ["average", "window"])
def test_zero_residual_makes_the_model_its_trend_path(name, trend_input):
    torch.manual_seed(0)
    model = build_model(small_model_cfg(model=name, trend_input=trend_input)).eval()
    path = model.trend_path()
    if path is None:
        return  # no trend path: trend-first training has no first stage for this model
    x = torch.randn(4, 48, 3) * 2 + 1
    if path is model:  # a linear model is its own trend path: nothing outside it to zero
        assert name == "linear"
        with torch.no_grad():
            before = model(x)
            model.zero_residual()
            assert torch.equal(model(x), before)  # and zeroing leaves it as it was
        return
    assert {id(p) for p in path.parameters()} < {id(p) for p in model.parameters()}  # shared, not copies
    with torch.no_grad():
        assert not torch.allclose(model(x), path(x), atol=1e-3)  # the workers add something at init
        for p in model.mixer.parameters():  # and a trained mixer would too
            p.normal_()
        model.zero_residual()
        assert torch.equal(model(x), path(x))


@pytest.mark.parametrize("changes, message", [
    ({"worker_seq_len": 64}, "--worker-seq-len 64 exceeds --lookback 48"),
    ({"controller_patch_len": 64}, "--controller-patch-len 64 exceeds --lookback 48"),
    ({"model": "patchtst", "patch_len": 64}, "--patch-len 64 exceeds --lookback 48"),
    ({"model": "patchtst", "d_model": 8, "n_heads": 3}, "--d-model must be divisible by --n-heads"),
    ({"controller": True, "dropout": 0.0}, "--dropout must be in"),  # the controller's head starts at logit(dropout / max)
    ({"model": "forecastnet"}, "unknown model 'forecastnet'"),
])
def test_settings_a_model_cannot_run_with_fail_before_any_data_is_read(changes, message):
    from dynonet.errors import ConfigError
    from dynonet.registry import check_config

    cfg = small_model_cfg(**changes)
    with pytest.raises(ConfigError, match=message):
        check_config(cfg)
    with pytest.raises(ConfigError, match=message):
        build_model(cfg)


def test_another_models_settings_are_not_checked():
    from dynonet.registry import check_config

    check_config(small_model_cfg(model="linear", worker_seq_len=64, patch_len=64))  # a linear model reads neither
    check_config(small_model_cfg(controller=False, controller_patch_len=64))  # no controller, no patches
    check_config(small_model_cfg(d_model=8, n_heads=3))  # DynoNet has no attention heads
    check_config(small_model_cfg(model="linear", controller=True, dropout=0.0))  # a linear model has no dropout head
    check_config(small_model_cfg(controller=False, dropout=0.0))


def _assert_unread_model_settings_change_nothing(cfg, unread):
    """Each `model.` setting in `unread`, changed, leaves the built model's weights and forecast as they were."""
    x = torch.randn(4, cfg.lookback, cfg.n_channels)
    for field in sorted(s.split(".", 1)[1] for s in unread if s.startswith("model.")):
        torch.manual_seed(0)
        model = build_model(cfg).eval()  # fresh each time: a training-mode pass moves BatchNorm's statistics
        torch.manual_seed(0)
        other = build_model(dataclasses.replace(cfg, **{field: _changed(cfg, field)})).eval()
        a, b = model.state_dict(), other.state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), field
        with torch.no_grad():
            assert torch.equal(model(x), other(x)), field
            # in training mode too (a dropout rate acts only there), with the same random draws
            outputs = []
            for m in (model.train(), other.train()):
                torch.manual_seed(1)
                outputs.append(m(x))
            assert torch.equal(*outputs), field


def _changed(cfg, name):
    """Another valid value of setting `name` of `cfg` (ModelConfig)."""
    v = getattr(cfg, name)
    field = cfg.__dataclass_fields__[name]
    if isinstance(v, bool):
        return not v
    if isinstance(v, (int, float)):
        return v * 2 if v else 0.1
    if isinstance(v, tuple):
        return () if v else ("film",)
    return next(c for c in field.metadata["choices"] if c != v)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_settings_a_model_declares_unread_change_nothing_it_computes(name):
    """`Forecaster.unread` lets a benchmark cell ignore those settings: each claim is checked
    by changing the setting and comparing the built model's weights and forecast."""
    cls = MODELS[name]
    cfg = small_model_cfg(model=name)
    _assert_unread_model_settings_change_nothing(cfg, cls.unread)
    if any(s.startswith("train.controller") for s in cls.unread):
        assert build_model(cfg).controller_parameters() == []  # so no controller optimizer or split reads them
    # without a trend path trend-first training has no first stage, and only then
    assert (build_model(cfg).trend_path() is None) == (TREND_STAGE_SETTINGS <= cls.unread)
    if "train.lr" in cls.unread:  # no optimizer reads the training settings of a model without parameters
        assert not list(build_model(cfg).parameters())
    assert not {"model.model", "model.lookback", "model.horizon"} & cls.unread


def test_the_settings_dynonet_leaves_unread_without_its_controller_change_nothing_it_computes():
    """`DynoNet.unread_with` tells a user that controller settings change nothing with the
    controller off: each claim checked as `unread`'s are."""
    cfg = small_model_cfg(model="dynonet", controller=False)
    extra = DynoNet.unread_with(cfg) - DynoNet.unread
    assert extra == DynoNet.controller_settings and DynoNet.unread_with(small_model_cfg()) == DynoNet.unread
    _assert_unread_model_settings_change_nothing(cfg, extra)
    assert build_model(cfg).controller_parameters() == []  # no controller optimizer or split reads train.controller_*
