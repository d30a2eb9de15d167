"""The reference path (`dynonet.reference`, the speed benchmark's baseline) computes what the
project's path computes: same forecasts, same weights, same training steps."""

import pytest
import torch

from dynonet.config import ModelConfig, TrainConfig
from dynonet.errors import ConfigError
from dynonet.data import Windows
from dynonet.model import DynoNet
from dynonet.reference import ReferenceDynoNet, ReferenceTrainer, WindowDataset
from dynonet.training import BiLevelTrainer


def small_cfg(**kw) -> ModelConfig:
    base = dict(lookback=64, horizon=8, n_channels=3, worker_seq_len=16, worker_hidden=6, context_dim=4,
                controller_hidden=8, mixer_hidden=4, ma_kernel=5)
    base.update(kw)
    return ModelConfig(**base)


def randomized(model: DynoNet) -> DynoNet:
    """Move zero-initialized heads (FiLM, gates, dropout, lr scale, mixer) and RevIN's affine
    off their initial values, so every signal and branch carries information (at init the lr
    scale is exactly 1 and a missing lr scaling would go unnoticed)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith(("controller.film", "controller.gate", "controller.dropout",
                                "controller.lr_scale", "controller.trend", "controller.channel_embedding", "mixer",
                                "revin")):
                p.add_(0.3 * torch.randn_like(p))
    return model


def batch(n: int, cfg: ModelConfig, seed: int, device: torch.device | str = "cpu"
          ) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n, cfg.lookback + cfg.horizon, cfg.n_channels, generator=g).cumsum(1).to(device)  # random walks
    return w[:, : cfg.lookback], w[:, cfg.lookback :]


@pytest.mark.parametrize("layers,patch,trend_input,modulation,encoder",
                         [(1, 1, "average", False, "joint"), (2, 16, "average", False, "joint"),
                          (1, 16, "window", False, "joint"), (1, 16, "window", True, "joint"),
                          (1, 16, "window", True, "attention")])
def test_reference_forecasts_equal_vectorized(layers, patch, trend_input, modulation, encoder, device):
    cfg = small_cfg(worker_layers=layers, controller_patch_len=patch, trend_input=trend_input,
                    trend_modulation=modulation, controller_encoder=encoder, controller_heads=2)
    torch.manual_seed(0)
    model = randomized(DynoNet(cfg)).eval()
    ref = ReferenceDynoNet(model).eval().to(device)
    model.to(device)
    x, _ = batch(16, cfg, 0, device)
    with torch.no_grad():
        assert torch.allclose(ref(x), model(x), atol=1e-5)


def test_reference_state_dict_round_trips():
    torch.manual_seed(0)
    model = DynoNet(small_cfg(worker_layers=2))
    state = ReferenceDynoNet(model).vectorized_state_dict()
    expected = model.state_dict()
    assert state.keys() == expected.keys()
    for k in expected:
        assert torch.equal(state[k], expected[k]), k


@pytest.mark.parametrize("layers,modulation,encoder",
                         [(1, False, "joint"), (2, False, "joint"), (1, True, "joint"), (1, False, "attention")])
def test_reference_training_steps_equal_bilevel_trainer(layers, modulation, encoder, device, monkeypatch):
    """Two rounds of (worker step, controller step): the second pairs the lr-scale
    hypergradient of the first. Dropout noise is drawn in the same order by both paths."""
    # One draw for all channels (ours) and one per channel (the reference) give the same
    # numbers from the CPU's generator; CUDA's counter-based generator gives others.
    monkeypatch.setattr(torch, "rand_like", lambda x: torch.rand(x.shape, dtype=x.dtype).to(x.device))
    cfg = small_cfg(worker_layers=layers, trend_modulation=modulation, controller_encoder=encoder,
                    controller_heads=2)
    # large lr and weight decay: a mistake in either shows above the tolerance
    tcfg = TrainConfig(batch_size=16, lr=1e-2, weight_decay=0.5, controller_lr=1e-2, controller_weight_decay=0.5,
                       epochs=3)
    torch.manual_seed(0)
    model = randomized(DynoNet(cfg))
    ref = ReferenceDynoNet(model).to(device)
    model.to(device)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    ours = BiLevelTrainer(model, tcfg, torch.Generator().manual_seed(0))
    theirs = ReferenceTrainer(ref, tcfg)
    model.train()
    ref.train()
    for step in range(2):
        x, y = batch(16, cfg, 10 + step, device)
        cx, cy = batch(16, cfg, 20 + step, device)
        torch.manual_seed(100 + step)
        loss_ours = ours.worker_step(x, y)[0]
        torch.manual_seed(100 + step)
        loss_theirs = theirs.worker_step(x, y)
        assert torch.allclose(loss_ours, loss_theirs, atol=1e-6)
        torch.manual_seed(200 + step)
        ctrl_ours = ours.controller_step(cx, cy)
        torch.manual_seed(200 + step)
        ctrl_theirs = theirs.controller_step(cx, cy)
        assert torch.allclose(ctrl_ours, ctrl_theirs, atol=1e-6)
        assert torch.allclose(ours.hyper, theirs.hyper, rtol=1e-4, atol=1e-7)
    state, expected = ref.vectorized_state_dict(), model.state_dict()
    if encoder == "attention":
        # The key bias adds the same score to every key of a query, which softmax ignores: its
        # true gradient is zero, and AdamW scales each path's rounding noise up to a full step.
        for sd in (state, expected):
            query, _, value = sd["controller.attention.in_proj_bias"].chunk(3)
            sd["controller.attention.in_proj_bias"] = torch.cat([query, value])
    for k in expected:
        assert torch.allclose(state[k], expected[k], atol=1e-5), k
    # the comparison means something: both levels changed their weights
    for name in ("workers.w_hh.0", "workers.head_weight", "trend.linear.weight", "controller.gru.weight_hh_l0",
                 "controller.film.weight", "controller.lr_scale.bias",
                 *(["controller.attention.out_proj.weight", "controller.channel_embedding"] if encoder == "attention"
                   else [])):
        assert not torch.allclose(expected[name], initial[name]), name
    if modulation:
        assert not torch.allclose(expected["controller.trend.weight"], initial["controller.trend.weight"])


def test_window_dataset_matches_windows():
    series = torch.randn(200, 3)
    ds = WindowDataset(series, (20, 180), 32, 8)
    win = Windows(series, (20, 180), 32, 8)
    assert len(ds) == len(win)
    for i in (0, 7, len(ds) - 1):
        x, y = win.get(torch.tensor([i]))
        assert torch.equal(ds[i][0], x[0]) and torch.equal(ds[i][1], y[0])


@pytest.mark.parametrize("train", [{"schedule": "plateau"}, {"schedule": "restarts"}, {"schedule": "exponential"},
                                   {"ema_decay": 0.9}])
def test_reference_trainer_refuses_what_it_does_not_implement(train):
    ref = ReferenceDynoNet(DynoNet(small_cfg()))
    flag = "--schedule" if "schedule" in train else "--ema-decay"  # only the setting at fault is named
    with pytest.raises(ConfigError, match=rf"^{flag} [^,]*: the reference path .*\(--paths optimized\)$"):
        ReferenceTrainer(ref, TrainConfig(**train))


@pytest.mark.parametrize("loss", ["mae", "huber"])
def test_reference_trainer_refuses_another_loss_than_mse(loss):
    with pytest.raises(ConfigError, match=rf"^--loss {loss}: the reference path trains on MSE only"):
        ReferenceTrainer(ReferenceDynoNet(DynoNet(small_cfg())), TrainConfig(loss=loss))
