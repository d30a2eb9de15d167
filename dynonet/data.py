"""Data: bundled ETT files or a user's CSV, validated, split, z-scored on the training rows,
and cut into windows on the device from one tensor.

Splits follow the protocol (`PROTOCOL.md`): ETT hourly uses the standard borders
train [0, 8640), validation [8640 - L, 11520), test [11520 - L, 14400); any other CSV is split
70/10/20 chronologically with the same L-step overlap, so every target row of a split lies
inside that split and no test row ever reaches training.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from dynonet.config import RunConfig
from dynonet.errors import DataError

BUNDLED = ("ETTh1", "ETTh2")
ETT_BORDERS = (12 * 30 * 24, 16 * 30 * 24, 20 * 30 * 24)  # 8640, 11520, 14400 hours


def bundled_path(name: str) -> Path:
    """Path of a bundled dataset file inside the installed package."""
    return Path(str(resources.files("dynonet") / "datasets" / f"{name}.csv"))


def _line(i: int) -> int:
    return i + 2  # 1-based, after the header line


def read_csv(path: str | Path, date_column: str = "date") -> tuple[pd.DatetimeIndex, list[str], np.ndarray]:
    """Read and validate a wide CSV: one date column, one numeric column per series.

    Returns (dates, column names, values (T, C) float64). Raises `DataError` with the file,
    column and line of the first problem found.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"{path}: not a readable CSV ({first})") from None
    if date_column not in frame.columns:
        raise DataError(
            f"{path}: no date column {date_column!r} (columns: {', '.join(map(str, frame.columns[:10]))})"
        )
    value_columns = [c for c in frame.columns if c != date_column]
    if not value_columns:
        raise DataError(f"{path}: no numeric columns besides {date_column!r}")
    if len(frame) == 0:
        raise DataError(f"{path}: no data rows")

    raw_dates = frame[date_column].str.strip()
    dates = pd.to_datetime(raw_dates, errors="coerce")
    bad = dates.isna().to_numpy().nonzero()[0]
    if len(bad):
        i = bad[0]
        raise DataError(f"{path}: line {_line(i)}: cannot parse date {raw_dates.iloc[i]!r} in column {date_column!r}")
    step = np.diff(dates.to_numpy().astype("datetime64[ns]").astype(np.int64))
    if (step <= 0).any():
        i = int((step <= 0).nonzero()[0][0]) + 1
        kind = "duplicate date" if step[i - 1] == 0 else "date goes backwards:"
        raise DataError(f"{path}: line {_line(i)}: {kind} {raw_dates.iloc[i]!r} after {raw_dates.iloc[i - 1]!r}")

    numeric = {}
    for col in value_columns:
        text = frame[col].str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        bad = (~np.isfinite(values)).nonzero()[0]
        if len(bad):
            i = bad[0]
            cell = text.iloc[i]
            what = "missing value" if cell == "" else f"{cell!r} is not a finite number"
            raise DataError(f"{path}: line {_line(i)}, column {col!r}: {what}")
        numeric[str(col)] = values
    return pd.DatetimeIndex(dates), list(numeric), np.stack(list(numeric.values()), axis=1)


@dataclass(frozen=True)
class Scaler:
    """Per-channel z-scoring with statistics of the training rows only."""

    mean: np.ndarray  # (C,)
    std: np.ndarray  # (C,)

    @classmethod
    def fit(cls, values: np.ndarray) -> "Scaler":
        std = values.std(axis=0)
        return cls(values.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.std

    def inverse(self, values: np.ndarray) -> np.ndarray:
        return values * self.std + self.mean

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, list[float]]) -> "Scaler":
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
    freq: str | None

    @property
    def n_channels(self) -> int:
        return len(self.columns)


def split_rows(n_rows: int, lookback: int, horizon: int, *, ett: bool, val_fraction: float,
               test_fraction: float, source: str) -> dict[str, tuple[int, int]]:
    """Row ranges of the train/val/test splits (each later split starts L rows early)."""
    if ett and n_rows >= ETT_BORDERS[2]:
        b1, b2, b3 = ETT_BORDERS
    else:
        n_test = int(round(n_rows * test_fraction))
        n_val = int(round(n_rows * val_fraction))
        b3 = n_rows
        b2 = b3 - n_test
        b1 = b2 - n_val
    splits = {"train": (0, b1), "val": (max(b1 - lookback, 0), b2), "test": (max(b2 - lookback, 0), b3)}
    need = lookback + horizon
    for name, (start, end) in splits.items():
        if name == "test" and test_fraction == 0 and not ett:
            continue
        if end - start < need:
            raise DataError(
                f"{source}: {n_rows} rows are too few: the {name} split has {end - start} rows "
                f"(rows {start}-{end}), lookback {lookback} + horizon {horizon} needs {need}"
            )
    return splits


def load(cfg: RunConfig) -> SeriesData:
    """Load the data a run config names and split/scale it by the protocol."""
    d, m = cfg.data, cfg.model
    if d.csv is not None:
        source, path, ett = d.csv, Path(d.csv), False
    else:
        source, path, ett = d.dataset, bundled_path(d.dataset), True
    dates, columns, values = read_csv(path, d.date_column if d.csv is not None else "date")
    if d.max_rows is not None:
        dates, values, ett = dates[: d.max_rows], values[: d.max_rows], False
    splits = split_rows(len(values), m.lookback, m.horizon, ett=ett, val_fraction=d.val_fraction,
                        test_fraction=d.test_fraction, source=source)
    scaler = Scaler.fit(values[slice(*splits["train"])])
    return SeriesData(source, columns, dates, scaler.transform(values).astype(np.float32), scaler, splits,
                      infer_freq(dates))


def infer_freq(dates: pd.DatetimeIndex) -> str | None:
    """The series' frequency as an offset string ('h', '15min', ...), or None if irregular."""
    if len(dates) < 3:
        return None
    with warnings.catch_warnings():  # pandas is changing the return type; accept both
        warnings.simplefilter("ignore")
        freq = pd.infer_freq(dates[:1000])
    return getattr(freq, "freqstr", freq)


class Windows:
    """All stride-1 windows of a row range, cut on the device from one tensor.

    `series.unfold` is a view: a batch is one index gather, no per-sample Python code.
    """

    def __init__(self, series: Tensor, rows: tuple[int, int], lookback: int, horizon: int):
        start, end = rows
        self.lookback = lookback
        self.view = series[start:end].unfold(0, lookback + horizon, 1)  # (N, C, L+H)

    def __len__(self) -> int:
        return self.view.shape[0]

    def get(self, index: Tensor) -> tuple[Tensor, Tensor]:
        """index: (B,) window numbers -> x (B, L, C), y (B, H, C)."""
        w = self.view[index].transpose(1, 2)
        return w[:, : self.lookback], w[:, self.lookback :]

    def batches(self, batch_size: int, order: Tensor | None = None) -> Iterator[tuple[Tensor, Tensor]]:
        """Every window once, in `order` (a permutation) or in time order; last batch kept."""
        if order is None:
            order = torch.arange(len(self), device=self.view.device)
        for index in order.split(batch_size):
            yield self.get(index)


def window_sets(data: SeriesData, cfg: RunConfig, device: torch.device) -> dict[str, Windows]:
    """Windows for training, validation, test and the controller's split.

    With `controller_data="holdout"` the last `holdout_fraction` of the training period is
    taken away from the workers and given to the controller, so validation stays untouched
    by any optimizer.
    """
    L, H = cfg.model.lookback, cfg.model.horizon
    series = torch.as_tensor(data.values, device=device)
    train = data.splits["train"]
    sets = {name: Windows(series, rows, L, H) for name, rows in data.splits.items() if rows[1] - rows[0] >= L + H}
    if cfg.train.controller_data == "holdout":
        n_hold = int(round((train[1] - train[0]) * cfg.train.holdout_fraction))
        cut = train[1] - n_hold
        if cut - train[0] < L + H or n_hold < H + 1:
            raise DataError(
                f"{data.source}: training period of {train[1] - train[0]} rows is too short to hold out "
                f"{cfg.train.holdout_fraction:.0%} for the controller with lookback {L} and horizon {H}"
            )
        sets["train"] = Windows(series, (train[0], cut), L, H)
        sets["controller"] = Windows(series, (cut - L, train[1]), L, H)
    else:
        sets["controller"] = sets["val"]
    return sets
