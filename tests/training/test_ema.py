"""The weights' moving average (``ema_decay``): the averaging itself, what the run validates and saves, and an
exact resume of a run that keeps one."""
from __future__ import annotations

import csv

import pytest
import torch

from segstudio.core.checkpoint import load_checkpoint
from segstudio.core.errors import ConfigError
from segstudio.core.training import TrainConfig, train
from segstudio.core.training.ema import WeightEMA
from segstudio.core.training.events import BatchEnd, EpochEnd, Finished


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))


def test_average_follows_the_warm_up_then_the_decay():
    net = _net()
    ema = WeightEMA(net, 0.9)
    w0 = net[0].weight.detach().clone()
    with torch.no_grad():
        net[0].weight.add_(1.0)
    ema.update(net)                      # first decay: min(0.9, 1/10) = 0.1
    torch.testing.assert_close(ema.module[0].weight, 0.1 * w0 + 0.9 * (w0 + 1.0))
    for _ in range(200):
        ema.update(net)
    assert ema.current_decay() == pytest.approx(0.9)
    torch.testing.assert_close(ema.module[0].weight, w0 + 1.0, atol=1e-6, rtol=0)
    assert not any(p.requires_grad for p in ema.module.parameters())


def test_batch_norm_statistics_are_averaged_and_counters_copied():
    net = _net()
    ema = WeightEMA(net, 0.5, updates=100)
    net.train()
    net(torch.randn(4, 1, 8, 8) * 3 + 2)          # moves running_mean/var, counts a batch
    ema.update(net)
    bn, avg = net[1], ema.module[1]
    torch.testing.assert_close(avg.running_mean, 0.5 * bn.running_mean)   # from 0 halfway to the new mean
    assert int(avg.num_batches_tracked) == int(bn.num_batches_tracked) == 1


def test_bad_decay_is_refused():
    with pytest.raises(ConfigError, match="ema_decay"):
        TrainConfig(data="d", out="o", ema_decay=1.0).validate()
    with pytest.raises(ValueError):
        WeightEMA(_net(), 0.0)


def _run(cfg, cancel=None):
    return list(train(cfg, cancel=cancel))


def test_run_validates_and_saves_the_average(tiny_cfg, tmp_path):
    cfg = tiny_cfg.replace(epochs=2, ema_decay=0.9, out=str(tmp_path / "ema"))
    events = _run(cfg)
    assert isinstance(events[-1], Finished) and events[-1].reason == "completed"
    last = load_checkpoint(tmp_path / "ema" / "last.pt")
    assert last["ema_updates"] == sum(isinstance(e, BatchEnd) for e in events)
    differs = [k for k in last["state_dict"] if last["state_dict"][k].is_floating_point()
               and not torch.equal(last["state_dict"][k], last["train_state_dict"][k])]
    assert differs, "the saved model should be the average, not the last trained weights"
    # the epoch's validation score is the average's: re-scoring best.pt's weights gives the same mIoU
    best = load_checkpoint(tmp_path / "ema" / "best.pt")
    assert "train_state_dict" not in best
    from segstudio.core.training.parts import build_parts
    from segstudio.core.training.step import validate

    parts = build_parts(cfg.replace(ema_decay=0.0), None)
    parts.model.load_state_dict(best["state_dict"])
    _loss, metrics = validate(parts)
    assert metrics["miou"] == pytest.approx(best["metrics"]["miou"], abs=1e-6)


def test_resume_with_average_equals_uninterrupted(tiny_cfg, tmp_path):
    cfg = tiny_cfg.replace(epochs=3, ema_decay=0.8)
    _run(cfg.replace(out=str(tmp_path / "full")))
    n = {"batches": 0}

    def cancel():
        return n["batches"] >= 4        # inside epoch 2

    for ev in train(cfg.replace(out=str(tmp_path / "part")), cancel=cancel):
        n["batches"] += isinstance(ev, BatchEnd)
    resumed = _run(cfg.replace(out=str(tmp_path / "part"), resume=str(tmp_path / "part" / "last.pt")))
    assert resumed[-1].reason == "completed"
    a = load_checkpoint(tmp_path / "full" / "last.pt")
    b = load_checkpoint(tmp_path / "part" / "last.pt")
    assert a["ema_updates"] == b["ema_updates"]
    for key in ("state_dict", "train_state_dict"):
        for k in a[key]:
            torch.testing.assert_close(a[key][k], b[key][k], rtol=0, atol=1e-6, msg=f"{key}.{k}")
    ra = list(csv.DictReader(open(tmp_path / "full" / "metrics.csv")))
    rb = list(csv.DictReader(open(tmp_path / "part" / "metrics.csv")))
    assert [r["miou"] for r in ra] == [r["miou"] for r in rb]


def test_a_run_without_average_resumes_with_one(tiny_cfg, tmp_path):
    """Turning the average on when resuming a run that had none starts it from the restored weights."""
    cfg = tiny_cfg.replace(epochs=2, out=str(tmp_path / "run"))
    _run(cfg.replace(epochs=1))
    events = _run(cfg.replace(ema_decay=0.9, resume=str(tmp_path / "run" / "last.pt")))
    assert events[-1].reason == "completed"
    assert any(isinstance(e, EpochEnd) and e.epoch == 2 for e in events)
    assert "train_state_dict" in load_checkpoint(tmp_path / "run" / "last.pt")
