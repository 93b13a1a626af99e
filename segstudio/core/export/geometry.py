"""Shapes as polygons and instance masks, for the instance formats (COCO, YOLO).

Instances follow labelme: shapes with the same (label, group_id) form one instance; a shape without a
group_id is an instance of its own.  Instance masks are rasterized by the annotation core
(``shape_to_mask``, pixel-exact with labelme) and OR-ed per instance, without removing overlaps, as
``labelme2coco`` does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from segstudio.core.annotation import Annotation, Shape, shape_to_mask


@dataclass
class Instance:
    label: str
    class_id: int
    shapes: list[Shape] = field(default_factory=list)


def group_instances(ann: Annotation, label_name_to_value: dict[str, int]) -> list[Instance]:
    """Instances in order of first appearance; ignored labels (id < 0) are left out."""
    instances: dict[tuple, Instance] = {}
    for i, shape in enumerate(ann.shapes):
        cid = label_name_to_value.get(shape.label, -1)
        if cid < 0:
            continue
        key = (shape.label, shape.group_id) if shape.group_id is not None else (shape.label, None, i)
        inst = instances.get(key)
        if inst is None:
            inst = instances[key] = Instance(shape.label, cid)
        inst.shapes.append(shape)
    return list(instances.values())


def shape_mask(shape: Shape, img_shape: tuple[int, int]) -> np.ndarray:
    return shape_to_mask(img_shape, shape.points, shape.shape_type, mask=shape.mask)


def instance_mask(inst: Instance, img_shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(img_shape, dtype=bool)
    for shape in inst.shapes:
        mask |= shape_mask(shape, img_shape)
    return mask


def circle_polygon(points) -> list[float]:
    """labelme2coco's circle outline: enough vertices that the chord gap stays under one pixel."""
    (cx, cy), (px, py) = points[:2]
    r = math.hypot(px - cx, py - cy)
    n = 12 if r <= 0.5 else max(int(math.pi / math.acos(1 - 1 / r)), 12)
    t = 2 * math.pi * np.arange(n) / n
    return np.stack((cx + r * np.sin(t), cy + r * np.cos(t)), axis=1).ravel().tolist()


def mask_polygons(mask: np.ndarray) -> list[list[float]]:
    """Outer contours of a boolean mask as flat [x0, y0, x1, y1, ...] lists (pixel coordinates)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polys = []
    for c in contours:
        pts = c.reshape(-1, 2).astype(float)
        if len(pts) < 3:  # a 1-2 pixel blob: use its pixel box
            x0, y0 = pts.min(0)
            x1, y1 = pts.max(0) + 1
            pts = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)
        polys.append(pts.ravel().tolist())
    return polys


def shape_polygons(shape: Shape, img_shape: tuple[int, int]) -> list[list[float]]:
    """The outline(s) of one shape as flat coordinate lists.

    polygon / oriented_rectangle: their points; rectangle: its 4 corners; circle: labelme2coco's polygon;
    line, linestrip, point and mask shapes: the outer contours of their rasterized mask.
    """
    st = shape.shape_type or "polygon"
    pts = shape.points
    if st in ("polygon", "oriented_rectangle") and len(pts) >= 3:
        return [np.asarray(pts, float).ravel().tolist()]
    if st == "rectangle" and len(pts) == 2:
        (x1, y1), (x2, y2) = pts
        x1, x2 = sorted((x1, x2))
        y1, y2 = sorted((y1, y2))
        return [[x1, y1, x2, y1, x2, y2, x1, y2]]
    if st == "circle" and len(pts) == 2:
        return [circle_polygon(pts)]
    return mask_polygons(shape_mask(shape, img_shape))


def merge_polygons(polys: list[list[float]]) -> list[float]:
    """Join several outlines into one polygon (for one-line-per-instance formats such as YOLO-seg).

    The parts are linked by the shortest vertex-to-vertex bridges that connect them all (a minimum spanning
    tree over the closest vertex pair of every two parts); the path walks each outline once and every
    bridge there and back, so the polygon's area is the union of the parts.  A rasterizer that draws a
    polygon's edges (PIL, cv2.fillPoly: every YOLO reader) still paints the pixels of each bridge line,
    about one pixel per pixel of bridge length: the shortest bridges keep that to the minimum.
    """
    arrays = [np.asarray(p, float).reshape(-1, 2) for p in polys if len(p) >= 6]
    if len(arrays) <= 1:
        return list(polys[0]) if len(polys) == 1 else (arrays[0].ravel().tolist() if arrays else [])
    children = _bridge_tree(arrays)
    out: list[np.ndarray] = []
    _walk(0, 0, arrays, children, out)
    return np.concatenate(out).ravel().tolist()


def _closest_pair(a: np.ndarray, b: np.ndarray) -> tuple[float, int, int]:
    d = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    i, j = np.unravel_index(int(np.argmin(d)), d.shape)
    return float(d[i, j]), int(i), int(j)


def _bridge_tree(arrays: list[np.ndarray]) -> dict[int, list[tuple[int, int, int]]]:
    """Prim's minimum spanning tree of the parts rooted at part 0: {part: [(vertex, child, child_vertex)]}."""
    n = len(arrays)
    pairs = {(i, j): _closest_pair(arrays[i], arrays[j]) for i in range(n) for j in range(n) if i != j}
    in_tree, children = {0}, {i: [] for i in range(n)}
    while len(in_tree) < n:
        (i, j), (_d, vi, vj) = min(((k, v) for k, v in pairs.items() if k[0] in in_tree and k[1] not in in_tree),
                                   key=lambda kv: kv[1][0])
        children[i].append((vi, j, vj))
        in_tree.add(j)
    return children


def _walk(part: int, entry: int, arrays, children, out: list) -> None:
    """Go round ``part`` from vertex ``entry`` back to it, detouring into each child at its bridge vertex."""
    ring = arrays[part]
    n = len(ring)
    at: dict[int, list] = {}
    for vi, child, vj in children[part]:
        at.setdefault(vi, []).append((child, vj))
    for step in range(n + 1):
        k = (entry + step) % n
        out.append(ring[k : k + 1])
        if step < n:
            for child, vj in at.get(k, ()):
                _walk(child, vj, arrays, children, out)
                out.append(ring[k : k + 1])  # back over the bridge


def bbox_of(mask: np.ndarray) -> list[float]:
    """[x, y, width, height] of the mask's pixels (pycocotools' toBbox); zeros when empty."""
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if len(xs) == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs[0]), float(ys[0]), float(xs[-1] - xs[0] + 1), float(ys[-1] - ys[0] + 1)]
