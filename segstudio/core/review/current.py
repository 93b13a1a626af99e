"""What the review dock shows of the current image: its pixels, its prediction, its annotation (the open
document's unsaved shapes included) and its metrics, read in one function that may run on a worker thread.

At 4096² reading the prediction PNG takes ~100 ms and scoring it ~800 ms: the dock runs :func:`load_current` on
the GUI thread only for images up to ``SYNC_PIXELS`` (a few ms there) and on a worker above (see
``ReviewDock.refresh_current``), so an edit on a big image never holds the GUI thread.  The prediction is read
once per file version (:class:`PredictionCache`: path, size and mtime), not after every edit.
"""
from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from segstudio.core import review
from segstudio.core.errors import SegStudioError

SYNC_PIXELS = 1024 * 1024      # images up to this size are read on the GUI thread (cheap, and at once)


@dataclass
class Current:
    image: Optional[np.ndarray] = None
    pred: Optional[np.ndarray] = None
    gt: Optional[np.ndarray] = None
    metrics: object = None
    problems: list[str] = field(default_factory=list)
    error: str = ""              # the image itself could not be read


class PredictionCache:
    """The last prediction read, by (path, size, mtime): edits to the annotation re-read nothing."""

    def __init__(self):
        self._key = None
        self._value: Optional[np.ndarray] = None
        self._lock = threading.Lock()

    def read(self, project, entry) -> Optional[np.ndarray]:
        path = review.prediction_path(project, entry)
        try:
            st = path.stat()
        except OSError:
            return None
        key = (str(path), st.st_size, st.st_mtime_ns, project.label_set.num_classes)
        with self._lock:
            if key == self._key:
                return self._value
        value = review.read_prediction(project, entry)
        with self._lock:
            self._key, self._value = key, value
        return value


def snapshot(annotation):
    """A copy of ``annotation`` that later edits of the document do not change (shapes are immutable values;
    the document replaces its list on every edit, the copy keeps the list of now)."""
    if annotation is None:
        return None
    snap = copy.copy(annotation)
    snap.shapes = list(annotation.shapes)
    return snap


def load_current(project, entry, image, annotation, cache: PredictionCache) -> Current:
    """Read the current image's data.  ``image``: the document's pixels, or None to read the image file;
    ``annotation``: the open document's (a :func:`snapshot`), or None to read the JSON file."""
    out = Current()
    try:
        out.image = image if image is not None else review.entry_image(entry)
    except (SegStudioError, OSError) as exc:
        out.error = str(exc)
        return out
    try:
        out.pred = cache.read(project, entry)
    except SegStudioError as exc:
        out.problems.append(str(exc))
    try:
        out.gt = review.ground_truth(project, entry, annotation)
    except SegStudioError as exc:
        out.problems.append(str(exc))
    pred, gt = out.pred, out.gt
    if pred is not None and gt is not None and pred.shape == gt.shape:
        try:
            out.metrics = review.score_image(pred, gt, project.label_set.num_classes, name=entry.stem)
        except SegStudioError as exc:
            out.problems.append(str(exc))
    return out


def image_pixels(document_image, entry) -> int:
    """The size of the image to load (the document's, or the entry's when its size is known), for the choice
    between the GUI thread and a worker."""
    if document_image is not None:
        return int(np.prod(document_image.shape[:2]))
    size = getattr(entry, "size", None)
    return int(size[0] * size[1]) if size else 0
