"""Shape edits behind the canvas tools: move, reshape, reorder, brush and eraser (Qt-free; tested directly
and through the canvas in tests/gui).

Shapes are immutable values here: every function returns new :class:`Shape` objects for what it changes and
keeps the others as they are (same objects), which is what the undo commands and the canvas rely on.

Brush storage (see docs/canvas.md): a brush stroke becomes a labelme ``mask`` shape of the current class,
merged with the mask shapes of that class it touches (overlap or 8-neighbourhood contact).  The eraser
removes pixels from the ``mask`` shapes under it (:func:`erase_stroke`); the canvas first turns the polygons,
rectangles and circles it touches into mask shapes (``core/annotation/erase.py``), so they are cut too.  Strokes are rasterized like core's line rasterization (PIL, width = brush size) with round caps
and joins (a disc of diameter = brush size at every stroke point).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from segstudio.core.annotation.document import MIN_POINTS, Shape

CLOSED_TYPES = ("polygon", "oriented_rectangle")


# ----------------------------------------------------------------------------- geometry
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
class Region(NamedTuple):
    """A bool patch placed at (x0, y0) in image pixels: strokes and mask shapes are handled as windows,
    never as full-image arrays (a 4096x4096 image would make every stroke cost a second)."""

    mask: np.ndarray
    x0: int
    y0: int

    @property
    def x1(self) -> int:
        return self.x0 + self.mask.shape[1]

    @property
    def y1(self) -> int:
        return self.y0 + self.mask.shape[0]


def stroke_region(points, size: float, width: int, height: int) -> Region | None:
    """The stroke through ``points`` (width ``size``, round caps and joins) as a window clipped to the image."""
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    if len(pts) == 0 or width <= 0 or height <= 0:
        return None
    r = max(float(size), 1.0) / 2.0
    x0 = int(max(math.floor(pts[:, 0].min() - r - 1), 0))
    y0 = int(max(math.floor(pts[:, 1].min() - r - 1), 0))
    x1 = int(min(math.ceil(pts[:, 0].max() + r + 2), width))
    y1 = int(min(math.ceil(pts[:, 1].max() + r + 2), height))
    if x1 <= x0 or y1 <= y0:
        return None
    img = Image.new("L", (x1 - x0, y1 - y0), 0)
    draw = ImageDraw.Draw(img)
    local = [(float(x - x0), float(y - y0)) for x, y in pts]
    if len(local) > 1:
        draw.line(local, fill=1, width=max(int(round(size)), 1))
    for cx, cy in local:
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=1, fill=1)
    return crop_region(Region(np.asarray(img, dtype=bool), x0, y0))


def stroke_mask(points, size: float, width: int, height: int) -> np.ndarray:
    """Bool HxW mask of a stroke through ``points`` with width ``size``, round caps and joins."""
    out = np.zeros((height, width), dtype=bool)
    reg = stroke_region(points, size, width, height)
    if reg is not None:
        out[reg.y0:reg.y1, reg.x0:reg.x1] = reg.mask
    return out


def crop_region(reg: Region) -> Region | None:
    """``reg`` cropped to its set pixels; None when it has none."""
    rows, cols = np.any(reg.mask, axis=1), np.any(reg.mask, axis=0)
    if not rows.any():
        return None
    r0, r1 = int(np.argmax(rows)), len(rows) - int(np.argmax(rows[::-1]))
    c0, c1 = int(np.argmax(cols)), len(cols) - int(np.argmax(cols[::-1]))
    return Region(np.ascontiguousarray(reg.mask[r0:r1, c0:c1]), reg.x0 + c0, reg.y0 + r0)


def shape_region(shape: Shape) -> Region | None:
    """The region of a ``mask`` shape (its patch at points[0])."""
    if shape.mask is None:
        return None
    x0, y0 = (int(v) for v in np.asarray(shape.points[0], dtype=float))
    return Region(shape.mask, x0, y0)


def _overlap(a: Region, b: Region):
    """Slices of a's and b's masks over their common window, or None when the windows do not meet."""
    x0, y0, x1, y1 = max(a.x0, b.x0), max(a.y0, b.y0), min(a.x1, b.x1), min(a.y1, b.y1)
    if x1 <= x0 or y1 <= y0:
        return None
    return (a.mask[y0 - a.y0:y1 - a.y0, x0 - a.x0:x1 - a.x0], b.mask[y0 - b.y0:y1 - b.y0, x0 - b.x0:x1 - b.x0])


def _as_region(stroke) -> Region | None:
    if isinstance(stroke, Region):
        return stroke
    return crop_region(Region(np.asarray(stroke, dtype=bool), 0, 0))


def mask_shape_full(shape: Shape, width: int, height: int) -> np.ndarray:
    """The image-size bool mask of a ``mask`` shape (its patch pasted at points[0], clipped to the image)."""
    full = np.zeros((height, width), dtype=bool)
    reg = shape_region(shape)
    if reg is not None:
        pair = _overlap(Region(full, 0, 0), reg)
        if pair is not None:
            pair[0][...] = pair[1]
    return full


def region_shape(reg: Region | None, template: Shape) -> Shape | None:
    """A ``mask`` shape (label, group, flags from ``template``) of ``reg`` cropped to its pixels; None if empty."""
    reg = crop_region(reg) if reg is not None else None
    if reg is None:
        return None
    new = template.copy() if template.shape_type == "mask" else Shape(label=template.label, points=[])
    new.shape_type = "mask"
    h, w = reg.mask.shape
    new.points = [[float(reg.x0), float(reg.y0)], [float(reg.x0 + w - 1), float(reg.y0 + h - 1)]]
    new.mask = np.array(reg.mask, dtype=bool, copy=True)   # never share memory with a caller's array
    return new


def mask_shape_from_full(full: np.ndarray, template: Shape) -> Shape | None:
    """A ``mask`` shape of an image-size bool mask (see :func:`region_shape`)."""
    return region_shape(Region(np.asarray(full, dtype=bool), 0, 0), template)


def paint_stroke(shapes: list[Shape], stroke, label: str) -> tuple[list[Shape], int]:
    """Add a stroke (a :class:`Region` or an image-size bool mask) of ``label``: merge it with that class's
    mask shapes it touches (overlap or 8-neighbourhood contact).

    The merged shape takes the place (paint order) of the topmost shape it absorbs; with none it is appended.
    Returns (new shape list, index of the painted shape); (shapes, -1) for an empty stroke.
    """
    reg = _as_region(stroke)
    if reg is None:
        return list(shapes), -1
    padded = np.pad(reg.mask, 1)
    grown = Region(ndimage.binary_dilation(padded, structure=np.ones((3, 3), bool)), reg.x0 - 1, reg.y0 - 1)
    absorbed: list[int] = []
    for i, s in enumerate(shapes):
        if s.shape_type != "mask" or s.label != label or s.mask is None:
            continue
        pair = _overlap(grown, shape_region(s))
        if pair is not None and (pair[0] & pair[1]).any():
            absorbed.append(i)
    parts = [reg] + [shape_region(shapes[i]) for i in absorbed]
    x0, y0 = min(p.x0 for p in parts), min(p.y0 for p in parts)
    x1, y1 = max(p.x1 for p in parts), max(p.y1 for p in parts)
    union = Region(np.zeros((y1 - y0, x1 - x0), dtype=bool), x0, y0)
    for p in parts:
        dst, src = _overlap(union, p)
        dst |= src
    template = shapes[absorbed[-1]] if absorbed else Shape(label=label, points=[], shape_type="mask")
    merged = region_shape(union, template)
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


def erase_stroke(shapes: list[Shape], stroke, labels=None) -> list[Shape]:
    """Remove the stroke's pixels (a :class:`Region` or an image-size bool mask) from the ``mask`` shapes
    (of ``labels`` when given); masks left empty vanish, the others are cropped to their new extent."""
    reg = _as_region(stroke)
    out: list[Shape] = []
    for s in shapes:
        if (reg is None or s.shape_type != "mask" or s.mask is None
                or (labels is not None and s.label not in labels)):
            out.append(s)
            continue
        sreg = shape_region(s)
        pair = _overlap(sreg, reg)
        if pair is None or not (pair[0] & pair[1]).any():
            out.append(s)
            continue
        rest = Region(sreg.mask.copy(), sreg.x0, sreg.y0)
        dst, src = _overlap(rest, reg)
        dst &= ~src
        new = region_shape(rest, s)
        if new is not None:
            out.append(new)
    return out
