"""Overlay toggles in the dock: Filled/Contour switched, and the Prediction/Annotation toggles greyed out in
the modes that ignore them (the pictures themselves: tests/review/test_review_compose.py)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from segstudio.core.annotation.labels import voc_palette  # noqa: E402
from segstudio.gui.review import ReviewDock  # noqa: E402

GREY = (100, 100, 100)
PAL = voc_palette(4)


@pytest.fixture
def masks():
    img = np.full((16, 16), 100, np.uint8)
    pred = np.zeros((16, 16), np.int64)
    pred[2:12, 2:12] = 1
    gt = np.zeros((16, 16), np.int64)
    gt[5:15, 5:15] = 2
    return img, pred, gt


@pytest.fixture
def view(qtbot, masks):
    dock = ReviewDock()
    qtbot.addWidget(dock)
    img, pred, gt = masks
    dock.view.pane_box.click()       # "Side by side": the dock's own pane (off by default: the canvas shows it)
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
