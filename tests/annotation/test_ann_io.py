"""labelme JSON reading/writing: round trips, old schemas, unknown keys, atomic writes, image checks."""
from __future__ import annotations

import base64
import io
import json
import os

import numpy as np
import pytest
from PIL import Image

from ann_helpers import doc, project, shape, write_image, write_json
from segstudio.core.annotation import (
    Annotation,
    Shape,
    annotation_image,
    atomic_write_bytes,
    load_annotation,
    save_annotation,
)
from segstudio.core.annotation import io as ann_io
from segstudio.core.errors import AnnotationError


def _mask_b64(patch: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(patch.astype(np.uint8)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


ALL_SHAPES = [
    shape("a", [(1, 1), (10, 2), (5, 9)], "polygon", group_id=3, description="d", flags={"f": True}),
    shape("a", [(2, 2), (8, 9)], "rectangle"),
    shape("b", [(20, 15), (25, 15)], "circle"),
    shape("b", [(1, 20), (30, 25)], "line"),
    shape("c", [(1, 1), (5, 20), (30, 28)], "linestrip"),
    shape("c", [(35, 5)], "point"),
    shape("d", [(3, 4), (6, 6)], "mask", mask=_mask_b64(np.eye(3, 4, dtype=bool))),
    shape("d", [(10, 10), (20, 12), (18, 20), (8, 18)], "oriented_rectangle"),
]


def test_round_trip_every_shape_type_and_unknown_keys(tmp_path):
    shapes = [dict(s) for s in ALL_SHAPES]
    shapes[0]["line_color"] = [255, 0, 0, 128]  # labelme 3.x per-shape colour
    shapes[2]["other"] = {"nested": [1, 2]}
    path = project(tmp_path, shapes, lineColor=[0, 255, 0, 128], custom_top={"k": "v"}, flags={"ok": True})
    ann = load_annotation(path)
    assert [s.shape_type for s in ann.shapes] == [s["shape_type"] for s in ALL_SHAPES]
    assert ann.shapes[0].group_id == 3 and ann.shapes[0].description == "d" and ann.shapes[0].flags == {"f": True}
    assert ann.shapes[0].extra == {"line_color": [255, 0, 0, 128]}
    assert ann.extra == {"lineColor": [0, 255, 0, 128], "custom_top": {"k": "v"}}
    assert ann.flags == {"ok": True}
    assert ann.shapes[6].mask.shape == (3, 4) and ann.shapes[6].mask.dtype == bool
    assert np.array_equal(ann.shapes[6].mask, np.eye(3, 4, dtype=bool))

    out = tmp_path / "out.json"
    save_annotation(ann, out)
    raw = json.loads(out.read_text())
    assert raw["lineColor"] == [0, 255, 0, 128] and raw["custom_top"] == {"k": "v"}
    assert raw["shapes"][0]["line_color"] == [255, 0, 0, 128]
    assert raw["shapes"][2]["other"] == {"nested": [1, 2]}
    assert raw["imageData"] is None and raw["imagePath"] == "img.png"
    again = load_annotation(out)
    assert again == ann
    # labelme stores the mask patch as a 0/1 uint8 PNG
    with Image.open(io.BytesIO(base64.b64decode(raw["shapes"][6]["mask"]))) as im:
        assert im.mode == "L" and set(np.unique(np.asarray(im))) <= {0, 1}


def test_schema_3x_without_shape_type_group_id_or_size(tmp_path):
    write_image(tmp_path / "img.png", 40, 30)
    old = {"version": "3.16.7", "flags": {}, "lineColor": [0, 255, 0, 128], "fillColor": [255, 0, 0, 128],
           "shapes": [{"label": "a", "line_color": None, "fill_color": None, "points": [[1, 1], [9, 1], [5, 8]]}],
           "imagePath": "img.png", "imageData": None}
    ann = load_annotation(write_json(tmp_path / "img.json", old))
    s = ann.shapes[0]
    assert s.shape_type == "polygon" and s.group_id is None and s.description == "" and s.flags == {}
    assert s.extra == {"line_color": None, "fill_color": None}
    assert (ann.image_height, ann.image_width) == (30, 40)  # read from the image header
    assert ann.version == "3.16.7"


def test_windows_image_path_and_stale_folder(tmp_path):
    (tmp_path / "imgs").mkdir()
    write_image(tmp_path / "imgs" / "a.png")
    ann = load_annotation(write_json(tmp_path / "a.json", doc([shape()], image_path="imgs\\a.png")))
    assert ann.image_path == "imgs\\a.png"  # kept as stored
    write_image(tmp_path / "b.png")
    ann = load_annotation(write_json(tmp_path / "b.json", doc([shape()], image_path="C:\\old\\place\\b.png")))
    assert annotation_image(ann, tmp_path / "b.json").shape == (30, 40, 3)


def test_embedded_image_data(tmp_path):
    write_image(tmp_path / "img.png")
    data = (tmp_path / "img.png").read_bytes()
    (tmp_path / "img.png").unlink()
    path = write_json(tmp_path / "e.json", doc([shape()], imageData=base64.b64encode(data).decode()))
    ann = load_annotation(path)
    assert ann.image_data == data
    assert annotation_image(ann, path).shape == (30, 40, 3)
    # no image file beside it: saving without image data must keep the embedded image (never lose it)
    save_annotation(ann, path)
    assert json.loads(path.read_text())["imageData"] is not None
    # with an image file present, imageData becomes null unless asked for
    write_image(tmp_path / "img.png")
    save_annotation(ann, path)
    assert json.loads(path.read_text())["imageData"] is None
    save_annotation(load_annotation(path), path, with_image_data=True)
    assert base64.b64decode(json.loads(path.read_text())["imageData"]) == (tmp_path / "img.png").read_bytes()


def test_new_annotation_defaults(tmp_path):
    write_image(tmp_path / "n.png")
    ann = Annotation(shapes=[Shape("x", [[1, 2], [3, 4]], "rectangle")], image_path="n.png",
                     image_height=30, image_width=40)
    save_annotation(ann, tmp_path / "n.json")
    raw = json.loads((tmp_path / "n.json").read_text())
    assert list(raw) == ["version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth"]
    assert raw["shapes"][0] == {"label": "x", "points": [[1.0, 2.0], [3.0, 4.0]], "group_id": None,
                                "description": "", "shape_type": "rectangle", "flags": {}, "mask": None}
    assert load_annotation(tmp_path / "n.json") == ann


def test_copy_is_deep():
    s = Shape("a", [[0, 0], [1, 1]], "mask", mask=np.zeros((2, 2), bool), extra={"k": [1]})
    a = Annotation([s], "x.png", 2, 2, extra={"t": {"u": 1}})
    b = a.copy()
    assert b == a
    b.shapes[0].points[0][0] = 5
    b.shapes[0].mask[0, 0] = True
    b.shapes[0].extra["k"].append(2)
    b.extra["t"]["u"] = 2
    assert a.shapes[0].points[0][0] == 0 and not a.shapes[0].mask[0, 0]
    assert a.shapes[0].extra == {"k": [1]} and a.extra == {"t": {"u": 1}}
    assert b != a


# ------------------------------------------------------------------------------------------- atomic write
def test_failed_serialization_keeps_old_file(tmp_path, monkeypatch):
    path = project(tmp_path, [shape()])
    before = path.read_bytes()
    ann = load_annotation(path)
    ann.shapes.append(Shape("b", [[1, 1], [2, 2], [3, 1]]))
    calls = {"n": 0}
    real = ann_io._shape_dict

    def failing(s):  # fail on the second shape: half the document was already serialized
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("boom mid-way")
        return real(s)

    monkeypatch.setattr(ann_io, "_shape_dict", failing)
    with pytest.raises(RuntimeError):
        save_annotation(ann, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.json", "img.png"]


def test_failed_write_mid_file_keeps_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "f.json"
    path.write_bytes(b"old content")
    os.chmod(path, 0o640)

    def failing_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        atomic_write_bytes(path, b"new content " * 1000)
    assert path.read_bytes() == b"old content"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]
    monkeypatch.undo()
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new" and (path.stat().st_mode & 0o777) == 0o640


def test_one_atomic_write_for_checkpoints_and_caches(tmp_path):
    """atomic_write(path, write) is what checkpoints (torch.save), run PNGs and label caches use: a writer that
    fails half-way leaves the old file and no temp file."""
    import torch

    from segstudio.core.annotation.io import atomic_write
    from segstudio.core.checkpoint import save_checkpoint

    path = tmp_path / "best.pt"
    path.write_bytes(b"old")

    def half(f):
        f.write(b"partial")
        raise RuntimeError("disk went away")

    with pytest.raises(RuntimeError):
        atomic_write(path, half)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["best.pt"]
    save_checkpoint({"x": torch.arange(3)}, path)
    assert torch.load(path, weights_only=True)["x"].tolist() == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["best.pt"]


def test_load_image_modes(tmp_path):
    from segstudio.core.annotation import load_image

    Image.fromarray(np.full((5, 6), 40000, np.uint16)).save(tmp_path / "g16.png")
    assert load_image(tmp_path / "g16.png").dtype == np.uint16
    Image.new("RGBA", (6, 5), (1, 2, 3, 4)).save(tmp_path / "rgba.png")
    assert load_image(tmp_path / "rgba.png").shape == (5, 6, 3)
    Image.new("P", (6, 5), 3).save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png").shape == (5, 6, 3)
    Image.new("L", (6, 5), 7).save(tmp_path / "l.png")
    assert load_image(tmp_path / "l.png").shape == (5, 6)
    with pytest.raises(AnnotationError, match="not found"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(AnnotationError, match="bad.png: unreadable image"):
        load_image(tmp_path / "bad.png")


def test_write_errors_name_the_file_and_symlinks_stay_links(tmp_path):
    from segstudio.core.annotation import LabelSet, write_label_png
    from segstudio.core.errors import ConfigError, MaskError

    ann = Annotation([], "x.png", 2, 2)
    missing = tmp_path / "no" / "such" / "dir"
    with pytest.raises(AnnotationError, match=r"dir/a.json: cannot write \(No such file or directory\)"):
        save_annotation(ann, missing / "a.json")
    with pytest.raises(MaskError, match="cannot write"):
        write_label_png(missing / "m.png", np.zeros((2, 2), int))
    with pytest.raises(ConfigError, match="cannot write"):
        LabelSet.from_names(["a"]).to_file(missing / "labels.txt")
    (tmp_path / "real.json").write_text("{}")
    (tmp_path / "link.json").symlink_to("real.json")
    save_annotation(ann, tmp_path / "link.json")
    assert (tmp_path / "link.json").is_symlink()
    assert json.loads((tmp_path / "real.json").read_text())["imageHeight"] == 2


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_16bit_colour_images_keep_all_16_bits(tmp_path, ext):
    import cv2

    from segstudio.core.annotation import load_image
    from segstudio.core.annotation.images import probe_image_size

    rgb = (np.arange(7 * 5 * 3).reshape(7, 5, 3) * 613 % 65536).astype(np.uint16)
    path = tmp_path / f"rgb16.{ext}"
    assert cv2.imwrite(str(path), rgb[..., ::-1])  # OpenCV writes BGR
    out = load_image(path)
    assert out.dtype == np.uint16 and out.shape == (7, 5, 3)
    np.testing.assert_array_equal(out, rgb)
    np.testing.assert_array_equal(load_image(path.read_bytes()), rgb)  # embedded imageData too
    assert probe_image_size(path) == (7, 5)


def test_16bit_colour_png_exif_orientation_applied_like_8bit(tmp_path):
    import cv2
    from png_helpers import with_exif_last

    from segstudio.core.annotation import load_image
    from segstudio.core.annotation.images import probe_image_size

    rgb = (np.arange(7 * 5 * 3).reshape(7, 5, 3) * 613 % 65536).astype(np.uint16)
    ok, enc = cv2.imencode(".png", rgb[..., ::-1])
    assert ok
    path = tmp_path / "rot6.png"
    path.write_bytes(with_exif_last(enc.tobytes(), 6))
    out = load_image(path)
    # orientation 6 = PIL ROTATE_270 (clockwise), as the 8-bit path applies it
    eight = tmp_path / "rot6_8bit.png"
    ok, enc8 = cv2.imencode(".png", (rgb >> 8).astype(np.uint8)[..., ::-1])
    eight.write_bytes(with_exif_last(enc8.tobytes(), 6))
    np.testing.assert_array_equal(out >> 8, load_image(eight))
    np.testing.assert_array_equal(out, np.rot90(rgb, 3))
    assert probe_image_size(path) == out.shape[:2] == (5, 7)
