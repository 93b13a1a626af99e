"""core/annotation/json_cache.py without Qt: the cached text is byte for byte ``annotation_to_json``'s, only the
shapes that changed are encoded again, and a shape mutated in place is never saved stale (the document model
and the autosaver that use it are tested in tests/gui)."""
from __future__ import annotations

import numpy as np

from segstudio.core.annotation import Annotation, Shape
from segstudio.core.annotation.io import annotation_to_json
from segstudio.core.annotation.json_cache import JsonCache


def _annotation() -> Annotation:
    mask = np.zeros((5, 7), bool)
    mask[1:4, 2:6] = True
    shapes = [Shape("lesion", [[1.5, 2.0], [30.0, 4.25], [12.0, 40.0]]),
              Shape("cyst", [[3, 3], [9, 9]], "rectangle", group_id=2, description="é ünïcode", flags={"x": True}),
              Shape("lesion", [[10, 10], [16, 14]], "mask", mask=mask),
              Shape("dot", [[5, 6]], "point", extra={"score": 0.5})]
    return Annotation(shapes=shapes, image_path="img.png", image_height=64, image_width=48, flags={"ok": False},
                      extra={"custom": [1, 2]})


def test_text_equals_core_and_reencodes_only_changed_shapes():
    ann = _annotation()
    cache = JsonCache()
    assert cache.text(ann) == annotation_to_json(ann)
    assert cache.encoded == 4
    assert cache.text(ann, b"\x89PNG fake") == annotation_to_json(ann, b"\x89PNG fake")
    assert cache.encoded == 4                                  # nothing changed: nothing encoded again
    moved = ann.shapes[0].copy()
    moved.points = [[x + 1, y] for x, y in moved.points]
    ann.shapes = [moved] + ann.shapes[1:]                     # an edit replaces the shape object
    assert cache.text(ann) == annotation_to_json(ann) and cache.encoded == 5
    ann.shapes = ann.shapes[1:]                               # removed shapes are forgotten
    assert cache.text(ann) == annotation_to_json(ann) and cache.encoded == 5
    empty = Annotation(shapes=[], image_path="img.png", image_height=64, image_width=48)
    assert cache.text(empty) == annotation_to_json(empty)


def test_a_shape_mutated_in_place_is_encoded_again():
    ann = _annotation()
    cache = JsonCache()
    cache.text(ann)
    ann.shapes[1].label = "tumour"                            # against the rules, but never saved stale
    ann.shapes[2].mask[0, 0] = True
    ann.shapes[3].extra["score"] = 0.75
    assert cache.text(ann) == annotation_to_json(ann)
    assert cache.encoded == 4 + 3


def test_warm_fills_the_cache_ahead_of_a_save():
    ann = _annotation()
    cache = JsonCache()
    assert cache.warm(ann.shapes, 10.0) and cache.encoded == 4
    assert cache.text(ann) == annotation_to_json(ann) and cache.encoded == 4
