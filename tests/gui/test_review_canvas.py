"""The review overlay as a layer of the main canvas: V / View ▸ Review overlay on canvas shows and hides it, the
Review dock's Opacity slider sets its opacity, it is drawn pixel-aligned with the image (TP green, FP red, FN blue
in the error mode; class colours otherwise), an edit on the canvas updates it, and the old side pane is optional.
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF, Qt  # noqa: E402

from segstudio.core.annotation.document import Shape  # noqa: E402
from segstudio.core.annotation.masks import write_label_png  # noqa: E402
from segstudio.core.review import ground_truth  # noqa: E402
from segstudio.core.review.compose import FN_COLOR, FP_COLOR, TP_COLOR  # noqa: E402

TIMEOUT = 20_000


@pytest.fixture
def window(qtbot, messages, sample_project):
    """A main window with the review extension on the sample project; image 0 open, with a prediction that is
    right in one place, adds a square of class 1 where the annotation has background (FP) and misses a square of
    the annotation (FN)."""
    from segstudio.core.project import Project
    from segstudio.gui.main_window import MainWindow

    project = Project(sample_project)
    entry = project.images[0]
    gt = ground_truth(project, entry)
    pred = gt.copy()
    ys, xs = np.nonzero(gt > 0)
    fn = (int(ys[len(ys) // 2]), int(xs[len(xs) // 2]))        # a pixel inside the annotation, left unpredicted
    pred[fn[0] - 1:fn[0] + 2, fn[1] - 1:fn[1] + 2] = 0
    bg = np.argwhere(gt == 0)
    fp = tuple(int(v) for v in bg[np.argmax((bg[:, 0] - fn[0]) ** 2 + (bg[:, 1] - fn[1]) ** 2)])
    pred[max(fp[0] - 1, 0):fp[0] + 2, max(fp[1] - 1, 0):fp[1] + 2] = 1
    tp = next((int(y), int(x)) for y, x in zip(ys, xs) if abs(y - fn[0]) > 3 or abs(x - fn[1]) > 3)
    project.predictions_dir.mkdir(parents=True, exist_ok=True)
    write_label_png(project.predictions_dir / f"{entry.stem}.png", pred)

    w = MainWindow(extensions=["review"])
    qtbot.addWidget(w)
    w.resize(1200, 900)
    with qtbot.waitActive(w):
        w.show()
        w.activateWindow()
    w.open_project(sample_project)
    dock = w.docks["review"]
    overlay = dock.canvas_overlay
    with qtbot.waitSignal(overlay.updated, timeout=TIMEOUT):
        w.open_image(w.project.images[0])
    qtbot.waitUntil(lambda: not overlay.layer.pixmap().isNull(), timeout=TIMEOUT)
    w.points = {"tp": tp, "fp": fp, "fn": fn}
    w.gt = gt
    yield w
    w.autosaver.enabled = False
    overlay.shutdown()
    dock.shutdown()


def layer_rgb(overlay, yx) -> tuple:
    """The colour of the layer's pixel at image (row, col), alpha included."""
    c = overlay.layer.pixmap().toImage().pixelColor(yx[1], yx[0])
    return c.red(), c.green(), c.blue(), c.alpha()


def screen_rgb(window, yx) -> tuple:
    """The colour the canvas shows at the centre of image pixel (row, col)."""
    canvas = window.canvas
    pos = canvas.mapFromScene(QPointF(yx[1] + 0.5, yx[0] + 0.5))
    c = canvas.viewport().grab().toImage().pixelColor(pos)
    return c.red(), c.green(), c.blue()


def look_at(window, yx) -> None:
    """Zoom the canvas in (about 2.4x) on image pixel (row, col), as the reviewer does."""
    canvas = window.canvas
    canvas.zoom_1to1()
    centre = QPointF(yx[1] + 0.5, yx[0] + 0.5)
    for _ in range(4):
        canvas.zoom_by(1.25, centre)
    canvas.centerOn(centre)
    assert canvas.viewport().rect().contains(canvas.mapFromScene(centre))


def wait_layer_change(qtbot, overlay, yx, before):
    qtbot.waitUntil(lambda: layer_rgb(overlay, yx) != before, timeout=TIMEOUT)


def test_the_layer_is_on_the_canvas_aligned_with_the_image(window):
    overlay = window.docks["review"].canvas_overlay
    layer = overlay.layer
    assert layer.scene() is window.canvas.scene() and layer.isVisible()
    pm = layer.pixmap()
    assert (pm.width(), pm.height()) == window.document.image_size        # one layer pixel per image pixel
    assert layer.pos() == QPointF(0, 0) and layer.offset() == QPointF(0, 0)
    # above the image, below every shape; clicks go through to the shapes
    assert window.canvas._image_item.zValue() < layer.zValue() < 0
    assert layer.acceptedMouseButtons() == Qt.NoButton
    # default options: the prediction filled in class colours (the session's palette), background clear
    pal = window.session.palette()
    tp = window.points["tp"]
    assert layer_rgb(overlay, tp) == tuple(int(v) for v in pal[window.gt[tp]]) + (255,)
    assert layer_rgb(overlay, window.points["fn"])[3] == 0
    assert layer_rgb(overlay, window.points["fp"]) == tuple(int(v) for v in pal[1]) + (255,)
    # the dock's own pane is off by default and composes nothing
    view = window.docks["review"].view
    assert not view.pane_box.isChecked() and view.split.isHidden() and view.pictures == []


def test_errors_mode_colours_tp_fp_fn_and_what_the_canvas_shows(qtbot, window):
    overlay = window.docks["review"].canvas_overlay
    view = window.docks["review"].view
    pts = window.points
    before = layer_rgb(overlay, pts["fn"])
    view.errors.setChecked(True)
    wait_layer_change(qtbot, overlay, pts["fn"], before)
    assert layer_rgb(overlay, pts["tp"]) == TP_COLOR + (255,)
    assert layer_rgb(overlay, pts["fp"]) == FP_COLOR + (255,)
    assert layer_rgb(overlay, pts["fn"]) == FN_COLOR + (255,)
    # on screen, zoomed in on the FP square at full opacity: the pixel is the FP colour
    view.opacity.setValue(100)
    assert overlay.layer.opacity() == 1.0
    look_at(window, pts["fp"])
    assert screen_rgb(window, pts["fp"]) == FP_COLOR
    # the opacity slider: half way, the screen shows a mix of the image and the colour
    view.opacity.setValue(50)
    assert overlay.layer.opacity() == 0.5
    mixed = screen_rgb(window, pts["fp"])
    assert mixed != FP_COLOR and abs(mixed[0] - FP_COLOR[0]) < 200
    view.opacity.setValue(0)
    image_only = screen_rgb(window, pts["fp"])
    assert mixed[0] > image_only[0] or mixed[2] < image_only[2]


def test_v_key_and_the_view_menu_action_toggle_the_layer(qtbot, window):
    overlay = window.docks["review"].canvas_overlay
    action = window.actions_by_name["review_overlay"]
    assert action is overlay.action and action.shortcut().toString() == "V"
    view_menu = next(a.menu() for a in window.menuBar().actions()
                     if a.menu() is not None and a.text().replace("&", "") == "View")
    assert action in view_menu.actions()
    assert action in window.toolbar.actions()
    window.canvas.setFocus()
    view = window.docks["review"].view
    view.opacity.setValue(100)
    pt = window.points["fp"]                 # a predicted square on the background: no shape over it
    look_at(window, pt)
    shown = screen_rgb(window, pt)
    assert shown == tuple(int(v) for v in window.session.palette()[1])
    qtbot.keyClick(window.canvas, Qt.Key_V)
    assert not action.isChecked() and not overlay.layer.isVisible()
    hidden = screen_rgb(window, pt)
    assert hidden != shown
    qtbot.keyClick(window.canvas, Qt.Key_V)
    assert action.isChecked() and overlay.layer.isVisible()
    assert screen_rgb(window, pt) == shown
    window.toolbar.widgetForAction(action).click()     # the toolbar button
    assert not overlay.layer.isVisible()
    view.canvas_button.click()                         # the dock's button
    assert overlay.layer.isVisible()
    # the Help dialog lists the key (generated from the menus)
    dialog = window.show_help()
    rows = [(dialog.table.item(r, 1).text(), dialog.table.item(r, 2).text()) for r in range(dialog.table.rowCount())]
    assert ("Review overlay on canvas", "V") in rows
    dialog.close()


@pytest.mark.parametrize("on_worker", [False, True], ids=["small-image", "big-image-on-worker"])
def test_an_edit_on_the_canvas_updates_the_error_layer(qtbot, window, monkeypatch, on_worker):
    if on_worker:      # as for images over SYNC_PIXELS: the dock reads prediction, annotation, metrics on a worker
        monkeypatch.setattr("segstudio.gui.review.dock.SYNC_PIXELS", 0)
    overlay = window.docks["review"].canvas_overlay
    view = window.docks["review"].view
    view.errors.setChecked(True)
    pts = window.points
    qtbot.waitUntil(lambda: layer_rgb(overlay, pts["fp"])[:3] == FP_COLOR, timeout=TIMEOUT)
    # draw a rectangle of class 1 over the FP square: those pixels become true positives
    doc = window.document
    y, x = pts["fp"]
    label = window.project.label_set.names[1]
    doc.add_shapes([Shape(label, [[x - 3.0, y - 3.0], [x + 4.0, y + 4.0]], "rectangle")])
    wait_layer_change(qtbot, overlay, pts["fp"], FP_COLOR + (255,))
    assert layer_rgb(overlay, pts["fp"]) == TP_COLOR + (255,)
    # undo: the FP is back
    doc.undo_stack.undo()
    wait_layer_change(qtbot, overlay, pts["fp"], TP_COLOR + (255,))
    assert layer_rgb(overlay, pts["fp"]) == FP_COLOR + (255,)
    # the metrics of the image follow the edits too
    assert window.docks["review"].current_metrics is not None


def test_side_by_side_pane_is_optional_and_keeps_its_modes(qtbot, window):
    view = window.docks["review"].view
    view.pane_box.setChecked(True)
    assert not view.split.isHidden() and len(view.pictures) == 1
    assert view.side_by_side.isEnabled()
    view.side_by_side.setChecked(True)
    assert len(view.pictures) == 2 and not view.right.isHidden()
    view.pane_box.setChecked(False)
    assert view.split.isHidden() and view.pictures == [] and not view.side_by_side.isEnabled()
    # the canvas layer is unaffected by the pane
    assert not window.docks["review"].canvas_overlay.layer.pixmap().isNull()


def test_the_layer_follows_the_current_image(qtbot, window):
    overlay = window.docks["review"].canvas_overlay
    view = window.docks["review"].view
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_D)                 # next image: not predicted, annotation not shown
    assert window.current_entry is window.project.images[1]
    qtbot.waitUntil(lambda: overlay.layer.pixmap().isNull(), timeout=TIMEOUT)
    view.show_gt.setChecked(True)                          # its annotation, in its class colours
    qtbot.waitUntil(lambda: not overlay.layer.pixmap().isNull(), timeout=TIMEOUT)
    gt1 = ground_truth(window.project, window.project.images[1])
    yx = tuple(int(v) for v in np.argwhere(gt1 > 0)[0])
    assert layer_rgb(overlay, yx) == tuple(int(v) for v in window.session.palette()[gt1[yx]]) + (255,)
    view.show_gt.setChecked(False)
    qtbot.keyClick(window.canvas, Qt.Key_A)                 # back: the prediction of image 0 again
    assert window.current_entry is window.project.images[0]
    pal = window.session.palette()
    qtbot.waitUntil(lambda: layer_rgb(overlay, window.points["fp"]) == tuple(int(v) for v in pal[1]) + (255,),
                    timeout=TIMEOUT)
