"""Display mapping (core/imaging.py): brightness/contrast and window level/width to uint8 RGB."""
from __future__ import annotations

import numpy as np
import pytest

from segstudio.core.imaging import DisplaySettings, default_window, display_lut, histogram, to_display_rgb


def test_uint8_rgb_default_is_unchanged():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    out = to_display_rgb(img)
    assert out.dtype == np.uint8 and out.shape == (7, 9, 3) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, img)


def test_uint8_gray_is_repeated_to_three_channels_and_alpha_dropped():
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out = to_display_rgb(gray)
    assert out.shape == (16, 16, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], gray)
    rgba = np.dstack([gray, gray // 2, gray // 3, np.full_like(gray, 7)])
    np.testing.assert_array_equal(to_display_rgb(rgba), rgba[..., :3])


def test_explicit_full_window_on_uint8_is_identity():
    img = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out = to_display_rgb(img, DisplaySettings(level=127.5, width=255))
    np.testing.assert_array_equal(out[..., 0], img)


def test_brightness_and_contrast():
    img = np.array([[0, 64, 128, 192, 255]], dtype=np.uint8)
    brighter = to_display_rgb(img, DisplaySettings(brightness=0.2))[..., 0]
    assert (brighter[0, 1:4] > img[0, 1:4]).all() and brighter[0, 4] == 255
    assert brighter[0, 0] == round(0.2 * 255)
    darker = to_display_rgb(img, DisplaySettings(brightness=-0.2))[..., 0]
    assert darker[0, 0] == 0 and (darker[0, 1:] < img[0, 1:]).all()
    strong = to_display_rgb(img, DisplaySettings(contrast=2.0))[..., 0]
    # mid-grey stays, the rest moves away from it and clips
    assert abs(int(strong[0, 2]) - 128) <= 1
    assert strong[0, 1] < img[0, 1] and strong[0, 3] > img[0, 3]
    assert strong[0, 0] == 0 and strong[0, 4] == 255
    flat = to_display_rgb(img, DisplaySettings(contrast=0.0))[..., 0]
    assert (flat == 128).all()


def test_16bit_window_level_width():
    img = np.array([[1000, 1500, 2000, 3000, 60000]], dtype=np.uint16)
    out = to_display_rgb(img, DisplaySettings(level=1500, width=1000))[..., 0]
    # window 1000..2000 maps linearly to 0..255, outside clips
    assert out[0].tolist() == [0, 128, 255, 255, 255]
    assert out.dtype == np.uint8


def test_16bit_default_window_uses_percentiles_so_12bit_data_is_visible():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 4096, (64, 64), dtype=np.uint16)  # a 12-bit scan stored in 16 bits
    out = to_display_rgb(img)[..., 0]
    assert out.max() >= 250 and out.min() <= 5  # full display range used, not a black image
    level, width = default_window(img)
    assert 1500 < level < 2600 and 3500 < width < 4200


def test_lut_matches_direct_transfer_for_uint16():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 65536, (8, 8), dtype=np.uint16)
    s = DisplaySettings(brightness=0.1, contrast=1.5, level=30000, width=20000)
    lut = display_lut(np.uint16, s, 30000, 20000)
    np.testing.assert_array_equal(to_display_rgb(img, s)[..., 0], lut[img])
    x = (img.astype(float) - 20000) / 20000
    y = np.clip((x - 0.5) * 1.5 + 0.5 + 0.1, 0, 1)
    np.testing.assert_array_equal(lut[img], np.rint(y * 255).astype(np.uint8))


def test_float_and_bool_and_constant_images():
    f = np.linspace(-3.0, 5.0, 100, dtype=np.float32).reshape(10, 10)
    out = to_display_rgb(f)[..., 0]
    assert out[0, 0] <= 2 and out[-1, -1] >= 253
    b = np.zeros((4, 4), bool)
    b[1, 1] = True
    ob = to_display_rgb(b)[..., 0]
    assert ob[1, 1] == 255 and ob[0, 0] == 0
    const = np.full((5, 5), 700, np.uint16)
    assert to_display_rgb(const).shape == (5, 5, 3)  # no division by zero


def test_bad_shape_is_refused():
    with pytest.raises(ValueError):
        to_display_rgb(np.zeros((2, 2, 2, 2), np.uint8))


def test_histogram_covers_dtype_range():
    img = np.array([[0, 255]], np.uint8)
    counts, edges = histogram(img, bins=4)
    assert counts.sum() == 2 and edges[0] == 0 and edges[-1] == 255


def test_to_display_keeps_gray_one_channel_and_matches_the_rgb_mapping():
    from segstudio.core.imaging import to_display

    gray16 = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)
    one = to_display(gray16)
    assert one.shape == (8, 8) and one.dtype == np.uint8 and one.flags.c_contiguous
    np.testing.assert_array_equal(to_display_rgb(gray16), np.repeat(one[..., None], 3, axis=2))
    rgba = np.zeros((4, 4, 4), np.uint8)
    assert to_display(rgba).shape == (4, 4, 3)
    gray8 = np.full((3, 3), 7, np.uint8)
    assert to_display(gray8) is gray8                    # 8-bit, default display: shown as is, no copy
