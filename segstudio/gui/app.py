"""Start the desktop app: ``run_app(path)`` (used by ``segstudio gui`` and ``segstudio`` without arguments)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from segstudio.gui.settings import APPLICATION, ORGANIZATION


def display_problem() -> str | None:
    """Why no window can be shown here, or None when a display looks available.

    Qt aborts the whole process when it cannot reach a display, so this is checked before QApplication.
    """
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.split(":")[0] in ("offscreen", "minimal", "vnc", "eglfs", "linuxfb"):
        return None
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            return (
                "no display available: DISPLAY and WAYLAND_DISPLAY are unset. Run segstudio from a desktop "
                "session, use `xvfb-run segstudio gui ...` for a virtual display, or use the command-line "
                "tools (`segstudio --help`)."
            )
    return None


def make_app(argv=None):
    """The QApplication (created once), with the organisation/app names QSettings uses."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv) if argv is not None else [sys.argv[0]])
        app.setOrganizationName(ORGANIZATION)
        app.setApplicationName(APPLICATION)
    return app


def run_app(path=None, argv=None) -> int:
    """Open the main window on ``path`` (folder, segstudio.json, image or JSON), else the last project or
    the welcome page; run the event loop and return its exit code."""
    app = make_app(argv)
    from segstudio.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    if path is not None:
        window.open_path(Path(path))
    else:
        last = window.settings.last_project()
        if last and Path(last).is_dir():
            window.open_path(last)
    return int(app.exec())
