"""Accepting a prediction (core.review.accept): the default simplification keeps IoU >= 0.98 with the mask on
real PH2 lesion masks (full size and at 256 px, where polygons were ~75 vertices) with far fewer vertices, the
guard holds whatever the tolerance, and Replace / Add merge the shapes as promised; the scope helpers
(core.review.subsets) read the run's split and pool a subset again."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from segstudio.core.annotation.document import Shape
from segstudio.core.annotation.labels import LabelSet
from segstudio.core.annotation.mask_to_shapes import mask_to_shapes
from segstudio.core.annotation.rasterize import shapes_to_label
from segstudio.core.review import Evaluator
from segstudio.core.review.accept import (DEFAULT_TOLERANCE, MIN_IOU, conflicting_labels, merge_shapes,
                                          prediction_shapes)
from segstudio.core.review.subsets import run_split, scope_names, subset

LS = LabelSet.from_names(["_background_", "lesion"])


def iou(label, shapes, ls, value=1):
    painted, _ = shapes_to_label(label.shape, shapes, ls.label_name_to_value)
    a, b = painted == value, label == value
    return (a & b).sum() / (a | b).sum()


def ph2_masks(shared_data, size=None, step=10):
    for path in sorted((shared_data / "ph2" / "masks").glob("*.png"))[::step]:
        im = Image.open(path)
        if size:
            im = im.resize((size, round(size * im.height / im.width)), Image.NEAREST)
        yield path.name, (np.asarray(im) > 0).astype(np.int64)


@pytest.mark.parametrize("size", [256, None])
def test_default_tolerance_keeps_iou_098_on_ph2_with_fewer_vertices(shared_data, size):
    fewer = []
    for name, mask in ph2_masks(shared_data, size):
        shapes = prediction_shapes(mask, LS)
        assert iou(mask, shapes, LS) >= MIN_IOU, name
        base = mask_to_shapes(mask, LS, tolerance=DEFAULT_TOLERANCE)
        fewer.append(sum(len(s.points) for s in shapes) / sum(len(s.points) for s in base))
    assert np.mean(fewer) < 0.75   # the point of the tolerance: clearly fewer vertices to correct


@pytest.mark.parametrize("tolerance", [0.0, 1.0, 5.0, 20.0])
def test_any_tolerance_keeps_every_class_above_the_floor(tolerance):
    ls = LabelSet.from_names(["_background_", "lesion", "cyst"])
    yy, xx = np.mgrid[:200, :200]
    mask = np.zeros((200, 200), np.int64)
    mask[(yy - 90) ** 2 + (xx - 100) ** 2 < 70 ** 2] = 1
    mask[(yy - 95) ** 2 + (xx - 110) ** 2 < 12 ** 2] = 2            # a small class inside a large one
    mask[150:160, 20:24] = 2                                        # and a thin one
    shapes = prediction_shapes(mask, ls, tolerance=tolerance)
    for value in (1, 2):
        assert iou(mask, shapes, ls, value) >= MIN_IOU


def test_replace_drops_the_predicted_classes_shapes_add_keeps_them():
    hand = [Shape("lesion", [[0, 0], [5, 0], [5, 5]]), Shape("cyst", [[9, 9], [12, 9], [12, 12]])]
    pred = [Shape("lesion", [[1, 1], [6, 1], [6, 6]]), Shape("_background_", [[2, 2], [3, 2], [3, 3]])]
    assert conflicting_labels(hand, pred) == ["lesion"]
    assert conflicting_labels([hand[1]], pred) == []
    replaced = merge_shapes(hand, pred, "replace")
    assert [s.label for s in replaced] == ["cyst", "lesion", "_background_"] and replaced[0] is hand[1]
    added = merge_shapes(hand, pred, "add")
    assert added[:2] == hand and added[2:] == pred
    with pytest.raises(ValueError):
        merge_shapes(hand, pred, "union")


def test_run_split_and_subset_pool_only_the_chosen_images(tmp_path):
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "split.json").write_text(json.dumps({"format": 1, "train": ["a", "b"], "val": ["c"]}))
    assert run_split(run / "best.pt") == (["a", "b"], ["c"])
    assert run_split(tmp_path / "elsewhere.pt") is None and run_split(None) is None
    ev = Evaluator(["_background_", "lesion"])
    full = np.zeros((8, 8), np.int64)
    full[2:6, 2:6] = 1
    ev.add("a", full, full)                       # perfect
    ev.add("c", np.zeros_like(full), full)        # missed
    result = ev.result()
    val = subset(result, scope_names("validation", run_split(run / "best.pt"), ["a", "b", "c"]))
    assert list(val.per_image) == ["c"] and val.overall.iou[1] == 0.0
    train = subset(result, scope_names("training", run_split(run / "best.pt"), ["a", "b", "c"]))
    assert list(train.per_image) == ["a"] and train.overall.iou[1] == 1.0
    assert scope_names("validation", None, ["a"]) is None and scope_names("all", None, ["a"]) == ["a"]
