"""Hostile or broken inputs (issue 13): decompression-bomb images (file, imageData, mask), 0-byte and
mislabelled files, huge or non-numeric coordinates, invalid imageData.  Each gives a clear error naming the
file, and memory stays bounded (the bomb is refused from its header; checked under an address-space limit).
The pixel limit is SEGSTUDIO_MAX_IMAGE_PIXELS (docs/annotation.md)."""
from __future__ import annotations

import base64
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.core.annotation import LabelSet, annotation_to_label, load_annotation, read_label_mask
from segstudio.core.annotation.images import DEFAULT_MAX_IMAGE_PIXELS, load_image, max_image_pixels
from segstudio.core.errors import AnnotationError, MaskError

from .conftest import cli_env, run_cli


def bomb_png(width: int, height: int, color_type: int = 2) -> bytes:
    """A valid-looking PNG of ``width`` x ``height`` zero pixels in a few MB, made in a fraction of a second:
    one deflate block of 64 zero rows, full-flushed, repeated (its Adler checksum is not computed: nothing is
    meant to decode it)."""
    row = b"\x00" * (1 + width * {0: 1, 2: 3}[color_type])
    rows = 64
    assert height % rows == 0
    co = zlib.compressobj(9)
    first = co.compress(row * rows) + co.flush(zlib.Z_FULL_FLUSH)
    again = co.compress(row * rows) + co.flush(zlib.Z_FULL_FLUSH)
    data = first + again * (height // rows - 1) + b"\x03\x00" + b"\x00\x00\x00\x01"

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


BOMB_SIDE = (30000, 30016)      # 900 M pixels, 2.7 GB as RGB


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bomb")
    path = folder / "bomb.png"
    path.write_bytes(bomb_png(*BOMB_SIDE))
    assert path.stat().st_size < 5_000_000
    return path


def labelme(path: Path, image_path: str = "", image_data: str | None = None, shapes=(), size=(64, 64)) -> Path:
    doc = {"version": "5.5.0", "flags": {}, "shapes": list(shapes), "imagePath": image_path, "imageData": image_data,
           "imageHeight": size[0], "imageWidth": size[1]}
    path.write_text(json.dumps(doc))
    return path


def test_bomb_file_and_imagedata_are_refused_from_the_header(bomb, tmp_path):
    with pytest.raises(AnnotationError) as e:
        load_image(bomb)
    text = str(e.value)
    assert str(bomb) in text and "900,480,000 pixels" in text and "SEGSTUDIO_MAX_IMAGE_PIXELS" in text
    j = labelme(tmp_path / "a.json", "../" + bomb.parent.name + "/bomb.png", size=BOMB_SIDE[::-1])
    j.write_text(j.read_text().replace("../" + bomb.parent.name + "/bomb.png", str(bomb)))
    with pytest.raises(AnnotationError, match="exceeds the limit"):
        load_annotation(j)
    embedded = labelme(tmp_path / "b.json", image_data=base64.b64encode(bomb.read_bytes()).decode(),
                       size=BOMB_SIDE[::-1])
    with pytest.raises(AnnotationError, match=r"b\.json: imageData: image of 900,480,000 pixels exceeds the limit"):
        load_annotation(embedded)


def test_bomb_mask_file_is_refused(tmp_path):
    mask = tmp_path / "mask.png"
    mask.write_bytes(bomb_png(30000, 30016, color_type=0))
    with pytest.raises(MaskError, match="mask.png: mask image of 900,480,000 pixels exceeds the limit"):
        read_label_mask(mask, 3)


def test_memory_stays_bounded_under_an_address_space_limit(bomb):
    """In a process limited to 1.5 GB of address space (the bomb needs 2.7 GB decoded) opening it is a clean
    error, not a MemoryError or a crash."""
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))\n"
            "from segstudio.core.annotation.images import load_image\n"
            "from segstudio.core.errors import AnnotationError\n"
            "try:\n    load_image(sys.argv[1])\nexcept AnnotationError as e:\n    print('refused:', e)\n")
    r = subprocess.run([sys.executable, "-c", code, str(bomb)], capture_output=True, text=True, env=cli_env(),
                       timeout=120)
    assert r.returncode == 0 and "refused:" in r.stdout and "exceeds the limit" in r.stdout, r.stderr[-2000:]


def test_the_limit_is_raised_or_lowered_by_the_environment(tmp_path, monkeypatch):
    img = tmp_path / "x.png"
    Image.new("RGB", (40, 30)).save(img)
    assert max_image_pixels() == DEFAULT_MAX_IMAGE_PIXELS
    monkeypatch.setenv("SEGSTUDIO_MAX_IMAGE_PIXELS", "1000")
    with pytest.raises(AnnotationError, match="1,200 pixels exceeds the limit of 1,000"):
        load_image(img)
    monkeypatch.setenv("SEGSTUDIO_MAX_IMAGE_PIXELS", "1200")
    assert load_image(img).shape == (30, 40, 3)
    monkeypatch.setenv("SEGSTUDIO_MAX_IMAGE_PIXELS", "0")
    assert max_image_pixels() is None and load_image(img).shape == (30, 40, 3)


def test_zero_byte_and_mislabelled_files(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(AnnotationError, match=r"empty.png: unreadable image \(the file is empty: 0 bytes\)"):
        load_image(tmp_path / "empty.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(AnnotationError, match="text.png: unreadable image .*not a recognised image format"):
        load_image(tmp_path / "text.png")
    Image.new("RGB", (8, 6), (200, 10, 10)).save(tmp_path / "really_jpeg.png", format="JPEG")
    assert load_image(tmp_path / "really_jpeg.png").shape == (6, 8, 3)          # read by its content
    (tmp_path / "empty.json").write_bytes(b"")
    with pytest.raises(AnnotationError, match="empty.json: broken JSON"):
        load_annotation(tmp_path / "empty.json")
    Image.new("L", (4, 4)).save(tmp_path / "png.json", format="PNG")
    with pytest.raises(AnnotationError, match="png.json: broken JSON: not UTF-8"):
        load_annotation(tmp_path / "png.json")
    (tmp_path / "a.png").write_bytes(b"")
    with pytest.raises(AnnotationError, match=r"a.json: image .*a.png: unreadable image \(the file is empty"):
        load_annotation(labelme(tmp_path / "a.json", "a.png"))


def _poly(points):
    return {"label": "lesion", "points": points, "group_id": None, "description": "", "shape_type": "polygon",
            "flags": {}, "mask": None}


@pytest.mark.parametrize("points,words", [
    ([[0, 0], [1e308, 0], [5, 5]], "out of range"),
    ([[0, 0], [10**400, 0], [5, 5]], "non-finite"),
    ([[0, 0], ["12", 0], [5, 5]], "non-numeric"),
    ([[0, 0], [None, 0], [5, 5]], "non-numeric"),
    ([[0, 0], [True, 0], [5, 5]], "non-numeric"),
    ([[0, 0], [3, 4, 5], [5, 5]], "list of \\[x, y\\]"),
    ([[0, 0], [1e7 + 1, 0], [5, 5]], "out of range"),
])
def test_huge_and_non_numeric_coordinates(tmp_path, points, words):
    Image.new("RGB", (64, 64)).save(tmp_path / "img.png")
    path = labelme(tmp_path / "a.json", "img.png", shapes=[_poly(points)])
    text = path.read_text().replace("1e+308", "1e308")
    if points[1][0] == 10**400:
        text = text.replace(str(10**400), "1" + "0" * 400)
    path.write_text(text)
    with pytest.raises(AnnotationError, match=words) as e:
        load_annotation(path)
    assert "a.json (shape 0)" in str(e.value)


def test_coordinates_at_the_limit_rasterize_in_bounded_memory(tmp_path):
    """A polygon reaching 1e7 px (accepted) on a 64x64 image fills the image and allocates only the image."""
    Image.new("RGB", (64, 64)).save(tmp_path / "img.png")
    ann = load_annotation(labelme(tmp_path / "a.json", "img.png",
                                  shapes=[_poly([[-1e7, -1e7], [1e7, -1e7], [1e7, 1e7], [-1e7, 1e7]])]))
    cls, _ = annotation_to_label(ann, LabelSet(["_background_", "lesion"]))
    assert cls.shape == (64, 64) and (cls == 1).all()


@pytest.mark.parametrize("data,words", [
    ("%%% not base64 %%%", "imageData is not valid base64"),
    (base64.b64encode(b"plain text").decode(), "imageData: unreadable image"),
    ("", "imageData is empty"),
])
def test_invalid_image_data(tmp_path, data, words):
    with pytest.raises(AnnotationError, match=words) as e:
        load_annotation(labelme(tmp_path / "a.json", image_data=data))
    assert "a.json" in str(e.value)


def test_convert_reports_each_bad_file_and_converts_the_rest(tmp_path, bomb):
    src = tmp_path / "src"
    src.mkdir()
    Image.new("RGB", (16, 16)).save(src / "good.png")
    labelme(src / "good.json", "good.png", shapes=[_poly([[1, 1], [10, 1], [10, 10]])], size=(16, 16))
    (src / "zero.json").write_bytes(b"")
    labelme(src / "boom.json", image_data=base64.b64encode(bomb.read_bytes()).decode(), size=BOMB_SIDE[::-1])
    (src / "labels.txt").write_text("__ignore__\n_background_\nlesion\n")
    r = run_cli("convert", src, "--out", tmp_path / "out", "--format", "voc", "--labels", src / "labels.txt")
    text = r.stdout + r.stderr
    assert "zero.json" in text and "boom.json" in text and "exceeds the limit" in text, text[-2000:]
    assert "Traceback" not in text
    assert (tmp_path / "out" / "SegmentationClass" / "good.png").is_file() or \
        any((tmp_path / "out").rglob("good.png")), list((tmp_path / "out").rglob("*"))
    assert np.asarray(Image.open(next((tmp_path / "out").rglob("good.png")))).max() >= 0
