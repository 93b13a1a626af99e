"""Learning-rate schedules: warmup, cosine, step, plateau, state round trip."""
from __future__ import annotations

import pytest
import torch

from segstudio.core.training import TrainConfig
from segstudio.core.training.schedule import LRSchedule, build_optimizer


def _sched(**kw):
    cfg = TrainConfig(**{"lr": 1.0, "epochs": 10, "warmup_epochs": 1.0, "min_lr": 0.0, **kw})
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(1))], cfg)
    return LRSchedule(opt, cfg, steps_per_epoch=10), opt


def test_warmup_then_cosine_to_min():
    s, opt = _sched()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)
    lrs = []
    for _ in range(100):
        lrs.append(s.lr)
        s.step()
    assert lrs[5] == pytest.approx(0.01 + 0.99 * 0.5)
    assert lrs[10] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))  # monotone decay after warmup
    assert s.lr == pytest.approx(0.0, abs=1e-9)


def test_time_fraction_drives_cosine():
    s, _ = _sched(warmup_epochs=0.0)
    s.time_fraction = 1.0
    s.step()
    assert s.lr == pytest.approx(0.0, abs=1e-9)


def test_step_decay():
    s, _ = _sched(scheduler="step", step_size=2, gamma=0.5, warmup_epochs=0.0)
    for _ in range(2):
        s.epoch_end(0.0)
    assert s.lr == pytest.approx(0.5)
    for _ in range(2):
        s.epoch_end(0.0)
    assert s.lr == pytest.approx(0.25)


def test_plateau_decays_after_patience_and_resumes_exactly():
    s, _ = _sched(scheduler="plateau", plateau_patience=1, gamma=0.1, warmup_epochs=0.0)
    s.epoch_end(0.5)
    s.epoch_end(0.5)
    assert s.lr == pytest.approx(1.0)
    s.epoch_end(0.4)
    assert s.lr == pytest.approx(0.1)
    state = s.state_dict()
    s2, opt2 = _sched(scheduler="plateau", plateau_patience=1, gamma=0.1, warmup_epochs=0.0)
    s2.load_state_dict(state)
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.1) and s2.state_dict() == state


@pytest.mark.parametrize("name,cls", [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW),
                                      ("sgd", torch.optim.SGD)])
def test_optimizers(name, cls):
    cfg = TrainConfig(optimizer=name)
    assert isinstance(build_optimizer([torch.nn.Parameter(torch.zeros(1))], cfg), cls)
