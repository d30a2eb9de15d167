"""The one table of models. The trainer, CLI and benchmark look models up here by name."""

from __future__ import annotations

from dynonet.base import Forecaster
from dynonet.baselines import DLinear, PatchTST, RepeatLast, RevINLinear
from dynonet.config import ModelConfig
from dynonet.errors import ConfigError
from dynonet.model import DynoNet

MODELS: dict[str, type[Forecaster]] = {  # each class: check_config, display_name, unread
    "dynonet": DynoNet,
    "linear": RevINLinear,
    "dlinear": DLinear,
    "patchtst": PatchTST,
    "repeat": RepeatLast,
}


def check_config(cfg: ModelConfig) -> None:
    """The model named by `cfg.model` exists and can run with `cfg` (before any data is read)."""
    if cfg.model not in MODELS:
        raise ConfigError(f"unknown model {cfg.model!r}; choose from {', '.join(MODELS)}")
    MODELS[cfg.model].check_config(cfg)


def build_model(cfg: ModelConfig) -> Forecaster:
    """Instantiate the model named by `cfg.model` (cfg.n_channels must be set)."""
    check_config(cfg)
    if cfg.n_channels < 1:
        raise ConfigError("n_channels must be set from the data before building a model")
    return MODELS[cfg.model](cfg)
