"""Streaming confusion matrix and the per-class / mean metrics derived from it.

Conventions (docs/metrics.md):
- rows = ground truth class, columns = predicted class; pixels whose target is ``ignore_index`` are skipped.
- per class: IoU = TP/(TP+FP+FN), Dice = 2TP/(2TP+FP+FN), precision = TP/(TP+FP), recall = PA = TP/(TP+FN).
- a class that appears in neither ground truth nor prediction over everything seen gets nan for every
  metric and is left out of the means; a class that appears somewhere but makes a denominator 0
  (e.g. never predicted -> precision) gets 0 for it.
- means (miou, mdice, mpa, mprecision, mrecall) are nan-means over classes; ``accuracy`` = trace / total.

torch is imported inside the functions that use it: the GUI imports this module (the review layer's scores)
before its first frame, when torch is not loaded yet (issue 10; tests/test_startup_imports.py).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from segstudio.core.errors import ConfigError, DatasetError

if TYPE_CHECKING:
    import torch

METRIC_NAMES = ("iou", "dice", "precision", "recall", "pa")
MEAN_NAMES = {"miou": "iou", "mdice": "dice", "mpa": "pa", "mprecision": "precision", "mrecall": "recall"}


def _as_tensor(a) -> torch.Tensor:
    import torch  # here, not at the top: the GUI reaches this module before its first frame (issue 10)

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
        import torch

        self.matrix = torch.zeros(self.num_classes, self.num_classes, dtype=torch.int64)

    def reset(self) -> None:
        self.matrix.zero_()

    def update(self, pred, target) -> None:
        import torch

        if isinstance(pred, np.ndarray) and isinstance(target, np.ndarray):
            self.matrix += torch.from_numpy(confusion_counts(pred, target, self.num_classes, self.ignore_index))
            return
        p, t = _as_tensor(pred), _as_tensor(target)
        if p.dim() == t.dim() + 1:
            p = p.argmax(1)
        if p.device.type == "cpu" and t.device.type == "cpu":  # numpy's bincount is faster on the CPU
            self.matrix += torch.from_numpy(confusion_counts(p.numpy(), t.numpy(), self.num_classes,
                                                             self.ignore_index))
            return
        self.matrix += torch_confusion_counts(p, t, self.num_classes, self.ignore_index)

    def add(self, counts) -> None:
        """Add a ``num_classes`` x ``num_classes`` count matrix (e.g. from :func:`confusion_counts`)."""
        import torch

        self.matrix += torch.as_tensor(np.asarray(counts), dtype=torch.int64)

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


def _check_range(what: str, lo: int, hi: int, n: int) -> None:
    if lo < 0 or hi >= n:
        raise DatasetError(f"{what} has class id {hi if hi >= n else lo} outside 0..{n - 1}")


def confusion_counts(pred: np.ndarray, target: np.ndarray, num_classes: int, ignore_index: int = -1) -> np.ndarray:
    """int64 (num_classes, num_classes) counts of one prediction/target pair (numpy; rows = target)."""
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.ndim == target.ndim + 1:
        pred = pred.argmax(0 if pred.ndim == 3 else 1)
    if pred.shape != target.shape:
        raise ConfigError(f"prediction shape {pred.shape} does not match target shape {target.shape}")
    n = int(num_classes)
    t = target.reshape(-1).astype(np.int64, copy=False)
    p = pred.reshape(-1).astype(np.int64, copy=False)
    keep = t != ignore_index
    if not keep.all():
        t, p = t[keep], p[keep]
    if t.size == 0:
        return np.zeros((n, n), np.int64)
    _check_range("target", int(t.min()), int(t.max()), n)
    _check_range("prediction", int(p.min()), int(p.max()), n)
    idx = t * n + p
    return np.bincount(idx, minlength=n * n).reshape(n, n).astype(np.int64)


def torch_confusion_counts(pred: torch.Tensor, target: torch.Tensor, num_classes: int,
                           ignore_index: int = -1) -> torch.Tensor:
    """Like :func:`confusion_counts` for tensors on any device (used for GPU tensors); returns CPU int64."""
    import torch

    if pred.shape != target.shape:
        raise ConfigError(f"prediction shape {tuple(pred.shape)} does not match target shape {tuple(target.shape)}")
    n = int(num_classes)
    p = pred.reshape(-1).to(torch.int64)
    t = target.reshape(-1).to(torch.int64).to(p.device)
    keep = t != ignore_index
    if not bool(keep.all()):
        p, t = p[keep], t[keep]
    if t.numel() == 0:
        return torch.zeros(n, n, dtype=torch.int64)
    _check_range("target", *(int(v) for v in torch.aminmax(t)), n)
    _check_range("prediction", *(int(v) for v in torch.aminmax(p)), n)
    return torch.bincount(t * n + p, minlength=n * n).reshape(n, n).cpu()


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
