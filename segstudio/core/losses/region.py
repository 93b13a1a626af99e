"""Region (soft overlap) losses: ``dice``, ``jaccard`` and ``tversky``, on a shared :class:`RegionLoss`."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from segstudio.core.errors import ConfigError
from segstudio.core.losses.base import EPS, LOSSES, SegLoss, _zero


class RegionLoss(SegLoss):
    """Soft overlap losses on probabilities summed over the batch and the valid pixels, per class.

    TP_c = sum p_c y_c, FP_c = sum p_c (1 - y_c), FN_c = sum (1 - p_c) y_c; loss = 1 - weighted mean over
    classes of score_c (class weights, default equal).  ``include_background=False`` drops class 0 (C >= 2).
    ``smooth`` (default 1) is added to numerator and denominator, so a class absent from target and
    prediction scores 1.  C == 1 uses the sigmoid foreground probability as the only class.
    """

    def __init__(self, num_classes, ignore_index=-1, class_weights=None, *, smooth: float = 1.0,
                 include_background: bool = True):
        super().__init__(num_classes, ignore_index, class_weights)
        if float(smooth) < 0:
            raise ConfigError(f"smooth must be >= 0, got {smooth}")
        self.smooth = float(smooth)
        self.include_background = bool(include_background)
        if not include_background and num_classes < 2:
            raise ConfigError("include_background=False needs at least 2 classes")

    def stats(self, logits, t, valid):
        m = valid.unsqueeze(1).to(logits.dtype)
        if logits.shape[1] == 1:
            p = torch.sigmoid(logits)
            y = (t == 1).unsqueeze(1).to(logits.dtype)
        else:
            p = torch.softmax(logits, 1)
            y = F.one_hot(t, logits.shape[1]).permute(0, 3, 1, 2).to(logits.dtype)
        p, y = p * m, y * m
        dims = (0, 2, 3)
        tp = (p * y).sum(dims)
        fp = p.sum(dims) - tp
        fn = y.sum(dims) - tp
        return tp, fp, fn

    def score(self, tp, fp, fn):  # pragma: no cover - abstract
        raise NotImplementedError

    def compute(self, logits, t, valid):
        tp, fp, fn = self.stats(logits, t, valid)
        s = self.score(tp, fp, fn)
        # C == 1: one class only, weights are moot
        w = self.class_weights if self.class_weights is not None and len(s) > 1 else torch.ones_like(s)
        if not self.include_background and len(s) > 1:
            s, w = s[1:], w[1:]
        if w.sum() <= 0:
            return _zero(logits)
        return 1.0 - (s * w).sum() / w.sum()


@LOSSES.register("dice")
class DiceLoss(RegionLoss):
    """1 - mean_c (2 TP + s) / (2 TP + FP + FN + s)."""

    def score(self, tp, fp, fn):
        return (2 * tp + self.smooth) / (2 * tp + fp + fn + self.smooth).clamp_min(EPS)


@LOSSES.register("jaccard")
class JaccardLoss(RegionLoss):
    """1 - mean_c (TP + s) / (TP + FP + FN + s) (soft IoU)."""

    def score(self, tp, fp, fn):
        return (tp + self.smooth) / (tp + fp + fn + self.smooth).clamp_min(EPS)


@LOSSES.register("tversky")
class TverskyLoss(RegionLoss):
    """1 - mean_c (TP + s) / (TP + alpha FP + beta FN + s); alpha weighs false positives, beta false
    negatives (default 0.3 / 0.7, Salehi et al.; 0.5 / 0.5 is Dice)."""

    def __init__(self, num_classes, ignore_index=-1, class_weights=None, *, alpha: float = 0.3,
                 beta: float = 0.7, smooth: float = 1.0, include_background: bool = True):
        super().__init__(num_classes, ignore_index, class_weights, smooth=smooth,
                         include_background=include_background)
        if float(alpha) < 0 or float(beta) < 0 or float(alpha) + float(beta) <= 0:
            raise ConfigError(f"tversky alpha and beta must be >= 0 and not both 0, got {alpha}, {beta}")
        self.alpha, self.beta = float(alpha), float(beta)

    def score(self, tp, fp, fn):
        return (tp + self.smooth) / (tp + self.alpha * fp + self.beta * fn + self.smooth).clamp_min(EPS)
