"""Prediction intervals by split conformal prediction on the validation windows.

After training, the model forecasts every validation window. For each horizon step and
series, the central interval at level p is the forecast +- the ceil((n + 1) p)-th smallest of
the n absolute errors (Vovk et al., 2005; Lei et al., 2018): were the windows exchangeable, it
would hold the true value with probability at least p. They are not quite: validation also
chose the epoch kept (and trains a controller with `--controller-data val`), and the series
move on; so a run measures the coverage on its test split instead of assuming it
(`evaluation.evaluate`, metrics.json `test.intervals`).

Half-widths are kept on the standardized scale, for the levels asked for (`--interval-levels`,
whole percents) that the number of validation windows can calibrate (a level p needs
n >= p / (1 - p) windows).
"""

from __future__ import annotations

import math
import numbers
import shlex
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from dynonet.base import Forecaster
from dynonet.config import TrainConfig
from dynonet.data import Windows
from dynonet.errors import ConfigError

LEVELS = TrainConfig().interval_levels  # percent; what a run calibrates unless asked for others
TENSOR = "intervals.half_widths"  # the key of the half-widths in the run's intervals.safetensors
CHUNK_VALUES = 2**24  # errors sorted at once in `calibrate`
MORE = "more rows, a larger --val-fraction or a shorter --horizon give more"


def windows_needed(level: int) -> int:
    """The fewest calibration windows that give a level `level` (percent) a finite interval."""
    p = level / 100
    return math.ceil(p / (1 - p) - 1e-9)


@dataclass(frozen=True)
class Intervals:
    """Calibrated half-widths: `half_widths[i]` (H, C), on the standardized scale, for
    `levels[i]`; `windows`, how many validation windows calibrated them."""

    levels: tuple[int, ...]
    half_widths: torch.Tensor  # (len(levels), H, C)
    windows: int

    def meta(self) -> dict[str, Any]:
        """What checkpoint.json records (the half-widths go into intervals.safetensors, as `TENSOR`)."""
        return {"levels": list(self.levels), "windows": self.windows, "calibrated_on": "validation"}

    @classmethod
    def from_saved(cls, meta: dict[str, Any], tensor: torch.Tensor | None) -> "Intervals":
        """The intervals of a run folder: checkpoint.json's `meta()`, the tensor saved as `TENSOR`."""
        levels = tuple(int(p) for p in meta["levels"])
        half_widths = torch.empty(0) if tensor is None else tensor
        if half_widths.shape[:1] != (len(levels),) or levels != tuple(sorted(set(levels))) or not all(
                1 <= p <= 99 for p in levels):
            raise ValueError(f"levels {list(levels)} and half-widths of shape {tuple(half_widths.shape)} disagree")
        if len(levels) > 1 and (half_widths[1:] < half_widths[:-1]).any():  # a higher level is never narrower
            raise ValueError("a level's half-widths are narrower than a lower level's")
        return cls(levels, half_widths, int(meta["windows"]))

    def __repr__(self) -> str:  # not the tensor: (levels, H, C) of a run of many series is long
        return (f"Intervals(levels={self.levels}, windows={self.windows}, "
                f"half_widths=<{' x '.join(map(str, self.half_widths.shape))}>)")

    def missing(self, asked: Sequence[int]) -> str:
        """The levels of `asked` that the validation windows were too few for, and why; "" if none."""
        missing = [p for p in asked if p not in self.levels]
        if not missing:
            return ""
        need = ", ".join(f"{p} needs {windows_needed(p)}" for p in missing)
        calibrated = (f"prediction intervals at levels {', '.join(map(str, self.levels))}, not" if self.levels
                      else "no prediction intervals: not at levels")
        return (f"the {self.windows} validation window{'s' * (self.windows != 1)} calibrate{'s' * (self.windows == 1)} "
                f"{calibrated} {', '.join(map(str, missing))} "
                f"({need}; {MORE})")

    def widths(self, level: int) -> np.ndarray:
        """The half-widths of one calibrated level: (H, C) on the standardized scale."""
        if level not in self.levels:
            raise ConfigError(unavailable([level], self))
        return self.half_widths[self.levels.index(level)].double().cpu().numpy()


def calibrate_hint(run: str = "RUN") -> str:
    """How the run folder `run` gets other levels: a format string of `{levels}` (the levels it
    will then have) and `{it}` ("it" or "them"), as `unavailable` takes it."""
    return f"`dynonet evaluate --checkpoint {shlex.quote(run)} --calibrate --interval-levels {{levels}}` adds {{it}}"


def unavailable(levels: Sequence[int], intervals: Intervals | None, hint: str = calibrate_hint()) -> str:
    """Why `levels` (checked by `check_levels`, some not calibrated) have no interval, in one
    line; `hint`: how to add them (`calibrate_hint`)."""
    def named(some: list[int]) -> str:
        return f"level{'s' * (len(some) > 1)} {', '.join(map(str, some))}"

    missing = [p for p in levels if intervals is None or p not in intervals.levels]
    if intervals is None:  # the levels a run gets by default, and those asked for
        return (f"{named(missing)}: this run has no prediction intervals (a run folder of an earlier version); "
                + hint.format(levels=",".join(map(str, sorted({*LEVELS, *missing}))), it="them"))
    calibrated = ", ".join(map(str, intervals.levels)) or "none"
    too_few = [p for p in missing if intervals.windows < windows_needed(p)]
    addable = [p for p in missing if p not in too_few]
    parts = []
    if too_few:  # no recalibration helps these: said first
        need = ", ".join(f"{p} needs at least {windows_needed(p)}" for p in too_few)
        parts.append(f"{named(too_few)}: the run's {intervals.windows} validation window{'s' * (intervals.windows != 1)} "
                     f"calibrate{'s' * (intervals.windows == 1)} levels "
                     f"{calibrated}; {need} ({MORE})")
    if addable:
        parts.append(f"{named(addable)}: the run calibrated levels {calibrated}; "
                     + hint.format(levels=",".join(map(str, sorted({*intervals.levels, *addable}))),
                                   it="them" if len(addable) > 1 else "it"))
    return "; ".join(parts)


def check_levels(levels: Sequence[Any]) -> tuple[int, ...]:
    """Levels as given (percent, e.g. 80 or "80") -> whole percents from 1 to 99, sorted, once
    each; anything else is a ConfigError."""
    out = []
    for level in levels:
        try:
            value = float(level)
        except (TypeError, ValueError):
            value = math.nan
        if not (1 <= value <= 99 and value == int(value)) or isinstance(level, bool):
            raise ConfigError(f"level {level!r}: a level is a whole percent from 1 to 99")
        out.append(int(value))
    return tuple(sorted(set(out)))


def parse_levels(value: Any, example: str = "80,95") -> tuple[int, ...]:
    """Levels as the API and the command line take them -> `check_levels`: 80, "80,95" (as
    typed: blanks and empty entries dropped), [80, 95.0], an array. Text of no level is a
    ConfigError, which shows `example`."""
    if isinstance(value, str):
        if not (entries := [x.strip() for x in value.split(",") if x.strip()]):
            raise ConfigError(f"give one or more levels, e.g. {example}")
        return check_levels(entries)
    return check_levels([value] if isinstance(value, numbers.Number) else list(value))


@torch.no_grad()
def calibrate(model: Forecaster, windows: Windows, batch_size: int, levels: Sequence[int] = LEVELS) -> Intervals:
    """The half-widths of each of `levels` (percent) that `len(windows)` can calibrate."""
    was_training = model.training
    model.eval()
    try:  # the errors gather in host memory, batch by batch: many series and steps fill a GPU
        errors = torch.cat([(model(x) - y).abs().cpu() for x, y in windows.batches(batch_size)])  # (N, H, C)
    finally:
        model.train(was_training)
    n = errors.shape[0]
    levels = tuple(p for p in sorted(set(levels)) if n >= windows_needed(p))
    ranks = [math.ceil((n + 1) * p / 100 - 1e-9) - 1 for p in levels]  # 0-based, each < n
    # sorted a few series at a time: a sort's copy and indices of every error would triple the memory
    chunk = max(1, CHUNK_VALUES // max(1, n * errors.shape[1]))
    half_widths = torch.cat([part.sort(dim=0).values[ranks] for part in errors.split(chunk, dim=2)], dim=2)
    return Intervals(levels, half_widths.float(), n)


def bounds(forecast: pd.DataFrame, widths: np.ndarray, std: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The interval around a wide forecast (H, C) in original units: `widths` (H, C) on the
    standardized scale, times each series' training `std` (C,)."""
    half = widths * std  # (H, C)
    return forecast - half, forecast + half


def require(intervals: Intervals | None, levels: Sequence[int], hint: str = calibrate_hint()) -> None:
    """A ConfigError unless `intervals` holds every one of `levels` (`hint`: as `unavailable`'s)."""
    if any(intervals is None or p not in intervals.levels for p in levels):
        raise ConfigError(unavailable(levels, intervals, hint))


Bands = dict[int, tuple[pd.DataFrame, pd.DataFrame]]  # level -> (lower, upper), each like the forecast


def with_bounds(forecast: pd.DataFrame, bands: Bands) -> pd.DataFrame:
    """The wide forecast with each series followed by its bounds, named and ordered as
    neuralforecast's are, from the lowest bound to the highest: `load`, `load-lo-95`,
    `load-lo-80`, `load-hi-80`, `load-hi-95`."""
    levels = sorted(bands)
    suffixes = ["", *(f"-lo-{p}" for p in reversed(levels)), *(f"-hi-{p}" for p in levels)]
    parts = [forecast, *(bands[p][0] for p in reversed(levels)), *(bands[p][1] for p in levels)]
    values = np.stack([part.to_numpy() for part in parts], axis=2)  # (H, C, parts): each series, then its bounds
    names = [f"{c}{suffix}" for c in forecast.columns for suffix in suffixes]
    if len(set(names)) < len(names):  # a series named as another's bound ("load-lo-80")
        clash = next(c for c in forecast.columns if any(f"{o}{x}" == c for o in forecast.columns for x in suffixes[1:]))
        raise ConfigError(f"series {clash!r} is named as another series' bound; rename it to forecast intervals")
    return pd.DataFrame(values.reshape(len(forecast), -1), index=forecast.index, columns=names)
