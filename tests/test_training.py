import copy
import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dynonet import training
from dynonet.data import load, window_sets
from dynonet.errors import ConfigError
from dynonet.registry import MODELS, build_model
from dynonet.runtime import seed_everything
from dynonet.training import BiLevelTrainer

from conftest import small_model_cfg, small_run_cfg


def setup(model_name="dynonet", **train):
    cfg = small_run_cfg(**train)
    cfg = cfg.replace(model={"model": model_name})
    gen = seed_everything(cfg.train.seed)
    data = load(cfg)
    cfg = cfg.replace(model={"n_channels": data.n_channels})
    model = build_model(cfg.model, data.freq)
    return cfg, model, window_sets(data, cfg, torch.device("cpu")), gen


def snapshot(params):
    return [p.detach().clone() for p in params]


def changed(before, params):
    return [not torch.equal(b, p) for b, p in zip(before, params)]


def test_optimizers_partition_the_parameters():
    cfg, model, sets, gen = setup()
    t = BiLevelTrainer(model, cfg.train, gen)
    w = {id(p) for g in t.worker_opt.param_groups for p in g["params"]}
    c = {id(p) for g in t.controller_opt.param_groups for p in g["params"]}
    assert not (w & c) and (w | c) == {id(p) for p in model.parameters()}
    assert {id(p) for p in model.revin.parameters()} <= w  # RevIN's affine is trained
    assert c == {id(p) for p in model.controller.parameters()}


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")  # (the steps are stand-ins)
@pytest.mark.parametrize("mode", ["val", "holdout"])
def test_the_controller_steps_on_its_own_split_each_window_once_before_any_again(mode, monkeypatch):
    """Every controller step takes a batch of the controller split (validation, or the holdout
    of the training period, never validation then): a cursor over a shuffled order of its
    windows that runs on across epochs and draws a new order once too few are left."""
    cfg = small_run_cfg(controller_data=mode, batch_size=8).replace(model={"model": "dynonet"})
    gen = seed_everything(cfg.train.seed)
    data = load(cfg)
    data.values = np.arange(len(data.values), dtype=np.float32)[:, None].repeat(data.n_channels, 1)  # rows marked
    cfg = cfg.replace(model={"n_channels": data.n_channels})
    sets = window_sets(data, cfg, torch.device("cpu"))
    t = BiLevelTrainer(build_model(cfg.model, data.freq), cfg.train, gen)
    seen = []  # the first target row of each controller window, batch by batch
    monkeypatch.setattr(t, "worker_step", lambda x, y: (torch.zeros(()), {}))
    monkeypatch.setattr(t, "controller_step", lambda x, y: seen.append(y[:, 0, 0].tolist()) or torch.zeros(()))
    first_rows = lambda name: {int(r) for r in sets[name].get(torch.arange(len(sets[name])))[1][:, 0, 0]}  # noqa: E731
    split, val = first_rows("controller"), first_rows("val")
    assert (split == val) == (mode == "val") and (split.isdisjoint(val)) == (mode == "holdout")
    if mode == "holdout":  # the end of the training period, after every worker window's targets
        assert max(split) < min(val) and min(split) > max(first_rows("train"))
    t._epoch(0, "full", sets, None)
    t._epoch(1, "full", sets, None)
    per_order = len(split) // 8  # batches drawn from one order before a new one
    assert len(seen) > 3 * per_order > 0 and all(len(batch) == 8 for batch in seen)
    orders = [sum(seen[i : i + per_order], []) for i in range(0, len(seen) - per_order + 1, per_order)]
    assert all(len(set(rows)) == len(rows) and set(rows) <= split for rows in orders)  # no window twice per order
    assert len({tuple(rows) for rows in orders}) == len(orders)  # a new order each time
    assert set(sum(seen, [])) == split  # every window of the split is reached


def test_each_level_steps_only_its_own_parameters():
    cfg, model, sets, gen = setup()
    t = BiLevelTrainer(model, cfg.train, gen)
    x, y = sets["train"].get(torch.arange(16))
    ctrl, work = model.controller_parameters(), model.worker_parameters()
    before_c, before_w = snapshot(ctrl), snapshot(work)
    t.worker_step(x, y)
    assert not any(changed(before_c, ctrl)) and all(p.grad is None for p in ctrl)
    assert all(changed(before_w, work))  # every worker-side parameter moved
    before_c, before_w = snapshot(ctrl), snapshot(work)
    cx, cy = sets["controller"].get(torch.arange(16))
    t.controller_step(cx, cy)
    assert not any(changed(before_w, work))
    assert any(changed(before_c, ctrl))


def test_every_signal_head_receives_a_learning_signal():
    cfg, model, sets, gen = setup()
    t = BiLevelTrainer(model, cfg.train, gen)
    heads = {"film": model.controller.film, "dropout": model.controller.dropout,
             "lr_scale": model.controller.lr_scale, "gate": model.controller.gate,
             "context": model.controller.context}
    seen = {k: 0.0 for k in heads}
    for i in range(3):  # the lr-scale hypergradient arrives one step later
        x, y = sets["train"].get(torch.arange(16 * i, 16 * i + 16))
        t.worker_step(x, y)
        cx, cy = sets["controller"].get(torch.arange(16 * i, 16 * i + 16))
        t.controller_step(cx, cy)
        for k, head in heads.items():
            g = head.weight.grad
            seen[k] += 0.0 if g is None else g.abs().sum().item()
    assert all(v > 0 for v in seen.values()), seen


@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_every_optimizer_step_trains_on_the_configured_loss(loss):
    cfg, model, sets, gen = setup(loss=loss, trend_first=True)
    t = BiLevelTrainer(model, cfg.train, gen)
    x, y = sets["train"].get(torch.arange(16))
    cx, cy = sets["controller"].get(torch.arange(16))
    want = {"mse": F.mse_loss, "mae": F.l1_loss, "huber": F.huber_loss}[loss]  # written out, not the trainer's table

    def expected(forward, x, y):  # the same dropout draws as the step's forward pass
        torch.manual_seed(1)
        with torch.no_grad():
            value = want(forward(x), y)
        torch.manual_seed(1)
        return value

    value = expected(t.trend, x, y)
    assert torch.allclose(t.trend_step(x, y)[0], value)
    value = expected(model, x, y)
    assert torch.allclose(t.worker_step(x, y)[0], value)
    value = expected(model, cx, cy)
    assert torch.allclose(t.controller_step(cx, cy), value)


def test_the_loss_changes_the_updates_and_an_unknown_one_is_refused():
    moved = {}
    for loss in ("mse", "mae"):
        cfg, model, sets, gen = setup(loss=loss)
        t = BiLevelTrainer(model, cfg.train, gen)
        t.worker_step(*sets["train"].get(torch.arange(16)))
        moved[loss] = torch.cat([p.detach().flatten() for p in model.worker_parameters()])
    assert not torch.allclose(moved["mse"], moved["mae"])
    with pytest.raises(ConfigError, match="loss"):
        small_run_cfg(loss="rmse")


def test_lr_scale_scales_each_channels_update():
    cfg, model, sets, gen = setup()
    t = BiLevelTrainer(model, cfg.train, gen)
    torch.nn.init.normal_(model.controller.lr_scale.weight, std=2.0)  # different scales per channel
    x, y = sets["train"].get(torch.arange(16))
    ref = copy.deepcopy(model)
    ref_opt = torch.optim.AdamW(ref.worker_parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    with torch.no_grad():
        scale = model.signals(x).lr_scale.mean(0)
    assert scale.std() > 0.01
    before = ref.workers.head_bias.detach().clone()
    torch.nn.functional.mse_loss(ref(x, ref.signals(x)), y).backward()
    ref_opt.step()
    t.worker_step(x, y)
    expected = before + scale[:, None] * (ref.workers.head_bias.detach() - before)
    assert torch.allclose(model.workers.head_bias.detach(), expected, atol=1e-6)


def test_frozen_controller_stays_at_initialization():
    cfg, model, sets, gen = setup(controller_lr=0.0, epochs=1)
    before = snapshot(model.controller_parameters())
    BiLevelTrainer(model, cfg.train, gen).fit(sets)
    assert not any(changed(before, model.controller_parameters()))


@pytest.mark.parametrize("controller", [True, False])
def test_history_reports_signals_only_when_a_controller_makes_them(controller):
    cfg, _, sets, gen = setup(epochs=1)
    model = build_model(dataclasses.replace(cfg.model, controller=controller))
    (entry,) = BiLevelTrainer(model, cfg.train, gen).fit(sets).history
    assert (set(entry["signals"]) == {"gamma", "beta_abs", "dropout", "lr_scale", "gate"}) is controller
    assert bool(entry["signals"]) is controller


def test_the_reported_training_loss_is_the_mean_over_windows_with_a_partial_last_batch():
    # at a learning rate of 1e-12 the model barely moves: the epoch's loss is its MSE on the
    # training windows, each window counted once
    cfg, model, sets, gen = setup("linear", epochs=1, lr=1e-12, batch_size=50, trend_first=False)
    assert len(sets["train"]) % 50  # the last batch is smaller than the others
    (entry,) = BiLevelTrainer(model, cfg.train, gen).fit(sets).history
    assert entry["train_loss"] == pytest.approx(training.evaluate(model, sets["train"], 64)["mse"], rel=1e-6)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fit_runs_for_every_registered_model(name):
    cfg, model, sets, gen = setup(name, epochs=1)
    state = BiLevelTrainer(model, cfg.train, gen).fit(sets)
    assert len(state.history) == (1 if list(model.parameters()) else 0)


TRAINED = [n for n in sorted(MODELS) if list(build_model(small_model_cfg(model=n)).parameters())]  # not `repeat`


@pytest.mark.parametrize("name, stage", [*((n, "full") for n in TRAINED), ("dynonet", "trend")])
def test_a_batch_split_into_passes_gets_the_gradients_and_loss_of_one_pass(name, stage):
    """`pass_sequences` bounds the windows x series of one forward and backward pass; the
    passes' gradients add up to the batch's (dropout off, so that both draw no masks). A
    model that normalizes over its batch (BatchNorm) is never split: its statistics would be
    each pass's own."""
    results = []
    for pass_sequences in (10**6, 5 * 7):  # one pass; passes of 5 windows of the 7 series: 5, 5, 5, 1
        cfg, model, sets, gen = setup(name, pass_sequences=pass_sequences, trend_first=stage == "trend")
        passes = BiLevelTrainer(model, cfg.train, gen)._passes(torch.zeros(16, 1, 7))
        assert len(passes) == (1 if pass_sequences > 16 * 7 or name == "patchtst" else 4)
        model.eval()
        trainer = BiLevelTrainer(model, cfg.train, gen)
        x, y = sets["train"].get(torch.arange(16))
        loss, _ = (trainer.trend_step if stage == "trend" else trainer.worker_step)(x, y)
        params = trainer.trend_params if stage == "trend" else list(model.worker_parameters())
        results.append((loss, [p.grad for p in params]))
    (one, one_grads), (split, split_grads) = results
    assert split.item() == pytest.approx(one.item(), rel=1e-6)
    assert sum(g is not None for g in one_grads) > 0
    for a, b in zip(one_grads, split_grads):
        assert (a is None) == (b is None) and (a is None or torch.allclose(a, b, rtol=1e-4, atol=1e-7))


def test_the_controllers_steps_split_into_passes_get_the_gradients_and_hypergradient_of_one_pass():
    results = []
    for pass_sequences in (10**6, 5 * 7):
        cfg, model, sets, gen = setup(pass_sequences=pass_sequences)
        model.eval()  # no dropout masks
        trainer = BiLevelTrainer(model, cfg.train, gen)
        assert trainer.scales_updates  # the lr scale on: the hypergradient too
        seen = []
        for step in range(2):  # the second controller step carries the first one's hypergradient
            trainer.worker_step(*sets["train"].get(torch.arange(16 * step, 16 * step + 16)))
            loss = trainer.controller_step(*sets["controller"].get(torch.arange(16)))
            seen.append((loss, [p.grad for p in model.controller_parameters()], trainer.hyper.clone()))
        results.append(seen)
    for (one_loss, one_grads, one_hyper), (loss, grads, hyper) in zip(*results):
        assert loss.item() == pytest.approx(one_loss.item(), rel=1e-6)
        assert torch.allclose(hyper, one_hyper, rtol=1e-3, atol=1e-9)
        assert sum(g is not None for g in one_grads) > 0
        for a, b in zip(one_grads, grads):
            assert (a is None) == (b is None) and (a is None or torch.allclose(a, b, rtol=1e-3, atol=1e-7))


def test_early_stopping_restores_the_best_epoch(monkeypatch):
    cfg, model, sets, gen = setup(epochs=10, patience=2)
    scores = iter([1.0, 0.5, 0.7, 0.8, 0.1])
    weights = {}

    def fake_evaluate(m, windows, batch_size, *a, **k):
        return {"mse": next(scores), "mae": 0.0}

    monkeypatch.setattr(training, "evaluate", fake_evaluate)
    state = BiLevelTrainer(model, cfg.train, gen).fit(
        sets, report=lambda e: weights.__setitem__(e["epoch"], copy.deepcopy(model.state_dict())))
    assert [h["epoch"] for h in state.history] == [1, 2, 3, 4]  # stopped after 2 epochs without a new best
    assert state.best_epoch == 2
    for k, v in model.state_dict().items():
        assert torch.equal(v, weights[2][k]), k
    assert not torch.equal(weights[2]["trend.linear.weight"], weights[4]["trend.linear.weight"])


def test_plateau_schedule_returns_to_the_best_weights_at_a_lower_lr(monkeypatch):
    cfg, model, sets, gen = setup(model_name="linear", epochs=7, patience=10, schedule="plateau",
                                  plateau_patience=2, plateau_factor=0.25, min_lr_ratio=0.1)
    scores = iter([1.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99])
    after = {}
    monkeypatch.setattr(training, "evaluate", lambda *a, **k: {"mse": next(scores), "mae": 0.0})
    state = BiLevelTrainer(model, cfg.train, gen).fit(
        sets, report=lambda e: after.__setitem__(e["epoch"], copy.deepcopy(model.state_dict())))
    lr = cfg.train.lr
    # 2 epochs without a new best (3, 4): back to epoch 2's weights, lr x 0.25; again after 6,
    # where 0.25 x 0.25 would fall below the floor of 0.1 x lr
    assert [h["lr"] for h in state.history] == pytest.approx([lr] * 4 + [lr / 4] * 2 + [lr / 10])
    for epoch in (4, 6):
        assert all(torch.equal(v, after[2][k]) for k, v in after[epoch].items())
    assert any(not torch.equal(v, after[2][k]) for k, v in after[3].items())


def test_restarts_schedule_restarts_the_lr_after_each_cycle():
    cfg, model, sets, gen = setup(model_name="linear", epochs=8, patience=100, schedule="restarts",
                                  restart_epochs=2)
    lrs = [h["lr"] for h in BiLevelTrainer(model, cfg.train, gen).fit(sets).history]
    lr = cfg.train.lr
    # cycles of 2, then 4 epochs: each starts at the full lr and decays within
    assert [e for e, v in enumerate(lrs, 1) if v == pytest.approx(lr)] == [1, 3, 7]
    assert lrs[3] < lrs[2] and lrs[4] < lrs[3]


def test_exponential_schedule_holds_then_decays_each_epoch_to_the_floor():
    cfg, model, sets, gen = setup(model_name="linear", epochs=8, patience=100, schedule="exponential",
                                  hold_epochs=2, lr_decay=0.5, min_lr_ratio=0.1)
    lrs = [h["lr"] for h in BiLevelTrainer(model, cfg.train, gen).fit(sets).history]
    assert lrs == pytest.approx([cfg.train.lr * f for f in (1, 1, 0.5, 0.25, 0.125, 0.1, 0.1, 0.1)])


def test_weight_average_is_what_validation_scores_and_the_run_keeps(monkeypatch):
    decay = 0.5
    cfg, model, sets, gen = setup(model_name="linear", epochs=2, patience=10, ema_decay=decay)
    trainer = BiLevelTrainer(model, cfg.train, gen)
    live, scored = [], []
    step = trainer.worker_step

    def recording_step(x, y):
        out = step(x, y)
        live.append(copy.deepcopy(model.state_dict()))
        return out

    def recording_evaluate(m, *a, **k):
        scored.append(copy.deepcopy(m.state_dict()))
        return {"mse": [0.5, 0.7][len(scored) - 1], "mae": 0.0}  # epoch 1 stays the best

    monkeypatch.setattr(trainer, "worker_step", recording_step)
    monkeypatch.setattr(training, "evaluate", recording_evaluate)
    trainer.fit(sets)
    steps_per_epoch = len(live) // 2
    assert steps_per_epoch > 1
    average = live[0]
    for i, weights in enumerate(live[1:], 2):
        average = {k: decay * average[k] + (1 - decay) * weights[k] for k in average}
        if i == steps_per_epoch:
            expected = average  # the average at the end of epoch 1
    for k, v in model.state_dict().items():
        assert torch.allclose(v, expected[k], atol=1e-6), k
        assert torch.allclose(scored[0][k], expected[k], atol=1e-6), k
    assert any(not torch.allclose(v, live[steps_per_epoch - 1][k]) for k, v in expected.items())


def test_weight_average_starts_again_when_the_full_stage_begins(monkeypatch):
    cfg, model, sets, gen = setup(epochs=3, patience=10, trend_first=True, ema_decay=0.9)
    trainer = BiLevelTrainer(model, cfg.train, gen)
    scores = iter([0.5, 0.7, 0.8, 0.4, 0.45, 0.46])  # trend stage: epoch 1 best; full stage: epoch 4
    monkeypatch.setattr(training, "evaluate", lambda *a, **k: {"mse": next(scores), "mae": 0.0})
    averages = {}
    trainer.fit(sets, report=lambda e: averages.__setitem__(e["epoch"], copy.deepcopy(trainer.ema.module.state_dict())))
    trend = [k for k in averages[1] if k.startswith(("trend.", "revin."))]
    assert trend and all(torch.equal(model.state_dict()[k], averages[1][k]) for k in trend)  # frozen as fitted
    assert any(not torch.equal(averages[3][k], averages[1][k]) for k in trend)  # the average had moved on
    assert all(torch.equal(v, averages[4][k]) for k, v in model.state_dict().items())


def test_plateau_back_off_restarts_the_weight_average(monkeypatch):
    cfg, model, sets, gen = setup(model_name="linear", epochs=5, patience=10, schedule="plateau",
                                  plateau_patience=2, ema_decay=0.9)
    trainer = BiLevelTrainer(model, cfg.train, gen)
    scores = iter([0.5, 0.7, 0.8, 0.9, 0.95])  # back off after epoch 3
    monkeypatch.setattr(training, "evaluate", lambda *a, **k: {"mse": next(scores), "mae": 0.0})
    averaged = {}
    trainer.fit(sets, report=lambda e: averaged.__setitem__(e["epoch"], int(trainer.ema.n_averaged)))
    steps = averaged[1]
    assert averaged[2] == 2 * steps and averaged[3] == 0 and averaged[4] == steps


def test_a_saved_state_of_another_schedule_is_refused_before_anything_loads():
    cfg, model, sets, gen = setup(model_name="linear", epochs=1)
    trainer = BiLevelTrainer(model, cfg.train, gen)
    saved = trainer.state_dict(1, trainer.fit(sets))
    for changes in ({"schedule": "restarts"}, {"ema_decay": 0.5}):
        cfg, model, sets, gen = setup(model_name="linear", epochs=1, **changes)
        before = copy.deepcopy(model.state_dict())
        with pytest.raises(ConfigError):
            BiLevelTrainer(model, cfg.train, gen).load_state_dict(saved)
        assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_same_seed_same_numbers():
    runs = []
    for _ in range(2):
        cfg, model, sets, gen = setup(epochs=1)
        state = BiLevelTrainer(model, cfg.train, gen).fit(sets)
        runs.append((state.history[0]["val_mse"], model.state_dict()))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(runs[0][1][k], runs[1][1][k]) for k in runs[0][1])


def test_trend_first_trains_the_trend_path_alone_then_freezes_it():
    cfg, model, sets, gen = setup(epochs=2, patience=5, trend_first=True)
    t = BiLevelTrainer(model, cfg.train, gen)
    trend = {id(p) for p in model.trend_path().parameters()}
    opts = [{id(p) for g in o.param_groups for p in g["params"]} for o in (t.trend_opt, t.worker_opt, t.controller_opt)]
    assert opts[0] == trend and not (opts[0] & opts[1]) and not (opts[1] & opts[2])
    assert opts[0] | opts[1] | opts[2] == {id(p) for p in model.parameters()}

    trend_params = [p for p in model.parameters() if id(p) in trend]
    others = [p for p in model.parameters() if id(p) not in trend]
    seen = {}

    def report(entry):
        seen[entry["epoch"]] = (entry["stage"], snapshot(trend_params), snapshot(others))

    init_others = snapshot(others)
    state = t.fit(sets, report=report)
    assert [seen[e][0] for e in sorted(seen)] == ["trend", "trend", "full", "full"]
    assert all(changed(seen[1][1], seen[2][1]))  # the trend path learns in its stage ...
    assert not any(changed(init_others, seen[2][2]))  # ... alone, from the start
    assert not any(changed(seen[3][1], seen[4][1]))  # then it is frozen
    assert any(changed(seen[3][2], seen[4][2]))  # and the rest learns
    assert all(p.requires_grad for p in model.parameters())  # handed back as an ordinary module
    assert len(state.history) == 4


def test_trend_first_never_ends_worse_than_the_fitted_trend_path(monkeypatch):
    cfg, model, sets, gen = setup(epochs=10, patience=2, trend_first=True)
    # trend stage: 1.0, 0.5, 0.6, 0.7 (stops, best 0.5 at epoch 2); full stage: only worse
    scores = iter([1.0, 0.5, 0.6, 0.7, 0.55, 0.9])
    monkeypatch.setattr(training, "evaluate", lambda m, w, b, *a, **k: {"mse": next(scores), "mae": 0.0})
    weights = {}
    state = BiLevelTrainer(model, cfg.train, gen).fit(
        sets, report=lambda e: weights.__setitem__(e["epoch"], copy.deepcopy(model.state_dict())))
    assert [h["stage"] for h in state.history] == ["trend"] * 4 + ["full"] * 2
    assert state.best_epoch == 2 and state.best_val == 0.5
    path = model.trend_path()
    for name, value in path.state_dict().items():  # the trend path of epoch 2 (same names as in the model) ...
        assert torch.equal(value, weights[2][name]), name
    x, _ = sets["val"].get(torch.arange(8))
    model.eval()
    with torch.no_grad():  # ... and nothing else: the restored model forecasts as that path
        assert torch.equal(model(x), path(x))


def test_trend_first_changes_nothing_for_a_model_without_a_trend_path():
    runs = []
    for trend_first in (False, True):
        cfg, model, sets, gen = setup("dlinear", epochs=2, trend_first=trend_first)
        t = BiLevelTrainer(model, cfg.train, gen)
        assert t.trend_opt is None
        state = t.fit(sets)
        runs.append(([h["val_mse"] for h in state.history], [h["stage"] for h in state.history]))
    assert runs[0] == runs[1] and runs[0][1] == ["full", "full"]


def test_trend_first_trains_the_linear_baseline_as_plain_training_does():
    """RevIN + Linear is its own trend path: trend-first fits it in the trend stage and has
    nothing left for a second one; the numbers are those of plain training."""
    runs = []
    for trend_first in (False, True):
        cfg, model, sets, gen = setup("linear", epochs=2, trend_first=trend_first)
        state = BiLevelTrainer(model, cfg.train, gen).fit(sets)
        runs.append(([h["val_mse"] for h in state.history], [h["stage"] for h in state.history], model.state_dict()))
    assert runs[0][0] == runs[1][0]
    assert runs[0][1] == ["full", "full"] and runs[1][1] == ["trend", "trend"]
    assert all(torch.equal(runs[0][2][k], runs[1][2][k]) for k in runs[0][2])


@pytest.mark.parametrize("model_name", ["dynonet", "linear"])
def test_ridge_trend_fit_is_epoch_zero_then_the_workers_train_from_it(model_name):
    cfg, model, sets, gen = setup(model_name, epochs=2, patience=5, trend_first=True, trend_fit="ridge")
    path = model.trend_path()
    fitted = {}

    def report(entry):
        if entry["epoch"] == 0:
            fitted.update({k: v.clone() for k, v in path.state_dict().items()})
    trainer = BiLevelTrainer(model, cfg.train, gen)
    assert trainer.trend_opt is None  # the fit needs no optimizer
    state = trainer.fit(sets, report=report)
    first = state.history[0]
    # the fitted path stays as fitted: frozen through the workers' stage, whichever epoch is kept
    assert fitted and all(torch.equal(v, path.state_dict()[k]) for k, v in fitted.items())
    assert first["epoch"] == 0 and first["stage"] == "trend" and first["fit"] == "ridge"
    assert first["val_mse"] == min(first["val_mse_by_penalty"].values())
    stages = [h["stage"] for h in state.history]
    assert stages == (["trend", "full", "full"] if model_name == "dynonet" else ["trend"])
    assert state.best_val == min(h["val_mse"] for h in state.history)
    if state.best_epoch == 0:  # the workers never improved on it: the model is the fitted path
        x, _ = sets["val"].get(torch.arange(8))
        model.eval()
        with torch.no_grad():
            assert torch.allclose(model(x), path(x), atol=1e-6)


def test_a_training_state_of_another_format_is_refused_not_translated():
    cfg, model, sets, gen = setup(epochs=2)
    t = BiLevelTrainer(model, cfg.train, gen)
    saved = t.state_dict(2, t.fit(sets))
    del saved["format"], saved["stage"], saved["trend_stage"]  # what earlier versions wrote
    cfg, model, sets, gen = setup(epochs=3)
    with pytest.raises(ConfigError, match=r"^the saved training state was written by another version of dynonet; "
                                          r"start the run again, without --resume \(with --overwrite\)$"):
        BiLevelTrainer(model, cfg.train, gen).load_state_dict(saved)


def test_diverged_training_is_a_one_line_error_and_leaves_no_run_folder(tmp_path, capsys):
    from dynonet.cli import main
    from test_cli import SMALL

    out = tmp_path / "run"
    assert main(["train", *SMALL, "--lr", "1e30", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "diverged" in err and err.count("\n") == 1
    assert not out.exists()  # nothing to resume, no half-written run
    # over a finished run (--overwrite): its files go when the new run starts, not left to pass
    # for the failed run's
    assert main(["train", *SMALL, "--out", str(out), "--quiet"]) == 0
    (out / "notes.txt").write_text("mine")
    assert main(["train", *SMALL, "--lr", "1e30", "--out", str(out), "--quiet", "--overwrite"]) == 2
    assert "diverged" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_a_run_diverging_after_saved_epochs_leaves_nothing_that_blocks_the_retry(tmp_path, capsys, monkeypatch):
    from dynonet.cli import main
    from test_cli import SMALL

    real = BiLevelTrainer._epoch

    def epoch(self, n, stage, sets, progress):  # the third epoch's loss is no longer finite
        entry = real(self, n, stage, sets, progress)
        return {**entry, "train_loss": float("nan")} if n == 3 else entry

    monkeypatch.setattr(BiLevelTrainer, "_epoch", epoch)
    out = tmp_path / "run"
    assert main(["train", *SMALL, "--out", str(out), "--quiet"]) == 2
    assert "epoch 3" in capsys.readouterr().err
    assert not out.exists()  # epochs 1-2 were saved for --resume, which would diverge again
    monkeypatch.undo()
    assert main(["train", *SMALL, "--lr", "1e-3", "--out", str(out), "--quiet"]) == 0  # the retry it suggests
