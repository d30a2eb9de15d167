import torch

from dynonet.revin import RevIN


def test_round_trip_restores_input():
    torch.manual_seed(0)
    revin = RevIN(4)
    with torch.no_grad():
        revin.weight.uniform_(0.5, 2.0)
        revin.bias.uniform_(-1, 1)
    x = torch.randn(5, 30, 4) * 3 + 7
    z, stats = revin.normalize(x)
    assert torch.allclose(revin.denormalize(z, stats), x, atol=1e-4)


def test_normalized_window_has_zero_mean_unit_std_without_affine():
    x = torch.randn(2, 50, 3) * 5 + 2
    z, _ = RevIN(3, affine=False).normalize(x)
    assert torch.allclose(z.mean(1), torch.zeros(2, 3), atol=1e-5)
    assert torch.allclose(z.std(1, unbiased=False), torch.ones(2, 3), atol=1e-3)


def test_affine_parameters_are_trainable():
    revin = RevIN(2)
    assert all(p.requires_grad for p in revin.parameters())
    assert sum(p.numel() for p in revin.parameters()) == 4


def test_a_constant_window_is_forecast_as_that_constant_exactly():
    torch.manual_seed(0)
    revin = RevIN(3)
    x = torch.randn(4, 30, 3)
    x[:, :, 1] = 0.0  # a stretch of zero demand
    x[2, :, 2] = 37.1  # one window of one channel constant (its float mean is not exactly 37.1)
    x[3, :, 2] = -0.7312
    _, stats = revin.normalize(x)
    y = revin.denormalize(torch.randn(4, 7, 3) * 10, stats)  # whatever the model said
    assert (y[:, :, 1] == 0.0).all() and (y[2, :, 2] == x[2, 0, 2]).all() and (y[3, :, 2] == x[3, 0, 2]).all()
    varied = torch.ones(4, 3, dtype=torch.bool)
    varied[:, 1] = varied[2, 2] = varied[3, 2] = False
    assert (y.std(dim=1) > 1.0)[varied].all()  # every other window keeps its scale
    nearly = torch.ones(1, 32, 1)
    nearly[0, 5, 0] = 1 + 1e-6  # varies, if by little: mapped back with its scale
    assert revin.stats(nearly)[2].item() > 0


def test_a_forecast_from_a_constant_stretch_is_that_value_exactly_in_the_datas_units():
    """Through the run's scaling too, whose float32 would give 37.100000000005."""
    import warnings

    import numpy as np
    import pandas as pd

    from dynonet import DynoNetForecaster

    t = np.arange(300)
    df = pd.DataFrame({"wave": np.sin(t / 4) * 10 + 50, "zero": np.where(t < 240, np.sin(t / 5), 0.0),
                       "flat": np.where(t < 240, np.cos(t / 3) + 37, 37.1)},
                      index=pd.date_range("2024-01-01", periods=300, freq="h"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forecast = DynoNetForecaster(horizon=8, lookback=32, model="linear", epochs=1, device="cpu").fit(df).predict()
    assert (forecast["zero"] == 0.0).all() and (forecast["flat"] == 37.1).all() and forecast["wave"].nunique() == 8
