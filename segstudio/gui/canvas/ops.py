"""Qt-free shape operations behind the canvas tools (tested directly and through the canvas).

Shapes are immutable values here: every function returns new :class:`Shape` objects for what it changes and
keeps the others as they are (same objects), which is what the undo commands and the canvas rely on.

Brush storage (see docs/canvas.md): a brush stroke becomes a labelme ``mask`` shape of the current class,
merged with the mask shapes of that class it touches (overlap or 8-neighbourhood contact).  The eraser
removes pixels from the ``mask`` shapes under it and leaves vector shapes (polygons, rectangles, ...)
untouched.  Strokes are rasterized like core's line rasterization (PIL, width = brush size) with round caps
and joins (a disc of diameter = brush size at every stroke point).
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from segstudio.core.annotation.document import MIN_POINTS, Shape

CLOSED_TYPES = ("polygon", "oriented_rectangle")


# ----------------------------------------------------------------------------- geometry
def shape_bbox(shape: Shape) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of the shape's extent in image coordinates (inclusive pixels for masks)."""
    pts = np.asarray(shape.points, dtype=float).reshape(-1, 2)
    if shape.shape_type == "circle" and len(pts) == 2:
        r = float(np.hypot(*(pts[1] - pts[0])))
        (cx, cy) = pts[0]
        return cx - r, cy - r, cx + r, cy + r
    return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())


def clamp_translation(shapes: list[Shape], dx: float, dy: float, width: int, height: int) -> tuple[float, float]:
    """Limit (dx, dy) so that every point stays inside the image (mask bboxes inside its pixels)."""
    lo_x, lo_y, hi_x, hi_y = -math.inf, -math.inf, math.inf, math.inf
    for s in shapes:
        pts = np.asarray(s.points, dtype=float).reshape(-1, 2)
        lim_w, lim_h = (width - 1, height - 1) if s.shape_type == "mask" else (width, height)
        lo_x, hi_x = max(lo_x, -pts[:, 0].min()), min(hi_x, lim_w - pts[:, 0].max())
        lo_y, hi_y = max(lo_y, -pts[:, 1].min()), min(hi_y, lim_h - pts[:, 1].max())
    dx = min(max(dx, lo_x), hi_x) if lo_x <= hi_x else 0.0
    dy = min(max(dy, lo_y), hi_y) if lo_y <= hi_y else 0.0
    if any(s.shape_type == "mask" for s in shapes):  # masks move whole pixels; keep the group together
        dx, dy = float(math.trunc(dx)), float(math.trunc(dy))
    return float(dx), float(dy)


def translate_shape(shape: Shape, dx: float, dy: float) -> Shape:
    new = shape.copy()
    if shape.shape_type == "mask":
        dx, dy = round(dx), round(dy)
    new.points = [[x + dx, y + dy] for x, y in shape.points]
    return new


def clamp_point(x: float, y: float, width: int, height: int) -> tuple[float, float]:
    return min(max(float(x), 0.0), float(width)), min(max(float(y), 0.0), float(height))


def move_vertex(shape: Shape, index: int, x: float, y: float) -> Shape:
    new = shape.copy()
    new.points[index] = [float(x), float(y)]
    return new


def can_remove_vertex(shape: Shape) -> bool:
    return shape.shape_type in MIN_POINTS and len(shape.points) > MIN_POINTS[shape.shape_type]


def remove_vertex(shape: Shape, index: int) -> Shape | None:
    """The shape without vertex ``index``; None when its type cannot lose one (fixed count or at minimum)."""
    if not can_remove_vertex(shape):
        return None
    new = shape.copy()
    del new.points[index]
    return new


def nearest_edge(shape: Shape, x: float, y: float) -> tuple[int, float, tuple[float, float]] | None:
    """(insert index, distance, closest point) of the polygon/linestrip edge nearest to (x, y)."""
    if shape.shape_type not in ("polygon", "linestrip") or len(shape.points) < 2:
        return None
    pts = np.asarray(shape.points, dtype=float)
    a = pts
    b = np.roll(pts, -1, axis=0)
    if shape.shape_type == "linestrip":
        a, b = a[:-1], b[:-1]
    ab = b - a
    p = np.array([x, y], dtype=float)
    denom = np.maximum((ab ** 2).sum(1), 1e-12)
    t = np.clip(((p - a) * ab).sum(1) / denom, 0.0, 1.0)
    closest = a + t[:, None] * ab
    d = np.hypot(*(closest - p).T)
    i = int(np.argmin(d))
    return i + 1, float(d[i]), (float(closest[i, 0]), float(closest[i, 1]))


def insert_vertex(shape: Shape, index: int, x: float, y: float) -> Shape:
    new = shape.copy()
    new.points.insert(index, [float(x), float(y)])
    return new


def reorder(shapes: list[Shape], indices, delta: int) -> tuple[list[Shape], list[int]]:
    """Move the shapes at ``indices`` ``delta`` places up (towards the end = on top) or down, as a block."""
    out = list(shapes)
    sel = sorted({int(i) for i in indices if 0 <= int(i) < len(out)})
    chosen = [False] * len(out)
    for i in sel:
        chosen[i] = True
    step = 1 if delta > 0 else -1
    for _ in range(abs(int(delta))):
        order = range(len(out) - 2, -1, -1) if step > 0 else range(1, len(out))
        for i in order:
            j = i + step
            if chosen[i] and not chosen[j]:
                out[i], out[j] = out[j], out[i]
                chosen[i], chosen[j] = chosen[j], chosen[i]
    return out, [i for i, c in enumerate(chosen) if c]


# ----------------------------------------------------------------------------- brush / eraser
def stroke_mask(points, size: float, width: int, height: int) -> np.ndarray:
    """Bool HxW mask of a stroke through ``points`` with width ``size``, round caps and joins."""
    out = np.zeros((height, width), dtype=bool)
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    if len(pts) == 0 or width <= 0 or height <= 0:
        return out
    r = max(float(size), 1.0) / 2.0
    x0 = int(max(math.floor(pts[:, 0].min() - r - 1), 0))
    y0 = int(max(math.floor(pts[:, 1].min() - r - 1), 0))
    x1 = int(min(math.ceil(pts[:, 0].max() + r + 2), width))
    y1 = int(min(math.ceil(pts[:, 1].max() + r + 2), height))
    if x1 <= x0 or y1 <= y0:
        return out
    img = Image.new("L", (x1 - x0, y1 - y0), 0)
    draw = ImageDraw.Draw(img)
    local = [(float(x - x0), float(y - y0)) for x, y in pts]
    if len(local) > 1:
        draw.line(local, fill=1, width=max(int(round(size)), 1))
    for cx, cy in local:
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=1, fill=1)
    out[y0:y1, x0:x1] = np.asarray(img, dtype=bool)
    return out


def mask_shape_full(shape: Shape, width: int, height: int) -> np.ndarray:
    """The image-size bool mask of a ``mask`` shape (its patch pasted at points[0], clipped to the image)."""
    full = np.zeros((height, width), dtype=bool)
    if shape.mask is None:
        return full
    x0, y0 = (int(v) for v in np.asarray(shape.points[0], dtype=float).astype(int))
    ph, pw = shape.mask.shape
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + pw, width), min(y0 + ph, height)
    if sx1 > sx0 and sy1 > sy0:
        full[sy0:sy1, sx0:sx1] = shape.mask[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0]
    return full


def mask_shape_from_full(full: np.ndarray, template: Shape) -> Shape | None:
    """A ``mask`` shape (label, group, flags from ``template``) cropped to ``full``'s bbox; None if empty."""
    ys, xs = np.nonzero(full)
    if len(xs) == 0:
        return None
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
    new = template.copy() if template.shape_type == "mask" else Shape(label=template.label, points=[])
    new.shape_type = "mask"
    new.points = [[float(x0), float(y0)], [float(x1), float(y1)]]
    new.mask = np.ascontiguousarray(full[y0:y1 + 1, x0:x1 + 1])
    return new


def paint_stroke(shapes: list[Shape], stroke: np.ndarray, label: str) -> tuple[list[Shape], int]:
    """Add a stroke of ``label``: merge it with that class's mask shapes it touches.

    The merged shape takes the place (paint order) of the topmost shape it absorbs; with none it is appended.
    Returns (new shape list, index of the painted shape).
    """
    height, width = stroke.shape
    if not stroke.any():
        return list(shapes), -1
    grown = ndimage.binary_dilation(stroke, structure=np.ones((3, 3), bool))
    union = stroke.copy()
    absorbed: list[int] = []
    for i, s in enumerate(shapes):
        if s.shape_type != "mask" or s.label != label or s.mask is None:
            continue
        full = mask_shape_full(s, width, height)
        if (full & grown).any():
            absorbed.append(i)
            union |= full
    template = shapes[absorbed[-1]] if absorbed else Shape(label=label, points=[], shape_type="mask")
    merged = mask_shape_from_full(union, template)
    if not absorbed:
        return list(shapes) + [merged], len(shapes)
    out: list[Shape] = []
    index = -1
    for i, s in enumerate(shapes):
        if i == absorbed[-1]:
            index = len(out)
            out.append(merged)
        elif i not in absorbed:
            out.append(s)
    return out, index


def erase_stroke(shapes: list[Shape], stroke: np.ndarray, labels=None) -> list[Shape]:
    """Remove the stroke's pixels from the ``mask`` shapes (of ``labels`` when given); empty masks vanish."""
    height, width = stroke.shape
    out: list[Shape] = []
    for s in shapes:
        if s.shape_type != "mask" or s.mask is None or (labels is not None and s.label not in labels):
            out.append(s)
            continue
        full = mask_shape_full(s, width, height)
        hit = full & stroke
        if not hit.any():
            out.append(s)
            continue
        rest = mask_shape_from_full(full & ~stroke, s)
        if rest is not None:
            out.append(rest)
    return out
