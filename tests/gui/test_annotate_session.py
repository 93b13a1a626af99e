"""One annotation session in the real window on the sample project, driven with the mouse and the keyboard;
the autosaved JSON is read back from disk and rasterized by core."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtWidgets import QApplication
from test_canvas_support import drag, vp

from segstudio.core.annotation import LabelSet, annotation_to_label, load_annotation


def answer_dialog(text, seen, tries=300):
    """Record the text the next LabelDialog opens with, then type ``text`` and accept it."""
    from segstudio.gui.dialogs.label_dialog import LabelDialog

    def attempt(left):
        dialogs = [d for d in QApplication.topLevelWidgets() if isinstance(d, LabelDialog) and d.isVisible()]
        if dialogs:
            seen.append(dialogs[0].edit.text())
            dialogs[0].edit.setText(text)
            dialogs[0].accept()
        elif left > 0:
            QTimer.singleShot(10, lambda: attempt(left - 1))

    QTimer.singleShot(0, lambda: attempt(tries))


@pytest.fixture
def window(make_window):
    return make_window(size=(1400, 900))


def press(qtbot, w, key, mods=Qt.NoModifier):
    """A key as the user types it: to the widget with the focus (the canvas, after every step here)."""
    assert QApplication.focusWidget() is w.canvas
    qtbot.keyClick(w.canvas, key, mods)


def click_at(qtbot, w, x, y):
    qtbot.mouseClick(w.canvas.viewport(), Qt.LeftButton, pos=vp(w.canvas, x, y))


def test_a_user_session_is_autosaved_and_rasterizes_as_drawn(window, qtbot, sample_project):
    labels = LabelSet.from_file(sample_project / "labels.txt")
    json_path = sample_project / "img_002.json"
    original = load_annotation(json_path)
    before, _ = annotation_to_label(original, labels)
    region = (slice(0, 130), slice(0, 130))           # where this session draws; empty in img_002
    assert not before[region].any()
    lesion, cyst = labels.names.index("lesion"), labels.names.index("cyst")

    assert window.open_path(sample_project / "img_002.png")
    canvas, doc = window.canvas, window.document
    canvas.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is canvas)
    n0 = len(doc.shapes())

    # a polygon by clicks, closed on its first vertex; the label dialog answers "cyst"
    press(qtbot, window, Qt.Key_P)
    for x, y in ((20, 20), (80, 20), (80, 70), (20, 70)):
        click_at(qtbot, window, x, y)
    seen = []
    answer_dialog("cyst", seen)
    click_at(qtbot, window, 20, 20)
    assert len(doc.shapes()) == n0 + 1 and doc.shapes()[-1].label == "cyst"
    assert canvas.current_label == "cyst"                # the new shape's label is the drawing class now
    qtbot.waitUntil(lambda: QApplication.focusWidget() is canvas)

    # undo, redo
    press(qtbot, window, Qt.Key_Z, Qt.ControlModifier)
    assert len(doc.shapes()) == n0
    press(qtbot, window, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert len(doc.shapes()) == n0 + 1 and doc.shapes()[-1].label == "cyst"

    # edit tool: select the polygon, drag its vertex (80, 70) to (100, 90)
    press(qtbot, window, Qt.Key_E)
    click_at(qtbot, window, 40, 40)
    assert doc.selected() == [n0]
    drag(canvas, (80, 70), (100, 90))
    pts = np.asarray(doc.shapes()[n0].points)
    assert np.abs(pts - [[20, 20], [80, 20], [100, 90], [20, 70]]).max() < 0.5

    # brush class 1 (lesion), size 10, a horizontal stroke; the eraser cuts it in the middle
    press(qtbot, window, Qt.Key_1)
    press(qtbot, window, Qt.Key_B)
    window.brush_box.spin.setValue(10)
    assert canvas.brush_size == 10 and canvas.current_label == "lesion"
    drag(canvas, (30, 112), (110, 112))
    press(qtbot, window, Qt.Key_X)
    drag(canvas, (70, 98), (70, 126))
    masks = [s for s in doc.shapes()[n0:] if s.shape_type == "mask"]
    assert len(masks) == 1                               # cut in two, still one shape

    # change the polygon's label through the dialog (Ctrl+E): it opens on "cyst"
    press(qtbot, window, Qt.Key_E)
    click_at(qtbot, window, 40, 40)
    assert doc.selected() == [n0]
    answer_dialog("lesion", seen)
    press(qtbot, window, Qt.Key_E, Qt.ControlModifier)
    assert seen == ["lesion", "cyst"] and doc.shapes()[n0].label == "lesion"   # new shape: the drawing class
    assert canvas.current_label == "lesion"

    # autosave: wait until the JSON on disk has the session, then rasterize it
    def saved():
        data = json.loads(json_path.read_text())
        return len(data["shapes"]) == n0 + 2 and data["shapes"][n0]["label"] == "lesion"

    qtbot.waitUntil(lambda: saved() and not window.autosaver.dirty, timeout=5000)
    ann = load_annotation(json_path)
    cls, _ = annotation_to_label(ann, labels)
    assert np.array_equal(cls[130:, :], before[130:, :]) and np.array_equal(cls[:, 130:], before[:, 130:])
    for x, y in ((25, 25), (75, 25), (50, 60), (90, 75), (21, 69)):
        assert cls[y, x] == lesion, (x, y)               # inside the polygon, the dragged corner included
    for x, y in ((10, 10), (90, 30), (30, 85), (101, 92)):
        assert cls[y, x] == 0, (x, y)                     # outside it
    for x, y in ((32, 112), (50, 108), (50, 116), (90, 112), (108, 112)):
        assert cls[y, x] == lesion, (x, y)               # the brush stroke
    for x, y in ((70, 108), (70, 112), (70, 116), (50, 100), (50, 124), (118, 112)):
        assert cls[y, x] == 0, (x, y)                     # erased, or beyond the stroke
    assert cls[region].max() == lesion and not (cls[region] == cyst).any()
    assert ann.shapes[-1].shape_type == "mask" and ann.shapes[-1].label == "lesion"
