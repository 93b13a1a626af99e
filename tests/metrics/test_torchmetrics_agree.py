"""Per-class IoU, Dice, precision and recall equal torchmetrics' on the same masks: over a whole set (pooled, as
torchmetrics accumulates over ``update`` calls) and per image, with an ignore index (issue 13).

torchmetrics (the ``test`` extra) runs in this process: it is pure PyTorch.  Conventions compared:

* a class present in the ground truth or the prediction (after ignore): every value equal to float32 precision
  (torchmetrics computes its ratios in float32; ours are float64);
* a class in neither: ours is nan (docs/metrics.md), left out of the means; torchmetrics gives its
  ``zero_division`` (0) there (per class), and its ``average="macro"`` skips such classes as our means do.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import ndimage

tm = pytest.importorskip("torchmetrics.classification")

from segstudio.core.review import evaluate_masks, score_image  # noqa: E402

IGNORE = 255
N_CLASSES = 4
NAMES = ["_background_", "a", "b", "c"]


def _blobs(rng, shape, n_classes, k=6):
    """A class map of smoothed random blobs (some classes may be missing)."""
    out = np.zeros(shape, np.int64)
    for _ in range(k):
        c = int(rng.integers(1, n_classes))
        field = ndimage.gaussian_filter(rng.random(shape), 3)
        out[field > np.quantile(field, 0.9)] = c
    return out


def _pairs(seed=0, n=6, shape=(48, 64)):
    rng = np.random.default_rng(seed)
    pairs = []
    for i in range(n):
        gt = _blobs(rng, shape, N_CLASSES)
        pred = gt.copy()
        noise = rng.random(shape) < 0.08
        pred[noise] = rng.integers(0, N_CLASSES, int(noise.sum()))
        pred = np.roll(pred, int(rng.integers(-3, 4)), axis=1)          # shifted: boundary errors
        if i == 1:
            pred[pred == 2] = 0                                          # a class never predicted
        if i == 2:
            gt[gt == 3] = 0                                              # a class only predicted
        if i == 3:
            gt[:, :10] = IGNORE                                          # an ignore band (pred has classes there)
        if i == 4:
            gt[gt > 0] = 0                                               # a background-only ground truth
        gt[rng.random(shape) < 0.02] = IGNORE                            # scattered ignore pixels
        pairs.append((f"img{i}", pred, gt))
    return pairs


def _tm_metrics():
    kw = dict(num_classes=N_CLASSES, average="none", ignore_index=IGNORE)
    return {"iou": tm.MulticlassJaccardIndex(**kw), "dice": tm.MulticlassF1Score(**kw),
            "precision": tm.MulticlassPrecision(**kw), "recall": tm.MulticlassRecall(**kw)}


def _present(pred, gt):
    valid = gt != IGNORE
    return {c for c in range(N_CLASSES) if ((gt == c) & valid).any() or ((pred == c) & valid).any()}


def _compare(ours, metrics, present, where):
    for key, metric in metrics.items():
        theirs = metric.compute().double().numpy()
        mine = np.asarray(getattr(ours, key), float)
        for c in range(N_CLASSES):
            if c in present:
                assert mine[c] == pytest.approx(theirs[c], rel=1e-6, abs=1e-7), f"{where} {key}[{c}]"
            else:
                assert math.isnan(mine[c]), f"{where} {key}[{c}] should be nan (class in neither mask)"
                assert theirs[c] == 0.0 or math.isnan(theirs[c])   # torchmetrics: its zero_division (0) or nan


@pytest.mark.parametrize("seed", [0, 1])
def test_per_image_and_pooled_equal_torchmetrics(seed):
    pairs = _pairs(seed)
    ev = evaluate_masks(pairs, NAMES, ignore_index=IGNORE, with_hd95=False)
    pooled = _tm_metrics()
    all_present: set = set()
    for name, pred, gt in pairs:
        single = _tm_metrics()
        for m in (*single.values(), *pooled.values()):
            m.update(torch.from_numpy(pred), torch.from_numpy(gt))
        present = _present(pred, gt)
        all_present |= present
        _compare(ev.per_image[name], single, present, name)
        _compare(score_image(pred, gt, N_CLASSES, ignore_index=IGNORE, with_hd95=False), single, present, name)
    _compare(ev.overall, pooled, all_present, "pooled")


def test_class_absent_from_the_whole_set_is_nan_not_zero():
    gt = np.zeros((8, 8), np.int64)
    gt[2:5, 2:5] = 1
    pred = gt.copy()
    ev = evaluate_masks([("x", pred, gt)], NAMES, ignore_index=IGNORE, with_hd95=False)
    assert all(math.isnan(ev.overall.iou[c]) for c in (2, 3))
    assert ev.overall.miou == 1.0                      # absent classes are left out of the mean
    tm_miou = tm.MulticlassJaccardIndex(num_classes=N_CLASSES, average="macro", ignore_index=IGNORE)
    tm_miou.update(torch.from_numpy(pred), torch.from_numpy(gt))
    assert float(tm_miou.compute()) == pytest.approx(ev.overall.miou)   # torchmetrics' macro skips them too
