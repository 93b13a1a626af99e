"""The labelme document model: :class:`Shape` and :class:`Annotation` (plain data, no IO).

Field names follow labelme's JSON keys in snake_case; unknown keys live in ``extra`` so that a
read -> write round trip keeps them.  ``mask`` shapes carry their bool patch as a numpy array whose
top-left pixel is ``points[0]`` (labelme's convention: the bbox is ``points[0]..points[1]`` inclusive).
"""
from __future__ import annotations

import copy as _copy
from dataclasses import dataclass, field

import numpy as np

SHAPE_TYPES = ("polygon", "rectangle", "circle", "line", "linestrip", "point", "mask", "oriented_rectangle")

#: exact number of points each shape type needs (``None``: see MIN_POINTS)
POINT_COUNT = {"rectangle": 2, "circle": 2, "line": 2, "point": 1, "mask": 2, "oriented_rectangle": 4}
#: minimum number of points of the open-ended types
MIN_POINTS = {"polygon": 3, "linestrip": 2}

IGNORE_LABEL = "__ignore__"
BACKGROUND_LABEL = "_background_"


@dataclass(eq=False)
class Shape:
    """One labelme shape. ``points`` are ``[[x, y], ...]`` in image pixel coordinates."""

    label: str
    points: list[list[float]]
    shape_type: str = "polygon"
    group_id: int | None = None
    description: str = ""
    flags: dict[str, bool] = field(default_factory=dict)
    mask: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def copy(self) -> "Shape":
        """A deep copy (points, flags, mask patch and extra keys are not shared)."""
        return Shape(
            label=self.label,
            points=[[float(x), float(y)] for x, y in self.points],
            shape_type=self.shape_type,
            group_id=self.group_id,
            description=self.description,
            flags=dict(self.flags),
            mask=None if self.mask is None else np.array(self.mask, dtype=bool, copy=True),
            extra=_copy.deepcopy(self.extra),
        )

    def __eq__(self, other) -> bool:
        if not isinstance(other, Shape):
            return NotImplemented
        if (self.mask is None) != (other.mask is None):
            return False
        if self.mask is not None and (
            self.mask.shape != other.mask.shape or not np.array_equal(self.mask, other.mask)
        ):
            return False
        return (
            self.label == other.label
            and [list(map(float, p)) for p in self.points] == [list(map(float, p)) for p in other.points]
            and self.shape_type == other.shape_type
            and self.group_id == other.group_id
            and self.description == other.description
            and self.flags == other.flags
            and self.extra == other.extra
        )


@dataclass(eq=False)
class Annotation:
    """One labelme JSON document. ``image_path`` is as stored (relative to the JSON's folder)."""

    shapes: list[Shape]
    image_path: str
    image_height: int
    image_width: int
    version: str = "5.5.0"
    flags: dict[str, bool] = field(default_factory=dict)
    image_data: bytes | None = None
    extra: dict = field(default_factory=dict)

    def copy(self) -> "Annotation":
        """A deep copy (shapes are copied; the immutable ``image_data`` bytes are shared)."""
        return Annotation(
            shapes=[s.copy() for s in self.shapes],
            image_path=self.image_path,
            image_height=self.image_height,
            image_width=self.image_width,
            version=self.version,
            flags=dict(self.flags),
            image_data=self.image_data,
            extra=_copy.deepcopy(self.extra),
        )

    @property
    def labels(self) -> list[str]:
        """Labels used by the shapes, in first-seen order."""
        return list(dict.fromkeys(s.label for s in self.shapes))

    def __eq__(self, other) -> bool:
        if not isinstance(other, Annotation):
            return NotImplemented
        return (
            self.shapes == other.shapes
            and self.image_path == other.image_path
            and self.image_height == other.image_height
            and self.image_width == other.image_width
            and self.version == other.version
            and self.flags == other.flags
            and self.image_data == other.image_data
            and self.extra == other.extra
        )
