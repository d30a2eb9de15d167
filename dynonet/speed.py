"""`dynonet bench speed`: epoch time, inference latency/throughput and peak memory of the
project's training path against a straightforward reference path, in one process.

Two paths train the same model from the same initial weights on the same data:

- optimized: the real `BiLevelTrainer.fit` on `Windows` (batches cut on the device by one
  index gather) and `DynoNet` (all channels' GRUs in one batched recurrence);
- reference: the same model math written the plain way (`dynonet.reference`): one `nn.GRU`
  per channel in a Python loop (`ReferenceDynoNet`), a per-sample `Dataset`/`DataLoader`, and
  full backward through everything at both levels (`ReferenceTrainer`).

Speedup = reference epoch seconds / optimized epoch seconds. An epoch is every training step
(worker and controller updates) plus the validation pass (docs/PROTOCOL.md, section 1); figures
are medians of the measured epochs after warm-up epochs. The two paths' epochs alternate,
so that other work on a shared machine slows both alike. `--floor` adds the cost of the
recurrences alone, which bounds how fast an epoch can get.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import itertools
import json
import math
import resource
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from dynonet.files import atomic_write, check_writable
from dynonet.config import DEVICES, PRESETS, RunConfig, flag
from dynonet.data import Scaler, SeriesData, Windows, load, split_rows, window_sets
from dynonet.errors import ConfigError
from dynonet.model import DynoNet
from dynonet.runtime import resolve_device, seed_everything
from dynonet.training import BiLevelTrainer
from dynonet.recurrence import BACKENDS, auto_backend, gru_recurrence, use_backend
from dynonet.reference import ReferenceDynoNet, ReferenceTrainer, WindowDataset, reference_validate, unsupported

ETTH1_ROWS = 17420  # length of the bundled ETTh1 file; synthetic data (--channels) uses it too
MIB = 1024 * 1024


# =========================================================================================
# Measurement helpers
# =========================================================================================
def device_name(device: torch.device) -> str:
    """GPU name, or CPU model name and torch's thread count."""
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cpu: {model}, {torch.get_num_threads()} torch threads"


def load_average() -> list[float] | None:
    """1/5/15-minute load averages: other work on the machine skews CPU timings."""
    try:
        return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        return None


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _proc_status_kib(field_name: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _release_freed_memory() -> None:
    """Collect garbage and hand freed heap back to the OS, so the next phase's RSS baseline
    holds no memory left over from the previous phase."""
    gc.collect()
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakMemory:
    """Peak memory between `start()` and `stop()` (or inside `with PeakMemory(device):`).

    CUDA: `torch.cuda.max_memory_allocated`, reset at start. CPU: peak resident set size.
    Linux lets a process reset its RSS high-water mark (writing 5 to /proc/self/clear_refs),
    after which VmHWM is the peak of this phase alone; where that fails, the process-lifetime
    peak `ru_maxrss` is reported and marked `per_phase: false`. `increase_mib` is the peak
    minus the memory in use at start.
    """

    def __init__(self, device: torch.device):
        self.device = device
        self.result: dict[str, Any] = {}

    def start(self) -> None:
        _release_freed_memory()
        if self.device.type == "cuda":
            sync(self.device)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
            self.per_phase = True
        else:
            self.base = (_proc_status_kib("VmRSS") or 0) * 1024
            try:
                Path("/proc/self/clear_refs").write_text("5")
                self.per_phase = _proc_status_kib("VmHWM") is not None
            except OSError:
                self.per_phase = False

    def stop(self) -> dict[str, Any]:
        if self.device.type == "cuda":
            sync(self.device)
            peak, kind = torch.cuda.max_memory_allocated(self.device), "cuda_max_memory_allocated"
        elif self.per_phase:
            peak, kind = (_proc_status_kib("VmHWM") or 0) * 1024, "rss"
        else:
            peak, kind = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "rss_process_lifetime"
        self.result = {"kind": kind, "per_phase": self.per_phase, "peak_mib": peak / MIB,
                       "increase_mib": (peak - self.base) / MIB}
        return self.result

    def __enter__(self) -> "PeakMemory":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def peak_of(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """The largest of several phases' `PeakMemory` results."""
    worst = max(phases, key=lambda m: m["peak_mib"])
    return {**worst, "increase_mib": max(m["increase_mib"] for m in phases), "phases": len(phases)}


def timed_calls(fn: Callable[[], Any], device: torch.device, calls: int, budget_s: float,
                min_calls: int = 3) -> list[float]:
    """Seconds of each of up to `calls` timed calls of `fn()` (after one untimed call);
    stops early once `budget_s` is spent and at least `min_calls` ran."""
    fn()
    sync(device)
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < calls and (len(times) < min_calls or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return times


def median_time(fn: Callable[[], Any], device: torch.device, calls: int, budget_s: float,
                min_calls: int = 3) -> tuple[float, int]:
    """Median seconds of `timed_calls` and how many calls it took."""
    times = timed_calls(fn, device, calls, budget_s, min_calls)
    return statistics.median(times), len(times)


# =========================================================================================
# Data
# =========================================================================================
def synthetic_data(n_channels: int, n_rows: int, lookback: int, horizon: int, seed: int) -> SeriesData:
    """`n_channels` Gaussian random walks, hourly, split and z-scored as ETT (train rows only)."""
    rng = np.random.default_rng(seed)
    raw = rng.standard_normal((n_rows, n_channels)).cumsum(axis=0)  # (T, C)
    splits = split_rows(n_rows, lookback, horizon, ett=True, val_fraction=0.1, test_fraction=0.2,
                        source="synthetic")
    scaler = Scaler.fit(raw[slice(*splits["train"])])
    dates = pd.date_range("2016-07-01", periods=n_rows, freq="h")
    return SeriesData(f"synthetic random walk ({n_channels} channels)", [f"rw{i}" for i in range(n_channels)],
                      dates, scaler.transform(raw).astype(np.float32), scaler, splits, "h")


class TimedWindows(Windows):
    """Training `Windows` for `fit`, optionally cut to `max_steps` batches (`--max-steps`),
    that time an epoch's training steps, from the first batch asked for to the last one's
    work done (on CUDA, the queued kernels waited for, as the reference path's steps are):
    fit's epoch time then splits into those steps and the rest (validation pass,
    bookkeeping). The permutation still covers every window; only the epoch is cut short."""

    def __init__(self, inner: Windows, max_steps: int | None):
        self.__dict__.update(inner.__dict__)
        self.max_steps = max_steps
        self.step_seconds = math.nan  # the last epoch's training steps

    def batches(self, batch_size: int, order: Tensor | None = None) -> Iterator[tuple[Tensor, Tensor]]:
        sync(self.device)
        start = time.perf_counter()
        yield from itertools.islice(super().batches(batch_size, order), self.max_steps)
        sync(self.device)
        self.step_seconds = time.perf_counter() - start


# =========================================================================================
# The two paths
# =========================================================================================
@dataclass
class PathResult:
    epoch_seconds: list[float]  # measured epochs only
    step_seconds: list[float]  # the training-step part of each measured epoch
    latency_ms: float
    latency_calls: int
    throughput: float  # windows / s at the throughput batch
    memory_train: dict[str, Any]
    memory_inference: dict[str, Any]
    final_val_mse: float

    @property
    def median_epoch(self) -> float:
        return statistics.median(self.epoch_seconds)

    @property
    def median_steps(self) -> float:
        return statistics.median(self.step_seconds)

    @property
    def median_rest(self) -> float:
        """Validation pass and bookkeeping per epoch."""
        return statistics.median(e - t for e, t in zip(self.epoch_seconds, self.step_seconds))


def measure_inference(model: nn.Module, x1: Tensor, xb: Tensor, device: torch.device, calls: int,
                      budget_s: float) -> tuple[float, int, float, dict[str, Any]]:
    """Latency of a batch of 1 (ms, median), throughput of batch xb (windows/s), peak memory."""
    model.eval()
    with torch.inference_mode(), PeakMemory(device) as mem:
        latency, n = median_time(lambda: model(x1), device, calls, budget_s, min_calls=5)
        batch_s, _ = median_time(lambda: model(xb), device, 10, budget_s, min_calls=3)
    return latency * 1e3, n, xb.shape[0] / batch_s, mem.result


class ReferenceRun:
    """The reference path's training loop: per-sample DataLoader, per-channel nn.GRU,
    full backward (`ReferenceTrainer`); `epoch()` runs and times one epoch, as `fit` does."""

    def __init__(self, model: ReferenceDynoNet, cfg: RunConfig, series: Tensor, rows: dict[str, tuple[int, int]],
                 args: argparse.Namespace, device: torch.device):
        L, H, t = cfg.model.lookback, cfg.model.horizon, cfg.train
        pin = device.type == "cuda"

        def loader(split: str, batch: int, shuffle: bool, seed: int, full: bool = False) -> DataLoader:
            gen = torch.Generator().manual_seed(seed) if shuffle else None
            windows = WindowDataset(series, rows[split], L, H)
            # `full`: whole batches only, unless the split holds less than one (then all of it)
            return DataLoader(windows, batch_size=batch, shuffle=shuffle, generator=gen,
                              drop_last=full and len(windows) >= batch, num_workers=args.loader_workers,
                              pin_memory=pin)

        self.model, self.device, self.max_steps = model, device, args.max_steps
        self.train_loader = loader("train", t.batch_size, True, t.seed)
        # full controller batches, cycling over epochs, as `fit` draws them
        self.ctrl_batches = self._endless(loader("controller", t.batch_size, True, t.seed + 1, full=True))
        self.val_loader = loader("val", t.eval_batch_size, False, 0)
        self.trainer = ReferenceTrainer(model, t)
        self.val_mse = math.nan

    @staticmethod
    def _endless(dl: DataLoader) -> Iterator[tuple[Tensor, Tensor]]:
        while True:
            yield from dl

    def epoch(self) -> tuple[float, float]:
        """One epoch (training steps, lr schedule, validation pass); returns its seconds and
        those of its training steps."""
        model, device, trainer = self.model, self.device, self.trainer
        t0 = time.perf_counter()
        model.train()
        loss_sum = torch.zeros((), device=device)
        for x, y in itertools.islice(self.train_loader, self.max_steps or None):
            loss_sum += trainer.worker_step(x.to(device, non_blocking=True), y.to(device, non_blocking=True))
            cx, cy = next(self.ctrl_batches)
            trainer.controller_step(cx.to(device, non_blocking=True), cy.to(device, non_blocking=True))
        sync(device)
        t_steps = time.perf_counter() - t0
        for sched in trainer.schedulers:
            sched.step()
        self.val_mse = self.validate()  # .item() inside: synchronizes
        loss_sum.item()
        return time.perf_counter() - t0, t_steps

    def validate(self) -> float:
        return reference_validate(self.model, self.val_loader, self.device)


def train_paths(model: DynoNet, ref: ReferenceDynoNet, cfg: RunConfig, sets: dict[str, Windows],
                series: Tensor, rows: dict[str, tuple[int, int]], args: argparse.Namespace,
                device: torch.device, paths: list[str]) -> dict[str, dict[str, Any]]:
    """Train the paths for warm-up + measured epochs, interleaved: optimized epoch 1,
    reference epoch 1, optimized epoch 2, ... so that a change in the machine's load (other
    work on a shared CPU) hits both alike. The optimized path is `BiLevelTrainer.fit`
    itself; each reference epoch runs in fit's per-epoch `report` callback, after fit has
    taken that epoch's time. Memory is measured per epoch and path."""
    out: dict[str, dict[str, Any]] = {p: {"seconds": [], "steps": [], "memory": []} for p in paths}
    meter = PeakMemory(device)
    ref_run = ReferenceRun(ref, cfg, series, rows, args, device) if "reference" in paths else None

    def reference_epoch() -> None:
        meter.start()
        seconds, steps = ref_run.epoch()
        out["reference"]["memory"].append(meter.stop())
        out["reference"]["seconds"].append(seconds)
        out["reference"]["steps"].append(steps)

    if "optimized" in paths:
        train = TimedWindows(sets["train"], args.max_steps)

        def after_optimized_epoch(entry: dict[str, Any]) -> None:
            # fit's epoch time (its .item() calls have waited for CUDA) and, within it, the steps
            out["optimized"]["memory"].append(meter.stop())
            out["optimized"]["seconds"].append(entry["seconds"])
            out["optimized"]["steps"].append(train.step_seconds)
            if ref_run is not None:
                reference_epoch()
            meter.start()  # the next optimized epoch starts when this callback returns

        trainer = BiLevelTrainer(model, cfg.train, seed_everything(cfg.train.seed))
        meter.start()
        state = trainer.fit({**sets, "train": train}, report=after_optimized_epoch)
        out["optimized"]["val_mse"] = state.history[-1]["val_mse"]
    else:
        seed_everything(cfg.train.seed)
        for _ in range(cfg.train.epochs):
            reference_epoch()
    if ref_run is not None:
        out["reference"]["val_mse"] = ref_run.val_mse
    for result in out.values():
        result["seconds"] = result["seconds"][args.warmup :]
        result["steps"] = result["steps"][args.warmup :]
        result["memory"] = peak_of(result["memory"])  # over every epoch, warm-up included
    return out


def finish_path(trained: dict[str, Any], model: nn.Module, args: argparse.Namespace, device: torch.device,
                x1: Tensor, xb: Tensor) -> PathResult:
    """Add inference figures to a trained path's."""
    latency, n, thr, mem_inf = measure_inference(model, x1, xb, device, args.latency_calls, args.budget)
    return PathResult(trained["seconds"], trained["steps"], latency, n, thr, trained["memory"], mem_inf,
                      trained["val_mse"])


def measure_floor(model: DynoNet, ref: ReferenceDynoNet, x: Tensor, device: torch.device,
                  budget_s: float) -> dict[str, float]:
    """Seconds of the recurrences alone on one training batch x: (B, L, C), forward+backward
    (minimum over a few calls).

    - worker: `gru_recurrence` over all channels and layers, as the model runs it, and with
      each backend (fused, per-channel, block-diagonal);
    - worker_reference: the per-channel `nn.GRU` loop;
    - controller: the controller's GRU (after its patch embedding), forward+backward, and
      forward only without gradient (what the worker step runs).
    """
    cfg = model.cfg
    B, T, C, h = x.shape[0], cfg.worker_seq_len, cfg.n_channels, cfg.worker_hidden
    gen = torch.Generator(device=device).manual_seed(0)
    residual = torch.randn(T, C, B, 1, device=device, generator=gen).requires_grad_()  # (T, C, B, 1)
    w = model.workers

    def worker_fb(backend: str | None = None) -> None:
        inp = residual
        out = None
        for layer in range(cfg.worker_layers):
            last = layer == cfg.worker_layers - 1
            w_ih = w.w_ih[layer][..., :1] if layer == 0 else w.w_ih[layer]  # layer 0 reads 1 feature
            out = gru_recurrence(inp, w_ih, w.b_ih[layer], w.w_hh[layer], w.b_hh[layer], sequence=not last,
                                 backend=backend)
            inp = out
        out.sum().backward()

    seq = torch.randn(B, T, h, device=device, generator=gen).requires_grad_()  # (B, T, h) one channel's input

    def worker_reference_fb() -> None:
        total = 0
        for worker in ref.workers:
            inp = seq
            for gru in worker.grus:
                inp, last = gru(inp)
            total = total + last.sum()
        total.backward()

    ctrl = model.controller
    with torch.no_grad():
        mean, std, _ = model.revin.stats(x)
        xn = ctrl.steps((x - mean) / std)  # what the controller's GRU reads
    xn = xn.detach().requires_grad_(ctrl.embed is not None)

    def controller_fb() -> None:
        ctrl.recurrence(xn).sum().backward()

    def controller_fwd() -> None:
        with torch.no_grad():
            ctrl.recurrence(xn)

    # The minimum, not the median: a floor is the least-disturbed time, and on a shared CPU
    # a burst of other work can inflate a few calls many times over.
    result = {name: min(timed_calls(fn, device, 7, budget_s, min_calls=3))
              for name, fn in (("worker_fwd_bwd", worker_fb),
                               *((f"worker_{b.replace('-', '_')}_fwd_bwd", lambda b=b: worker_fb(b)) for b in BACKENDS),
                               ("worker_reference_fwd_bwd", worker_reference_fb),
                               ("controller_fwd_bwd", controller_fb), ("controller_fwd", controller_fwd))}
    model.zero_grad(set_to_none=True)
    ref.zero_grad(set_to_none=True)
    # a training step runs the worker recurrence forward+backward twice (worker step, and the
    # controller step, whose loss reaches FiLM/gates through the workers), the controller GRU
    # forward only (worker step, no gradient) and forward+backward (controller step)
    result["step_floor"] = 2 * result["worker_fwd_bwd"] + result["controller_fwd_bwd"] + result["controller_fwd"]
    return result


# =========================================================================================
# Command
# =========================================================================================
def bench_config(args: argparse.Namespace) -> RunConfig:
    """The preset with the config flags applied and the controller on (the published system), trained
    for exactly warm-up + measured epochs."""
    from dynonet.cli import config_from_args

    cfg = config_from_args(args)
    if getattr(args, "model.controller", None) is None:  # the full, bi-level system unless told otherwise
        cfg = cfg.replace(model={"controller": True})
    if cfg.model.model != "dynonet":
        raise ConfigError("bench speed measures the DynoNet model only (--model dynonet)")
    if not cfg.model.controller:
        raise ConfigError("bench speed needs the controller (the reference path is bi-level)")
    if cfg.train.controller_lr <= 0:
        raise ConfigError("bench speed needs --controller-lr > 0 (both levels are measured)")
    if getattr(args, "train.trend_first", None):
        raise ConfigError("bench speed times the bi-level epochs, which the reference path has too; "
                          "drop --trend-first (its first stage trains only the linear trend path)")
    for name, why in (("trend_fit", "it has no trend-first stage to fit"),
                      ("patience", "every epoch runs: --epochs and --warmup say how many"),
                      ("interval_levels", "it calibrates no prediction intervals")):
        if getattr(args, f"train.{name}", None) is not None:
            raise ConfigError(f"{flag(name)}: changes nothing in bench speed ({why}); drop it")
    if args.paths != "optimized" and (problem := unsupported(cfg.model, cfg.train)):
        raise ConfigError(problem)  # before the data is read and the header printed
    n = args.warmup + args.epochs
    # patience above the epoch count: every epoch runs, none is cut by early stopping (nor the
    # plateau schedule's back-off, which needs patience above its own); no trend-first stage,
    # whose epochs train only the linear trend path (the reference has none)
    patience = max(n, cfg.train.plateau_patience if cfg.train.schedule == "plateau" else 0) + 1
    return cfg.replace(train={"epochs": n, "patience": patience, "device": args.device, "trend_first": False})


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def cmd_speed(args: argparse.Namespace) -> int:
    """`dynonet bench speed`: measure both paths, print a table, optionally write JSON."""
    with use_backend(args.recurrence_backend):  # the optimized path's; the reference runs nn.GRU modules
        return _speed(args)


def _speed(args: argparse.Namespace) -> int:
    if args.json:
        check_writable(args.json)  # before minutes of measuring
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = bench_config(args)
    device = resolve_device(cfg.train.device)
    seed_everything(cfg.train.seed)
    m = cfg.model
    if args.channels:
        n_rows = cfg.data.max_rows or ETTH1_ROWS
        data = synthetic_data(args.channels, n_rows, m.lookback, m.horizon, cfg.train.seed)
    else:
        data = load(cfg)
    cfg = cfg.replace(model={"n_channels": data.n_channels})
    sets = window_sets(data, cfg, device)
    rows = {split: windows.rows for split, windows in sets.items()}
    series_cpu = torch.as_tensor(data.values)  # (T, C) the per-sample pipeline reads from here
    for split in ("train", "controller", "val"):  # both pipelines must see the same windows
        assert len(WindowDataset(series_cpu, rows[split], m.lookback, m.horizon)) == len(sets[split]), split

    model = DynoNet(cfg.model).to(device)
    ref = ReferenceDynoNet(model).to(device)  # copied before any training: same initial weights
    steps_full = math.ceil(len(sets["train"]) / cfg.train.batch_size)
    steps = min(steps_full, args.max_steps) if args.max_steps else steps_full
    # inference inputs: the first validation windows (repeated if there are fewer)
    x1 = sets["val"].get(torch.arange(1, device=device))[0]  # (1, L, C)
    xb = sets["val"].get(torch.arange(args.throughput_batch, device=device) % len(sets["val"]))[0]  # (N, L, C)

    # what the workers' recurrence runs on here (auto decides by device and channel count)
    backend = args.recurrence_backend
    if backend == "auto":
        backend = f"auto: {auto_backend(torch.empty(0, data.n_channels, 0, 1, device=device))}"
    header = (f"dynonet bench speed: preset {args.preset}, {data.source}, {data.n_channels} channels, "
              f"L={m.lookback}, H={m.horizon}, worker T={m.worker_seq_len}, batch {cfg.train.batch_size}, "
              f"controller patch {m.controller_patch_len}, recurrence backend {backend}")
    dev_name = device_name(device)
    if device.type == "cpu":
        from dynonet.runtime import keep_freed_memory

        # `dynonet` applies it at start (both paths share the process); say so with the figures
        dev_name += ", glibc keeps freed memory" if keep_freed_memory() else ", default allocator"
    plan = (f"epochs: {args.warmup} warm-up + {args.epochs} measured; {steps} of {steps_full} training steps "
            f"per epoch (worker + controller) + validation pass ({len(sets['val'])} windows)")
    load_before = load_average()
    print(header, dev_name + (f" (load average {load_before[0]:.2f} at start)" if load_before else ""), plan,
          sep="\n", flush=True)

    floor = None
    if args.floor:
        train_x = sets["train"].get(torch.arange(min(cfg.train.batch_size, len(sets["train"])), device=device))[0]
        floor = measure_floor(model, ref, train_x, device, args.budget)

    paths = ["optimized", "reference"] if args.paths == "both" else [args.paths]
    print(f"training {' and '.join(paths)} path{'s, epochs interleaved' if len(paths) > 1 else ''} ...", flush=True)
    trained = train_paths(model, ref, cfg, sets, series_cpu, rows, args, device, paths)
    results: dict[str, PathResult] = {}
    if "optimized" in trained:
        results["optimized"] = finish_path(trained["optimized"], model, args, device, x1, xb)
    if "reference" in trained:
        results["reference"] = finish_path(trained["reference"], ref, args, device, x1, xb)

    report = build_report(args, cfg, data, dev_name, steps, steps_full, results, floor, len(sets["val"]))
    report["load_average"] = {"start": load_before, "end": load_average()}
    report["recurrence_backend"] = backend
    print(format_report(report), flush=True)
    if args.json:
        atomic_write(args.json, json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def build_report(args: argparse.Namespace, cfg: RunConfig, data: SeriesData, dev_name: str, steps: int,
                 steps_full: int, results: dict[str, PathResult], floor: dict[str, float] | None,
                 n_val: int) -> dict[str, Any]:
    """Everything measured, JSON-ready."""
    def per_path(get: Callable[[PathResult], Any]) -> dict[str, Any]:
        return {name: get(r) for name, r in results.items()}

    epoch = per_path(lambda r: r.median_epoch)
    both = "optimized" in results and "reference" in results
    truncated = steps < steps_full
    report: dict[str, Any] = {
        "device": dev_name,
        "preset": args.preset,
        "data": {"source": data.source, "channels": data.n_channels, "synthetic": bool(args.channels),
                 "val_windows": n_val},
        "config": cfg.to_dict(),
        "epochs": {"warmup": args.warmup, "measured": args.epochs},
        "steps_per_epoch": steps,
        "steps_per_full_epoch": steps_full,
        "truncated_epochs": truncated,
        "epoch_seconds": epoch,
        "epoch_seconds_all": per_path(lambda r: r.epoch_seconds),
        "speedup": epoch["reference"] / epoch["optimized"] if both else None,
        "training_step_seconds": per_path(lambda r: r.median_steps),  # part of epoch_seconds
        "validation_seconds": per_path(lambda r: r.median_rest),  # the rest: validation pass, bookkeeping
        "latency_ms_batch1": per_path(lambda r: r.latency_ms),
        "latency_calls": per_path(lambda r: r.latency_calls),
        "throughput_batch": args.throughput_batch,
        "throughput_windows_per_s": per_path(lambda r: r.throughput),
        "peak_memory_mib": per_path(lambda r: {"train": r.memory_train["peak_mib"],
                                               "inference": r.memory_inference["peak_mib"]}),
        "memory": per_path(lambda r: {"train": r.memory_train, "inference": r.memory_inference}),
        "final_val_mse": per_path(lambda r: r.final_val_mse),
    }
    if truncated:
        # labelled estimate: the measured training part scaled to a full epoch, plus one validation pass
        report["epoch_seconds_extrapolated_full"] = per_path(
            lambda r: r.median_steps * steps_full / steps + r.median_rest
        )
    if floor is not None:
        floor = dict(floor)
        floor["epoch_floor_training_steps"] = floor["step_floor"] * steps
        report["floor_seconds"] = floor
    return report


def format_report(r: dict[str, Any]) -> str:
    """Human-readable table of a `build_report` dict."""
    paths = list(r["epoch_seconds"])
    mem_kind = next(iter(r["memory"].values()))["train"]["kind"] if r["memory"] else "-"
    rows: list[tuple[str, Callable[[str], float | None], str, bool]] = [
        ("epoch seconds (median)", lambda p: r["epoch_seconds"][p], ".2f", False),
        ("  of which training steps", lambda p: r["training_step_seconds"][p], ".2f", False),
        ("  of which validation and bookkeeping", lambda p: r["validation_seconds"][p], ".2f", False),
        ("latency batch 1 (ms, median)", lambda p: r["latency_ms_batch1"][p], ".2f", False),
        (f"throughput batch {r['throughput_batch']} (windows/s)", lambda p: r["throughput_windows_per_s"][p],
         ".0f", True),
        (f"peak train memory (MiB, {mem_kind})", lambda p: r["memory"][p]["train"]["peak_mib"], ".0f", False),
        ("  increase during training (MiB)", lambda p: r["memory"][p]["train"]["increase_mib"], ".0f", False),
        (f"peak inference memory (MiB, {mem_kind})", lambda p: r["memory"][p]["inference"]["peak_mib"], ".0f",
         False),
    ]
    if "epoch_seconds_extrapolated_full" in r:
        rows.insert(3, (f"epoch EXTRAPOLATED to {r['steps_per_full_epoch']} steps (estimate)", lambda p:
                        r["epoch_seconds_extrapolated_full"][p], ".2f", False))
    width = 44
    lines = [f"{'':<{width}}" + "".join(f"{p:>12}" for p in paths)
             + ("   ratio" if len(paths) == 2 else "")]
    for label, get, spec, higher_better in rows:
        vals = [get(p) for p in paths]
        line = f"{label:<{width}}" + "".join(f"{_fmt(v, spec):>12}" for v in vals)
        if len(paths) == 2 and all(vals):
            opt, ref = vals
            ratio = opt / ref if higher_better else ref / opt
            line += f"   {ratio:.2f}x" + (" (opt/ref)" if higher_better else " (ref/opt)")
        lines.append(line)
    if r["truncated_epochs"]:
        lines.append(f"note: epochs cut to {r['steps_per_epoch']} of {r['steps_per_full_epoch']} training steps "
                     "(--max-steps); 'epoch seconds' are those truncated epochs")
    if r["speedup"] is not None:
        lines.append(f"speedup (reference epoch s / optimized epoch s): {r['speedup']:.2f}x")
    if "floor_seconds" in r:
        f = r["floor_seconds"]
        lines += [
            "recurrence floor (one training batch, fastest of a few calls):",
            f"  worker GRU recurrence fwd+bwd (as run)       {f['worker_fwd_bwd']:.3f} s",
            *(f"    with the {b + ' backend':<34}{f[key]:.3f} s" for b in BACKENDS
              if (key := f"worker_{b.replace('-', '_')}_fwd_bwd") in f),  # (JSON of older versions: fewer)
            f"  worker nn.GRU loop over channels fwd+bwd     {f['worker_reference_fwd_bwd']:.3f} s",
            f"  controller GRU fwd+bwd                       {f['controller_fwd_bwd']:.3f} s",
            f"  controller GRU fwd (no grad)                 {f['controller_fwd']:.3f} s",
            f"  per step (2 x worker + ctrl fwd+bwd + fwd)   {f['step_floor']:.3f} s",
            f"  x {r['steps_per_epoch']} steps = {f['epoch_floor_training_steps']:.2f} s per epoch"
            + (f" ({f['epoch_floor_training_steps'] / r['training_step_seconds']['optimized']:.0%} of the optimized "
               "epoch's training steps)"
               if "optimized" in r["epoch_seconds"] else ""),
        ]
    return "\n".join(lines)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `bench speed` to the CLI's subcommands (`dynonet bench speed --help`)."""
    from dynonet.cli import DefaultsHelp, add_config_flags, at_least, path_arg

    bench = subparsers.add_parser("bench", help="measure speed and memory")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True)
    # conflict_handler="resolve": the bench's own --epochs and --device below replace the
    # config flags of the same name (max epochs, device) that add_config_flags defines.
    speed = bench_sub.add_parser(
        "speed", conflict_handler="resolve", formatter_class=DefaultsHelp,
        help="epoch time, latency, throughput and memory: optimized vs reference path",
        description="Measure the project's training path (BiLevelTrainer, batches cut on the device, "
                    "vectorized workers) against a plain reference path (per-channel nn.GRU, per-sample DataLoader, full "
                    "backward) in one process: epoch time, batch-1 latency, throughput, peak memory.",
    )
    # refused by bench_config (DynoNet only; no trend-first stage; every epoch runs): parsed for that, not shown
    add_config_flags(speed, "etth1-96", hidden={"model.model", "train.trend_first", "train.trend_fit",
                                                "train.patience", "train.interval_levels"})
    speed.add_argument("--preset", default="etth1-96", choices=sorted(PRESETS), help="named configuration")
    speed.add_argument("--device", default="auto", choices=DEVICES, help="compute device")
    speed.add_argument("--epochs", type=at_least(1), default=3, help="measured epochs (median reported)")
    speed.add_argument("--warmup", type=at_least(0), default=1, help="untimed warm-up epochs before the measured ones")
    speed.add_argument("--json", type=path_arg, default=None, help="also write the figures to this JSON file")
    speed.add_argument("--channels", type=at_least(1), default=None,
                       help="replace the data with N synthetic random-walk channels (ETTh1's length)")
    speed.add_argument("--max-steps", type=at_least(1), default=None,
                       help="cut both paths' epochs to N training steps (unset: full epochs); the "
                            "validation pass stays whole and a full-epoch extrapolation is labelled")
    speed.add_argument("--floor", action="store_true", help="also time the recurrences alone")
    speed.add_argument("--paths", default="both", choices=("both", "optimized", "reference"),
                       help="which paths to measure")
    speed.add_argument("--latency-calls", type=at_least(1), default=100, help="timed batch-1 calls (at most)")
    speed.add_argument("--throughput-batch", type=at_least(1), default=1024, help="windows per throughput call")
    speed.add_argument("--budget", type=at_least(0.001, float), default=10.0,
                       help="seconds after which latency/throughput/floor timing loops stop early")
    speed.add_argument("--loader-workers", type=at_least(0), default=0, help="DataLoader processes of the reference path")
    speed.add_argument("--threads", type=at_least(1), default=None, help="torch CPU threads (unset: torch's choice)")
    speed.add_argument("--recurrence-backend", default="auto", choices=("auto", *BACKENDS),
                       help="the GRU recurrence of the optimized path: the workers', and on a CPU the "
                            "controller's too (auto: one block-diagonal cuDNN call on a GPU at up to 64 channels, "
                            "the fused loop otherwise)")
    speed.set_defaults(func=cmd_speed)
