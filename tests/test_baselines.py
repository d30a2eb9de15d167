import dataclasses

import pytest
import torch
from torch import nn

from dynonet.errors import ConfigError
from dynonet.registry import build_model, with_season

from conftest import small_model_cfg


def test_patchtst_drops_out_where_the_reference_code_does():
    cfg = small_model_cfg(model="patchtst", n_layers=2)
    model = build_model(cfg)
    attentions = [m for m in model.modules() if isinstance(m, nn.MultiheadAttention)]
    assert len(attentions) == cfg.n_layers
    assert all(a.dropout == 0.0 for a in attentions)  # reference: attn_dropout 0
    drops = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    # embedding, then per layer: attention projection, residual, feed-forward inner (the
    # residual dropout module is shared by both residual branches)
    assert len(drops) == 1 + 3 * cfg.n_layers and all(d.p == cfg.attn_dropout for d in drops)
    x = torch.randn(4, cfg.lookback, cfg.n_channels)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))


def _plain_linear(layer: nn.Linear, series: torch.Tensor) -> torch.Tensor:
    """A TimeLinear's Linear(L, H) on one channel's series (L,), written out: W s + b."""
    return torch.stack([(layer.weight[t] * series).sum() + layer.bias[t] for t in range(layer.out_features)])


@pytest.mark.parametrize("kernel", [5, 4])
def test_dlinear_equals_a_plain_per_channel_loop(kernel):
    """Trend (edge-padded moving average, (k-1)//2 steps before and k//2 after) and remainder,
    each through its own Linear(L, H) shared by the channels, summed: sample by sample and
    channel by channel."""
    torch.manual_seed(0)
    cfg = small_model_cfg(model="dlinear", ma_kernel=kernel)
    model = build_model(cfg)
    x = torch.randn(3, cfg.lookback, cfg.n_channels)
    left, right = (kernel - 1) // 2, kernel // 2
    expected = torch.empty(3, cfg.horizon, cfg.n_channels)
    for b in range(3):
        for c in range(cfg.n_channels):
            s = x[b, :, c]
            padded = torch.cat([s[:1].repeat(left), s, s[-1:].repeat(right)])
            trend = torch.stack([padded[t : t + kernel].mean() for t in range(cfg.lookback)])
            expected[b, :, c] = (_plain_linear(model.trend.linear, trend)
                                 + _plain_linear(model.seasonal.linear, s - trend))
    with torch.no_grad():
        assert torch.allclose(model(x), expected, atol=1e-5)


@pytest.mark.parametrize("lookback, patch_len, stride", [(48, 8, 4), (50, 8, 4), (48, 6, 6)])
def test_patchtst_equals_a_plain_per_channel_loop(lookback, patch_len, stride):
    """In eval mode, each channel alone: its normalized series end-padded by `stride` copies
    of its last value, cut into patches from the start every `stride` steps, each patch
    embedded plus its position, the encoder layers, and the flattened tokens through the head."""
    torch.manual_seed(1)
    cfg = small_model_cfg(model="patchtst", lookback=lookback, patch_len=patch_len, patch_stride=stride, n_layers=2)
    model = build_model(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():  # the position embedding, too, well away from zero
            p.add_(torch.randn_like(p) * 0.1)
        for m in model.modules():  # running statistics away from (0, 1): eval mode reads them
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)
        x = torch.randn(2, lookback, cfg.n_channels) * 3 + 1
        z, stats = model.revin.normalize(x)  # RevIN has tests of its own
        starts = range(0, lookback + stride - patch_len + 1, stride)
        plain = torch.empty(2, cfg.horizon, cfg.n_channels)
        for b in range(2):
            for c in range(cfg.n_channels):
                s = torch.cat([z[b, :, c], z[b, -1:, c].repeat(stride)])
                tokens = torch.stack([model.embed(s[i : i + patch_len]) for i in starts]) + model.position
                tokens = model.encoder(tokens[None])[0]  # (patches, d_model)
                plain[b, :, c] = model.head(tokens.flatten())
        assert torch.allclose(model(x), model.revin.denormalize(plain, stats), atol=1e-4)


def test_repeat_scores_the_same_whatever_the_training_settings(tmp_path, capsys):
    """`repeat` declares every optimization setting unread (benchmark cells merge across them): checked end to end."""
    import json

    from dynonet.cli import main

    base = ["train", "--model", "repeat", "--max-rows", "700", "--lookback", "48", "--horizon", "8", "--quiet"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    assert main([*base, "--epochs", "3", "--lr", "0.1", "--batch-size", "16", "--loss", "mae", "--schedule", "restarts",
                 "--no-trend-first", "--weight-decay", "0.5", "--out", str(tmp_path / "b")]) == 0
    a, b = (json.loads((tmp_path / run / "metrics.json").read_text())["test"] for run in "ab")
    assert a == b


@pytest.mark.parametrize("season, horizon", [(6, 8), (6, 6), (8, 3), (1, 5), (48, 20)])
def test_seasonal_repeat_forecasts_each_step_by_the_value_one_season_before(season, horizon):
    cfg = small_model_cfg(model="seasonal-repeat", season=season, horizon=horizon)
    x = torch.randn(2, cfg.lookback, cfg.n_channels)
    history = list(x.unbind(1))  # plain: extend the series one season back at a time
    for _ in range(horizon):
        history.append(history[-season])
    assert torch.equal(build_model(cfg)(x), torch.stack(history[cfg.lookback:], 1))


def test_a_season_of_0_is_the_time_steps_where_it_fits_the_lookback():
    cfg = small_model_cfg(model="seasonal-repeat", season=0)  # lookback 48
    assert build_model(cfg, "h").cfg.season == 24
    assert with_season(cfg, "D").season == 7
    linear = dataclasses.replace(cfg, model="linear")  # a model that needs no cycle: 0 where none is found
    assert with_season(linear, "15min").season == 0 and with_season(linear, "YS").season == 0  # 96 > 48; none
    assert with_season(dataclasses.replace(cfg, season=5), "h").season == 5  # as given
    with pytest.raises(ConfigError, match=r"^seasonal-repeat needs --season: the time step of 15 minutes \('15min'\) "
                                          r"makes a cycle of 96 steps, longer than --lookback 48; give --season or a longer --lookback$"):
        build_model(cfg, "15min")
    with pytest.raises(ConfigError, match=r"^seasonal-repeat needs --season: data that steps by 1 year "
                                          r"\('YS-JAN'\) has no seasonal cycle by default \(a day of steps shorter than a day, a week of "
                                          r"days, a year of weeks, months, half months or quarters\)$"):
        build_model(cfg, "YS-JAN")
    with pytest.raises(ConfigError, match=r"^seasonal-repeat needs --season, the steps in one seasonal cycle$"):
        build_model(cfg)  # no time step at all
