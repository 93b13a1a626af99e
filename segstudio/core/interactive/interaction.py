"""The click-refinement state machine of one object: a box (or a first click), then positive/negative clicks.

``Interaction(image, method, model=...)``:

* ``set_box(box)`` -> mask: a new object (the clicks are cleared);
* ``add_click(x, y, positive)`` -> mask: refines the current object; the first click without a box starts an
  object in a box around the similar-coloured region under it;
* ``undo_click()`` -> mask: drops the last click (the GUI's undo restores the shape itself);
* ``mask`` / ``box`` / ``clicks``: the current state.

Every call validates its input and raises :class:`~segstudio.core.interactive.prompts.PromptError` (box outside
the image, a 1-pixel box, a click outside the image, an image of one colour, nothing found) without changing
the state.
"""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np

from segstudio.core.interactive.methods import make_method
from segstudio.core.interactive.prompts import (
    Box, Click, PromptError, check_click, check_not_blank, image_hw, make_box, to_rgb8,
)
from segstudio.core.interactive.wand import magic_wand

START_TOLERANCE = 32   # colour tolerance of the region that sizes a first click's box
START_MARGIN = 0.3     # ... grown by this fraction of its size on each side
START_MIN = 0.1        # ... and at least this fraction of the image's shorter side


class Interaction:
    def __init__(self, image: np.ndarray, method: str = "grabcut", *, model=None, **options):
        image_hw(image)
        self.image = image
        self.method_name = method
        self.method = make_method(method, image, model=model, **options)
        self.box: Optional[Box] = None
        self.clicks: list[Click] = []
        self.mask: Optional[np.ndarray] = None

    @property
    def active(self) -> bool:
        return self.box is not None

    def reset(self) -> None:
        self.box, self.clicks, self.mask = None, [], None

    def _segment(self, box: Box, clicks: Sequence[Click], *, start: bool) -> np.ndarray:
        mask = self.method.segment(box, list(clicks))
        if start and not mask.any():
            raise PromptError("nothing was found in the box: drag it more tightly around the object, or click "
                              "inside the object")
        self.box, self.clicks, self.mask = box, list(clicks), mask
        return mask

    def set_box(self, box: Sequence[float]) -> np.ndarray:
        b = make_box(self.image, box)
        check_not_blank(self.image, b)
        return self._segment(b, [], start=True)

    def start_at(self, click: Click) -> np.ndarray:
        """A new object from one click (no box): a square around it, the click positive."""
        check_click(self.image, click)
        check_not_blank(self.image)
        return self._segment(self._start_box(click), [Click(click.x, click.y, True)], start=True)

    def _start_box(self, click: Click) -> Box:
        """The box of a first click: the extent of the similar-coloured region around it (magic wand on the
        smoothed image), grown by START_MARGIN, at least START_MIN of the image's shorter side."""
        h, w = self.image.shape[:2]
        smooth = cv2.GaussianBlur(to_rgb8(self.image), (5, 5), 0)
        region = magic_wand(smooth, click.x, click.y, START_TOLERANCE, rgb=smooth)
        ys, xs = np.nonzero(region)
        x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        half = START_MIN * min(h, w) / 2
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        hw = max(half, (x1 - x0) * (0.5 + START_MARGIN))
        hh = max(half, (y1 - y0) * (0.5 + START_MARGIN))
        return make_box(self.image, (cx - hw, cy - hh, cx + hw, cy + hh))

    def add_click(self, x: float, y: float, positive: bool = True) -> np.ndarray:
        click = check_click(self.image, Click(float(x), float(y), bool(positive)))
        if self.box is None:
            if not positive:
                raise PromptError("a negative click needs an object first: drag a box or left-click the object")
            return self.start_at(click)
        return self._segment(self.box, self.clicks + [click], start=False)

    def undo_click(self) -> Optional[np.ndarray]:
        if not self.clicks or self.box is None:
            return self.mask
        return self._segment(self.box, self.clicks[:-1], start=False)
