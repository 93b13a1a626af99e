"""One optimizer step and one validation pass over the parts of :mod:`segstudio.core.training.parts`."""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch.utils.data import DataLoader

from segstudio.core.training.parts import Parts


def train_step(parts: Parts, batch: dict, time_fraction: Callable[[], Optional[float]]) -> tuple[float, int]:
    """Forward, backward, (clip), optimizer and schedule step on one batch; ``(loss, images)``.

    ``time_fraction()`` (elapsed / budget, None without a budget) is read after the step, for the
    time-aware cosine."""
    x, y = to_device(parts, batch)
    with autocast(parts):
        out = parts.model(x)
        loss = parts.loss_fn(out, y)
    parts.optimizer.zero_grad(set_to_none=True)
    parts.scaler.scale(loss).backward()
    if parts.cfg.grad_clip:
        parts.scaler.unscale_(parts.optimizer)
        torch.nn.utils.clip_grad_norm_(parts.model.parameters(), parts.cfg.grad_clip)
    parts.scaler.step(parts.optimizer)
    parts.scaler.update()
    fraction = time_fraction()
    if fraction is not None:
        parts.schedule.time_fraction = fraction
    parts.schedule.step()
    return loss.item(), x.shape[0]


def set_frozen(parts: Parts, epoch: int) -> None:
    """Encoder parameters train from epoch ``freeze_epochs + 1`` on."""
    frozen = epoch <= parts.cfg.freeze_epochs
    for p in parts.encoder_params:
        p.requires_grad_(not frozen)


def epoch_order(parts: Parts, epoch: int) -> list[int]:
    """The shuffled training order of ``epoch`` (seeded by seed and epoch: a resume replays it)."""
    gen = torch.Generator().manual_seed(parts.cfg.seed * 100003 + epoch)
    return torch.randperm(len(parts.train_ds), generator=gen).tolist()


def loader(parts: Parts, ds, order, train: bool, epoch: int = 0) -> DataLoader:
    # own generator: creating the iterator draws worker base seeds from it, not from the global RNG
    gen = torch.Generator().manual_seed(parts.cfg.seed * 1009 + epoch)
    return DataLoader(ds, batch_size=parts.cfg.batch_size, sampler=order,
                      drop_last=parts.drop_last if train else False,
                      num_workers=parts.cfg.num_workers, pin_memory=parts.device.type == "cuda", generator=gen)


def to_device(parts: Parts, batch: dict):
    x = batch["image"].to(parts.device, non_blocking=True)
    y = batch["mask"].to(parts.device, non_blocking=True)
    if parts.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y


def autocast(parts: Parts):
    if parts.amp_dtype is None:
        return torch.autocast(parts.device.type, enabled=False)
    return torch.autocast("cuda", dtype=parts.amp_dtype)


def validate(parts: Parts) -> tuple[float, dict]:
    """``(val loss, metrics)`` over the validation set (metrics: see :func:`summarize`)."""
    from segstudio.core.metrics import ConfusionMatrix
    from segstudio.core.models.base import final_output

    parts.model.eval()
    cm = ConfusionMatrix(parts.num_classes, ignore_index=-1)
    loss_sum = torch.zeros((), device=parts.device, dtype=torch.float64)
    n = 0
    with torch.no_grad():
        for batch in loader(parts, parts.val_ds, list(range(len(parts.val_ds))), False):
            x, y = to_device(parts, batch)
            with autocast(parts):
                out = final_output(parts.model(x))
                loss = parts.loss_fn(out.float(), y)
            loss_sum += loss.double() * x.shape[0]
            n += x.shape[0]
            cm.update(out.argmax(1), y)
    return float(loss_sum) / max(n, 1), summarize(cm.compute(), parts.class_names)


def summarize(cm_result: dict, class_names) -> dict:
    """ConfusionMatrix.compute() -> {"miou", "mdice", "pixel_acc", "iou": {class: v}, "dice": {class: v}}."""
    return {"miou": float(cm_result["miou"]), "mdice": float(cm_result["mdice"]),
            "pixel_acc": float(cm_result["accuracy"]),
            "iou": {str(n): float(v) for n, v in zip(class_names, cm_result["iou"])},
            "dice": {str(n): float(v) for n, v in zip(class_names, cm_result["dice"])}}
