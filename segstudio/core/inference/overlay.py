"""Overlay a class mask on its image (the CLI's overlay PNGs, the demo report and the review view).

The image is shown as the canvas shows it: through core.imaging's one image-to-display mapping."""
from __future__ import annotations

from typing import Optional

import numpy as np
from scipy import ndimage

from segstudio.core.imaging import to_display_rgb

OVERLAY_MODES = ("fill", "contour")


def _boundary(label: np.ndarray, thickness: int) -> np.ndarray:
    """Pixels of a foreground region whose 4-neighbour has another class (inner contour)."""
    lab = np.pad(label, 1, mode="edge")
    c = lab[1:-1, 1:-1]
    edge = (c != lab[:-2, 1:-1]) | (c != lab[2:, 1:-1]) | (c != lab[1:-1, :-2]) | (c != lab[1:-1, 2:])
    edge &= label > 0
    if thickness > 1:
        edge = ndimage.binary_dilation(edge, iterations=thickness - 1) & (label > 0)
    return edge


def overlay(image: np.ndarray, label: np.ndarray, palette: Optional[np.ndarray] = None, alpha: float = 0.5,
            mode: str = "fill", *, thickness: int = 2) -> np.ndarray:
    """HxWx3 uint8: ``image`` with the classes of ``label`` drawn in ``palette`` colours.

    ``mode="fill"``: every foreground pixel (class > 0) is blended ``(1 - alpha) * image + alpha * colour``;
    ``mode="contour"``: only the inner border (``thickness`` pixels) of each region, blended with
    ``max(alpha, 0.8)`` so it stays visible.  Background (0) and ignore (-1) are left as they are.
    ``palette``: (n, 3) uint8 colours by class id (default: the VOC palette, as the PNG masks use).
    """
    if mode not in OVERLAY_MODES:
        raise ValueError(f"unknown overlay mode {mode!r}; known: {', '.join(OVERLAY_MODES)}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    rgb = to_display_rgb(image)   # the canvas's default display (16-bit / float: the 0.5-99.5 % window)
    label = np.asarray(label)
    if label.shape != rgb.shape[:2]:
        raise ValueError(f"label {label.shape} and image {rgb.shape[:2]} differ in size")
    if palette is None:
        from segstudio.core.annotation.labels import voc_palette

        palette = voc_palette(256)
    palette = np.asarray(palette, dtype=np.float32)
    top = int(label.max(initial=0))
    if top >= len(palette):
        raise ValueError(f"label has class {top} but the palette has {len(palette)} colours")
    if mode == "fill":
        where, a = label > 0, alpha
    else:
        where, a = _boundary(label, max(1, int(thickness))), max(alpha, 0.8)
    out = rgb.astype(np.float32)
    colors = palette[np.clip(label, 0, None)[where]]
    out[where] = (1 - a) * out[where] + a * colors
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
