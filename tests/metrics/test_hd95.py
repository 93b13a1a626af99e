"""HD95 against a brute-force numpy implementation, and the empty-mask conventions."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from segstudio.core.metrics import hd95, surface_distances
from segstudio.core.metrics.surface import surface


def brute_surface(mask):
    m = np.pad(mask, 1)
    inner = m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
    return mask & ~inner


def brute_hd95(a, b):
    pa = np.argwhere(brute_surface(a)).astype(float)
    pb = np.argwhere(brute_surface(b)).astype(float)
    d = np.sqrt(((pa[:, None, :] - pb[None, :, :]) ** 2).sum(-1))
    return float(np.percentile(np.concatenate([d.min(1), d.min(0)]), 95))


def test_surface_matches_scipy_erosion():
    rng = np.random.default_rng(0)
    m = ndimage.binary_opening(rng.random((30, 40)) < 0.6)
    cross = ndimage.generate_binary_structure(2, 1)
    assert np.array_equal(surface(m), m & ~ndimage.binary_erosion(m, cross, border_value=0))


def test_hand_worked():
    a = np.zeros((10, 10), bool)
    a[2:5, 2:5] = True  # 3x3 square: 8 surface pixels
    b = np.roll(a, 4, axis=1)  # shifted right by 4 px: every surface distance is 4 (nearest is 4 px away)...
    # ...except the columns facing each other: a's col 4 to b's col 6 = 2, and the diagonals; brute force
    assert hd95(a, b) == pytest.approx(brute_hd95(a, b))
    single = np.zeros((5, 5), bool)
    single[2, 2] = True
    other = np.zeros((5, 5), bool)
    other[2, 4] = True
    assert hd95(single, other) == 2.0
    assert hd95(a, a) == 0.0


def test_empty_conventions():
    z = np.zeros((6, 6), bool)
    o = z.copy()
    o[1, 1] = True
    assert math.isnan(hd95(z, z))          # nothing to measure: undefined, like one empty mask
    assert math.isnan(hd95(o, z)) and math.isnan(hd95(z, o))
    with pytest.raises(ValueError):
        hd95(z, np.zeros((5, 6), bool))


@pytest.mark.parametrize("seed", range(6))
def test_random_masks_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    a = ndimage.binary_opening(rng.random((24, 31)) < 0.5)
    b = ndimage.binary_opening(rng.random((24, 31)) < 0.4)
    a[0, :3] = True  # touch the image border
    if not b.any():
        b[5, 5] = True
    assert hd95(a, b) == pytest.approx(brute_hd95(a, b), abs=1e-9)
    d_ab, d_ba = surface_distances(a, b)
    assert len(d_ab) == brute_surface(a).sum() and len(d_ba) == brute_surface(b).sum()


def test_far_apart_objects():
    a = np.zeros((200, 300), bool)
    b = a.copy()
    a[10:14, 10:14] = True
    b[150:160, 250:262] = True
    assert hd95(a, b) == pytest.approx(brute_hd95(a, b))
