"""Garbage collection happens on the GUI thread only once background threads run (segstudio.gui.gc_guard)."""
from __future__ import annotations

import gc
import threading

import pytest

pytest.importorskip("pytestqt")

from segstudio.gui import gc_guard  # noqa: E402
from segstudio.gui.workers import Worker  # noqa: E402


class _Cycle:
    def __init__(self):
        self.me = self


@pytest.fixture
def collections():
    """Records the thread of every collection Python starts."""
    seen: list[str] = []

    def record(phase, info):
        if phase == "start":
            seen.append(threading.current_thread().name)

    gc.callbacks.append(record)
    yield seen
    gc.callbacks.remove(record)


def test_worker_garbage_is_collected_on_the_gui_thread(qtbot, collections):
    gc_guard.uninstall()  # start from Python's automatic collector
    assert gc.isenabled()

    def work(emit, cancel):
        for _ in range(20 * gc.get_threshold()[0]):  # far past generation 0's threshold
            _Cycle()
        return "done"

    w = Worker(work)
    with qtbot.waitSignal(w.done, timeout=30000):
        w.start()
    assert w.outcome == "ok"
    assert gc_guard.installed() and not gc.isenabled()
    main = threading.main_thread().name
    qtbot.waitUntil(lambda: main in collections, timeout=5000)  # the GUI-thread timer collected the cycles
    assert set(collections) == {main}, collections
    assert not gc.garbage


def test_collect_due_follows_the_generation_thresholds(qtbot):
    assert gc_guard.install()
    collector = gc_guard._collector
    gc.collect()
    assert collector.collect_due() == 0  # nothing due right after a full collection
    for _ in range(gc.get_threshold()[0] + 10):
        _Cycle()
    assert collector.collect_due() > 0  # generation 0 was due, and the cycles were freed


def test_uninstall_restores_the_automatic_collector(qtbot):
    assert gc_guard.install() and not gc.isenabled()
    gc_guard.uninstall()
    assert gc.isenabled() and not gc_guard.installed()
    assert gc_guard.install()  # and it can be installed again
