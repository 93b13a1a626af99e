"""Pixel-wise losses: cross-entropy (``ce``), binary cross-entropy (``bce``) and focal (``focal``)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from segstudio.core.errors import ConfigError
from segstudio.core.losses.base import LOSSES, SegLoss, _masked_mean, binary_logit


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
