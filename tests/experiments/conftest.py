"""Fixtures of the experiment tests: a tiny images/ + masks/ + classes.txt dataset and tiny training settings."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import yaml

#: `train:` settings of a plan whose runs take seconds: a 2-level, 4-channel U-Net on 32 px images, 1 thread
TINY_TRAIN = {"epochs": 2, "img_size": 32, "batch_size": 2, "model_kwargs": {"base": 4, "depth": 2},
              "val_fraction": 0.25, "early_stopping": 0, "warmup_epochs": 0.5, "threads": 1}


def make_masks_dataset(root: Path, n: int = 12, seed: int = 0) -> Path:
    """``n`` 48 px images with a bright disk (class 1, "lesion"); every third also a dark square (class 2,
    "cyst"); masks as class-id PNGs."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    (root / "classes.txt").write_text("_background_\nlesion\ncyst\n", encoding="utf-8")
    yy, xx = np.mgrid[:48, :48]
    for i in range(n):
        img = rng.integers(60, 120, (48, 48, 3)).astype(np.uint8)
        mask = np.zeros((48, 48), np.uint8)
        cy, cx, r = rng.integers(14, 34), rng.integers(14, 34), rng.integers(6, 11)
        disk = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        img[disk], mask[disk] = 220, 1
        if i % 3 == 0:
            img[2:10, 2:10], mask[2:10, 2:10] = 10, 2
        Image.fromarray(img).save(root / "images" / f"img{i:02d}.png")
        Image.fromarray(mask).save(root / "masks" / f"img{i:02d}.png")
    return root


@pytest.fixture(scope="session")
def masks_data(tmp_path_factory) -> Path:
    """12 image/mask pairs, 2 classes (shared by the session: do not modify)."""
    return make_masks_dataset(tmp_path_factory.mktemp("expdata") / "data")


@pytest.fixture
def make_masks():
    """:func:`make_masks_dataset`, for a test that needs a dataset of its own size."""
    return make_masks_dataset


@pytest.fixture
def tiny_plan(tmp_path):
    """``write(data, *, train=None, grid=None, split=None, name="exp") -> plan file`` in ``tmp_path``: data given
    relative to the plan file, TINY_TRAIN settings (``train`` overrides them), every 4th image held out, the grid
    (replaced whole by ``grid``) unet x dice_ce x none x seeds 0, 1, on the CPU."""
    def write(data, *, train=None, grid=None, split=None, name="exp") -> Path:
        doc = {"name": name, "data": os.path.relpath(data, tmp_path), "split": split or {"holdout_every": 4},
               "train": {**TINY_TRAIN, **(train or {})}, "device": "cpu",
               "grid": grid or {"model": ["unet"], "loss": ["dice_ce"], "augment": ["none"], "seed": [0, 1]}}
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return path

    return write
