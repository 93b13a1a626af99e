"""Training in the app: the window extension ``install(session, services)`` adds the training dock, a Training
menu and a close guard (see gui/extensions.py).

See docs/train_review.md.  The dock works standalone too (``TrainingDock(project, document)`` makes its own
session).
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
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


def install(session, services) -> TrainingDock:
    """Window extension: the training dock (right side), a Training menu and the close guard."""
    dock = TrainingDock(session=session, parent=services.window)
    # below the canvas, tabbed with Review and hidden until the toolbar's Training button shows it: wide, so
    # settings | curves | runs sit side by side (in a narrow column, dragged to the right, they stack)
    services.add_dock("training", dock, Qt.BottomDockWidgetArea)
    menu = services.add_menu("&Training")
    menu.addAction(dock.toggleViewAction())
    services.add_menu_action(menu, "Train", dock.start_training)
    services.add_menu_action(menu, "Stop", dock.stop_training)
    services.add_menu_action(menu, "Resume last run", dock.resume_training)
    dock.reviewRequested.connect(lambda: services.show_panel("review"))
    dock.close_guard = CloseGuard(services.window, dock)
    services.on_quit(dock.shutdown)   # quitting another way (guard bypassed, session end): stop cleanly
    return dock
