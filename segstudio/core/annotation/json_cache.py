"""The labelme JSON text of an annotation, re-encoding only the shapes that changed since the last save.

``core.annotation.io.annotation_to_json`` encodes every shape on every save with Python's indenting JSON
encoder (pure Python): 120-200 ms for 1000 polygons of 50 vertices, plus the PNG+base64 of every mask.
Shapes are immutable values in the GUI (an edit replaces the shape object, see document.py), so the text of
each shape is kept here, keyed by the shape object, and a save joins the cached pieces: the result is byte
for byte what ``annotation_to_json`` writes (the pieces *are* its output, cut out of it; a test compares).

A piece is reused only while its shape is the same object *and* still has the same values (label, points,
type, group id, description, flags, mask, extra keys: compared with a copy taken when it was encoded, a few
ms for 1000 shapes), so a shape mutated in place by mistake is encoded again rather than saved stale.
Qt-free.
"""
from __future__ import annotations

import json
import time

import numpy as np

from segstudio.core.annotation.document import Annotation, Shape
from segstudio.core.annotation.io import annotation_to_json

_HEAD = '\n  "shapes": [\n'
_TAIL = '\n  ],\n  "imagePath"'
_EMPTY = '\n  "shapes": [],\n'


def shape_fragment(shape: Shape) -> str:
    """The shape's lines inside the ``"shapes"`` list of ``annotation_to_json`` (indented, no comma)."""
    text = annotation_to_json(Annotation(shapes=[shape], image_path="", image_height=1, image_width=1))
    start = text.index(_HEAD) + len(_HEAD)
    return text[start:text.index(_TAIL, start)]


class _Entry:
    __slots__ = ("shape", "text", "label", "points", "shape_type", "group_id", "description", "flags", "mask",
                 "extra")

    def __init__(self, shape: Shape, text: str):
        self.shape, self.text = shape, text
        self.label, self.shape_type, self.description = shape.label, shape.shape_type, shape.description
        self.group_id = (type(shape.group_id), shape.group_id)
        self.points = [list(p) for p in shape.points]
        self.flags = list(shape.flags.items())
        self.mask = None if shape.mask is None else np.array(shape.mask, copy=True)
        self.extra = json.dumps(shape.extra, ensure_ascii=False, sort_keys=False) if shape.extra else ""

    def still(self, s: Shape) -> bool:
        """True while ``s`` (the same object) has the values this text was encoded from."""
        if (s.label != self.label or s.shape_type != self.shape_type or s.description != self.description
                or (type(s.group_id), s.group_id) != self.group_id or s.points != self.points
                or list(s.flags.items()) != self.flags):
            return False
        if (s.mask is None) != (self.mask is None):
            return False
        if s.mask is not None and (s.mask.shape != self.mask.shape or not np.array_equal(s.mask, self.mask)):
            return False
        return (json.dumps(s.extra, ensure_ascii=False, sort_keys=False) if s.extra else "") == self.extra


class JsonCache:
    """Encoded shape pieces of one document (``DocumentModel`` keeps one and clears it on open)."""

    def __init__(self):
        self._entries: dict[int, _Entry] = {}
        self.encoded = 0          # pieces encoded so far (tests and benchmarks read it)

    def clear(self) -> None:
        self._entries = {}

    def fragment(self, shape: Shape) -> str:
        e = self._entries.get(id(shape))
        if e is not None and e.shape is shape and e.still(shape):
            return e.text
        e = _Entry(shape, shape_fragment(shape))
        self._entries[id(shape)] = e   # holds the shape: its id cannot be reused while it is cached
        self.encoded += 1
        return e.text

    def text(self, ann: Annotation, image_data: bytes | None = None) -> str:
        """``annotation_to_json(ann, image_data)``, from the cached pieces; forgets shapes no longer in ``ann``."""
        base = annotation_to_json(
            Annotation(shapes=[], image_path=ann.image_path, image_height=ann.image_height,
                       image_width=ann.image_width, version=ann.version, flags=ann.flags, image_data=None,
                       extra=ann.extra), image_data)
        if not ann.shapes:
            return base
        pieces = [self.fragment(s) for s in ann.shapes]
        keep = {id(s) for s in ann.shapes}
        if len(self._entries) > len(keep):
            self._entries = {k: e for k, e in self._entries.items() if k in keep}
        at = base.index(_EMPTY)
        return base[:at] + _HEAD + ",\n".join(pieces) + "\n  ],\n" + base[at + len(_EMPTY):]

    def warm(self, shapes, budget_s: float) -> bool:
        """Encode the pieces not cached yet for up to ``budget_s`` seconds; True when all are cached."""
        deadline = time.perf_counter() + budget_s
        for s in shapes:
            e = self._entries.get(id(s))
            if e is None or e.shape is not s:
                self.fragment(s)
                if time.perf_counter() > deadline:
                    return all(self._entries.get(id(x)) is not None and self._entries[id(x)].shape is x
                               for x in shapes)
        return True


def write_json_bytes(path, data: bytes) -> None:
    """Write the encoded JSON atomically (as ``save_annotation`` does); AnnotationError on failure."""
    from segstudio.core.annotation.io import atomic_write_bytes
    from segstudio.core.errors import AnnotationError

    try:
        atomic_write_bytes(path, data)
    except OSError as e:
        raise AnnotationError(f"cannot write ({e.strerror or e})", path) from e
