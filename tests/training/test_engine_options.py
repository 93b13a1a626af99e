"""Engine options: every model with the default model_kwargs, encoder-weight warnings, k-fold splits,
the resumed time budget, thread count and determinism settings."""
from __future__ import annotations

import json

import pytest
import torch

from segstudio.core.models import MODELS
from segstudio.core.training import (BatchEnd, EpochEnd, Finished, Log, Started, TrainConfig, load_checkpoint,
                                     train)
from segstudio.core.training import engine as engine_mod
from segstudio.core.training import stopping as stopping_mod


def _run(cfg, cancel=None):
    return list(train(cfg, cancel=cancel))


# the registry's models at collection time (test-only models registered later by other tests are not here)
MODEL_NAMES = [n for n in MODELS.names() if not n.startswith("test_")] + ["smp:Unet:resnet18"]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_trains_with_the_default_model_kwargs(tiny_cfg, name, tmp_path, monkeypatch):
    """The default model_kwargs ({}) suits every model: base 8 only where the factory has a ``base``."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "no-weights"))  # never depend on a machine's hub cache
    cfg = tiny_cfg.replace(model=name, model_kwargs=TrainConfig().model_kwargs, epochs=1)
    events = _run(cfg)
    assert isinstance(events[-1], Finished) and events[-1].reason == "completed", events[-1]
    kwargs = load_checkpoint(f"{cfg.out}/best.pt")["model"]["kwargs"]
    if name in ("unet", "attention_unet", "cbam_unet", "unetpp"):
        assert kwargs == {"base": 8}
    else:
        assert "base" not in kwargs


def test_default_model_kwargs_keep_the_cpu_friendly_unet():
    from segstudio.core.training.config import effective_model_kwargs

    assert TrainConfig().model_kwargs == {}
    assert effective_model_kwargs("unet", {}) == {"base": 8}
    assert effective_model_kwargs("unet", {"depth": 3}) == {"base": 8, "depth": 3}
    assert effective_model_kwargs("unet", {"base": 16}) == {"base": 16}
    assert effective_model_kwargs("resnet_unet", {}) == {}
    assert effective_model_kwargs("smp:Unet:resnet18", {}) == {}


def test_cli_trains_resnet_unet_with_defaults(tiny_project, tmp_path, capsys, monkeypatch):
    from segstudio.cli import main

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "no-weights"))
    before = torch.get_num_threads()
    try:
        rc = main(["train", "--data", str(tiny_project), "--out", str(tmp_path / "run"), "--model", "resnet_unet",
                   "--epochs", "1", "--img-size", "32", "--batch-size", "2", "--threads", "1", "-q"])
    finally:
        torch.set_num_threads(before)
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "finished (completed)" in captured.out
    # the missing ImageNet weights reach the user as a warning event, not only as a log record
    assert "warning: " in captured.err and "random initialisation" in captured.err


def test_missing_encoder_weights_are_a_warning_event(tiny_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    cfg = tiny_cfg.replace(model="resnet_unet", epochs=1,
                           model_kwargs={"encoder": "resnet18", "decoder_channels": [16, 16, 8, 8, 8]})
    events = _run(cfg)
    warnings = [e for e in events if isinstance(e, Log) and e.level == "warning"]
    assert len(warnings) == 1, warnings
    assert "resnet18-f37072fd.pth" in warnings[0].message and "random" in warnings[0].message
    assert events.index(warnings[0]) < next(i for i, e in enumerate(events) if isinstance(e, BatchEnd))
    # asking for random initialisation is not warned about
    events = _run(cfg.replace(out=str(tmp_path / "r2"),
                              model_kwargs={**cfg.model_kwargs, "encoder_weights": None}))
    assert not [e for e in events if isinstance(e, Log) and e.level == "warning"]


def test_smp_refuses_options_it_would_ignore():
    from segstudio.core.errors import ConfigError
    from segstudio.core.models import build_model

    with pytest.raises(ConfigError, match="base"):
        build_model("smp:Unet:resnet18", 3, 2, base=8)


# ---------------------------------------------------------------------------------------------- splits
def test_val_fraction_default_is_nine_to_one():
    assert TrainConfig().val_fraction == 0.1


def test_k_fold_split_is_used_and_recorded(tiny_cfg, tmp_path):
    vals = []
    for fold in range(4):
        cfg = tiny_cfg.replace(out=str(tmp_path / f"f{fold}"), k_folds=4, fold=fold, epochs=1)
        started = next(e for e in _run(cfg) if isinstance(e, Started))
        assert (started.n_train, started.n_val) == (6, 2)
        split = json.loads((tmp_path / f"f{fold}" / "split.json").read_text())
        assert split["k_folds"] == 4 and split["fold"] == fold and "val_fraction" not in split
        assert not set(split["train"]) & set(split["val"])
        vals.append(set(split["val"]))
    assert len(set().union(*vals)) == sum(len(v) for v in vals) == 8  # disjoint folds covering every image


@pytest.mark.parametrize("values,words", [({"fold": 1}, "k_folds is not set"), ({"k_folds": 1}, "k_folds"),
                                          ({"k_folds": 3, "fold": 3}, "0..2")])
def test_bad_fold_settings(values, words):
    from segstudio.core.errors import ConfigError

    with pytest.raises(ConfigError, match=words):
        TrainConfig.from_dict({"data": "d", "out": "o", **values})


def test_k_folds_from_the_command_line():
    from segstudio.cli import build_parser
    from segstudio.commands.train import build_config

    parser = build_parser()
    cfg = build_config(parser.parse_args(["train", "--data", "d", "--out", "o", "--set", "k_folds=5",
                                          "--set", "fold=2"]))
    assert (cfg.k_folds, cfg.fold) == (5, 2)
    cfg = build_config(parser.parse_args(["train", "--data", "d", "--out", "o", "--k-folds", "5", "--fold", "4"]))
    assert (cfg.k_folds, cfg.fold) == (5, 4)


# ----------------------------------------------------------------------------------- resumed time budget
class FakeClock:
    """``time`` stand-in for the engine and its stop policy: the test advances ``now`` by hand (10 s per training
    batch)."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now


def _next_lr(path):
    return load_checkpoint(path)["optimizer"]["param_groups"][0]["lr"]


def test_resuming_a_time_budget_continues_the_cosine_clock(tiny_cfg, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(engine_mod, "time", clock)
    monkeypatch.setattr(stopping_mod, "time", clock)
    # 3 batches per epoch, 50 epochs: the step fraction stays tiny, the cosine follows the 120 s budget
    cfg = tiny_cfg.replace(epochs=50, max_minutes=2.0, warmup_epochs=0.0)
    n = {"batches": 0}
    for ev in train(cfg, cancel=lambda: n["batches"] >= 10):
        if isinstance(ev, BatchEnd):
            n["batches"] += 1
            clock.now += 10.0
    saved = load_checkpoint(f"{cfg.out}/last.pt")
    assert saved["elapsed_s"] == pytest.approx(100.0)
    lr_saved = _next_lr(f"{cfg.out}/last.pt")
    assert lr_saved < 0.2 * cfg.lr  # annealed: the last step ran at 90 of 120 s

    n["batches"] = 0
    events = []
    for ev in train(cfg.replace(resume=f"{cfg.out}/last.pt"), cancel=lambda: n["batches"] >= 1):
        events.append(ev)
        if isinstance(ev, BatchEnd):
            n["batches"] += 1
            clock.now += 5.0
    assert events[-1].reason == "cancelled"
    lr_resumed = _next_lr(f"{cfg.out}/last.pt")
    assert lr_resumed <= 2 * lr_saved, (lr_saved, lr_resumed)
    assert load_checkpoint(f"{cfg.out}/last.pt")["elapsed_s"] == pytest.approx(105.0)
    assert any(isinstance(e, Log) and "1.7 of 2 min used" in e.message for e in events)

    # the budget is the run's total: once it is used up a resume stops at once and says how to go on
    events = []
    for ev in train(cfg.replace(resume=f"{cfg.out}/last.pt")):  # 105 s -> 115 s -> 125 s: budget exceeded
        events.append(ev)
        if isinstance(ev, BatchEnd):
            clock.now += 10.0
    assert events[-1].reason == "time_budget" and sum(isinstance(e, BatchEnd) for e in events) == 2
    clock.now += 1000.0  # time between sessions is not training time
    events = _run(cfg.replace(resume=f"{cfg.out}/last.pt"))
    assert isinstance(events[-1], Finished) and events[-1].reason == "time_budget"
    assert not any(isinstance(e, BatchEnd) for e in events)
    assert any(isinstance(e, Log) and e.level == "warning" and "max_minutes" in e.message for e in events)


# ------------------------------------------------------------------------------- threads, determinism
def test_thread_count_is_applied_recorded_and_restored(tiny_cfg):
    torch.set_num_threads(1)
    seen = {}
    for ev in train(tiny_cfg.replace(epochs=1, threads=2)):
        if isinstance(ev, Started):
            seen["started"] = ev.threads
            seen["during"] = torch.get_num_threads()
    assert seen == {"started": 2, "during": 2}
    assert torch.get_num_threads() == 1
    saved = json.loads((__import__("pathlib").Path(tiny_cfg.out) / "config.json").read_text())
    assert saved["threads"] == 2
    # without the setting the caller's count is used and recorded
    events = _run(tiny_cfg.replace(epochs=1, out=tiny_cfg.out + "2"))
    assert events[0].threads == 1
    assert json.loads(open(tiny_cfg.out + "2/config.json").read())["threads"] == 1
    assert load_checkpoint(tiny_cfg.out + "2/last.pt")["config"]["threads"] == 1


def test_deterministic_default_is_cpu_only():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert TrainConfig().deterministic is None
    assert engine_mod.use_deterministic(None, cpu) is True
    assert engine_mod.use_deterministic(None, cuda) is False
    assert engine_mod.use_deterministic(True, cuda) is True
    assert engine_mod.use_deterministic(False, cpu) is False


def test_deterministic_on_during_a_cpu_run_and_restored(tiny_cfg):
    assert not torch.are_deterministic_algorithms_enabled()
    during = []
    for ev in train(tiny_cfg.replace(epochs=1, device="cpu")):
        if isinstance(ev, EpochEnd):
            during.append(torch.are_deterministic_algorithms_enabled())
    assert during == [True]
    assert not torch.are_deterministic_algorithms_enabled()
    # old config files with deterministic: true / false stay valid
    assert TrainConfig.from_dict({"deterministic": True}).deterministic is True


def test_cli_missing_encoder_weights_warned_once(tiny_project, tmp_path):
    # a subprocess: pytest's log capture would hide Python's last-resort handler, which printed it twice
    import os
    import subprocess
    import sys

    env = dict(os.environ, TORCH_HOME=str(tmp_path / "no-weights"))
    out = subprocess.run([sys.executable, "-m", "segstudio", "train", "--data", str(tiny_project),
                          "--out", str(tmp_path / "run"), "--model", "resnet_unet", "--epochs", "1",
                          "--img-size", "32", "--batch-size", "4", "--threads", "1", "-q"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stderr.count("random initialisation") == 1, out.stderr


def test_training_and_prediction_share_one_device_policy():
    from segstudio.core import inference, training
    from segstudio.core.device import resolve_device

    assert training.resolve_device is inference.resolve_device is resolve_device
