"""Where export finds an annotation's image, and how a bad image is reported (per JSON file)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.core.annotation import load_annotation
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
