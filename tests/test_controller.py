import dataclasses

import pytest
import torch

from dynonet.config import SIGNALS
from dynonet import controller as controller_module
from dynonet.controller import (DROPOUT_MAX, LR_SCALE_MAX, LR_SCALE_MIN, Controller, neutral_signals)
from dynonet.errors import ConfigError

from conftest import small_model_cfg


ENCODERS = ("joint", "attention")


@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("patch", [1, 8, 5])
def test_untrained_controller_emits_neutral_signals(patch, encoder):
    cfg = small_model_cfg(controller_patch_len=patch, controller_encoder=encoder, controller_heads=2)
    sig = Controller(cfg)(torch.randn(4, cfg.lookback, cfg.n_channels))
    ref = neutral_signals(cfg, 4, torch.device("cpu"))
    for name in ("gamma", "beta", "dropout", "lr_scale", "gate"):
        assert torch.allclose(getattr(sig, name), getattr(ref, name), atol=1e-6), name
    assert sig.context.shape == (4, cfg.context_dim)


@pytest.mark.parametrize("encoder", ENCODERS)
def test_signals_stay_in_their_ranges_for_extreme_weights(encoder):
    cfg = small_model_cfg(film_scale=0.1, controller_encoder=encoder, controller_heads=2)
    ctrl = Controller(cfg)
    for p in ctrl.parameters():
        torch.nn.init.normal_(p, std=10.0)
    sig = ctrl(torch.randn(16, cfg.lookback, cfg.n_channels) * 10)
    assert sig.dropout.min() >= 0 and sig.dropout.max() <= DROPOUT_MAX
    assert sig.lr_scale.min() >= LR_SCALE_MIN and sig.lr_scale.max() <= LR_SCALE_MAX
    assert sig.gate.min() >= 0 and sig.gate.max() <= 1
    assert (sig.gamma - 1).abs().max() <= 0.1 + 1e-6 and sig.beta.abs().max() <= 0.1 + 1e-6
    assert sig.context.abs().max() <= 1
    ref = neutral_signals(cfg, 16, torch.device("cpu"))
    for name in ("gamma", "beta", "dropout", "lr_scale", "gate", "context"):
        assert getattr(sig, name).shape == getattr(ref, name).shape, name


@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("name", SIGNALS)
def test_fixed_signal_is_neutral_and_others_are_not(name, encoder):
    cfg = small_model_cfg(fixed_signals=(name,), controller_encoder=encoder, controller_heads=2)
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


@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("patch", [1, 8])
def test_fused_recurrence_equals_nn_gru_forward_and_backward(patch, encoder):
    torch.manual_seed(5)
    cfg = small_model_cfg(controller_patch_len=patch, controller_encoder=encoder, controller_heads=2)
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
    if encoder == "joint":
        assert all(torch.allclose(p, q, atol=1e-5) for p, q in zip(ga, gb))
    else:  # float32 rounding, relative to the largest gradient (the per-channel state passes LayerNorm)
        assert all((p - q).abs().max() <= 1e-5 * q.abs().max() for p, q in zip(ga, gb))


@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("batch", [1, 40])
def test_the_fused_inference_loop_equals_nn_gru(batch, encoder, monkeypatch):
    """Without gradient the fused loop runs from SMALL_INFERENCE_BATCH sequences up (fewer take
    nn.GRU's own cell, faster there); held at 0 here, so a batch of one window runs the loop too."""
    monkeypatch.setattr(controller_module, "SMALL_INFERENCE_BATCH", 0)
    torch.manual_seed(6)
    cfg = small_model_cfg(controller_encoder=encoder, controller_heads=2)
    controller = Controller(cfg)
    x = torch.randn(batch, cfg.lookback, cfg.n_channels)
    with torch.no_grad():
        fast = controller.encode(x)
        controller.fused = False
        assert torch.allclose(fast, controller.encode(x), atol=1e-6)



@pytest.mark.parametrize("encoder", ENCODERS)
def test_trend_modulation_starts_neutral_stays_in_range_and_moves_the_forecast(encoder):
    from dynonet.registry import build_model

    torch.manual_seed(0)
    cfg = small_model_cfg(trend_modulation=True, film_scale=0.2, controller_encoder=encoder, controller_heads=2)
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


def _randomized(ctrl: Controller, seed: int = 0) -> Controller:
    torch.manual_seed(seed)
    for p in ctrl.parameters():
        torch.nn.init.normal_(p, std=0.5)
    return ctrl.eval()


def test_joint_encoder_equals_a_plain_loop_over_patches():
    """The joint encoder and heads against a plain version: the oldest L % p steps dropped,
    each patch of p steps read as its p rows of all channels one after another, embedded,
    nn.GRU over the patches, and each channel's signals read from its slice of the heads."""
    cfg = small_model_cfg(controller_patch_len=5, worker_layers=2, trend_modulation=True, film_scale=0.3)
    ctrl = _randomized(Controller(cfg))
    x = torch.randn(4, cfg.lookback, cfg.n_channels)
    B, L, C = x.shape
    p, n, h = 5, cfg.worker_layers, cfg.worker_hidden
    first = L % p  # 48 % 5: three steps nobody reads
    patches = [torch.cat([x[:, first + j * p + i] for i in range(p)], -1) for j in range(L // p)]  # each (B, p * C)
    expected = ctrl.gru(ctrl.embed(torch.stack(patches, 1)))[1][0]  # (B, hidden)
    with torch.no_grad():
        assert torch.allclose(ctrl.encode(x), expected, atol=1e-5)
        sig = ctrl(x)
        close = lambda a, b: torch.allclose(a, b, atol=1e-5)  # noqa: E731
        film = 0.3 * torch.tanh(ctrl.film(expected)).view(B, 2, n, C, h)  # (gamma, beta) x layers x channels x units
        assert close(sig.gamma, 1 + film[:, 0]) and close(sig.beta, film[:, 1])
        assert close(sig.gate, torch.sigmoid(ctrl.gate(expected)).view(B, C, h))
        assert close(sig.dropout, DROPOUT_MAX * torch.sigmoid(ctrl.dropout(expected)))
        lr = LR_SCALE_MIN + (LR_SCALE_MAX - LR_SCALE_MIN) * torch.sigmoid(ctrl.lr_scale(expected))
        assert close(sig.lr_scale, lr) and close(ctrl.lr_scale_from(expected), lr)
        trend = 0.3 * torch.tanh(ctrl.trend(expected)).view(B, 2, C)
        assert close(sig.trend_gamma, 1 + trend[:, 0]) and close(sig.trend_beta, trend[:, 1])
        assert close(sig.context, torch.tanh(ctrl.context(expected)))


def test_attention_encoder_equals_a_plain_per_channel_loop():
    """The batched per-channel encoder and heads against a plain version: nn.GRU on each
    channel's patches alone, attention over the channel tokens written out by hand, and each
    signal read from its channel's token by the shared heads."""
    cfg = small_model_cfg(controller_encoder="attention", controller_heads=2, controller_patch_len=5,
                          worker_layers=2, trend_modulation=True, film_scale=0.3)
    ctrl = _randomized(Controller(cfg))
    x = torch.randn(4, cfg.lookback, cfg.n_channels)
    B, L, C = x.shape
    p, hid, heads, n, h = 5, cfg.controller_hidden, 2, cfg.worker_layers, cfg.worker_hidden
    states = []
    for c in range(C):
        patches = x[:, L % p :, c].reshape(B, L // p, p)
        states.append(ctrl.gru(ctrl.embed(patches))[1][0] + ctrl.channel_embedding[c])  # (B, hidden)
    tokens = torch.stack(states, 1)  # (B, C, hidden)
    attn = ctrl.attention
    q, k, v = (tokens @ w.T + b for w, b in zip(attn.in_proj_weight.chunk(3), attn.in_proj_bias.chunk(3)))
    split = lambda t: t.view(B, C, heads, hid // heads).transpose(1, 2)  # noqa: E731  (B, heads, C, d)
    weights = torch.softmax(split(q) @ split(k).transpose(-1, -2) / (hid // heads) ** 0.5, -1)
    mixed = (weights @ split(v)).transpose(1, 2).reshape(B, C, hid) @ attn.out_proj.weight.T + attn.out_proj.bias
    expected = torch.nn.functional.layer_norm(tokens + mixed, (hid,), ctrl.norm.weight, ctrl.norm.bias)
    with torch.no_grad():
        assert torch.allclose(ctrl.encode(x), expected, atol=1e-5)
        sig = ctrl(x)
        close = lambda a, b: torch.allclose(a, b, atol=1e-5)  # noqa: E731
        for c in range(C):
            token = expected[:, c]  # (B, hidden)
            film = 0.3 * torch.tanh(ctrl.film(token)).view(B, 2, n, h)  # (gamma, beta) x layers x units
            assert close(sig.gamma[:, :, c], 1 + film[:, 0]) and close(sig.beta[:, :, c], film[:, 1])
            assert close(sig.gate[:, c], torch.sigmoid(ctrl.gate(token)))
            assert close(sig.dropout[:, c], DROPOUT_MAX * torch.sigmoid(ctrl.dropout(token)[:, 0]))
            lr = LR_SCALE_MIN + (LR_SCALE_MAX - LR_SCALE_MIN) * torch.sigmoid(ctrl.lr_scale(token)[:, 0])
            assert close(sig.lr_scale[:, c], lr) and close(ctrl.lr_scale_from(expected)[:, c], lr)
            trend = 0.3 * torch.tanh(ctrl.trend(token)).view(B, 2)
            assert close(sig.trend_gamma[:, c], 1 + trend[:, 0]) and close(sig.trend_beta[:, c], trend[:, 1])
        assert close(sig.context, torch.tanh(ctrl.context(expected.mean(1))))  # shared: the mean token


def test_attention_encoder_mixes_channels_and_tells_them_apart_by_their_embedding():
    cfg = small_model_cfg(controller_encoder="attention", controller_heads=2)
    ctrl = _randomized(Controller(cfg))
    x = torch.randn(4, cfg.lookback, cfg.n_channels)
    perm = torch.tensor([2, 0, 1])
    with torch.no_grad():
        base = ctrl(x)
        # channel 0's input moves channel 1's signals: attention across channels
        moved = x.clone()
        moved[:, :, 0] += 1.0
        assert not torch.allclose(ctrl(moved).gate[:, 1], base.gate[:, 1], atol=1e-4)
        # with equal channel embeddings the encoder is channel-equivariant ...
        ctrl.channel_embedding.zero_()
        plain = ctrl(x)
        assert torch.allclose(ctrl(x[:, :, perm]).gate, plain.gate[:, perm], atol=1e-5)
        # ... and the embedding breaks that symmetry
        ctrl.channel_embedding.normal_()
        assert not torch.allclose(ctrl(x[:, :, perm]).gate, ctrl(x).gate[:, perm], atol=1e-4)


def test_attention_encoder_has_fewer_parameters_and_needs_divisible_heads():
    from dynonet.registry import check_config

    cfg = small_model_cfg(n_channels=7, worker_hidden=16, controller_hidden=32)
    joint = sum(p.numel() for p in Controller(cfg).parameters())
    per_channel = sum(p.numel() for p in Controller(dataclasses.replace(cfg, controller_encoder="attention")).parameters())
    assert per_channel < joint  # its heads are shared by the channels
    with pytest.raises(ConfigError, match="--controller-hidden must be divisible by --controller-heads"):
        check_config(small_model_cfg(controller_encoder="attention", controller_hidden=8, controller_heads=3))
    check_config(small_model_cfg(controller_encoder="attention", controller_hidden=8, controller_heads=3,
                                 controller=False))  # no controller: nothing to check
    with pytest.raises(ConfigError, match="--controller-encoder must be one of joint, attention"):
        small_model_cfg(controller_encoder="transformer")
