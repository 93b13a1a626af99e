"""One optimizer step and one validation pass over the parts of :mod:`segstudio.core.training.parts`.

Both work the same in one process and in each process of a distributed run (``parts.dist``): the step trains
through ``parts.ddp`` and reports the loss over all processes; validation scores this process's exact shard of
the images and sums the confusion matrices and losses over the processes."""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch.utils.data import DataLoader

from segstudio.core.training.parts import Parts


def train_step(parts: Parts, batch: dict,
               time_fraction: Callable[[], Optional[float]]) -> tuple[float, int, Optional[float]]:
    """Forward, backward, (clip), optimizer and schedule step on one batch; ``(loss, images, time fraction)``:
    the mean loss and the images over all processes of the run.

    ``time_fraction()`` (elapsed / budget, None without a budget; rank 0's in a distributed run) is read after
    the step, for the time-aware cosine and the time budget."""
    x, y = to_device(parts, batch)
    with autocast(parts):
        out = parts.ddp(x)
        loss = parts.loss_fn(out, y)
    parts.optimizer.zero_grad(set_to_none=True)
    parts.scaler.scale(loss).backward()
    if parts.cfg.grad_clip:
        parts.scaler.unscale_(parts.optimizer)
        torch.nn.utils.clip_grad_norm_(parts.model.parameters(), parts.cfg.grad_clip)
    parts.scaler.step(parts.optimizer)
    parts.scaler.update()
    if parts.ema is not None:
        parts.ema.update(parts.model)
    lv, images, fraction = parts.dist.after_step(loss.detach(), x.shape[0], time_fraction())
    if fraction is not None:
        parts.schedule.time_fraction = fraction
    parts.schedule.step()
    return lv, images, fraction


def set_frozen(parts: Parts, epoch: int) -> None:
    """Encoder parameters train from epoch ``freeze_epochs + 1`` on.  Builds ``parts.ddp`` for the parameters
    that train (DistributedDataParallel registers them when it is built)."""
    frozen = epoch <= parts.cfg.freeze_epochs
    for p in parts.encoder_params:
        p.requires_grad_(not frozen)
    if parts.ddp is None or (parts.ddp_frozen != frozen and parts.encoder_params):
        parts.ddp = parts.dist.wrap(parts.model, parts.device)
        parts.ddp_frozen = frozen


def epoch_order(parts: Parts, epoch: int) -> list[int]:
    """This process's part of the shuffled training order of ``epoch`` (seeded by seed and epoch: a resume
    replays it; one process: the whole permutation)."""
    return parts.dist.train_order(len(parts.train_ds), parts.cfg.seed, epoch)


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
    return torch.autocast(parts.device.type, dtype=parts.amp_dtype)


def validate(parts: Parts) -> tuple[float, dict]:
    """``(val loss, metrics)`` over the validation set (metrics: see :func:`summarize`).

    The loss is the mean over the images of each image's loss, so it does not depend on how the images are
    batched or shared between processes; each process scores its shard (:meth:`Dist.shard`, no image
    twice) and the confusion matrices and loss sums are added up over the processes."""
    from segstudio.core.metrics import ConfusionMatrix
    from segstudio.core.models.base import final_output

    model = parts.eval_model   # the weights' moving average when the run keeps one
    model.eval()
    cm = ConfusionMatrix(parts.num_classes, ignore_index=-1)
    loss_sum = torch.zeros((), device=parts.device, dtype=torch.float64)
    n = 0
    with torch.no_grad():
        for batch in loader(parts, parts.val_ds, parts.dist.shard(len(parts.val_ds)), False):
            x, y = to_device(parts, batch)
            with autocast(parts):
                out = final_output(model(x))
            for i in range(x.shape[0]):
                loss_sum += parts.loss_fn(out[i:i + 1].float(), y[i:i + 1]).double()
            n += x.shape[0]
            cm.update(out.argmax(1), y)
    totals = torch.tensor([float(loss_sum), float(n)], dtype=torch.float64)
    parts.dist.sum_(cm.matrix)
    parts.dist.sum_(totals)
    return float(totals[0]) / max(float(totals[1]), 1.0), summarize(cm.compute(), parts.class_names)


def summarize(cm_result: dict, class_names) -> dict:
    """ConfusionMatrix.compute() -> {"miou", "mdice", "pixel_acc", "iou": {class: v}, "dice": {class: v}}."""
    return {"miou": float(cm_result["miou"]), "mdice": float(cm_result["mdice"]),
            "pixel_acc": float(cm_result["accuracy"]),
            "iou": {str(n): float(v) for n, v in zip(class_names, cm_result["iou"])},
            "dice": {str(n): float(v) for n, v in zip(class_names, cm_result["dice"])}}
