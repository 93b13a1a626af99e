"""A deterministic generated sample project: lesion-like shapes on textured backgrounds.

The demo, the fast tests and the GUI's first run use it, so nothing the app needs comes from outside the
project.  Same ``seed`` and ``n_images`` give byte-identical files.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CLASSES = ("lesion", "cyst")
IMAGE_SIZE = 256


def _smooth_noise(rng: np.random.Generator, size: int, scale: int) -> np.ndarray:
    """Value noise in [0, 1]: a coarse random grid upsampled bicubically."""
    coarse = rng.random((size // scale + 2, size // scale + 2)).astype(np.float32)
    img = Image.fromarray((coarse * 255).astype(np.uint8)).resize(
        ((size // scale + 2) * scale, (size // scale + 2) * scale), Image.BICUBIC
    )
    return np.asarray(img, dtype=np.float32)[:size, :size] / 255.0


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Skin/tissue-like texture: a tinted base with multi-scale noise and a vignette."""
    base = np.array([205, 160, 140], np.float32) + rng.normal(0, 12, 3).astype(np.float32)
    tex = 0.5 * _smooth_noise(rng, size, 32) + 0.3 * _smooth_noise(rng, size, 8) + 0.2 * _smooth_noise(rng, size, 2)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    r = np.hypot(xx - size / 2, yy - size / 2) / (size / 2)
    vignette = 1.0 - 0.25 * np.clip(r - 0.6, 0, None)
    img = base[None, None, :] * (0.8 + 0.35 * tex[..., None]) * vignette[..., None]
    return img


def _blob_polygon(rng: np.random.Generator, cx: float, cy: float, radius: float, irregular: float, n: int):
    """A star-shaped closed polygon with smooth radial irregularity (a lesion outline)."""
    k = rng.integers(2, 5)
    phases = rng.uniform(0, 2 * math.pi, k)
    amps = rng.uniform(0, irregular, k)
    pts = []
    for i in range(n):
        t = 2 * math.pi * i / n
        rr = radius * (1 + sum(a * math.sin((j + 2) * t + p) for j, (a, p) in enumerate(zip(amps, phases))))
        pts.append([round(cx + rr * math.cos(t), 1), round(cy + rr * math.sin(t), 1)])
    return pts


def _shape(label: str, points) -> dict:
    return {
        "label": label,
        "points": points,
        "group_id": None,
        "description": "",
        "shape_type": "polygon",
        "flags": {},
        "mask": None,
    }


def make_sample_project(directory, n_images: int = 24, seed: int = 0) -> Path:
    """Write the sample project into ``directory`` (created if needed) and return its path.

    Layout (labelme's: JSON beside each image)::

        labels.txt        __ignore__, _background_, lesion, cyst
        img_000.png ...   256x256 RGB
        img_000.json ...  labelme 5.5.0 polygons, imagePath relative, imageData null
        segstudio.json    project settings
    """
    if n_images < 1:
        raise ValueError("n_images must be at least 1")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    size = IMAGE_SIZE
    (out / "labels.txt").write_text("__ignore__\n_background_\n" + "\n".join(CLASSES) + "\n", encoding="utf-8")
    (out / "segstudio.json").write_text(
        json.dumps({"name": "sample", "labels": "labels.txt", "runs": "runs"}, indent=2) + "\n", encoding="utf-8"
    )
    for i in range(n_images):
        img = _background(rng, size)
        shapes = []
        # every image has a lesion; two of three also have a cyst, so both classes are common
        n_lesions = 1 + int(rng.random() < 0.25)
        centres = []
        for _ in range(n_lesions):
            for _try in range(20):
                cx, cy = rng.uniform(60, size - 60, 2)
                if all(math.hypot(cx - a, cy - b) > 90 for a, b in centres):
                    break
            centres.append((cx, cy))
            radius = rng.uniform(28, 50)
            shapes.append(_shape("lesion", _blob_polygon(rng, cx, cy, radius, 0.18, 48)))
        if i % 3 != 2:
            for _try in range(50):
                cx, cy = rng.uniform(30, size - 30, 2)
                if all(math.hypot(cx - a, cy - b) > 75 for a, b in centres):
                    break
            centres.append((cx, cy))
            shapes.append(_shape("cyst", _blob_polygon(rng, cx, cy, rng.uniform(14, 24), 0.05, 32)))

        # paint the shapes into the image so that appearance and annotation agree
        for shape in shapes:
            m = Image.new("L", (size, size), 0)
            ImageDraw.Draw(m).polygon([tuple(p) for p in shape["points"]], fill=255, outline=255)
            alpha = np.asarray(m.filter(ImageFilter.GaussianBlur(1.5)), np.float32)[..., None] / 255.0
            if shape["label"] == "lesion":
                colour = np.array([110, 65, 50], np.float32) + rng.normal(0, 10, 3).astype(np.float32)
                spots = 0.75 + 0.5 * _smooth_noise(rng, size, 6)[..., None]
                fill = colour[None, None, :] * spots
            else:
                colour = np.array([235, 225, 200], np.float32)
                fill = colour[None, None, :] * (0.95 + 0.1 * _smooth_noise(rng, size, 4)[..., None])
            img = img * (1 - alpha) + fill * alpha
        img = img + rng.normal(0, 4, img.shape)
        arr = np.clip(img, 0, 255).astype(np.uint8)
        stem = f"img_{i:03d}"
        Image.fromarray(arr, "RGB").save(out / f"{stem}.png", optimize=False)
        doc = {
            "version": "5.5.0",
            "flags": {},
            "shapes": shapes,
            "imagePath": f"{stem}.png",
            "imageData": None,
            "imageHeight": size,
            "imageWidth": size,
        }
        (out / f"{stem}.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return out
