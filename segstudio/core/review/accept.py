"""Accepting a prediction: the predicted class mask of an image becomes editable polygons.

:func:`prediction_shapes` is ``mask_to_shapes`` (polygon mode) followed by a second Douglas-Peucker pass at
``tolerance`` pixels, checked against the mask: a class whose rasterized polygons keep less than ``min_iou``
IoU with the predicted mask is simplified again with half its tolerance, and a class that still falls short
keeps ``mask_to_shapes``' own polygons (IoU >= 0.995).  So every class keeps IoU >= ``min_iou`` with the
mask whatever the tolerance, and the default (:data:`DEFAULT_TOLERANCE`) brings a 256 px PH2 lesion from
~75 to ~30 vertices (tests/review/test_accept.py measures it on PH2 masks).

:func:`merge_shapes` is what "Replace" and "Add" do to the image's shapes when it already has shapes of a
predicted class.
"""
from __future__ import annotations

import numpy as np

from segstudio.core.annotation.document import BACKGROUND_LABEL, IGNORE_LABEL, Shape

#: Douglas-Peucker tolerance (pixels) of accepted predictions, the Review panel's default
DEFAULT_TOLERANCE = 2.0
#: every class of an accepted prediction keeps at least this IoU with the predicted mask
MIN_IOU = 0.98
_MIN_TOL = 0.1


def _class_ious(label: np.ndarray, shapes: list[Shape], label_set) -> dict[int, float]:
    from segstudio.core.annotation.rasterize import shapes_to_label

    painted, _ = shapes_to_label(label.shape, shapes, label_set.label_name_to_value)
    out = {}
    for v in np.unique(label):
        if v <= 0:
            continue
        a, b = painted == v, label == v
        union = np.count_nonzero(a | b)
        out[int(v)] = np.count_nonzero(a & b) / union if union else 1.0
    return out


def _dp(shape: Shape, tolerance: float) -> Shape:
    import cv2

    if tolerance <= 0 or len(shape.points) <= 4:
        return shape
    pts = np.asarray(shape.points, np.float32).reshape(-1, 1, 2)
    simple = cv2.approxPolyDP(pts, float(tolerance), True).reshape(-1, 2)
    if len(simple) < 3:
        return shape
    new = shape.copy()
    new.points = [[float(x), float(y)] for x, y in simple.tolist()]
    return new


def prediction_shapes(label: np.ndarray, label_set, *, tolerance: float = DEFAULT_TOLERANCE,
                      min_iou: float = MIN_IOU) -> list[Shape]:
    """Polygons of the class mask ``label`` (0 background, -1 ignore), simplified with ``tolerance`` pixels
    while every class keeps IoU >= ``min_iou`` with the mask (see the module's docstring)."""
    from segstudio.core.annotation.mask_to_shapes import mask_to_shapes

    label = np.asarray(label)
    base = mask_to_shapes(label, label_set, mode="polygon", tolerance=max(float(tolerance), 0.0))
    if tolerance <= 0 or not base:
        return base
    tol = {label_set.id_of(s.label): float(tolerance) for s in base}   # per class id (__ignore__: -1)

    def build():
        return [_dp(s, tol[label_set.id_of(s.label)]) for s in base]

    shapes = build()
    while True:
        bad = [v for v, iou in _class_ious(label, shapes, label_set).items() if iou < min_iou and tol.get(v, 0) > 0]
        if not bad:
            break
        for v in bad:
            tol[v] = tol[v] / 2 if tol[v] / 2 >= _MIN_TOL else 0.0
        shapes = build()
    if any(iou < min_iou for iou in _class_ious(label, shapes, label_set).values()):
        return base   # another class's simpler outline paints over this one: keep mask_to_shapes' polygons
    return shapes


def predicted_labels(shapes: list[Shape]) -> list[str]:
    """The class names the accepted shapes bring (background holes and ignore left out), in order."""
    return list(dict.fromkeys(s.label for s in shapes if s.label not in (BACKGROUND_LABEL, IGNORE_LABEL)))


def conflicting_labels(existing: list[Shape], new: list[Shape]) -> list[str]:
    """The predicted classes the image already has shapes of (accepting would change their ground truth)."""
    have = {s.label for s in existing}
    return [name for name in predicted_labels(new) if name in have]


def merge_shapes(existing: list[Shape], new: list[Shape], mode: str) -> list[Shape]:
    """The image's shapes after accepting ``new``: ``"add"`` keeps every existing shape (the label becomes
    their union), ``"replace"`` first drops the existing shapes of the predicted classes."""
    if mode not in ("add", "replace"):
        raise ValueError(f"unknown mode {mode!r}; known: add, replace")
    if mode == "replace":
        gone = set(predicted_labels(new))
        existing = [s for s in existing if s.label not in gone]
    return list(existing) + list(new)
