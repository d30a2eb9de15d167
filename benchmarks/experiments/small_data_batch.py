"""Small data: the batch size its training windows choose against the preset's 512.

A synthetic daily series pair (weekly cycle, trend, noise), 420 rows to fit on, backtested
on the 180 days after them (which no fit saw); seed 0. Output: small_data_batch.log.
"""
import time, warnings
import numpy as np, pandas as pd
from dynonet import DynoNetForecaster

warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
t = np.arange(600)
df = pd.DataFrame({"sales": 100 + 20 * np.sin(2 * np.pi * t / 7) + 0.05 * t + rng.normal(0, 3, 600),
                   "visits": 50 + 10 * np.cos(2 * np.pi * t / 7) + rng.normal(0, 2, 600)},
                  index=pd.date_range("2022-01-01", periods=600, freq="D"))
train, later = df.iloc[:420], df.iloc[420 - 28:]  # the backtest reads 180 unseen days
for label, kw in [("chosen", {}), ("512", {"batch_size": 512})]:
    start = time.perf_counter()
    f = DynoNetForecaster(horizon=7, lookback=28, **kw).fit(train)
    s = f.scores(f.backtest(later))
    print(f"batch {label:>6} -> {f.config.train.batch_size:3d}: backtest scaled MSE {s['scaled_MSE'].mean():.4f}, "
          f"MAE {s['scaled_MAE'].mean():.4f}; fit {time.perf_counter() - start:.1f} s")
