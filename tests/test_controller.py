import dataclasses

import pytest
import torch

from dynonet.config import SIGNALS
from dynonet.controller import (DROPOUT_MAX, LR_SCALE_MAX, LR_SCALE_MIN, Controller, neutral_signals)
from dynonet.errors import ConfigError

from conftest import small_model_cfg


@pytest.mark.parametrize("patch", [1, 8, 5])
def test_untrained_controller_emits_neutral_signals(patch):
    cfg = small_model_cfg(controller_patch_len=patch)
    sig = Controller(cfg)(torch.randn(4, cfg.lookback, cfg.n_channels))
    ref = neutral_signals(cfg, 4, torch.device("cpu"))
    for name in ("gamma", "beta", "dropout", "lr_scale", "gate"):
        assert torch.allclose(getattr(sig, name), getattr(ref, name), atol=1e-6), name
    assert sig.context.shape == (4, cfg.context_dim)


def test_signals_stay_in_their_ranges_for_extreme_weights():
    cfg = small_model_cfg(film_scale=0.1)
    ctrl = Controller(cfg)
    for p in ctrl.parameters():
        torch.nn.init.normal_(p, std=10.0)
    sig = ctrl(torch.randn(16, cfg.lookback, cfg.n_channels) * 10)
    assert sig.dropout.min() >= 0 and sig.dropout.max() <= DROPOUT_MAX
    assert sig.lr_scale.min() >= LR_SCALE_MIN and sig.lr_scale.max() <= LR_SCALE_MAX
    assert sig.gate.min() >= 0 and sig.gate.max() <= 1
    assert (sig.gamma - 1).abs().max() <= 0.1 + 1e-6 and sig.beta.abs().max() <= 0.1 + 1e-6
    assert sig.context.abs().max() <= 1


@pytest.mark.parametrize("name", SIGNALS)
def test_fixed_signal_is_neutral_and_others_are_not(name):
    cfg = small_model_cfg(fixed_signals=(name,))
    ctrl = Controller(cfg)
    for p in ctrl.parameters():
        torch.nn.init.normal_(p, std=1.0)
    sig = ctrl(torch.randn(3, cfg.lookback, cfg.n_channels))
    ref = neutral_signals(cfg, 3, torch.device("cpu"))
    attrs = {"film": ("gamma", "beta")}.get(name, (name,))
    for a in attrs:
        assert torch.equal(getattr(sig, a), getattr(ref, a))
    assert not torch.allclose(sig.gate if name != "gate" else sig.dropout,
                              ref.gate if name != "gate" else ref.dropout)


def test_unknown_signal_is_a_config_error():
    with pytest.raises(ConfigError):
        Controller(dataclasses.replace(small_model_cfg(), fixed_signals=("noise",)))


@pytest.mark.parametrize("patch", [1, 8])
def test_fused_recurrence_equals_nn_gru_forward_and_backward(patch):
    torch.manual_seed(5)
    cfg = small_model_cfg(controller_patch_len=patch)
    controller = Controller(cfg)
    x = torch.randn(4, cfg.lookback, cfg.n_channels)
    results = []
    for fused in (True, False):
        controller.fused = fused
        state = controller.encode(x)
        grads = torch.autograd.grad((state * torch.arange(state.numel()).view_as(state)).sum(),
                                    list(controller.gru.parameters()))
        results.append((state, grads))
    (a, ga), (b, gb) = results
    assert torch.allclose(a, b, atol=1e-6)
    assert all(torch.allclose(p, q, atol=1e-5) for p, q in zip(ga, gb))


@pytest.mark.parametrize("batch", [1, 40])  # small inference batches take nn.GRU's cell, larger ones the fused loop
def test_inference_paths_equal_nn_gru(batch):
    torch.manual_seed(6)
    cfg = small_model_cfg()
    controller = Controller(cfg)
    x = torch.randn(batch, cfg.lookback, cfg.n_channels)
    with torch.no_grad():
        fast = controller.encode(x)
        controller.fused = False
        assert torch.allclose(fast, controller.encode(x), atol=1e-6)



def test_trend_modulation_starts_neutral_stays_in_range_and_moves_the_forecast():
    from dynonet.registry import build_model

    torch.manual_seed(0)
    cfg = small_model_cfg(trend_modulation=True, film_scale=0.2)
    model = build_model(cfg).eval()
    x = torch.randn(5, cfg.lookback, cfg.n_channels)
    sig = model.signals(x)
    assert sig.trend_gamma.shape == sig.trend_beta.shape == (5, cfg.n_channels)
    assert torch.equal(sig.trend_gamma, torch.ones(5, 3)) and torch.equal(sig.trend_beta, torch.zeros(5, 3))
    # neutral at initialization: the same forecast as with the trend left alone
    plain = dataclasses.replace(sig, trend_gamma=None, trend_beta=None)
    with torch.no_grad():
        assert torch.equal(model(x, sig), model(x, plain))
    assert {"trend_gamma", "trend_beta_abs"} <= set(sig.summary())
    assert "trend_gamma" not in neutral_signals(cfg, 5, torch.device("cpu")).summary()

    torch.nn.init.normal_(model.controller.trend.weight, std=10.0)
    sig = model.signals(x * 10)
    assert (sig.trend_gamma - 1).abs().max() <= 0.2 + 1e-6 and sig.trend_beta.abs().max() <= 0.2 + 1e-6
    assert not torch.allclose(sig.trend_gamma, torch.ones_like(sig.trend_gamma))
    # the trend branch's forecast, itself, moves by exactly the signal: y = gamma * trend + beta
    with torch.no_grad():
        delta = model(x, sig) - model(x, dataclasses.replace(sig, trend_gamma=None, trend_beta=None))
        z, stats = model.revin.normalize(x)
        trend = model.trend(z, before=model.average)
        expected = model.revin.denormalize(trend * (sig.trend_gamma[:, None] - 1) + sig.trend_beta[:, None], stats)
        expected -= model.revin.denormalize(torch.zeros_like(trend), stats)
    assert torch.allclose(delta, expected, atol=1e-4)
    # the controller's trend head learns from the forecast's loss
    model.train()
    model(x).square().mean().backward()
    assert model.controller.trend.weight.grad.abs().sum() > 0


def test_without_trend_modulation_the_controller_has_no_trend_head():
    cfg = small_model_cfg()
    sig = Controller(cfg)(torch.randn(2, cfg.lookback, cfg.n_channels))
    assert Controller(cfg).trend is None and sig.trend_gamma is None and sig.trend_beta is None


def test_trend_modulation_can_be_held_neutral_and_needs_the_controller():
    from dynonet.errors import ConfigError as Err
    from dynonet.registry import build_model, check_config

    cfg = small_model_cfg(trend_modulation=True, fixed_signals=("trend",))
    ctrl = Controller(cfg)
    for p in ctrl.parameters():
        torch.nn.init.normal_(p, std=1.0)
    sig = ctrl(torch.randn(3, cfg.lookback, cfg.n_channels))
    assert sig.trend_gamma is None and sig.trend_beta is None  # not modulated: the neutral value
    assert not torch.allclose(sig.gate, neutral_signals(cfg, 3, torch.device("cpu")).gate)
    with pytest.raises(Err, match="--trend-modulation needs the controller"):
        check_config(small_model_cfg(trend_modulation=True, controller=False))
    build_model(small_model_cfg(model="linear", trend_modulation=True, controller=False))  # not Linear's concern
