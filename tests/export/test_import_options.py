"""Importer options (polygon tolerance, smallest region) and image sizes of EXIF-oriented images."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from segstudio.cli import main
from segstudio.core.annotation import LabelSet, annotation_to_label, load_annotation, read_label_mask
from segstudio.core.errors import ConfigError
from segstudio.core.export import import_masks, import_voc
from segstudio.core.export.importers import image_size

CLASSES = "_background_\nlesion\ncyst\n"


def _label() -> np.ndarray:
    """Smooth outlines (many contour corners to simplify), a hole, and a 2-pixel speck of class 2."""
    lbl = np.zeros((240, 320), np.uint8)
    cv2.ellipse(lbl, (120, 120), (95, 65), 20, 0, 360, 1, -1)
    cv2.circle(lbl, (120, 120), 20, 0, -1)
    cv2.circle(lbl, (255, 170), 50, 2, -1)
    lbl[5, 300:302] = 2
    return lbl


@pytest.fixture
def dataset(tmp_path) -> Path:
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "classes.txt").write_text(CLASSES, encoding="utf-8")
    Image.fromarray(np.full((240, 320, 3), 90, np.uint8)).save(root / "images" / "a.png")
    Image.fromarray(_label(), mode="L").save(root / "masks" / "a.png")
    return root


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def _imported(proj: Path) -> tuple[int, int, np.ndarray]:
    """(number of polygon points, number of shapes, class map) of proj/a.json."""
    ann = load_annotation(proj / "a.json")
    cls = annotation_to_label(ann, LabelSet.from_names(CLASSES.split()))[0]
    return sum(len(s.points) for s in ann.shapes), len(ann.shapes), cls


def test_cli_tolerance_zero_vs_three(dataset, tmp_path, capsys):
    points = {}
    for tol in ("0", "3"):
        rc = main(["import-masks", "--images", str(dataset / "images"), "--masks", str(dataset / "masks"),
                   "--classes", str(dataset / "classes.txt"), "--out", str(tmp_path / f"t{tol}"),
                   "--tolerance", tol, "-q"])
        assert rc == 0, capsys.readouterr().err
        points[tol], _n, cls = _imported(tmp_path / f"t{tol}")
        want = _label()
        for c in (1, 2):
            assert _iou(cls == c, want == c) >= 0.99, (tol, c)
    assert points["3"] < points["0"] * 0.6, points  # tolerance reached mask_to_shapes


def test_import_voc_passes_tolerance(dataset, tmp_path):
    voc = tmp_path / "voc"
    (voc / "JPEGImages").mkdir(parents=True)
    (voc / "SegmentationClass").mkdir()
    Image.open(dataset / "images" / "a.png").convert("RGB").save(voc / "JPEGImages" / "a.jpg", quality=95)
    (voc / "class_names.txt").write_text(CLASSES.strip(), encoding="utf-8")
    Image.fromarray(_label(), mode="L").save(voc / "SegmentationClass" / "a.png")
    for tol in (0, 3):
        assert import_voc(voc, tmp_path / f"p{tol}", tolerance=tol).ok
    assert _imported(tmp_path / "p3")[0] < _imported(tmp_path / "p0")[0] * 0.6


def test_min_area_keeps_or_drops_the_speck(dataset, tmp_path):
    speck = np.zeros((240, 320), bool)
    speck[5, 300:302] = True
    for min_area, kept in ((None, False), (1, True)):
        out = tmp_path / f"m{min_area}"
        assert import_masks(dataset / "images", dataset / "masks", dataset / "classes.txt", out,
                            min_area=min_area).ok
        cls = _imported(out)[2]
        assert (cls[speck] == 2).all() == kept, min_area


@pytest.mark.parametrize("args,words", [
    (["--tolerance", "-1"], "tolerance must be"),
    (["--tolerance", "nan"], "tolerance must be"),
    (["--min-area", "-2"], "min_area must be"),
    (["--shape", "mask", "--tolerance", "2"], "mask shapes are exact"),
])
def test_cli_bad_simplification_is_an_error(dataset, tmp_path, capsys, args, words):
    rc = main(["import-masks", "--images", str(dataset / "images"), "--masks", str(dataset / "masks"),
               "--classes", str(dataset / "classes.txt"), "--out", str(tmp_path / "p"), "-q", *args])
    err = capsys.readouterr().err
    assert rc == 2 and words in err and "Traceback" not in err
    assert not (tmp_path / "p").exists()  # refused before anything is written


def test_core_refuses_bad_values(dataset, tmp_path):
    with pytest.raises(ConfigError, match="min_area"):
        import_voc(dataset, tmp_path / "p", min_area=2.5)


# ------------------------------------------------------------------------------------ EXIF orientation 6
def _oriented_pair(root: Path, stem: str, fmt: str) -> np.ndarray:
    """``stem`` stored 50 wide x 30 high with orientation 6 (shown 30 wide x 50 high) and its oriented mask."""
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = np.zeros((30, 50, 3), np.uint8)
    stored[:10, :20] = 200
    ext = {"TIFF": ".tif", "JPEG": ".jpg"}[fmt]
    Image.fromarray(stored).save(root / "images" / f"{stem}{ext}", format=fmt, exif=exif.tobytes())
    mask = np.zeros((50, 30), np.uint8)  # the oriented geometry: 50 rows, 30 columns
    mask[5:20, 8:25] = 1
    Image.fromarray(mask, mode="L").save(root / "masks" / f"{stem}.png")
    return mask


def test_exif_oriented_tiff_and_jpeg_import(tmp_path):
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "classes.txt").write_text(CLASSES, encoding="utf-8")
    masks = {stem: _oriented_pair(root, stem, fmt) for stem, fmt in (("t", "TIFF"), ("j", "JPEG"))}
    assert image_size(root / "images" / "t.tif") == image_size(root / "images" / "j.jpg") == (50, 30)
    rep = import_masks(root / "images", root / "masks", root / "classes.txt", tmp_path / "proj")
    assert rep.failures == [] and rep.n_ok == 2
    ls = LabelSet.from_names(CLASSES.split())
    for stem, mask in masks.items():
        ann = load_annotation(tmp_path / "proj" / f"{stem}.json")  # header size check passes
        assert (ann.image_height, ann.image_width) == (50, 30)
        cls = annotation_to_label(ann, ls)[0]
        assert _iou(cls == 1, mask == 1) >= 0.99
        np.testing.assert_array_equal(read_label_mask(root / "masks" / f"{stem}.png", 3), mask)
