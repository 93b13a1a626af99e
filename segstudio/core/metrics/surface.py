"""HD95: the 95th percentile of the symmetric surface distance between two binary masks, in pixels.

- surface of a mask = its pixels with at least one 4-neighbour outside the mask (``mask & ~erode(mask)``,
  with 4-connectivity; pixels on the image border count as surface).
- distances = Euclidean distance from every surface pixel of A to the nearest surface pixel of B, and from
  every surface pixel of B to the nearest of A; HD95 = 95th percentile (linear interpolation) of the
  union of both sets (MedPy's ``hd95``; MONAI instead takes the max of the two directed percentiles).
- undefined (nan) when either mask is empty: there is no surface to measure from (MONAI returns nan or
  inf there, MedPy raises).  A set's HD95 leaves such images out and counts them (docs/metrics.md).
"""
from __future__ import annotations

import numpy as np


def surface_points(mask: np.ndarray) -> np.ndarray:
    """(K, 2) row/col coordinates of the mask's surface pixels (4-connectivity, image border = outside)."""
    mask = np.asarray(mask, dtype=bool)
    rows = np.flatnonzero(mask.any(1))
    if rows.size == 0:
        return np.zeros((0, 2), np.int64)
    cols = np.flatnonzero(mask.any(0))
    r0, c0 = rows[0], cols[0]
    m = np.pad(mask[r0 : rows[-1] + 1, c0 : cols[-1] + 1], 1)
    core = m[1:-1, 1:-1]
    interior = core & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
    pts = np.argwhere(core & ~interior)
    pts[:, 0] += r0
    pts[:, 1] += c0
    return pts


def surface(mask: np.ndarray) -> np.ndarray:
    """Boolean surface map of ``mask`` (same shape)."""
    out = np.zeros(np.shape(mask), dtype=bool)
    pts = surface_points(mask)
    out[pts[:, 0], pts[:, 1]] = True
    return out


def surface_distances(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distances from A's surface pixels to the nearest of B's, from B's to A's); both masks non-empty.

    Exact Euclidean nearest neighbours with a k-d tree over the surface pixels (fast for any image size).
    """
    from scipy.spatial import cKDTree  # here: the GUI imports this module before its first frame (~0.1 s)

    pa, pb = surface_points(a), surface_points(b)
    d_ab = cKDTree(pb).query(pa, k=1)[0]
    d_ba = cKDTree(pa).query(pb, k=1)[0]
    return np.asarray(d_ab, float), np.asarray(d_ba, float)


def hd95(pred_bool, gt_bool) -> float:
    """95th percentile symmetric surface distance in pixels (nan if either mask is empty)."""
    pred = np.asarray(pred_bool, dtype=bool)
    gt = np.asarray(gt_bool, dtype=bool)
    if pred.shape != gt.shape:
        raise ValueError(f"hd95: shapes differ {pred.shape} vs {gt.shape}")
    if not pred.any() or not gt.any():
        return float("nan")
    if np.array_equal(pred, gt):
        return 0.0
    d_ab, d_ba = surface_distances(pred, gt)
    return float(np.percentile(np.concatenate([d_ab, d_ba]), 95))
