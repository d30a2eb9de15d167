"""Errors a user can cause. The CLI prints them as one line and exits non-zero."""

from __future__ import annotations

from typing import Any


class DynoNetError(Exception):
    """Base class: a problem with the user's input, not a bug."""


class DataError(DynoNetError, ValueError):
    """A data file or table that cannot be used (names the file, column or line). Also a
    ValueError, as a bad argument to the Python API is."""


class ConfigError(DynoNetError, ValueError):
    """An invalid setting or combination of settings (also a ValueError)."""


class TrainingError(DynoNetError):
    """Training that cannot go on (a loss that is no longer finite). `run`: what the runner
    knew of the run when it stopped (device, parameters, epochs run), for its record."""

    def __init__(self, message: str, run: dict | None = None):
        super().__init__(message)
        self.run = run or {}


class CheckpointError(DynoNetError):
    """A run folder or checkpoint that cannot be read or written."""


class NotFittedError(DynoNetError, ValueError, AttributeError):
    """A forecaster used before `fit` or `load` (a ValueError and an AttributeError, as
    scikit-learn's is)."""


class OutputError(DynoNetError):
    """An output file that cannot be written (names the path)."""


def first_message_line(e: BaseException, limit: int = 200) -> str:
    """The first non-blank line of an exception's message (its type name if blank), for a
    one-line error that quotes a library's reason; torch's "Error(s) in loading state_dict"
    heading is skipped for the line under it that says what is wrong."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()] or [type(e).__name__]
    skip = len(lines) > 1 and lines[0].startswith("Error(s) in loading")
    return lines[1 if skip else 0][:limit]


def os_reason(e: OSError) -> str:
    """What the system said, for a one-line error: 'Permission denied'."""
    return e.strerror or first_message_line(e)


def names_text(names: list[Any] | tuple[Any, ...], most: int) -> str:
    """`names` as a message lists them: "'a', 'b' and 3 more" beyond the first `most`."""
    shown = ", ".join(map(repr, names[:most]))
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")
