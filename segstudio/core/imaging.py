"""Display mapping: any image the app can load -> the uint8 RGB the canvas shows (Qt-free).

Only the *display* changes; the image data, the masks and what is trained are never touched.

The mapping of a pixel value ``v``:

1. window: ``x = (v - (level - width / 2)) / width``; the default window covers the dtype's range for 8-bit
   images (0..255) and the 0.5-99.5 percentiles for 16-bit and float images (a 12-bit scan in a 16-bit file
   is not shown black);
2. contrast and brightness: ``y = (x - 0.5) * contrast + 0.5 + brightness``;
3. ``clip(y, 0, 1) * 255``, rounded; grayscale is repeated to 3 channels, alpha is dropped.

8- and 16-bit images go through a lookup table (one entry per possible value), so adjusting a slider on a
large 16-bit image stays fast.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class DisplaySettings:
    """How to show an image. ``level``/``width`` None means the image's default window."""

    brightness: float = 0.0  # -1..1, added after windowing (fraction of the display range)
    contrast: float = 1.0  # > 0, slope around mid-grey
    level: Optional[float] = None  # window centre, in pixel values
    width: Optional[float] = None  # window width, in pixel values (> 0)

    def is_identity(self) -> bool:
        return self.brightness == 0.0 and self.contrast == 1.0 and self.level is None and self.width is None


def dtype_range(image: np.ndarray) -> tuple[float, float]:
    """The value range of the image's dtype (integer types) or of its data (float types)."""
    if image.dtype == np.bool_:
        return 0.0, 1.0
    if np.issubdtype(image.dtype, np.integer):
        info = np.iinfo(image.dtype)
        return float(info.min), float(info.max)
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return 0.0, 1.0
    return float(finite.min()), float(finite.max())


def default_window(image: np.ndarray, low_pct: float = 0.5, high_pct: float = 99.5) -> tuple[float, float]:
    """(level, width) shown before the user adjusts anything.

    8-bit (and bool) images: the full 0..255 range, so they look exactly as stored.  Anything else: the
    ``low_pct``..``high_pct`` percentiles of the data (robust to a few hot pixels).
    """
    if image.dtype in (np.uint8, np.bool_):
        lo, hi = (0.0, 255.0) if image.dtype == np.uint8 else (0.0, 1.0)
    else:
        data = image[..., :3] if image.ndim == 3 else image
        data = data[np.isfinite(data)] if np.issubdtype(data.dtype, np.floating) else data
        if data.size == 0:
            return 0.5, 1.0
        if data.size > 1_000_000:  # percentiles of a strided subsample: same answer, much faster
            data = data.reshape(-1)[:: data.size // 1_000_000 + 1]
        lo, hi = (float(v) for v in np.percentile(data, [low_pct, high_pct]))
        if hi <= lo:
            lo, hi = float(np.min(data)), float(np.max(data))
        if hi <= lo:
            hi = lo + 1.0
    return (lo + hi) / 2.0, hi - lo


def _transfer(values: np.ndarray, settings: DisplaySettings, level: float, width: float) -> np.ndarray:
    """Pixel values (any float array) -> uint8 display values."""
    width = max(float(width), 1e-12)
    x = (values.astype(np.float64) - (level - width / 2.0)) / width
    y = (x - 0.5) * float(settings.contrast) + 0.5 + float(settings.brightness)
    return np.rint(np.clip(y, 0.0, 1.0) * 255.0).astype(np.uint8)


def display_lut(dtype, settings: DisplaySettings, level: float, width: float) -> np.ndarray:
    """The uint8 lookup table for every value of an 8- or 16-bit unsigned dtype."""
    n = 256 if np.dtype(dtype) == np.uint8 else 65536
    return _transfer(np.arange(n, dtype=np.float64), settings, level, width)


def to_display(image: np.ndarray, settings: Optional[DisplaySettings] = None) -> np.ndarray:
    """THE image-to-display mapping (canvas, review overlays, window/level panel): an HxW or HxWxC image (uint8,
    uint16, other ints, float, bool) -> a C-contiguous uint8 HxW (grayscale) or HxWx3 (colour; alpha dropped).

    ``settings`` None is the default display.  An 8-bit image with default settings comes back unchanged
    (only its alpha dropped), so the canvas shows it without a copy.
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 3:
        if image.shape[2] == 2:  # gray + alpha
            image = image[..., 0]
        elif image.shape[2] >= 3:
            image = image[..., :3]
    if image.ndim not in (2, 3):
        raise ValueError(f"cannot display an array of shape {image.shape}")
    if image.dtype == np.bool_:
        image = image.astype(np.uint8) * 255
    settings = settings or DisplaySettings()
    if image.dtype == np.uint8 and settings.is_identity():
        out = image
    else:
        if settings.level is None or settings.width is None:
            level, width = default_window(image)
        else:
            level, width = float(settings.level), float(settings.width)
        if image.dtype in (np.uint8, np.uint16):
            out = display_lut(image.dtype, settings, level, width)[image]
        else:
            out = _transfer(image, settings, level, width)
    return np.ascontiguousarray(out, dtype=np.uint8)


def to_display_rgb(image: np.ndarray, settings: Optional[DisplaySettings] = None) -> np.ndarray:
    """:func:`to_display` as a C-contiguous HxWx3 uint8 (grayscale repeated to 3 channels), for overlays."""
    out = to_display(image, settings)
    if out.ndim == 2:
        out = np.repeat(out[..., None], 3, axis=2)
    return out


def histogram(image: np.ndarray, bins: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """(counts, edges) of the image's values over its dtype range (for the window/level panel)."""
    lo, hi = dtype_range(image)
    data = image[..., :3] if image.ndim == 3 else image
    if data.size > 1_000_000:
        data = data.reshape(-1)[:: data.size // 1_000_000 + 1]
    return np.histogram(data, bins=bins, range=(lo, hi if hi > lo else lo + 1))
