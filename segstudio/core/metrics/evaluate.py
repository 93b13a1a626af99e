"""Evaluate predicted label masks against ground truth: the ``segstudio evaluate`` result.

``evaluate_masks(pairs, class_names)`` takes ``(name, pred, gt)`` triples (arrays, or mask files read with
the mask conventions) and returns::

    {"classes": [...], "n_images": N,
     "per_class": {NAME: {"iou", "dice", "precision", "recall", "pa", "hd95", "hd95_images",
                          "hd95_undefined"}},
     "mean": {"miou", "mdice", "mpa", "mprecision", "mrecall"}, "accuracy": float,
     "ap": {"50", "70", "90"},
     "per_image": [{"image", "iou", "dice", "ious": {NAME: v}, "hd95": {NAME: v}}],
     "confusion": [[...]]}                               # rows = ground truth, columns = prediction

Set-level per-class metrics come from one confusion matrix over all pixels (ConfusionMatrix conventions).
Per image: ``iou`` / ``dice`` = foreground score = mean over the foreground classes (1..C-1) present in the
image's prediction or ground truth (1.0 when neither has any foreground); AP50/70/90 = share of images whose
``iou`` >= 0.5 / 0.7 / 0.9.  HD95 is computed per image for foreground classes (see surface.py); a class's
set HD95 is the mean of its finite per-image values over the images where it appears (nan if none);
``hd95_images`` = how many images that mean covers, ``hd95_undefined`` = images where the class is in
exactly one of prediction and ground truth (HD95 undefined, left out of the mean: a missed or invented
object does not raise the set HD95, so read it with these counts); background HD95 is not computed (null,
counts 0).  Ground-truth ignore pixels are skipped everywhere (for HD95 they
count as outside both masks); ignore values in a prediction count as background.
``evaluate_dirs(pred_dir, gt_dir, class_names)`` pairs files by stem.  ``result_to_json`` writes nan as null.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

from segstudio.core.errors import ConfigError, DatasetError, MaskError
from segstudio.core.metrics.confusion import ConfusionMatrix, confusion_counts, nanmean
from segstudio.core.metrics.surface import hd95 as hd95_fn
from segstudio.core.progress import CancelFn, ProgressFn, check_cancel

MASK_EXTENSIONS = (".png", ".bmp", ".tif", ".tiff", ".gif", ".pgm", ".ppm", ".jpg", ".jpeg")
AP_THRESHOLDS = (50, 70, 90)


def _load(mask, num_classes: int, name: str, ignore_index: int = -1) -> tuple[np.ndarray, str]:
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


def image_scores(pred: np.ndarray, gt: np.ndarray, num_classes: int, *, ignore_index: int = -1,
                 with_hd95: bool = True, counts: Optional[np.ndarray] = None) -> dict:
    """Per-class IoU/Dice (nan when a class is in neither), foreground IoU/Dice and HD95 of one image.

    ``counts`` is the image's confusion matrix when the caller already has it.
    """
    m = confusion_counts(pred, gt, num_classes, ignore_index) if counts is None else counts
    inter = np.diag(m).astype(np.float64)
    sp, sg = m.sum(0).astype(np.float64), m.sum(1).astype(np.float64)
    union = sp + sg - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        ious = np.where(union > 0, inter / np.maximum(union, 1), np.nan)
        dices = np.where(union > 0, 2 * inter / np.maximum(sp + sg, 1), np.nan)
    fg = [c for c in range(1, num_classes) if union[c] > 0]
    hds = [float("nan")] * num_classes
    if with_hd95:
        valid = gt != ignore_index
        for c in range(1, num_classes):
            hds[c] = hd95_fn((pred == c) & valid, (gt == c) & valid) if union[c] > 0 else 0.0
    return {
        "iou": float(np.mean(ious[fg])) if fg else 1.0,
        "dice": float(np.mean(dices[fg])) if fg else 1.0,
        "ious": [float(v) for v in ious],
        "dices": [float(v) for v in dices],
        "hd95": hds,
    }


def evaluate_masks(pairs: Iterable, class_names: Sequence[str], *, ignore_index: int = -1,
                   with_hd95: bool = True, progress: Optional[ProgressFn] = None,
                   cancel: Optional[CancelFn] = None) -> dict:
    """Evaluate ``(name, pred, gt)`` triples; pred/gt are HxW int arrays or mask file paths."""
    names = [str(n) for n in class_names]
    n_cls = len(names)
    if n_cls < 2:
        raise ConfigError(f"evaluation needs at least 2 classes (background + one), got {names}")
    pairs = list(pairs)
    if not pairs:
        raise DatasetError("nothing to evaluate: no (prediction, ground truth) pairs")
    cm = ConfusionMatrix(n_cls, ignore_index=ignore_index)
    per_image = []
    hd_values = [[] for _ in range(n_cls)]
    hd_undefined = [0] * n_cls
    for i, (name, pred, gt) in enumerate(pairs):
        check_cancel(cancel)
        g, _ = _load(gt, n_cls, str(name), ignore_index)
        p, p_where = _load(pred, n_cls, str(name), ignore_index)
        if p.shape != g.shape:
            raise MaskError(f"prediction size {p.shape[1]}x{p.shape[0]} differs from the ground truth's "
                            f"{g.shape[1]}x{g.shape[0]}", p_where)
        p = np.where(p < 0, 0, p)
        counts = confusion_counts(p, g, n_cls, ignore_index)
        cm.add(counts)
        s = image_scores(p, g, n_cls, ignore_index=ignore_index, with_hd95=with_hd95, counts=counts)
        for c in range(1, n_cls):
            if with_hd95 and not math.isnan(s["ious"][c]):  # the class is in the prediction or the ground truth
                if math.isnan(s["hd95"][c]):
                    hd_undefined[c] += 1
                else:
                    hd_values[c].append(s["hd95"][c])
        per_image.append({
            "image": str(name), "iou": s["iou"], "dice": s["dice"],
            "ious": dict(zip(names, s["ious"])), "hd95": dict(zip(names[1:], s["hd95"][1:])),
        })
        if progress is not None:
            progress(i + 1, len(pairs), str(name))
    r = cm.compute()
    per_class = {}
    for c, n in enumerate(names):
        per_class[n] = {k: r[k][c] for k in ("iou", "dice", "precision", "recall", "pa")}
        per_class[n]["hd95"] = float(np.mean(hd_values[c])) if (with_hd95 and hd_values[c]) else float("nan")
        per_class[n]["hd95_images"] = len(hd_values[c])
        per_class[n]["hd95_undefined"] = int(hd_undefined[c])
    fg = [im["iou"] for im in per_image]
    return {
        "classes": names,
        "n_images": len(per_image),
        "per_class": per_class,
        "mean": {k: r[k] for k in ("miou", "mdice", "mpa", "mprecision", "mrecall")},
        "accuracy": r["accuracy"],
        "ap": {str(t): float(np.mean([v >= t / 100 - 1e-12 for v in fg])) for t in AP_THRESHOLDS},
        "mean_image_iou": nanmean(fg),
        "per_image": per_image,
        "confusion": r["matrix"],
    }


def list_masks(folder) -> dict[str, Path]:
    """stem -> mask file in ``folder`` (not recursive); two files with one stem is a DatasetError."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError("not a folder", folder)
    out: dict[str, Path] = {}
    for f in sorted(folder.iterdir()):
        if f.is_file() and f.suffix.lower() in MASK_EXTENSIONS:
            if f.stem in out:
                raise DatasetError(f"two masks for {f.stem!r}: {out[f.stem].name} and {f.name}", folder)
            out[f.stem] = f
    return out


def pair_mask_dirs(pred_dir, gt_dir) -> list[tuple[str, Path, Path]]:
    """(stem, prediction file, ground-truth file) for every ground-truth mask; a missing prediction is a
    DatasetError listing the missing stems.  Predictions without ground truth are not evaluated."""
    gts = list_masks(gt_dir)
    if not gts:
        raise DatasetError(f"no mask files ({', '.join(MASK_EXTENSIONS)})", gt_dir)
    preds = list_masks(pred_dir)
    missing = [s for s in gts if s not in preds]
    if missing:
        shown = ", ".join(missing[:10]) + (f", ... ({len(missing)} in all)" if len(missing) > 10 else "")
        raise DatasetError(f"no prediction for {len(missing)} ground-truth mask(s): {shown}", pred_dir)
    return [(s, preds[s], g) for s, g in gts.items()]


def evaluate_dirs(pred_dir, gt_dir, class_names: Sequence[str], **kwargs) -> dict:
    """``evaluate_masks`` on the masks of two folders paired by file stem."""
    pairs = pair_mask_dirs(pred_dir, gt_dir)
    result = evaluate_masks(pairs, class_names, **kwargs)
    gts = {s for s, _, _ in pairs}
    result["unmatched_predictions"] = sorted(s for s in list_masks(pred_dir) if s not in gts)
    return result


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
