"""Box -> mask methods (a registry: plugins add more, e.g. a SAM-family ONNX model) and their state.

A method is a class ``Method(image, *, model=None, **options)`` with ``segment(box, clicks) -> bool HxW``
called with the box and then, after each click, with the box and all clicks so far; it may keep state
between calls of the same object (GrabCut keeps its colour models).  ``needs_model`` says whether it
requires a :class:`~segstudio.core.interactive.model.ModelPrior` (``model=``).

* ``grabcut`` - OpenCV GrabCut from the box, clicks as hard constraints (works without any model).
* ``model`` - the project's model: its probabilities around the box seed GrabCut (PR_FGD / PR_BGD, hard where
  it is sure); clicks are hard constraints; the component inside the box / holding the positives is kept,
  those holding negatives are cut.
* ``model-threshold`` - the model's probabilities alone: thresholded at 0.5, raised / lowered by a Gaussian
  around each positive / negative click, components chosen the same way (the simpler alternative the
  benchmark compares against).
"""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np

from segstudio.core.interactive.grabcut import GrabCut
from segstudio.core.interactive.prompts import Box, Click, PromptError
from segstudio.core.interactive.regions import click_radius, select_components
from segstudio.core.registry import Registry

METHODS: Registry = Registry("interactive method")


class _Stateful:
    needs_model = False
    label = ""

    def __init__(self, image: np.ndarray, *, model=None, **options):
        if self.needs_model and model is None:
            raise PromptError(f"{self.label}: no model is chosen for this project (train one, or choose one in "
                              "the Review dock), or pick GrabCut")
        self.image, self.model, self.options = image, model, options
        self._box: Optional[Box] = None
        self._clicks: list[Click] = []

    def _fresh(self, box: Box, clicks: Sequence[Click]) -> bool:
        """True when this call cannot continue the previous state (another box, clicks removed)."""
        return box != self._box or list(clicks[: len(self._clicks)]) != self._clicks or len(clicks) < len(
            self._clicks)


def _outside(box: Box, clicks: Sequence[Click]) -> bool:
    return any(c.positive and not box.contains(c.x, c.y) for c in clicks)


@METHODS.register("grabcut")
class GrabCutMethod(_Stateful):
    label = "GrabCut"

    def _prior(self, box: Box) -> Optional[np.ndarray]:
        return None

    def segment(self, box: Box, clicks: Sequence[Click] = ()) -> np.ndarray:
        clicks = list(clicks)
        h, w = self.image.shape[:2]
        work_box = box.including(clicks, w, h) if _outside(box, clicks) else box
        if self._fresh(box, clicks) or _outside(getattr(self, "_work_box", box), clicks):
            self._gc = GrabCut(self.image)
            self._gc.start(work_box, self._prior(work_box))
            self._work_box = work_box
        mask = self._gc.update(clicks) if clicks else self._gc.result([])
        self._box, self._clicks = box, clicks
        return mask


@METHODS.register("model")
class ModelGrabCutMethod(GrabCutMethod):
    needs_model = True
    label = "Current model"

    def _prior(self, box: Box) -> Optional[np.ndarray]:
        return self.model.probabilities(self.image, box)


@METHODS.register("model-threshold")
class ModelThresholdMethod(_Stateful):
    needs_model = True
    label = "Current model (threshold)"
    SIGMA = 0.06      # click influence, fraction of the box diagonal

    def segment(self, box: Box, clicks: Sequence[Click] = ()) -> np.ndarray:
        clicks = list(clicks)
        h, w = self.image.shape[:2]
        box = box.including(clicks, w, h) if _outside(box, clicks) else box
        p = self.model.probabilities(self.image, box).copy()
        sigma = max(2.0, self.SIGMA * float(np.hypot(box.width, box.height)))
        yy, xx = np.ogrid[:h, :w]
        radius = click_radius((box.height, box.width))
        hard = np.zeros((h, w), np.uint8)
        for c in clicks:
            g = np.exp(-((xx - c.x) ** 2 + (yy - c.y) ** 2) / (2 * sigma**2)).astype(np.float32)
            p += g if c.positive else -g
            cv2.circle(hard, c.pixel(), radius, 1 if c.positive else 2, -1)
        inside = np.zeros((h, w), bool)
        inside[box.y0 : box.y1, box.x0 : box.x1] = True
        # components are chosen before the negative disks cut them: a wrong object under a negative click
        # goes as a whole, the object itself is only carved locally
        chosen = select_components((p >= 0.5) & inside | (hard == 1), box, clicks)
        return chosen & (hard != 2)


def method_names() -> list[str]:
    return METHODS.names()


def make_method(name: str, image: np.ndarray, *, model=None, **options):
    """An instance of the registered method ``name`` (unknown names list the known ones)."""
    return METHODS.get(name)(image, model=model, **options)
