"""Segmentation losses: ``loss(logits N x C x H x W, target N x H x W int64) -> scalar``.

Every loss ignores pixels whose target equals ``ignore_index`` (default -1): they change neither the value
nor the gradient.  A list/tuple of logits (deep supervision) gives the mean of the loss over the list.
With C == 1 the single channel is a foreground logit (sigmoid); target 1 = foreground, 0 = background.
See docs/models.md for the exact formulas.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
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


# --- pixel-wise losses -------------------------------------------------------------------------------------
@LOSSES.register("ce")
class CrossEntropyLoss(SegLoss):
    """Softmax cross-entropy; with class weights, the weighted mean over valid pixels (as torch)."""

    def compute(self, logits, t, valid):
        if logits.shape[1] == 1:
            z, y = logits[:, 0], t.float()
            per = F.binary_cross_entropy_with_logits(z, y, reduction="none")
        else:
            per = F.cross_entropy(logits, t, reduction="none")
        return _masked_mean(per, valid, self._pixel_weights(t))


@LOSSES.register("bce")
class BinaryCrossEntropyLoss(SegLoss):
    """Sigmoid BCE.

    C == 1: on the logit; C == 2: on the foreground logit difference z = l1 - l0 (sigmoid(z) is the softmax
    foreground probability, so this equals 2-class CE); C > 2: one-vs-rest BCE of every channel against the
    one-hot target, averaged over classes.  Class weights weight pixels by their target class
    (C <= 2) or the classes in the one-vs-rest average (C > 2).
    """

    def compute(self, logits, t, valid):
        c = logits.shape[1]
        if c <= 2:
            per = F.binary_cross_entropy_with_logits(binary_logit(logits), t.float(), reduction="none")
            return _masked_mean(per, valid, self._pixel_weights(t))
        onehot = F.one_hot(t, c).permute(0, 3, 1, 2).to(logits.dtype)
        per = F.binary_cross_entropy_with_logits(logits, onehot, reduction="none")  # N C H W
        per_class = torch.stack([_masked_mean(per[:, k], valid) for k in range(c)])
        w = self.class_weights if self.class_weights is not None else torch.ones_like(per_class)
        return (per_class * w).sum() / w.sum()


@LOSSES.register("focal")
class FocalLoss(SegLoss):
    """Focal loss (Lin et al.): mean over valid pixels of -alpha_t (1 - p_t)^gamma log p_t.

    p_t is the softmax probability of the target class (sigmoid for C == 1); alpha_t is the class weight of
    the target class (1 without class weights).  gamma = 0 and no weights gives cross-entropy.
    """

    def __init__(self, num_classes, ignore_index=-1, class_weights=None, *, gamma: float = 2.0):
        super().__init__(num_classes, ignore_index, class_weights)
        if float(gamma) < 0:
            raise ConfigError(f"focal gamma must be >= 0, got {gamma}")
        self.gamma = float(gamma)

    def compute(self, logits, t, valid):
        if logits.shape[1] == 1:
            z = logits[:, 0]
            logpt = torch.where(t == 1, F.logsigmoid(z), F.logsigmoid(-z))
        else:
            logpt = F.log_softmax(logits, 1).gather(1, t.unsqueeze(1)).squeeze(1)
        pt = logpt.exp()
        per = -((1 - pt).clamp_min(0) ** self.gamma) * logpt
        w = self._pixel_weights(t)
        if w is not None:
            per = per * w
        return _masked_mean(per, valid)


# --- region losses -------------------------------------------------------------------------------------------
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


# --- combinations ------------------------------------------------------------------------------------------
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
