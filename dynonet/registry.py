"""The one table of models. The trainer, CLI and benchmark look models up here by name."""

from __future__ import annotations

import dataclasses
from typing import Any

from dynonet.base import Forecaster
from dynonet.baselines import DLinear, PatchTST, RepeatLast, RevINLinear, SeasonalRepeat
from dynonet.config import ModelConfig
from dynonet.dates import season_of, step_text
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


def unread_notes(cfg: ModelConfig, unread: dict[str, str]) -> list[str]:
    """Notes on the settings `unread` ({"model.patch_len": "--patch-len"}) that the model of `cfg`
    does not read: one for those its configuration leaves unread (the controller's, with the
    controller off), saying so, and one for the rest."""
    cls, groups = MODELS[cfg.model], {}
    for key, shown in unread.items():
        groups.setdefault(cls.configured(cfg, [key]), []).append(shown)
    return [f"model {cfg.model!r}{how} does not read {', '.join(shown)}" for how, shown in groups.items()]


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
    gives a cycle the lookback holds; as it is otherwise, but that a model which forecasts by
    the cycle (`Forecaster.needs_season`) and finds none is a ConfigError. The config a run
    records keeps the 0, so that a refit on data of another step finds that data's cycle."""
    if cfg.season or freq is None:
        return cfg
    season = season_of(freq)
    if season is not None and season <= cfg.lookback:
        return dataclasses.replace(cfg, season=season)
    if MODELS[cfg.model].needs_season:
        raise ConfigError(f"{cfg.model} needs --season: " + (
            f"data that steps by {step_text(freq)} has no seasonal cycle by default (a day of steps shorter than a "
            "day, a week of days, a year of weeks, months, half months or quarters)" if season is None else
            f"the time step of {step_text(freq)} makes a cycle of {season} steps, longer than --lookback "
            f"{cfg.lookback}; give --season or a longer --lookback"))
    return cfg


NAIVE_MODELS = {"naive": "repeat", "seasonal_naive": "seasonal-repeat"}  # as scores name them beside a model's
NAIVE_KEYS = tuple(NAIVE_MODELS)


def forecast_column(name: str) -> str:
    """The column of a backtest table that holds the forecasts of the model `name` names, by its
    registered name ('seasonal-repeat'), its display name ('RevIN+Linear') or its key beside
    scores ('seasonal_naive'): its class's name, as neuralforecast names forecasts
    ('SeasonalRepeat'). Any other name is taken as a column's."""
    by_name = {**{cls.display_name: cls for cls in MODELS.values()},
               **{key: MODELS[model] for key, model in NAIVE_MODELS.items()}, **MODELS}
    return by_name[name].__name__ if name in by_name else name


def naive_configs(cfg: ModelConfig, freq: str | None) -> dict[str, ModelConfig]:
    """The naive forecasts a run of `cfg` should beat, configured as it is otherwise: `naive`
    (`repeat`: each series' last value repeated) and, where `cfg.season` or the time step
    `freq` gives a cycle of more than one step that the lookback holds, `seasonal_naive`
    (`seasonal-repeat`: its last cycle repeated); none that is the run's own model (a naive
    run is scored once, as itself)."""
    configs = {"naive": dataclasses.replace(cfg, model=NAIVE_MODELS["naive"])}
    season = with_season(configs["naive"], freq).season
    if season > 1:  # (a cycle of one step is the naive forecast)
        configs["seasonal_naive"] = dataclasses.replace(cfg, model=NAIVE_MODELS["seasonal_naive"], season=season)
    return {key: c for key, c in configs.items() if c.model != cfg.model}


def naive_named(cfg: ModelConfig) -> dict[str, Any]:
    """How a naive forecast (`naive_configs`) is named beside scores: its model, and its season
    where it forecasts by one."""
    return {"model": cfg.model, **({"season": cfg.season} if MODELS[cfg.model].needs_season else {})}
