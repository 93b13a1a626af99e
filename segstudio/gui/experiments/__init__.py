"""Experiments in the app: the window extension ``install(session, services)`` adds the Experiments dock (plan a
grid of training runs, run its queue in the background, compare the runs) and an Experiments menu.

See docs/gui.md ("Experiments") and docs/experiments.md.  The dock works standalone too
(``ExperimentsDock(project)`` makes its own session).
"""
from __future__ import annotations

from PySide6.QtCore import Qt

from segstudio.gui.experiments.dock import ExperimentsDock

__all__ = ["ExperimentsDock", "install"]


def install(session, services) -> ExperimentsDock:
    """Window extension: the Experiments dock (below the canvas, tabbed with Training and Review, hidden until
    shown) and an Experiments menu."""
    dock = ExperimentsDock(session=session, parent=services.window)
    services.add_dock("experiments", dock, Qt.BottomDockWidgetArea)
    menu = services.add_menu("E&xperiments")
    window = services.window

    def show() -> None:
        if hasattr(window, "show_panel"):
            window.show_panel("experiments")
        else:
            dock.show()
            dock.raise_()

    services.add_menu_action(menu, "Show Experiments panel", show, name="show_experiments")
    menu.addSeparator()
    # the object name is the entry's icon (gui/icons.py ICONS)
    for text, slot, icon in (("Open plan...", dock.open_plan, "open_file"), ("Save plan...", dock.save_plan, "save"),
                             ("Open experiment...", dock.open_experiment, "open_folder"),
                             ("Start queue", dock.start, "train"), ("Cancel current run", dock.cancel, "stop"),
                             ("Resume queue", dock.resume, "resume")):
        services.add_menu_action(menu, text, lambda s=slot: (show(), s())).setObjectName(icon)
    services.on_quit(dock.shutdown)   # a queue still running when the app quits: its run stops, resumable
    return dock
