"""Where export finds an annotation's image, and how a bad image is reported (per JSON file)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.core.annotation import load_annotation, load_image
from segstudio.core.errors import AnnotationError
from segstudio.core.export import convert
from segstudio.core.export.images import export_image

FORMATS = ["voc", "coco", "yolo", "nnunet", "masks"]


def _doc(image_path: str, h: int, w: int) -> dict:
    shape = {"label": "cat", "points": [[2, 2], [20, 3], [12, 18]], "group_id": None, "description": "",
             "shape_type": "polygon", "flags": {}, "mask": None}
    return {"version": "5.5.0", "flags": {}, "shapes": [shape], "imagePath": image_path, "imageData": None,
            "imageHeight": h, "imageWidth": w}


def _image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (30, 40, 3), dtype=np.uint8)


@pytest.fixture
def moved_project(tmp_path) -> Path:
    """a.json: ``imgs\\a.png`` (Windows separators); b.json: ``C:\\old\\place\\b.png`` with b.png beside it."""
    root = tmp_path / "moved"
    (root / "imgs").mkdir(parents=True)
    (root / "labels.txt").write_text("__ignore__\n_background_\ncat\n", encoding="utf-8")
    Image.fromarray(_image(1)).save(root / "imgs" / "a.png")
    Image.fromarray(_image(2)).save(root / "b.png")
    (root / "a.json").write_text(json.dumps(_doc("imgs\\a.png", 30, 40)), encoding="utf-8")
    (root / "b.json").write_text(json.dumps(_doc("C:\\old\\place\\b.png", 30, 40)), encoding="utf-8")
    for name in ("a.json", "b.json"):
        load_annotation(root / name)  # the core accepts both
    return root


@pytest.mark.parametrize("fmt", FORMATS)
def test_image_paths_resolved_as_the_core_does(fmt, moved_project, tmp_path):
    out = tmp_path / "out"
    rep = convert(moved_project, None, out, fmt)
    assert rep.failures == [] and rep.n_ok == 2
    folder = {"voc": "JPEGImages", "coco": "JPEGImages", "yolo": "images", "nnunet": "imagesTr", "masks": "images"}
    written = sorted(p.name for p in (out / folder[fmt]).iterdir())
    assert len(written) == 2 and written[0].startswith("a") and written[1].startswith("b")
    if fmt in ("masks", "yolo", "nnunet"):  # lossless: the pixels of the files the JSON names
        for name, seed in zip(written, (1, 2)):
            np.testing.assert_array_equal(np.asarray(Image.open(out / folder[fmt] / name)), _image(seed))


def _truncated_png(path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(_image(3)).save(buf, format="PNG")
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])


@pytest.mark.parametrize("fmt", FORMATS)
def test_shared_truncated_image_fails_each_json(fmt, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "labels.txt").write_text("__ignore__\n_background_\ncat\n", encoding="utf-8")
    _truncated_png(src / "shared.png")
    Image.fromarray(_image(4)).save(src / "good.png")
    for stem in ("one", "two"):
        (src / f"{stem}.json").write_text(json.dumps(_doc("shared.png", 30, 40)), encoding="utf-8")
    (src / "good.json").write_text(json.dumps(_doc("good.png", 30, 40)), encoding="utf-8")
    rep = convert(src, None, tmp_path / "out", fmt)
    assert rep.n_ok == 1
    assert [path for path, _ in rep.failures] == [str(src / "one.json"), str(src / "two.json")]
    for _path, reason in rep.failures:
        assert reason.startswith(f"image {src / 'shared.png'}: "), reason
        assert "truncated" in reason.lower(), reason
        assert " at 0x" not in reason


def test_missing_image_names_the_json_and_the_image(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    Image.fromarray(_image(5)).save(src / "x.png")
    (src / "x.json").write_text(json.dumps(_doc("x.png", 30, 40)), encoding="utf-8")
    (src / "x.png").unlink()
    ann = load_annotation(src / "x.json", check_image=False)  # the size is declared: loadable
    with pytest.raises(AnnotationError) as info:
        export_image(ann, src / "x.json", tmp_path / "x")
    assert info.value.path == str(src / "x.json")
    assert info.value.reason == f"image {src / 'x.png'}: image not found"


@pytest.mark.parametrize("fmt", ["yolo", "nnunet", "masks"])
def test_png_byte_copy_decodes_no_pixels(fmt, sample_project_ro, tmp_path, monkeypatch):
    """A PNG that can be copied is probed from its header and chunk walk only (Pillow's getexif would
    decode it to look for a late eXIf chunk)."""
    from PIL import ImageFile

    def no_decode(self):
        raise AssertionError(f"{self.filename or 'image'}: pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    rep = convert(sample_project_ro, None, tmp_path / "out", fmt)
    assert rep.failures == [] and rep.n_ok == 24


def _rotated(path: Path, fmt: str, *, late_exif: bool = False) -> None:
    """Stored 40 wide x 30 high with EXIF orientation 6 (shown 30 wide x 40 high)."""
    from png_helpers import move_exif_last

    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(_image(6)).save(path, format=fmt, exif=exif.tobytes())
    if late_exif:  # move the eXIf chunk after the pixel data (just before IEND)
        move_exif_last(path)


@pytest.mark.parametrize("fmt", ["masks", "nnunet", "yolo"])
def test_rotated_images_are_written_upright(fmt, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "labels.txt").write_text("__ignore__\n_background_\ncat\n", encoding="utf-8")
    files = {"jpg": ("r_jpg.jpg", "JPEG", False), "png": ("r_png.png", "PNG", False),
             "late": ("r_late.png", "PNG", True), "tif": ("r_tif.tif", "TIFF", False)}
    for stem, (name, pil_fmt, late) in files.items():
        _rotated(src / name, pil_fmt, late_exif=late)
        (src / f"{stem}.json").write_text(json.dumps(_doc(name, 40, 30)), encoding="utf-8")
    rep = convert(src, None, tmp_path / "out", fmt)
    assert rep.failures == [] and rep.n_ok == 4
    folder = {"yolo": "images", "nnunet": "imagesTr", "masks": "images"}[fmt]
    for stem, (name, _f, _late) in files.items():
        out = next((tmp_path / "out" / folder).glob(f"{stem}*"))
        with Image.open(out) as im:
            assert im.getexif().get(0x0112, 1) == 1, out  # no rotation left for a reader to apply
            got = np.asarray(im.convert("RGB"))
        want = load_image(src / name)  # as labelme shows it: 40 high, 30 wide
        assert got.shape == want.shape == (40, 30, 3)
        assert np.abs(got.astype(int) - want.astype(int)).mean() < 3, out  # JPEG source: decoded once
