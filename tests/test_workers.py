"""The vectorized workers compute exactly what C separate per-channel workers compute."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dynonet import recurrence
from dynonet.controller import Controller, neutral_signals
from dynonet.workers import Workers, relaxed_dropout

from conftest import small_model_cfg


def reference_workers(workers: Workers, residual, signals):
    """Plain per-channel modules (nn.Linear, nn.GRU, LayerNorm) in a Python loop."""
    cfg = workers.cfg
    h, outs = cfg.worker_hidden, []
    for c in range(cfg.n_channels):
        proj = nn.Linear(1, h)
        proj.weight.data = workers.in_weight[c].detach()[:, None].clone()
        proj.bias.data = workers.in_bias[c].detach().clone()
        x = proj(residual[:, :, c : c + 1])  # (B, T, h)
        for layer in range(cfg.worker_layers):
            gru = nn.GRU(h, h, batch_first=True)
            gru.weight_ih_l0.data = workers.w_ih[layer][c].detach().clone()
            gru.weight_hh_l0.data = workers.w_hh[layer][c].detach().clone()
            gru.bias_ih_l0.data = workers.b_ih[layer][c].detach().clone()
            gru.bias_hh_l0.data = workers.b_hh[layer][c].detach().clone()
            x, _ = gru(x)
            x = x * signals.gamma[:, layer, c, None] + signals.beta[:, layer, c, None]
            x = F.layer_norm(x, (h,), workers.norm_weight[c, layer], workers.norm_bias[c, layer])
        last = x[:, -1] * signals.gate[:, c]
        head = nn.Linear(h + cfg.worker_context_dim, cfg.horizon)
        head.weight.data = workers.head_weight[c].detach().t().clone()
        head.bias.data = workers.head_bias[c].detach().clone()
        outs.append(head(torch.cat([last, signals.context], -1)))
    return torch.stack(outs, -1)  # (B, H, C)


BACKENDS = pytest.mark.parametrize("backend", recurrence.BACKENDS)  # each, as the workers chain their layers


@BACKENDS
@pytest.mark.parametrize("layers", [1, 2])
def test_vectorized_workers_equal_per_channel_reference(layers, backend):
    torch.manual_seed(0)
    cfg = small_model_cfg(worker_layers=layers, film_scale=0.5)
    workers = Workers(cfg).eval()
    controller = Controller(cfg)
    for head in (controller.film, controller.gate):  # move signals off their neutral values
        nn.init.normal_(head.weight, std=0.5)
    residual = torch.randn(5, cfg.worker_seq_len, cfg.n_channels)
    signals = controller(torch.randn(5, cfg.lookback, cfg.n_channels))
    with torch.no_grad(), recurrence.use_backend(backend):
        fast = workers(residual, signals)
        ref = reference_workers(workers, residual, signals)
    assert fast.shape == (5, cfg.horizon, cfg.n_channels)
    assert torch.allclose(fast, ref, atol=1e-5)


@BACKENDS
def test_channels_are_independent(backend):
    torch.manual_seed(2)
    cfg = small_model_cfg()
    workers = Workers(cfg).eval()
    sig = neutral_signals(cfg, 4, torch.device("cpu"))
    r = torch.randn(4, cfg.worker_seq_len, cfg.n_channels)
    r2 = r.clone()
    r2[..., 1] += 1.0
    with torch.no_grad(), recurrence.use_backend(backend):
        a, b = workers(r, sig), workers(r2, sig)
    assert torch.allclose(a[..., 0], b[..., 0]) and torch.allclose(a[..., 2], b[..., 2])
    assert not torch.allclose(a[..., 1], b[..., 1])


def test_relaxed_dropout_rate_gets_gradient_and_mean_is_preserved():
    torch.manual_seed(3)
    rate = torch.full((1, 2000, 1), 0.3, requires_grad=True)
    x = torch.ones(1, 2000, 64)
    y = relaxed_dropout(x, rate)
    assert 0.9 < y.mean().item() < 1.1  # inverted scaling keeps the expectation
    assert ((y < 0.05).float().mean().item() - 0.3) ** 2 < 0.01  # about 30% dropped
    y.square().mean().backward()
    assert rate.grad.abs().sum() > 0


def test_relaxed_dropout_rate_gets_its_gradient_through_the_mask_too(monkeypatch):
    """With the uniform draws held fixed the mask is a smooth function of the rate: its
    gradient (through the Concrete mask and the 1 / (1 - rate) rescaling both) agrees with
    finite differences, and the mask's part is not zero."""
    torch.manual_seed(4)
    x = torch.randn(2, 5, 3, dtype=torch.double)
    u = torch.rand_like(x)
    monkeypatch.setattr(torch, "rand_like", lambda t: u)
    rate = torch.rand(2, 5, 1, dtype=torch.double) * 0.6 + 0.1
    weights = torch.randn_like(x)
    assert torch.autograd.gradcheck(lambda r: (relaxed_dropout(x, r) * weights).sum(), rate.requires_grad_())
    masked = relaxed_dropout(x, rate) * (1 - rate)  # the rescaling undone: only the mask is left
    (grad,) = torch.autograd.grad((masked * weights).sum(), rate)
    assert grad.abs().min() > 0


@pytest.mark.parametrize("backend", recurrence.BACKENDS[1:])
def test_every_backend_trains_the_workers_as_the_fused_loop_does(backend):
    """The same loss and the same gradient of every parameter (float64, two layers)."""
    torch.manual_seed(4)
    cfg = small_model_cfg(worker_layers=2)
    workers = Workers(cfg).double()
    sig = neutral_signals(cfg, 3, torch.device("cpu"))
    sig = dataclasses.replace(sig, **{f.name: getattr(sig, f.name).double() for f in dataclasses.fields(sig)
                                      if torch.is_tensor(getattr(sig, f.name))})
    residual = torch.randn(3, cfg.worker_seq_len, cfg.n_channels, dtype=torch.double)

    def grads(name):
        workers.zero_grad()
        torch.manual_seed(5)  # the same dropout draws
        with recurrence.use_backend(name):
            workers(residual, sig).square().mean().backward()
        return {n: p.grad.clone() for n, p in workers.named_parameters() if p.grad is not None}

    fused, other = grads("fused"), grads(backend)
    assert fused.keys() == other.keys() and len(fused) > 4
    for name in fused:
        assert torch.allclose(fused[name], other[name]), name


def test_workers_without_a_controller_have_no_parameter_that_nothing_trains():
    """Without a controller the context is zero: the heads have no rows for it, and every
    parameter gets a gradient (each head row, a nonzero one)."""
    torch.manual_seed(6)
    cfg = small_model_cfg(controller=False)
    workers = Workers(cfg).train()
    assert workers.head_weight.shape == (cfg.n_channels, cfg.worker_hidden, cfg.horizon)
    sig = neutral_signals(cfg, 4, torch.device("cpu"))
    assert sig.context.shape == (4, 0)
    workers(torch.randn(4, cfg.worker_seq_len, cfg.n_channels), sig).square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in workers.parameters())
    assert (workers.head_weight.grad.abs().sum(dim=(0, 2)) > 0).all()


def test_workers_draw_the_same_numbers_with_and_without_the_controllers_context():
    """The rows a model without a controller keeps are those a model with one draws, from the
    same random numbers: a run of the earlier layout reproduces."""
    on, off = (small_model_cfg(controller=c) for c in (True, False))
    torch.manual_seed(7)
    with_context = Workers(on)
    after_on = torch.rand(1)
    torch.manual_seed(7)
    without = Workers(off)
    assert torch.rand(1) == after_on  # the same draws, so whatever follows draws alike
    assert torch.equal(without.head_weight, with_context.head_weight[:, : off.worker_hidden])
    assert torch.equal(without.head_bias, with_context.head_bias)


def test_a_checkpoint_with_head_rows_for_a_zero_context_loads_and_forecasts_alike():
    """Checkpoints written before the heads of a model without a controller lost their context
    rows load: the rows go, and the forecast is the one the old layout made with a zero context."""
    torch.manual_seed(8)
    on, off = (small_model_cfg(controller=c) for c in (True, False))
    old = Workers(on).eval()  # the earlier layout: head rows for the context
    new = Workers(off).eval()
    new.load_state_dict(old.state_dict())
    residual = torch.randn(3, on.worker_seq_len, on.n_channels)
    zero_context = neutral_signals(off, 3, torch.device("cpu"))
    zero_context = dataclasses.replace(zero_context, context=torch.zeros(3, on.context_dim))
    with torch.no_grad():
        assert torch.allclose(new(residual, neutral_signals(off, 3, torch.device("cpu"))), old(residual, zero_context))
    bad = {**old.state_dict(), "head_weight": torch.zeros(on.n_channels, on.worker_hidden + 1, on.horizon)}
    with pytest.raises(RuntimeError, match="head_weight"):  # any other shape is still refused
        new.load_state_dict(bad)
