"""What the review view paints: the image with the prediction and/or the ground truth over it.

Plain numpy over core functions (``core.inference.overlay`` draws class overlays, ``core.imaging`` maps the
image to 8-bit RGB); the only thing computed here is the error colouring of a prediction against the
annotation, pixel by pixel:

* true positive  (same non-background class in both)    -> green
* false positive (predicted a class where GT has another or background) -> red
* false negative (GT class predicted as background)      -> blue
Ignored pixels (GT -1) are left uncoloured.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

TP_COLOR = (0, 200, 0)
FP_COLOR = (230, 30, 30)
FN_COLOR = (30, 90, 255)


@dataclass
class OverlayOptions:
    alpha: float = 0.5
    mode: str = "fill"          # "fill" | "contour"
    show_pred: bool = True
    show_gt: bool = False
    errors: bool = False        # colour TP/FP/FN of the prediction against the annotation
    side_by_side: bool = False  # left: ground truth, right: prediction


def error_map(pred: np.ndarray, gt: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean masks ``tp``, ``fp``, ``fn`` of ``pred`` against ``gt`` (class ids, -1 ignored, 0 background)."""
    pred = np.asarray(pred)
    gt = np.asarray(gt)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and annotation {gt.shape} differ in size")
    valid = gt >= 0
    tp = valid & (pred == gt) & (gt > 0)
    fp = valid & (pred > 0) & (pred != gt)
    fn = valid & (gt > 0) & (pred == 0)
    return {"tp": tp, "fp": fp, "fn": fn}


def paint_errors(image_rgb: np.ndarray, pred: np.ndarray, gt: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """``image_rgb`` with TP green, FP red and FN blue blended at ``alpha``."""
    out = np.array(image_rgb, dtype=np.float32, copy=True)
    maps = error_map(pred, gt)
    for key, color in (("tp", TP_COLOR), ("fp", FP_COLOR), ("fn", FN_COLOR)):
        m = maps[key]
        if m.any():
            out[m] = (1.0 - alpha) * out[m] + alpha * np.asarray(color, np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _class_overlay(image_rgb, label, palette, alpha, mode) -> np.ndarray:
    from segstudio.core.inference import overlay

    lab = np.asarray(label)
    return np.asarray(overlay(image_rgb, lab, palette, alpha=alpha, mode=mode), dtype=np.uint8)


def compose(image, pred: Optional[np.ndarray], gt: Optional[np.ndarray], palette: np.ndarray,
            opts: OverlayOptions) -> list[np.ndarray]:
    """The picture(s) to show: one RGB image, or two (ground truth, prediction) in side-by-side mode."""
    from segstudio.core.imaging import to_display_rgb

    base = to_display_rgb(image)
    if opts.side_by_side:
        left = _class_overlay(base, gt, palette, opts.alpha, opts.mode) if gt is not None else base.copy()
        if pred is None:
            right = base.copy()
        elif opts.errors and gt is not None:
            right = paint_errors(base, pred, gt, opts.alpha)
        else:
            right = _class_overlay(base, pred, palette, opts.alpha, opts.mode)
        return [left, right]
    out = base
    if opts.errors:
        if pred is not None and gt is not None:
            return [paint_errors(base, pred, gt, opts.alpha)]
        # nothing to compare: show whichever exists (the view greys the Prediction/Annotation toggles here)
        opts = replace(opts, show_pred=True, show_gt=True)
    if opts.show_pred and pred is not None:
        out = _class_overlay(out, pred, palette, opts.alpha, opts.mode)
    if opts.show_gt and gt is not None:
        # over a filled prediction the annotation is drawn as outlines so both stay visible
        mode = "contour" if (opts.show_pred and pred is not None) else opts.mode
        out = _class_overlay(out, gt, palette, max(opts.alpha, 0.8) if mode == "contour" else opts.alpha, mode)
    return [out if out is not base else base.copy()]
