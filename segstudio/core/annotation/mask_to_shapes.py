"""Class mask -> labelme shapes, as polygons (holes kept through paint order) or exact ``mask`` shapes.

Polygon mode.  Every 8-connected region of every class becomes one polygon: its outer boundary through
the centres of its boundary pixels (see :func:`_outer_contours`; rasterized as labelme does it gives back
the region's pixels), simplified with Douglas-Peucker (``tolerance`` pixels; 0 keeps every corner: exact
up to ``min_area``).  Simplification cuts convex corners, which costs small regions most: a region whose simplified polygon would keep less
than MIN_REGION_IOU (0.995) IoU with its exact outline is simplified with half the tolerance, and so on.
Holes are not cut out of a polygon.  Instead the shapes are ordered so that labelme's "later shapes win"
rule restores them: a region lying inside another region's outline has a strictly smaller outline area,
so sorting by outline area (largest first) paints every enclosing region before what it encloses.  A hole
of background becomes a later ``_background_`` polygon (only 4-connected background regions that do not
touch the image border are enclosed); an enclosed region of another class, or an island of the same class
inside a hole, is simply a later polygon of its own class.  Regions smaller than ``min_area`` pixels are
dropped.  ``-1`` (ignore) regions get the label ``__ignore__``.  Finally the shapes are rasterized and
compared with the mask: while a class's IoU is below MIN_CLASS_IOU (0.995), the tolerance of that class
and of the classes painted over it is halved (down to exact outlines), and pixels still painted over at
tolerance 0 (a one-pixel structure beside a hole: the hole's outline has a one-pixel slit, which PIL
fills) get repair polygons painted last.

Mask mode.  One ``mask`` shape per 8-connected region of each non-background class with its exact bool
patch: the round trip is lossless (``min_area`` does not apply).
"""
from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .document import BACKGROUND_LABEL, IGNORE_LABEL, Shape
from .labels import LabelSet
from .rasterize import _render

MODES = ("polygon", "mask")
MIN_REGION_IOU = 0.995  # a simplified polygon must keep this IoU with its region's exact outline
MIN_CLASS_IOU = 0.995  # ... and every class its IoU with the mask (see _polygon_regions)
MIN_TOLERANCE = 0.1
MAX_REPAIR_ROUNDS = 2
DEFAULT_TOLERANCE = 1.0  # pixels of Douglas-Peucker simplification
DEFAULT_MIN_AREA = 4  # polygon regions with fewer pixels are dropped


def _label_name(value: int, label_set: LabelSet) -> str:
    if value == -1:
        return IGNORE_LABEL
    if value == 0:
        return BACKGROUND_LABEL
    if not 0 < value < label_set.num_classes:
        raise ValueError(f"class id {value} is outside the label set ({label_set.num_classes} classes)")
    return label_set.names[value]


def _values(label: np.ndarray) -> list[int]:
    """Values present in ``label``, ascending."""
    if label.size and label.dtype.kind in "iu" and label.dtype.itemsize <= 8:
        lo, hi = int(label.min()), int(label.max())
        if hi - lo < 65536:
            counts = np.bincount((label.ravel() - lo).astype(np.intp, copy=False), minlength=1)
            return (np.flatnonzero(counts) + lo).tolist()
    return [int(v) for v in np.unique(label)]


def _outer_contours(binary: np.ndarray, offset=(0, 0)):
    """Outer boundaries of the 8-connected regions of ``binary`` through their boundary pixels' centres.

    ``cv2.findContours`` gives integer pixel indices; PIL (hence labelme) truncates polygon vertices to
    integers and fills the pixels the integer outline passes through, so the traced outline rasterizes
    back to the region.  Points are written as index + 0.5: the pixel centre in labelme's canvas (pixel j
    spans [j, j + 1)), which PIL truncates back to j, and where continuous-coordinate consumers (COCO
    polygons, Qt drawing) expect the boundary pixel's centre.
    """
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    shift = np.array([offset[0] + 0.5, offset[1] + 0.5], np.float32)
    return [c.reshape(-1, 2).astype(np.float32) + shift
            for c, (_, _, _, parent) in zip(contours, hierarchy[0]) if parent == -1]


def _raster(pts: np.ndarray, x0: int, y0: int, w: int, h: int) -> np.ndarray:
    im = Image.new("1", (w, h), 0)
    ImageDraw.Draw(im).polygon([(float(x) - x0, float(y) - y0) for x, y in pts], fill=1, outline=1)
    return np.asarray(im)


def _simplify(pts: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker with ``tolerance``, halved until the polygon still covers its region well.

    Simplification cuts convex corners inward, which costs small regions much more than large ones; a
    region whose simplified polygon would rasterize to an IoU below MIN_REGION_IOU with the exact outline
    is simplified again with half the tolerance (down to the exact outline).
    """
    if tolerance <= 0 or len(pts) <= 4:
        return pts
    x0, y0 = (int(v) for v in np.floor(pts.min(axis=0)))
    x1, y1 = (int(v) for v in np.ceil(pts.max(axis=0)))
    w, h = x1 - x0 + 2, y1 - y0 + 2
    exact = None
    while tolerance >= MIN_TOLERANCE:
        simple = cv2.approxPolyDP(pts.reshape(-1, 1, 2), tolerance, True).reshape(-1, 2)
        if len(simple) >= 3:
            if exact is None:
                exact = _raster(pts, x0, y0, w, h)
            r = _raster(simple, x0, y0, w, h)
            if np.count_nonzero(r & exact) >= MIN_REGION_IOU * np.count_nonzero(r | exact):
                return simple
        tolerance /= 2
    return pts


def _background_holes(label: np.ndarray):
    """Outlines of background regions enclosed by other classes.

    The holes of the non-background pixels (8-connected) are exactly the enclosed background: 4-connected
    regions not touching the border.  Only the bounding box of each hole is examined.
    """
    fg = (label != 0).astype(np.uint8)
    contours, hierarchy = cv2.findContours(fg, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    out, seen = [], set()
    for contour, (_, _, _, parent) in zip(contours, hierarchy[0]):
        if parent == -1:
            continue
        x, y, cw, ch = cv2.boundingRect(contour)
        crop = label[y : y + ch, x : x + cw] == 0
        n, cc, stats, _ = cv2.connectedComponentsWithStats(crop.astype(np.uint8), connectivity=4)
        for k in range(1, n):
            kx, ky, kw, kh = (int(v) for v in stats[k, :4])
            if kx == 0 or ky == 0 or kx + kw == cw or ky + kh == ch:
                continue  # not enclosed inside this box (another hole's box, or outside)
            key = (x + kx, y + ky, kw, kh, int(stats[k, 4]))
            if key in seen:
                continue
            seen.add(key)
            out += _outer_contours((cc[ky : ky + kh, kx : kx + kw] == k).astype(np.uint8), (x + kx, y + ky))
    return out


def _exact_outlines(label: np.ndarray, value: int, min_area: int) -> list[tuple[float, np.ndarray]]:
    """(outline area, outline points) of the regions of ``value`` that are painted, before simplification."""
    outlines = _background_holes(label) if value == 0 else _outer_contours((label == value).astype(np.uint8))
    out = []
    for pts in outlines:
        area = cv2.contourArea(pts)
        if area + cv2.arcLength(pts, True) / 2 + 1 < min_area:  # Pick: pixels of the region
            continue
        out.append((area, pts))
    return out


def _simplified(value: int, outlines, tolerance: float) -> list:
    regions = []
    for area, pts in outlines:
        pts = _simplify(pts, tolerance)
        if len(pts) < 3:  # one or two pixels: a degenerate triangle still paints them
            pts = np.concatenate([pts, pts[-1:], pts[-1:]])[:3]
        x0, y0 = pts.min(axis=0)
        regions.append((area, value, float(x0), float(y0), pts))
    return regions


def _encode(v: int) -> int:
    return 255 if v < 0 else v


def _failing_classes(label: np.ndarray, regions: list, values: list[int]):
    """(values whose IoU between ``label`` and the rasterized ``regions`` is below MIN_CLASS_IOU, the values
    whose polygons cause it (painted over its pixels), the rasterized uint8 image (ignore = 255));
    ([], [], None) when class ids do not fit 8 bits."""
    if max(values) > 254:
        return [], [], None
    painted = _render(label.shape[0], label.shape[1], "L",
                      (({"shape_type": "polygon", "points": pts.tolist()}, v) for _, v, _, _, pts in regions))
    truth = np.where(label < 0, 255, label).astype(np.uint16)
    cm = np.bincount((truth * 256 + painted).ravel(), minlength=65536).reshape(256, 256)
    bad, culprits = [], set()
    for v in values:
        k = _encode(v)
        inter = cm[k, k]
        union = cm[k, :].sum() + cm[:, k].sum() - inter
        if inter < MIN_CLASS_IOU * union:
            bad.append(v)
            culprits.add(v)
            culprits.update(u for u in values if u != v and cm[k, _encode(u)])  # painted over v's pixels
    return bad, sorted(culprits), painted


def _repairs(label: np.ndarray, painted: np.ndarray, values: list[int], min_area: int) -> list:
    """Exact polygons for the pixels of ``values`` that later polygons painted over, to be painted last.

    A background hole next to a one-pixel-wide structure (a vessel) has a one-pixel slit in its outline,
    and PIL fills such slits; no ordering avoids it, a later polygon over the lost pixels does.
    """
    out = []
    for v in values:
        lost = ((label == v) & (painted != _encode(v))).astype(np.uint8)
        for pts in _outer_contours(lost):
            area = cv2.contourArea(pts)
            if area + cv2.arcLength(pts, True) / 2 + 1 >= min_area:
                out += _simplified(v, [(-1.0, pts)], 0.0)  # area -1: after every ordinary region
    return out


def _polygon_regions(label: np.ndarray, values, tolerance: float, min_area: int):
    """(outline area, class value, x, y, points) for every region that must be painted, in paint order.

    Tolerances are per class: while a class's IoU with ``label`` is below MIN_CLASS_IOU (thin structures,
    many small regions), its tolerance and that of the classes painted over its pixels is halved, down to
    exact outlines;
    if an exact class still falls short, polygons over its painted-over pixels are added at the end
    (at most MAX_REPAIR_ROUNDS times).
    """
    exact = {v: _exact_outlines(label, v, min_area) for v in values}
    tol = {v: tolerance for v in values}
    by_value = {v: _simplified(v, exact[v], tol[v]) for v in values}
    repairs: list = []
    rounds = 0
    while True:
        regions = sorted((r for rs in by_value.values() for r in rs), key=lambda r: (-r[0], r[2], r[3], r[1]))
        regions += repairs
        bad, culprits, painted = _failing_classes(label, regions, values)
        coarse = [v for v in culprits if tol[v] > 0]
        if coarse:
            for v in coarse:
                tol[v] = tol[v] / 2 if tol[v] / 2 >= MIN_TOLERANCE else 0.0
                by_value[v] = _simplified(v, exact[v], tol[v])
            continue
        if not bad or rounds >= MAX_REPAIR_ROUNDS:
            return regions
        more = _repairs(label, painted, bad, min_area)
        if not more:
            return regions
        repairs += more
        rounds += 1


def _mask_shapes(label: np.ndarray, values, label_set: LabelSet) -> list[Shape]:
    shapes = []
    for value in values:
        if value == 0:
            continue
        name = _label_name(value, label_set)
        n, cc, stats, _ = cv2.connectedComponentsWithStats((label == value).astype(np.uint8), connectivity=8)
        for k in range(1, n):
            x, y, cw, ch = (int(v) for v in stats[k, :4])
            patch = cc[y : y + ch, x : x + cw] == k
            shapes.append(Shape(name, [[float(x), float(y)], [float(x + cw - 1), float(y + ch - 1)]], "mask",
                                mask=patch))
    return shapes


def mask_to_shapes(label: np.ndarray, label_set: LabelSet, *, mode: str = "polygon",
                   tolerance: float = DEFAULT_TOLERANCE, min_area: int = DEFAULT_MIN_AREA) -> list[Shape]:
    """Shapes whose rasterization (labelme's ``shapes_to_label``) reproduces the class mask ``label``.

    ``label``: HxW integer class ids (0 background, -1 ignore).  ``mode``: "polygon" (editable; per-class
    IoU typically >= 0.99 with ``tolerance`` 1) or "mask" (exact).  ``tolerance``: polygon simplification
    in pixels.  ``min_area``: polygon regions with fewer pixels are dropped.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
    label = np.asarray(label)
    if label.ndim != 2 or label.dtype.kind not in "iub":
        raise ValueError(f"label must be a 2-D integer array, got {label.dtype} {label.shape}")
    values = _values(label)
    for v in values:
        _label_name(v, label_set)  # every value must be a known class before anything is built
    if mode == "mask":
        return _mask_shapes(label, values, label_set)
    return [
        Shape(_label_name(value, label_set), [[float(x), float(y)] for x, y in pts.tolist()], "polygon")
        for _, value, _, _, pts in _polygon_regions(label, values, float(tolerance), int(min_area))
    ]
