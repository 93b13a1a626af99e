"""Synthetic scenes for the interactive tools: a textured disk on a textured background."""
from __future__ import annotations

import numpy as np
import pytest


def disk_scene(size=200, radius=50, center=(100, 100), seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    gt = (xx - center[0]) ** 2 + (yy - center[1]) ** 2 <= radius**2
    image = np.empty((size, size, 3), np.uint8)
    image[...] = (200, 190, 170)
    image[gt] = (90, 50, 40)
    noise = rng.integers(-12, 13, image.shape)
    image = np.clip(image.astype(int) + noise, 0, 255).astype(np.uint8)
    return image, gt


@pytest.fixture
def scene():
    return disk_scene()


def iou(a, b) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))
