"""Fixtures for the export tests: a small hand-made labelme folder with every shape type and edge case."""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _shape(label, points, shape_type="polygon", group_id=None, mask=None):
    return {"label": label, "points": points, "group_id": group_id, "description": "", "shape_type": shape_type,
            "flags": {}, "mask": mask}


def _png_b64(arr: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def write_labelme(folder: Path, stem: str, image: np.ndarray, shapes, *, ext=".png", embed=False) -> Path:
    """Write ``stem + ext`` and ``stem.json`` (labelme 5.5.0) into ``folder``."""
    h, w = image.shape[:2]
    data = None
    if embed:
        data = _png_b64(image)
    else:
        Image.fromarray(image).save(folder / f"{stem}{ext}")
    doc = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": f"{stem}{ext}", "imageData": data,
           "imageHeight": h, "imageWidth": w}
    path = folder / f"{stem}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def edge_project(tmp_path) -> Path:
    """Three files covering rectangles, circles, lines, points, mask shapes, group ids and __ignore__."""
    root = tmp_path / "edge"
    root.mkdir()
    (root / "labels.txt").write_text("__ignore__\n_background_\ncat\ndog\n", encoding="utf-8")
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    grey = rng.integers(0, 255, (40, 50), dtype=np.uint8)
    patch = np.zeros((6, 8), dtype=np.uint8)
    patch[1:5, 2:7] = 1
    write_labelme(root, "a_rgb", rgb, [
        _shape("cat", [[5, 5], [30, 6], [28, 30], [6, 25]]),
        _shape("dog", [[40, 10], [60, 40]], "rectangle"),
        _shape("cat", [[20, 38], [26, 38]], "circle"),
        _shape("__ignore__", [[45, 15], [55, 15], [50, 25]]),
        _shape("dog", [[2, 44], [20, 44]], "line"),
    ])
    write_labelme(root, "b_grey", grey, [
        _shape("dog", [[2, 2], [12, 2], [12, 12], [2, 12]], group_id=1),
        _shape("dog", [[30, 20], [45, 20], [45, 35], [30, 35]], group_id=1),
        _shape("cat", [[25, 5]], "point"),
        _shape("cat", [[20, 24], [27, 29]], "mask", mask=_png_b64(patch * 255)),
    ], ext=".jpg")
    write_labelme(root, "c_embedded", rgb[:32, :32].copy(), [
        _shape("cat", [[3, 3], [20, 4], [12, 20]]),
        _shape("dog", [[4, 28], [10, 22], [16, 28], [22, 22]], "linestrip"),
    ], embed=True)
    return root
