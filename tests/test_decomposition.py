import torch

from dynonet.decomposition import MovingAverage, TimeLinear


def test_trend_plus_residual_is_input_and_constant_series_is_all_trend():
    ma = MovingAverage(25)
    x = torch.randn(3, 100, 2)
    trend, resid = ma(x)
    assert trend.shape == x.shape and torch.allclose(trend + resid, x)
    trend, resid = ma(torch.full((1, 40, 1), 3.0))
    assert torch.allclose(trend, torch.full_like(trend, 3.0)) and resid.abs().max() < 1e-6


def test_moving_average_matches_reference_with_edge_padding():
    x = torch.randn(1, 20, 1)
    k = 5
    trend, _ = MovingAverage(k)(x)
    s = x[0, :, 0]
    padded = torch.cat([s[:1].repeat(2), s, s[-1:].repeat(2)])
    ref = torch.stack([padded[i : i + k].mean() for i in range(20)])
    assert torch.allclose(trend[0, :, 0], ref, atol=1e-6)


def test_time_linear_equals_a_plain_loop_and_folds_a_map_of_time_applied_first():
    """y[b, :, c] = W @ x[b, :, c] + bias for every sample and channel; with `before` (L, L),
    W @ (before @ x[b, :, c]) + bias."""
    torch.manual_seed(0)
    lin = TimeLinear(10, 4)
    x, before = torch.randn(2, 10, 3), torch.randn(10, 10)
    W, bias = lin.linear.weight, lin.linear.bias
    with torch.no_grad():
        for b in range(2):
            for c in range(3):
                s = x[b, :, c]
                assert torch.allclose(lin(x)[b, :, c], W @ s + bias, atol=1e-6)
                assert torch.allclose(lin(x, before=before)[b, :, c], W @ (before @ s) + bias, atol=1e-5)


def test_time_linear_is_shared_by_channels():
    lin = TimeLinear(10, 4)
    x = torch.randn(2, 10, 1).repeat(1, 1, 3)
    y = lin(x)
    assert y.shape == (2, 4, 3)
    assert torch.allclose(y[..., 0], y[..., 2])


def test_last_steps_equal_the_tail_of_the_full_decomposition():
    ma = MovingAverage(25)
    x = torch.randn(2, 120, 3)
    trend, resid = ma(x)
    for last in (1, 30, 107, 108, 120):
        t, r = ma(x, last=last)
        assert torch.allclose(t, trend[:, -last:], atol=1e-6) and torch.allclose(r, resid[:, -last:], atol=1e-6)


def test_matrix_applies_the_moving_average_and_folds_into_the_linear_map():
    ma, lin = MovingAverage(7), TimeLinear(40, 5)
    x = torch.randn(3, 40, 2)
    trend, _ = ma(x)
    assert torch.allclose(torch.einsum("ts,bsc->btc", ma.matrix(40), x), trend, atol=1e-6)
    assert torch.allclose(lin(x, before=ma.matrix(40)), lin(trend), atol=1e-5)
