"""DynoNet: compact, input-adaptive time-series forecasting.

A GRU controller (hypernetwork) reads the input window and emits modulation signals for
per-channel GRU workers, around a DLinear-style trend branch and RevIN, trained bi-level.
"""

from dynonet.errors import (CheckpointError, ConfigError, DataError, DynoNetError, NotFittedError, OutputError,
                            TrainingError)

__version__ = "0.1.0"
__all__ = ["DynoNetForecaster", "DynoNetError", "DataError", "ConfigError", "TrainingError", "CheckpointError",
           "OutputError", "NotFittedError", "__version__"]


def __getattr__(name: str):  # `from dynonet import DynoNetForecaster`, without importing torch on `import dynonet`
    if name == "DynoNetForecaster":
        from dynonet.forecaster import DynoNetForecaster

        return DynoNetForecaster
    raise AttributeError(f"module 'dynonet' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
