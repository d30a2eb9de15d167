"""The closed-form fit of a linear path against a plain least-squares solve."""

import pytest
import torch

from dynonet.data import load, window_sets
from dynonet.evaluation import evaluate
from dynonet.least_squares import fit_ridge
from dynonet.registry import build_model

from conftest import small_run_cfg


def _path_and_sets(model_name: str, trend_input: str = "window"):
    cfg = small_run_cfg().replace(model={"model": model_name, "trend_input": trend_input})
    data = load(cfg)
    cfg = cfg.replace(model={"n_channels": data.n_channels})
    torch.manual_seed(0)
    model = build_model(cfg.model)
    return model.trend_path(), window_sets(data, cfg, torch.device("cpu"), controller=False)


def _reference(path, windows, penalty: float) -> torch.Tensor:
    """Weighted ridge least squares written out: every window and channel one row of an
    explicit design matrix, weighted by the window's variance, the penalty as extra rows."""
    x, y = windows.get(torch.arange(len(windows)))
    x, y = x.double(), y.double()
    mean = x.mean(1, keepdim=True)
    std = ((x - mean) ** 2).mean(1, keepdim=True).add(path.revin.eps).sqrt()  # RevIN's own stats
    z = ((x - mean) / std).transpose(1, 2).reshape(-1, x.shape[1])  # (N*C, L)
    _, before = path.time_linear()
    if before is not None:
        z = z @ before.double().t()
    t = ((y - mean) / std).transpose(1, 2).reshape(-1, y.shape[1])  # (N*C, H)
    w = std.transpose(1, 2).reshape(-1, 1) ** 2
    a = torch.cat([z, torch.ones(len(z), 1, dtype=z.dtype)], 1)
    L = z.shape[1]
    # rows sqrt(w) a against sqrt(w) t, plus sqrt(penalty * sum w) e_j -> 0 for the weights only
    ridge = torch.cat([torch.eye(L, dtype=z.dtype), torch.zeros(L, 1, dtype=z.dtype)], 1) * (penalty * w.sum()).sqrt()
    A = torch.cat([a * w.sqrt(), ridge])
    T = torch.cat([t * w.sqrt(), torch.zeros(L, t.shape[1], dtype=t.dtype)])
    return torch.linalg.lstsq(A, T).solution  # (L+1, H)


@pytest.mark.parametrize("model_name,trend_input", [("linear", "window"), ("dynonet", "window"),
                                                    ("dynonet", "average")])
@pytest.mark.parametrize("penalty", [1e-3, 1.0])
def test_fit_equals_a_plain_least_squares_solve(model_name, trend_input, penalty):
    path, sets = _path_and_sets(model_name, trend_input)
    with torch.no_grad():  # a trained affine is reset: the fit is exact for the identity
        path.revin.weight.fill_(2.0)
    fit = fit_ridge(path, sets["train"], sets["val"], batch_size=7, penalties=(penalty,))  # batches of 7 windows
    linear, _ = path.time_linear()
    B = _reference(path, sets["train"], penalty)
    assert fit["penalty"] == penalty
    assert torch.allclose(linear.linear.weight.double(), B[:-1].t(), atol=1e-4, rtol=1e-3)
    assert torch.allclose(linear.linear.bias.double(), B[-1], atol=1e-4, rtol=1e-3)
    assert torch.equal(path.revin.weight, torch.ones_like(path.revin.weight))
    assert fit["train_loss"] == pytest.approx(evaluate(path, sets["train"], 64)["mse"], rel=1e-4)  # the model's own MSE


def test_the_fit_minimizes_the_training_loss_the_optimizer_would():
    """With a negligible penalty, no small step from the fit lowers the training MSE that
    AdamW epochs minimize (the forward pass of the model, not the Gram matrices)."""
    path, sets = _path_and_sets("linear")
    fit_ridge(path, sets["train"], sets["val"], batch_size=64, penalties=(1e-9,))
    path.double()
    x, y = sets["train"].get(torch.arange(len(sets["train"])))
    x, y = x.double(), y.double()
    loss = torch.nn.functional.mse_loss(path(x), y)
    grads = torch.autograd.grad(loss, list(path.time_linear()[0].parameters()))
    scale = torch.autograd.grad(torch.nn.functional.mse_loss(path(x) * 1.01, y),
                                list(path.time_linear()[0].parameters()))
    assert max(g.abs().max() for g in grads) < 1e-3 * max(g.abs().max() for g in scale)


def test_the_penalty_with_the_lowest_validation_mse_is_kept():
    path, sets = _path_and_sets("linear")
    fit = fit_ridge(path, sets["train"], sets["val"], batch_size=64, penalties=(1e-3, 1.0, 1e3))
    by_penalty = {float(k): v for k, v in fit["val_mse_by_penalty"].items()}
    assert set(by_penalty) == {1e-3, 1.0, 1e3} and len(set(by_penalty.values())) == 3
    assert fit["val_mse"] == min(by_penalty.values()) and by_penalty[fit["penalty"]] == fit["val_mse"]
    assert evaluate(path, sets["val"], 64)["mse"] == pytest.approx(fit["val_mse"], rel=1e-6)  # the kept fit is loaded
