"""Mask -> shapes -> JSON -> mask round trips: exact for ``mask`` shapes, per-class IoU >= 0.99 for polygons."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from segstudio.core.annotation import (
    Annotation,
    LabelSet,
    annotation_to_label,
    load_annotation,
    read_label_mask,
    save_annotation,
)
from segstudio.core.annotation.mask_to_shapes import mask_to_shapes

LS = LabelSet.from_names(["__ignore__", "_background_", "a", "b"])


def _nested() -> np.ndarray:
    m = np.zeros((64, 72), np.int64)
    m[5:50, 5:50] = 1  # a ring of a ...
    m[15:35, 15:35] = 0  # ... around a background hole
    m[20:25, 20:25] = 1  # an island of a inside the hole
    m[28:33, 28:33] = 2  # b inside the hole
    m[38:44, 38:44] = 0  # a second hole ...
    m[40, 40] = 2  # ... with one pixel of b
    m[40:45, 55:70] = -1  # ignore
    m[55:63, 0:10] = 2  # touching the border
    m[0, 60:72] = 1  # one-pixel-thin line on the border
    m[10:12, 60] = 2  # 2 pixels
    m[45, 20] = 0  # a hole touching the outside only diagonally
    m[46, 21] = 0
    return m


def _round_trip(tmp_path, label, shapes, ls=LS, name="rt") -> np.ndarray:
    img = tmp_path / f"{name}.png"
    from PIL import Image

    Image.new("L", (label.shape[1], label.shape[0])).save(img)
    ann = Annotation(shapes, img.name, label.shape[0], label.shape[1])
    save_annotation(ann, tmp_path / f"{name}.json")
    cls, _ = annotation_to_label(load_annotation(tmp_path / f"{name}.json"), ls)
    return cls


def _ious(a: np.ndarray, b: np.ndarray, n: int) -> dict[int, float]:
    """Per-class IoU for the classes present in ``b`` (the reference); -1 counted as class n."""
    a = np.where(a < 0, n, a).ravel()
    b = np.where(b < 0, n, b).ravel()
    cm = np.bincount(b * (n + 1) + a, minlength=(n + 1) ** 2).reshape(n + 1, n + 1)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    return {c: inter[c] / union[c] for c in range(n + 1) if cm[c].sum()}


def test_nested_holes_polygons_exact_without_simplification(tmp_path):
    m = _nested()
    shapes = mask_to_shapes(m, LS, tolerance=0, min_area=0)
    assert {s.shape_type for s in shapes} == {"polygon"}
    assert {s.label for s in shapes} == {"a", "b", "_background_", "__ignore__"}
    assert np.array_equal(_round_trip(tmp_path, m, shapes), m)


# a ring of "a" with a one-pixel-wide peninsula hanging into its background hole (found in DRIVE)
PENINSULA = np.array([[1, 1, 1, 1, 1, 1, 1, 1, 1],
                      [1, 0, 0, 0, 0, 1, 0, 0, 1],
                      [1, 0, 0, 0, 1, 0, 0, 0, 1],
                      [1, 0, 0, 0, 1, 0, 0, 0, 1],
                      [1, 0, 0, 0, 1, 0, 0, 0, 1],
                      [1, 0, 0, 1, 1, 0, 0, 0, 1],
                      [1, 0, 0, 0, 0, 0, 0, 0, 1],
                      [1, 0, 0, 0, 0, 0, 0, 0, 1],
                      [1, 1, 1, 1, 1, 1, 1, 1, 1]], np.int64)


def test_one_pixel_structures_next_to_holes_exact(monkeypatch):
    """The hole's outline goes round the peninsula with a one-pixel slit that PIL fills: the peninsula
    pixels come back through a repair polygon painted last."""
    import segstudio.core.annotation.mask_to_shapes as m2s

    shapes = mask_to_shapes(PENINSULA, LS, tolerance=0, min_area=0)
    cls, _ = annotation_to_label(Annotation(shapes, "x", *PENINSULA.shape), LS)
    assert np.array_equal(cls, PENINSULA)
    assert [s.label for s in shapes] == ["a", "_background_", "a"]  # ring, hole, repair
    monkeypatch.setattr(m2s, "MAX_REPAIR_ROUNDS", 0)  # without the repair the slit is lost
    shapes = mask_to_shapes(PENINSULA, LS, tolerance=0, min_area=0)
    cls, _ = annotation_to_label(Annotation(shapes, "x", *PENINSULA.shape), LS)
    assert (cls != PENINSULA).sum() == 5


def test_holes_become_later_background_polygons():
    m = np.zeros((40, 40), np.int64)
    m[5:35, 5:35] = 1
    m[15:25, 15:25] = 0
    shapes = mask_to_shapes(m, LS)
    assert [(s.label, len(s.points)) for s in shapes] == [("a", 4), ("_background_", 4)]
    # coordinates are pixel centres in labelme's canvas (index + 0.5)
    assert sorted(map(tuple, shapes[0].points)) == [(5.5, 5.5), (5.5, 34.5), (34.5, 5.5), (34.5, 34.5)]


def test_mask_mode_is_exact(tmp_path):
    m = _nested()
    shapes = mask_to_shapes(m, LS, mode="mask")
    assert {s.shape_type for s in shapes} == {"mask"} and "_background_" not in {s.label for s in shapes}
    assert np.array_equal(_round_trip(tmp_path, m, shapes), m)


def test_min_area_and_tolerance_effects():
    m = np.zeros((50, 50), np.int64)
    m[10:40, 10:40] = 1
    m[2, 2] = 2
    assert [s.label for s in mask_to_shapes(m, LS, min_area=4)] == ["a"]
    assert [s.label for s in mask_to_shapes(m, LS, min_area=0)] == ["a", "b"]
    yy, xx = np.mgrid[:200, :200]
    disc = ((yy - 100) ** 2 + (xx - 100) ** 2 < 80**2).astype(np.int64)
    fine = len(mask_to_shapes(disc, LS, tolerance=0)[0].points)
    coarse = len(mask_to_shapes(disc, LS, tolerance=2)[0].points)
    assert coarse < fine / 2


def test_bad_inputs():
    with pytest.raises(ValueError, match="class id 7 is outside the label set"):
        mask_to_shapes(np.full((4, 4), 7), LS)
    with pytest.raises(ValueError, match="unknown mode"):
        mask_to_shapes(np.zeros((4, 4), int), LS, mode="rle")
    with pytest.raises(ValueError, match="2-D integer"):
        mask_to_shapes(np.zeros((4, 4), float), LS)
    assert mask_to_shapes(np.zeros((4, 4), np.uint8), LS) == []


def _dataset_round_trip(tmp_path, shared_data, name, n_classes, modes):
    ls = LabelSet.from_file(shared_data / name / "classes.txt")
    assert ls.num_classes == n_classes
    files = sorted((shared_data / name / "masks").glob("*.png"))
    worst = {}
    for k, f in enumerate(files):
        label = read_label_mask(f, ls.num_classes)
        for mode in modes:
            if mode == "mask" and k % 4:  # exactness: every 4th file is plenty (it is exact or not)
                continue
            shapes = mask_to_shapes(label, ls, mode=mode)
            if k % 10 == 0:  # every 10th through a JSON file as well
                back = _round_trip(tmp_path, label, shapes, ls, name=f"{name}_{mode}")
            else:
                back, _ = annotation_to_label(Annotation(shapes, "x", *label.shape), ls)
            if mode == "mask":
                assert np.array_equal(back, label), f
            else:
                for c, v in _ious(back, label, ls.num_classes).items():
                    worst[c] = min(worst.get(c, 1.0), v)
                    assert v >= 0.99, f"{f}: class {c} IoU {v:.4f}"
    return len(files), worst


def test_ph2_polygons_iou(tmp_path, shared_data):
    n, worst = _dataset_round_trip(tmp_path, shared_data, "ph2", 2, ("polygon",))
    assert n == 160 and set(worst) == {0, 1}


def test_drive_thin_vessels_iou(shared_data):
    """Retinal vessels (1-2 pixel wide trees with many holes): per-class IoU >= 0.99 on the first 3."""
    ls = LabelSet.from_file(shared_data / "drive" / "classes.txt")
    for f in sorted((shared_data / "drive" / "masks").glob("*.png"))[:3]:
        label = read_label_mask(f, ls.num_classes)
        back, _ = annotation_to_label(Annotation(mask_to_shapes(label, ls), "x", *label.shape), ls)
        assert min(_ious(back, label, ls.num_classes).values()) >= 0.99, f


def test_busi_polygons_iou_and_masks_exact(tmp_path, shared_data):
    n, worst = _dataset_round_trip(tmp_path, shared_data, "busi", 3, ("polygon", "mask"))
    assert n == 518 and set(worst) == {0, 1, 2}


@st.composite
def label_arrays(draw):
    h, w = draw(st.integers(1, 14)), draw(st.integers(1, 14))
    scale = draw(st.sampled_from([1, 1, 2, 3]))  # noise or blocky blobs
    small = draw(hnp.arrays(np.int64, (-(-h // scale), -(-w // scale)), elements=st.integers(-1, 2)))
    return np.kron(small, np.ones((scale, scale), np.int64))[:h, :w]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(label=label_arrays())
def test_property_exact_round_trips(label):
    """Any mask: polygons with tolerance 0 and min_area 0, and mask shapes, rasterize back to it exactly."""
    for kw in ({"mode": "polygon", "tolerance": 0, "min_area": 0}, {"mode": "mask"}):
        shapes = mask_to_shapes(label, LS, **kw)
        back, _ = annotation_to_label(Annotation(shapes, "x", *label.shape), LS)
        assert np.array_equal(back, label), kw
