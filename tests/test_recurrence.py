"""Every recurrence backend computes what nn.GRU computes, forward and backward."""

import pytest
import torch
from torch import nn

import dynonet.recurrence as rec
from dynonet.recurrence import gru_recurrence


BACKENDS = pytest.mark.parametrize("backend", rec.BACKENDS)


@BACKENDS
def test_gru_recurrence_matches_nn_gru_sequence(device, backend):
    torch.manual_seed(1)
    C, B, T, h = 2, 3, 7, 4
    grus = [nn.GRU(h, h).to(device) for _ in range(C)]
    x = torch.randn(T, C, B, h, device=device)
    stacked = [torch.stack([getattr(g, n) for g in grus]) for n in ("weight_ih_l0", "bias_ih_l0", "weight_hh_l0",
                                                                    "bias_hh_l0")]
    with torch.no_grad():
        out = gru_recurrence(x, *stacked, sequence=True, backend=backend)
    ref = torch.stack([grus[c](x[:, c])[0] for c in range(C)], 1)
    if device.type == "cpu":
        assert torch.allclose(out, ref, atol=1e-6)
    else:  # cuDNN's float32 kernels round differently from the fused loop's ops (float64: below)
        assert ((out - ref).norm() / ref.norm()).item() < 1e-4


@BACKENDS
@pytest.mark.parametrize("sequence", [True, False])
def test_gru_backward_matches_autograd_through_nn_gru(sequence, device, backend):
    """Each backend's backward (fused: hand-written through time; per-channel and
    block-diagonal: nn.GRU's op) equals autograd's through per-channel nn.GRU modules."""
    torch.manual_seed(3)
    C, B, T, d, h = 3, 4, 6, 2, 5
    grus = [nn.GRU(d, h).double().to(device) for _ in range(C)]
    names = ("weight_ih_l0", "bias_ih_l0", "weight_hh_l0", "bias_hh_l0")
    params = [torch.stack([getattr(g, n) for g in grus]).detach().requires_grad_() for n in names]
    x = torch.randn(T, C, B, d, dtype=torch.double, device=device, requires_grad=True)
    out = gru_recurrence(x, *params, sequence=sequence, backend=backend)
    seq_out = [grus[c](x[:, c])[0] for c in range(C)]  # each (T, B, h)
    ref = torch.stack(seq_out, 1) if sequence else torch.stack([o[-1] for o in seq_out])
    assert torch.allclose(out, ref)
    probe = torch.randn_like(out)
    ours = torch.autograd.grad((out * probe).sum(), [x, *params])
    theirs = torch.autograd.grad((ref * probe).sum(), [x, *[getattr(g, n) for n in names for g in grus]])
    assert torch.allclose(ours[0], theirs[0])
    for i, name in enumerate(names):
        assert torch.allclose(ours[1 + i], torch.stack(theirs[1 + i * C : 1 + (i + 1) * C])), name


@BACKENDS
def test_gru_backward_passes_gradcheck(device, backend):
    torch.manual_seed(4)
    C, B, T, d, h = 2, 3, 4, 1, 3
    args = [torch.randn(*shape, dtype=torch.double, device=device, requires_grad=True)
            for shape in ((T, C, B, d), (C, 3 * h, d), (C, 3 * h), (C, 3 * h, h), (C, 3 * h))]
    assert torch.autograd.gradcheck(lambda *a: gru_recurrence(*a, sequence=True, backend=backend), args)


@pytest.mark.parametrize("sequence", [True, False])
def test_backends_agree_without_gradient(device, sequence):
    """Inference takes other code (the fused backend keeps one state slot, cuDNN skips its
    training buffers): every backend still gives the same numbers."""
    torch.manual_seed(5)
    C, B, T, d, h = 3, 4, 6, 2, 5
    args = [torch.randn(*shape, dtype=torch.double, device=device)
            for shape in ((T, C, B, d), (C, 3 * h, d), (C, 3 * h), (C, 3 * h, h), (C, 3 * h))]
    with torch.no_grad():
        fused = gru_recurrence(*args, sequence=sequence, backend="fused")
        for backend in rec.BACKENDS[1:]:
            assert torch.allclose(fused, gru_recurrence(*args, sequence=sequence, backend=backend)), backend


@pytest.mark.parametrize("channels", [2, rec.BLOCK_DIAGONAL_MAX_CHANNELS, rec.BLOCK_DIAGONAL_MAX_CHANNELS + 1])
def test_auto_backend_is_block_diagonal_on_cuda_up_to_its_limit_else_fused(device, channels, backend_calls):
    C, h = channels, 2
    x, w_ih, b_ih, w_hh, b_hh = (torch.randn(*s, device=device)
                                 for s in ((4, C, 3, 1), (C, 3 * h, 1), (C, 3 * h), (C, 3 * h, h), (C, 3 * h)))
    picked = backend_calls
    rec.gru_recurrence(x, w_ih, b_ih, w_hh, b_hh, sequence=True)
    expected = device.type == "cuda" and channels <= rec.BLOCK_DIAGONAL_MAX_CHANNELS
    assert picked == (["block-diagonal"] if expected else [])


def test_use_backend_sets_the_backend_of_calls_that_name_none_inside_its_block(backend_calls):
    x, w_ih, b_ih, w_hh, b_hh = (torch.randn(*s) for s in ((4, 2, 3, 1), (2, 6, 1), (2, 6), (2, 6, 2), (2, 6)))
    picked = backend_calls
    with rec.use_backend("block-diagonal"):
        rec.gru_recurrence(x, w_ih, b_ih, w_hh, b_hh, sequence=True)
        rec.gru_recurrence(x, w_ih, b_ih, w_hh, b_hh, sequence=True, backend="per-channel")  # named: kept
    rec.gru_recurrence(x, w_ih, b_ih, w_hh, b_hh, sequence=True)  # auto again: the fused loop on a CPU
    assert picked == ["block-diagonal", "per-channel"]
    # a block in one thread leaves another thread's calls alone
    import threading

    inside, leave = threading.Event(), threading.Event()

    def hold():
        with rec.use_backend("per-channel"):
            inside.set()
            leave.wait(10)

    other = threading.Thread(target=hold)
    other.start()
    inside.wait(10)
    with rec.use_backend("block-diagonal"):
        leave.set()
        other.join()
        rec.gru_recurrence(x, w_ih, b_ih, w_hh, b_hh, sequence=True)
    rec.gru_recurrence(x, w_ih, b_ih, w_hh, b_hh, sequence=True)
    assert picked == ["block-diagonal", "per-channel", "block-diagonal"] and rec._default.get() == "auto"


def test_unknown_backends_are_refused():
    x, w_ih, b_ih, w_hh, b_hh = (torch.randn(*s) for s in ((4, 2, 3, 1), (2, 6, 1), (2, 6), (2, 6, 2), (2, 6)))
    with pytest.raises(ValueError, match="unknown recurrence backend 'cudnn'"):
        rec.gru_recurrence(x, w_ih, b_ih, w_hh, b_hh, sequence=True, backend="cudnn")
    with pytest.raises(ValueError, match="unknown recurrence backend 'cudnn'"):
        with rec.use_backend("cudnn"):
            pass
