"""DynoNet: compact, input-adaptive time-series forecasting.

A GRU controller (hypernetwork) reads the input window and emits modulation signals for
per-channel GRU workers, around a DLinear-style trend branch and RevIN, trained bi-level.
"""

__version__ = "0.1.0"
