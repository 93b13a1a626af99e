"""The moment the main window has painted its first frame: start-up measurement and the bundle's smoke test.

Two environment variables (read once, by gui/app.py's ``run_app``):

* ``SEGSTUDIO_REPORT_FIRST_FRAME=1`` prints ``segstudio: first frame after N.NNN s`` to stderr when the window
  has painted for the first time (N counted from the process start); benchmarks/startup.py reads that line.
* ``SEGSTUDIO_QUIT_AFTER_FIRST_FRAME=1`` closes the window and leaves the event loop right after that first
  frame (exit status 0): how ``make installer-test`` opens the GUI of the bundle offscreen and closes it.
"""
from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer

REPORT_ENV = "SEGSTUDIO_REPORT_FIRST_FRAME"
QUIT_ENV = "SEGSTUDIO_QUIT_AFTER_FIRST_FRAME"
MARKER = "segstudio: first frame after"


def process_age_s() -> float:
    """Seconds since this process started (Linux: /proc; elsewhere: since this module was imported)."""
    try:
        with open("/proc/self/stat", "rb") as f:
            start_ticks = int(f.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED


_IMPORTED = time.monotonic()


class FirstFrameWatcher(QObject):
    """Event filter on the window: reacts to its first Paint event once, then removes itself."""

    def __init__(self, window, *, report: bool, quit_after: bool):
        super().__init__(window)
        self.window = window
        self.report = report
        self.quit_after = quit_after
        self.seconds: float | None = None
        window.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if obj is self.window and event.type() == QEvent.Paint and self.seconds is None:
            self.seconds = process_age_s()
            self.window.removeEventFilter(self)
            if self.report:
                print(f"{MARKER} {self.seconds:.3f} s", file=sys.stderr, flush=True)
            if self.quit_after:
                QTimer.singleShot(0, self._quit)
        return False

    def _quit(self) -> None:
        from PySide6.QtWidgets import QApplication

        self.window.close()
        QApplication.instance().quit()


def watch_first_frame(window) -> FirstFrameWatcher | None:
    """Install the watcher when one of the two environment variables asks for it."""
    report = os.environ.get(REPORT_ENV) == "1"
    quit_after = os.environ.get(QUIT_ENV) == "1"
    if not (report or quit_after):
        return None
    return FirstFrameWatcher(window, report=report, quit_after=quit_after)
