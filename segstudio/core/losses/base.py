"""The loss registry and the base class every loss derives from (the losses: pixel.py, region.py, combined.py).

Segmentation losses: ``loss(logits N x C x H x W, target N x H x W int64) -> scalar``.

Every loss ignores pixels whose target equals ``ignore_index`` (default -1): they change neither the value
nor the gradient.  A list/tuple of logits (deep supervision) gives the mean of the loss over the list.
With C == 1 the single channel is a foreground logit (sigmoid); target 1 = foreground, 0 = background.
See docs/models.md for the exact formulas.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from segstudio.core.errors import ConfigError, DatasetError
from segstudio.core.registry import Registry

#: name -> class(num_classes, ignore_index=-1, class_weights=None, **options)
LOSSES: Registry = Registry("loss")
EPS = 1e-7


class SegLoss(nn.Module):
    """Base class: validation, ignore mask, class weights and deep-supervision lists."""

    def __init__(self, num_classes: int, ignore_index: int = -1, class_weights: Optional[Sequence[float]] = None):
        super().__init__()
        if int(num_classes) < 1:
            raise ConfigError(f"num_classes must be >= 1, got {num_classes}")
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        if class_weights is not None:
            w = torch.as_tensor(list(class_weights), dtype=torch.float32)
            n_expected = max(self.num_classes, 2)
            if w.dim() != 1 or len(w) not in (self.num_classes, n_expected):
                raise ConfigError(f"class_weights needs {n_expected} values (one per class), got {list(class_weights)}")
            if not torch.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
                raise ConfigError(f"class_weights must be finite, >= 0 and not all 0, got {list(class_weights)}")
            self.register_buffer("class_weights", w)
        else:
            self.class_weights = None

    def forward(self, logits, target: torch.Tensor) -> torch.Tensor:
        if isinstance(logits, (list, tuple)):
            if not logits:
                raise ConfigError("empty list of logits")
            return torch.stack([self.forward(o, target) for o in logits]).mean()
        if logits.dtype in (torch.float16, torch.bfloat16):
            logits = logits.float()  # soft counts over many pixels overflow float16; the loss is cheap in float32
        valid, t = self._check(logits, target)
        return self.compute(logits, t, valid)

    def compute(self, logits, t, valid) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- helpers -----------------------------------------------------------------------------------------
    def _check(self, logits: torch.Tensor, target: torch.Tensor):
        if logits.dim() != 4 or logits.shape[1] != self.num_classes:
            raise ConfigError(f"loss expects logits N x {self.num_classes} x H x W, got {tuple(logits.shape)}")
        if target.shape != logits.shape[:1] + logits.shape[2:]:
            raise ConfigError(f"target shape {tuple(target.shape)} does not match logits {tuple(logits.shape)}")
        target = target.long()
        valid = target != self.ignore_index
        t = torch.where(valid, target, torch.zeros_like(target))
        if t.numel():
            n = max(self.num_classes, 2)
            lo, hi = int(t.min()), int(t.max())
            if lo < 0 or hi >= n:
                bad = hi if hi >= n else lo
                raise DatasetError(f"target has class id {bad} but there are {n} classes (ignore = {self.ignore_index})")
        return valid, t

    def _pixel_weights(self, t):
        return self.class_weights[t] if self.class_weights is not None else None


def _zero(logits):
    return logits.sum() * 0.0


def _masked_mean(values, valid, weights=None):
    """Mean of ``values`` over valid pixels (weighted by ``weights`` when given, as torch's CE does)."""
    m = valid.to(values.dtype)
    if weights is not None:
        m = m * weights
    den = m.sum()
    if den <= 0:
        return values.sum() * 0.0
    return (values * m).sum() / den


def binary_logit(logits):
    """The foreground logit: the channel itself for C == 1, logit[1] - logit[0] for C == 2."""
    return logits[:, 0] if logits.shape[1] == 1 else logits[:, 1] - logits[:, 0]
