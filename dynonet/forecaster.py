"""Forecast on your own data: a scikit-learn-style front end to the run machinery.

`DynoNetForecaster` trains with the same code as `dynonet train` (`runner.train`), saves
the same run folder (`checkpoint.py`: safetensors + JSON, atomic writes), and forecasts in
the data's original units with future timestamps. Tables come in two shapes:

- wide: a `DatetimeIndex` (or a date column, "date" unless `date_column=` says otherwise)
  and one numeric column per series; a named index names the run's date column, as a CSV
  of the frame (`df.to_csv()`) does, unless `date_column=` is given;
- long: columns `unique_id`, `ds`, `y` (one row per series and date), pivoted to wide.
  Forecasts of long input come back long, with the forecast in a column named by the model
  (`DynoNet`; `y` holds actual values), as neuralforecast names it.

Example (runs in a few seconds on a CPU)::

    >>> import numpy as np, pandas as pd
    >>> from dynonet.forecaster import DynoNetForecaster
    >>> t = np.arange(400)
    >>> df = pd.DataFrame({"load": np.sin(2 * np.pi * t / 24) + 0.01 * t,
    ...                    "temp": np.cos(2 * np.pi * t / 24)},
    ...                   index=pd.date_range("2024-01-01", periods=400, freq="h"))
    >>> f = DynoNetForecaster(horizon=8, lookback=32, epochs=1, worker_hidden=4, batch_size=32).fit(df)
    >>> forecast = f.predict(df.iloc[-100:])     # the last `lookback` rows are used
    >>> forecast.shape, str(forecast.index[0])
    ((8, 2), '2024-01-17 16:00:00')
    >>> import tempfile; run = tempfile.mkdtemp()
    >>> f.save(run)
    >>> g = DynoNetForecaster.load(run)
    >>> bool(np.allclose(g.predict(df).to_numpy(), f.predict(df).to_numpy()))
    True
"""

from __future__ import annotations

import dataclasses
import json
import numbers
import re
import warnings
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import pandas as pd
import torch

from dynonet.base import Forecaster
from dynonet.checkpoint import META, METRICS, TENSORS, WEIGHTS, load_checkpoint, refuse_file_name, save_checkpoint
from dynonet.config import DEFAULT_PRESET, PRESETS, ModelConfig, RunConfig
from dynonet.data import Scaler, from_table
from dynonet.dates import (UNIX_SECONDS, date_namer, date_text, first_break, gap_hint, message_format, regular_freq,
                           season_of, step_text, unix_seconds)
from dynonet.files import json_text
from dynonet.intervals import TENSOR, Bands, Intervals, bounds, parse_levels, require, with_bounds
from dynonet.tables import LONG, Reading, Table, frame_table, is_numbers, line_namer, to_long
from dynonet.errors import CheckpointError, ConfigError, DataError, NotFittedError, TrainingError, names_text, os_reason
from dynonet.keywords import API_CALIBRATE, FIELD_SECTION, arguments, keywords, named, settings_of, warn_unread
from dynonet.registry import MODELS, build_model, forecast_column, naive_configs
from dynonet.runtime import host_rng_kept, quiet, resolve_device


def _named_twice_hint(df: pd.DataFrame, name: str, columns: set[str]) -> str:
    """What to do with a frame whose DatetimeIndex and a column are both called `name`: drop the
    column where it is a copy of the dates, else rename the index to a name no column has."""
    column = df[next(c for c in df.columns if str(c).strip() == name)]
    try:
        copy = isinstance(column, pd.Series) and bool((pd.DatetimeIndex(column) == df.index).all())
    except (TypeError, ValueError):
        copy = False
    if copy:
        return f"drop the column, a copy of the dates: df.drop(columns={name!r})"
    other = next((n for n in ("date", "time", "timestamp") if n != name and n not in columns), None)
    if other is None:  # a name no column has
        other = "_" + name
        while other in columns:
            other = "_" + other
    return f"rename one, e.g. df.rename_axis({other!r})"


class DynoNetForecaster:
    """Fit on a DataFrame, forecast the next `horizon` steps (`predict`), or from many cutoffs
    beside the truth (`backtest`), save and load run folders.

    Args:
        horizon: steps to forecast after the last row given.
        lookback: steps each forecast reads (the last `lookback` rows of the data given).
        model: "dynonet" (the default), or a baseline: "linear" (RevIN + Linear), "dlinear",
            "patchtst", "repeat" (the last value), "seasonal-repeat" (the last cycle of
            `season` steps; by default the time step's: a day of hourly data, a week of days).
        epochs: most epochs to train (with early stopping on the validation rows); DynoNet
            trains its linear trend path first and then the workers (`trend_first`), and
            `epochs` counts each stage's. None: the preset's.
        seed: seeds everything the fit draws (the caller's random streams are kept).
        device: "auto" (a GPU where there is one), "cpu" or "cuda".
        **overrides: any other configuration field (`dynonet.config`, as the CLI flags without
            dashes), e.g. `worker_hidden=8`, `patience=5`, `val_fraction=0.2`,
            `batch_size=32`, `date_format="%d/%m/%Y"`, `controller=True` (the full system).

    Defaults are those of the "quickstart" preset, except: `worker_seq_len` and
    `controller_patch_len` are capped at `lookback`; `batch_size`, unless given (None: not given), is
    the preset's 512 or, where the training windows are fewer than 8 batches of it, the power
    of two that makes 8 to 16 (one window a batch where there are fewer than 16;
    `config.train.batch_size` after `fit` says which, and every fit chooses again); and
    `test_fraction` is 0 (no test split:
    the workers train on the rows before the last `val_fraction`, which serve early stopping,
    and the controller if `controller=True`). Pass `test_fraction=0.2` to hold out a test split
    and read its scores in `metrics_["test"]`, with the naive forecasts' on the same windows
    (`naive`, `seasonal_naive`).

    `config` holds the settings; after `fit` it is the fitted run's (with what the data
    settled, such as its channel count and a date format read from it), while every `fit`
    starts again from the settings given here (after `load`, the run's, less what its data
    settled). After `fit` or `load`: `columns_`, `freq_`, `metrics_` (None after `load` when
    the run folder has no metrics.json), `intervals_` (the prediction intervals calibrated on
    the validation windows, `dynonet.intervals`; None after `load` of a run folder from before
    them). The module docstring (`help(dynonet.forecaster)`) has a worked example.
    """

    def __init__(self, horizon: int = 24, lookback: int = 96, model: str = "dynonet", epochs: int | None = None,
                 seed: int = 0, device: str = "auto", **overrides: Any):
        """Check the settings (see the class docstring); nothing is read or trained until `fit`."""
        # as given (scikit-learn's `clone` checks that `get_params` returns the very objects)
        self._params = {"horizon": horizon, "lookback": lookback, "model": model, "epochs": epochs, "seed": seed,
                        "device": device, **overrides}
        # what every fit starts from; `config` becomes the fitted run's
        self._settings: RunConfig = settings_of(horizon, lookback, model, epochs, seed, device, overrides)
        warn_unread([*(["epochs"] if epochs is not None else []), *overrides], self._settings, stacklevel=3)
        self.config: RunConfig = self._settings
        self._date_column_given = "date_column" in overrides
        self.model_: Forecaster | None = None
        self.meta_: dict[str, Any] | None = None
        self.metrics_: dict[str, Any] | None = None
        self.intervals_: Intervals | None = None
        self._fit_tail: tuple[Table, _AsGiven] | None = None  # the last `lookback` rows fit was given

    def __repr__(self) -> str:
        """The settings the next fit uses; and, once fitted, whether the fitted model has them."""
        state = ""
        if self.model_ is not None:
            # what its data settled aside (the channel count, a date format read, a batch size not given)
            fitted = self.config
            given = self._params.get("batch_size") is not None
            chosen = {} if given else {"batch_size": fitted.train.batch_size}
            same = (fitted.train, fitted.model) == (dataclasses.replace(self._settings.train, **chosen),
                                                    dataclasses.replace(self._settings.model,
                                                                        n_channels=fitted.model.n_channels))
            state = f", fitted on {len(self.columns_)} series" + ("" if same else " with other settings")
        return f"DynoNetForecaster({', '.join(f'{k}={v!r}' for k, v in arguments(self._settings).items())}{state})"

    # -- scikit-learn's estimator protocol ---------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's arguments this forecaster was made with (after `load`: those that
        make the run's settings), so that `sklearn.base.clone` makes an unfitted copy."""
        return dict(self._params)

    def set_params(self, **params: Any) -> "DynoNetForecaster":
        """Change constructor arguments, checked as the constructor checks them; the next `fit`
        uses them (a fitted model and its `config` stay as they are until then)."""
        with warnings.catch_warnings():  # the settings kept were warned of when given
            warnings.simplefilter("ignore")
            fresh = type(self)(**{**self._params, **params})
        warn_unread([n for n, v in params.items() if n in FIELD_SECTION and v is not None], fresh._settings,
                     stacklevel=3)
        self._params, self._settings = fresh._params, fresh._settings
        self._date_column_given = self._date_column_given or fresh._date_column_given
        if self.model_ is None:
            self.config = self._settings
        return self

    def __sklearn_is_fitted__(self) -> bool:
        """Whether `fit` (or `load`) has run: what scikit-learn's `check_is_fitted` asks."""
        return self.model_ is not None

    def __sklearn_tags__(self) -> Any:
        """The estimator's tags, for scikit-learn's tools (called only by scikit-learn, so it is
        installed): an estimator that must be fit, on a frame and no separate target."""
        from sklearn.utils import Tags, TargetTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False))

    # -- fitted state ----------------------------------------------------------------------
    @property
    def columns_(self) -> list[str]:
        """The series the model was fitted on, in its order."""
        return list(self._fitted()["columns"])

    @property
    def freq_(self) -> str | None:
        """The training data's step; None only from run folders of versions before it was required."""
        return self._fitted()["freq"]

    def _fitted(self) -> dict[str, Any]:
        if self.model_ is None or self.meta_ is None:
            raise NotFittedError("this forecaster is not fitted yet: call fit(df) or DynoNetForecaster.load(path)")
        return self.meta_

    # -- fit -------------------------------------------------------------------------------
    def fit(self, df: pd.DataFrame, *, verbose: bool = False) -> "DynoNetForecaster":
        """Train on a wide or long DataFrame (see the module docstring); returns self.

        Validation follows `tables.read_csv` and `dynonet train`: dates parse, strictly increase and
        are evenly spaced (one step, e.g. hourly or monthly, between all rows), every value is a
        finite number, and there are enough rows for lookback + horizon in each split.
        """
        from dynonet.runner import checkpoint_meta, train

        settings = self._settings  # not a previous fit's: its data settled some of `config`
        name = str(df.index.name).strip() if isinstance(df, pd.DataFrame) and isinstance(df.index, pd.DatetimeIndex) \
            and df.index.name is not None else ""
        columns = {str(c).strip() for c in df.columns} if isinstance(df, pd.DataFrame) else set()
        if name and not self._date_column_given and not set(LONG) <= columns:
            chosen = settings.data.columns
            if name in columns and (chosen is None or name in chosen):  # a series named as the dates: a CSV of
                # this frame would hold two columns of that name, which no command reads (a kept copy of the
                # dates, df.set_index("t", drop=False), is left alone where --columns leaves it out)
                raise DataError(f"DataFrame: its DatetimeIndex is named {name!r}, as one of its columns is; "
                                + _named_twice_hint(df, name, columns))
            if name not in columns:  # the dates' name is the run's date column: what a CSV of this frame
                settings = settings.replace(data={"date_column": name})  # (df.to_csv()) calls it
        table = self._table(df, "DataFrame", settings)
        # rows named by their dates (a long table's rows are not the pivoted table's)
        data = from_table(settings, table.dates, table.columns, table.values, source="DataFrame",
                          date_format=table.date_format)
        choose_batch = self._params.get("batch_size") is None  # the preset's, or fewer on small data
        try:
            # training seeds the global generators; the caller keeps its own
            with host_rng_kept(cuda=resolve_device(settings.train.device).type == "cuda"):
                run = train(settings, data=data, log=(lambda text: print(named(text))) if verbose else quiet,
                            choose_batch=choose_batch)
        except (ConfigError, TrainingError) as e:
            raise keywords(e) from None
        for notes in (run.metrics["notes"], run.metrics["intervals"]["notes"]):  # named as this API takes its settings
            notes[:] = map(named, notes)
        if not verbose:  # (verbose printed them) notes on the data, as the command line shows them in any mode
            for note in run.metrics["notes"]:
                warnings.warn(note, stacklevel=2)
        self.config, self.model_, self.metrics_ = run.cfg, run.model.eval(), run.metrics
        # (a batch size the data chose is chosen again by a later fit, after `load` too)
        self.meta_ = checkpoint_meta(run.data, run.intervals, run.metrics["batch_size_chosen"])
        self.intervals_ = run.intervals
        L = self.config.model.lookback  # what `predict()` reads without data: the last rows fit was given
        self._fit_tail = (table._replace(dates=table.dates[-L:], values=table.values[-L:]), self._as_given(df))
        return self

    # -- predict ---------------------------------------------------------------------------
    def predict(self, df: pd.DataFrame | None = None, level: int | str | Sequence[int] | None = None, *,
                recent: pd.DataFrame | None = None) -> pd.DataFrame:
        """Forecast the `horizon` steps after the last row of `df`, in original units.

        `df`, the recent data, has the same series as the training data (any column order) and
        at least `lookback` rows, evenly spaced at the training data's step; only the last
        `lookback` rows are used. None: the data `fit` was given (a run folder does not keep
        it: after `load`, pass the recent data). Wide input -> a DataFrame indexed by the future
        timestamps with one column per series; long input -> long output (`unique_id`, `ds`,
        and the forecast in a column named by the model, e.g. `DynoNet`).

        `level`: prediction intervals at these levels (percent, of the run's `interval_levels`: 80,
        [80, 95] or "80,95"), as columns after each series, the lowest bound first, as neuralforecast names them
        (`load-lo-95`, `load-lo-80`, `load-hi-80`, `load-hi-95`; long: `DynoNet-lo-95`, ...);
        `metrics_["test"]["intervals"]` holds how often they held the truth on a test split.
        `recent`: what `df` was called before (deprecated).
        """
        if recent is not None:
            if df is not None:
                raise TypeError("predict() got the recent data twice: as df and as recent (its old name)")
            warnings.warn("predict(recent=...) is now predict(df=...)", FutureWarning, stacklevel=2)
            df = recent
        try:  # named as this API takes its settings (`dynonet predict` calls `_levels` with the flags' names)
            levels = self._levels(level)
        except ConfigError as e:
            raise keywords(e) from None
        if isinstance(df, numbers.Number):  # predict(12), as some libraries take the steps to forecast
            raise DataError(f"recent data: expected a pandas DataFrame, got {type(df).__name__}: predict() "
                            f"forecasts the model's horizon, {self.config.model.horizon} steps, set when it is made "
                            "(DynoNetForecaster(horizon=...)); pass the recent data: predict(df)")
        if df is not None:
            table = self._table(df, "recent data", self.config, used=self.config.model.lookback,
                                columns=self.columns_)
            given = self._as_given(df)
            if note := self._unread_note(table, "recent data"):
                warnings.warn(note, stacklevel=2)
        elif getattr(self, "_fit_tail", None) is not None:  # (a forecaster pickled before it has none)
            table, given = self._fit_tail
        else:
            raise DataError("predict() forecasts after the data fit was given, and a loaded run keeps none: "
                            "pass the recent data, predict(df)")
        dates, columns, values, ids = table.dates, table.columns, table.values, table.ids
        forecast = self._forecast_rows(dates, columns, values, "recent data", first_line=None, long=ids is not None)
        return given.forecast(self._framed(forecast, self._bands(forecast, levels), ids), long=ids is not None)

    def _as_given(self, df: pd.DataFrame) -> "_AsGiven":
        """How `df` (read by the run) names what comes back to it."""
        labels = {str(c.strip() if isinstance(c, str) else c): c for c in df.columns}
        where = "ds" if set(LONG) <= set(labels) else self.config.data.date_column
        dates = df[labels[where]] if where in labels else df.index  # where `_table` found them
        numbered = self.config.data.date_format == UNIX_SECONDS and is_numbers(dates)
        return _AsGiven({k: v for k, v in labels.items() if k != v}, where not in labels, df.index.name,
                        None if not numbered else "f" if pd.api.types.is_float_dtype(dates) else "i")

    def _levels(self, level: int | str | Sequence[int] | None, hint: str = API_CALIBRATE) -> tuple[int, ...]:
        """`level` as `predict` takes it -> the levels, each checked to be calibrated by this run
        (`hint`: how to add a level, as `intervals.unavailable` takes it)."""
        self._fitted()
        levels = () if level is None else parse_levels(level)
        require(self.intervals_, levels, hint)
        return levels

    def _bands(self, forecast: pd.DataFrame, levels: Sequence[int]) -> Bands:
        """The intervals at `levels` around a wide forecast (`_forecast_rows`), in original units."""
        require(self.intervals_, levels)
        std = Scaler.from_dict(self._fitted()["scaler"]).std
        return {p: bounds(forecast, self.intervals_.widths(p), std) for p in levels}

    def _framed(self, forecast: pd.DataFrame, bands: Bands, ids: dict[str, Any] | None) -> pd.DataFrame:
        """A wide forecast with its intervals (`bands`): wide, or long with the caller's `ids`
        (`tables.to_long`)."""
        if ids is None:
            return with_bounds(forecast, bands)
        name = type(self.model_).__name__  # an identifier, as neuralforecast names a model's forecasts
        long = to_long(forecast, ids, name)
        levels = sorted(bands)  # in the wide table's order: the lowest bound first
        for column, bound in [*((f"{name}-lo-{p}", bands[p][0]) for p in reversed(levels)),
                              *((f"{name}-hi-{p}", bands[p][1]) for p in levels)]:
            long[column] = to_long(bound, ids, name)[name].to_numpy()
        return long

    def _table(self, df: Any, source: str, cfg: RunConfig, used: int | None = None,
               columns: list[str] | None = None) -> Table:
        """The DataFrame checked as `fit` reads it, or, given the fitted `columns`, as `predict`
        does (those series only, with the run's date settings)."""
        try:
            chosen = cfg.data.columns if columns is None else tuple(columns)
            reading = Reading.of(cfg.data, columns=chosen, used=used, trained=columns is not None)
            return frame_table(df, reading, source=source)
        except DataError as e:
            raise keywords(e) from None

    def _forecast_rows(self, dates: pd.DatetimeIndex, columns: list[str], values: np.ndarray, source: str,
                       first_line: int | np.ndarray | None, date_format: str | None = None,
                       long: bool = False) -> pd.DataFrame:
        """The wide forecast after checked table rows (`tables.read_csv`'s or `frame_table`'s
        output), what `predict` and the `dynonet predict` command share. `source` and
        `first_line` (the file line of row 0, or of each row: `Table.lines`; None in memory)
        name where a problem is, with dates written in `date_format` (default: the run's);
        `long`: `source` is a long table (a row per series and date), whose dates are counted."""
        meta, m = self._fitted(), self.config.model
        wanted = list(meta["columns"])
        if set(columns) != set(wanted):
            missing = [c for c in wanted if c not in columns]
            extra = [c for c in columns if c not in wanted]
            raise DataError(f"{source}: columns differ from the model's ({', '.join(wanted)}): "
                            + "; ".join(([f"missing {', '.join(map(repr, missing))}"] if missing else [])
                                        + ([f"unexpected {', '.join(map(repr, extra))}"] if extra else [])))
        values = values[:, [columns.index(c) for c in wanted]]
        L = m.lookback
        if len(values) < L:
            raise DataError(f"{source}: {len(values)} {'dates' if long else 'rows'}, but the model needs the last {L} "
                            "(its lookback)")
        fmt = date_format or self.config.data.date_format
        step = _lookback_step(meta["freq"], dates, L, source, first_line, fmt)
        last = len(values) - L  # row 0 of the window is this row of `source`
        # a file's lines; in memory the date (a long table's rows are not the pivoted table's)
        where = line_namer(first_line, offset=last) if first_line is not None else \
            (lambda i, named=date_namer(dates, fmt): named(i + last))
        y = self._forecasts(values[-L:], np.zeros(1, dtype=np.int64), source, where)[0]  # (H, C)
        if not np.isfinite(y).all():  # never a file of inf/nan passed off as a forecast
            c = int(np.nonzero(~np.isfinite(y).all(axis=0))[0][0])
            raise DataError(f"{source}: the forecast of column {wanted[c]!r} is not finite; its last {L} values "
                            "are too far from the training data's range")
        index = pd.DatetimeIndex([dates[-1] + k * step for k in range(1, m.horizon + 1)])
        try:  # the index says its step, as pandas' own date ranges do
            index.freq = step
        except ValueError:  # e.g. daily dates across a daylight-saving change: 23 or 25 hours apart
            pass
        return pd.DataFrame(y, index=index.rename(self.config.data.date_column), columns=wanted)

    # -- backtest --------------------------------------------------------------------------
    def backtest(self, df: pd.DataFrame, step: int | None = None,
                 level: int | str | Sequence[int] | None = None, naive: bool = False) -> pd.DataFrame:
        """Forecasts from many cutoffs of `df`, beside the values that followed, to see how the
        fitted model does on data of your choice. The model is not refit.

        A forecast is made from every `step`-th row of `df` (default: the horizon, so that the
        forecast periods tile the data), each from the `lookback` rows up to and including its
        `cutoff`, of the `horizon` rows after it; the last ends with `df`'s last row, and the
        others are counted back from it (as neuralforecast's cutoffs are). `df` is read as
        `predict` reads recent data (the run's series, evenly spaced at its step), every row.

        Returns a long table, as neuralforecast's `cross_validation` writes one: columns
        `unique_id` (the series), `ds`, `cutoff`, the forecast (named by the model, e.g.
        `DynoNet`), its bounds at `level` (`DynoNet-lo-80`, ...) and `y`, the true value; one row
        per series, cutoff and step, in original units. Forecasts into rows the run was trained
        or validated on flatter it: a UserWarning says how many there are.

        `naive=True` adds the naive forecasts from the same cutoffs, a column each, named by
        their models as the forecast is: `RepeatLast` (each series' last value repeated) and,
        where the data has a seasonal cycle (`season`), `SeasonalRepeat` (its last cycle
        repeated); `scores(table, model="RepeatLast")` scores them.
        """
        try:
            levels = self._levels(level)
            if step is not None and (isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 1):
                raise ConfigError(f"step={step!r}: a whole number of rows >= 1")
        except ConfigError as e:
            raise keywords(e) from None
        m = self.config.model
        read = self._table(df, "data", self.config, columns=self.columns_)
        if note := self._unread_note(read, "data"):
            warnings.warn(note, stacklevel=2)
        dates, columns, values, ids = read.dates, read.columns, read.values, read.ids
        table = self._backtest_rows(dates, columns, values, "data", None, m.horizon if step is None else int(step),
                                    levels, ids, naive=naive)
        given = self._as_given(df)
        if note := self._seen_note(table, UNIX_SECONDS if given.numbered else None):  # a date as the frame gives it
            warnings.warn(note, stacklevel=2)
        return given.backtest(table, long=ids is not None)

    def scores(self, backtest: pd.DataFrame, model: str | None = None) -> pd.DataFrame:
        """Each series' errors in a `backtest` table, one row per series (`unique_id`), in its
        order: `forecasts` (the cutoffs), `MAE` and `MSE` in the series' own units, `scaled_MAE`
        and `scaled_MSE` standardized by the run's training statistics as its test scores are
        (their mean over the series is the whole table's where every series has as many rows,
        as in a backtest), and for each interval the table holds, the share of true values
        inside it (`coverage_80`, ...). `model`: the column of forecasts scored (default: this
        model's; `RepeatLast` or `SeasonalRepeat`, of a backtest with `naive=True`; a model's
        registered or display name, `seasonal-repeat` or `RevIN+Linear`, or the key of its scores
        in metrics.json, `seasonal_naive`, names its column: `registry.forecast_column`)."""
        meta = self._fitted()
        name = type(self.model_).__name__ if model is None else forecast_column(model)
        missing = [c for c in ("unique_id", "cutoff", name, "y") if c not in backtest.columns]
        if missing:
            forecasts = [c for c in backtest.columns if c not in ("unique_id", "ds", "cutoff", "y")
                         and not re.search(r"-(lo|hi)-\d+$", str(c))]  # (not an interval's bound)
            if name in (column for column, _ in self._naive_columns().values()):
                hint = "; backtest(df, naive=True) adds the naive forecasts"
            elif name == forecast_column("seasonal-repeat"):  # the run finds no cycle its lookback holds
                season, L = season_of(meta["freq"]) if meta.get("freq") else None, self.config.model.lookback
                why = ("season=1 makes it the naive forecast, RepeatLast" if self.config.model.season == 1 else
                       f"its time step's cycle of {season} steps is longer than its lookback ({L})"
                       if season and season > L else "its time step has no seasonal cycle")
                hint = f"; this run has no seasonal naive forecast: {why}; season=N, from 2 to {L}, gives it one"
            elif model is not None and forecasts:
                hint = f"; its forecasts: {', '.join(map(repr, forecasts))}"
            else:
                hint = ""
            raise DataError(f"scores: not a backtest table of {'this model' if model is None else repr(model)} (no "
                            f"column {', '.join(map(repr, missing))}{hint})")
        std = dict(zip(meta["columns"], Scaler.from_dict(meta["scaler"]).std))  # the run's name -> (its std)
        known = backtest["unique_id"].map(lambda u: str(u.strip() if isinstance(u, str) else u))
        if not known.isin(list(std)).all():
            raise DataError(f"scores: series {backtest['unique_id'][~known.isin(list(std))].iloc[0]!r} is none of "
                            f"the run's ({', '.join(meta['columns'])})")
        error = backtest[name] - backtest["y"]
        scaled = error / known.map(std).astype(float)
        levels = sorted(int(c.rsplit("-", 1)[1]) for c in backtest.columns  # an interval: both its bounds
                        if c.startswith(f"{name}-lo-") and f"{name}-hi-{c.rsplit('-', 1)[1]}" in backtest.columns)
        y = backtest["y"]  # a true value not known (NaN) is scored by no column, the intervals' neither
        columns = {"MAE": error.abs(), "MSE": error.pow(2), "scaled_MAE": scaled.abs(), "scaled_MSE": scaled.pow(2),
                   **{f"coverage_{p}": (backtest[f"{name}-lo-{p}"].le(y) & y.le(backtest[f"{name}-hi-{p}"]))
                      .astype(float).where(y.notna()) for p in levels}}
        by_series = pd.DataFrame(columns).groupby(backtest["unique_id"], sort=False)  # one grouped pass
        return pd.concat([backtest.groupby("unique_id", sort=False)["cutoff"].nunique().rename("forecasts"),
                          by_series.mean()], axis=1)

    def _backtest_rows(self, dates: pd.DatetimeIndex, columns: list[str], values: np.ndarray, source: str,
                       first_line: int | np.ndarray | None, step: int, levels: Sequence[int],
                       ids: dict[str, Any] | None = None, date_format: str | None = None, naive: bool = False
                       ) -> pd.DataFrame:
        """`backtest` of checked table rows (as `_forecast_rows` takes them), what the
        `dynonet backtest` command shares; `ids` (a long table's) name the series; `naive`: with
        the naive forecasts' columns (`_naive_columns`)."""
        meta, m = self._fitted(), self.config.model
        L, H = m.lookback, m.horizon
        wanted = list(meta["columns"])
        values = values[:, [columns.index(c) for c in wanted]]  # (T, C), the run's order
        if len(values) < L + H:
            raise DataError(f"{source}: {len(values)} {'rows' if ids is None else 'dates'}, but a backtest needs at "
                            f"least lookback + horizon = {L + H}")
        fmt = date_format or self.config.data.date_format
        _lookback_step(meta["freq"], dates, len(dates), source, first_line, fmt)  # every row on the run's grid
        where = line_namer(first_line) if first_line is not None else date_namer(dates, fmt)
        # the row of each window's first input: counted back from the last window, which ends with the
        # data, as neuralforecast's cross_validation does
        starts = np.arange(len(values) - L - H, -1, -step)[::-1].copy()
        forecast = self._forecasts(values[: len(values) - H], starts, source, where)  # (N, H, C)
        if not np.isfinite(forecast).all():
            n, _, c = (int(k) for k in np.argwhere(~np.isfinite(forecast))[0])
            raise DataError(f"{source}: the forecast of column {wanted[c]!r} from cutoff "
                            f"{date_text(dates[int(starts[n]) + L - 1], fmt)} is not finite")
        rows = starts[:, None] + L + np.arange(H)  # (N, H): the rows forecast
        n, C = len(rows), len(wanted)
        name = type(self.model_).__name__
        names = [ids[c] for c in wanted] if ids is not None else wanted
        out = {"unique_id": np.repeat(np.asarray(names, dtype=object), n * H),
               "ds": dates[np.tile(rows.ravel(), C)],  # (indexed, not tiled: a time zone stays)
               "cutoff": dates[np.tile(np.repeat(rows[:, 0] - 1, H), C)],
               name: forecast.transpose(2, 0, 1).ravel()}  # series by series, cutoff by cutoff
        std = Scaler.from_dict(meta["scaler"]).std  # (C,)
        for p in levels:  # the bounds in original units: (H, C) half-widths, the same for every cutoff
            half = np.broadcast_to(self.intervals_.widths(p) * std, forecast.shape).transpose(2, 0, 1).ravel()
            out[f"{name}-lo-{p}"], out[f"{name}-hi-{p}"] = out[name] - half, out[name] + half
        order = ["unique_id", "ds", "cutoff", name, *(f"{name}-lo-{p}" for p in reversed(sorted(levels))),
                 *(f"{name}-hi-{p}" for p in sorted(levels))]
        for column, naive_cfg in (self._naive_columns() if naive else {}).values():  # from the same windows
            out[column] = self._forecasts(values[: len(values) - H], starts, source, where,
                                          build_model(naive_cfg)).transpose(2, 0, 1).ravel()
            order.append(column)
        table = pd.DataFrame({k: out[k] for k in order})
        table["y"] = values[rows].transpose(2, 0, 1).ravel()
        return table

    def _naive_columns(self) -> dict[str, tuple[str, ModelConfig]]:
        """The naive forecasts a backtest with `naive=True` adds (`registry.naive_configs`: key
        -> its column, named by its model, and its configuration)."""
        return {key: (MODELS[c.model].__name__, c)
                for key, c in naive_configs(self.config.model, self._fitted().get("freq")).items()}

    def _forecasts(self, values: np.ndarray, starts: np.ndarray, source: str, where: Callable[[int], str],
                   model: Forecaster | None = None) -> np.ndarray:
        """The forecasts (N, H, C) in original units from the `lookback` rows of `values` (T, C),
        in the run's column order, from each row of `starts` (N,) on; `where` names a row of
        `values` in errors (`Scaler.scale`'s). `model`: this one's unless given (a naive
        forecast's); one that only repeats its input reads the values as they are, and so
        repeats them exactly."""
        meta, L = self._fitted(), self.config.model.lookback
        model = self.model_ if model is None else model
        scaler = None if model.repeats_input else Scaler.from_dict(meta["scaler"])
        device = next(iter(self.model_.parameters()), torch.empty(0)).device
        series = torch.as_tensor(values if scaler is None else scaler.scale(values, source, list(meta["columns"]),
                                                                            where), device=device)
        inputs = series.unfold(0, L, 1)  # (T - L + 1, C, L): a view, each window gathered by its start
        model.to(device).eval()
        with torch.no_grad():
            y = torch.cat([model(inputs[index].transpose(1, 2)).double().cpu()  # (b, L, C) -> (b, H, C)
                           for index in torch.as_tensor(starts, device=device).split(self.config.train.eval_batch_size)])
        if scaler is None:
            return y.numpy()
        # mean + std * y, counted from each window's last value as given rather than as scaled to float32:
        # a window constant in a series (forecast as its input, `RevIN.stats`) comes back as that
        # value exactly, not 37.100000000005
        last = torch.as_tensor(starts, device=device) + L - 1  # (N,)
        scaled_last = series[last].double().cpu().numpy()[:, None]  # (N, 1, C)
        return values[starts + L - 1][:, None] + (y.numpy() - scaled_last) * scaler.std

    def _unread_note(self, table: Table, source: str) -> str:
        """A note on the series of `table` that are not the run's (`Table.unread`), which
        nothing forecasts: a store opened since the run was trained, say. "" if none, or if
        the run chose its series (`columns`): then the others are left out as chosen."""
        if not (unread := table.unread) or self.config.data.columns is not None:
            return ""
        names = names_text(unread, 5)
        n = len(self.columns_)
        return (f"{source}: {names} {'is' if len(unread) == 1 else 'are'} not among the run's {n} series: left "
                "out (a model forecasts the series it was trained on)")

    def _seen_note(self, backtest: pd.DataFrame, date_format: str | None = None) -> str:
        """A note on the forecasts of a `backtest` table whose periods reach into the rows the
        run was trained or validated on ("" if none, or if the run does not record that row's
        date: `checkpoint.json` `seen_until`, written since backtests exist); its date written
        in `date_format`."""
        meta = self._fitted()
        if "seen_until" not in meta or backtest.empty:
            return ""
        until = pd.Timestamp(meta["seen_until"])
        first = backtest.groupby("cutoff", sort=False)["ds"].min()  # each forecast's first date
        if (until.tz is None) != (first.dt.tz is None):  # one with offsets, one without: wall clocks
            until, first = until.tz_localize(None), first.dt.tz_localize(None)
        if not (inside := int((first <= until).sum())):
            return ""
        return (f"{inside} of {len(first)} forecasts reach into the rows the run was trained or validated on (up to "
                f"{date_text(until, date_format) if date_format else until}): their errors may read lower than on "
                "new data")

    # -- save / load -----------------------------------------------------------------------
    def save(self, path: str | Path, overwrite: bool = False) -> None:
        """Write a run folder (model.safetensors, checkpoint.json, metrics.json), each file
        atomically; `dynonet predict --checkpoint PATH` and `load(PATH)` read it.

        Like `dynonet train --out`, a folder that is not empty is refused unless `overwrite`;
        then an earlier run's files that this save does not write are removed, and other
        files are left alone."""
        from dynonet.runner import RUN_FILES, checkpoint_tensors

        meta = self._fitted()
        path = Path(path).expanduser()  # "~/runs/x", as pandas reads and writes paths
        if path.exists() and not path.is_dir():
            raise CheckpointError(f"{path}: exists and is not a folder")
        refuse_file_name(path)
        try:
            if path.is_dir() and any(path.iterdir()) and not overwrite:
                raise CheckpointError(f"{path}: folder is not empty; pass overwrite=True or choose another folder")
            path.mkdir(parents=True, exist_ok=True)
            metrics = [] if self.metrics_ is None else [(path / METRICS, json_text(self.metrics_))]
            tensors = checkpoint_tensors(self.intervals_)
            save_checkpoint(path, self.model_, self.config, meta, extra=metrics, tensors=tensors)
            written = {META, WEIGHTS} | {p.name for p, _ in metrics} | ({TENSORS} if tensors else set())
            for name in RUN_FILES - written:  # they would describe the earlier run
                (path / name).unlink(missing_ok=True)
        except OSError as e:
            raise CheckpointError(f"{path}: cannot write there ({os_reason(e)})") from None

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> "DynoNetForecaster":
        """Rebuild a forecaster from a run folder of `save` or of `dynonet train`."""
        path = Path(path).expanduser()
        try:
            dev = resolve_device(device)
        except ConfigError as e:
            raise keywords(e) from None
        from dynonet.runner import saved_intervals

        model, cfg, meta, tensors = load_checkpoint(path, dev, (TENSOR,))
        _check_meta(meta, cfg, path / META)
        self = cls.__new__(cls)
        self.config = cfg
        # a later fit starts from the loaded run's settings, less where its data came from (a
        # fit takes the rows it is given) and a date format its data settled
        self._settings = cfg.replace(data={"csv": None, "max_rows": None,
                                           **({"date_format": None} if meta.get("date_format_settled") else {})},
                                     train={"batch_size": PRESETS[DEFAULT_PRESET].train.batch_size}
                                     if meta.get("batch_size_chosen") else {})
        # a batch size the run was given stays given (one the data chose is chosen again)
        self._params = {**arguments(self._settings),
                        **({} if meta.get("batch_size_chosen") else {"batch_size": cfg.train.batch_size})}
        # the run's date column counts as given, as it is to `clone` and `set_params` (get_params names it)
        self._date_column_given = "date_column" in self._params
        self.model_, self.meta_ = model.eval(), meta
        self.intervals_ = saved_intervals(meta, tensors, cfg, path)
        self._fit_tail = None  # a run folder keeps no data
        try:
            self.metrics_ = json.loads((path / METRICS).read_text())
        except (OSError, ValueError):
            self.metrics_ = None
        return self


class _AsGiven(NamedTuple):
    """How a caller's frame names what comes back to it: as it names its series (a column `0`
    stays `0`, not the run's '0'), its DatetimeIndex, and its dates, where they are numbers
    (`date_format="%s"`: time steps or Unix seconds) and a forecast counts on in numbers, as
    `dynonet predict` writes them."""

    labels: dict[str, Any]  # the run's name of a series -> the frame's label, where they differ
    dated_index: bool  # the dates are the frame's index: its name stays
    index_name: Any
    numbered: str | None  # dates given as numbers: "i" (integers) or "f" (floats); None: as dates

    def numbers(self, dates: pd.DatetimeIndex | pd.Series) -> pd.Index:
        """Dates read from numbers as numbers again, of the frame's kind (integers or floats)."""
        seconds = unix_seconds(dates)
        return seconds.astype(np.float64) if self.numbered == "f" else seconds

    def forecast(self, framed: pd.DataFrame, long: bool) -> pd.DataFrame:
        """A `predict` table (wide, or `long`) as the frame names its parts."""
        if long:
            if self.numbered:
                framed["ds"] = self.numbers(framed["ds"]).to_numpy()
            return framed
        framed = framed.rename(columns=self.labels)  # (an interval's columns keep their text: '0-lo-80')
        if self.numbered:
            framed.index = self.numbers(framed.index)
        if self.dated_index:
            framed.index = framed.index.rename(self.index_name)
        return framed

    def backtest(self, table: pd.DataFrame, long: bool) -> pd.DataFrame:
        """A `backtest` table as the frame names its series (a long frame's ids are its own) and dates."""
        if not long and self.labels:
            table["unique_id"] = table["unique_id"].map(lambda c: self.labels.get(c, c))
        if self.numbered:
            for column in ("ds", "cutoff"):
                table[column] = self.numbers(table[column]).to_numpy()
        return table


# -- time steps ----------------------------------------------------------------------------
def _lookback_step(freq: str | None, dates: pd.DatetimeIndex, lookback: int, source: str,
                   first_line: int | np.ndarray | None, date_format: str | None = None) -> pd.DateOffset:
    """The time step, after checking that the last `lookback` dates are evenly spaced at it.

    `freq` is the training data's step; a run folder written before evenly spaced training
    data was required may hold None, and then the step is the one the recent rows keep.
    """
    if freq is not None:
        step = pd.tseries.frequencies.to_offset(freq)
        _check_grid(dates[-lookback:], step, freq, source, len(dates) - lookback, first_line, date_format)
        return step
    basis = dates[-max(lookback, 2):]
    if len(basis) < 2:
        raise DataError(f"{source}: cannot tell the time step: the training data had no regular frequency "
                        "and the recent data has a single row")
    offset, where = len(dates) - len(basis), line_namer(first_line)
    named = None if first_line is None else (lambda i: where(offset + i))  # None: the dates say which rows
    return pd.tseries.frequencies.to_offset(regular_freq(basis, source, named))


def _check_grid(window: pd.DatetimeIndex, step: pd.DateOffset, freq: str, source: str, offset: int,
                first_line: int | np.ndarray | None, date_format: str | None = None) -> None:
    """The lookback window must lie on the training data's time grid, without gaps."""
    if len(window) >= 2 and (i := first_break(window, step)) < len(window):
        if len(window) >= 3 and (other := _other_step(window, step)) is not None:  # daily data to an hourly run
            raise DataError(f"{source}: its {f'last {len(window)} ' if offset else ''}dates step by "
                            f"{step_text(other)}, the training data's by {step_text(freq)}: give data at the training "
                            "data's step")
        # a file's line; in memory the dates below say which rows (their positions need not be labels)
        where = "" if first_line is None else f"{line_namer(first_line)(offset + i)}: "
        date_format = message_format(window, date_format, step)
        off = next((d for d in window[i - 1 : i + 1] if not step.is_on_offset(d)), None)
        hint = gap_hint(window[i - 1 : i + 1], step) if off is None else (  # a week from a Monday, where the
            f" ({date_text(off, date_format)} is not a {freq} date, as "  # run's weeks end on Sundays
            f"{date_text(step.rollforward(off), date_format)} is: the run's steps fall on those dates)")
        raise DataError(f"{source}: {where}date {date_text(window[i], date_format)} is not one step ({freq}) after "
                        f"{date_text(window[i - 1], date_format)}; "
                        + (f"the last {len(window)} rows" if offset else "rows")
                        + " must be evenly spaced at the training data's step" + hint)


def _other_step(window: pd.DatetimeIndex, step: pd.DateOffset) -> str | None:
    """The step of evenly spaced dates, where it is another length than `step` (not the same
    length anchored elsewhere, such as weeks ending on Monday instead of Sunday, or months
    starting instead of ending); else None."""
    try:
        other = regular_freq(window, "")
    except DataError:
        return None
    spacing = np.median(np.diff(window.asi8))  # in the index's unit
    # the run's step as a length: calendar steps (months) vary a little; a day is no hour
    nominal = np.median(np.diff(pd.date_range(window[0], periods=8, freq=step).as_unit(window.unit).asi8))
    return other if not 0.8 <= spacing / nominal <= 1.25 else None


def _check_meta(meta: dict[str, Any], cfg: RunConfig, where: Path) -> None:
    """A checkpoint.json that parses but lacks what forecasting needs is corrupted too."""
    try:
        columns, scaler, freq = meta["columns"], meta["scaler"], meta["freq"]
        ok = (isinstance(columns, list) and all(isinstance(c, str) for c in columns)
              and len(columns) == cfg.model.n_channels
              and len(scaler["mean"]) == len(scaler["std"]) == len(columns)
              and np.isfinite(np.asarray(scaler["mean"], dtype=float)).all()
              and np.isfinite(np.asarray(scaler["std"], dtype=float)).all()
              and (freq is None or isinstance(freq, str)))
        if freq is not None:
            pd.tseries.frequencies.to_offset(freq)
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{where}: corrupted (columns/scaler/freq unreadable: {e})") from None
    if not ok:
        raise CheckpointError(f"{where}: corrupted (columns, scaler and model width do not agree)")
