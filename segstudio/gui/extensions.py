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
