"""The eraser on vector shapes: a stroke over a polygon, rectangle or circle cuts it.

The eraser removes pixels from ``mask`` shapes (:func:`segstudio.core.annotation.edit.erase_stroke`).  An
area shape it touches is first turned into the ``mask`` shape of its pixels (rasterized as labelme does;
label, group id, description and flags kept), then cut like any mask, so the result is exactly "the shape
minus the stroke" and one undoable edit for the canvas.  Lines, line strips and points cover no area, so they
are never cut: :func:`cut_stroke` names them so the canvas can say why.
"""
from __future__ import annotations

import numpy as np

from segstudio.core.annotation.document import Shape
from segstudio.core.annotation.edit import Region, erase_stroke, region_shape
from segstudio.core.annotation.rasterize import shape_to_mask

#: shapes the eraser cuts after turning them into masks
AREA_TYPES = ("polygon", "rectangle", "circle", "oriented_rectangle")
#: shapes it cannot cut (no area)
LINE_TYPES = ("line", "linestrip", "point")


def _window(shape: Shape, reg: Region, width: int, height: int):
    """The stroke's window clipped to the image, or None when the shape's bounding box misses it."""
    pts = np.asarray(shape.points, dtype=float).reshape(-1, 2)
    if shape.shape_type == "circle" and len(pts) == 2:
        r = float(np.hypot(*(pts[1] - pts[0])))
        lo, hi = pts[0] - r, pts[0] + r
    else:
        lo, hi = pts.min(axis=0), pts.max(axis=0)
    if hi[0] + 6 < reg.x0 or lo[0] - 6 > reg.x1 or hi[1] + 6 < reg.y0 or lo[1] - 6 > reg.y1:
        return None
    return max(reg.x0, 0), max(reg.y0, 0), min(reg.x1, width), min(reg.y1, height)


def _hits(shape: Shape, reg: Region, width: int, height: int) -> np.ndarray | None:
    """The shape's full-image pixel mask when the stroke touches one of its pixels, else None."""
    win = _window(shape, reg, width, height)
    if win is None:
        return None
    full = shape_to_mask((height, width), shape.points, shape.shape_type)
    x0, y0, x1, y1 = win
    if not (full[y0:y1, x0:x1] & reg.mask[y0 - reg.y0:y1 - reg.y0, x0 - reg.x0:x1 - reg.x0]).any():
        return None
    return full


def as_mask_shape(shape: Shape, full: np.ndarray) -> Shape | None:
    """``shape`` as the ``mask`` shape of the pixels ``full`` (label, group id, description, flags kept)."""
    new = region_shape(Region(np.asarray(full, dtype=bool), 0, 0), shape)
    if new is not None:
        new.group_id, new.description = shape.group_id, shape.description
        new.flags, new.extra = dict(shape.flags), dict(shape.extra)
    return new


def cut_stroke(shapes: list[Shape], stroke: Region, width: int, height: int, labels=None):
    """Erase ``stroke`` from ``shapes`` (of ``labels`` when given): ``(new shapes, number of area shapes cut
    into masks, shape types touched that cannot be cut)``.  Shapes the stroke misses stay the same objects."""
    converted, refused = 0, []
    staged: list[Shape] = []
    for s in shapes:
        if labels is not None and s.label not in labels or s.shape_type not in AREA_TYPES + LINE_TYPES:
            staged.append(s)
            continue
        full = _hits(s, stroke, width, height)
        if full is None:
            staged.append(s)
        elif s.shape_type in LINE_TYPES:
            refused.append(s.shape_type)
            staged.append(s)
        else:
            mask = as_mask_shape(s, full)
            converted += 1
            staged.append(mask if mask is not None else s)
    return erase_stroke(staged, stroke, labels), converted, list(dict.fromkeys(refused))
