"""Rasterization semantics (the labelme pixel-exact comparison lives in test_ann_labelme_ref.py)."""
from __future__ import annotations

import numpy as np
import pytest

from segstudio.core.annotation import (
    Annotation,
    LabelSet,
    Shape,
    annotation_to_class_u8,
    annotation_to_label,
    shape_to_mask,
    shapes_to_label,
)
from segstudio.core.annotation import UnknownLabelError

LS = LabelSet.from_names(["__ignore__", "_background_", "a", "b"])


def test_later_shapes_win_and_ignore():
    shapes = [
        Shape("a", [[0, 0], [9, 9]], "rectangle"),
        Shape("b", [[5, 5], [14, 14]], "rectangle"),
        Shape("__ignore__", [[0, 0], [2, 2]], "rectangle"),
    ]
    cls, ins = shapes_to_label((20, 20), shapes, LS.label_name_to_value)
    assert cls.dtype == np.int32 and ins.dtype == np.int32
    assert cls[1, 1] == -1 and cls[4, 4] == 1 and cls[7, 7] == 2 and cls[19, 19] == 0
    assert ins[1, 1] == -1 and ins[4, 4] == 1 and ins[7, 7] == 2 and ins[19, 19] == 0


def test_instances_per_label_and_group_id():
    shapes = [
        Shape("a", [[0, 0], [1, 1]], "rectangle", group_id=1),
        Shape("a", [[4, 4], [5, 5]], "rectangle", group_id=1),  # same instance as the first
        Shape("b", [[8, 8], [9, 9]], "rectangle", group_id=1),  # other label: other instance
        Shape("a", [[12, 12], [13, 13]], "rectangle"),  # no group: own instance
        Shape("a", [[16, 16], [17, 17]], "rectangle"),
    ]
    _, ins = shapes_to_label((20, 20), shapes, LS.label_name_to_value)
    assert [ins[0, 0], ins[4, 4], ins[8, 8], ins[12, 12], ins[16, 16]] == [1, 1, 2, 3, 4]


def test_mask_shape_and_dict_shapes():
    patch = np.array([[1, 0, 1], [0, 1, 0]], bool)
    cls, _ = shapes_to_label(
        (6, 6), [{"label": "b", "points": [[2.7, 1.2], [4.9, 2.0]], "shape_type": "mask", "mask": patch}],
        LS.label_name_to_value,
    )
    exp = np.zeros((6, 6), int)
    exp[1:3, 2:5] = patch * 2
    assert cls.tolist() == exp.tolist()
    m = shape_to_mask((6, 6), [[2, 1], [4, 2]], "mask", mask=patch)
    assert m.tolist() == (exp > 0).tolist()


def test_shape_geometry():
    assert shape_to_mask((30, 30), [[15, 15]], "point").sum() > 60  # radius 5 disc
    line = shape_to_mask((30, 30), [[0, 15], [29, 15]], "line")
    assert line[:, 10].sum() in (10, 11)  # width 10
    circle = shape_to_mask((30, 30), [[15, 15], [15, 25]], "circle")
    assert circle[15, 5] and circle[15, 25] and not circle[15, 3]
    with pytest.raises(ValueError):
        shape_to_mask((5, 5), [[1, 1], [2, 2]], "polygon")


def test_unknown_label_and_many_classes():
    with pytest.raises(UnknownLabelError, match="unknown label 'zz'"):
        shapes_to_label((4, 4), [Shape("zz", [[0, 0], [1, 1]], "rectangle")], LS.label_name_to_value)
    cls, _ = shapes_to_label((4, 4), [Shape("x", [[0, 0], [1, 1]], "rectangle")], {"x": 1000})
    assert cls[0, 0] == 1000 and cls[3, 3] == 0
    many = [Shape("a", [[i % 20, i // 20], [i % 20, i // 20]], "rectangle") for i in range(300)]
    _, ins = shapes_to_label((20, 20), many, LS.label_name_to_value)
    assert ins.max() == 300 and ins[14, 19] == 300


def test_annotation_to_label_and_u8_fast_path():
    ann = Annotation([Shape("a", [[1, 1], [8, 2], [4, 7]]), Shape("__ignore__", [[0, 0], [2, 2]], "rectangle")],
                     "x.png", 10, 12)
    cls, ins = annotation_to_label(ann, LS)
    assert cls.shape == (10, 12)
    u8 = annotation_to_class_u8(ann, LS)
    assert u8.dtype == np.uint8 and np.array_equal(u8, np.where(cls < 0, 255, cls))


def test_huge_circle_and_partly_outside_mask():
    # a circle far larger than the image is painted analytically (PIL's ellipse would take minutes)
    cls, _ = shapes_to_label((20, 30), [Shape("a", [[-1e6 + 5, 5], [5, 5]], "circle")], LS.label_name_to_value)
    assert cls[:, :5].all() and not cls[:, 6:].any() and cls[5, 5] == 1
    m = shape_to_mask((6, 6), [[-1, 4], [2, 7]], "mask", mask=np.ones((4, 4), bool))
    exp = np.zeros((6, 6), bool)
    exp[4:, :3] = True
    assert np.array_equal(m, exp)


def test_mapped_canvas_matches_a_plain_pil_image(monkeypatch):
    """Painting into the numpy-mapped canvas gives what a plain PIL image gives (and the fallback works)."""
    from segstudio.core.annotation import rasterize

    assert rasterize._MAPPED_CANVAS  # with this Pillow the zero-copy path is the one in use
    shapes = [Shape("a", [[1, 1], [30, 4], [12, 25]]), Shape("b", [[5, 5], [9, 9]], "circle"),
              Shape("__ignore__", [[0, 20], [39, 22]], "line"),
              Shape("b", [[20, 2], [22, 3]], "mask", mask=np.array([[1, 0, 1], [0, 1, 0]], bool))]
    fast = shapes_to_label((30, 40), shapes, LS.label_name_to_value)
    single = shape_to_mask((30, 40), [[1, 1], [30, 4], [12, 25]])
    monkeypatch.setattr(rasterize, "_MAPPED_CANVAS", False)
    slow = shapes_to_label((30, 40), shapes, LS.label_name_to_value)
    assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])
    assert np.array_equal(single, shape_to_mask((30, 40), [[1, 1], [30, 4], [12, 25]]))
    assert single.dtype == bool and single.sum() > 50 and (fast[0] == -1).any() and (fast[0] == 2).any()
