import torch
from torch import nn

from dynonet.registry import build_model

from conftest import small_model_cfg


def test_patchtst_drops_out_where_the_reference_code_does():
    cfg = small_model_cfg(model="patchtst", n_layers=2)
    model = build_model(cfg)
    attentions = [m for m in model.modules() if isinstance(m, nn.MultiheadAttention)]
    assert len(attentions) == cfg.n_layers
    assert all(a.dropout == 0.0 for a in attentions)  # reference: attn_dropout 0
    drops = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    # embedding, then per layer: attention projection, residual, feed-forward inner (the
    # residual dropout module is shared by both residual branches)
    assert len(drops) == 1 + 3 * cfg.n_layers and all(d.p == cfg.attn_dropout for d in drops)
    x = torch.randn(4, cfg.lookback, cfg.n_channels)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))


def test_repeat_scores_the_same_whatever_the_training_settings(tmp_path, capsys):
    """`repeat` declares every optimization setting unread (benchmark cells merge across them): checked end to end."""
    import json

    from dynonet.cli import main

    base = ["train", "--model", "repeat", "--max-rows", "700", "--lookback", "48", "--horizon", "8", "--quiet"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    assert main([*base, "--epochs", "3", "--lr", "0.1", "--batch-size", "16", "--loss", "mae", "--schedule", "restarts",
                 "--no-trend-first", "--weight-decay", "0.5", "--out", str(tmp_path / "b")]) == 0
    a, b = (json.loads((tmp_path / run / "metrics.json").read_text())["test"] for run in "ab")
    assert a == b
