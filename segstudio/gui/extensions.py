"""Window extensions: the one way a part of the window (training, review, export) or a plugin adds docks and menus.

An extension is a callable ``install(session, services)`` registered in
:data:`segstudio.core.session.WINDOW_EXTENSIONS`:

* ``session`` (:class:`segstudio.core.session.Session`) is the model the window shows: the project, the
  current image and its document, the classes with their colours, the chosen checkpoint, and their events;
* ``services`` (:class:`WindowServices`) is the window's small GUI API: ``add_dock``, ``add_menu``,
  ``add_menu_action``, ``action``, ``add_action``, ``show_panel``, ``canvas``, ``status``, ``open_image``,
  ``refresh_statuses``, ``on_quit`` and
  ``window`` (the parent for dialogs and event filters).

The built-in extensions are registered below (each imports its module only when installed); a plugin
registers its own from its ``segstudio.plugins`` entry point::

    from segstudio.core.session import WINDOW_EXTENSIONS

    @WINDOW_EXTENSIONS.register("my-dock")
    def install(session, services):
        from my_plugin.dock import MyDock      # Qt is imported here, not at registration
        services.add_dock("my-dock", MyDock(session))

The window installs every registered extension once, in registration order; one that raises is reported in
the status bar and never stops the app.
"""
from __future__ import annotations

import importlib
from typing import Callable, Optional

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenu, QScrollArea, QToolBar

from segstudio.core import registry
from segstudio.core.registry import load_plugins
from segstudio.core.session import WINDOW_EXTENSIONS

#: built-in extensions: (name, module with ``install(session, services)``), installed in this order
BUILTIN_EXTENSIONS = (
    ("export", "segstudio.gui.export_dialog"),
    ("training", "segstudio.gui.training"),
    ("review", "segstudio.gui.review"),
    ("experiments", "segstudio.gui.experiments"),  # plan a grid of runs, queue them, compare (docs/gui.md)
    ("assist", "segstudio.gui.assist_panel"),
    ("suggest", "segstudio.gui.suggest_panel"),    # active learning: rank images, Next suggested (Ctrl+J)
    ("medical", "segstudio.gui.medical_slices"),   # DICOM / NIfTI: slice slider, window presets
)


def _lazy(module: str) -> Callable:
    def install(session, services):
        return importlib.import_module(module).install(session, services)

    install.__qualname__ = f"install[{module}]"
    return install


for _name, _module in BUILTIN_EXTENSIONS:
    WINDOW_EXTENSIONS.register(_name)(_lazy(_module))


class WindowServices:
    """What an extension may do to the window (it never reaches into the window's attributes)."""

    def __init__(self, window):
        self.window = window
        self.extension_docks: dict[str, QDockWidget] = {}

    def add_dock(self, key: str, dock: QDockWidget, area=Qt.RightDockWidgetArea) -> QDockWidget:
        """Add ``dock``; right-side docks become tabs beside the window's panels.  It is ``window.docks[key]``
        afterwards."""
        if not dock.objectName():
            dock.setObjectName(f"dock_{key}")
        self.window.addDockWidget(area, dock)
        self.window.docks[key] = dock
        self.extension_docks[key] = dock
        return dock

    def add_menu(self, title: str) -> QMenu:
        """The menu-bar menu called ``title`` ("&" ignored), created at the end of the bar when absent."""
        bar = self.window.menuBar()
        plain = title.replace("&", "")
        for act in bar.actions():
            if act.menu() is not None and act.text().replace("&", "") == plain:
                return act.menu()
        return bar.addMenu(title)

    def add_menu_action(self, menu: str | QMenu, text: str, slot: Callable[[], object],
                        shortcut: Optional[str] = None, *, name: Optional[str] = None) -> QAction:
        """Add an action to ``menu`` (a title or a QMenu); ``name`` makes it ``action(name)`` (and
        ``window.actions_by_name[name]``)."""
        menu = self.add_menu(menu) if isinstance(menu, str) else menu
        act = QAction(text, self.window)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(lambda _=False: slot())
        menu.addAction(act)
        if name:
            self.window.actions_by_name[name] = act
        return act

    def action(self, name: str) -> Optional[QAction]:
        """A named action of the window or of an extension installed before, or None."""
        return self.window.actions_by_name.get(name)

    def add_action(self, name: str, action: QAction, *, toolbar: bool = False) -> QAction:
        """Make an extension's own ``action`` ``action(name)``; ``toolbar``: also on the window's tools bar."""
        self.window.actions_by_name[name] = action
        bar = getattr(self.window, "toolbar", None)
        if toolbar and bar is not None:
            bar.addAction(action)
        return action

    def add_tool_action(self, name: str, action: QAction) -> QAction:
        """A canvas tool's checkable ``action``: exclusive with the window's tools (their action group), kept
        checked with the canvas's tool and themed with them (``window.tool_actions``), and ``action(name)``."""
        group = getattr(self.window, "tool_group", None)
        if group is None:   # a window without tools of its own: the extensions' tools exclude each other
            group = self._tool_group = getattr(self, "_tool_group", None) or QActionGroup(self.window)
        group.addAction(action)
        tools = getattr(self.window, "tool_actions", None)
        if tools is not None:
            tools[name] = action
        return self.add_action(name, action)

    def add_toolbar(self, key: str, title: str) -> QToolBar:
        """A new tool bar ``title`` (object name ``toolbar_<key>``, so that the window's layout is saved)."""
        bar = self.window.addToolBar(title)
        bar.setObjectName(f"toolbar_{key}")
        return bar

    def publish(self, name: str, obj) -> None:
        """Make an extension's object ``window.<name>`` for scripts and tests (e.g. the assist controller); a
        name the window already has (its own attributes, or another extension's) raises ValueError."""
        if hasattr(self.window, name):
            raise ValueError(f"the window already has {name!r}: an extension may not replace it")
        setattr(self.window, name, obj)

    @property
    def canvas(self):
        """The annotation canvas (an extension may draw a layer on it, e.g. the review overlay)."""
        return self.window.canvas

    def show_panel(self, key: str) -> bool:
        """Show the dock ``key`` on top of its tab group (False when there is no such dock)."""
        show = getattr(self.window, "show_panel", None)
        if show is not None:
            return bool(show(key))
        dock = self.window.docks.get(key)
        if dock is None:
            return False
        dock.show()
        dock.raise_()
        return True

    def status(self, text: str, error: bool = False) -> None:
        self.window.show_message(text, error=error)

    def open_image(self, entry) -> bool:
        """Show ``entry`` in the window (its unsaved edits of the previous image are saved first)."""
        return self.window.open_image(entry)

    def refresh_statuses(self, entries=None) -> None:
        """Re-read the status of ``entries`` (all when None) in the images list."""
        self.window.refresh_statuses(entries)

    def on_quit(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` when the application quits (e.g. to stop a worker thread cleanly)."""
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(callback)


def install_extensions(session, services: WindowServices, names=None) -> list[str]:
    """Install the registered window extensions (``names``: only those); returns "name: problem" for each
    that failed, after the plugins that failed to load (``segstudio plugins`` lists them too)."""
    load_plugins()
    errors: list[str] = [f"plugin {problem}" for problem in registry.plugin_errors]
    for name, install in list(WINDOW_EXTENSIONS.entries.items()):
        if names is not None and name not in names:
            continue
        try:
            install(session, services)
        except Exception as exc:  # a broken extension must not stop the app
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
    return errors


def arrange_extension_docks(window, anchor, extension_docks) -> None:
    """Right-side extension docks become tabs beside ``anchor`` (the canvas keeps its room), each wrapped in a
    scroll area so that a tall or wide extension never forces the window's minimum size."""
    ext = [d for d in extension_docks if window.dockWidgetArea(d) == Qt.RightDockWidgetArea]
    for dock in ext:
        body = dock.widget()
        if body is not None and not isinstance(body, QScrollArea):
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.NoFrame)
            scroll.setWidget(body)
            dock.setWidget(scroll)
    if ext:  # moving a dock that is already in a tab group fails: move ours into theirs
        group = ext[0]
        for dock in ext[1:]:
            if dock not in window.tabifiedDockWidgets(group):
                window.tabifyDockWidget(group, dock)
        window.tabifyDockWidget(group, anchor)
    anchor.raise_()
