"""Every validation error is an AnnotationError carrying the file, the shape index and the reason."""
from __future__ import annotations

import json

import pytest
from PIL import Image

from ann_helpers import doc, project, shape, write_image, write_json
from segstudio.core.annotation import load_annotation
from segstudio.core.errors import AnnotationError, SegStudioError

BAD_SHAPES = [
    (shape(points=[(1, 1), (2, 2)]), "polygon needs at least 3 points, found 2"),
    (shape(points=[(1, 1)], shape_type="rectangle"), "rectangle needs 2 points, found 1"),
    (shape(points=[(1, 1), (2, 2), (3, 3)], shape_type="circle"), "circle needs 2 points, found 3"),
    (shape(points=[(1, 1), (2, 2), (3, 3)], shape_type="line"), "line needs 2 points, found 3"),
    (shape(points=[(1, 1)], shape_type="linestrip"), "linestrip needs at least 2 points, found 1"),
    (shape(points=[(1, 1), (2, 2)], shape_type="point"), "point needs 1 point, found 2"),
    (shape(points=[(1, 1), (2, 2)], shape_type="oriented_rectangle"), "oriented_rectangle needs 4 points"),
    (shape(points=[(1, 1), (2, 2)], shape_type="mask"), "mask shape without mask data"),
    (shape(points=[(1, 1), (2, "x"), (3, 3)]), "non-numeric coordinate"),
    (shape(points=[(1, 1), (2, None), (3, 3)]), "non-numeric coordinate"),
    (shape(points=[(1, 1), (2, True), (3, 3)]), "non-numeric coordinate"),
    (shape(points=[(1, 1), (2, 3, 4), (3, 3)]), "points must be a list of [x, y]"),
    (shape(points="1,2"), "points must be a list of [x, y]"),
    (shape(shape_type="polygonz"), "unknown shape type 'polygonz'"),
    (shape(shape_type=5), "unknown shape type '5'"),
    (shape(label=""), "empty label"),
    (shape(label="   "), "empty label"),
    (shape(label=None), "label missing or not a string"),
    (shape(group_id="1"), "group_id must be an integer"),
    (shape(flags={"a": 1}), "flags must be an object"),
    (shape(description=3), "description must be a string"),
    (shape(points=[(1, 1), (2, 2)], shape_type="mask", mask="!!notbase64png"), "mask is not a valid base64 PNG"),
    ("not an object", "shape must be a JSON object"),
]


@pytest.mark.parametrize("bad,reason", BAD_SHAPES, ids=[r for _, r in BAD_SHAPES])
def test_bad_shape_reports_file_index_reason(tmp_path, bad, reason):
    path = project(tmp_path, [shape(), shape(), bad])
    with pytest.raises(AnnotationError) as info:
        load_annotation(path)
    err = info.value
    assert err.shape_index == 2 and err.path == str(path)
    assert reason in err.reason
    assert str(err).startswith(f"{path} (shape 2): ")


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_coordinates(tmp_path, value):
    write_image(tmp_path / "img.png")
    text = json.dumps(doc([shape()])).replace('[10, 10]', f'[10, {value}]')
    path = write_json(tmp_path / "img.json", text)
    with pytest.raises(AnnotationError, match=r"\(shape 0\): non-finite coordinate"):
        load_annotation(path)


def test_mask_patch_size_must_match_points(tmp_path):
    import base64
    import io

    buf = io.BytesIO()
    Image.new("L", (3, 3), 1).save(buf, format="PNG")
    m = base64.b64encode(buf.getvalue()).decode()
    path = project(tmp_path, [shape(points=[(1, 1), (5, 3)], shape_type="mask", mask=m)])
    with pytest.raises(AnnotationError, match=r"mask patch is 3x3 but its points span 5x3"):
        load_annotation(path)


@pytest.mark.parametrize(
    "text,reason",
    [
        ("{", "broken JSON: Expecting property name"),
        ("", "broken JSON: Expecting value at line 1 column 1"),
        ("[1, 2]", "top level is not a JSON object"),
        (b"\xff\xfe{}", "not UTF-8"),
        (json.dumps({"imagePath": "img.png"}), "'shapes' missing"),
        (json.dumps(doc([], image_path=None)), "imagePath missing"),
        (json.dumps(doc([], image_path="")), "imagePath is empty and imageData is null"),
        (json.dumps(doc([], height=-3)), "imageHeight must be a positive integer"),
        (json.dumps(doc([], width="40")), "imageWidth must be a positive integer"),
        (json.dumps(doc([], imageData="@@@")), "imageData"),
        (json.dumps(doc([], flags={"x": "yes"})), "image flags must be"),
        (json.dumps(doc([], version=5)), "version must be a string"),
    ],
)
def test_bad_document(tmp_path, text, reason):
    write_image(tmp_path / "img.png")
    path = tmp_path / "img.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(AnnotationError) as info:
        load_annotation(path)
    assert reason in info.value.reason and info.value.path == str(path) and info.value.shape_index is None


def test_missing_json_file(tmp_path):
    with pytest.raises(AnnotationError, match="file not found"):
        load_annotation(tmp_path / "nope.json")


def test_missing_and_unreadable_image(tmp_path):
    path = write_json(tmp_path / "a.json", doc([shape()], image_path="gone.png"))
    with pytest.raises(AnnotationError, match=r"a.json: image .*gone.png: image not found"):
        load_annotation(path)
    load_annotation(path, check_image=False)  # size is declared: no need for the image
    (tmp_path / "gone.png").write_bytes(b"garbage")
    with pytest.raises(AnnotationError, match="unreadable image"):
        load_annotation(path)


def test_unrecognised_image_reasons_are_exact(tmp_path):
    """One "imageData" prefix, no memory address, no repeated file name: the reason is fixed text."""
    import base64

    path = write_json(tmp_path / "e.json", doc([], image_path="", imageData=base64.b64encode(b"no image").decode()))
    with pytest.raises(AnnotationError) as info:
        load_annotation(path)
    assert info.value.reason == "imageData: unreadable image (not a recognised image format)"
    assert info.value.path == str(path)
    (tmp_path / "junk.png").write_bytes(b"garbage")
    path = write_json(tmp_path / "f.json", doc([], image_path="junk.png"))
    with pytest.raises(AnnotationError) as info:
        load_annotation(path)
    assert info.value.reason == f"image {tmp_path / 'junk.png'}: unreadable image (not a recognised image format)"


def test_image_size_mismatch(tmp_path):
    path = project(tmp_path, [shape()], height=31, width=40)
    with pytest.raises(AnnotationError, match=r"image size 40x30 differs .* 40x31"):
        load_annotation(path)
    assert load_annotation(path, check_image=False).image_height == 31


def test_size_check_does_not_decode_pixels(tmp_path, monkeypatch):
    path = project(tmp_path, [shape()])
    from PIL import ImageFile

    def no_decode(self):
        raise AssertionError("image pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    monkeypatch.setattr(Image.Image, "load", no_decode)
    assert load_annotation(path).image_width == 40


def test_errors_are_segstudio_errors():
    assert issubclass(AnnotationError, SegStudioError)


def test_huge_numbers(tmp_path):
    write_image(tmp_path / "img.png")
    text = json.dumps(doc([shape(points=[(1, 1), (10**400, 2), (3, 3)])]))
    with pytest.raises(AnnotationError, match=r"\(shape 0\): non-finite coordinate"):
        load_annotation(write_json(tmp_path / "img.json", text))
    with pytest.raises(AnnotationError, match="imageWidth .* is larger than"):
        load_annotation(write_json(tmp_path / "img.json", doc([], width=10**12)), check_image=False)


def test_coordinate_range(tmp_path):
    path = project(tmp_path, [shape(points=[(1, 1), (2e7, 2), (3, 3)])])
    with pytest.raises(AnnotationError, match=r"\(shape 0\): coordinate out of range"):
        load_annotation(path)


def test_mask_patch_checked_before_decoding(tmp_path, monkeypatch):
    """A patch whose size disagrees with its points is refused from the PNG header (a decompression bomb
    never gets decoded)."""
    import base64
    import io

    buf = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buf, format="PNG")  # compresses to a few KB
    m = base64.b64encode(buf.getvalue()).decode()
    from PIL import ImageFile

    def no_decode(self):
        raise AssertionError("the patch was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    path = project(tmp_path, [shape(points=[(1, 1), (5, 3)], shape_type="mask", mask=m)])
    with pytest.raises(AnnotationError, match=r"mask patch is 20000x20000 but its points span 5x3"):
        load_annotation(path)
    path = project(tmp_path, [shape(shape_type="polygon", mask=m)], width=40)
    from segstudio.core.annotation import io as ann_io

    monkeypatch.setattr(ann_io, "MAX_PATCH_PIXELS", 1000)
    with pytest.raises(AnnotationError, match="too large"):
        load_annotation(path)
