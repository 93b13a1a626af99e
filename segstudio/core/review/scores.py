"""Scores of predicted label masks against ground truth, for one image and for a set: the one result type of
``segstudio evaluate``, ``segstudio predict --gt``, the demo report and the Review dock.

The conventions, and why, are in docs/metrics.md:

* per class: IoU = TP/(TP+FP+FN), Dice = 2TP/(2TP+FP+FN), precision = TP/(TP+FP), recall = PA = TP/(TP+FN)
  (``ConfusionMatrix``); a class in neither mask is nan and left out of every mean.
* ``miou`` (and mdice, mprecision, mrecall, mpa) = mean over all classes present, **background included**
  (VOC / bubbliiiing), for an image as for a set; ``fg_iou`` / ``fg_dice`` = the same mean over the
  foreground classes only (1.0 when there is no foreground in either mask: nothing to find, nothing found).
* a set pools all pixels in one confusion matrix; its HD95 is the mean of the defined per-image values.
* HD95 (pixels, foreground classes) is undefined (nan) for a class in only one of the two masks (missed or
  invented) and for a class in neither; undefined values are left out of the set mean and counted
  (``hd95_undefined``, ``hd95_absent``), so the mean is read with ``hd95_n`` = the images it covers.
* ground-truth ignore pixels (``ignore_index``) are skipped everywhere; ignore values in a prediction count as
  background.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

import numpy as np

from segstudio.core.errors import ConfigError, DatasetError, MaskError
from segstudio.core.metrics.confusion import ConfusionMatrix, confusion_counts, metrics_from_matrix, nanmean
from segstudio.core.metrics.surface import hd95 as hd95_fn
from segstudio.core.progress import CancelFn, ProgressFn, check_cancel

CLASS_METRICS = ("iou", "dice", "precision", "recall", "pa")
MEANS = {"miou": "iou", "mdice": "dice", "mpa": "pa", "mprecision": "precision", "mrecall": "recall"}
AP_THRESHOLDS = (50, 70, 90)


@dataclass
class Scores:
    """Per-class lists (index = class id) and their means, of one image (``image`` = its name) or of a whole
    set (``image`` None: one confusion matrix pooled over every pixel of ``n_images`` images)."""

    image: Optional[str]
    n_images: int
    iou: list[float]
    dice: list[float]
    precision: list[float]
    recall: list[float]
    pa: list[float]
    miou: float
    mdice: float
    mprecision: float
    mrecall: float
    mpa: float
    accuracy: float
    fg_iou: float
    fg_dice: float
    hd95: list[float]                 # pixels; nan for the background, undefined or not computed
    hd95_n: list[int]                 # images whose HD95 of the class enters ``hd95`` (an image: 0 or 1)
    hd95_undefined: list[int]         # images where the class is in exactly one of prediction and truth
    hd95_absent: list[int]            # images where the class is in neither
    hd95_complete: int                # images whose every class present has a defined HD95
    with_hd95: bool
    confusion: np.ndarray             # int64 C x C, rows = ground truth, columns = prediction

    @property
    def hd95_images(self) -> tuple[int, int]:
        """(k, n): k of the n images have an HD95 for every class they contain ((0, 0) without HD95)."""
        return (self.hd95_complete, self.n_images) if self.with_hd95 else (0, 0)

    def means(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in MEANS}


def _fg_mean(values: Sequence[float]) -> float:
    """Mean over the foreground classes present (1.0 when none is: nothing to find and nothing found)."""
    v = [x for x in values[1:] if not math.isnan(x)]
    return float(sum(v) / len(v)) if v else 1.0


def _scores(image, n_images, matrix: np.ndarray, hd95, hd95_n, undefined, absent, complete, with_hd95) -> Scores:
    m = metrics_from_matrix(matrix)
    return Scores(image=image, n_images=n_images, **{k: m[k] for k in CLASS_METRICS}, **{k: m[k] for k in MEANS},
                  accuracy=m["accuracy"], fg_iou=_fg_mean(m["iou"]), fg_dice=_fg_mean(m["dice"]),
                  hd95=list(hd95), hd95_n=list(hd95_n), hd95_undefined=list(undefined),
                  hd95_absent=list(absent), hd95_complete=int(complete), with_hd95=with_hd95,
                  confusion=np.asarray(matrix, np.int64))


def score_image(pred: np.ndarray, gt: np.ndarray, num_classes: int, *, name: str = "", ignore_index: int = -1,
                with_hd95: bool = True) -> Scores:
    """The scores of one prediction (HxW class ids; negative = background) against its ground truth."""
    pred, gt = np.asarray(pred), np.asarray(gt)
    if pred.shape != gt.shape:
        raise MaskError(f"prediction size {pred.shape[-1]}x{pred.shape[0]} differs from the ground truth's "
                        f"{gt.shape[-1]}x{gt.shape[0]}", name or None)
    pred = np.where((pred < 0) | (pred == ignore_index), 0, pred)
    n = int(num_classes)
    counts = confusion_counts(pred, gt, n, ignore_index)
    hd = [math.nan] * n
    hd_n, undefined, absent = [0] * n, [0] * n, [0] * n
    if with_hd95:
        valid = gt != ignore_index
        for c in range(1, n):
            in_p, in_g = bool(counts[:, c].sum()), bool(counts[c, :].sum())
            if in_p and in_g:
                hd[c] = hd95_fn((pred == c) & valid, (gt == c) & valid)
                hd_n[c] = 1
            elif in_p or in_g:
                undefined[c] = 1
            else:
                absent[c] = 1
    return _scores(name, 1, counts, hd, hd_n, undefined, absent, int(with_hd95 and not any(undefined)), with_hd95)


@dataclass
class Evaluation:
    """Scores of a set of predictions: ``overall`` (pooled; None when nothing was scored) and ``per_image``
    (name -> Scores, in evaluation order), plus what was left out and why."""

    class_names: list[str]
    overall: Optional[Scores] = None
    per_image: dict[str, Scores] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)      # name -> "path: reason" (skipped)
    sources: dict[str, int] = field(default_factory=dict)       # checkpoint ("" = unknown) -> images scored
    unmatched_predictions: list[str] = field(default_factory=list)
    with_hd95: bool = True

    @property
    def n_images(self) -> int:
        return len(self.per_image)

    def miou(self, name: str) -> float:
        s = self.per_image.get(name)
        return math.nan if s is None else s.miou

    def ap(self) -> dict[str, float]:
        """AP50/70/90: the share of images whose foreground IoU reaches 0.5 / 0.7 / 0.9."""
        fg = [s.fg_iou for s in self.per_image.values()]
        return {str(t): float(np.mean([v >= t / 100 - 1e-12 for v in fg])) if fg else math.nan
                for t in AP_THRESHOLDS}

    def mean_image_iou(self) -> float:
        return nanmean(s.fg_iou for s in self.per_image.values())

    def to_dict(self) -> dict:
        """The ``segstudio evaluate`` JSON schema (docs/metrics.md); nan stays nan (``to_json`` writes null)."""
        names = self.class_names
        o = self.overall
        per_class = {}
        for c, n in enumerate(names):
            row = {k: (getattr(o, k)[c] if o else math.nan) for k in CLASS_METRICS}
            row["hd95"] = o.hd95[c] if o else math.nan
            for key, attr in (("hd95_images", "hd95_n"), ("hd95_undefined", "hd95_undefined"),
                              ("hd95_absent", "hd95_absent")):
                row[key] = int(getattr(o, attr)[c]) if o else 0
            per_class[n] = row
        mean = o.means() if o else {k: math.nan for k in MEANS}
        mean.update(fg_miou=o.fg_iou if o else math.nan, fg_mdice=o.fg_dice if o else math.nan)
        return {
            "classes": list(names), "n_images": self.n_images, "per_class": per_class, "mean": mean,
            "accuracy": o.accuracy if o else math.nan, "ap": self.ap(), "mean_image_iou": self.mean_image_iou(),
            "per_image": [{"image": name, "iou": s.fg_iou, "dice": s.fg_dice, "miou": s.miou, "mdice": s.mdice,
                           "accuracy": s.accuracy, "ious": dict(zip(names, s.iou)),
                           "dices": dict(zip(names, s.dice)), "hd95": dict(zip(names[1:], s.hd95[1:]))}
                          for name, s in self.per_image.items()],
            "confusion": o.confusion.tolist() if o else [[0] * len(names) for _ in names],
            "unmatched_predictions": list(self.unmatched_predictions),
            "skipped": dict(self.problems),
        }

    def to_json(self) -> str:
        return result_to_json(self.to_dict())


class Evaluator:
    """Accumulates images one at a time (``add``) and builds the :class:`Evaluation` (``result``)."""

    def __init__(self, class_names: Sequence[str], *, ignore_index: int = -1, with_hd95: bool = True):
        self.names = [str(n) for n in class_names]
        if len(self.names) < 2:
            raise ConfigError(f"evaluation needs at least 2 classes (background + one), got {self.names}")
        self.ignore_index = int(ignore_index)
        self.with_hd95 = bool(with_hd95)
        self.pooled = ConfusionMatrix(len(self.names), ignore_index=self.ignore_index)
        self.evaluation = Evaluation(class_names=self.names, with_hd95=self.with_hd95)

    def add(self, name: str, pred: np.ndarray, gt: np.ndarray, *, where=None) -> Scores:
        """Score one image; ``where`` (e.g. the prediction file) names it in a size error."""
        try:
            s = score_image(pred, gt, len(self.names), name=str(name), ignore_index=self.ignore_index,
                            with_hd95=self.with_hd95)
        except MaskError as exc:
            raise MaskError(exc.reason, where if where is not None else exc.path) from None
        self.pooled.add(s.confusion)
        self.evaluation.per_image[str(name)] = s
        return s

    def skip(self, name: str, reason: str) -> None:
        self.evaluation.problems[str(name)] = reason

    def result(self) -> Evaluation:
        ev = self.evaluation
        images = list(ev.per_image.values())
        if images:
            n = len(self.names)
            hd = [nanmean(s.hd95[c] for s in images) if self.with_hd95 else math.nan for c in range(n)]
            total = [[sum(getattr(s, key)[c] for s in images) for c in range(n)]
                     for key in ("hd95_n", "hd95_undefined", "hd95_absent")]
            ev.overall = _scores(None, len(images), self.pooled.matrix.numpy(), hd, *total,
                                 sum(s.hd95_complete for s in images), self.with_hd95)
        return ev


def _load(mask, num_classes: int, name: str, ignore_index: int = -1) -> tuple[np.ndarray, str]:
    """A mask file (mask conventions) or a 2-D integer array, checked against the class count."""
    if isinstance(mask, (str, os.PathLike)):
        from segstudio.core.annotation.masks import read_label_mask

        return read_label_mask(mask, num_classes), os.fspath(mask)
    arr = np.asarray(mask)
    if arr.ndim != 2 or arr.dtype.kind not in "iub":
        raise MaskError(f"mask must be a 2-D integer array, got {arr.dtype} {arr.shape}", name)
    arr = arr.astype(np.int64)
    bad = ((arr < 0) | (arr >= num_classes)) & (arr != -1) & (arr != ignore_index)
    if bad.any():
        raise MaskError(f"mask values {sorted(set(np.unique(arr[bad]).tolist()))[:8]} outside the "
                        f"{num_classes} classes (0..{num_classes - 1}, ignore {ignore_index})", name)
    return arr, name


def evaluate_masks(pairs: Iterable, class_names: Sequence[str], *, ignore_index: int = -1,
                   with_hd95: bool = True, progress: Optional[ProgressFn] = None,
                   cancel: Optional[CancelFn] = None) -> Evaluation:
    """Score ``(name, pred, gt)`` triples (HxW integer arrays or mask file paths); an empty list, a bad
    mask or a size mismatch raises (the file named)."""
    ev = Evaluator(class_names, ignore_index=ignore_index, with_hd95=with_hd95)
    pairs = list(pairs)
    if not pairs:
        raise DatasetError("nothing to evaluate: no (prediction, ground truth) pairs")
    n = len(ev.names)
    for i, (name, pred, gt) in enumerate(pairs):
        check_cancel(cancel)
        g, _ = _load(gt, n, str(name), ignore_index)
        p, where = _load(pred, n, str(name), ignore_index)
        ev.add(str(name), p, g, where=where)
        if progress is not None:
            progress(i + 1, len(pairs), str(name))
    return ev.result()


def _nan_to_none(obj):
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_nan_to_none(v) for v in obj]
    return obj


def result_to_json(result: dict) -> str:
    """Strict JSON (nan / inf -> null)."""
    return json.dumps(_nan_to_none(result), indent=2, allow_nan=False) + "\n"
