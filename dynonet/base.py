"""The interface every registered model implements, so the trainer never asks which model it has."""

from __future__ import annotations

from typing import Collection

from torch import Tensor, nn

from dynonet.config import ModelConfig
from dynonet.controller import Signals
from dynonet.decomposition import TimeLinear


class Forecaster(nn.Module):
    """Maps a window (B, L, C) to a forecast (B, H, C), both on the data's scale.

    Models with a controller override `signals`, `controller_parameters` and
    `channel_parameters`, and, when its learning-rate scale acts on their updates,
    `scales_channel_updates` and `lr_scale_from_state`; models with a linear trend path that
    trend-first training can fit alone override `trend_path`, `time_linear` and
    `zero_residual`. The defaults describe a plain single-level model.
    """

    display_name = "model"
    # Settings ("section.field") this model never reads: two runs that differ only there are the
    # same experiment (a benchmark cell compares the rest). tests/test_model.py checks each claim.
    unread: frozenset[str] = frozenset()
    # Forecasts by the data's seasonal cycle (`season`): it needs one, given or found from the
    # time step (`registry.with_season`).
    needs_season: bool = False
    # Forecasts only by copying values of its window: it forecasts in any units, so forecasts
    # in the data's own units read the values as they are and repeat them exactly.
    repeats_input: bool = False

    @classmethod
    def unread_with(cls, cfg: ModelConfig) -> frozenset[str]:
        """The settings this model leaves unread when configured as `cfg`: `unread`, and what this
        configuration switches off (a user is told of those; benchmark cells compare on `unread`)."""
        return cls.unread

    @classmethod
    def configured(cls, cfg: ModelConfig, unread: Collection[str]) -> str:
        """How a note on the settings `unread` ("model.patch_len") names this model's configuration,
        where that configuration is why they go unread: '' by default."""
        return ""

    @classmethod
    def check_config(cls, cfg: ModelConfig) -> None:
        """Raise ConfigError for settings this model cannot run with (checked before any data
        is read; settings of other models are not this model's concern)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg

    def signals(self, x: Tensor) -> Signals | None:
        """Modulation signals for window x, or None for models without a controller."""
        return None

    def forward(self, x: Tensor, signals: Signals | None = None) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def controller_parameters(self) -> list[nn.Parameter]:
        """Parameters stepped by the controller's optimizer on the controller split."""
        return []

    def channel_parameters(self) -> list[nn.Parameter]:
        """Parameters with a leading channel axis, whose updates the lr-scale signal scales."""
        return []

    def scales_channel_updates(self) -> bool:
        """True when `signals(x).lr_scale` should scale each channel's parameter update."""
        return False

    def lr_scale_from_state(self, state: Tensor) -> Tensor:
        """The lr-scale signal recomputed, with gradient, from a stored controller state."""
        raise NotImplementedError

    def trend_path(self) -> "Forecaster | None":
        """The model's linear trend path as a model of its own, sharing this model's parameters,
        or None when there is no such path (then trend-first training has no first stage)."""
        return None

    def time_linear(self) -> tuple[TimeLinear, Tensor | None]:
        """On a trend path: its Linear over time and the fixed (L, L) map applied before it (None:
        the identity), which the closed-form fit (`--trend-fit ridge`) solves for."""
        raise NotImplementedError

    def zero_residual(self) -> None:
        """Make everything outside `trend_path()` add nothing, so that the model's forecast
        equals its trend path's; called once the trend path is fitted."""
        raise NotImplementedError

    def mixes_windows(self) -> bool:
        """True when a training forward pass normalizes over the windows of its batch
        (BatchNorm): then a batch is not split into passes (`train.pass_sequences`), whose
        statistics would be each pass's own."""
        return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.modules())

    def worker_parameters(self) -> list[nn.Parameter]:
        """Everything else: stepped on training data."""
        ctrl = {id(p) for p in self.controller_parameters()}
        return [p for p in self.parameters() if id(p) not in ctrl]

    def param_counts(self) -> dict[str, int]:
        """Trainable parameters per top-level component, and the total."""
        counts = {
            name: sum(p.numel() for p in child.parameters() if p.requires_grad)
            for name, child in self.named_children()
        }
        counts.update({name: p.numel() for name, p in self.named_parameters(recurse=False) if p.requires_grad})
        counts = {k: v for k, v in counts.items() if v}
        counts["total"] = sum(p.numel() for p in self.parameters() if p.requires_grad)
        return counts
