"""The one table of models. The trainer, CLI and benchmark look models up here by name."""

from __future__ import annotations

from dynonet.base import Forecaster
import dataclasses

from dynonet.baselines import DLinear, PatchTST, RepeatLast, RevINLinear, SeasonalRepeat
from dynonet.config import ModelConfig
from dynonet.dates import season_of
from dynonet.errors import ConfigError
from dynonet.model import DynoNet

MODELS: dict[str, type[Forecaster]] = {  # each class: check_config, display_name, unread
    "dynonet": DynoNet,
    "linear": RevINLinear,
    "dlinear": DLinear,
    "patchtst": PatchTST,
    "repeat": RepeatLast,
    "seasonal-repeat": SeasonalRepeat,
}


def check_config(cfg: ModelConfig) -> None:
    """The model named by `cfg.model` exists and can run with `cfg` (before any data is read)."""
    if cfg.model not in MODELS:
        raise ConfigError(f"unknown model {cfg.model!r}; choose from {', '.join(MODELS)}")
    MODELS[cfg.model].check_config(cfg)


def build_model(cfg: ModelConfig, freq: str | None = None) -> Forecaster:
    """Instantiate the model named by `cfg.model` (cfg.n_channels must be set); `freq`, the
    data's time step, sets a `season` of 0 (`with_season`)."""
    check_config(cfg)
    if cfg.n_channels < 1:
        raise ConfigError("n_channels must be set from the data before building a model")
    return MODELS[cfg.model](with_season(cfg, freq))


def with_season(cfg: ModelConfig, freq: str | None) -> ModelConfig:
    """`cfg` with a `season` of 0 set from the time step `freq` (`dates.season_of`) where that
    gives a cycle the lookback holds; as it is otherwise. The config a run records keeps the 0,
    so that a refit on data of another step finds that data's cycle."""
    season = season_of(freq) if cfg.season == 0 and freq is not None else None
    return dataclasses.replace(cfg, season=season) if season is not None and season <= cfg.lookback else cfg


def naive_configs(cfg: ModelConfig, freq: str | None) -> dict[str, ModelConfig]:
    """The naive forecasts every model should beat, configured as `cfg` otherwise: `naive`
    (`repeat`: each series' last value repeated) and, where `cfg.season` or the time step
    `freq` gives a cycle of more than one step that the lookback holds, `seasonal_naive`
    (`seasonal-repeat`: its last cycle repeated)."""
    configs = {"naive": dataclasses.replace(cfg, model="repeat")}
    season = with_season(cfg, freq).season
    if season > 1:  # (a cycle of one step is the naive forecast)
        configs["seasonal_naive"] = dataclasses.replace(cfg, model="seasonal-repeat", season=season)
    return configs
