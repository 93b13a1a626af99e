"""The assist tools driven like a user (drag, clicks, keys, wheel) and checked on the autosaved JSON's raster."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from assist_support import autosaved_label, click, disk, drag, iou, make_assist_window, settle  # noqa: F401


@pytest.fixture
def window(qtbot, disk, messages):
    folder, _gt = disk
    w = make_assist_window(qtbot, folder, "disk.png")
    w.assist.set_method("grabcut")
    yield w
    w.assist.shutdown()
    w.autosaver.enabled = False


def test_box_then_clicks_undo_redo(window, qtbot, disk):
    folder, gt = disk
    canvas, doc, json_path = window.canvas, window.document, folder / "disk.json"
    QTest.keyClick(canvas.viewport(), Qt.Key_G)
    assert canvas.tool == "assist_box" and window.actions_by_name["assist_box"].isChecked()
    with qtbot.waitSignal(window.assist.resultApplied, timeout=60000):
        drag(canvas, (50, 50), (192, 192))
    settle(window, qtbot)
    assert len(doc.shapes()) == 1 and doc.shapes()[0].label == "lesion" and doc.shapes()[0].shape_type == "polygon"
    after_box = autosaved_label(window, json_path)
    assert iou(after_box, gt) >= 0.9

    # a negative click at the object's edge carves it; a positive click on the same spot restores it; one shape
    # updated in place each time (polygon results have no holes: an inner negative click would be filled)
    with qtbot.waitSignal(window.assist.resultApplied, timeout=60000):
        click(canvas, 62, 120, Qt.RightButton)
    settle(window, qtbot)
    carved = autosaved_label(window, json_path)
    assert len(doc.shapes()) == 1 and not carved[120, 62] and carved.sum() < after_box.sum()
    assert [c.positive for c in window.assist.clicks] == [False]
    with qtbot.waitSignal(window.assist.resultApplied, timeout=60000):
        click(canvas, 62, 120)
    settle(window, qtbot)
    assert len(doc.shapes()) == 1 and autosaved_label(window, json_path)[120, 62]

    # one undo step per click: undo twice -> the box's result, then redo once -> carved again
    QTest.keyClick(canvas.viewport(), Qt.Key_Z, Qt.ControlModifier)
    QTest.keyClick(canvas.viewport(), Qt.Key_Z, Qt.ControlModifier)
    assert np.array_equal(autosaved_label(window, json_path), after_box)
    assert window.assist.clicks == []
    QTest.keyClick(canvas.viewport(), Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert np.array_equal(autosaved_label(window, json_path), carved)
    # the object continues from the redone state: a positive click refines it in place
    with qtbot.waitSignal(window.assist.resultApplied, timeout=60000):
        click(canvas, 62, 120)
    settle(window, qtbot)
    assert len(doc.shapes()) == 1 and autosaved_label(window, json_path)[120, 62]
    assert [c.positive for c in window.assist.clicks] == [False, True]
    QTest.keyClick(canvas.viewport(), Qt.Key_Z, Qt.ControlModifier)
    QTest.keyClick(canvas.viewport(), Qt.Key_Z, Qt.ControlModifier)
    QTest.keyClick(canvas.viewport(), Qt.Key_Z, Qt.ControlModifier)
    assert doc.shapes() == [] and not autosaved_label(window, json_path).any()


def test_click_tool_and_mask_results(window, qtbot, disk):
    folder, gt = disk
    canvas, doc = window.canvas, window.document
    window.assist_panel.shape_combo.setCurrentIndex(window.assist_panel.shape_combo.findData("mask"))
    QTest.keyClick(canvas.viewport(), Qt.Key_K)
    assert canvas.tool == "assist_click"
    with qtbot.waitSignal(window.assist.resultApplied, timeout=60000):
        click(canvas, 120, 120)
    settle(window, qtbot)
    assert [s.shape_type for s in doc.shapes()] == ["mask"]
    assert iou(autosaved_label(window, folder / "disk.json"), gt) >= 0.9
    QTest.keyClick(canvas.viewport(), Qt.Key_Return)        # ends the object: the next click starts another
    assert window.assist.interaction is None
    # a bad box afterwards: a message, the shape kept, the file untouched
    saved = (folder / "disk.json").read_bytes()
    shapes = doc.shapes()
    window.assist.request_box((500, 500, 600, 600))
    settle(window, qtbot)
    qtbot.waitUntil(lambda: "outside" in (window.last_error or ""))
    assert doc.shapes() == shapes and window.autosaver.flush() and (folder / "disk.json").read_bytes() == saved


def test_magic_wand_with_wheel_tolerance(window, qtbot, disk):
    folder, gt = disk
    canvas, doc = window.canvas, window.document
    QTest.keyClick(canvas.viewport(), Qt.Key_W)
    assert canvas.tool == "wand"
    wand = canvas._tools["wand"]
    wand.tolerance = 0
    vpw = canvas.viewport()
    QTest.mousePress(vpw, Qt.LeftButton, Qt.NoModifier, canvas.mapFromScene(QPointF(120, 120)))
    small = int(wand._mask.sum())
    pos = QPointF(canvas.mapFromScene(QPointF(120, 120)))
    zoom = canvas.zoom()
    for _ in range(10):   # wheel up while the button is held: tolerance 0 -> 40, no zoom
        ev = QWheelEvent(pos, QPointF(vpw.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120), Qt.LeftButton,
                         Qt.NoModifier, Qt.NoScrollPhase, False)
        QApplication.sendEvent(vpw, ev)
    assert wand.tolerance == 40 and canvas.zoom() == zoom
    assert wand._mask.sum() > small
    with qtbot.waitSignal(window.assist.resultApplied, timeout=60000):
        QTest.mouseRelease(vpw, Qt.LeftButton, Qt.NoModifier, canvas.mapFromScene(QPointF(120, 120)))
    settle(window, qtbot)
    assert len(doc.shapes()) == 1 and doc.shapes()[0].label == "lesion"
    assert iou(autosaved_label(window, folder / "disk.json"), gt) >= 0.93
    assert window.assist_panel.tolerance.value() == 40


def test_edge_snapping_polygon_follows_the_border(window, qtbot, disk):
    folder, gt = disk
    canvas, doc = window.canvas, window.document
    QTest.keyClick(canvas.viewport(), Qt.Key_N)
    assert canvas.tool == "snap"
    for x, y in ((60.5, 120.5), (120.5, 60.5), (180.5, 120.5), (120.5, 180.5)):   # on the disk's border
        QTest.mouseMove(canvas.viewport(), canvas.mapFromScene(QPointF(x, y)))
        click(canvas, x, y)
    QTest.mouseMove(canvas.viewport(), canvas.mapFromScene(QPointF(70, 150)))
    QTest.keyClick(canvas.viewport(), Qt.Key_Return)
    assert len(doc.shapes()) == 1 and doc.shapes()[0].shape_type == "polygon"
    assert len(doc.shapes()[0].points) > 8                  # a curve, not the 4 anchors
    assert iou(autosaved_label(window, folder / "disk.json"), gt) >= 0.93
    QTest.keyClick(canvas.viewport(), Qt.Key_Z, Qt.ControlModifier)
    assert doc.shapes() == []


@pytest.mark.parametrize("rect, words", [((300, 300, 400, 400), "outside"), ((100, 100, 101, 101), "at least")])
def test_bad_boxes_change_nothing(window, qtbot, disk, rect, words):
    folder, _gt = disk
    canvas, doc = window.canvas, window.document
    canvas.set_tool("assist_box")
    window.assist.request_box(rect)            # the canvas clamps drags; the controller still checks
    settle(window, qtbot)
    qtbot.waitUntil(lambda: words in window.statusBar().currentMessage())
    assert doc.shapes() == [] and not (folder / "disk.json").exists()
    canvas.current_label = ""
    drag(canvas, (50, 50), (190, 190))
    assert "Choose a class first" in window.statusBar().currentMessage()
    assert doc.shapes() == [] and not (folder / "disk.json").exists()


def test_click_on_a_blank_image_and_missing_model(qtbot, tmp_path, messages):
    from PIL import Image

    folder = tmp_path / "blank"
    folder.mkdir()
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(folder / "blank.png")
    (folder / "labels.txt").write_text("_background_\nlesion\n")
    w = make_assist_window(qtbot, folder, "blank.png")
    try:
        w.assist.set_method("model")   # no checkpoint chosen: GrabCut is used and said so
        w.canvas.set_tool("assist_click")
        click(w.canvas, 30, 30)
        settle(w, qtbot)
        qtbot.waitUntil(lambda: "uniform" in (w.last_error or ""))
        assert w.document.shapes() == [] and not (folder / "blank.json").exists()
        assert "GrabCut" in w.assist_panel.model_label.text()
    finally:
        w.assist.shutdown()
        w.autosaver.enabled = False
