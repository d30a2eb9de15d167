"""Settings as the Python API takes and names them: keyword arguments, not the CLI's flags.

`DynoNetForecaster(horizon=24, worker_hidden=8, ...)` sets the same configuration fields as
`dynonet train --horizon 24 --worker-hidden 8` (`dynonet.config`, one source of truth for
defaults); `settings_of` turns the arguments into a checked `RunConfig`, refusing the CLI's
own flags and other libraries' names for settings with what this API calls them. Messages
written for the command line (`--batch-size 128`) read as keyword arguments here
(`batch_size=128`: `named`, `keywords`).
"""

from __future__ import annotations

import dataclasses
import difflib
import numbers
import re
import warnings
from typing import Any

import numpy as np

from dynonet.config import DEFAULT_PRESET, PRESETS, SECTIONS, RunConfig, override, split_list
from dynonet.errors import ConfigError, DynoNetError
from dynonet.intervals import parse_levels
from dynonet.registry import MODELS, check_config, unread_notes

FIELD_SECTION = {f.name: s for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)}  # field -> section
NOT_SETTABLE = {"n_channels", "csv", "dataset", "max_rows"}  # set from the data, or meaningless here
_FIELDS = {f.name: f for cls in SECTIONS.values() for f in dataclasses.fields(cls)}

# what the command line's own flags, and a few other libraries' settings, are in this API
_ELSEWHERE = {
    "out": "save(path) writes the run folder", "overwrite": "save(path, overwrite=True) replaces a run folder",
    "csv": "fit takes a DataFrame: pd.read_csv(path, parse_dates=['date'], index_col='date') reads one",
    "dataset": "fit takes a DataFrame", "preset": "the presets are the command line's; name the settings here",
    "verbose": "fit(df, verbose=True) prints the training log", "quiet": "fit is quiet unless verbose=True",
    "resume": "an interrupted run resumes on the command line: dynonet train --out RUN --resume",
    "max_rows": "`fit` takes the rows it is given; pass df.head(n) to use the first n",
    "n_channels": "the data given to fit sets how many series there are",
    "freq": "the step is read from the data's dates (freq_ after fit)",
    **dict.fromkeys(["level", "levels", "quantiles"], "predict(df, level=80) adds intervals at a level fit "
                    "calibrated (interval_levels=[80, 95] chooses them)"),
}

# settings as other forecasting libraries (neuralforecast, Darts, GluonTS, scikit-learn) name
# them -> this API's name, and what it sets
_ALIASES = {
    **dict.fromkeys(["h", "output_chunk_length", "prediction_length"], ("horizon", "sets the steps to forecast")),
    **dict.fromkeys(["input_size", "input_chunk_length", "context_length"],
                    ("lookback", "sets the steps a forecast reads")),
    **dict.fromkeys(["random_state", "random_seed"], ("seed", "seeds everything the fit draws")),
    "learning_rate": ("lr", "sets the learning rate (the controller's: controller_lr)"),
    **dict.fromkeys(["max_epochs", "n_epochs", "num_epochs"],
                    ("epochs", "sets the most epochs (of each stage, with trend_first=True)")),
    **dict.fromkeys(["season_length", "seasonal_period", "sp"],
                    ("season", "sets the steps in one seasonal cycle (of the seasonal naive forecast)")),
    **dict.fromkeys(["hidden_size", "hidden"], ("worker_hidden", "sets the workers' width (the controller's: "
                                                                 "controller_hidden)")),
}

# how a forecaster gets other interval levels (`intervals.calibrate_hint` for a run folder)
API_CALIBRATE = ("fitting with interval_levels=[{levels}] adds {it} (a run folder: `dynonet evaluate --checkpoint RUN "
                 "--calibrate --interval-levels {levels}`)")


def settings_of(horizon: Any, lookback: Any, model: str, epochs: int | None, seed: int, device: str,
                overrides: dict[str, Any]) -> RunConfig:
    """The run config the forecaster's arguments make: the "quickstart" preset's defaults, but
    no test split, with the arguments and `overrides` (configuration fields by name) applied
    and checked; a ConfigError names what is wrong as this API takes it. A `batch_size` of
    None is left to the data (`DynoNetForecaster.fit`)."""
    for name, value in (("horizon", horizon), ("lookback", lookback)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, not {value!r}")
    changes: dict[str, dict[str, Any]] = {
        "model": {"model": model, "horizon": int(horizon), "lookback": int(lookback)},
        "train": {"seed": seed, "device": device, **({} if epochs is None else {"epochs": epochs})},
        "data": {"test_fraction": 0.0, "dataset": None},  # the data is the frame `fit` is given
    }
    for name, value in overrides.items():
        if name in _ALIASES:
            ours, sets = _ALIASES[name]
            raise ConfigError(f"no setting {name!r} here: {ours}={value!r} {sets}")
        if name in _ELSEWHERE:
            raise ConfigError(f"no setting {name!r} here: {_ELSEWHERE[name]}")
        if name not in FIELD_SECTION:  # (those NOT_SETTABLE are told so above)
            close = difflib.get_close_matches(name, [f for f in FIELD_SECTION if f not in NOT_SETTABLE], 1)
            raise ConfigError(f"unknown setting {name!r}" + (
                f"; did you mean {close[0]!r}?" if close else
                " (every setting: `dynonet train --help`, as keywords without the dashes)"))
        if name == "batch_size" and value is None:  # chosen by the data at fit, as when not given
            continue
        changes[FIELD_SECTION[name]][name] = _value(name, value)
    if changes["data"].get("decimal") == "," and "sep" not in changes["data"]:
        changes["data"]["sep"] = ";"  # a frame has no field separator; a CSV of it would be written with ';'
    try:
        settings = override(PRESETS[DEFAULT_PRESET], changes)  # every default not named here comes from it
        check_config(settings.model)  # a model name or setting that cannot run fails here, not in fit
    except ConfigError as e:
        raise keywords(e) from None
    return settings


def _value(name: str, value: Any) -> Any:
    """A setting's value as the config holds it, from the forms this API also takes."""
    if name in ("fixed_signals", "columns") and isinstance(value, str):  # as the command line gives them
        try:
            return tuple(x for x in split_list(value) if x)
        except ValueError as e:
            raise ConfigError(f"{name}={e}") from None
    if name == "interval_levels" and isinstance(value, (str, numbers.Number, list, tuple, np.ndarray)):
        try:  # as `predict(level=...)` takes levels
            return parse_levels(value)
        except ConfigError as e:
            raise ConfigError(f"interval_levels: {e}") from None
    if name == "columns" and isinstance(value, (list, tuple)):  # column names are compared as text
        return tuple(c if isinstance(c, str) else str(c) for c in value)
    return value


def arguments(settings: RunConfig) -> dict[str, Any]:
    """Constructor arguments that make `settings`: horizon, lookback and model, then each
    setting that differs from what those alone give."""
    m = settings.model
    shown = {"horizon": m.horizon, "lookback": m.lookback, "model": m.model}
    # (a config only: whether those alone could run, e.g. a patch longer than the lookback, is no matter)
    plain = override(PRESETS[DEFAULT_PRESET], {"model": shown, "data": {"test_fraction": 0.0}}).to_dict()
    return {**shown, **{name: value for section, values in settings.to_dict().items() for name, value in values.items()
                        if name not in NOT_SETTABLE and name not in shown and value != plain[section].get(name)}}


def warn_unread(names: list[str], settings: RunConfig, stacklevel: int) -> None:
    """A UserWarning naming those of the settings `names` that the configured model never reads."""
    m = settings.model
    cls = MODELS[m.model]
    if unread := [n for n in names if f"{FIELD_SECTION[n]}.{n}" in cls.unread_with(m)]:
        for note in unread_notes(m, {f"{FIELD_SECTION[n]}.{n}": n for n in unread}):
            warnings.warn(named(note), stacklevel=stacklevel)


# a flag (`--no-` for a switch turned off), and the word after it: a quoted string, a strftime
# format, a number or a word
_FLAG = re.compile(r"--(no-)?([a-z][a-z0-9-]*)\b(?: ('[^']*'|%[^\s,;:)]+|-?\d[\d.e+-]*\b|[a-z0-9]+\b))?")


def named(text: str) -> str:
    """`text` with the settings named as this API takes them (`batch_size=128`,
    `controller_data="holdout"`, `date_format='%s'`, `mixer=False`), not as the CLI's flags
    (`--batch-size 128`, `--controller-data holdout`, `--date-format %s`, `--no-mixer`) that
    config, training and date messages name. A word after a flag that is no value of it
    stays as written (`--controller-hidden must be` -> `controller_hidden must be`)."""
    def keyword(m: re.Match) -> str:
        off, value = m[1] is not None, m[3]
        field = _FIELDS.get(m[2].replace("-", "_"))
        after = "" if value is None else " " + value
        if field is None:
            return m[0]
        if field.type == "bool":
            return f"{field.name}={not off}{after}"
        if off:
            return m[0]
        if value in field.metadata.get("choices", ()):
            return f'{field.name}="{value}"'
        if field.type in ("int", "float") and re.fullmatch(r"-?\d[\d.]*(e[+-]?\d+)?", value or ""):
            return f"{field.name}={value}"
        if field.type.startswith("str") and value is not None and value[0] in "'%":
            return f"{field.name}={value if value[0] == chr(39) else repr(value)}"
        return field.name + after
    # a command quoted whole (`dynonet evaluate ... --interval-levels 80`) stays one to type
    parts = re.split(r"(`dynonet [^`]*`)", text)
    return "".join(part if i % 2 else _FLAG.sub(keyword, part) for i, part in enumerate(parts))


def keywords(e: DynoNetError) -> DynoNetError:
    """The error with its settings `named`."""
    renamed = type(e)(named(str(e)))
    renamed.__dict__.update(e.__dict__)  # e.g. TrainingError.run
    return renamed
