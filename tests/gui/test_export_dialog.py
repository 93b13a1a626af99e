"""Export dialog: every core format is offered; an export runs in the background and summarises n ok and
the failures with their reasons; a refused target is reported; cancel stops it."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from segstudio.core.project import Project  # noqa: E402
from segstudio.gui.export_dialog import ExportDialog, format_names  # noqa: E402


@pytest.fixture
def dialog(qtbot, sample_project):
    dlg = ExportDialog(Project(sample_project))
    qtbot.addWidget(dlg)
    return dlg


def choose(dlg, fmt, out):
    dlg.format.setCurrentIndex(dlg.format.findData(fmt))
    dlg.target.setText(str(out))


def test_offers_every_core_format(dialog):
    offered = [dialog.format.itemData(i) for i in range(dialog.format.count())]
    assert offered == format_names()
    assert {"voc", "coco", "yolo", "nnunet", "masks"} <= set(offered)


def test_export_masks_with_a_broken_file_lists_the_failure(qtbot, dialog, sample_project, tmp_path):
    bad = sample_project / "img_003.json"
    data = json.loads(bad.read_text())
    data["shapes"][0]["points"] = [[1, 1]]            # a polygon with one point
    bad.write_text(json.dumps(data))
    flushed = []
    dialog.flush = lambda: flushed.append(1)
    choose(dialog, "masks", tmp_path / "out")
    with qtbot.waitSignal(dialog.exportFinished, timeout=60_000) as blocker:
        assert dialog.start()
        assert not dialog.export_button.isEnabled() and dialog.cancel_button.isEnabled()
    report = blocker.args[0]
    assert flushed == [1]
    assert report.n_ok == 23 and len(report.failures) == 1
    text = dialog.summary.toPlainText()
    assert "Exported 23 image(s) as masks" in text and "1 failed" in text
    assert "img_003.json" in text
    assert len(list((tmp_path / "out").rglob("*.png"))) >= 23
    assert dialog.progress.value() == dialog.progress.maximum()
    assert dialog.export_button.isEnabled() and not dialog.cancel_button.isEnabled()


def test_refused_target_is_reported(qtbot, dialog, sample_project):
    choose(dialog, "coco", sample_project / "inside")       # inside the source folder: refused by core
    with qtbot.waitSignal(dialog.exportFinished, timeout=60_000) as blocker:
        assert dialog.start()
    assert blocker.args[0] is None
    assert dialog.summary.toPlainText().startswith("Export failed:")
    assert str(sample_project.name) in dialog.summary.toPlainText()


def test_empty_target_is_refused_without_starting(dialog):
    dialog.target.setText("  ")
    assert not dialog.start()
    assert "target folder" in dialog.summary.toPlainText()


def test_cancel_stops_the_export(qtbot, dialog, tmp_path):
    choose(dialog, "voc", tmp_path / "voc")
    with qtbot.waitSignal(dialog.exportFinished, timeout=60_000) as blocker:
        assert dialog.start()
        dialog.cancel()                       # before the first file: core raises Cancelled
    assert blocker.args[0] is None
    assert "cancelled" in dialog.summary.toPlainText()
    assert dialog.export_button.isEnabled()


def test_file_menu_opens_the_dialog_on_the_project(qtbot, sample_project):
    from segstudio.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    assert win.open_project(sample_project)
    file_menu = next(a.menu() for a in win.menuBar().actions() if a.text().replace("&", "") == "File")
    export = win.actions_by_name["export"]
    assert export in file_menu.actions()
    export.trigger()
    dlg = win.findChild(ExportDialog)
    assert dlg.isVisible() and dlg.project is win.project and dlg.flush is not None
    assert dlg.target.text().endswith(f"{win.project.folder.name}_{dlg.format.currentData()}")
    dlg.close()


def test_default_target_follows_the_format_until_the_user_edits_it(dialog, sample_project, tmp_path):
    def default(fmt):
        return str(sample_project.parent / f"{sample_project.name}_{fmt}")

    assert dialog.target.text() == default(dialog.format.currentData())
    for fmt in ("coco", "yolo", "voc"):
        dialog.format.setCurrentIndex(dialog.format.findData(fmt))
        assert dialog.target.text() == default(fmt)
    own = str(tmp_path / "my_export")
    dialog.target.setText(own)                          # typed (or browsed to) by the user
    dialog.format.setCurrentIndex(dialog.format.findData("nnunet"))
    assert dialog.target.text() == own                  # kept
    dialog.target.setText(default("nnunet"))            # back to the default: it follows the format again
    dialog.format.setCurrentIndex(dialog.format.findData("masks"))
    assert dialog.target.text() == default("masks")
