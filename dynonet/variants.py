"""The variants of a benchmark grid: each a named set of config overrides on the same preset
(the full system, its ablations, the controller's controls, and every registered baseline)."""

from __future__ import annotations

from typing import Any

from dynonet.config import SIGNALS
from dynonet.registry import MODELS

# The one table of variants: name -> config overrides on the preset. The controller variants
# switch the controller on themselves, whatever the preset holds.
VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "dynonet": {"model": {"controller": True}},  # the full system
    "workers-only": {"model": {"controller": False}},
    "frozen-controller": {"model": {"controller": True}, "train": {"controller_lr": 0.0}},
    **{f"no-{s}": {"model": {"controller": True, "fixed_signals": (s,)}} for s in SIGNALS},
    "holdout": {"model": {"controller": True}, "train": {"controller_data": "holdout"}},
    # holdout's control: the same shortened training period, the controller frozen at init, so
    # validation (clean in both) judges what training the controller adds
    "frozen-holdout": {"model": {"controller": True}, "train": {"controller_lr": 0.0, "controller_data": "holdout"}},
    # every other registered model is a baseline row; no trend path, so no trend-first stage
    # (their records say so)
    **{name: {"model": {"model": name}, "train": {"trend_first": False}} for name in MODELS if name != "dynonet"},
    # RevIN + Linear fitted exactly (ridge least squares, penalty chosen on validation): the
    # baseline for DynoNet runs with --trend-fit ridge, whose first stage is this same fit
    "linear-ridge": {"model": {"model": "linear"}, "train": {"trend_first": True, "trend_fit": "ridge"}},
}
