"""The vectorized workers compute exactly what C separate per-channel workers compute."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dynonet.controller import Controller, neutral_signals
from dynonet.workers import Workers, gru_recurrence, relaxed_dropout

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
        head = nn.Linear(h + cfg.context_dim, cfg.horizon)
        head.weight.data = workers.head_weight[c].detach().t().clone()
        head.bias.data = workers.head_bias[c].detach().clone()
        outs.append(head(torch.cat([last, signals.context], -1)))
    return torch.stack(outs, -1)  # (B, H, C)


@pytest.mark.parametrize("layers", [1, 2])
def test_vectorized_workers_equal_per_channel_reference(layers):
    torch.manual_seed(0)
    cfg = small_model_cfg(worker_layers=layers, film_scale=0.5)
    workers = Workers(cfg).eval()
    controller = Controller(cfg)
    for head in (controller.film, controller.gate):  # move signals off their neutral values
        nn.init.normal_(head.weight, std=0.5)
    residual = torch.randn(5, cfg.worker_seq_len, cfg.n_channels)
    signals = controller(torch.randn(5, cfg.lookback, cfg.n_channels))
    with torch.no_grad():
        fast = workers(residual, signals)
        ref = reference_workers(workers, residual, signals)
    assert fast.shape == (5, cfg.horizon, cfg.n_channels)
    assert torch.allclose(fast, ref, atol=1e-5)


def test_gru_recurrence_matches_nn_gru_sequence():
    torch.manual_seed(1)
    C, B, T, h = 2, 3, 7, 4
    grus = [nn.GRU(h, h) for _ in range(C)]
    x = torch.randn(T, C, B, h)
    stacked = [torch.stack([getattr(g, n) for g in grus]) for n in ("weight_ih_l0", "bias_ih_l0", "weight_hh_l0",
                                                                    "bias_hh_l0")]
    with torch.no_grad():
        out = gru_recurrence(x, *stacked, sequence=True)
    ref = torch.stack([grus[c](x[:, c])[0] for c in range(C)], 1)
    assert torch.allclose(out, ref, atol=1e-6)


@pytest.mark.parametrize("sequence", [True, False])
def test_gru_backward_matches_autograd_through_nn_gru(sequence):
    """The hand-written backward through time equals autograd's through per-channel nn.GRU."""
    torch.manual_seed(3)
    C, B, T, d, h = 3, 4, 6, 2, 5
    grus = [nn.GRU(d, h).double() for _ in range(C)]
    names = ("weight_ih_l0", "bias_ih_l0", "weight_hh_l0", "bias_hh_l0")
    params = [torch.stack([getattr(g, n) for g in grus]).detach().requires_grad_() for n in names]
    x = torch.randn(T, C, B, d, dtype=torch.double, requires_grad=True)
    out = gru_recurrence(x, *params, sequence=sequence)
    seq_out = [grus[c](x[:, c])[0] for c in range(C)]  # each (T, B, h)
    ref = torch.stack(seq_out, 1) if sequence else torch.stack([o[-1] for o in seq_out])
    assert torch.allclose(out, ref)
    probe = torch.randn_like(out)
    ours = torch.autograd.grad((out * probe).sum(), [x, *params])
    theirs = torch.autograd.grad((ref * probe).sum(), [x, *[getattr(g, n) for n in names for g in grus]])
    assert torch.allclose(ours[0], theirs[0])
    for i, name in enumerate(names):
        assert torch.allclose(ours[1 + i], torch.stack(theirs[1 + i * C : 1 + (i + 1) * C])), name


def test_gru_backward_passes_gradcheck():
    torch.manual_seed(4)
    C, B, T, d, h = 2, 3, 4, 1, 3
    args = [torch.randn(*shape, dtype=torch.double, requires_grad=True)
            for shape in ((T, C, B, d), (C, 3 * h, d), (C, 3 * h), (C, 3 * h, h), (C, 3 * h))]
    assert torch.autograd.gradcheck(lambda *a: gru_recurrence(*a, sequence=True), args)


def test_channels_are_independent():
    torch.manual_seed(2)
    cfg = small_model_cfg()
    workers = Workers(cfg).eval()
    sig = neutral_signals(cfg, 4, torch.device("cpu"))
    r = torch.randn(4, cfg.worker_seq_len, cfg.n_channels)
    r2 = r.clone()
    r2[..., 1] += 1.0
    with torch.no_grad():
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
