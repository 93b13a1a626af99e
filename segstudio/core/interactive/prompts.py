"""Prompts of interactive segmentation: a box, positive/negative clicks, and their validation.

Coordinates are image pixels as on the canvas: pixel ``j`` spans ``[j, j + 1)``; a box is ``(x0, y0, x1, y1)``
in continuous coordinates (any corner order).  Bad prompts raise :class:`PromptError` whose text says what
is wrong (shown in the status bar; nothing is changed).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from segstudio.core.errors import SegStudioError

MIN_BOX_SIDE = 3  # pixels: a box narrower than this cannot hold an object


class PromptError(SegStudioError):
    """A box or click cannot be used (outside the image, too small, nothing to segment)."""


@dataclass(frozen=True)
class Click:
    """A click at (x, y) image coordinates; ``positive`` = inside the object (left button)."""

    x: float
    y: float
    positive: bool = True

    def pixel(self) -> tuple[int, int]:
        return int(np.floor(self.x)), int(np.floor(self.y))


@dataclass(frozen=True)
class Box:
    """Integer pixel box ``[x0, x1) x [y0, y1)`` clipped to the image."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x < self.x1 and self.y0 <= y < self.y1

    def expanded(self, margin: float, width: int, height: int) -> "Box":
        """The box grown by ``margin`` x its size on every side (at least 4 px), clipped to the image."""
        mx = max(4, int(round(self.width * margin)))
        my = max(4, int(round(self.height * margin)))
        return Box(max(0, self.x0 - mx), max(0, self.y0 - my), min(width, self.x1 + mx), min(height, self.y1 + my))

    def including(self, clicks: Sequence[Click], width: int, height: int) -> "Box":
        """The smallest box holding this one and every positive click (a positive click outside grows it)."""
        x0, y0, x1, y1 = self.x0, self.y0, self.x1, self.y1
        for c in clicks:
            if c.positive:
                px, py = c.pixel()
                x0, y0, x1, y1 = min(x0, px - 2), min(y0, py - 2), max(x1, px + 3), max(y1, py + 3)
        return Box(max(0, x0), max(0, y0), min(width, x1), min(height, y1))

    def as_tuple(self) -> tuple[int, int, int, int]:
        return self.x0, self.y0, self.x1, self.y1


def image_hw(image: np.ndarray) -> tuple[int, int]:
    if image is None or np.asarray(image).ndim not in (2, 3) or 0 in np.asarray(image).shape[:2]:
        raise PromptError("no image to segment (the image is empty)")
    return int(image.shape[0]), int(image.shape[1])


def make_box(image: np.ndarray, box: Sequence[float]) -> Box:
    """Validate a dragged box against the image: clipped to it, at least MIN_BOX_SIDE pixels each way."""
    h, w = image_hw(image)
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        raise PromptError(f"a box needs 4 numbers (x0, y0, x1, y1), got {box!r}") from None
    if not all(np.isfinite(v) for v in (x0, y0, x1, y1)):
        raise PromptError(f"the box {box!r} has non-finite coordinates")
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    if x1 <= 0 or y1 <= 0 or x0 >= w or y0 >= h:
        raise PromptError(f"the box ({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f}) lies outside the {w}x{h} image")
    bx0, by0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
    bx1, by1 = min(w, int(np.ceil(x1))), min(h, int(np.ceil(y1)))
    if bx1 - bx0 < MIN_BOX_SIDE or by1 - by0 < MIN_BOX_SIDE:
        raise PromptError(f"the box is {bx1 - bx0}x{by1 - by0} pixels inside the image: drag a box at least "
                          f"{MIN_BOX_SIDE}x{MIN_BOX_SIDE} pixels around the object")
    return Box(bx0, by0, bx1, by1)


def check_click(image: np.ndarray, click: Click) -> Click:
    """A click must fall on the image."""
    h, w = image_hw(image)
    if not (0 <= click.x < w and 0 <= click.y < h):
        raise PromptError(f"the click at ({click.x:.0f}, {click.y:.0f}) is outside the {w}x{h} image")
    return click


def check_not_blank(image: np.ndarray, box: Optional[Box] = None) -> None:
    """Refuse an image (or box region) of one uniform colour: there is nothing to separate."""
    region = image if box is None else image[box.y0 : box.y1, box.x0 : box.x1]
    flat = region.reshape(-1, region.shape[2]) if region.ndim == 3 else region.reshape(-1, 1)
    if flat.size == 0 or bool(np.all(flat == flat[0])):
        where = "the image" if box is None else "the box"
        raise PromptError(f"{where} is one uniform colour: there is no object to segment")


def to_rgb8(image: np.ndarray) -> np.ndarray:
    """HxWx3 contiguous uint8 for OpenCV: 8-bit as is, other dtypes min-max scaled, gray repeated."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.dtype != np.uint8:
        f = img.astype(np.float32)
        lo, hi = float(np.nanmin(f)), float(np.nanmax(f))
        img = (np.nan_to_num((f - lo) * (255.0 / (hi - lo))) if hi > lo else np.zeros_like(f)).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return np.ascontiguousarray(img)
