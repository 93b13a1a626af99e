"""Training in the app: ``install(window)`` adds the training dock, a Training menu and a close guard.

See docs/train_review.md.  The dock works standalone too (``TrainingDock(project, document)``).
"""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import QMessageBox

from segstudio.gui.training.dock import TrainingDock

__all__ = ["TrainingDock", "install", "CloseGuard"]


class CloseGuard(QObject):
    """Event filter on the main window: closing while training asks first, then stops cleanly.

    On "Stop and close" the close is deferred: training is asked to stop after the current batch (last.pt is
    written) and the window closes itself when the worker thread has ended.  ``ask`` can be replaced (tests).
    """

    def __init__(self, window, dock: TrainingDock):
        super().__init__(window)
        self.window = window
        self.dock = dock
        self.ask = self._ask
        self._closing = False
        window.installEventFilter(self)
        dock.controller.runningChanged.connect(self._on_running)

    def _ask(self) -> bool:
        box = QMessageBox(QMessageBox.Question, "Training in progress",
                          "A model is being trained. Stop the training (last.pt is kept, Resume continues it) "
                          "and close?", QMessageBox.Yes | QMessageBox.No, self.window)
        box.button(QMessageBox.Yes).setText("Stop and close")
        box.setDefaultButton(QMessageBox.No)
        return box.exec() == QMessageBox.Yes

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if obj is self.window and event.type() == QEvent.Close and self.dock.running:
            if self._closing or self.ask():
                self._closing = True
                self.dock.stop_training()
            event.ignore()
            return True
        return False

    def _on_running(self, running: bool) -> None:
        if not running and self._closing:
            self._closing = False
            self.window.close()


def _sync_project(window, dock: TrainingDock) -> None:
    project = getattr(window, "project", None)
    if project is not dock.project:
        dock.set_project(project)
    dock.document = getattr(window, "document", None)


def install(window) -> TrainingDock:
    """Add the training dock (right side), a Training menu and the close guard to the main window."""
    dock = TrainingDock(getattr(window, "project", None), getattr(window, "document", None), window)
    # the window tabs extension docks beside its own on the right; the dock lays itself out in a column
    # there and side by side when the user drags it to the bottom or floats it wide
    window.addDockWidget(Qt.RightDockWidgetArea, dock)
    window.training_dock = dock
    autosaver = getattr(window, "autosaver", None)
    if autosaver is not None:
        dock.flush = autosaver.flush   # save the open image's edits before training reads the files
    window.currentImageChanged.connect(lambda _entry: _sync_project(window, dock))
    for name in ("projectChanged", "projectOpened"):
        sig = getattr(window, name, None)
        if sig is not None and hasattr(sig, "connect"):
            sig.connect(lambda *_: _sync_project(window, dock))
    menu = window.menuBar().addMenu("&Training")
    menu.addAction(dock.toggleViewAction())
    act = menu.addAction("Train")
    act.triggered.connect(lambda: dock.start_training())
    act = menu.addAction("Stop")
    act.triggered.connect(dock.stop_training)
    act = menu.addAction("Resume last run")
    act.triggered.connect(lambda: dock.resume_training())
    window.training_close_guard = CloseGuard(window, dock)
    app = QCoreApplication.instance()
    if app is not None:   # quitting another way (Ctrl+Q with the guard bypassed, session end): stop cleanly
        app.aboutToQuit.connect(dock.shutdown)
    return dock
