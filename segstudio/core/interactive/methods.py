"""Box -> mask methods (a registry: plugins add more, e.g. a SAM-family ONNX model) and their state.

A method is a class ``Method(image, *, model=None, **options)`` with ``segment(box, clicks) -> bool HxW``
called with the box and then, after each click, with the box and all clicks so far; it may keep state
between calls of the same object (GrabCut keeps its colour models).  ``needs_model`` says whether it
requires a model object (``model=``): a :class:`~segstudio.core.interactive.model.ModelPrior` for the
built-in ones.  Optional class attributes a plugin method may add (the GUI uses them): ``label`` (shown
in the method list), ``settings`` ({key: description} the user supplies, e.g. file paths), ``setup_help``
(what to supply), ``load_model(values) -> model`` (classmethod, from those settings) and
``prepare(model, image)`` (classmethod: per-image work done ahead on a worker thread).

* ``grabcut`` - OpenCV GrabCut from the box, clicks as hard constraints (works without any model).
* ``model`` - the project's model: its probabilities around the box thresholded at 0.5; each click moves the
  threshold locally so that the outline follows the model's own probability contours, and flips only the
  error region it is in (connected to it, at most 2 x its distance to the outline deep); the component inside
  the box / holding the positives is kept, a wrong one under a negative click is cut (fewest clicks on PH2,
  see BENCHMARKS.md);
* ``model+grabcut`` - the model's probabilities seed GrabCut (PR_FGD / PR_BGD, hard where it is sure),
  clicks are hard constraints (the alternative the benchmark compares against).
"""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np

from segstudio.core.interactive.grabcut import GrabCut
from segstudio.core.interactive.prompts import Box, Click, PromptError
from segstudio.core.interactive.regions import apply_disks, click_radius, select_components
from segstudio.core.registry import Registry

METHODS: Registry = Registry("interactive method")
DELTA = 0.05                # a click's threshold goes this far beyond its pixel's probability
SIGMA_PER_DISTANCE = 4.0    # click influence: sigma = this x the distance from the click to the outline
MIN_SIGMA = 0.01            # ... at least this fraction of the crop's long side (see click_thresholds)
FLIP_PER_DISTANCE = 2.0     # a click flips pixels at most this x its distance to the outline deep (ditto)
LOCAL_PER_DISTANCE = 8.0    # GrabCut clicks: the outline changes within this x the click's distance to it
LOCAL_MIN = 0.05            # ... and at least this fraction of the box's diagonal


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
            self._mask = self._gc.start(work_box, self._prior(work_box))
            self._work_box, done = work_box, 0
        else:
            done = len(self._clicks)
        for k in range(done, len(clicks)):   # each click changes the outline near itself only
            self._mask = local_update(self._mask, self._gc.update(clicks[: k + 1]), clicks[k], work_box)
        self._box, self._clicks = box, clicks
        return select_components(self._mask, work_box, clicks)


def local_update(before: np.ndarray, after: np.ndarray, click: Click, box: Box) -> np.ndarray:
    """``after`` within a disk around ``click``, ``before`` elsewhere: a click fixes the error it is in
    without re-deciding the rest of the object (re-running GrabCut on the whole box moved correct parts of the
    outline too: on PH2 the mean IoU fell from 1 to 3 interactions).  Radius: LOCAL_PER_DISTANCE x the
    click's distance to the outline before it, at least LOCAL_MIN of the box's diagonal."""
    px, py = click.pixel()
    h, w = before.shape
    if not (0 <= px < w and 0 <= py < h):
        return after
    wrong = before if click.positive else ~before          # the click sits in the other class
    if wrong.any():
        dist = float(cv2.distanceTransform((~wrong).astype(np.uint8), cv2.DIST_L2, 3)[py, px])
    else:
        dist = float(max(h, w))
    radius = int(max(LOCAL_MIN * np.hypot(box.width, box.height), LOCAL_PER_DISTANCE * dist))
    disk = np.zeros((h, w), np.uint8)
    cv2.circle(disk, (px, py), radius, 1, -1)
    return np.where(disk.astype(bool), after, before)


@METHODS.register("model+grabcut")
class ModelGrabCutMethod(GrabCutMethod):
    needs_model = True
    label = "Current model + GrabCut"

    def _prior(self, box: Box) -> Optional[np.ndarray]:
        return self.model.probabilities(self.image, box)


@METHODS.register("model")
class ModelThresholdMethod(_Stateful):
    """The model's probability map thresholded; each click moves the threshold locally (see
    :func:`click_thresholds`), so the outline follows the model's own probability contours."""

    needs_model = True
    label = "Current model"
    _state: Optional[tuple] = None   # (crop box, clicks, thresholds) of the last call: a new click continues it

    def segment(self, box: Box, clicks: Sequence[Click] = ()) -> np.ndarray:
        clicks = list(clicks)
        h, w = self.image.shape[:2]
        box = box.including(clicks, w, h) if _outside(box, clicks) else box
        p = self.model.probabilities(self.image, box)
        r = box.expanded(0.0, w, h) if not clicks else self.model.region(self.image, box)
        crop = p[r.y0 : r.y1, r.x0 : r.x1]
        local = [Click(c.x - r.x0, c.y - r.y0, c.positive) for c in clicks]
        start = None
        if self._state is not None and self._state[0] == r and local[: len(self._state[1])] == self._state[1]:
            start = (self._state[2], len(self._state[1]))
        t = click_thresholds(crop, local, start=start)
        self._state = (r, local, t)
        fg_full = np.zeros((h, w), bool)
        fg_full[r.y0 : r.y1, r.x0 : r.x1] = crop >= t
        inside = np.zeros((h, w), bool)
        inside[box.y0 : box.y1, box.x0 : box.x1] = True
        radius = click_radius((box.height, box.width))
        return select_components(apply_disks(fg_full & inside, clicks, radius), box, clicks)


def click_thresholds(p: np.ndarray, clicks: Sequence[Click], delta: float = DELTA,
                     start: Optional[tuple[np.ndarray, int]] = None) -> np.ndarray:
    """Per-pixel thresholds for the probability map ``p``: 0.5, moved by each click in turn (``start``:
    the thresholds after the first n clicks, to continue from).

    A click whose pixel is on the wrong side of the current threshold lowers (positive) or raises (negative)
    the threshold by just enough to flip it (``delta`` beyond its probability), weighted by a Gaussian around
    the click whose sigma is SIGMA_PER_DISTANCE x the distance d from the click to the current outline (a
    click deep in an error region moves the outline far, one near the outline a little).  The pixels this
    flips are then limited to those that (a) lie within FLIP_PER_DISTANCE x d of the outline (the simulated
    annotator - and a person - clicks the middle of an error region, so the error there is about 2 d wide;
    what lies deeper is not the error clicked) and (b) are connected to the click: a click corrects the
    error region it is in and nothing elsewhere (without (b) a negative click on a hair could cut off a lobe
    of the lesion).  Measured on 32 held-out PH2 images, NoC@90: Gaussian only 3.09; + (b) 3.03; + (a) and
    (b) 2.78 (factor 1.5 / 2.5: 2.94 / 2.84); see BENCHMARKS.md for the variants and BUSI.
    """
    t = np.full(p.shape, 0.5, np.float32) if start is None else start[0].copy()
    first = 0 if start is None else start[1]
    yy, xx = np.ogrid[: p.shape[0], : p.shape[1]]
    floor = MIN_SIGMA * max(p.shape)
    for c in clicks[first:]:
        px, py = c.pixel()
        if not (0 <= px < p.shape[1] and 0 <= py < p.shape[0]):
            continue
        pc, tc = float(p[py, px]), float(t[py, px])
        need = (tc - pc + delta) if c.positive else (pc - tc + delta)
        if need <= 0:
            continue
        fg = p >= t
        other = fg if c.positive else ~fg                      # the class the click asks for
        if other.any():   # depth of every wrong-class pixel: its distance to the class the click asks for
            depth = cv2.distanceTransform((~other).astype(np.uint8), cv2.DIST_L2, 3)
            dist = float(depth[py, px])
        else:
            depth, dist = np.zeros(p.shape, np.float32), float(max(p.shape))
        sigma = max(floor, SIGMA_PER_DISTANCE * dist)
        g = np.exp(-((xx - c.x) ** 2 + (yy - c.y) ** 2) / (2 * sigma**2)).astype(np.float32)
        moved = t + (-need if c.positive else need) * g
        flip = ((p >= moved) != fg) & (depth <= FLIP_PER_DISTANCE * max(dist, 1.0))
        _, cc = cv2.connectedComponents(flip.astype(np.uint8), connectivity=8)
        if cc[py, px]:
            keep = cc == cc[py, px]
            t[keep] = moved[keep]
    return t


def method_names() -> list[str]:
    return METHODS.names()


def make_method(name: str, image: np.ndarray, *, model=None, **options):
    """An instance of the registered method ``name`` (unknown names list the known ones)."""
    return METHODS.get(name)(image, model=model, **options)
