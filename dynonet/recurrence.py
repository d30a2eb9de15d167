"""C independent GRUs over time as one vectorized recurrence, with a hand-written backward,
or, on a GPU at up to 64 channels, as one cuDNN GRU call for all channels with block-diagonal
weights (or, for comparison, one call per channel).

Used by the per-channel workers (C channels) and by the controller (one "channel"). The
equations are PyTorch's `nn.GRU` (gates r, z, n); tests check outputs and gradients of every
backend against autograd through `nn.GRU`, and `gradcheck`.
"""

from __future__ import annotations

import contextlib
import contextvars
import warnings
from typing import Iterator, Literal

import torch
from torch import Tensor


def fused_gru_weights(w_ih: Tensor, b_ih: Tensor, w_hh: Tensor, b_hh: Tensor) -> Tensor:
    """Pack PyTorch's GRU weights so that one batched matmul with [h ; x ; 1] gives every gate.

    w_ih: (C, 3h, d), b_ih: (C, 3h), w_hh: (C, 3h, h), b_hh: (C, 3h), gates ordered (r, z, n).
    Returns weight (C, 4h, h + d + 1) (the last column is the bias) whose output rows are
    [r ; z ; W_in x + b_in ; W_hn h + b_hn]: the n gate's two halves stay apart because r
    multiplies only the hidden one.
    """
    C, three_h, d = w_ih.shape
    h = three_h // 3
    w_h = torch.cat([w_hh[:, : 2 * h], w_hh.new_zeros(C, h, h), w_hh[:, 2 * h :]], 1)  # (C, 4h, h)
    w_x = torch.cat([w_ih, w_ih.new_zeros(C, h, d)], 1)  # (C, 4h, d)
    bias = torch.cat([b_ih[:, : 2 * h] + b_hh[:, : 2 * h], b_ih[:, 2 * h :], b_hh[:, 2 * h :]], 1)
    return torch.cat([w_h, w_x, bias.unsqueeze(-1)], 2)


# The recurrence keeps its tensors feature-major, (C, features, B): every gate is then a
# contiguous block of h * B numbers per channel, which elementwise kernels stream through far
# faster than rows of h = 16 numbers.


def _gru_loop(x: Tensor, weight: Tensor, keep: bool) -> tuple[Tensor, Tensor | None, Tensor]:
    """Forward pass. x: (T, C, B, d). Returns hx (C, h + d + 1, T + 1, B) holding
    [h_{t-1} ; x_t ; 1] at t (h_T at T); when `keep` (for the backward pass), the gate
    activations (T, C, 4h, B) = [r ; z ; n ; W_hn h + b_hn]; and the last state (C, h, B).
    Every op writes in place."""
    T, C, B, d = x.shape
    h_dim = weight.shape[1] // 4
    hx = x.new_empty(C, h_dim + d + 1, T + 1, B)
    hx[:, h_dim : h_dim + d, :T] = x.permute(1, 3, 0, 2)
    hx[:, h_dim : h_dim + d, T] = 0
    hx[:, h_dim + d] = 1  # the bias row
    hx[:, :h_dim, 0] = 0
    acts = x.new_empty(T if keep else 1, C, 4 * h_dim, B)  # each step's block contiguous: a fast matmul output
    h = hx[:, :h_dim, 0]
    for t in range(T):
        a = acts[t if keep else 0]  # (C, 4h, B)
        torch.bmm(weight, hx[:, :, t], out=a)
        rz, n_x, gh_n = a[:, : 2 * h_dim], a[:, 2 * h_dim : 3 * h_dim], a[:, 3 * h_dim :]
        torch.sigmoid(rz, out=rz)
        r, z = rz[:, :h_dim], rz[:, h_dim:]
        n = torch.tanh(torch.addcmul(n_x, r, gh_n), out=n_x)
        h = torch.lerp(n, h, z, out=hx[:, :h_dim, t + 1])  # (1 - z) * n + z * h
    return hx, (acts if keep else None), h


def _gru_last_state(x: Tensor, weight: Tensor) -> Tensor:
    """Inference when only the last state is wanted: one [h ; x_t ; 1] slot, updated in
    place, instead of all T steps (at 321 channels and a batch of 1024 those are gigabytes).
    x: (T, C, B, d) -> (C, h, B)."""
    T, C, B, d = x.shape
    h_dim = weight.shape[1] // 4
    slot = x.new_empty(C, h_dim + d + 1, B)
    slot[:, :h_dim] = 0
    slot[:, h_dim + d] = 1  # the bias row
    h = slot[:, :h_dim]
    a = x.new_empty(C, 4 * h_dim, B)
    for t in range(T):
        slot[:, h_dim : h_dim + d] = x[t].transpose(1, 2)
        torch.bmm(weight, slot, out=a)
        rz, n_x, gh_n = a[:, : 2 * h_dim], a[:, 2 * h_dim : 3 * h_dim], a[:, 3 * h_dim :]
        torch.sigmoid(rz, out=rz)
        n = torch.tanh(torch.addcmul(n_x, rz[:, :h_dim], gh_n), out=n_x)
        torch.lerp(n, h, rz[:, h_dim:], out=h)  # elementwise, so updating h in place is safe
    return h


class _GRUSequence(torch.autograd.Function):
    """C independent GRUs over T steps with a hand-written backward pass through time.

    Autograd would record about eight small ops per step and replay each backwards; here the
    forward keeps the gate activations, the backward is one loop of a dozen elementwise ops and
    a matmul per step, and the weight and input gradients are single batched matmuls at the end.
    """

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, sequence: bool) -> Tensor:
        hx, acts, h = _gru_loop(x, weight, keep=True)
        ctx.save_for_backward(hx, acts, weight)
        ctx.sequence = sequence
        h_dim = h.shape[1]
        # (T, C, B, h) or (C, B, h), as views of the feature-major buffers
        return hx[:, :h_dim, 1:].permute(2, 0, 3, 1) if sequence else h.transpose(1, 2)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: Tensor) -> tuple[Tensor, Tensor, None]:
        hx, acts, weight = ctx.saved_tensors
        T, C, four_h, B = acts.shape
        h_dim = four_h // 4
        w_h = weight[:, :, :h_dim].transpose(1, 2)  # (C, h, 4h): the part that maps back to h_{t-1}
        d_pre = acts.new_empty(C, four_h, T, B)  # dL/d(matmul output) of every step
        if ctx.sequence:
            grad = grad.permute(1, 0, 3, 2)  # (C, T, h, B)
            dh = grad.new_zeros(C, h_dim, B)
        else:
            dh = grad.transpose(1, 2)  # (C, h, B)
        for t in range(T - 1, -1, -1):
            if ctx.sequence:
                dh = dh + grad[:, t]
            r, z, n, gh_n = acts[t].split(h_dim, dim=1)
            d_r, d_z, d_n, d_gh = d_pre[:, :, t].split(h_dim, dim=1)
            # h = (1 - z) n + z h_prev;  n = tanh(n_x + r * gh_n);  r, z = sigmoid(.)
            torch.addcmul(dh, dh, z, value=-1, out=d_n)  # dL/dn
            d_n.addcmul_(d_n * n, n, value=-1)  # through tanh
            torch.mul(d_n, r, out=d_gh)
            g = d_gh * gh_n  # dL/dr * r
            torch.addcmul(g, g, r, value=-1, out=d_r)
            torch.mul((hx[:, :h_dim, t] - n).mul_(dh), torch.addcmul(z, z, z, value=-1), out=d_z)
            dh = torch.baddbmm(dh * z, w_h, d_pre[:, :, t])  # dL/dh_{t-1}, (C, h, B)
        flat_pre = d_pre.view(C, four_h, T * B)
        flat_hx = hx[:, :, :T].reshape(C, hx.shape[1], T * B)  # a view: T and B stay adjacent
        d_weight = torch.bmm(flat_pre, flat_hx.transpose(1, 2))  # (C, 4h, h + d + 1)
        dx = torch.bmm(weight[:, :, h_dim:-1].transpose(1, 2), flat_pre)  # (C, d, T * B)
        return dx.view(C, -1, T, B).permute(2, 0, 3, 1), d_weight, None


# On a GPU the step loop above launches a dozen kernels per step, where cuDNN's GRU runs one
# kernel sequence per call. One call per channel wins at a few channels; one call for all
# channels with block-diagonal weights wins more, until its C-fold arithmetic outgrows the
# loop. On an H200 (benchmarks/speed-cuda-*.txt, worker fwd+bwd on a batch of 512), fused /
# per-channel / block-diagonal: 0.024 / 0.011 / 0.004 s at 7 channels, 0.021 / 0.091 / 0.010 s
# at 64, 0.020 / 0.184 / 0.023 s at 128. So block-diagonal up to 64 channels (the largest
# count timed where it won), the loop above. On a CPU the loop wins (2-core machine, 7
# channels: 0.13 / 0.38-0.43 / 0.27-0.31 s), so "auto" keeps it there. cuDNN rounds through
# TF32 unless `torch.backends.cudnn.allow_tf32` is off (PyTorch's default is on); the loop's
# matmuls follow `torch.backends.cuda.matmul`, off by default.
BLOCK_DIAGONAL_MAX_CHANNELS = 64


def _per_channel(x: Tensor, w_ih: Tensor, b_ih: Tensor, w_hh: Tensor, b_hh: Tensor, sequence: bool) -> Tensor:
    """The same C GRUs as one `nn.GRU` call each (cuDNN on a GPU, ATen's GRU on a CPU).
    `torch._VF.gru` is the op `nn.GRU.forward` calls, here with weights sliced from the stacks."""
    T, C, B, _ = x.shape
    h0 = x.new_zeros(1, B, w_hh.shape[-1])
    # cuDNN keeps what its backward needs only in training mode
    train = torch.is_grad_enabled() and any(t.requires_grad for t in (x, w_ih, b_ih, w_hh, b_hh))
    with warnings.catch_warnings():
        # cuDNN copies weights that are not in one flat buffer (a few KB here) and says so each call
        warnings.filterwarnings("ignore", "RNN module weights are not part of single contiguous", UserWarning)
        outs = [
            torch._VF.gru(x[:, c], h0, (w_ih[c], w_hh[c], b_ih[c], b_hh[c]), True, 1, 0.0, train, False, False)
            for c in range(C)
        ]  # each ((T, B, h), (1, B, h))
    return torch.stack([o for o, _ in outs], 1) if sequence else torch.cat([last for _, last in outs])


def _block_diagonal(x: Tensor, w_ih: Tensor, b_ih: Tensor, w_hh: Tensor, b_hh: Tensor, sequence: bool) -> Tensor:
    """The same C GRUs as one `nn.GRU` call of C * h units whose weights are block-diagonal:
    channel c's h units read only its own input and state. C times the arithmetic of the
    small GRUs, in one cuDNN kernel sequence instead of C; gradients reach only the blocks."""
    T, C, B, d = x.shape
    h = w_hh.shape[-1]
    eye = torch.eye(C, dtype=x.dtype, device=x.device)

    def blocks(w: Tensor) -> Tensor:  # (C, 3h, k) -> (3Ch, Ck), rows gate-major as nn.GRU's
        k = w.shape[-1]
        return torch.einsum("cgik,ce->gciek", w.view(C, 3, h, k), eye).reshape(3 * C * h, C * k)

    def bias(b: Tensor) -> Tensor:  # (C, 3h) -> (3Ch)
        return b.view(C, 3, h).transpose(0, 1).reshape(3 * C * h)

    train = torch.is_grad_enabled() and any(t.requires_grad for t in (x, w_ih, b_ih, w_hh, b_hh))
    xs = x.permute(0, 2, 1, 3).reshape(T, B, C * d)  # (T, B, C * d)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "RNN module weights are not part of single contiguous", UserWarning)
        out, last = torch._VF.gru(xs, x.new_zeros(1, B, C * h), (blocks(w_ih), blocks(w_hh), bias(b_ih), bias(b_hh)),
                                  True, 1, 0.0, train, False, False)  # (T, B, C * h), (1, B, C * h)
    return out.view(T, B, C, h).transpose(1, 2) if sequence else last.view(B, C, h).transpose(0, 1)


Backend = Literal["auto", "fused", "per-channel", "block-diagonal"]
BACKENDS: tuple[str, ...] = ("fused", "per-channel", "block-diagonal")
_IMPLEMENTATIONS = {"per-channel": _per_channel, "block-diagonal": _block_diagonal}
# per thread and task: a block in one never changes the backend of another
_default: contextvars.ContextVar[Backend] = contextvars.ContextVar("dynonet_recurrence_backend", default="auto")


@contextlib.contextmanager
def use_backend(backend: Backend) -> Iterator[None]:
    """Run every `gru_recurrence` that names no backend on `backend` inside the block (as
    `dynonet bench speed --recurrence-backend` does)."""
    if backend != "auto" and backend not in BACKENDS:
        raise ValueError(f"unknown recurrence backend {backend!r}")
    token = _default.set(backend)
    try:
        yield
    finally:
        _default.reset(token)


def auto_backend(x: Tensor) -> str:
    """The backend "auto" picks for x: (T, C, B, d): one block-diagonal cuDNN call on a CUDA
    device for up to `BLOCK_DIAGONAL_MAX_CHANNELS` channels, the fused loop otherwise."""
    return "block-diagonal" if x.is_cuda and x.shape[1] <= BLOCK_DIAGONAL_MAX_CHANNELS else "fused"


def gru_recurrence(x: Tensor, w_ih: Tensor, b_ih: Tensor, w_hh: Tensor, b_hh: Tensor, sequence: bool,
                   backend: Backend | None = None) -> Tensor:
    """Run C independent GRUs (PyTorch's GRU equations) over x: (T, C, B, d).

    w_ih: (C, 3h, d), b_ih: (C, 3h), w_hh: (C, 3h, h), b_hh: (C, 3h), gates ordered (r, z, n).
    Returns the outputs (T, C, B, h) if `sequence`, else the last state (C, B, h).
    `backend`: "fused" (one batched recurrence for all channels, hand-written backward),
    "per-channel" (one `nn.GRU` call per channel), "block-diagonal" (one `nn.GRU` call for all
    channels), or "auto" (`auto_backend`); None: "auto" unless `use_backend` says otherwise.
    """
    backend = _default.get() if backend is None else backend
    if backend == "auto":
        backend = auto_backend(x)
    if backend in _IMPLEMENTATIONS:
        return _IMPLEMENTATIONS[backend](x, w_ih, b_ih, w_hh, b_hh, sequence)
    if backend != "fused":
        raise ValueError(f"unknown recurrence backend {backend!r}")
    weight = fused_gru_weights(w_ih, b_ih, w_hh, b_hh)
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad):
        return _GRUSequence.apply(x, weight, sequence)
    if not sequence:
        return _gru_last_state(x, weight).transpose(1, 2)
    hx, _, h = _gru_loop(x, weight, keep=False)  # inference: nothing kept for a backward
    return hx[:, : h.shape[1], 1:].permute(2, 0, 3, 1)
