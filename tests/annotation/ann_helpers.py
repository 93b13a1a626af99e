"""Helpers shared by the annotation tests: write small images and labelme JSON documents."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image


def write_image(path: Path, width: int = 40, height: int = 30, mode: str = "RGB") -> Path:
    rng = np.random.default_rng(0)
    shape = (height, width, 3) if mode == "RGB" else (height, width)
    Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8)).save(path)
    return path


def shape(label="a", points=((1, 1), (10, 1), (10, 10)), shape_type="polygon", **kw) -> dict:
    d = {"label": label, "points": [list(p) for p in points], "group_id": None, "description": "",
         "shape_type": shape_type, "flags": {}, "mask": None}
    d.update(kw)
    return d


def doc(shapes, image_path="img.png", height=30, width=40, **kw) -> dict:
    d = {"version": "5.5.0", "flags": {}, "shapes": list(shapes), "imagePath": image_path,
         "imageData": None, "imageHeight": height, "imageWidth": width}
    d.update(kw)
    return d


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def project(tmp_path: Path, shapes, **kw) -> Path:
    """tmp_path/img.png (40x30) and tmp_path/img.json with ``shapes``; returns the JSON path."""
    write_image(tmp_path / "img.png")
    return write_json(tmp_path / "img.json", doc(shapes, **kw))
