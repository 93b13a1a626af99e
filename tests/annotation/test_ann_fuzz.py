"""Hypothesis fuzzing of the reader: whatever the JSON structure and values, load_annotation either returns
an Annotation or raises AnnotationError -- never anything else; and what it accepts can be rasterized and
written back."""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from segstudio.core.annotation import (
    Annotation,
    LabelSet,
    annotation_to_json,
    annotation_to_label,
    load_annotation,
    save_annotation,
)
from segstudio.core.annotation.document import SHAPE_TYPES
from segstudio.core.errors import AnnotationError



@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("fuzz")
    Image.new("RGB", (40, 30), (1, 2, 3)).save(d / "img.png")
    return d


def _png_b64(w: int, h: int) -> str:
    buf = io.BytesIO()
    Image.fromarray((np.arange(w * h).reshape(h, w) % 2).astype(np.uint8)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.integers(-(10**400), 10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
)
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
numbers = st.one_of(st.integers(-50, 90), st.floats(-50, 90), st.floats(allow_nan=True, allow_infinity=True),
                    st.integers(-(10**9), 10**9), st.integers(-(10**400), 10**400))
point = st.one_of(st.lists(numbers, min_size=2, max_size=2), json_values)
b64_values = st.one_of(
    st.sampled_from([_png_b64(3, 2), _png_b64(1, 1), "", "====", "aGVsbG8="]),
    st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()),
    json_values,
)
shape_obj = st.fixed_dictionaries(
    {},
    optional={
        "label": st.one_of(st.sampled_from(["a", "b", "__ignore__", "", " "]), json_values),
        "points": st.one_of(st.lists(point, max_size=6), json_values),
        "shape_type": st.one_of(st.sampled_from(SHAPE_TYPES + ("points", "Polygon")), json_values),
        "group_id": st.one_of(st.none(), st.integers(-3, 3), json_values),
        "description": json_values,
        "flags": st.one_of(st.dictionaries(st.text(max_size=4), st.booleans(), max_size=2), json_values),
        "mask": b64_values,
        "line_color": json_values,
    },
)
document = st.fixed_dictionaries(
    {},
    optional={
        "version": st.one_of(st.sampled_from(["3.16.7", "4.0.0", "5.5.0", "7.0.0"]), json_values),
        "flags": st.one_of(st.dictionaries(st.text(max_size=4), st.booleans(), max_size=2), json_values),
        "shapes": st.one_of(st.lists(st.one_of(shape_obj, json_values), max_size=4), json_values),
        "imagePath": st.one_of(st.sampled_from(["img.png", "missing.png", "", "..\\img.png", "sub/../img.png"]),
                               json_values),
        "imageData": st.one_of(st.none(), b64_values),
        "imageHeight": st.one_of(st.sampled_from([30, 40, 30.0, 0, -1]), json_values),
        "imageWidth": st.one_of(st.sampled_from([40, 30, 40.0, 0, -1]), json_values),
        "lineColor": json_values,
    },
)


COUNTS = {"polygon": (3, 8), "rectangle": (2, 2), "circle": (2, 2), "line": (2, 2), "linestrip": (2, 6),
          "point": (1, 1), "oriented_rectangle": (4, 4)}
coord = st.one_of(st.integers(-20, 60), st.floats(-20, 60, allow_nan=False))


@st.composite
def valid_shape(draw):
    kind = draw(st.sampled_from(list(COUNTS) + ["mask"]))
    if kind == "mask":
        x, y, w, h = draw(st.integers(0, 30)), draw(st.integers(0, 20)), draw(st.integers(1, 9)), draw(st.integers(1, 9))
        return {"label": "m", "points": [[x, y], [x + w - 1, y + h - 1]], "shape_type": "mask", "mask": _png_b64(w, h)}
    lo, hi = COUNTS[kind]
    pts = draw(st.lists(st.lists(coord, min_size=2, max_size=2), min_size=lo, max_size=hi))
    return {"label": draw(st.sampled_from(["a", "b", "__ignore__", "lésion"])), "points": pts, "shape_type": kind,
            "group_id": draw(st.one_of(st.none(), st.integers(0, 3))), "flags": {"f": True}, "extra_key": [1]}


@st.composite
def near_valid_document(draw):
    """A valid document, then (usually) one field of it replaced by an arbitrary JSON value."""
    doc = {"version": "5.5.0", "flags": {}, "shapes": draw(st.lists(valid_shape(), max_size=5)),
           "imagePath": "img.png", "imageData": None, "imageHeight": 30, "imageWidth": 40, "other": {"k": 1}}
    if draw(st.integers(0, 3)):
        if doc["shapes"] and draw(st.booleans()):
            target = doc["shapes"][draw(st.integers(0, len(doc["shapes"]) - 1))]
            key = draw(st.sampled_from(["label", "points", "shape_type", "group_id", "flags", "mask", "description"]))
        else:
            target, key = doc, draw(st.sampled_from(list(doc)))
        target[key] = draw(st.one_of(json_values, point, st.lists(point, max_size=4)))
    return doc


def _check(folder: Path, data: bytes, check_image: bool) -> None:
    path = folder / "fuzz.json"
    path.write_bytes(data)
    try:
        ann = load_annotation(path, check_image=check_image)
    except AnnotationError as e:
        assert e.path == str(path) and e.reason
        event("refused")
        return
    event(f"accepted with {min(len(ann.shapes), 2)}+ shapes")
    assert isinstance(ann, Annotation)
    # whatever was accepted can be rasterized (with a label set made of its labels)
    if ann.image_height * ann.image_width <= 10**6:
        cls, ins = annotation_to_label(ann, LabelSet.from_names(ann.labels))
        assert cls.shape == ins.shape == (ann.image_height, ann.image_width)
    # whatever was accepted can be written and read back to an equal document
    save_annotation(ann, folder / "fuzz_out.json")
    again = load_annotation(folder / "fuzz_out.json", check_image=False)
    assert annotation_to_json(again) == annotation_to_json(ann)  # text: NaN in unknown keys is kept


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=st.one_of(near_valid_document(), document, json_values), check_image=st.booleans())
def test_fuzz_structure_and_values(fuzz_dir, doc, check_image):
    _check(fuzz_dir, json.dumps(doc).encode(), check_image)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(prefix=st.sampled_from([b"", b'{"shapes": [', b'{"version": "5.5.0", "shapes": [], "imagePath": "img.png"']),
       tail=st.binary(max_size=60))
def test_fuzz_raw_bytes(fuzz_dir, prefix, tail):
    _check(fuzz_dir, prefix + tail, True)
