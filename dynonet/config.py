"""Typed, frozen configuration and named presets: the one source of truth for defaults.

A run is described by three dataclasses (model, training, data) bundled in `RunConfig`.
Command-line flags are derived from their fields (see `cli.py`), so a default lives here
and nowhere else. The fields' defaults describe the seed's full system (controller on,
trained jointly with the trend branch); every entry point (`dynonet train`, the benchmark,
the Python API) starts from a named preset (`quickstart` unless one is named), which sets
what validation picked, so a run's defaults are its preset's values.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import math
import numbers
import typing
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from dynonet.errors import ConfigError

SIGNALS = ("film", "dropout", "lr_scale", "gate", "context")  # each has its `no-<signal>` ablation
# what --fixed-signals may hold: also the opt-in trend modulation (--trend-modulation)
FIXABLE_SIGNALS = (*SIGNALS, "trend")
DROPOUT_MAX = 0.7  # the controller's dropout head ranges over [0, DROPOUT_MAX)
DATASETS = ("ETTh1", "ETTh2")  # bundled, each with a preset per horizon
HORIZONS = (96, 192, 336, 720)
DEVICES = ("auto", "cpu", "cuda")  # auto: CUDA when available


def _opt(help: str, **kw: Any) -> dict[str, Any]:
    return {"help": help, **kw}


# Validation: every config checks its fields when built (from flags, JSON or code), so a bad
# value is a one-line ConfigError naming the flag, not a traceback from deep inside torch.
# A rule: (fields, what is allowed, test); the test sees a value of the field's type.
Rule = tuple[tuple[str, ...], str, Callable[[Any], bool]]
# field type -> (what is allowed, test, conversion): a JSON 2.5 for an int field fails here,
# a NumPy integer becomes an int.
_TYPES: dict[Any, tuple[str, Callable[[Any], bool], Callable[[Any], Any]]] = {
    bool: ("true or false", lambda v: isinstance(v, (bool, np.bool_)), bool),
    int: ("an integer", lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool), int),
    float: ("a finite number",
            lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v), float),
    str: ("a string", lambda v: isinstance(v, str), str),
    tuple[str, ...]: ("a list of names",
                      lambda v: isinstance(v, (tuple, list)) and all(isinstance(x, str) for x in v), tuple),
    tuple[int, ...]: ("a list of integers", lambda v: isinstance(v, (tuple, list)) and all(
        isinstance(x, numbers.Integral) and not isinstance(x, bool) for x in v), lambda v: tuple(map(int, v))),
}


def split_list(text: str) -> list[str]:
    """A comma-separated list as flags and settings give one ("load, temp"), blanks around each
    entry dropped; an entry with a comma in it is quoted as in a CSV header ('"lo,ad",temp', a
    quote in it doubled). A quote left open is a ValueError (the rest would be one name)."""
    try:
        next(csv.reader([text], strict=True), [])
    except csv.Error as e:
        if "unexpected end of data" in str(e):
            raise ValueError(f"{text!r}: a quote is left open (a name with a comma goes in a pair of quotes: "
                             "'\"lo,ad\",temp')") from None
    # read as a CSV header is read (blanks after a closing quote, or a quote inside a name, as pandas takes them)
    return [entry.strip() for entry in next(csv.reader([text], skipinitialspace=True), [])]


def flag(name: str) -> str:
    """A field's command-line flag: `batch_size` -> `--batch-size`."""
    return "--" + name.replace("_", "-")


def _name(cls: type, name: str) -> str:
    """How the user sets a field: its flag, or its name if it has none."""
    if cls.__dataclass_fields__[name].metadata.get("cli") is False:
        return name
    return flag(name)


@functools.cache
def field_types(cls: type) -> dict[str, tuple[Any, bool]]:
    """field -> (base type: `int | None` -> int, a tuple's as written (`tuple[str, ...]`); None allowed)."""
    out = {}
    for name, tp in typing.get_type_hints(cls).items():
        args = typing.get_args(tp)
        optional = type(None) in args
        if optional:
            tp = next(a for a in args if a is not type(None))
        out[name] = (tp if typing.get_origin(tp) is tuple else typing.get_origin(tp) or tp, optional)
    return out


def _validate(cfg: Any, rules: tuple[Rule, ...]) -> None:
    """Check (and normalize) the types, choices and `rules` of a config dataclass."""
    cls = type(cfg)
    for f in dataclasses.fields(cls):
        v = getattr(cfg, f.name)
        tp, optional = field_types(cls)[f.name]
        if v is None and optional:
            continue
        allowed, ok, convert = _TYPES[tp]
        if not ok(v):
            raise ConfigError(f"{_name(cls, f.name)} must be {allowed}{' or null' if optional else ''} (got {v!r})")
        object.__setattr__(cfg, f.name, convert(v))  # frozen: the one place a field is rewritten
        choices = f.metadata.get("choices")
        if choices and v not in choices:
            raise ConfigError(f"unknown {f.name} {v!r}: {_name(cls, f.name)} must be one of {', '.join(choices)}")
    for names, allowed, ok in rules:
        for name in names:
            v = getattr(cfg, name)
            if v is not None and not ok(v):
                raise ConfigError(f"{_name(cls, name)} must be {allowed} (got {v!r})")


_POSITIVE = "a positive integer", lambda v: v >= 1
_NON_NEGATIVE = "0 or more", lambda v: v >= 0


@dataclass(frozen=True)
class ModelConfig:
    """Architecture. `n_channels` is filled in from the data."""

    model: str = field(default="dynonet", metadata=_opt("registered model name"))
    lookback: int = field(default=512, metadata=_opt("input window length L"))
    horizon: int = field(default=96, metadata=_opt("forecast length H"))
    n_channels: int = field(default=0, metadata=_opt("number of series (set from data)", cli=False))
    season: int = field(default=0, metadata=_opt(
        "steps in one seasonal cycle, for the seasonal naive forecast (--model seasonal-repeat, and the reference "
        "scored beside every run's test scores); 0: from the time step (a day of steps shorter than a day, a week "
        "of days, a year of weeks, months, half months or quarters)"))
    # DynoNet
    worker_seq_len: int = field(default=96, metadata=_opt("residual steps the workers read"))
    worker_hidden: int = field(default=16, metadata=_opt("GRU width of each channel's worker"))
    worker_layers: int = field(default=1, metadata=_opt("GRU layers per worker"))
    context_dim: int = field(default=8, metadata=_opt("width of the controller's context vector"))
    controller: bool = field(default=True, metadata=_opt("use the controller (off: neutral signals)"))
    controller_hidden: int = field(default=32, metadata=_opt("controller GRU width"))
    controller_patch_len: int = field(
        default=1, metadata=_opt("controller reads patches of this many steps (1: raw steps)")
    )
    controller_encoder: str = field(
        default="joint",
        metadata=_opt("how the controller reads the window: one GRU over every channel's steps together "
                      "(joint, the seed's), or one GRU shared by the channels that reads each channel alone, "
                      "its per-channel states then attending to each other across channels (attention) "
                      "before heads shared by the channels", choices=("joint", "attention")),
    )
    controller_heads: int = field(
        default=4, metadata=_opt("attention heads of --controller-encoder attention (divides --controller-hidden)")
    )
    film_scale: float = field(default=0.1, metadata=_opt("FiLM range: gamma in 1 +- s, beta in +- s"))
    dropout: float = field(default=0.1, metadata=_opt("initial (neutral) worker dropout rate"))
    fixed_signals: tuple[str, ...] = field(
        default=(), metadata=_opt(f"signals held at neutral values, comma-separated, of {','.join(FIXABLE_SIGNALS)}")
    )
    ma_kernel: int = field(default=25, metadata=_opt("moving-average kernel of the decomposition"))
    trend_input: str = field(
        default="average",
        metadata=_opt("what the trend branch's Linear(L, H) reads: the moving average (DLinear's trend) or "
                      "the whole window (DLinear with tied trend/seasonal weights)", choices=("average", "window")),
    )
    trend_modulation: bool = field(
        default=False,
        metadata=_opt("the controller also scales and shifts each channel's trend-branch forecast "
                      "(within 1 +- film_scale and +- film_scale)"),
    )
    mixer: bool = field(default=True, metadata=_opt("zero-initialized cross-channel residual mixer"))
    mixer_hidden: int = field(default=16, metadata=_opt("mixer width"))
    # PatchTST baseline
    patch_len: int = field(default=16, metadata=_opt("PatchTST patch length"))
    patch_stride: int = field(default=8, metadata=_opt("PatchTST patch stride"))
    d_model: int = field(default=16, metadata=_opt("PatchTST model width"))
    n_heads: int = field(default=4, metadata=_opt("PatchTST attention heads"))
    n_layers: int = field(default=3, metadata=_opt("PatchTST encoder layers"))
    d_ff: int = field(default=128, metadata=_opt("PatchTST feed-forward width"))
    attn_dropout: float = field(default=0.3, metadata=_opt("PatchTST dropout"))

    @property
    def worker_context_dim(self) -> int:
        """Width of the context the workers' heads read: the controller's context, none without
        a controller (its context would always be zero, and head weights for it would be
        parameters that nothing trains)."""
        return self.context_dim if self.controller else 0

    def __post_init__(self) -> None:
        _validate(self, _MODEL_RULES)
        if unknown := sorted(set(self.fixed_signals) - set(FIXABLE_SIGNALS)):
            raise ConfigError(f"--fixed-signals: unknown signals {unknown}; choose from {', '.join(FIXABLE_SIGNALS)}")
        if self.season > self.lookback:  # the seasonal naive forecast repeats the window's last cycle
            raise ConfigError(f"--season {self.season} is longer than --lookback {self.lookback}: the window must "
                              "hold one whole cycle")


_MODEL_RULES: tuple[Rule, ...] = (
    (("lookback", "horizon", "worker_seq_len", "worker_hidden", "worker_layers", "context_dim",
      "controller_hidden", "controller_patch_len", "controller_heads", "ma_kernel", "mixer_hidden", "patch_len",
      "patch_stride", "d_model", "n_heads", "n_layers", "d_ff"), *_POSITIVE),
    (("n_channels", "film_scale"), *_NON_NEGATIVE),  # n_channels: 0 until set from the data
    (("season",), *_NON_NEGATIVE),  # 0: from the data's time step
    (("dropout",), f"in [0, {DROPOUT_MAX})", lambda v: 0 <= v < DROPOUT_MAX),
    (("attn_dropout",), "in [0, 1)", lambda v: 0 <= v < 1),
)


# Settings read by DynoNet's controller alone (its shape, signals, optimizer and split): with it
# off they change nothing (tests/test_model.py checks).
CONTROLLER_SETTINGS = frozenset(
    [f"model.{f}" for f in ("controller_hidden", "controller_patch_len", "controller_encoder", "controller_heads",
                            "film_scale", "fixed_signals")]
    + [f"train.{f}" for f in ("controller_lr", "controller_weight_decay", "controller_data", "holdout_fraction")]
)
# Settings of DynoNet alone (workers, controller, trend branch, mixer) and of PatchTST alone: the
# other models never read them.
DYNONET_SETTINGS = CONTROLLER_SETTINGS | frozenset(
    f"model.{f}" for f in ("worker_seq_len", "worker_hidden", "worker_layers", "context_dim", "controller", "dropout",
                           "trend_input", "trend_modulation", "mixer", "mixer_hidden"))
PATCHTST_SETTINGS = frozenset(f"model.{f}" for f in ("patch_len", "patch_stride", "d_model", "n_heads", "n_layers",
                                                      "d_ff", "attn_dropout"))


@dataclass(frozen=True)
class TrainConfig:
    """Optimization, early stopping and execution."""

    epochs: int = field(default=100, metadata=_opt("maximum epochs (of each stage, with --trend-first)"))
    batch_size: int = field(default=512, metadata=_opt(
        "training batch size; for a CSV, unless given, the training windows choose one no larger"))
    eval_batch_size: int = field(default=1024, metadata=_opt("batch size for validation/test"))
    pass_sequences: int = field(default=32768, metadata=_opt(
        "the most sequences (windows x series) one forward and backward pass of a training step holds (at least one "
        "window): a larger batch is split into passes whose gradients add up to the batch's, for less memory with "
        "many series (not for models with BatchNorm, such as patchtst)"))
    interval_levels: tuple[int, ...] = field(
        default=(50, 80, 90, 95, 99),
        metadata=_opt("levels (percent) of the prediction intervals calibrated on the validation windows after "
                      "training, comma-separated; `predict --level` draws on them"),
    )
    lr: float = field(default=2e-3, metadata=_opt("AdamW lr of workers, trend, mixer, RevIN"))
    weight_decay: float = field(default=1e-4, metadata=_opt("AdamW weight decay of the same"))
    controller_lr: float = field(default=1e-4, metadata=_opt("controller AdamW lr (0: frozen at init)"))
    controller_weight_decay: float = field(default=1e-3, metadata=_opt("controller AdamW weight decay"))
    controller_data: str = field(
        default="val", metadata=_opt("split the controller trains on", choices=("val", "holdout"))
    )
    holdout_fraction: float = field(
        default=0.2, metadata=_opt("share of the training period held out for the controller")
    )
    schedule: str = field(
        default="cosine",
        metadata=_opt("learning-rate schedule of each stage: cosine over --epochs; cosine with warm restarts "
                      "(first cycle --restart-epochs, each next twice as long); or plateau: after "
                      "--plateau-patience epochs without a new best, return to the best weights and "
                      "multiply the lr by --plateau-factor; or exponential: --hold-epochs at the full lr, then "
                      "times --lr-decay each epoch (PatchTST's published recipe, with --min-lr-ratio 0)",
                      choices=("cosine", "restarts", "plateau", "exponential")),
    )
    restart_epochs: int = field(default=10, metadata=_opt("--schedule restarts: epochs of the first cycle"))
    plateau_patience: int = field(
        default=5, metadata=_opt("--schedule plateau: epochs without a new best before the weights return to "
                                 "the best so far (in the full stage, before any new best: its start) and "
                                 "the lr of every optimizer drops; below --patience")
    )
    plateau_factor: float = field(default=0.5, metadata=_opt("--schedule plateau: lr multiplier at each drop"))
    hold_epochs: int = field(default=4, metadata=_opt("--schedule exponential: epochs at the full lr"))
    lr_decay: float = field(default=0.9, metadata=_opt("--schedule exponential: lr multiplier per later epoch"))
    min_lr_ratio: float = field(default=0.01, metadata=_opt("lr floor of every schedule, as a share of lr"))
    ema_decay: float = field(
        default=0.0,
        metadata=_opt("keep an exponential moving average of the weights, updated every step with this decay "
                      "(0: off); validation, early stopping and the finished model use the average"),
    )
    patience: int = field(default=20, metadata=_opt("epochs without a new best validation MSE"))
    trend_first: bool = field(
        default=False,
        metadata=_opt("fit the model's linear trend path (RevIN + Linear) alone first, freeze it, then train "
                      "the rest from a start that forecasts exactly as that fitted path (models without one: no effect)"),
    )
    trend_fit: str = field(
        default="adamw",
        metadata=_opt("with --trend-first: fit the linear trend path by AdamW epochs with early stopping, or "
                      "in closed form by ridge least squares on the training windows, the penalty chosen "
                      "on validation MSE (RevIN's affine stays the identity)", choices=("adamw", "ridge")),
    )
    loss: str = field(
        default="mse",
        metadata=_opt("training loss of every optimizer step: mse; mae, which outlying targets pull less; or "
                      "huber (squared within 1 std of the channel, absolute beyond). Validation, early "
                      "stopping and --trend-fit ridge stay on MSE", choices=("mse", "mae", "huber")),
    )
    seed: int = field(default=0, metadata=_opt("seeds every random number generator"))
    device: str = field(default="auto", metadata=_opt("compute device", choices=DEVICES))

    def __post_init__(self) -> None:
        _validate(self, _TRAIN_RULES)
        object.__setattr__(self, "interval_levels", tuple(sorted(set(self.interval_levels))))
        if self.schedule == "plateau" and self.plateau_patience >= self.patience:
            raise ConfigError(f"--plateau-patience must be below --patience with --schedule plateau, or early "
                              f"stopping ends the stage first (got {self.plateau_patience} and {self.patience})")


_TRAIN_RULES: tuple[Rule, ...] = (
    (("epochs", "batch_size", "eval_batch_size", "pass_sequences", "patience", "restart_epochs", "plateau_patience"),
     *_POSITIVE),
    (("plateau_factor", "lr_decay"), "in (0, 1)", lambda v: 0 < v < 1),
    (("hold_epochs",), *_NON_NEGATIVE),
    (("lr",), "above 0 (--controller-lr 0 freezes the controller; nothing freezes the rest)", lambda v: v > 0),
    (("weight_decay", "controller_lr", "controller_weight_decay"), *_NON_NEGATIVE),
    (("holdout_fraction",), "in (0, 1)", lambda v: 0 < v < 1),
    (("min_lr_ratio",), "in [0, 1]", lambda v: 0 <= v <= 1),
    (("ema_decay",), "in [0, 1)", lambda v: 0 <= v < 1),
    (("seed",), "in [0, 2**32)", lambda v: 0 <= v < 2**32),  # NumPy's seed range
    (("interval_levels",), "one or more whole percents from 1 to 99", lambda v: len(v) > 0 and all(
        1 <= p <= 99 for p in v)),
)


# Settings of training a model's parameters: a model without any (`repeat`) reads none of them.
OPTIMIZATION_SETTINGS = frozenset(f"train.{f.name}" for f in dataclasses.fields(TrainConfig)
                                  if f.name not in ("seed", "device", "eval_batch_size", "interval_levels"))
# The trend-first stage: read only by models with a linear trend path (`Forecaster.trend_path`).
TREND_STAGE_SETTINGS = frozenset({"train.trend_first", "train.trend_fit"})


@dataclass(frozen=True)
class DataConfig:
    """Where the series come from and how they are split."""

    # None where the data is a CSV or (in Python) a DataFrame, so that a run's record names its data once
    dataset: str | None = field(default="ETTh1", metadata=_opt("bundled dataset", choices=DATASETS))
    csv: str | None = field(default=None, metadata=_opt(
        "train on this CSV instead of a bundled dataset (a date column and one numeric column per series, "
        "or long: unique_id, ds, y)"))
    date_column: str = field(default="date", metadata=_opt("name of the CSV's date column"))
    sep: str = field(default=",", metadata=_opt("the CSV's field separator, e.g. ';' (a tab: '\\t' or tab)"))
    decimal: str = field(default=".", metadata=_opt("the CSV's decimal mark", choices=(".", ",")))
    columns: tuple[str, ...] | None = field(default=None, metadata=_opt(
        "the series to read from the CSV, comma-separated (other columns are left alone); default: every column "
        "besides the dates"))
    date_format: str | None = field(default=None, metadata=_opt(
        "how the CSV writes its dates, as for strftime (e.g. %d/%m/%Y for day-first; %s: Unix time in seconds, "
        "read as UTC); default: inferred"))
    test_fraction: float = field(default=0.2, metadata=_opt(
        "share of rows for the test split (--csv data, or the first --max-rows rows; ETT: fixed borders)"))
    val_fraction: float = field(default=0.1, metadata=_opt("share of rows for the validation split (as --test-fraction)"))
    max_rows: int | None = field(default=None, metadata=_opt("use only the first N rows (smoke tests)"))

    def __post_init__(self) -> None:
        if self.sep in ("\\t", "tab"):  # a tab as typed without bash's $'\t'
            object.__setattr__(self, "sep", "\t")
        if self.csv is not None:  # the data is the CSV's: a run's record names no bundled dataset
            object.__setattr__(self, "dataset", None)
        _validate(self, _DATA_RULES)
        if self.test_fraction + self.val_fraction >= 1:
            raise ConfigError(f"--test-fraction + --val-fraction must be below 1, leaving rows to train on "
                              f"(got {self.test_fraction} + {self.val_fraction})")
        if self.sep == self.decimal:
            raise ConfigError(f"--sep and --decimal are both {self.sep!r}; a field separator cannot be the decimal "
                              "mark (';' goes with ',')")


_DATA_RULES: tuple[Rule, ...] = (
    (("csv",), "a file name, not empty", lambda v: bool(v.strip())),  # (an unset shell variable)
    (("test_fraction",), "in [0, 1)", lambda v: 0 <= v < 1),
    (("val_fraction",), "in (0, 1)", lambda v: 0 < v < 1),
    (("max_rows",), *_POSITIVE),  # or None: all rows
    (("columns",), "one or more distinct names", lambda v: len(v) > 0 and len(set(v)) == len(v)),  # or None: all
    (("sep",), "one character, not a letter, digit, quote, point or line break",
     lambda v: len(v) == 1 and not v.isalnum() and v not in "\"'.\n\r"),
)


@dataclass(frozen=True)
class RunConfig:
    """One run: model, training and data settings (what a checkpoint records)."""

    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    data: DataConfig = DataConfig()

    def to_dict(self) -> dict[str, Any]:
        """Every setting as plain JSON types, by section (what checkpoint.json records)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        """Inverse of `to_dict`. A missing setting takes its default (a record from an earlier
        version); anything else unreadable, an unknown setting included, is a ConfigError."""
        sections = {}
        for name, section in (("model", ModelConfig), ("train", TrainConfig), ("data", DataConfig)):
            values = d.get(name) if isinstance(d, dict) else None
            if not isinstance(values, dict):
                raise ConfigError(f"settings: {name!r} is not a section of settings")
            if unknown := sorted(set(values) - {f.name for f in dataclasses.fields(section)}):
                raise ConfigError(f"settings: unknown {name} setting(s) {', '.join(unknown)} (another version?)")
            sections[name] = section(**values)
        return cls(**sections)

    def replace(self, **sections: dict[str, Any]) -> "RunConfig":
        """`cfg.replace(train={"epochs": 3})` -> a copy with those fields changed."""
        return dataclasses.replace(
            self, **{k: dataclasses.replace(getattr(self, k), **v) for k, v in sections.items()}
        )


def _ett(dataset: str, horizon: int) -> RunConfig:
    # Published code's H96 script: L=512, worker lookback 96, batch 512, AdamW 2e-3 / wd 1e-4,
    # controller at 0.05x lr and 10x wd, cosine to 1%, 100 epochs. Widths from the seed paper's
    # table (controller hidden 32, worker hidden 16); 99,947 parameters at H96 with the controller
    # and the mixer on, 72,558 as the H96 presets run (both off: the workers' heads then read no context).
    # L=512 kept on validation MSE: RevIN + Linear had its lowest at 512 against 96/192/336/720
    # at every ETTh1 horizon (seeds 0-2, 2026-11-25, benchmarks/lookback/).
    # Chosen on validation MSE (ETTh1 H96, seeds 0-2, 2026-11-23, benchmarks/): the patch
    # controller (0.6561 +- 0.0056) against the raw 512-step one (0.6670 +- 0.0021), and the
    # trend branch over the whole window (0.6561) against its moving average (0.6683 +- 0.0072).
    # The controller is off: trained on validation it scores that validation, not a clean one;
    # trained on a holdout (validation stays clean) it is worse than none (0.6664 vs 0.6534,
    # validation MSE under the presets' trend-first training, ETTh1 H96, seeds 0-2). `--controller`
    # turns it on; the benchmark's `dynonet` variant always runs the full system.
    # Trend-first training: joint training stops early on the workers' overfitting, before the
    # trend branch (itself RevIN + Linear) has converged, and RevIN + Linear alone had the better
    # validation MSE in every cell; fitting it first and training the workers from there was
    # better on validation at ETTh1 H96 (0.6514 / 0.6560 / 0.6544 vs 0.6675 +- 0.0012 joint) and
    # never worse than the linear start elsewhere (benchmarks/experiments/trend_first.log).
    return RunConfig(
        ModelConfig(lookback=512, horizon=horizon, controller=False, controller_patch_len=16,
                    trend_input="window"),
        TrainConfig(trend_first=True),
        DataConfig(dataset=dataset),
    ).replace(**PICKED[(dataset, horizon)])


# What validation picked for each preset, by the one-standard-error rule: among the settings of
# the preset model recorded under benchmarks/ whose mean validation MSE (seeds 0-2) is within
# one standard error of the lowest, the fewest parameters, then the fewest departures from the
# defaults (within 100K parameters where any is; `python benchmarks/select_presets.py` lists
# them all, and tests/test_config.py checks these against it). 2026-11-30: how the trend stage
# fits the linear path (AdamW epochs or the closed-form ridge fit), the cross-channel mixer
# (off: benchmarks/no-mixer/), at ETTh1 H336 the warm-restart schedule
# (benchmarks/schedule/restarts/), 8 worker units at H192-H336 and at ETTh2 H720
# (benchmarks/worker-size/), and at ETTh1 H720 and ETTh2 H336 training on MAE, at ETTh2 H96 on
# Huber (benchmarks/loss/). 2026-12-01: ETTh2's lookback, 192 (benchmarks/lookback/etth2-presets-192/;
# ETTh1's, 512, was chosen with RevIN + Linear: benchmarks/lookback/); then, at 192, the trend fit,
# the loss and the workers' width checked again (benchmarks/lookback/etth2-192-*/): 8 units at H96,
# MSE at H336.
PICKED: dict[tuple[str, int], dict[str, dict[str, Any]]] = {
    ("ETTh1", 96): {"model": {"mixer": False}, "train": {"trend_fit": "adamw"}},
    ("ETTh1", 192): {"model": {"mixer": False, "worker_hidden": 8}, "train": {"trend_fit": "adamw"}},
    ("ETTh1", 336): {"model": {"mixer": False, "worker_hidden": 8},
                     "train": {"trend_fit": "adamw", "schedule": "restarts"}},
    ("ETTh1", 720): {"model": {"mixer": True}, "train": {"trend_fit": "ridge", "loss": "mae"}},
    ("ETTh2", 96): {"model": {"mixer": False, "worker_hidden": 8, "lookback": 192},
                    "train": {"trend_fit": "adamw", "loss": "huber"}},
    ("ETTh2", 192): {"model": {"mixer": False, "worker_hidden": 8, "lookback": 192}, "train": {"trend_fit": "ridge"}},
    ("ETTh2", 336): {"model": {"mixer": False, "worker_hidden": 8, "lookback": 192}, "train": {"trend_fit": "adamw"}},
    ("ETTh2", 720): {"model": {"mixer": False, "worker_hidden": 8, "lookback": 192}, "train": {"trend_fit": "ridge"}},
}


PRESETS: dict[str, RunConfig] = {
    f"{ds.lower()}-{h}": _ett(ds, h) for ds in DATASETS for h in HORIZONS
}
# Minutes on 2 CPU cores: the H96 preset on a short schedule.
PRESETS["quickstart"] = _ett("ETTh1", 96).replace(train={"epochs": 8, "patience": 3})


DEFAULT_PRESET = "quickstart"  # what `dynonet train` and `DynoNetForecaster` start from
SECTIONS = {"model": ModelConfig, "train": TrainConfig, "data": DataConfig}


def override(cfg: RunConfig, changes: dict[str, dict[str, Any]]) -> RunConfig:
    """`cfg` with `changes` ({"train": {"epochs": 3}, ...}) applied. A new lookback caps the
    workers' steps and the controller's patch at it, unless `changes` sets them too (a
    preset's 96 residual steps cannot exceed a 64-step window)."""
    model = changes.get("model", {})
    if "lookback" in model:
        L = model["lookback"]
        capped = {"worker_seq_len": min(cfg.model.worker_seq_len, L),
                  "controller_patch_len": min(cfg.model.controller_patch_len, L)}
        changes = {**changes, "model": {**capped, **model}}
    return cfg.replace(**changes)


def preset(name: str) -> RunConfig:
    """The named preset (`PRESETS`); an unknown name is a ConfigError listing the names."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose from {', '.join(sorted(PRESETS))}")
    return PRESETS[name]
