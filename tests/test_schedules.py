import pytest
import torch

from dynonet.config import TrainConfig
from dynonet.schedules import epoch_schedule


def lrs(schedule: str, epochs: int = 6, **train) -> list[float] | None:
    """The lr of each epoch under `schedule`, stepped once per epoch as the trainer does."""
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = epoch_schedule(opt, TrainConfig(schedule=schedule, epochs=epochs, **train))
    if sched is None:
        return None
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_cosine_falls_to_the_floor_over_the_epochs():
    got = lrs("cosine", epochs=5, min_lr_ratio=0.1)
    assert got[0] == 1.0 and all(a > b for a, b in zip(got, got[1:])) and got[-1] > 0.1
    assert got == pytest.approx([0.1 + 0.9 * (1 + torch.cos(torch.tensor(e * torch.pi / 5)).item()) / 2
                                 for e in range(5)])


def test_restarts_and_exponential_and_plateau():
    assert [e for e, v in enumerate(lrs("restarts", epochs=7, restart_epochs=2)) if v == 1.0] == [0, 2, 6]
    assert lrs("exponential", hold_epochs=2, lr_decay=0.5, min_lr_ratio=0.2) == pytest.approx(
        [1, 1, 0.5, 0.25, 0.2, 0.2])
    assert lrs("plateau") is None  # the trainer drives it: it returns to the best weights
