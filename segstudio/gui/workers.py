"""Background workers for the training, review and export docks.

A :class:`Worker` runs ``fn(emit, cancel)`` in its own ``QThread``:

* ``emit(obj)`` sends ``obj`` to the GUI thread through the ``event`` signal (queued connection), so any
  object - a training event, a ``(done, total, message)`` progress tuple - reaches the widgets safely;
* ``cancel()`` returns True once :meth:`Worker.cancel` was called: pass it to core functions as their
  ``cancel=`` argument and they raise :class:`~segstudio.core.errors.Cancelled` at their next safe point.

When ``fn`` returns, ``result(value)`` is emitted; when it raises ``Cancelled``, ``cancelled()``; any other
exception is emitted with ``failed(exc)`` (the traceback text is kept in ``Worker.traceback``).  ``done()``
is always emitted last.  The worker limits torch's intra-op threads while it runs, so the GUI thread keeps a
core for itself (``torch_threads``; default: :func:`segstudio.core.threads.default_threads` with one core
reserved, i.e. the idle cores but one, at least one).

The worker cleans up after itself: its first ``done`` slot waits for the thread to end and, when it has a
parent widget, schedules its deletion; an owner only drops its reference in its own ``done`` slot (where
``outcome``, ``value`` and ``error`` are still readable).  It runs in a low-priority thread (``nice``) with a
short GIL switch interval; see docs/adr/0002-training-worker.md (superqt's workers were not used:
docs/adr/0004-superqt-dropped.md).
"""
from __future__ import annotations

import os
import sys
import threading
import traceback as _traceback
from typing import Any, Callable, Optional

from PySide6.QtCore import QThread, Signal

from segstudio.core.errors import Cancelled
from segstudio.core.threads import default_threads, torch_threads
from segstudio.gui import gc_guard

WorkFn = Callable[[Callable[[Any], None], Callable[[], bool]], Any]


_lock = threading.Lock()


class Worker(QThread):
    """Run ``fn(emit, cancel)`` off the GUI thread; see the module docstring."""

    event = Signal(object)
    result = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    done = Signal()

    #: while a worker runs, the interpreter offers the GIL to the other thread every SWITCH_INTERVAL seconds
    #: (Python's default is 5 ms): the GUI thread then waits at most ~1 ms for it behind Python-heavy work
    SWITCH_INTERVAL = 0.001
    _active = 0
    _saved_interval: Optional[float] = None

    def __init__(self, fn: WorkFn, *, torch_threads: Optional[int] = None, name: str = "worker", parent=None,
                 nice: int = 0):
        super().__init__(parent)
        self._nice = int(nice)
        self._fn = fn
        self._cancel = threading.Event()
        self._torch_threads = torch_threads
        self.setObjectName(name)
        self.traceback: str = ""
        self.error: Optional[BaseException] = None
        self.value: Any = None
        self.outcome: str = "pending"  # "pending" | "running" | "ok" | "cancelled" | "failed"
        self.done.connect(self._release)   # first of done's slots (queued: runs on the GUI thread)

    # ------------------------------------------------------------------ control (GUI thread)
    def cancel(self) -> None:
        """Ask the work to stop at its next safe point (returns at once)."""
        self._cancel.set()

    def is_cancelling(self) -> bool:
        return self._cancel.is_set()

    def start(self, *args, **kwargs) -> None:  # noqa: D401 - QThread.start
        gc_guard.install()  # garbage holding Qt objects must never be collected on the worker thread
        self.outcome = "running"
        super().start(*args, **kwargs)

    def _release(self) -> None:
        """GUI thread, after ``done``: the thread ends right after emitting it; a widget's worker is deleted
        once every ``done`` slot has run."""
        self.wait()
        if self.parent() is not None:
            self.deleteLater()

    # ------------------------------------------------------------------ the thread
    def run(self) -> None:  # runs in the worker thread
        self._enter_switch_interval()
        self._lower_priority()
        try:
            with torch_threads(self._torch_threads or default_threads(reserve=1)):
                self.value = self._fn(self.event.emit, self._cancel.is_set)
        except Cancelled:
            self.outcome = "cancelled"
            self.cancelled.emit()
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the GUI, never kill the app
            self.error = exc
            self.traceback = _traceback.format_exc()
            self.outcome = "failed"
            self.failed.emit(exc)
        else:
            self.outcome = "ok"
            self.result.emit(self.value)
        finally:
            self._leave_switch_interval()
            self.done.emit()

    def _lower_priority(self) -> None:
        """Raise this thread's nice value (Linux: per thread), so the scheduler prefers the GUI thread."""
        # Linux only: there a thread id is a valid PRIO_PROCESS target; elsewhere it could name another process
        if self._nice <= 0 or not sys.platform.startswith("linux") or not hasattr(os, "setpriority"):
            return
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + self._nice)
        except (OSError, AttributeError):
            pass  # not permitted / not supported: run at normal priority

    @classmethod
    def _enter_switch_interval(cls) -> None:
        with _lock:
            if cls._active == 0:
                cls._saved_interval = sys.getswitchinterval()
                sys.setswitchinterval(min(cls.SWITCH_INTERVAL, cls._saved_interval))
            cls._active += 1

    @classmethod
    def _leave_switch_interval(cls) -> None:
        with _lock:
            cls._active -= 1
            if cls._active == 0 and cls._saved_interval is not None:
                sys.setswitchinterval(cls._saved_interval)


def error_text(exc: BaseException) -> str:
    """The message shown to the user for a failure: ``str(exc)`` of our errors, a readable line otherwise."""
    from segstudio.core.errors import SegStudioError

    if isinstance(exc, SegStudioError):
        return str(exc)
    text = str(exc).strip() or type(exc).__name__
    low = text.lower()
    if isinstance(exc, MemoryError) or "out of memory" in low:
        return f"out of memory: {text.splitlines()[0]}\nTry a smaller batch size or image size."
    return f"{type(exc).__name__}: {text}"
