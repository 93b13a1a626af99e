"""Labels in the window, as a user meets them: changing a shape's label from the canvas, the brush size box,
the keyboard after a dialog, class ids of a project without labels.txt."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtWidgets import QApplication

from segstudio.gui.main_window import MainWindow


@pytest.fixture
def window(make_window):
    return make_window()


def answer_dialog(text, seen, tries=300):
    """Record the text the next LabelDialog opens with, then type ``text`` and accept (None: cancel)."""
    from segstudio.gui.dialogs.label_dialog import LabelDialog

    def attempt(left):
        dialogs = [d for d in QApplication.topLevelWidgets() if isinstance(d, LabelDialog) and d.isVisible()]
        if dialogs:
            d = dialogs[0]
            seen.append((d.windowTitle(), d.edit.text()))
            if text is None:
                d.reject()
            else:
                d.edit.setText(text)
                d.accept()
        elif left > 0:
            QTimer.singleShot(10, lambda: attempt(left - 1))

    QTimer.singleShot(0, lambda: attempt(tries))


def centroid(shape):
    pts = np.asarray(shape.points, float)
    return float(pts[:, 0].mean()), float(pts[:, 1].mean())


def click_shape(qtbot, w, index, button=Qt.LeftButton):
    x, y = centroid(w.document.shapes()[index])
    qtbot.mouseClick(w.canvas.viewport(), button, pos=w.canvas.mapFromScene(QPointF(x, y)))


@pytest.mark.parametrize("ask_label", [True, False])
def test_ctrl_e_changes_the_label_of_the_selected_shape_not_the_drawing_class(window, qtbot, sample_project,
                                                                              ask_label):
    window.open_path(sample_project)
    if not ask_label:
        window.actions_by_name["ask_label"].trigger()
    assert window.settings.ask_label is ask_label
    window.add_class("nevus")
    doc = window.document
    cyst = [s.label for s in doc.shapes()].index("cyst")
    window.choose_class("lesion")
    window.canvas.setFocus()
    click_shape(qtbot, window, cyst)
    assert doc.selected() == [cyst]
    seen = []
    answer_dialog("nevus", seen)
    qtbot.keyClick(window.canvas, Qt.Key_E, Qt.ControlModifier)
    assert seen == [("Change label", "cyst")]                 # the shape's label, not the drawing class
    assert doc.shapes()[cyst].label == "nevus"
    assert window.canvas.current_label == "lesion" and window.class_panel.current_class() == "lesion"
    assert window.autosaver.flush()
    on_disk = json.loads((sample_project / "img_000.json").read_text())
    assert on_disk["shapes"][cyst]["label"] == "nevus"
    assert window.actions_by_name["relabel"].shortcut().toString() == "Ctrl+E"


def test_right_click_change_label_asks_with_the_shape_label_and_cancel_keeps_it(window, qtbot, sample_project):
    window.open_path(sample_project)
    doc = window.document
    cyst = [s.label for s in doc.shapes()].index("cyst")
    window.choose_class("lesion")
    x, y = centroid(doc.shapes()[cyst])
    menu = window.canvas._tools["edit"].context_menu(window.canvas.mapFromScene(QPointF(x, y)))
    assert doc.selected() == [cyst]                           # right-clicking a shape selects it
    action = next(a for a in menu.actions() if a.text().startswith("Change label"))
    seen = []
    answer_dialog(None, seen)
    action.trigger()
    assert seen == [("Change label", "cyst")] and doc.shapes()[cyst].label == "cyst"
    answer_dialog("lesion", seen)
    action.trigger()
    assert seen[-1] == ("Change label", "cyst") and doc.shapes()[cyst].label == "lesion"
    assert window.canvas.current_label == "lesion"
    menu.deleteLater()


def test_class_keys_work_after_the_label_dialog(window, qtbot, sample_project):
    """The dialog of a new shape closes; keys 1-9 and the tool letters still reach the window."""
    (sample_project / "img_003.json").unlink()
    window.open_path(sample_project / "img_003.png")
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_R)
    vp = window.canvas.viewport()
    qtbot.mouseClick(vp, Qt.LeftButton, pos=window.canvas.mapFromScene(QPointF(30, 30)))
    answer_dialog("lesion", [])
    qtbot.mouseClick(vp, Qt.LeftButton, pos=window.canvas.mapFromScene(QPointF(90, 90)))
    assert [s.label for s in window.document.shapes()] == ["lesion"]
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    assert QApplication.focusWidget() is window.canvas
    qtbot.keyClick(window.canvas, Qt.Key_2)
    assert window.canvas.current_label == "cyst"
    qtbot.keyClick(window.canvas, Qt.Key_B)
    assert window.canvas.tool == "brush"


def test_brush_size_box_keys_and_setting_stay_in_sync(window, qtbot, sample_project):
    window.open_path(sample_project)
    box, action = window.brush_box, window.brush_box_action
    assert not action.isVisible()                             # edit tool: no size box
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_B)
    assert action.isVisible()
    qtbot.waitUntil(box.isVisible, timeout=3000)              # the toolbar lays itself out
    start = window.canvas.brush_size
    assert box.size() == start and f"size <b>{start} px</b>" in window.hint_label.text()
    qtbot.keyClick(window.canvas, Qt.Key_BracketRight)        # ] grows the brush: the box follows
    bigger = window.canvas.brush_size
    assert bigger > start and box.size() == bigger and f"{bigger} px" in window.hint_label.text()
    box.spin.setFocus()
    box.spin.selectAll()
    qtbot.keyClicks(box.spin, "37")
    qtbot.keyClick(box.spin, Qt.Key_Return)                   # typed in the box: the canvas follows
    assert window.canvas.brush_size == 37 and "37 px" in window.hint_label.text()
    assert QApplication.focusWidget() is window.canvas        # Enter gives the keyboard back to the canvas
    qtbot.keyClick(window.canvas, Qt.Key_BracketLeft)
    assert box.size() == window.canvas.brush_size < 37
    qtbot.keyClick(window.canvas, Qt.Key_X)
    assert action.isVisible()                                 # the eraser uses it too
    qtbot.keyClick(window.canvas, Qt.Key_E)
    assert not action.isVisible()
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=3000)
    size = window.canvas.brush_size
    w2 = MainWindow(extensions=False)                         # kept in the settings
    qtbot.addWidget(w2)
    assert w2.canvas.brush_size == size and w2.brush_box.size() == size


def test_class_ids_without_labels_txt_stay_when_labels_join(window, qtbot, sample_project):
    """No labels file: the classes are the JSON labels, sorted. A label met later is appended (ids of the
    others do not move), also when the same folder is opened again in the window."""
    (sample_project / "labels.txt").unlink()
    window.open_path(sample_project)
    assert window.project.label_set.names == ["_background_", "cyst", "lesion"]
    data = json.loads((sample_project / "img_005.json").read_text())
    data["shapes"][0]["label"] = "abscess"                     # changed behind the app's back
    (sample_project / "img_005.json").write_text(json.dumps(data))
    window.open_image(window.project.entry_for("img_005"))
    assert window.project.label_set.names == ["_background_", "cyst", "lesion", "abscess"]
    assert window.class_panel.names() == ["cyst", "lesion", "abscess"]
    window.open_path(sample_project)                          # again (File > Recent, a drop ...)
    assert window.project.label_set.names == ["_background_", "cyst", "lesion", "abscess"]
    assert not (sample_project / "labels.txt").exists()       # nothing written behind the user's back
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_2)
    assert window.canvas.current_label == "lesion"
