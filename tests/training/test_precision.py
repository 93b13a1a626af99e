"""The memory format and autocast dtype training uses: channels_last on every device; bfloat16 autocast on a
CPU with native bf16 (AVX-512 BF16 / AMX), float32 elsewhere; the planner measures what the run will use."""
from __future__ import annotations

import math

import pytest
import torch

from segstudio.core import device as device_mod
from segstudio.core.device import autocast_dtype
from segstudio.core.training import EpochEnd, Finished, TrainConfig, load_checkpoint, train

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.fixture(params=[True, False], ids=["native-bf16", "no-bf16"])
def cpu_bf16(request, monkeypatch):
    monkeypatch.setattr(device_mod, "cpu_bf16_supported", lambda: request.param)
    return request.param


def test_autocast_dtype_on_the_cpu_follows_native_bf16(cpu_bf16):
    expected = torch.bfloat16 if cpu_bf16 else None
    assert autocast_dtype("auto", CPU) is expected
    assert autocast_dtype("bf16", CPU) is expected
    assert autocast_dtype("fp16", CPU) is None      # float16 autocast on a CPU is slower than float32
    assert autocast_dtype("off", CPU) is None


def test_autocast_dtype_on_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert autocast_dtype("auto", CUDA) is torch.bfloat16
    assert autocast_dtype("fp16", CUDA) is torch.float16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert autocast_dtype("auto", CUDA) is torch.float16
    assert autocast_dtype("bf16", CUDA) is torch.bfloat16
    assert autocast_dtype("off", CUDA) is None


def test_the_query_answers_on_this_machine():
    assert isinstance(device_mod.cpu_bf16_supported(), bool)


def _record_first_conv(model, seen: list):
    """Append (output dtype, input is channels_last) of the model's first convolution on every call."""
    def hook(_mod, inp, out):
        seen.append((out.dtype, inp[0].is_contiguous(memory_format=torch.channels_last)))

    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    return conv.register_forward_hook(hook)


@pytest.mark.parametrize("amp,channels_last", [("auto", True), ("off", False)])
def test_training_runs_in_the_resolved_precision_and_saves_float32(tiny_cfg, cpu_bf16, amp, channels_last,
                                                                    monkeypatch):
    from segstudio.core.training import engine as engine_mod

    seen: list = []
    built = []
    real_build = engine_mod.build_parts

    def build(cfg, resume, *a, **k):
        p = real_build(cfg, resume, *a, **k)
        built.append(p)
        _record_first_conv(p.model, seen)
        return p

    monkeypatch.setattr(engine_mod, "build_parts", build)   # the engine's own name for it
    cfg = tiny_cfg.replace(device="cpu", amp=amp, channels_last=channels_last, epochs=1)
    events = list(train(cfg))
    assert isinstance(events[-1], Finished) and events[-1].reason == "completed"
    (parts,) = built
    expected = torch.bfloat16 if (cpu_bf16 and amp == "auto") else None
    assert parts.amp_dtype is expected and parts.channels_last is channels_last
    assert not parts.scaler.is_enabled()   # a GradScaler is for float16 on CUDA only
    assert seen, "the model never ran"
    assert {d for d, _cl in seen} == {expected or torch.float32}
    assert {cl for _d, cl in seen} == {channels_last}
    epoch = next(e for e in events if isinstance(e, EpochEnd))
    assert math.isfinite(epoch.train_loss) and math.isfinite(epoch.val_loss)
    ckpt = load_checkpoint(cfg.out + "/last.pt")
    assert {v.dtype for v in ckpt["state_dict"].values() if v.is_floating_point()} == {torch.float32}


def test_the_planner_measures_in_the_runs_precision(tiny_project, tmp_path, monkeypatch, cpu_bf16):
    from segstudio.core.training import planner

    calls = []

    def fake_measure(cand, *a, amp="?", channels_last="?", **k):
        calls.append((amp, channels_last))
        return 0.01

    monkeypatch.setattr(planner, "measure_step", fake_measure)
    cfg = TrainConfig(data=str(tiny_project), out=str(tmp_path / "r"), max_minutes=1, device="cpu",
                      amp="off", channels_last=False)
    plan = planner.plan_run(cfg, {"max_minutes", "amp", "channels_last"})
    assert calls and set(calls) == {("off", False)}
    assert plan.to_dict()["precision"] == {"autocast": None, "channels_last": False}
    plan = planner.plan_run(cfg.replace(amp="auto", channels_last=True), {"max_minutes"})
    assert calls[-1] == ("auto", True)
    assert plan.to_dict()["precision"] == {"autocast": "bfloat16" if cpu_bf16 else None, "channels_last": True}


def test_measure_step_times_a_bf16_channels_last_step(cpu_bf16):
    from segstudio.core.training.plan_measure import Candidate, measure_step

    cand = Candidate(img_size=32, model="unet", model_kwargs={"base": 4, "depth": 2}, batch_size=2, cost_units=1)
    for amp, cl in (("auto", True), ("off", False)):
        s = measure_step(cand, 3, 3, "dice_ce", "light", CPU, steps=1, warmup=1, amp=amp, channels_last=cl)
        assert 0 < s < 60
