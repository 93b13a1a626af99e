"""The training engine: event stream, learning, exact resume, cancellation, budget, early stop, freezing."""
from __future__ import annotations

import csv
import threading

import pytest
import torch

from segstudio.core.training import (BatchEnd, CheckpointSaved, EpochEnd, Failed, Finished, Started,
                                     load_checkpoint, train)
from segstudio.core.training import step as step_mod


def _run(cfg, cancel=None):
    return list(train(cfg, cancel=cancel))


def _params(ckpt, names=None):
    return {k: v for k, v in ckpt["state_dict"].items() if names is None or k in names}


def test_event_stream_and_run_folder(tiny_cfg):
    events = _run(tiny_cfg)
    kinds = [type(e) for e in events]
    assert kinds[0] is Started and kinds[-1] is Finished
    assert events[-1].reason == "completed" and events[-1].epochs_done == 2
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert [e.epoch for e in epochs] == [1, 2]
    assert set(epochs[0].metrics["iou"]) == {"_background_", "lesion", "cyst"}
    batches = [e for e in events if isinstance(e, BatchEnd)]
    assert batches and all(b.n_batches == batches[0].n_batches for b in batches)
    saved = {(e.kind, e.epoch) for e in events if isinstance(e, CheckpointSaved)}
    assert ("last", 2) in saved and any(k == "best" for k, _ in saved)
    run = tiny_cfg.out
    for name in ("best.pt", "last.pt", "metrics.csv", "curves.png", "config.json", "config.yaml", "split.json",
                 "status.json"):
        assert (tiny_cfg_path := __import__("pathlib").Path(run) / name).exists(), tiny_cfg_path
    rows = list(csv.DictReader(open(f"{run}/metrics.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert {"iou_lesion", "iou_cyst", "miou", "train_loss", "val_loss"} <= set(rows[0])
    ck = load_checkpoint(f"{run}/best.pt")
    assert ck["class_names"] == ["_background_", "lesion", "cyst"] and ck["img_size"] == 32
    assert ck["model"] == {"name": "unet", "in_channels": 3, "num_classes": 3, "kwargs": {"base": 4, "depth": 2}}
    assert "optimizer" not in ck  # weights-only checkpoint
    assert "optimizer" in load_checkpoint(f"{run}/last.pt")
    # the predictor's way of rebuilding the model works
    from segstudio.core.models import build_model

    m = build_model(ck["model"]["name"], ck["model"]["in_channels"], ck["model"]["num_classes"], **ck["model"]["kwargs"])
    m.load_state_dict(ck["state_dict"])


def test_overfits_a_tiny_dataset(tiny_cfg):
    cfg = tiny_cfg.replace(augment="none", epochs=12, lr=1e-2, loss="ce", model_kwargs={"base": 8, "depth": 2},
                           warmup_epochs=1.0)
    epochs = [e for e in _run(cfg) if isinstance(e, EpochEnd)]
    first, last = epochs[0].train_loss, epochs[-1].train_loss
    assert last < 0.35 * first, (first, last)
    assert epochs[-1].metrics["iou"]["lesion"] > 0.5, epochs[-1].metrics


def _state(path):
    return load_checkpoint(path)["state_dict"]


# 3 batches per epoch: "4" stops inside epoch 2, "3" after epoch 1's last batch but before its validation,
# "epoch" right after epoch 1's EpochEnd
@pytest.mark.parametrize("stop_at,start_epoch", [("4", 2), ("3", 1), ("epoch", 2)])
def test_resume_equals_uninterrupted(tiny_cfg, tmp_path, stop_at, start_epoch):
    cfg = tiny_cfg.replace(epochs=3, augment="strong", scheduler="plateau", plateau_patience=0)
    full = _run(cfg.replace(out=str(tmp_path / "full")))
    assert full[-1].reason == "completed"
    n = {"batches": 0, "epochs": 0}

    def cancel():
        return n["epochs"] >= 1 if stop_at == "epoch" else n["batches"] >= int(stop_at)

    part = []
    for ev in train(cfg.replace(out=str(tmp_path / "part")), cancel=cancel):
        part.append(ev)
        n["batches"] += isinstance(ev, BatchEnd)
        n["epochs"] += isinstance(ev, EpochEnd)
    assert part[-1].reason == "cancelled"
    resumed = _run(cfg.replace(out=str(tmp_path / "part"), resume=str(tmp_path / "part" / "last.pt")))
    assert resumed[0].start_epoch == start_epoch
    assert resumed[-1].reason == "completed"
    a, b = _state(tmp_path / "full" / "last.pt"), _state(tmp_path / "part" / "last.pt")
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6, msg=k)
    ra = list(csv.DictReader(open(tmp_path / "full" / "metrics.csv")))
    rb = list(csv.DictReader(open(tmp_path / "part" / "metrics.csv")))
    assert [r["train_loss"] for r in ra] == [r["train_loss"] for r in rb]


def test_cancel_with_threading_event_saves_last(tiny_cfg):
    stop = threading.Event()
    events = []
    for ev in train(tiny_cfg.replace(epochs=5), cancel=stop):
        events.append(ev)
        if isinstance(ev, BatchEnd) and ev.epoch == 1 and ev.batch == 1:
            stop.set()
    assert events[-1].reason == "cancelled"
    assert sum(isinstance(e, BatchEnd) for e in events) == 1
    ck = load_checkpoint(f"{tiny_cfg.out}/last.pt")
    assert ck["progress"]["epoch"] == 1 and ck["progress"]["batch"] == 1 and ck["epoch"] == 0


def test_time_budget_stops_cleanly(tiny_cfg):
    events = _run(tiny_cfg.replace(epochs=50, max_minutes=1e-6))
    assert events[-1].reason == "time_budget"
    assert sum(isinstance(e, BatchEnd) for e in events) == 1  # stopped after the batch that exceeded it
    saved = {e.kind for e in events if isinstance(e, CheckpointSaved)}
    assert saved == {"best", "last"}
    load_checkpoint(f"{tiny_cfg.out}/best.pt")


def test_early_stopping_on_val_miou(tiny_cfg, monkeypatch):
    values = iter([0.5, 0.6, 0.55, 0.58, 0.59, 0.7, 0.8])
    real = step_mod.summarize

    def fake(cm, names):
        out = real(cm, names)
        out["miou"] = next(values)
        return out

    monkeypatch.setattr(step_mod, "summarize", fake)
    events = _run(tiny_cfg.replace(epochs=7, patience=3))
    fin = events[-1]
    assert fin.reason == "early_stop" and fin.epochs_done == 5 and fin.best_epoch == 2
    assert fin.best_miou == pytest.approx(0.6)
    assert load_checkpoint(f"{tiny_cfg.out}/best.pt")["epoch"] == 2


def test_frozen_encoder_is_unchanged_during_freeze_epochs(tiny_cfg):
    from segstudio.core.models import MODELS
    from segstudio.core.models.unet import UNet

    class EncUNet(UNet):
        def encoder_parameters(self):
            return iter([*self.inc.parameters(), *self.downs.parameters()])

    if "test_enc_unet" not in MODELS.entries:
        MODELS.register("test_enc_unet")(lambda in_channels=3, num_classes=2, **kw: EncUNet(in_channels, num_classes, **kw))
    cfg = tiny_cfg.replace(model="test_enc_unet", epochs=3, freeze_epochs=2, checkpoint_every=1)
    _run(cfg)
    model = EncUNet(3, 3, base=4, depth=2)
    enc = {n for n, p in model.named_parameters() if n.startswith(("inc.", "downs."))}
    dec = {n for n, _ in model.named_parameters()} - enc
    e1, e2, e3 = (load_checkpoint(f"{cfg.out}/epoch_00{i}.pt")["state_dict"] for i in (1, 2, 3))
    assert all(torch.equal(e1[k], e2[k]) for k in enc), "encoder changed while frozen"
    assert any(not torch.equal(e1[k], e2[k]) for k in dec), "decoder did not train"
    assert any(not torch.equal(e2[k], e3[k]) for k in enc), "encoder did not train after unfreezing"


def test_cuda_out_of_memory_becomes_failed_event(tiny_cfg, monkeypatch):
    import segstudio.core.losses as losses

    real = losses.build_loss

    def build(*a, **kw):
        loss = real(*a, **kw)

        def boom(logits, target):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        loss.forward = boom
        return loss

    monkeypatch.setattr(losses, "build_loss", build)
    events = _run(tiny_cfg)
    assert isinstance(events[-1], Failed)
    assert "out of memory" in events[-1].message and "batch size" in events[-1].advice


def test_diverging_loss_becomes_failed_event(tiny_cfg):
    events = _run(tiny_cfg.replace(lr=1e30, optimizer="sgd", momentum=0.0, epochs=3))
    assert isinstance(events[-1], Failed) and "learning rate" in events[-1].advice


def test_bad_input_raises_before_started(tiny_cfg, tmp_path):
    from segstudio.core.errors import CheckpointError, DatasetError, SegStudioError

    with pytest.raises(DatasetError):
        next(train(tiny_cfg.replace(data=str(tmp_path / "nothing"))))
    with pytest.raises(SegStudioError, match="unknown model"):
        next(train(tiny_cfg.replace(model="no_such_net")))
    (tmp_path / "w.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError):
        next(train(tiny_cfg.replace(resume=str(tmp_path / "w.pt"))))


def test_cancel_while_caching_trains_nothing(tiny_cfg):
    events = _run(tiny_cfg, cancel=lambda: True)
    assert isinstance(events[-1], Finished) and events[-1].reason == "cancelled" and events[-1].epochs_done == 0
    assert not any(isinstance(e, BatchEnd) for e in events)


def test_dataloader_workers(tiny_cfg):
    events = _run(tiny_cfg.replace(epochs=1, num_workers=1))
    assert events[-1].reason == "completed" and events[-1].epochs_done == 1
