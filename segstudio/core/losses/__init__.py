"""Segmentation losses (registry ``LOSSES``) and ``build_loss``; see docs/models.md.

``base.py`` holds the registry and :class:`SegLoss` (ignore mask, class weights, deep supervision); the losses
are grouped by family: ``pixel.py`` (ce, bce, focal), ``region.py`` (dice, jaccard, tversky) and
``combined.py`` (dice_ce, dice_focal).
"""
from __future__ import annotations

import inspect
from typing import Optional, Sequence

from torch import nn

from segstudio.core.errors import ConfigError
from segstudio.core.losses import combined, pixel, region  # noqa: F401 - they register the losses
from segstudio.core.losses.base import LOSSES, SegLoss, binary_logit


def build_loss(name: str, num_classes: int, ignore_index: int = -1,
               class_weights: Optional[Sequence[float]] = None, **kwargs) -> nn.Module:
    """Build a registered loss: ``loss(logits N x C x H x W (or a list of them), target N x H x W) -> scalar``.

    Unknown names raise ``UnknownNameError``; bad options raise ``ConfigError``.
    """
    cls = LOSSES.get(name)
    try:
        inspect.signature(cls).bind(num_classes, ignore_index, class_weights, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"loss {name!r}: bad options {sorted(kwargs)}: {exc}") from None
    return cls(num_classes, ignore_index, class_weights, **kwargs)


__all__ = ["LOSSES", "SegLoss", "binary_logit", "build_loss"]
