"""Errors a user can cause. The CLI prints them as one line and exits non-zero."""


class DynoNetError(Exception):
    """Base class: a problem with the user's input, not a bug."""


class DataError(DynoNetError):
    """A data file that cannot be used (names the file, column or line)."""


class ConfigError(DynoNetError):
    """An invalid combination of settings."""


class TrainingError(DynoNetError):
    """Training that cannot go on (a loss that is no longer finite). `run`: what the runner
    knew of the run when it stopped (device, parameters, epochs run), for its record."""

    def __init__(self, message: str, run: dict | None = None):
        super().__init__(message)
        self.run = run or {}


class CheckpointError(DynoNetError):
    """A run folder or checkpoint that cannot be read or written."""


class OutputError(DynoNetError):
    """An output file that cannot be written (names the path)."""
