"""The review overlay as a layer of its own (core/review/layer.py): colours on transparent pixels, the same
options as the composed picture, composed in bands that join seamlessly."""
from __future__ import annotations

import numpy as np
import pytest

from segstudio.core.annotation.labels import voc_palette
from segstudio.core.review import layer as layer_mod
from segstudio.core.review.compose import FN_COLOR, FP_COLOR, TP_COLOR, OverlayOptions
from segstudio.core.review.layer import overlay_layer

PAL = voc_palette(4)


@pytest.fixture
def masks():
    pred = np.zeros((40, 30), np.int64)
    pred[5:25, 5:20] = 1
    gt = np.zeros((40, 30), np.int64)
    gt[10:35, 10:25] = 2
    gt[0, 0] = -1
    return pred, gt


def test_fill_paints_class_colours_on_transparent_pixels(masks):
    pred, gt = masks
    out = overlay_layer(pred, gt, PAL, OverlayOptions())
    assert out.shape == (40, 30, 4) and out.dtype == np.uint8
    assert tuple(out[6, 6]) == tuple(PAL[1]) + (255,)
    assert tuple(out[30, 30 - 8]) == (0, 0, 0, 0)            # annotation only: not shown by default
    assert tuple(out[38, 2]) == (0, 0, 0, 0)
    bgra = overlay_layer(pred, gt, PAL, OverlayOptions(), bgra=True)
    assert tuple(bgra[6, 6]) == tuple(PAL[1][::-1]) + (255,)
    assert overlay_layer(None, None, PAL, OverlayOptions()) is None


def test_errors_and_annotation_outline(masks):
    pred, gt = masks
    out = overlay_layer(pred, gt, PAL, OverlayOptions(errors=True))
    assert tuple(out[6, 6]) == FP_COLOR + (255,)             # predicted 1 on background
    assert tuple(out[15, 15]) == FP_COLOR + (255,)           # predicted 1 where the annotation says 2
    assert tuple(out[30, 15]) == FN_COLOR + (255,)           # annotation 2 predicted as background
    assert tuple(out[0, 0]) == (0, 0, 0, 0)                  # ignored
    same = overlay_layer(gt.clip(0), gt, PAL, OverlayOptions(errors=True))
    assert tuple(same[20, 20]) == TP_COLOR + (255,)
    both = overlay_layer(pred, gt, PAL, OverlayOptions(show_gt=True))
    assert tuple(both[34, 20]) == tuple(PAL[2]) + (255,)     # the annotation's border over the filled prediction
    assert tuple(both[30, 18]) == (0, 0, 0, 0)               # ... its inside stays clear
    contour = overlay_layer(pred, gt, PAL, OverlayOptions(mode="contour"))
    assert tuple(contour[5, 10]) == tuple(PAL[1]) + (255,) and contour[15, 12, 3] == 0


@pytest.mark.parametrize("opts", [OverlayOptions(mode="contour"), OverlayOptions(errors=True, mode="contour"),
                                  OverlayOptions(show_gt=True), OverlayOptions(errors=True)])
def test_bands_join_without_seams(monkeypatch, masks, opts):
    pred, gt = masks
    whole = overlay_layer(pred, gt, PAL, opts)
    monkeypatch.setattr(layer_mod, "BAND", 7)               # band borders cross the regions' outlines
    assert np.array_equal(overlay_layer(pred, gt, PAL, opts), whole)
