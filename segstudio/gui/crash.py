"""Crash reports: an unhandled exception shows a dialog (traceback, Copy, the log file) and the app runs on.

:func:`install_crash_handler` (called by ``gui/app.py`` when the QApplication is made) sets up a rotating log
file in the user log folder (:func:`segstudio.version.log_dir`, ``SEGSTUDIO_LOG_DIR`` overrides) and replaces
``sys.excepthook`` / ``threading.excepthook``.  PySide6 reports an exception raised in a slot or an event
handler through ``sys.excepthook`` and carries on, so the window stays usable; the handler writes the
traceback to the log and shows :class:`CrashDialog`.  Exceptions raised on a worker thread reach the dialog
through a queued signal (widgets live on the GUI thread only).  While a dialog is open, further errors are
added to it instead of opening one dialog per error.  ``faulthandler`` writes hard crashes (segfaults) to
``faults.log`` in the same folder.
"""
from __future__ import annotations

import faulthandler
import logging
import logging.handlers
import sys
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QApplication, QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout,
)

LOG_NAME = "segstudio.log"
LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 5
log = logging.getLogger("segstudio")


def setup_logging(folder: Path | None = None) -> Path:
    """Log ``segstudio.*`` records to ``<folder>/segstudio.log``, rotated at 1 MB with 5 old files kept.

    Idempotent per file; returns the log file's path.
    """
    from segstudio.version import log_dir, version_line

    folder = Path(folder) if folder is not None else log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_NAME
    for h in log.handlers:
        if isinstance(h, logging.handlers.RotatingFileHandler) and Path(h.baseFilename) == path.resolve():
            return path
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS,
                                                   encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    if log.level == logging.NOTSET or log.level > logging.INFO:
        log.setLevel(logging.INFO)
    log.info("started: %s", version_line())
    return path


class CrashDialog(QDialog):
    """The traceback, a Copy button, the log file's path and a button that opens its folder."""

    def __init__(self, report: str, log_path: Path | None, parent=None):
        super().__init__(parent)
        self.setObjectName("crashDialog")
        self.setWindowTitle("segstudio: unexpected error")
        self.log_path = log_path
        self.count = 0
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.NoWrap)
        where = (f"It was written to the log file <b>{log_path}</b>." if log_path
                 else "The log file could not be written.")
        self.log_label = QLabel(f"{where} Please copy the details into a bug report.")
        self.log_label.setWordWrap(True)
        self.log_label.setObjectName("crashLogPath")
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.copy_button = QPushButton("&Copy details")
        self.copy_button.setToolTip("Copy the error, the traceback and the versions to the clipboard")
        buttons.addButton(self.copy_button, QDialogButtonBox.ActionRole)
        self.copy_button.clicked.connect(self.copy)
        self.folder_button = QPushButton("Open &log folder")
        self.folder_button.setEnabled(log_path is not None)
        buttons.addButton(self.folder_button, QDialogButtonBox.ActionRole)
        self.folder_button.clicked.connect(self.open_log_folder)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.details, 1)
        layout.addWidget(self.log_label)
        layout.addWidget(buttons)
        self.resize(760, 460)
        self.add(report)

    def add(self, report: str) -> None:
        self.count += 1
        sep = "\n" + "-" * 72 + "\n" if self.details.toPlainText() else ""
        self.details.setPlainText(self.details.toPlainText() + sep + report)
        errors = "An unexpected error" if self.count == 1 else f"{self.count} unexpected errors"
        self.intro.setText(f"<b>{errors} happened.</b> segstudio keeps running: your annotations are saved "
                           "automatically, but the last action may not have finished. If something looks "
                           "wrong, save and restart the app.")

    def text(self) -> str:
        from segstudio.version import version_line

        return f"{version_line()}\n\n{self.details.toPlainText()}"

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text())

    def open_log_folder(self) -> None:
        if self.log_path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.log_path.parent)))


class CrashHandler(QObject):
    """Receives every unhandled exception (any thread) and shows it on the GUI thread."""

    reported = Signal(str)  # the formatted traceback; queued to the GUI thread

    def __init__(self, log_path: Path | None, parent=None):
        super().__init__(parent)
        self.log_path = log_path
        self.dialog: CrashDialog | None = None
        self.reports: list[str] = []
        self._previous_hook = sys.excepthook
        self._previous_thread_hook = threading.excepthook
        self.reported.connect(self._show)

    def install(self) -> None:
        sys.excepthook = self.excepthook
        threading.excepthook = self.thread_excepthook

    def uninstall(self) -> None:
        if sys.excepthook == self.excepthook:
            sys.excepthook = self._previous_hook
        if threading.excepthook == self.thread_excepthook:
            threading.excepthook = self._previous_thread_hook

    def excepthook(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            self._previous_hook(exc_type, exc, tb)
            return
        report = "".join(traceback.format_exception(exc_type, exc, tb))
        try:
            log.error("unhandled exception (%s thread):\n%s", threading.current_thread().name, report.rstrip())
        except Exception:  # the log must never turn one error into two
            pass
        print(report, file=sys.stderr, end="")
        self.reported.emit(report)

    def thread_excepthook(self, args) -> None:
        if args.exc_type is SystemExit:
            return
        self.excepthook(args.exc_type, args.exc_value, args.exc_traceback)

    def _show(self, report: str) -> None:
        self.reports.append(report)
        if QApplication.instance() is None:
            return
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.add(report)
            return
        self.dialog = CrashDialog(report, self.log_path, QApplication.activeWindow())
        self.dialog.show()
        self.dialog.raise_()


_handler: CrashHandler | None = None
_fault_file = None


def install_crash_handler(app=None, folder: Path | None = None, *, fault_log: bool = True) -> CrashHandler:
    """Log to ``folder`` (default: the user log folder), show a :class:`CrashDialog` for unhandled exceptions;
    ``fault_log``: also send hard crashes (faulthandler) to ``faults.log`` there.  Once per app and folder."""
    global _handler, _fault_file
    app = app or QApplication.instance()
    try:
        log_path = setup_logging(folder)
    except OSError as exc:
        print(f"segstudio: cannot write the log file ({exc}); errors are shown but not logged", file=sys.stderr)
        log_path = None
    if _handler is not None and _handler.log_path == log_path:
        return _handler
    if _handler is not None:
        _handler.uninstall()
    _handler = CrashHandler(log_path, app)
    _handler.install()
    if fault_log and log_path is not None and _fault_file is None:
        try:
            _fault_file = open(log_path.parent / "faults.log", "a", encoding="utf-8")  # noqa: SIM115 - kept open
            faulthandler.enable(_fault_file)
        except OSError:
            _fault_file = None
    return _handler
