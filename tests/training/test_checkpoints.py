"""Checkpoint loading: contract validation and refusal of files that would run code."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from segstudio.core.errors import CheckpointError
from segstudio.core.checkpoint import load_checkpoint, save_checkpoint
from segstudio.core.training.rng import rng_state, set_rng_state


def _valid():
    return {"format": "segstudio-checkpoint", "format_version": 1,
            "model": {"name": "unet", "in_channels": 3, "num_classes": 2, "kwargs": {}},
            "state_dict": {"w": torch.ones(2)}, "class_names": ["_background_", "lesion"], "img_size": 64,
            "resize_mode": "letterbox", "epoch": 1, "metrics": {"miou": 0.5}, "config": {}}


class _RunsCode:
    """Unpickling this calls ``open(marker, "w")``: a stand-in for any code a malicious file could run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_checkpoint_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    payload = _valid()
    payload["extra"] = _RunsCode(marker)
    path = tmp_path / "evil.pt"
    torch.save(payload, path)
    with pytest.raises(CheckpointError) as ei:
        load_checkpoint(path)
    assert "refused" in str(ei.value) and str(path) in str(ei.value)
    assert not marker.exists(), "the payload ran during loading"


def test_pickled_module_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(path)


def test_refusal_message_is_clean_and_names_the_file(tmp_path):
    """torch's own text (bold ANSI escapes, advice to load with weights_only=False) is not passed on."""
    path = tmp_path / "model.pt"
    torch.save({"format": "segstudio-checkpoint", "net": torch.nn.Linear(2, 2)}, path)
    with pytest.raises(CheckpointError) as ei:
        load_checkpoint(path)
    msg = str(ei.value)
    assert "\x1b" not in msg and "weights_only" not in msg and "\n" not in msg
    assert msg.startswith(f"{path}: refused: unpickling it would run code"), msg
    assert "torch.nn.modules.linear.Linear" in msg  # what it wanted to import
    evil = tmp_path / "evil.pt"
    torch.save({"x": _RunsCode(tmp_path / "m")}, evil)
    with pytest.raises(CheckpointError) as ei:
        load_checkpoint(evil)
    assert "\x1b" not in str(ei.value) and "(it needs io.open)" in str(ei.value), str(ei.value)


def test_valid_round_trip_and_atomic_save(tmp_path):
    path = save_checkpoint(_valid(), tmp_path / "sub" / "best.pt")
    ck = load_checkpoint(path)
    assert ck["class_names"] == ["_background_", "lesion"] and torch.equal(ck["state_dict"]["w"], torch.ones(2))
    assert [p.name for p in path.parent.iterdir()] == ["best.pt"]  # no temporary file left behind


@pytest.mark.parametrize("mutate,words", [
    (lambda c: c.pop("format"), "not a segstudio checkpoint"),
    (lambda c: c.update(format_version=99), "newer"),
    (lambda c: c.pop("class_names"), "class_names"),
    (lambda c: c.update(class_names=["a"]), "class names"),
])
def test_invalid_contents(tmp_path, mutate, words):
    c = _valid()
    mutate(c)
    torch.save(c, tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match=words):
        load_checkpoint(tmp_path / "x.pt")


def test_missing_and_garbage_files(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "junk.pt").write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")


def test_rng_state_round_trip_through_a_file(tmp_path):
    state = rng_state()
    torch.save({"rng": state}, tmp_path / "r.pt")
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(torch.load(tmp_path / "r.pt", weights_only=True)["rng"])
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b


def test_inference_does_not_import_training():
    """Checkpoints live in segstudio.core.checkpoint: predicting never loads the training package."""
    import subprocess
    import sys

    code = ("import sys, segstudio.core.inference as inf, segstudio.core.checkpoint; "
            "inf.Predictor; print(sorted(m for m in sys.modules if m.startswith('segstudio.core.training')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
