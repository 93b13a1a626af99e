"""Optional parts of the window (training, review...) installed after the window has built itself.

Each name in :data:`EXTENSIONS` is a module; when it exists and has ``install(window)``, the window calls
it once.  An extension uses only the window's public API (``project``, ``document``, ``canvas``,
``currentImageChanged``, ``projectOpened``, ``open_project``, ``open_image``, ``refresh_statuses``,
``label_colors``, ``menuBar()``, ``addDockWidget``...).  A missing module is skipped (that part is not built
in this checkout); one that fails is reported in the status bar and never stops the app.
"""
from __future__ import annotations

import importlib

#: module names, installed in this order
EXTENSIONS: list[str] = [
    "segstudio.gui.training",
    "segstudio.gui.review",
]


def install_extensions(window, names=None) -> list[str]:
    """Install every available extension; returns "module: problem" for each that failed."""
    errors: list[str] = []
    for name in EXTENSIONS if names is None else names:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
                continue  # not built in this checkout
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        except Exception as exc:  # a broken extension must not stop the app
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        install = getattr(module, "install", None)
        if install is None:
            continue  # a package without a window extension (yet)
        try:
            install(window)
        except Exception as exc:
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
    return errors


def arrange_extension_docks(window, anchor, own_docks) -> None:
    """Right-side extension docks become tabs beside ``anchor`` (the canvas keeps its room), each wrapped in a
    scroll area so that a tall or wide extension never forces the window's minimum size."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDockWidget, QScrollArea

    ext = [d for d in window.findChildren(QDockWidget)
           if d not in own_docks and window.dockWidgetArea(d) == Qt.RightDockWidgetArea]
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
