"""OpenCV GrabCut for one object: a box, then clicks as hard foreground/background constraints.

GrabCut's graph cut grows with the pixel count, so it works on the box's region (+ a margin of background)
downscaled to at most ``max_side`` pixels on its long side; the result is upsampled (bilinear on the 0/1
mask, threshold 0.5) to the image.  Between clicks of the same object the colour models (GMMs) and the
working mask are kept: a click draws a disk of GC_FGD / GC_BGD and runs ``GC_EVAL`` iterations from there.
An optional ``prior`` (foreground probability of the region, e.g. from the project's model) replaces the
rectangle initialisation: PR_FGD where prior >= 0.5, PR_BGD elsewhere, and hard GC_FGD / GC_BGD where the
prior is very sure.
"""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np

from segstudio.core.interactive.prompts import Box, Click, to_rgb8
from segstudio.core.interactive.regions import apply_disks, click_radius, select_components

MAX_SIDE = 192          # working resolution (long side of box + margin), see module docstring
MARGIN = 0.15           # background around the box, fraction of the box size
START_ITERATIONS = 3
CLICK_ITERATIONS = 2
SURE = 0.97             # prior above this (or below 1 - SURE) becomes a hard constraint


class GrabCut:
    """GrabCut state for one object on one image (see the module docstring)."""

    def __init__(self, image: np.ndarray, *, max_side: int = MAX_SIDE, margin: float = MARGIN):
        self.rgb = to_rgb8(image)
        self.h, self.w = self.rgb.shape[:2]
        self.max_side, self.margin = int(max_side), float(margin)
        self.region: Optional[Box] = None
        self.box: Optional[Box] = None
        self.scale = 1.0
        self._work: Optional[np.ndarray] = None
        self._mask: Optional[np.ndarray] = None   # GC_* labels of the working image
        self._models = (np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64))

    # ------------------------------------------------------------------ geometry
    def _setup(self, box: Box) -> None:
        self.box = box
        self.region = box.expanded(self.margin, self.w, self.h)
        r = self.region
        self.scale = min(1.0, self.max_side / max(r.width, r.height))
        crop = self.rgb[r.y0 : r.y1, r.x0 : r.x1]
        if self.scale < 1.0:
            size = (max(1, round(r.width * self.scale)), max(1, round(r.height * self.scale)))
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        self._work = np.ascontiguousarray(crop)
        self._models = (np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64))

    def _to_work(self, x: float, y: float) -> tuple[int, int]:
        wh, ww = self._work.shape[:2]
        return (min(ww - 1, max(0, int((x - self.region.x0) * self.scale))),
                min(wh - 1, max(0, int((y - self.region.y0) * self.scale))))

    def _work_rect(self) -> tuple[int, int, int, int]:
        """The box in working coordinates, kept 1 px inside the working image (GrabCut needs background)."""
        wh, ww = self._work.shape[:2]
        x0, y0 = self._to_work(self.box.x0, self.box.y0)
        x1, y1 = self._to_work(self.box.x1, self.box.y1)
        x0, y0 = max(x0, 1 if ww > 4 else 0), max(y0, 1 if wh > 4 else 0)
        x1, y1 = min(max(x1, x0 + 2), ww - 1), min(max(y1, y0 + 2), wh - 1)
        return x0, y0, max(1, x1 - x0), max(1, y1 - y0)

    # ------------------------------------------------------------------ GrabCut
    def _run(self, mode: int, iterations: int, rect=None) -> None:
        bgd, fgd = self._models
        try:
            cv2.grabCut(self._work, self._mask, rect, bgd, fgd, iterations, mode)
        except cv2.error:
            # one class has no samples (e.g. the box covers the whole image): keep the initial labels
            pass

    def _init_mask(self, prior: Optional[np.ndarray]) -> bool:
        """Working mask from a prior; False when the prior has no usable foreground (use the rectangle)."""
        x, y, rw, rh = self._work_rect()
        mask = np.full(self._work.shape[:2], cv2.GC_BGD, np.uint8)
        p = cv2.resize(prior.astype(np.float32), (self._work.shape[1], self._work.shape[0]),
                       interpolation=cv2.INTER_AREA) if prior.shape != self._work.shape[:2] else prior
        inner = p[y : y + rh, x : x + rw]
        sub = np.where(inner >= 0.5, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
        sub[inner >= SURE] = cv2.GC_FGD
        sub[inner <= 1 - SURE] = cv2.GC_BGD
        if not (sub % 2 == 1).any() or (sub % 2 == 1).all() and mask.size == sub.size:
            return False
        mask[y : y + rh, x : x + rw] = sub
        self._mask = mask
        return True

    def start(self, box: Box, prior: Optional[np.ndarray] = None,
              iterations: int = START_ITERATIONS) -> np.ndarray:
        """Segment the object in ``box``; ``prior`` = foreground probability over :attr:`region` (optional)."""
        self._setup(box)
        if prior is not None and self._init_mask(self._prior_in_region(prior)):
            self._run(cv2.GC_INIT_WITH_MASK, iterations)
        else:
            self._mask = np.zeros(self._work.shape[:2], np.uint8)
            self._run(cv2.GC_INIT_WITH_RECT, iterations, self._work_rect())
        return self.result([])

    def _prior_in_region(self, prior: np.ndarray) -> np.ndarray:
        """``prior`` given over the whole image or over :attr:`region` -> the region's part."""
        if prior.shape == (self.h, self.w) and (self.h, self.w) != (self.region.height, self.region.width):
            r = self.region
            return prior[r.y0 : r.y1, r.x0 : r.x1]
        return prior

    def update(self, clicks: Sequence[Click], iterations: int = CLICK_ITERATIONS) -> np.ndarray:
        """Apply every click as a hard constraint (disks) and re-run GrabCut from the current state."""
        radius = click_radius(self._work.shape[:2])
        for c in clicks:
            cv2.circle(self._mask, self._to_work(c.x, c.y), radius,
                       int(cv2.GC_FGD if c.positive else cv2.GC_BGD), -1)
        self._run(cv2.GC_EVAL, iterations)
        return self.result(clicks)

    def foreground_work(self) -> np.ndarray:
        return (self._mask == cv2.GC_FGD) | (self._mask == cv2.GC_PR_FGD)

    def result(self, clicks: Sequence[Click]) -> np.ndarray:
        """The bool HxW mask of the whole image (components chosen by :func:`select_components`)."""
        fg = self.foreground_work().astype(np.uint8)
        r = self.region
        if self.scale < 1.0:
            up = cv2.resize(fg.astype(np.float32), (r.width, r.height), interpolation=cv2.INTER_LINEAR) >= 0.5
        else:
            up = fg.astype(bool)
        out = np.zeros((self.h, self.w), bool)
        out[r.y0 : r.y1, r.x0 : r.x1] = up
        return select_components(apply_disks(out, clicks, round(click_radius(self._work.shape[:2]) / self.scale)),
                                 self.box, clicks)
