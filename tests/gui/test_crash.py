"""Crash reports: an exception in a slot shows the dialog, Copy fills the clipboard, the log file has it and
rotates, and the app keeps running."""
from __future__ import annotations

import logging
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QPushButton

from segstudio.gui import crash

# pytest-qt would otherwise catch the exceptions of slots itself (and fail the test)
pytestmark = pytest.mark.qt_no_exception_capture


@pytest.fixture
def handler(qapp, tmp_path, monkeypatch):
    monkeypatch.setattr(crash, "_handler", None)
    h = crash.install_crash_handler(qapp, tmp_path / "logs", fault_log=False)
    yield h
    h.uninstall()
    if h.dialog is not None:
        h.dialog.close()
    for fh in [x for x in crash.log.handlers if isinstance(x, logging.handlers.RotatingFileHandler)]:
        crash.log.removeHandler(fh)
        fh.close()


def _failing_button(qtbot, message):
    clicks = []

    def slot():
        clicks.append(1)
        raise RuntimeError(message)

    button = QPushButton("Do it")
    button.clicked.connect(slot)
    qtbot.addWidget(button)
    button.show()
    return button, clicks


def test_exception_in_a_slot_shows_the_dialog_and_is_logged(handler, qtbot, tmp_path):
    button, clicks = _failing_button(qtbot, "boom-4711")
    qtbot.mouseClick(button, Qt.LeftButton)
    qtbot.waitUntil(lambda: handler.dialog is not None and handler.dialog.isVisible())
    dialog = handler.dialog
    details = dialog.details.toPlainText()
    assert "RuntimeError: boom-4711" in details and "in slot" in details  # the traceback, not just the message
    log_file = tmp_path / "logs" / "segstudio.log"
    assert str(log_file) in dialog.log_label.text()
    assert "boom-4711" in log_file.read_text()
    assert "Traceback" in log_file.read_text()

    QGuiApplication.clipboard().clear()
    qtbot.mouseClick(dialog.copy_button, Qt.LeftButton)
    copied = QGuiApplication.clipboard().text()
    assert copied.startswith("segstudio ") and "RuntimeError: boom-4711" in copied

    # the app runs on: the button still works, the next error joins the open dialog
    qtbot.mouseClick(button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.count == 2)
    assert clicks == [1, 1]
    assert handler.dialog is dialog and "2 unexpected errors" in dialog.intro.text()


def test_exception_on_a_worker_thread_reaches_the_dialog(handler, qtbot):
    t = threading.Thread(target=lambda: 1 / 0, name="worker-x")
    t.start()
    t.join()
    qtbot.waitUntil(lambda: handler.dialog is not None and handler.dialog.isVisible())
    assert "ZeroDivisionError" in handler.dialog.details.toPlainText()


def test_the_log_file_rotates(handler, monkeypatch, tmp_path):
    folder = tmp_path / "small"
    monkeypatch.setattr(crash, "LOG_MAX_BYTES", 2000)
    path = crash.setup_logging(folder)
    for i in range(200):
        crash.log.info("line %d %s", i, "x" * 40)
    assert path.exists() and path.stat().st_size <= 2000
    backups = sorted(p.name for p in folder.glob("segstudio.log.*"))
    assert backups == [f"segstudio.log.{i}" for i in range(1, crash.LOG_BACKUPS + 1)]
    assert "line 199" in path.read_text()


def test_setup_logging_is_idempotent(handler, tmp_path):
    before = len(crash.log.handlers)
    crash.setup_logging(tmp_path / "logs")
    assert len(crash.log.handlers) == before
