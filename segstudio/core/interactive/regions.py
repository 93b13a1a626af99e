"""Post-processing shared by the interactive methods: which connected components make the object."""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np

from segstudio.core.interactive.prompts import Box, Click


def click_radius(shape: tuple[int, int], fraction: float = 0.015) -> int:
    """Radius in pixels of the hard constraint drawn around a click on an image of ``shape``."""
    return max(2, int(round(fraction * max(shape))))


def apply_disks(mask: np.ndarray, clicks: Sequence[Click], radius: int) -> np.ndarray:
    """``mask`` with a disk of ``radius`` set around each positive click and cleared around each negative one
    (later clicks win), so that a click's own pixel always has the class it asked for."""
    if not clicks:
        return mask
    out = mask.astype(np.uint8).copy()
    for c in clicks:
        cv2.circle(out, c.pixel(), max(1, int(radius)), 1 if c.positive else 0, -1)
    return out.astype(bool)


def fill_holes(mask: np.ndarray, keep_open: Sequence[Click] = ()) -> np.ndarray:
    """``mask`` with its enclosed background filled, except holes that hold a negative click."""
    m = mask.astype(np.uint8)
    if not m.any():
        return mask.astype(bool)
    n, cc = cv2.connectedComponents(1 - m, connectivity=4)
    border = set(np.unique(np.concatenate([cc[0], cc[-1], cc[:, 0], cc[:, -1]])).tolist())
    keep = {int(cc[py, px]) for c in keep_open if not c.positive
            for px, py in [c.pixel()] if 0 <= py < m.shape[0] and 0 <= px < m.shape[1]}
    holes = np.ones(n, bool)
    holes[[0] + sorted(border | keep)] = False
    holes[0] = False
    out = mask.astype(bool).copy()
    out |= holes[cc] & (m == 0)
    return out


def _component_at(cc: np.ndarray, c: Click) -> int:
    px, py = c.pixel()
    if 0 <= py < cc.shape[0] and 0 <= px < cc.shape[1]:
        return int(cc[py, px])
    return 0


def select_components(mask: np.ndarray, box: Optional[Box], clicks: Sequence[Click] = (),
                      fill: bool = True) -> np.ndarray:
    """The object in ``mask`` (clipped to ``box`` grown to hold the positive clicks).

    Kept: every component holding a positive click, and the largest component - unless positives exist
    elsewhere and it holds a negative click (then it is the wrong object and is cut as a whole).  Without
    positives the largest component is kept even under a negative click (the click carves it locally).
    Enclosed holes are filled (``fill``) except those holding a negative click.
    """
    m = mask.astype(np.uint8)
    if box is not None:
        clipped = np.zeros_like(m)
        big = box.including(clicks, m.shape[1], m.shape[0])
        clipped[big.y0 : big.y1, big.x0 : big.x1] = m[big.y0 : big.y1, big.x0 : big.x1]
        m = clipped
    n, cc, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n <= 1:
        return np.zeros(mask.shape, bool)
    positive = {_component_at(cc, c) for c in clicks if c.positive} - {0}
    negative = {_component_at(cc, c) for c in clicks if not c.positive} - {0} - positive
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    keep = set(positive)
    if not positive or largest not in negative:
        keep.add(largest)
    chosen = np.zeros(n, bool)
    chosen[sorted(keep)] = True
    out = chosen[cc]
    return fill_holes(out, clicks) if fill else out


def largest_error_click(pred: np.ndarray, gt: np.ndarray) -> Optional[Click]:
    """The benchmark's simulated annotator: a click at the centre (farthest point from its border) of the
    largest error region; positive in a false negative, negative in a false positive; None without errors."""
    fn = gt & ~pred
    fp = pred & ~gt
    best = None
    for err, positive in ((fn, True), (fp, False)):
        if not err.any():
            continue
        padded = np.pad(err.astype(np.uint8), 1)
        dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
        y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
        if best is None or dist[y, x] > best[0]:
            best = (float(dist[y, x]), Click(x + 0.5, y + 0.5, positive))
    return None if best is None else best[1]
