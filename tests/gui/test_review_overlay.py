"""Overlay toggles: the annotation drawn as outlines over a filled prediction, Filled/Contour switched in the
dock, the Errors fallback, and the Prediction/Annotation toggles greyed out in the modes that ignore them."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from segstudio.core.annotation.labels import voc_palette  # noqa: E402
from segstudio.gui.review import ReviewDock  # noqa: E402
from segstudio.core.review.compose import OverlayOptions, compose  # noqa: E402

GREY = (100, 100, 100)
PAL = voc_palette(4)


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


@pytest.fixture
def view(qtbot, masks):
    dock = ReviewDock()
    qtbot.addWidget(dock)
    img, pred, gt = masks
    dock.view.set_data(img, pred, gt, PAL)
    return dock.view


def test_switching_filled_and_contour_in_the_dock(view):
    assert view.mode.currentText() == "Filled" and view.options().mode == "fill"
    view.opacity.setValue(100)
    assert tuple(view.pictures[0][7, 7]) == tuple(PAL[1])          # filled: the inside is coloured
    view.mode.setCurrentIndex(view.mode.findData("contour"))
    assert view.options().mode == "contour"
    assert tuple(view.pictures[0][7, 7]) == GREY                   # contour: the inside is the image
    assert tuple(view.pictures[0][2, 7]) == tuple(PAL[1])          # ... and the border is drawn
    view.mode.setCurrentIndex(view.mode.findData("fill"))
    assert tuple(view.pictures[0][7, 7]) == tuple(PAL[1])


def test_toggles_ignored_by_a_mode_are_greyed_out(view):
    def enabled():
        return view.show_pred.isEnabled(), view.show_gt.isEnabled()

    assert enabled() == (True, True)
    view.side_by_side.setChecked(True)
    assert enabled() == (False, False) and len(view.pictures) == 2
    assert "ignored side by side" in view.show_pred.toolTip()
    view.errors.setChecked(True)
    assert enabled() == (False, False)
    view.side_by_side.setChecked(False)
    assert enabled() == (False, False) and "ignored while Errors is on" in view.show_gt.toolTip()
    view.errors.setChecked(False)
    assert enabled() == (True, True) and "ignored" not in view.show_pred.toolTip()
    assert view.mode.isEnabled() and view.opacity.isEnabled()
    # the greyed toggles keep their state and apply again afterwards
    assert view.show_pred.isChecked() and not view.show_gt.isChecked()
