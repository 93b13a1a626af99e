"""Start the desktop app: ``run_app(path)`` (used by ``segstudio gui`` and ``segstudio`` without arguments)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from segstudio.gui.settings import APPLICATION, ORGANIZATION


_PROBE = "from PySide6.QtGui import QGuiApplication; QGuiApplication(['segstudio-probe'])"
NO_DISPLAY_ADVICE = (
    "Run segstudio from a desktop session, use `xvfb-run -a segstudio gui ...` for a virtual display, or use "
    "the command-line tools (`segstudio --help`)."
)


def display_problem(probe: bool = True) -> str | None:
    """Why no window can be shown here, or None when a display is available.

    Qt *aborts the process* when it cannot reach a display or load its platform plugin, so this is checked
    before any QApplication exists: first the environment, then (``probe``) a throw-away subprocess that
    starts a QGuiApplication and reports what Qt said.
    """
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.split(":")[0] in ("offscreen", "minimal", "vnc", "eglfs", "linuxfb"):
        return None
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            return f"no display available: DISPLAY and WAYLAND_DISPLAY are unset. {NO_DISPLAY_ADVICE}"
    if not probe:
        return None
    from segstudio.version import self_command  # the bundle's executable is segstudio itself, not python

    try:
        r = subprocess.run(self_command("doctor", "--qt-probe"), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot check the display ({exc}). {NO_DISPLAY_ADVICE}"
    if r.returncode != 0:
        lines = [ln.strip() for ln in (r.stderr or "").splitlines() if ln.strip() and "Available platform" not in ln]
        connect = [ln for ln in lines if "could not connect" in ln]
        why = "; ".join(connect or lines[:2]) or f"Qt exited with code {r.returncode}"
        return f"no usable display: {why}. {NO_DISPLAY_ADVICE}"
    return None


def make_app(argv=None):
    """The QApplication (created once), with the organisation/app names QSettings uses."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv) if argv is not None else [sys.argv[0]])
        app.setOrganizationName(ORGANIZATION)
        app.setApplicationName(APPLICATION)
        from segstudio.gui.branding import setup_application

        setup_application(app)  # window icon, crash dialog + rotating log file (gui/crash.py)
    return app


def run_app(path=None, argv=None) -> int:
    """Open the main window on ``path`` (folder, segstudio.json, image or JSON), else the last project or
    the welcome page; run the event loop and return its exit code."""
    app = make_app(argv)
    from segstudio.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    from segstudio.gui.first_frame import watch_first_frame

    watch_first_frame(window)  # SEGSTUDIO_REPORT_FIRST_FRAME / SEGSTUDIO_QUIT_AFTER_FIRST_FRAME
    if path is not None:
        window.open_path(Path(path))
    else:
        last = window.settings.last_project()
        if last and Path(last).is_dir():
            window.open_path(last)
    return int(app.exec())
