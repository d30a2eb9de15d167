"""Data: bundled ETT files or a user's table (read and checked by `tables.py`), split,
z-scored on the training rows, and cut into windows on the device from one tensor.

Splits follow the protocol (`docs/PROTOCOL.md`): ETT hourly uses the standard borders
train [0, 8640), validation [8640 - L, 11520), test [11520 - L, 14400); any other CSV is split
70/10/20 chronologically with the same L-step overlap, so every target row of a split lies
inside that split and no test row ever reaches training.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from dynonet.config import RunConfig
from dynonet.errors import DataError
from dynonet.dates import date_namer, regular_freq
from dynonet.tables import Reading, line_namer, read_table, show_cell

ETT_BORDERS = (12 * 30 * 24, 16 * 30 * 24, 20 * 30 * 24)  # 8640, 11520, 14400 hours


def bundled_path(name: str) -> Path:
    """Path of a bundled dataset file inside the installed package."""
    return Path(str(resources.files("dynonet") / "datasets" / f"{name}.csv"))


# The model computes in float32 and squares deviations of its input (RevIN's variance, the
# MSE): a scaled value beyond this would overflow float32's 3.4e38 once squared.
MAX_SCALED = 1e18

MAD_TO_STD = 1.4826  # the median absolute deviation times this is a normal distribution's std
OUTLIER_RATIO = 10.0  # a std this many typical deviations wide is made by a few far values
OUTLIER_SHARE = 0.02  # at most this share far out: two regimes (peak hours, a level shift) are no outliers


@dataclass(frozen=True)
class Scaler:
    """Per-channel z-scoring with statistics of the training rows only."""

    mean: np.ndarray  # (C,)
    std: np.ndarray  # (C,)

    @classmethod
    def fit(cls, values: np.ndarray) -> "Scaler":
        """Mean and std per column of `values` (T, C), the training rows; a constant column gets std 1."""
        std = values.std(axis=0)
        return cls(values.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        """(values - mean) / std."""
        return (values - self.mean) / self.std

    def scale(self, values: np.ndarray, source: str, columns: list[str], where: Callable[[int], str]) -> np.ndarray:
        """`transform` as the model's float32 input; a value too far from the training rows
        for float32 arithmetic is a `DataError` naming its row (`where`) and column."""
        z = self.transform(values)
        far = np.abs(z) > MAX_SCALED
        if far.any():
            i, c = (int(k) for k in np.argwhere(far)[0])
            raise DataError(f"{source}: {where(i)}, column {columns[c]!r}: {show_cell(values[i, c])} lies "
                            f"{abs(z[i, c]):.1e} training standard deviations from the training mean, too "
                            "far to compute with in float32")
        return z.astype(np.float32)

    def inverse(self, values: np.ndarray) -> np.ndarray:
        """Back to original units: values * std + mean."""
        return values * self.std + self.mean

    def to_dict(self) -> dict[str, list[float]]:
        """The statistics as JSON lists (what checkpoint.json records)."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, list[float]]) -> "Scaler":
        """Inverse of `to_dict`."""
        return cls(np.asarray(d["mean"], dtype=np.float64), np.asarray(d["std"], dtype=np.float64))


@dataclass
class SeriesData:
    """A loaded, validated, split and scaled multivariate series."""

    source: str  # bundled dataset name or CSV path
    columns: list[str]
    dates: pd.DatetimeIndex
    values: np.ndarray  # (T, C) standardized, float32
    scaler: Scaler
    splits: dict[str, tuple[int, int]]  # row ranges [start, end), the L-step overlap included
    freq: str  # the one step between all rows, as an offset string ('h', '15min', 'MS', 'B', ...)
    date_format: str | None = None  # what the dates were read with (None: inferred, as ISO 8601)
    date_format_settled: bool = False  # read off the dates themselves (a 13th), not given

    @property
    def n_channels(self) -> int:
        """Number of series."""
        return len(self.columns)

    def scale_notes(self) -> list[str]:
        """Notes on the series whose training rows make their standardized scores mislead: a
        constant series (scaled with std 1), one that barely varies (most of its values one value,
        its std under 1e-6 of its level: any later change is millions of stds), and one with
        outliers (its std over `OUTLIER_RATIO` times the typical deviation from its median: its
        scores read small)."""
        start, end = self.splits["train"]
        train = self.values[start:end].astype(np.float64)  # (T, C), standardized
        flat = np.ptp(train, axis=0) == 0
        std, level = self.scaler.std, np.abs(self.scaler.mean)  # in the series' units
        median = np.median(train, axis=0)
        typical = MAD_TO_STD * np.median(np.abs(train - median), axis=0)  # in stds; outliers do not move it
        ratio = train.std(axis=0) / np.where(typical > 0, typical, np.inf)  # (about 1 / typical)
        far = (np.abs(train - median) > OUTLIER_RATIO * typical).sum(axis=0)
        notes = []
        for c, f, s, lv, t, r, n in zip(self.columns, flat, std, level, typical, ratio, far.tolist()):
            if f:
                notes.append(f"series {c!r} is constant over the training rows (scaled with std 1): its scores may "
                             "not compare with the other series'")
            elif s < 1e-6 * lv and t == 0:  # most values one value (a counter near 1e9 varies: not noted)
                notes.append(f"series {c!r} barely varies over the training rows (std {s:.3g} around {lv:.6g}): "
                             "its standardized scores count any later change in millions of stds")
            elif r > OUTLIER_RATIO and n <= OUTLIER_SHARE * len(train):  # many far values: a regime, not outliers
                notes.append(f"series {c!r} has {n} training value{'s' * (n != 1)} far from its others (its std "
                             f"{s:.3g} is {r:.0f} times its typical deviation {s / r:.3g}): its standardized "
                             "scores read small (its scores in its own units do not)")
        return notes


def split_rows(n_rows: int, lookback: int, horizon: int, *, ett: bool, val_fraction: float,
               test_fraction: float, source: str,
               where: Callable[[int], str] = line_namer(None)) -> dict[str, tuple[int, int]]:
    """Row ranges of the train/val/test splits (each later split starts L rows early); a CSV
    with `test_fraction` 0 has no test split. `where` names row i in the error of a split too
    short for one window."""
    def splits_of(n: int, lookback: int = lookback) -> dict[str, tuple[int, int]]:
        if ett and n >= ETT_BORDERS[2]:
            b1, b2, b3 = ETT_BORDERS
        else:
            n_test = int(round(n * test_fraction))
            n_val = int(round(n * val_fraction))
            b3 = n
            b2 = b3 - n_test
            b1 = b2 - n_val
        splits = {"train": (0, b1), "val": (max(b1 - lookback, 0), b2), "test": (max(b2 - lookback, 0), b3)}
        if test_fraction == 0 and not ett:  # fit on everything: no test split
            del splits["test"]
        return splits

    need = lookback + horizon
    short = lambda n: [(name, s, e) for name, (s, e) in splits_of(n).items() if e - s < need]  # noqa: E731
    if too_short := short(n_rows):
        # the longest lookback these rows hold (each later split starts that many rows early)
        fits = next((k for k in range(lookback - 1, 0, -1)
                     if all(e - s >= k + horizon for s, e in splits_of(n_rows, k).values())), None)
        name, start, end = too_short[0]
        # the fewest rows whose every split holds a window (rounding makes it no closed form, and
        # with odd fractions a few more rows may fail again: "enough", not "or more")
        enough = next((n for n in range(n_rows + 1, 100 * need + n_rows) if not short(n)), None)
        # where no lookback makes room (a split shorter than the horizon), only the horizon does,
        # if a step of each does
        other = (f"a lookback of at most {fits}, shorter for more windows" if fits is not None else
                 "a shorter horizon" if all(e - s >= 2 for s, e in splits_of(n_rows, 1).values()) else None)
        raise DataError(
            f"{source}: {n_rows} row{' is' if n_rows == 1 else 's are'} too few: the {name} split has "
            f"{end - start} row{'s' * (end - start != 1)}"
            + (f" ({where(start)} to {where(end - 1)})" if end > start else "")
            + f", lookback {lookback} + horizon {horizon} needs {need} ("
            + (f"with these settings {enough} rows are enough" if enough is not None else "more rows")
            + (f", or {other})" if other else ")")
        )
    return splits_of(n_rows)


def load(cfg: RunConfig, trained: bool = False) -> SeriesData:
    """Load the data a run config names and split/scale it by the protocol (`trained`: for a
    trained run, whose date settings errors then name as the run's; see `tables.read_csv`)."""
    d = cfg.data
    if d.csv is not None:
        source, path, ett = d.csv, Path(d.csv), False
    else:
        source, path, ett = d.dataset, bundled_path(d.dataset), True
    reading = Reading.of(d, trained=trained) if d.csv is not None else Reading()
    table = read_table(path, reading)
    # a long file's rows are not the pivoted table's: then rows are named by their dates
    return from_table(cfg, table.dates, table.columns, table.values, source=source, ett=ett,
                      where=line_namer(table.lines) if table.ids is None else None,
                      date_format=table.date_format)


def from_table(cfg: RunConfig, dates: pd.DatetimeIndex, columns: list[str], values: np.ndarray, *,
               source: str, ett: bool = False, where: Callable[[int], str] | None = None,
               date_format: str | None = None) -> SeriesData:
    """Split/scale a validated table (see `validate_frame`) by the protocol, as `load` does.

    `where` names row i in errors (a file's lines: `line_namer`); None (a table in memory, or a
    long table, whose rows are not the caller's) names rows by their date, and leaves an uneven
    step (`regular_freq`) to the two dates it names. `date_format`: the one the dates were read
    with (`tables.Table`).
    """
    d, m = cfg.data, cfg.model
    if d.max_rows is not None:
        dates, values, ett = dates[: d.max_rows], values[: d.max_rows], False
    row = where or date_namer(dates, date_format or d.date_format)
    splits = split_rows(len(values), m.lookback, m.horizon, ett=ett, val_fraction=d.val_fraction,
                        test_fraction=d.test_fraction, source=source, where=row)
    freq = regular_freq(dates, source, where)
    train = values[slice(*splits["train"])]
    with np.errstate(over="ignore", invalid="ignore"):  # said below, by column
        scaler = Scaler.fit(train)
    if not (finite := np.isfinite(scaler.mean) & np.isfinite(scaler.std)).all():
        c = int((~finite).nonzero()[0][0])
        raise DataError(f"{source}: column {columns[c]!r}: its training values (up to "
                        f"{show_cell(np.abs(train[:, c]).max())}) are too large for their mean and standard "
                        "deviation in float64; rescale the column (e.g. to thousands or millions)")
    scaled = scaler.scale(values, source, columns, row)
    return SeriesData(source, columns, dates, scaled, scaler, splits, freq, date_format or d.date_format,
                      date_format_settled=d.date_format is None and date_format is not None)


class Windows:
    """All stride-1 windows of a row range, cut on the device from one tensor.

    `series.unfold` is a view: a batch is one index gather, no per-sample Python code.
    """

    def __init__(self, series: Tensor, rows: tuple[int, int], lookback: int, horizon: int):
        start, end = rows
        self.rows, self.lookback = rows, lookback
        self.view = series[start:end].unfold(0, lookback + horizon, 1)  # (N, C, L+H)

    def __len__(self) -> int:
        return self.view.shape[0]

    @property
    def device(self) -> torch.device:
        return self.view.device

    @property
    def n_channels(self) -> int:
        return self.view.shape[1]

    def get(self, index: Tensor) -> tuple[Tensor, Tensor]:
        """index: (B,) window numbers -> x (B, L, C), y (B, H, C)."""
        w = self.view[index].transpose(1, 2)
        return w[:, : self.lookback], w[:, self.lookback :]

    def batches(self, batch_size: int, order: Tensor | None = None) -> Iterator[tuple[Tensor, Tensor]]:
        """Every window once, in `order` (a permutation) or in time order; last batch kept."""
        if order is None:
            order = torch.arange(len(self), device=self.device)
        for index in order.split(batch_size):
            yield self.get(index)


def holdout_cut(train: tuple[int, int], lookback: int, horizon: int, fraction: float, source: str) -> int:
    """The row where the controller's holdout (the last `fraction` of the training rows)
    begins; a DataError if either part would hold no window."""
    n_hold = int(round((train[1] - train[0]) * fraction))
    cut = train[1] - n_hold
    if cut - train[0] < lookback + horizon or n_hold < horizon:  # each part holds at least one window
        raise DataError(f"{source}: training period of {train[1] - train[0]} rows is too short to hold out "
                        f"{fraction:.0%} for the controller with lookback {lookback} and horizon {horizon}")
    return cut


def window_sets(data: SeriesData, cfg: RunConfig, device: torch.device,
                controller: bool = True) -> dict[str, Windows]:
    """Windows for training, validation and the controller's split: everything training may
    read. The test windows are not among them (`split_windows`), so no trainer can touch them.

    With `controller_data="holdout"` the last `holdout_fraction` of the training period is
    taken away from the workers and given to the controller, so validation stays untouched
    by any optimizer; for a model without a controller (`controller=False`) nothing is held out.
    """
    L, H = cfg.model.lookback, cfg.model.horizon
    series = torch.as_tensor(data.values, device=device)
    train = data.splits["train"]
    # each split holds >= L + H rows (split_rows)
    sets = {name: Windows(series, data.splits[name], L, H) for name in ("train", "val")}
    if controller and cfg.train.controller_data == "holdout":
        cut = holdout_cut(train, L, H, cfg.train.holdout_fraction, data.source)
        sets["train"] = Windows(series, (train[0], cut), L, H)
        sets["controller"] = Windows(series, (cut - L, train[1]), L, H)
    else:
        sets["controller"] = sets["val"]
    return sets


def split_windows(data: SeriesData, cfg: RunConfig, device: torch.device, split: str) -> Windows | None:
    """Every window of one split (the test split: scored once, after training); None if the
    data has no such split (no test split with `test_fraction` 0)."""
    if split not in data.splits:
        return None
    return Windows(torch.as_tensor(data.values, device=device), data.splits[split], cfg.model.lookback,
                   cfg.model.horizon)
