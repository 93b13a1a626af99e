"""Panels and dialogs on their own: file list, class panel, label dialog, image adjust, help, settings."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import QDialogButtonBox

from segstudio.core.project import Project
from segstudio.gui.dialogs.help_dialog import HelpDialog, shortcut_rows
from segstudio.gui.dialogs.label_dialog import LabelDialog
from segstudio.gui.panels.class_panel import ClassPanel
from segstudio.gui.panels.file_list import FileListPanel
from segstudio.gui.panels.image_adjust import ImageAdjustPanel
from segstudio.gui.settings import MAX_RECENT, Settings


@pytest.fixture
def file_list(qtbot, sample_project):
    panel = FileListPanel()
    qtbot.addWidget(panel)
    panel.set_project(Project(sample_project))
    return panel


def test_panels_follow_a_session_without_a_window(qtbot, sample_project):
    from segstudio.core.session import Session
    from segstudio.gui.document_model import DocumentModel
    from segstudio.gui.panels.shape_list import ShapeListPanel

    session = Session(document=DocumentModel())
    files, shapes = FileListPanel(), ShapeListPanel(session.document)
    qtbot.addWidget(files)
    qtbot.addWidget(shapes)
    files.follow(session)
    shapes.follow(session)
    project = Project(sample_project)
    session.set_project(project)
    assert files.project is project and files.tree.topLevelItemCount() == 24
    session.set_image(project.images[5])
    assert files.current_entry() == project.images[5]
    session.set_class_color("lesion", (1, 2, 3))
    assert shapes.colors["lesion"] == QColor(1, 2, 3)


def test_file_list_statuses_counts_and_problems(file_list, sample_project):
    assert file_list.tree.topLevelItemCount() == 24
    assert file_list.counts_label.text() == "24/24 annotated"
    (sample_project / "img_001.json").unlink()
    (sample_project / "img_002.json").write_text("{oops")
    project = file_list.project
    project.set_reviewed(project.images[3], True)
    file_list.refresh_statuses()
    texts = [file_list.tree.topLevelItem(i).text(1) for i in range(4)]
    assert texts == ["annotated", "not annotated", "unreadable JSON", "reviewed"]
    assert "not valid JSON" in file_list.tree.topLevelItem(2).toolTip(1)
    assert file_list.counts_label.text() == "22/24 annotated · 1 reviewed"


def test_file_list_filter_and_neighbours(file_list, qtbot):
    seen = []
    file_list.imageActivated.connect(lambda e: seen.append(e.stem))
    assert file_list.neighbour(+1).stem == "img_000"  # nothing current: the first
    assert file_list.neighbour(-1).stem == "img_023"
    file_list.set_current(file_list.project.images[5])
    assert seen == []  # set_current is silent
    assert file_list.neighbour(+1).stem == "img_006" and file_list.neighbour(-1).stem == "img_004"
    qtbot.keyClicks(file_list.filter_edit, "IMG_02")  # case-insensitive
    assert [e.stem for e in file_list.visible_entries()] == ["img_020", "img_021", "img_022", "img_023"]
    assert file_list.neighbour(+1).stem == "img_020" and file_list.neighbour(-1) is None
    file_list.tree.setCurrentItem(file_list.tree.topLevelItem(21))  # a user click
    assert seen == ["img_021"]
    file_list.status_combo.setCurrentText("not annotated")
    assert file_list.visible_entries() == []
    assert file_list.neighbour(+1) is None


@pytest.fixture
def classes(qtbot):
    panel = ClassPanel()
    qtbot.addWidget(panel)
    names = ["_background_", "lesion", "cyst"]
    panel.set_classes(names, {"lesion": QColor("red"), "cyst": QColor("green")}, hidden=["cyst"], current="lesion")
    return panel


def test_class_panel_rows_ids_keys_and_visibility(classes, qtbot):
    rows = [[classes.tree.topLevelItem(i).text(c) for c in range(3)] for i in range(2)]
    assert rows == [["lesion", "1", "1"], ["cyst", "2", "2"]]
    assert classes.current_class() == "lesion"
    assert classes.is_visible("lesion") and not classes.is_visible("cyst")
    with qtbot.waitSignal(classes.visibilityChanged) as blocker:
        classes.tree.topLevelItem(1).setCheckState(0, Qt.Checked)
    assert blocker.args == ["cyst", True]
    with qtbot.waitSignal(classes.classChosen) as blocker:
        classes.tree.setCurrentItem(classes.tree.topLevelItem(1))
    assert blocker.args == ["cyst"]


def test_class_panel_add_rename_colour_ask_then_emit(classes, qtbot, monkeypatch):
    import segstudio.gui.panels.class_panel as cp

    monkeypatch.setattr(cp.QInputDialog, "getText", lambda *a, **k: ("  nevus ", True))
    with qtbot.waitSignal(classes.addRequested) as blocker:
        classes.add_button.click()
    assert blocker.args == ["nevus"]
    monkeypatch.setattr(cp.QInputDialog, "getText", lambda *a, **k: ("melanoma", True))
    with qtbot.waitSignal(classes.renameRequested) as blocker:
        classes.rename_button.click()
    assert blocker.args == ["lesion", "melanoma"]
    monkeypatch.setattr(cp.QColorDialog, "getColor", lambda *a, **k: QColor("#123456"))
    with qtbot.waitSignal(classes.colorRequested) as blocker:
        classes.color_button.click()
    assert blocker.args[0] == "lesion" and blocker.args[1].name() == "#123456"
    monkeypatch.setattr(cp.QInputDialog, "getText", lambda *a, **k: ("x", False))  # cancelled
    with qtbot.assertNotEmitted(classes.addRequested):
        classes.add_button.click()


def test_label_dialog_completion_new_class_and_cancel(qtbot):
    dlg = LabelDialog(["lesion", "cyst"])
    qtbot.addWidget(dlg)
    completer = dlg.edit.completer()
    completer.setCompletionPrefix("ES")
    assert completer.currentCompletion() == "lesion"  # case-insensitive, substring

    def type_and_accept(text):
        def go():
            dlg.edit.clear()
            qtbot.keyClicks(dlg.edit, text)
            dlg.buttons.button(QDialogButtonBox.Ok).click()
        QTimer.singleShot(0, go)

    type_and_accept("melanoma")
    assert dlg.ask("lesion") == "melanoma"
    assert "new class" in dlg.note.text()
    QTimer.singleShot(0, lambda: dlg.list.itemDoubleClicked.emit(dlg.list.item(1)))
    dlg.list.setCurrentRow(1)
    assert dlg.ask("") == "cyst"
    QTimer.singleShot(0, dlg.reject)
    assert dlg.ask("lesion") is None
    dlg.edit.setText("   ")
    assert not dlg.buttons.button(QDialogButtonBox.Ok).isEnabled()


def test_image_adjust_panel_emits_settings(qtbot):
    panel = ImageAdjustPanel()
    qtbot.addWidget(panel)
    img8 = np.zeros((10, 12, 3), np.uint8)
    panel.set_image(img8)
    assert not panel.window_box.isEnabled() and "12×10" in panel.info.text()
    with qtbot.waitSignal(panel.settingsChanged) as blocker:
        panel.contrast.setValue(150)
    assert blocker.args[0].contrast == 1.5 and blocker.args[0].level is None
    img16 = np.linspace(0, 4000, 100).astype(np.uint16).reshape(10, 10)
    panel.set_image(img16)
    assert panel.window_box.isEnabled()
    with qtbot.waitSignal(panel.settingsChanged) as blocker:
        panel.level.setValue(2000)
    assert blocker.args[0].level == 2000
    with qtbot.waitSignal(panel.settingsChanged) as blocker:
        panel.reset_button.click()
    s = blocker.args[0]
    assert s.is_identity() and panel.brightness.value() == 0 and panel.contrast.value() == 100


def test_help_rows_come_from_actions(qtbot):
    a = QAction("&Next image")
    a.setShortcuts([QKeySequence("D"), QKeySequence("Ctrl+Right")])
    b = QAction("No shortcut")
    rows = shortcut_rows([("Navigate", a), ("Navigate", b), ("Again", a)])
    assert rows == [("Navigate", "Next image", "D, Ctrl+Right")]
    dlg = HelpDialog([("Navigate", a)], [("Canvas", "Pan", "Space")])
    qtbot.addWidget(dlg)
    assert dlg.rows() == [("Navigate", "Next image", "D, Ctrl+Right"), ("Canvas", "Pan", "Space")]


def test_settings_recent_projects(tmp_path):
    s = Settings()
    assert s.recent_projects() == [] and s.last_project() is None
    for i in range(MAX_RECENT + 3):
        s.add_recent_project(tmp_path / f"p{i}")
    s.add_recent_project(tmp_path / "p5")
    recent = s.recent_projects()
    assert len(recent) == MAX_RECENT and recent[0] == str(tmp_path / "p5") and recent.count(str(tmp_path / "p5")) == 1
    assert Settings().last_project() == str(tmp_path / "p5")  # persisted
    s.remove_recent_project(tmp_path / "p5")
    assert str(tmp_path / "p5") not in s.recent_projects() and s.last_project() is None
    assert s.embed_image_data is False and s.ask_label is True
    s.embed_image_data = True
    assert Settings().embed_image_data is True
