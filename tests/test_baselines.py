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
