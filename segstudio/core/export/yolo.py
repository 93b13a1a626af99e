"""YOLO segmentation export (the Ultralytics ``-seg`` dataset layout).

Layout without a split (``val_fraction`` 0)::

    OUT/data.yaml            train: images, val: images, nc, names {0: first class, ...}
    OUT/images/<stem>.<ext>
    OUT/labels/<stem>.txt    one line per instance: "<class> x1 y1 x2 y2 ..." normalized to [0, 1]

With ``val_fraction`` > 0 the files go to ``images/train``, ``images/val``, ``labels/train`` and
``labels/val`` (a seeded random split of the files).  ``data.yaml`` has no ``path`` key, so Ultralytics
resolves the folders relative to the YAML file.

YOLO has no background class: class index = class id - 1.  An instance made of several shapes (same label
and group_id) is written as one polygon joined by zero-width bridges.  ``__ignore__`` shapes are left out.
A file without instances gets an empty label file (a background image for YOLO).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from segstudio.core.annotation import atomic_write_text
from segstudio.core.errors import ConfigError
from segstudio.core.export.base import EXPORTERS, Exporter, Item
from segstudio.core.export.geometry import group_instances, merge_polygons, shape_polygons
from segstudio.core.export.images import export_image


def split_assignment(n: int, val_fraction: float, seed: int) -> list[str]:
    """'train'/'val' for each of n files: round(n * val_fraction) random files (at least 1) go to val."""
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in [0, 1) (got {val_fraction})")
    subset = ["train"] * n
    if val_fraction > 0 and n > 1:
        n_val = min(max(1, int(round(n * val_fraction))), n - 1)
        for i in np.random.default_rng(seed).permutation(n)[:n_val]:
            subset[int(i)] = "val"
    return subset


def _reads_back(text, pixels: np.ndarray, size) -> np.ndarray:
    """Whether normalized strings denormalize to the pixel coordinates' own integer part, both in float64
    (our reader, PIL) and as Ultralytics computes it (float32 values times the size in float32).  PIL and
    cv2 (after Ultralytics' int32 cast) rasterize a polygon from the integer parts of its vertices only."""
    q64 = np.asarray(text, dtype=np.float64) * size
    q32 = np.asarray(text, dtype=np.float32) * np.asarray(size, dtype=np.float32)
    want = np.floor(pixels)
    return (np.floor(q64) == want) & (np.floor(q32) == want)


def normalized_coordinates(pixels: np.ndarray, size) -> list[str]:
    """Coordinates in pixels -> normalized strings that read back to the same pixels.

    6 decimals when that is enough, else the first of 7..12 decimals (nearest, one up, one down) whose
    float64 and float32 products with the size keep the pixel coordinate's integer part: a vertex on an
    integer pixel coordinate written as 0.216931 (x 567 = 122.99988) would otherwise move an edge by one
    pixel in every reader that truncates (PIL, Ultralytics)."""
    pixels = np.asarray(pixels, dtype=np.float64)
    size = np.broadcast_to(np.asarray(size, dtype=np.float64), pixels.shape)
    values = pixels / size
    text = [f"{v:.6f}" for v in values.tolist()]
    for i in np.flatnonzero(~_reads_back(text, pixels, size)).tolist():
        text[i] = _exact_coordinate(float(pixels[i]), float(size[i]))
    return text


def _exact_coordinate(pixel: float, size: float) -> str:
    value = pixel / size
    for digits in range(6, 13):
        scale = 10 ** digits
        near = round(value * scale)
        for k in (near, near + 1, near - 1):
            if 0 <= k <= scale:
                text = f"{k / scale:.{digits}f}"
                if _reads_back([text], np.array([pixel]), np.array([size]))[0]:
                    return text
    return repr(value)


def format_line(class_index: int, flat: list[float], width: int, height: int) -> str:
    xy = np.asarray(flat, float).reshape(-1, 2)
    xy[:, 0] = np.clip(xy[:, 0], 0.0, width)
    xy[:, 1] = np.clip(xy[:, 1], 0.0, height)
    sizes = np.broadcast_to(np.array([width, height], float), xy.shape)
    return " ".join([str(class_index)] + normalized_coordinates(xy.ravel(), sizes.ravel()))


@EXPORTERS.register("yolo")
class YoloExporter(Exporter):
    name = "yolo"
    OPTIONS = {
        "val_fraction": (0.0, "fraction of files for images/val and labels/val (0 = no split)"),
        "seed": (0, "random seed of the split"),
    }

    def __init__(self, out, label_set, options=None):
        super().__init__(out, label_set, options)
        split_assignment(2, float(self.options["val_fraction"]), 0)  # refuse a bad fraction before any output

    def prepare(self, json_files: list[Path]) -> None:
        self.subset = split_assignment(len(json_files), float(self.options["val_fraction"]), int(self.options["seed"]))
        self.split = float(self.options["val_fraction"]) > 0
        for kind in ("images", "labels"):
            for sub in (("train", "val") if self.split else ("",)):
                (self.out / kind / sub).mkdir(parents=True, exist_ok=True)

    def _dirs(self, index: int) -> tuple[Path, Path]:
        sub = self.subset[index] if self.split else ""
        return self.out / "images" / sub, self.out / "labels" / sub

    def export_item(self, item: Item) -> dict:
        img_dir, lbl_dir = self._dirs(item.index)
        export_image(item.ann, item.json_path, img_dir / item.stem)
        h, w = item.shape
        lines = []
        for inst in group_instances(item.ann, self.label_set.label_name_to_value):
            if inst.class_id < 1:  # _background_ shapes are not YOLO objects
                continue
            polys = [p for s in inst.shapes for p in shape_polygons(s, (h, w)) if len(p) >= 6]
            flat = merge_polygons(polys) if polys else []
            if len(flat) >= 6:
                lines.append(format_line(inst.class_id - 1, flat, w, h))
        (lbl_dir / f"{item.stem}.txt").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return {"n_instances": len(lines)}

    def finish(self, records) -> None:
        names = {i - 1: n for i, n in enumerate(self.label_set.names) if i >= 1}
        data = {
            "train": "images/train" if self.split else "images",
            "val": "images/val" if self.split else "images",
            "nc": len(names),
            "names": names,
        }
        atomic_write_text(self.out / "data.yaml", yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
