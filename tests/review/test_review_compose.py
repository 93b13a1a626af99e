"""core/review/compose.py: what the review view paints - error colours (TP/FP/FN), the class overlays in every
mode, the annotation outlined over a filled prediction, the Errors fallback (Qt-free; the dock's own toggles
are tests/gui/test_review_overlay.py)."""
from __future__ import annotations

import numpy as np
import pytest

from segstudio.core.annotation.labels import voc_palette
from segstudio.core.review.compose import OverlayOptions, compose, error_map, paint_errors

GREY = (100, 100, 100)
PAL = voc_palette(4)


def test_error_map_and_colours():
    gt = np.array([[0, 1, 1, -1], [0, 2, 0, 1]])
    pred = np.array([[1, 1, 0, 2], [0, 1, 0, 1]])
    m = error_map(pred, gt)
    assert m["tp"].tolist() == [[False, True, False, False], [False, False, False, True]]
    assert m["fp"].tolist() == [[True, False, False, False], [False, True, False, False]]   # ignore is skipped
    assert m["fn"].tolist() == [[False, False, True, False], [False, False, False, False]]
    img = np.zeros((2, 4, 3), np.uint8)
    out = paint_errors(img, pred, gt, alpha=1.0)
    assert tuple(out[0, 0]) == (230, 30, 30) and tuple(out[0, 1]) == (0, 200, 0)
    assert tuple(out[0, 2]) == (30, 90, 255) and tuple(out[1, 0]) == (0, 0, 0) and tuple(out[0, 3]) == (0, 0, 0)
    with pytest.raises(ValueError, match="differ in size"):
        error_map(pred, gt[:1])


def test_compose_modes():
    from segstudio.core.annotation.labels import voc_palette

    img = np.full((16, 16), 100, np.uint8)          # grey images are shown as RGB
    pred = np.zeros((16, 16), np.int64)
    pred[2:12, 2:12] = 1
    gt = np.zeros((16, 16), np.int64)
    gt[5:15, 5:15] = 1
    pal = voc_palette(4)
    plain = compose(img, None, None, pal, OverlayOptions())
    assert len(plain) == 1 and plain[0].shape == (16, 16, 3) and (plain[0] == 100).all()
    filled = compose(img, pred, None, pal, OverlayOptions(alpha=1.0))[0]
    assert tuple(filled[7, 7]) == tuple(pal[1]) and tuple(filled[0, 0]) == (100, 100, 100)
    faint = compose(img, pred, None, pal, OverlayOptions(alpha=0.2))[0]
    assert not np.array_equal(faint, filled)
    contour = compose(img, pred, None, pal, OverlayOptions(alpha=1.0, mode="contour"))[0]
    assert tuple(contour[7, 7]) == (100, 100, 100) and tuple(contour[2, 7]) == tuple(pal[1])
    side = compose(img, pred, gt, pal, OverlayOptions(side_by_side=True, alpha=1.0))
    assert len(side) == 2 and tuple(side[0][13, 13]) == tuple(pal[1]) and tuple(side[1][13, 13]) == (100,) * 3
    errs = compose(img, pred, gt, pal, OverlayOptions(errors=True, alpha=1.0))[0]
    assert tuple(errs[2, 2]) == (230, 30, 30) and tuple(errs[14, 14]) == (30, 90, 255)
    assert tuple(errs[7, 7]) == (0, 200, 0)


@pytest.fixture
def masks():
    img = np.full((16, 16), 100, np.uint8)
    pred = np.zeros((16, 16), np.int64)
    pred[2:12, 2:12] = 1
    gt = np.zeros((16, 16), np.int64)
    gt[5:15, 5:15] = 2          # another class: its colour tells the two layers apart
    return img, pred, gt


def blend(under, color, a):
    return tuple(int(v) for v in np.rint((1 - a) * np.asarray(under, float) + a * np.asarray(color, float)))


def test_annotation_is_outlined_over_the_filled_prediction(masks):
    img, pred, gt = masks
    both = compose(img, pred, gt, PAL, OverlayOptions(alpha=0.5, show_gt=True))
    assert len(both) == 1                                  # one picture, not side by side
    out = both[0]
    fill = blend(GREY, PAL[1], 0.5)
    assert tuple(out[3, 3]) == fill                        # prediction only: filled
    assert tuple(out[8, 8]) == fill                        # inside the annotation, away from its outline
    assert tuple(out[12, 12]) == GREY                      # annotated, not predicted: the annotation is not filled
    assert tuple(out[14, 14]) == blend(GREY, PAL[2], 0.8)  # its outline (2 px, at least 0.8 opaque)
    assert tuple(out[5, 8]) == blend(fill, PAL[2], 0.8)    # outline drawn over the prediction's fill
    # the prediction alone is the same picture without the outline
    alone = compose(img, pred, gt, PAL, OverlayOptions(alpha=0.5, show_gt=False))[0]
    assert tuple(alone[5, 8]) == fill and tuple(alone[14, 14]) == GREY
    # without a prediction to show, the annotation follows Filled/Contour itself
    gt_only = compose(img, pred, gt, PAL, OverlayOptions(alpha=0.5, show_pred=False, show_gt=True))[0]
    assert tuple(gt_only[12, 12]) == blend(GREY, PAL[2], 0.5) and tuple(gt_only[3, 3]) == GREY


def test_errors_mode_without_an_annotation_shows_the_prediction(masks):
    img, pred, _gt = masks
    out = compose(img, pred, None, PAL, OverlayOptions(alpha=0.5, errors=True, show_pred=False))[0]
    assert tuple(out[3, 3]) == blend(GREY, PAL[1], 0.5)   # the greyed "Prediction" toggle does not hide it


