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
