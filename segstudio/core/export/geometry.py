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
from scipy.spatial import cKDTree

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
    return np.concatenate(_walk(arrays, _bridge_tree(arrays))).ravel().tolist()


def _bridge_tree(arrays: list[np.ndarray]) -> list[list[tuple[int, int, int]]]:
    """Minimum spanning tree of the parts (edge weight: distance of their closest vertices), rooted at part
    0: for each part, [(its vertex, child part, the child's vertex)].  Kruskal over candidate bridges: the
    closest vertex pair of every two parts (k-d trees) for a few parts; for many, the Delaunay edges between
    parts, which include every such closest pair (no vertex lies in the circle over a closest pair)."""
    tree = _tree_from(len(arrays), _delaunay_bridges(arrays)) if len(arrays) > 24 else None
    return tree if tree is not None else _tree_from(len(arrays), _pair_bridges(arrays))


def _pair_bridges(arrays: list[np.ndarray]) -> list[tuple]:
    """(distance, part a, vertex in a, part b, vertex in b): the closest vertices of every two parts."""
    trees = [cKDTree(a) for a in arrays]
    edges = []
    for i in range(len(arrays)):
        for j in range(i + 1, len(arrays)):
            dist, idx = trees[i].query(arrays[j])
            k = int(np.argmin(dist))
            edges.append((float(dist[k]), i, int(idx[k]), j, k))
    return edges


def _delaunay_bridges(arrays: list[np.ndarray]) -> list[tuple] | None:
    """The Delaunay edges joining two parts, as in ``_pair_bridges``; None for degenerate points."""
    from scipy.spatial import Delaunay, QhullError

    sizes = [len(a) for a in arrays]
    pts = np.concatenate(arrays)
    part = np.repeat(np.arange(len(arrays)), sizes)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    try:
        simplices = Delaunay(pts, qhull_options="QJ").simplices  # joggled: degenerate grids stay fast
    except (QhullError, ValueError):
        return None
    e = np.concatenate([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [2, 0]]])
    e = e[part[e[:, 0]] != part[e[:, 1]]]
    a, b = e[:, 0], e[:, 1]
    d = np.hypot(*(pts[a] - pts[b]).T)
    return list(zip(d.tolist(), part[a].tolist(), (a - first[part[a]]).tolist(), part[b].tolist(),
                    (b - first[part[b]]).tolist()))


def _tree_from(n: int, edges: list[tuple] | None) -> list[list[tuple[int, int, int]]] | None:
    """Kruskal's tree over ``edges``, oriented from part 0; None when the edges leave a part unconnected."""
    if edges is None:
        return None
    root = list(range(n))

    def find(p: int) -> int:
        while root[p] != p:
            root[p] = root[root[p]]
            p = root[p]
        return p

    links: list[list[tuple[int, int, int]]] = [[] for _ in range(n)]
    for _d, a, va, b, vb in sorted(edges):
        ra, rb = find(a), find(b)
        if ra != rb:
            root[ra] = rb
            links[a].append((va, b, vb))
            links[b].append((vb, a, va))
    children: list[list[tuple[int, int, int]]] = [[] for _ in range(n)]
    order, seen = [0], {0}
    for part in order:
        for vi, other, vj in links[part]:
            if other not in seen:
                seen.add(other)
                order.append(other)
                children[part].append((vi, other, vj))
    return children if len(seen) == n else None


def _walk(arrays: list[np.ndarray], children) -> list[np.ndarray]:
    """Vertices of the joined path: go round part 0 from its first vertex back to it; at a vertex where a
    child part hangs, cross to it, go round it, cross back (iterative: no recursion limit)."""
    at: list[dict[int, list]] = [{} for _ in arrays]
    for part, links in enumerate(children):
        for vi, child, vj in links:
            at[part].setdefault(vi, []).append((child, vj))
    out: list[np.ndarray] = []
    stack = [[0, 0, 0, None]]  # part, entry vertex, step round the ring, children still to visit here
    while stack:
        frame = stack[-1]
        part, entry, step, queue = frame
        ring = arrays[part]
        k = (entry + step) % len(ring)
        if queue is None:
            out.append(ring[k : k + 1])
            if step == len(ring):  # closed: back over the bridge to the parent's vertex
                stack.pop()
                if stack:
                    p_part, p_entry, p_step, _q = stack[-1]
                    p_ring = arrays[p_part]
                    out.append(p_ring[(p_entry + p_step) % len(p_ring)][None])
                continue
            queue = frame[3] = list(at[part].get(k, ()))
        if queue:
            child, vj = queue.pop(0)
            stack.append([child, vj, 0, None])
        else:
            frame[2], frame[3] = step + 1, None
    return out


def bbox_of(mask: np.ndarray) -> list[float]:
    """[x, y, width, height] of the mask's pixels (pycocotools' toBbox); zeros when empty."""
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if len(xs) == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs[0]), float(ys[0]), float(xs[-1] - xs[0] + 1), float(ys[-1] - ys[0] + 1)]
