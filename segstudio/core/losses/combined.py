"""Weighted sums of a region and a pixel-wise loss: ``dice_ce`` and ``dice_focal``."""
from __future__ import annotations

from segstudio.core.losses.base import LOSSES, SegLoss
from segstudio.core.losses.pixel import CrossEntropyLoss, FocalLoss
from segstudio.core.losses.region import DiceLoss


class _Sum(SegLoss):
    """weight_a * a + weight_b * b, both on the same (validated) input."""

    def __init__(self, num_classes, ignore_index, class_weights, a: SegLoss, b: SegLoss, wa: float, wb: float):
        super().__init__(num_classes, ignore_index, class_weights)
        self.a, self.b, self.wa, self.wb = a, b, float(wa), float(wb)

    def compute(self, logits, t, valid):
        return self.wa * self.a.compute(logits, t, valid) + self.wb * self.b.compute(logits, t, valid)


@LOSSES.register("dice_ce")
class DiceCELoss(_Sum):
    """dice_weight * dice + ce_weight * ce (defaults 1, 1); class weights go to both."""

    def __init__(self, num_classes, ignore_index=-1, class_weights=None, *, dice_weight: float = 1.0,
                 ce_weight: float = 1.0, smooth: float = 1.0, include_background: bool = True):
        dice = DiceLoss(num_classes, ignore_index, class_weights, smooth=smooth, include_background=include_background)
        ce = CrossEntropyLoss(num_classes, ignore_index, class_weights)
        super().__init__(num_classes, ignore_index, class_weights, dice, ce, dice_weight, ce_weight)


@LOSSES.register("dice_focal")
class DiceFocalLoss(_Sum):
    """dice_weight * dice + focal_weight * focal (defaults 1, 1, gamma 2)."""

    def __init__(self, num_classes, ignore_index=-1, class_weights=None, *, dice_weight: float = 1.0,
                 focal_weight: float = 1.0, gamma: float = 2.0, smooth: float = 1.0, include_background: bool = True):
        dice = DiceLoss(num_classes, ignore_index, class_weights, smooth=smooth, include_background=include_background)
        focal = FocalLoss(num_classes, ignore_index, class_weights, gamma=gamma)
        super().__init__(num_classes, ignore_index, class_weights, dice, focal, dice_weight, focal_weight)
