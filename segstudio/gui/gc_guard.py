"""Python's cyclic garbage collector runs on the GUI thread only, once background threads exist.

Automatic collection runs in whichever thread happens to allocate past the threshold.  When that is a worker
thread (training, prediction, the autosave writer) and the garbage holds Qt objects - a closed dialog or an
old widget caught in a reference cycle - their C++ destructors run off the GUI thread.  Qt forbids that, and
with PySide6 6.12 it was seen to deadlock: the worker, inside ``gc``, waits in Shiboken for a lock the GUI
thread holds while the GUI thread waits for the worker's signal.

:func:`install` (called before any segstudio background thread starts) turns automatic collection off and
collects from a timer on the GUI thread instead, generation by generation with Python's own thresholds, so the
same garbage is freed about as often, always on the GUI thread.  Idempotent; :func:`uninstall` restores the
automatic collector (tests).
"""
from __future__ import annotations

import gc
from typing import Optional

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer

INTERVAL_MS = 100


class _MainThreadCollector(QObject):
    def __init__(self, app: QCoreApplication):
        super().__init__(app)
        self.thresholds = gc.get_threshold()
        self.collections = 0
        self.timer = QTimer(self)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self.collect_due)
        self.timer.start()

    def collect_due(self) -> int:
        """Collect the generations whose counts passed their thresholds (as the automatic collector would)."""
        t0, t1, t2 = self.thresholds
        c0, c1, c2 = gc.get_count()
        generation = -1
        if c0 > t0:
            generation = 0
            if c1 > t1:
                generation = 1
                if c2 > t2:
                    generation = 2
        if generation < 0:
            return 0
        self.collections += 1
        return gc.collect(generation)


_collector: Optional[_MainThreadCollector] = None


def install() -> bool:
    """Switch to GUI-thread-only collection; True when it is in force.  Call it from the GUI thread, with a
    Q(Core)Application; without one (no event loop to collect from) nothing changes and False is returned."""
    global _collector
    if _collector is not None:
        return True
    app = QCoreApplication.instance()
    if app is None or QThread.currentThread() is not app.thread():
        return False
    _collector = _MainThreadCollector(app)
    _collector.destroyed.connect(_forget)
    gc.disable()
    return True


def installed() -> bool:
    return _collector is not None


def uninstall() -> None:
    """Back to Python's automatic collector (collecting once first, on this thread)."""
    global _collector
    if _collector is not None:
        _collector.timer.stop()
        _collector.destroyed.disconnect(_forget)
        _collector.deleteLater()
        _collector = None
    gc.enable()
    gc.collect()


def _forget(*_args) -> None:  # the application object went away: nothing left to collect from
    global _collector
    _collector = None
    gc.enable()
