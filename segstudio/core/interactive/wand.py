"""Magic wand: the region connected to a seed whose colour is within a tolerance of the seed's colour."""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np

from segstudio.core.interactive.prompts import Box, Click, PromptError, check_click, image_hw, to_rgb8

DEFAULT_TOLERANCE = 24
MAX_TOLERANCE = 255


def view_box(image: np.ndarray, view: Optional[Sequence[float]]) -> Box:
    """The part of the image a view rectangle (x0, y0, x1, y1) shows, clipped; the whole image for None."""
    h, w = image_hw(image)
    if view is None:
        return Box(0, 0, w, h)
    x0, y0, x1, y1 = (float(v) for v in view)
    b = Box(max(0, int(np.floor(min(x0, x1)))), max(0, int(np.floor(min(y0, y1)))),
            min(w, int(np.ceil(max(x0, x1)))), min(h, int(np.ceil(max(y0, y1)))))
    if b.width <= 0 or b.height <= 0:
        raise PromptError(f"the view ({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f}) shows none of the {w}x{h} image")
    return b


def magic_wand(image: np.ndarray, x: float, y: float, tolerance: float = DEFAULT_TOLERANCE,
               view: Optional[Sequence[float]] = None, rgb: Optional[np.ndarray] = None) -> np.ndarray:
    """bool HxW: pixels 8-connected to (x, y) inside ``view`` whose every channel differs from the seed's by
    at most ``tolerance`` (0-255 on the 8-bit display values; 16-bit images are min-max scaled first).
    ``rgb``: the image already converted by :func:`~segstudio.core.interactive.prompts.to_rgb8` (cache)."""
    click = check_click(image, Click(float(x), float(y)))
    b = view_box(image, view)
    px, py = click.pixel()
    if not b.contains(px, py):
        raise PromptError(f"the click at ({px}, {py}) is outside the visible part of the image")
    rgb = to_rgb8(image) if rgb is None else rgb
    crop = rgb[b.y0 : b.y1, b.x0 : b.x1].copy()   # floodFill wants a writable image even with MASK_ONLY
    tol = float(min(max(tolerance, 0), MAX_TOLERANCE))
    ff = np.zeros((b.height + 2, b.width + 2), np.uint8)
    flags = 8 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    cv2.floodFill(crop, ff, (px - b.x0, py - b.y0), (0, 0, 0), (tol,) * 3, (tol,) * 3, flags)
    out = np.zeros(image.shape[:2], bool)
    out[b.y0 : b.y1, b.x0 : b.x1] = ff[1:-1, 1:-1].astype(bool)
    return out
