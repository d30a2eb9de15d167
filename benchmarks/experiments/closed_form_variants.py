"""Experiment, not part of the package: variants of the closed-form RevIN + Linear fit
(`--trend-fit ridge`), each with its ridge penalty chosen on validation MSE.

`python benchmarks/experiments/closed_form_variants.py DATASET` (ETTh1 or ETTh2), L = 512,
H = 96/192/336/720. Each variant is fitted on the training windows by weighted ridge least
squares (weights = window variance, as the package's `dynonet.least_squares`), for penalties
`LAMBDAS` (per 1000 of the summed weights; 10 is the package's 1e-2); the lowest validation MSE
picks the penalty; the test MSE of that fit is printed beside it (nothing is chosen on it):

- `shared`: the package's fit (one Linear for every channel, one bias);
- `per-step penalty`: a penalty chosen on validation for each output step separately;
- `channel intercept`: plus one bias per channel and output step (what RevIN's learnable affine
  can add to a linear forecaster, see `revin_affine.py`);
- `gate=G`: a separate Linear per group of (window, channel) rows, an input-adaptive linear
  model with a fixed gate: `channel` (one Linear per channel, DLinear's "individual"), `std`
  (window std terciles, thresholds from the training windows), `hour` (hour of the first
  forecast step in four 6-hour bins);
- `prior=P`: the penalty shrinks the weights toward a fixed forecast instead of toward zero
  (the window mean): `seasonal24`, `seasonal168` (repeat the last day or week), `last` (the
  last value);
- `lag decay T`: the penalty on lag j grows as exp(age_j / T) (mean 1), age = L - 1 - j: old
  lags shrink more;
- `no RevIN`: the same Linear(L, H) on the windows as they are (the data z-scored with the
  training rows' statistics, not each window by its own), so it sees each window's level, as
  DLinear does.
"""
import sys

import numpy as np
import torch

from dynonet.config import preset
from dynonet.data import load

torch.set_default_dtype(torch.float64)
LAMBDAS = (0.3, 1, 3, 10, 30, 100, 300, 1000, 3000, 1e4, 3e4)
L = 512


def windows(values: torch.Tensor, hours: torch.Tensor, rows: tuple[int, int], H: int) -> dict[str, torch.Tensor]:
    """Every (window, channel) row: normalized input with a 1 for the bias, target, stats, groups."""
    start, end = rows
    w = values[start:end].unfold(0, L + H, 1)  # (N, C, L+H)
    N, C = w.shape[:2]
    x, y = w[..., :L], w[..., L:]
    m = x.mean(-1, keepdim=True)
    sd = ((x - m) ** 2).mean(-1, keepdim=True).add(1e-5).sqrt()  # RevIN's eps
    return {"a": torch.cat([((x - m) / sd).reshape(-1, L), torch.ones(N * C, 1)], 1),  # (N*C, L+1)
            "t": ((y - m) / sd).reshape(-1, H), "m": m.reshape(-1, 1), "sd": sd.reshape(-1, 1),
            "y": y.reshape(-1, H), "channel": torch.arange(C).repeat(N),
            "hour": (hours[start + L:start + L + N] // 6).repeat_interleave(C),
            "onehot": torch.eye(C).repeat(N, 1),
            "raw": torch.cat([x.reshape(-1, L), torch.ones(N * C, 1)], 1)}  # (N*C, L+1), not normalized


def solve(a: torch.Tensor, t: torch.Tensor, w: torch.Tensor, n_bias: int, lag_weights: torch.Tensor | None = None,
          prior: torch.Tensor | None = None) -> list[torch.Tensor]:
    """The weighted ridge solution for every penalty, shrunk toward `prior` (default 0); the
    last `n_bias` columns unpenalized; lag j's penalty times `lag_weights[j]` (default 1)."""
    G, R, n = a.T @ (a * w), a.T @ (t * w), w.sum()
    diag = torch.ones(a.shape[1])
    if lag_weights is not None:
        diag[:L] = lag_weights
    diag[-n_bias:] = 0
    pen = torch.diag(diag) * n / 1000
    return [torch.linalg.solve(G + lam * pen, R if prior is None else R + lam * pen @ prior) for lam in LAMBDAS]


def step_errors(sets: dict, fits: dict[int, list[torch.Tensor]], group: str | None, extra: str | None,
                raw: bool = False) -> dict:
    """Per-step MSE (H,) on val and test for each penalty index; `raw`: the fit reads the
    windows without RevIN and forecasts the data directly."""
    out = {}
    for split in ("val", "test"):
        d = sets[split]
        a = d["raw"] if raw else d["a"] if extra is None else torch.cat([d["a"], d[extra]], 1)
        keys = torch.zeros(len(a), dtype=torch.long) if group is None else d[group]
        rows = []
        for i in range(len(LAMBDAS)):
            pred = torch.empty_like(d["y"])
            for k, Bs in fits.items():
                r = keys == k
                pred[r] = a[r] @ Bs[i] if raw else (a[r] @ Bs[i]) * d["sd"][r] + d["m"][r]
            rows.append(((pred - d["y"]) ** 2).mean(0))
        out[split] = torch.stack(rows)  # (n_lambdas, H)
    return out


def main(dataset: str) -> None:
    for H in (96, 192, 336, 720):
        data = load(preset(f"{dataset.lower()}-{H}"))
        values = torch.as_tensor(data.values, dtype=torch.float64)
        hours = torch.as_tensor(np.asarray(data.dates.hour), dtype=torch.long)
        sets = {s: windows(values, hours, data.splits[s], H) for s in ("train", "val", "test")}
        tr = sets["train"]
        q = torch.quantile(tr["sd"].flatten(), torch.tensor([1 / 3, 2 / 3]))
        for d in sets.values():
            d["std"] = torch.bucketize(d["sd"].flatten(), q)
        w = tr["sd"] ** 2
        variants = {"shared": ({0: solve(tr["a"], tr["t"], w, 1)}, None, None),
                    "channel intercept": ({0: solve(torch.cat([tr["a"], tr["onehot"]], 1), tr["t"], w,
                                                    1 + tr["onehot"].shape[1])}, None, "onehot")}
        for group in ("channel", "std", "hour"):
            fits = {int(k): solve(tr["a"][tr[group] == k], tr["t"][tr[group] == k], w[tr[group] == k], 1)
                    for k in tr[group].unique()}
            variants[f"gate={group}"] = (fits, group, None)
        for name, period in (("seasonal24", 24), ("seasonal168", 168), ("last", 1)):
            prior = torch.zeros(L + 1, H)  # (L+1, H): output step h repeats lag L - period + h % period
            prior[L - period + torch.arange(H) % period, torch.arange(H)] = 1.0
            variants[f"prior={name}"] = ({0: solve(tr["a"], tr["t"], w, 1, prior=prior)}, None, None)
        age = torch.arange(L - 1, -1, -1, dtype=torch.float64)
        for tau in (512, 256, 128, 64):
            decay = torch.exp(age / tau)
            variants[f"lag decay {tau}"] = ({0: solve(tr["a"], tr["t"], w, 1, lag_weights=decay / decay.mean())},
                                            None, None)
        variants["no RevIN"] = ({0: solve(tr["raw"], tr["y"], torch.ones_like(w), 1)}, None, None)
        for name, (fits, group, extra) in variants.items():
            err = step_errors(sets, fits, group, extra, raw=name == "no RevIN")
            i = int(err["val"].mean(1).argmin())
            print(f"{dataset} H{H} {name}: penalty {LAMBDAS[i]:g} val {err['val'][i].mean():.4f} "
                  f"test {err['test'][i].mean():.4f}", flush=True)
            if name == "shared":  # the same fits, a penalty per output step
                pick = err["val"].argmin(0)[None]
                print(f"{dataset} H{H} per-step penalty: val {err['val'].gather(0, pick).mean():.4f} "
                      f"test {err['test'].gather(0, pick).mean():.4f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
