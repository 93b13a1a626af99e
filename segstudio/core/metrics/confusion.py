"""Streaming confusion matrix and the per-class / mean metrics derived from it.

Conventions (docs/models.md):
- rows = ground truth class, columns = predicted class; pixels whose target is ``ignore_index`` are skipped.
- per class: IoU = TP/(TP+FP+FN), Dice = 2TP/(2TP+FP+FN), precision = TP/(TP+FP), recall = PA = TP/(TP+FN).
- a class that appears in neither ground truth nor prediction over everything seen gets nan for every
  metric and is left out of the means; a class that appears somewhere but makes a denominator 0
  (e.g. never predicted -> precision) gets 0 for it.
- means (miou, mdice, mpa, mprecision, mrecall) are nan-means over classes; ``accuracy`` = trace / total.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from segstudio.core.errors import ConfigError, DatasetError

METRIC_NAMES = ("iou", "dice", "precision", "recall", "pa")
MEAN_NAMES = {"miou": "iou", "mdice": "dice", "mpa": "pa", "mprecision": "precision", "mrecall": "recall"}


def _as_tensor(a) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a.detach()
    return torch.from_numpy(np.ascontiguousarray(a))


class ConfusionMatrix:
    """``update(pred, target)`` accumulates; ``compute()`` returns the metrics dict.

    ``pred`` is a label map of the same shape as ``target`` (torch or numpy, any integer dtype), or logits
    with one more dimension (N x C x H x W against N x H x W), which are arg-maxed over dim 1.
    """

    def __init__(self, num_classes: int, ignore_index: int = -1):
        if int(num_classes) < 1:
            raise ConfigError(f"num_classes must be >= 1, got {num_classes}")
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        self.matrix = torch.zeros(self.num_classes, self.num_classes, dtype=torch.int64)

    def reset(self) -> None:
        self.matrix.zero_()

    def update(self, pred, target) -> None:
        p, t = _as_tensor(pred), _as_tensor(target)
        if p.dim() == t.dim() + 1:
            p = p.argmax(1)
        if p.shape != t.shape:
            raise ConfigError(f"prediction shape {tuple(p.shape)} does not match target shape {tuple(t.shape)}")
        p = p.reshape(-1).to(torch.int64).cpu()
        t = t.reshape(-1).to(torch.int64).cpu()
        keep = t != self.ignore_index
        if not bool(keep.all()):
            p, t = p[keep], t[keep]
        if t.numel() == 0:
            return
        n = self.num_classes
        if int(t.min()) < 0 or int(t.max()) >= n:
            raise DatasetError(f"target has class id {int(t.max()) if int(t.max()) >= n else int(t.min())}"
                               f" outside 0..{n - 1}")
        if int(p.min()) < 0 or int(p.max()) >= n:
            raise DatasetError(f"prediction has class id {int(p.max()) if int(p.max()) >= n else int(p.min())}"
                               f" outside 0..{n - 1}")
        self.matrix += torch.bincount(t * n + p, minlength=n * n).reshape(n, n)

    def __iadd__(self, other: "ConfusionMatrix") -> "ConfusionMatrix":
        if other.num_classes != self.num_classes:
            raise ConfigError("cannot merge confusion matrices of different class counts")
        self.matrix += other.matrix
        return self

    def compute(self) -> dict:
        """Per-class lists ``iou dice precision recall pa``, means, ``accuracy`` and the raw ``matrix``."""
        out = metrics_from_matrix(self.matrix.numpy())
        out["matrix"] = self.matrix.tolist()
        return out


def _ratio(num: np.ndarray, den: np.ndarray, present: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den > 0, num / np.maximum(den, 1), 0.0)
    return np.where(present, r, np.nan)


def nanmean(values) -> float:
    v = [float(x) for x in values if not math.isnan(float(x))]
    return float(sum(v) / len(v)) if v else float("nan")


def metrics_from_matrix(matrix: np.ndarray) -> dict:
    m = np.asarray(matrix, dtype=np.float64)
    tp = np.diag(m)
    gt = m.sum(1)
    pr = m.sum(0)
    fp, fn = pr - tp, gt - tp
    present = (gt + pr) > 0
    per = {
        "iou": _ratio(tp, tp + fp + fn, present),
        "dice": _ratio(2 * tp, 2 * tp + fp + fn, present),
        "precision": _ratio(tp, tp + fp, present),
        "recall": _ratio(tp, tp + fn, present),
    }
    per["pa"] = per["recall"]
    out: dict = {k: [float(x) for x in v] for k, v in per.items()}
    for mean_name, key in MEAN_NAMES.items():
        out[mean_name] = nanmean(out[key])
    total = m.sum()
    out["accuracy"] = float(tp.sum() / total) if total > 0 else float("nan")
    return out
