"""Measuring candidate configurations for the planner (:mod:`.planner`) and finding local pretrained
encoder weights.  A real training step (model, loss, AdamW, the augmentation of the batch) is timed on the
device the run will use; nothing is downloaded."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional


@dataclass
class Candidate:
    img_size: int
    model: str
    model_kwargs: dict
    batch_size: int
    cost_units: float                 # relative cost per image
    step_s: Optional[float] = None    # measured seconds per optimizer step
    predicted_step_s: Optional[float] = None

    @property
    def label(self) -> str:
        if "base" in self.model_kwargs:
            return f"{self.img_size} px, U-Net base {self.model_kwargs['base']}"
        enc = self.model_kwargs.get("encoder", "")
        return f"{self.img_size} px, {self.model}{' ' + enc if enc else ''}"


def measure_step(cand: Candidate, in_channels: int, num_classes: int, loss: str, augment: str, device,
                 steps: int = 4, warmup: int = 2, augment_overrides: Optional[dict] = None, amp: str = "auto",
                 channels_last: bool = True) -> float:
    """Seconds per optimizer step of ``cand`` on ``device`` (median of ``steps`` after ``warmup`` steps: the
    first steps of a new shape set up kernels and are several times slower), including the augmentation of
    the batch on the CPU, in the memory format and autocast dtype the run will train with."""
    import torch

    from segstudio.core.data import build_transforms
    from segstudio.core.device import autocast_dtype
    from segstudio.core.losses import build_loss
    from segstudio.core.models import build_model

    g = torch.Generator().manual_seed(0)
    kwargs = _without_weights(cand.model, cand.model_kwargs)   # the cost does not depend on the weights
    model = build_model(cand.model, in_channels=in_channels, num_classes=num_classes, **kwargs).to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    model.train()
    dtype = autocast_dtype(amp, device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = build_loss(loss, num_classes, ignore_index=-1).to(device)
    aug = build_transforms(augment, cand.img_size, seed=0, **(augment_overrides or {}))
    s, b = cand.img_size, cand.batch_size
    img = torch.rand(in_channels, s, s, generator=g)
    mask = (torch.rand(s, s, generator=g) * num_classes).long()
    times = []
    for i in range(steps + warmup):
        t0 = time.perf_counter()
        items = [aug(img, mask) for _ in range(b)]
        x = torch.stack([a for a, _ in items]).to(device)
        y = torch.stack([m for _, m in items]).to(device)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            out = model(x)
            lv = loss_fn(out, y)
        lv.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return float(sorted(times)[len(times) // 2])


def _without_weights(name: str, kwargs: dict) -> dict:
    """``kwargs`` with ``encoder_weights=None`` for models that take it: measuring never loads (or warns about
    missing) pretrained weights; the run itself does, once."""
    import inspect

    from segstudio.core.models import MODELS

    out = dict(kwargs)
    accepts = "encoder_weights" in out or str(name).startswith("smp:")
    if not accepts and name in MODELS:
        try:
            accepts = "encoder_weights" in inspect.signature(MODELS.get(name)).parameters
        except (TypeError, ValueError):  # pragma: no cover - a factory without a signature
            accepts = False
    if accepts:
        out["encoder_weights"] = None
    return out


def find_pretrained(model_hint: Optional[str] = None, weights_file: Optional[str] = None) -> tuple[Optional[dict], str]:
    """``(model_kwargs, note)`` of a ResNet-encoder U-Net whose ImageNet weights are on this machine
    (``weights_file``, else the torch hub cache: resnet34, then resnet18), or ``(None, why not)``.
    Never downloads."""
    from segstudio.core.models.weights import find_encoder_weights

    if weights_file:
        path, why = find_encoder_weights(weights_file, "resnet34")
        if path:
            enc = _guess_resnet(path)
            return {"encoder": enc, "encoder_weights": path}, f"encoder weights from {path}"
        return None, why or f"{weights_file}: not found"
    for enc in ("resnet34", "resnet18"):
        path, _why = find_encoder_weights("imagenet", enc)
        if path:
            return {"encoder": enc, "encoder_weights": path}, f"ImageNet {enc} weights found at {path}"
    _p, why = find_encoder_weights("imagenet", "resnet34")
    return None, f"no ImageNet encoder weights on this machine ({why}); training from scratch"


def _guess_resnet(path: str) -> str:
    name = str(path).lower()
    for enc in ("resnet101", "resnet50", "resnet18", "resnet34"):
        if enc in name:
            return enc
    return "resnet34"


