"""Experiments in the app: the window extension ``install(session, services)`` adds the Experiments dock (plan a
grid of training runs, run its queue in the background, compare the runs) and an Experiments menu.

See docs/gui.md ("Experiments") and docs/experiments.md.  The dock works standalone too
(``ExperimentsDock(project)`` makes its own session).
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QMessageBox

from segstudio.gui.experiments.dock import ExperimentsDock

__all__ = ["ExperimentsDock", "QueueCloseGuard", "install"]


class QueueCloseGuard(QObject):
    """Event filter on the main window: closing while an experiment queue runs asks first; on "Stop and close"
    the current run is cancelled (it saves last.pt: Resume continues it) and the window closes once the queue's
    worker has ended.  ``ask`` can be replaced (tests)."""

    def __init__(self, window, dock: ExperimentsDock):
        super().__init__(window)
        self.window, self.dock = window, dock
        self.ask = self._ask
        self._closing = False
        window.installEventFilter(self)
        dock.runner.runningChanged.connect(self._on_running)

    def _ask(self) -> bool:
        box = QMessageBox(QMessageBox.Question, "Experiment in progress",
                          "An experiment queue is running. Stop its current run (it is kept: Resume continues it "
                          "from its last checkpoint) and close?", QMessageBox.Yes | QMessageBox.No, self.window)
        box.button(QMessageBox.Yes).setText("Stop and close")
        box.setDefaultButton(QMessageBox.No)
        return box.exec() == QMessageBox.Yes

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if obj is self.window and event.type() == QEvent.Close and self.dock.running:
            if self._closing or self.ask():
                self._closing = True
                self.dock.cancel()
            event.ignore()
            return True
        return False

    def _on_running(self, running: bool) -> None:
        if not running and self._closing:
            self._closing = False
            self.window.close()


def install(session, services) -> ExperimentsDock:
    """Window extension: the Experiments dock (below the canvas, tabbed with Training and Review, hidden until
    shown) and an Experiments menu."""
    dock = ExperimentsDock(session=session, parent=services.window)
    services.add_dock("experiments", dock, Qt.BottomDockWidgetArea)
    menu = services.add_menu("E&xperiments")

    def show() -> None:
        services.show_panel("experiments")

    services.add_menu_action(menu, "Show Experiments panel", show, name="show_experiments")
    menu.addSeparator()
    # the object name is the entry's icon (gui/icons.py ICONS)
    for text, slot, icon in (("Open plan...", dock.open_plan, "open_file"), ("Save plan...", dock.save_plan, "save"),
                             ("Open experiment...", dock.open_experiment, "open_folder"),
                             ("Start queue", dock.start, "train"), ("Cancel current run", dock.cancel, "stop"),
                             ("Resume queue", dock.resume, "resume")):
        services.add_menu_action(menu, text, lambda s=slot: (show(), s())).setObjectName(icon)
    dock.close_guard = QueueCloseGuard(services.window, dock)
    services.on_quit(dock.shutdown)   # a queue still running when the app quits another way: stopped, resumable
    return dock
