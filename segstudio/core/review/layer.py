"""The review overlay as a layer of its own: only the colours, on a transparent background, for the canvas to
draw above the image (at the canvas's zoom, under the shapes), its opacity applied by the viewer.

Same content as :func:`segstudio.core.review.compose.compose` shows in one picture (its options, its colours:
class colours from the session's palette; TP green, FP red, FN blue in the error mode), but not blended into the
image: every pixel is either fully transparent or fully opaque, so the straight and the premultiplied forms are
the same bytes and the GUI wraps them without a conversion (``bgra=True``: the byte order of Qt's
``Format_ARGB32_Premultiplied`` on little-endian machines).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from segstudio.core.inference.overlay import _boundary
from segstudio.core.review.compose import FN_COLOR, FP_COLOR, TP_COLOR, OverlayOptions, error_map


def contour_thickness(shape: tuple[int, ...]) -> int:
    """Outline width in image pixels: 2, wider on big images so it stays visible when they are fitted."""
    return max(2, int(round(max(shape[:2]) / 1024)))


def _paint(out: np.ndarray, where: np.ndarray, colors, bgra: bool) -> None:
    colors = np.asarray(colors, np.uint8)
    if colors.ndim == 1:
        colors = np.broadcast_to(colors, (int(where.sum()), 3))
    out[where, :3] = colors[:, ::-1] if bgra else colors
    out[where, 3] = 255


def _classes(out, label, palette, mode, bgra, thickness) -> None:
    label = np.asarray(label)
    where = label > 0 if mode == "fill" else _boundary(label, thickness)
    top = int(label.max(initial=0))
    if top >= len(palette):
        raise ValueError(f"label has class {top} but the palette has {len(palette)} colours")
    _paint(out, where, np.asarray(palette, np.uint8)[label[where]], bgra)


BAND = 256      # rows composed at a time (see overlay_layer)


def overlay_layer(pred: Optional[np.ndarray], gt: Optional[np.ndarray], palette: np.ndarray,
                  opts: OverlayOptions, *, bgra: bool = False) -> Optional[np.ndarray]:
    """HxWx4 uint8 (RGBA, or BGRA with ``bgra``): the overlay of ``opts`` (mode, prediction / annotation, error
    colours; ``alpha`` and ``side_by_side`` are the viewer's business) on transparent pixels.  None when there is
    nothing to draw (neither a prediction nor an annotation).

    Composed in bands of BAND rows (each with the rows around it that its outlines need): no single numpy call
    works on the whole of a big image, so a GUI thread waiting for the GIL while this runs on a worker waits a
    few milliseconds, not the whole composition."""
    ref = pred if pred is not None else gt
    if ref is None:
        return None
    if pred is not None and gt is not None and pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and annotation {gt.shape} differ in size")
    h = ref.shape[0]
    thickness = contour_thickness(ref.shape)
    pad = thickness + 1
    out = np.zeros(ref.shape[:2] + (4,), np.uint8)
    for r0 in range(0, h, BAND):
        r1 = min(h, r0 + BAND)
        a, b = max(0, r0 - pad), min(h, r1 + pad)
        band = _layer(None if pred is None else pred[a:b], None if gt is None else gt[a:b], palette, opts, bgra,
                      thickness)
        out[r0:r1] = band[r0 - a:r1 - a]
    return out


def _layer(pred, gt, palette, opts: OverlayOptions, bgra: bool, thickness: int) -> np.ndarray:
    ref = pred if pred is not None else gt
    out = np.zeros(ref.shape[:2] + (4,), np.uint8)
    show_pred, show_gt = opts.show_pred, opts.show_gt
    if opts.errors:
        if pred is not None and gt is not None:
            maps = error_map(pred, gt)
            for key, color in (("tp", TP_COLOR), ("fp", FP_COLOR), ("fn", FN_COLOR)):
                where = maps[key]
                if opts.mode == "contour":
                    where = _boundary(where.astype(np.uint8), thickness)
                if where.any():
                    _paint(out, where, color, bgra)
            return out
        show_pred = show_gt = True     # nothing to compare: whichever exists (as compose does)
    if show_pred and pred is not None:
        _classes(out, pred, palette, opts.mode, bgra, thickness)
    if show_gt and gt is not None:
        # over a filled prediction the annotation is drawn as outlines so both stay visible
        _classes(out, gt, palette, "contour" if (show_pred and pred is not None) else opts.mode, bgra, thickness)
    return out
