"""Interactive results as labelme shapes (polygons or exact mask shapes) with the current class's label."""
from __future__ import annotations

import numpy as np

from segstudio.core.annotation.document import BACKGROUND_LABEL, Shape
from segstudio.core.annotation.labels import LabelSet
from segstudio.core.annotation.mask_to_shapes import mask_to_shapes
from segstudio.core.interactive.prompts import PromptError
from segstudio.core.interactive.regions import fill_holes

SHAPE_MODES = ("polygon", "mask")


def mask_to_object_shapes(mask: np.ndarray, label: str, *, mode: str = "polygon", tolerance: float = 1.0,
                          min_area: int = 4) -> list[Shape]:
    """Shapes of ``label`` covering ``mask``: one polygon (holes filled) or one mask shape per 8-connected
    region, largest first.  Raises :class:`PromptError` for an empty mask or a missing label."""
    if mode not in SHAPE_MODES:
        raise ValueError(f"unknown shape mode {mode!r}; known: {', '.join(SHAPE_MODES)}")
    if not label or label == BACKGROUND_LABEL:
        raise PromptError("choose a class first (keys 1-9 or the Classes list): the result needs a label")
    m = np.asarray(mask, bool)
    if mode == "polygon":
        m = fill_holes(m)
    if not m.any():
        raise PromptError("the result is empty: nothing to add")
    labels = LabelSet.from_names([BACKGROUND_LABEL, label])
    shapes = mask_to_shapes(m.astype(np.uint8), labels, mode=mode, tolerance=tolerance, min_area=min_area)
    shapes = [s for s in shapes if s.label == label]
    if not shapes:
        raise PromptError(f"the result is smaller than {min_area} pixels: nothing to add")
    return shapes
