"""The annotation window, driven as a user would: open, navigate, annotate, classes, display, help."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from segstudio.core.annotation.document import Shape
from segstudio.gui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def window(make_window):
    return make_window()


def _key(qtbot, w, key):
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, key)


def answer_label_dialog(text, tries=200):
    """Type ``text`` into the next LabelDialog that opens and accept it (polls; never leaves it open)."""
    from segstudio.gui.dialogs.label_dialog import LabelDialog

    def attempt(left):
        dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, LabelDialog) and w.isVisible()]
        if dialogs:
            dialogs[0].edit.setText(text)
            dialogs[0].accept()
        elif left > 0:
            QTimer.singleShot(10, lambda: attempt(left - 1))

    QTimer.singleShot(0, lambda: attempt(tries))


def _shape(label="lesion", x=10.0):
    return Shape(label=label, points=[[x, 10.0], [x + 30, 12.0], [x + 15, 40.0]])


def test_welcome_page_then_open_folder(window, sample_project):
    assert window.stack.currentWidget() is window.welcome
    assert window.welcome.open_folder_button.isEnabled() and window.welcome.open_sample_button.isEnabled()
    assert window.open_path(sample_project)
    assert window.stack.currentWidget() is window.canvas_page
    assert window.file_list.tree.topLevelItemCount() == 24
    assert window.file_list.counts_label.text() == "24/24 annotated"
    assert window.current_entry.stem == "img_000"
    shapes = window.document.shapes()
    assert len(shapes) >= 1 and window.shape_list.list.count() == len(shapes)
    assert window.class_panel.names() == ["lesion", "cyst"]
    assert str(sample_project) in window.settings.recent_projects()[0]
    assert [a.text() for a in window.recent_menu.actions()] == window.settings.recent_projects()


def test_open_sample_project_button(window, tmp_path, monkeypatch, qtbot):
    monkeypatch.setattr(window, "sample_project_dir", lambda: tmp_path / "sample")
    qtbot.mouseClick(window.welcome.open_sample_button, Qt.LeftButton)
    assert window.project is not None and window.project.folder == (tmp_path / "sample").resolve()
    assert len(window.project.images) == 24


def test_open_single_json_and_bad_path(window, sample_project, messages):
    assert window.open_path(sample_project / "img_004.json")
    assert window.current_entry.stem == "img_004"
    assert window.file_list.current_entry().stem == "img_004"
    assert not window.open_path(sample_project / "missing_folder")
    assert "missing_folder: no such file or folder" in messages[-1]


def test_navigate_with_d_and_a(window, sample_project, qtbot):
    window.open_path(sample_project)
    seen = []
    window.currentImageChanged.connect(lambda e: seen.append(e.stem))
    _key(qtbot, window, Qt.Key_D)
    _key(qtbot, window, Qt.Key_D)
    assert window.current_entry.stem == "img_002" and seen == ["img_001", "img_002"]
    _key(qtbot, window, Qt.Key_A)
    assert window.current_entry.stem == "img_001"
    assert window.file_list.current_entry().stem == "img_001"
    window.open_image(window.project.images[-1])
    _key(qtbot, window, Qt.Key_D)  # at the end: stays
    assert window.current_entry.stem == "img_023"


def test_filter_and_navigation_within_filter(window, sample_project, qtbot):
    window.open_path(sample_project)
    qtbot.keyClicks(window.file_list.filter_edit, "img_01")
    visible = [e.stem for e in window.file_list.visible_entries()]
    assert visible == [f"img_01{i}" for i in range(10)]
    _key(qtbot, window, Qt.Key_D)  # from img_000 (filtered out) to the first visible after it
    assert window.current_entry.stem == "img_010"
    window.file_list.filter_edit.clear()
    (sample_project / "img_005.json").unlink()
    window.refresh_statuses()
    window.file_list.status_combo.setCurrentText("not annotated")
    assert [e.stem for e in window.file_list.visible_entries()] == ["img_005"]
    assert window.file_list.counts_label.text() == "23/24 annotated"


def test_status_changes_after_annotating(window, sample_project, qtbot):
    (sample_project / "img_003.json").unlink()
    window.open_path(sample_project)
    entry = window.project.entry_for("img_003")
    assert window.file_list._items["img_003"].text(1) == "not annotated"
    window.open_image(entry)
    assert window.document.shapes() == []
    window.document.add_shapes([_shape()])
    qtbot.waitUntil(lambda: window.file_list._items["img_003"].text(1) == "annotated", timeout=5000)
    assert window.file_list.counts_label.text() == "24/24 annotated"
    data = json.loads((sample_project / "img_003.json").read_text())
    assert [s["label"] for s in data["shapes"]] == ["lesion"] and data["imagePath"] == "img_003.png"


def test_class_keys_pick_the_class_for_new_shapes(window, sample_project, qtbot):
    window.open_path(sample_project)
    _key(qtbot, window, Qt.Key_2)
    assert window.canvas.current_label == "cyst"
    assert window.class_panel.current_class() == "cyst"
    _key(qtbot, window, Qt.Key_1)
    assert window.canvas.current_label == "lesion"
    _key(qtbot, window, Qt.Key_9)  # no class 9: unchanged
    assert window.canvas.current_label == "lesion"


def test_rename_class_updates_labels_shapes_and_other_files(window, sample_project, monkeypatch):
    window.open_path(sample_project)
    doc = window.document
    n_cyst = sum(s.label == "cyst" for s in doc.shapes())
    assert n_cyst >= 1  # img_000 has a cyst
    window.class_panel.set_current_class("cyst")
    monkeypatch.setattr("segstudio.gui.panels.class_panel.QInputDialog.getText",
                        lambda *a, **k: ("fluid cyst", True))
    window.class_panel.rename_button.click()
    assert (sample_project / "labels.txt").read_text().splitlines() == [
        "__ignore__", "_background_", "lesion", "fluid cyst"]
    assert sum(s.label == "fluid cyst" for s in doc.shapes()) == n_cyst
    assert window.class_panel.names() == ["lesion", "fluid cyst"]
    other = json.loads((sample_project / "img_001.json").read_text())
    assert "cyst" not in {s["label"] for s in other["shapes"]}
    doc.undo_stack.undo()  # the open image's rename is undoable
    assert sum(s.label == "cyst" for s in doc.shapes()) == n_cyst


def test_add_class_and_duplicate_rename_refused(window, sample_project, messages):
    window.open_path(sample_project)
    assert window.add_class("nevus")
    assert window.class_panel.names() == ["lesion", "cyst", "nevus"]
    assert (sample_project / "labels.txt").read_text().splitlines()[-1] == "nevus"
    assert not window.rename_class("lesion", "cyst")
    assert "already exists" in messages[-1]


def test_label_dialog_hook_adds_a_new_class(window, sample_project, qtbot):
    window.open_path(sample_project)

    def answer():
        dlg = QApplication.activeModalWidget()
        qtbot.keyClicks(dlg.edit, "melanoma")
        dlg.accept()

    QTimer.singleShot(0, answer)
    assert window.canvas.label_requested is not None
    assert window.canvas.label_requested("lesion") == "melanoma"
    assert "melanoma" in window.project.label_set.names
    assert (sample_project / "labels.txt").read_text().splitlines()[-1] == "melanoma"
    assert window.canvas.current_label == "melanoma"
    window.actions_by_name["ask_label"].trigger()  # off: new shapes take the current class silently
    assert window.canvas.label_requested is None and not window.settings.ask_label


def test_hide_class_and_shape_list_selection_sync(window, sample_project, qtbot):
    from segstudio.gui.canvas.items import MaskShapeItem, PathShapeItem

    window.open_path(sample_project)
    doc = window.document
    items = [i for i in window.canvas.scene().items() if isinstance(i, (PathShapeItem, MaskShapeItem))]
    assert len(items) == len(doc.shapes())
    doc.select([1])
    assert window.shape_list.selected_rows() == [1]
    window.shape_list.list.setCurrentRow(0)
    assert doc.selected() == [0]
    cyst_item = window.class_panel.tree.findItems("cyst", Qt.MatchExactly, 0)[0]
    cyst_item.setCheckState(0, Qt.Unchecked)
    assert not window.canvas.is_label_visible("cyst")
    for item in items:
        assert item.isVisible() == (item.shape_ref.label != "cyst")


def test_flags_from_flags_txt_are_saved(window, sample_project, qtbot):
    (sample_project / "flags.txt").write_text("blurry\nartefact\n")
    window.open_path(sample_project)
    assert [window.flags_panel.list.item(i).text() for i in range(2)] == ["blurry", "artefact"]
    window.flags_panel.list.item(0).setCheckState(Qt.Checked)
    assert window.document.annotation.flags == {"blurry": True, "artefact": False}
    window.autosaver.flush()
    assert json.loads((sample_project / "img_000.json").read_text())["flags"]["blurry"] is True


def test_16bit_image_window_level(window, tmp_path, monkeypatch):
    folder = tmp_path / "scan"
    folder.mkdir()
    arr = (np.arange(64 * 64).reshape(64, 64) % 4096).astype(np.uint16)
    Image.fromarray(arr).save(folder / "scan.png")
    shown = []
    monkeypatch.setattr(window.canvas, "set_display_image", lambda rgb: shown.append(rgb))
    window.open_path(folder)
    assert window.adjust_panel.window_box.isEnabled()
    assert shown[-1].dtype == np.uint8 and shown[-1].max() >= 250  # 12-bit data is not shown black
    window.adjust_panel.level.setValue(1000)
    window.adjust_panel.width.setValue(100)
    assert window.display.level == 1000 and window.display.width == 100
    img = shown[-1]
    assert img.shape == arr.shape                  # a grayscale scan reaches the canvas as one channel
    assert img[arr < 950].max() == 0 and img[arr > 1050].min() == 255
    window.adjust_panel.brightness.setValue(50)
    assert window.display.brightness == 0.5


def test_open_labelme_example_shows_every_shape(window, shared_data):
    from segstudio.gui.canvas.items import MaskShapeItem, PathShapeItem

    folder = shared_data / "labelme_examples" / "semantic_segmentation" / "data_annotated"
    assert window.open_path(folder)
    assert window.project.images, "no images found"
    for entry in window.project.images:
        assert window.open_image(entry)
        n = len(json.loads(entry.json_path.read_text())["shapes"])
        items = [i for i in window.canvas.scene().items() if isinstance(i, (PathShapeItem, MaskShapeItem))]
        assert len(window.document.shapes()) == n
        assert len(items) == n and window.shape_list.list.count() == n
    assert not window.document.is_modified  # opening wrote nothing


def test_drop_folder_opens_it(window, sample_project):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(sample_project))])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    assert window.project is not None and window.project.folder == sample_project.resolve()


def test_help_lists_the_real_shortcuts(window, sample_project):
    window.open_path(sample_project)
    dialog = window.show_help()
    rows = dialog.rows()
    assert ("Navigate", "Next image", "D, Ctrl+Right") in rows
    assert ("Annotate", "Use class 2", "2") in rows
    # every action with a shortcut appears, with its current key
    window.actions_by_name["fit"].setShortcut("Ctrl+Shift+F")
    assert ("View", "Fit image", "Ctrl+Shift+F") in window.show_help().rows()
    dialog.close()


def test_recent_project_reopens_in_a_new_window(window, sample_project, qtbot):
    window.open_path(sample_project)
    w2 = MainWindow(extensions=False)
    qtbot.addWidget(w2)
    assert w2.welcome.recent.count() == 1
    item = w2.welcome.recent.item(0)
    assert item.text().startswith(sample_project.name) and item.toolTip() == str(sample_project.resolve())
    w2.welcome.recent.itemActivated.emit(item)
    assert w2.project is not None and len(w2.project.images) == 24


def test_extensions_are_installed_and_failures_reported(qtbot, messages, monkeypatch):
    from PySide6.QtWidgets import QDockWidget

    from segstudio.core.session import WINDOW_EXTENSIONS

    seen = []

    def ok(session, services):
        seen.append(session)
        services.add_dock("ok", QDockWidget("OK dock"))
        services.add_menu_action("&Tools", "Say hello", lambda: services.status("hello"), name="hello")

    def bad(session, services):
        raise RuntimeError("boom")

    monkeypatch.setattr(WINDOW_EXTENSIONS, "entries", {"ok": ok, "bad": bad})
    w = MainWindow()
    qtbot.addWidget(w)
    assert seen == [w.session]
    assert w.docks["ok"] in w.tabifiedDockWidgets(w.docks["flags"])
    tools = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Tools")
    assert w.actions_by_name["hello"] in tools.actions()
    w.actions_by_name["hello"].trigger()
    assert w.statusBar().currentMessage() == "hello"
    assert w.extension_errors == ["bad: RuntimeError: boom"]
    assert w.last_error == "Some extensions failed: bad: RuntimeError: boom"


def _run_cli(args, env_extra, drop=()):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "segstudio", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


def test_gui_command_without_display_says_so(tmp_path):
    r = _run_cli(["gui"], {"HOME": str(tmp_path)}, drop=("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
    assert r.returncode == 1
    assert "no display available" in r.stderr and "Traceback" not in r.stderr


def test_gui_command_missing_path_is_an_error(tmp_path):
    r = _run_cli(["gui", str(tmp_path / "nope")], {"QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: {tmp_path / 'nope'}: no such file or folder"


def test_draw_a_rectangle_with_the_mouse_label_dialog_and_autosave(window, sample_project, qtbot):
    (sample_project / "img_003.json").unlink()
    window.open_path(sample_project / "img_003.png")
    _key(qtbot, window, Qt.Key_R)
    assert window.canvas.tool == "rectangle"
    vp = window.canvas.viewport()
    p1 = window.canvas.mapFromScene(QPointF(40, 50))
    p2 = window.canvas.mapFromScene(QPointF(120, 140))

    qtbot.mouseClick(vp, Qt.LeftButton, pos=p1)
    qtbot.mouseMove(vp, p2)
    answer_label_dialog("cyst")
    qtbot.mouseClick(vp, Qt.LeftButton, pos=p2)
    shapes = window.document.shapes()
    assert len(shapes) == 1 and shapes[0].shape_type == "rectangle" and shapes[0].label == "cyst"
    assert window.shape_list.list.count() == 1
    with qtbot.waitSignal(window.autosaver.saved, timeout=5000):
        pass
    data = json.loads((sample_project / "img_003.json").read_text())
    assert data["shapes"][0]["shape_type"] == "rectangle" and data["shapes"][0]["label"] == "cyst"
    (x0, y0), (x1, y1) = data["shapes"][0]["points"]
    assert abs(x0 - 40) <= 2 and abs(y1 - 140) <= 2
    assert window.file_list._items["img_003"].text(1) == "annotated"


def test_real_extensions_install_below_the_canvas_and_beside_flags(qtbot, messages):
    w = MainWindow()
    qtbot.addWidget(w)
    assert w.extension_errors == []
    for key in ("training", "review"):   # below the canvas, hidden until the toolbar's buttons show them
        assert w.dockWidgetArea(w.docks[key]) == Qt.BottomDockWidgetArea and w.docks[key].isHidden()
        assert w.panel_buttons[key].defaultAction() is w.actions_by_name[f"show_{key}"]
        assert w.docks[key].session is w.session          # the docks share the window's session
    assert w.docks["assist"] in w.tabifiedDockWidgets(w.docks["flags"])   # right-side extensions: tabs
    hint = w.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 800  # fits a small laptop screen


def test_gui_command_with_unusable_display_says_so(tmp_path):
    r = _run_cli(["gui"], {"HOME": str(tmp_path), "DISPLAY": ":97"}, drop=("WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
    assert r.returncode == 1
    assert "no usable display" in r.stderr and "Traceback" not in r.stderr


def test_brightness_is_kept_when_switching_images(window, sample_project, qtbot, monkeypatch):
    window.open_path(sample_project)
    shown = []
    monkeypatch.setattr(window.canvas, "set_display_image", lambda rgb: shown.append(rgb))
    window.adjust_panel.brightness.setValue(30)
    _key(qtbot, window, Qt.Key_D)
    raw = window.document.image
    assert window.current_entry.stem == "img_001"
    assert shown and shown[-1].shape == raw.shape
    assert shown[-1].astype(int).mean() > raw.astype(int).mean() + 40  # +0.3 of the range, clipped at 255


def test_open_folder_button_and_open_file_menu(window, sample_project, qtbot, monkeypatch):
    import segstudio.gui.main_window as mw

    monkeypatch.setattr(mw.QFileDialog, "getExistingDirectory", lambda *a, **k: str(sample_project))
    qtbot.mouseClick(window.welcome.open_folder_button, Qt.LeftButton)
    assert window.project is not None and window.current_entry.stem == "img_000"
    monkeypatch.setattr(mw.QFileDialog, "getOpenFileName", lambda *a, **k: (str(sample_project / "img_009.png"), ""))
    window.actions_by_name["open_file"].trigger()
    assert window.current_entry.stem == "img_009"
