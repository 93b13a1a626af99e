"""Background workers for the training, review and export docks.

A :class:`Worker` runs ``fn(emit, cancel)`` in its own ``QThread``:

* ``emit(obj)`` sends ``obj`` to the GUI thread through the ``event`` signal (queued connection), so any
  object - a training event, a ``(done, total, message)`` progress tuple - reaches the widgets safely;
* ``cancel()`` returns True once :meth:`Worker.cancel` was called: pass it to core functions as their
  ``cancel=`` argument and they raise :class:`~segstudio.core.errors.Cancelled` at their next safe point.

When ``fn`` returns, ``result(value)`` is emitted; when it raises ``Cancelled``, ``cancelled()``; any other
exception is emitted with ``failed(exc)`` (the traceback text is kept in ``Worker.traceback``).  ``done()``
is always emitted last.  The worker limits torch's intra-op threads while it runs, so the GUI thread keeps a
core for itself (``torch_threads``; default: all cores but one, at least one).
"""
from __future__ import annotations

import os
import threading
import traceback as _traceback
from typing import Any, Callable, Optional

from PySide6.QtCore import QThread, Signal

from segstudio.core.errors import Cancelled
from segstudio.gui import gc_guard

WorkFn = Callable[[Callable[[Any], None], Callable[[], bool]], Any]


_lock = threading.Lock()


def default_torch_threads() -> int:
    """All cores but one (the GUI thread's), at least one."""
    return max(1, (os.cpu_count() or 2) - 1)


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

    # ------------------------------------------------------------------ the thread
    def run(self) -> None:  # runs in the worker thread
        restore = None
        self._enter_switch_interval()
        self._lower_priority()
        try:
            restore = self._limit_torch_threads()
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
            if restore is not None:
                restore()
            self._leave_switch_interval()
            self.done.emit()

    def _lower_priority(self) -> None:
        """Raise this thread's nice value (Linux: per thread), so the scheduler prefers the GUI thread."""
        import sys

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
        import sys

        with _lock:
            if cls._active == 0:
                cls._saved_interval = sys.getswitchinterval()
                sys.setswitchinterval(min(cls.SWITCH_INTERVAL, cls._saved_interval))
            cls._active += 1

    @classmethod
    def _leave_switch_interval(cls) -> None:
        import sys

        with _lock:
            cls._active -= 1
            if cls._active == 0 and cls._saved_interval is not None:
                sys.setswitchinterval(cls._saved_interval)

    def _limit_torch_threads(self):
        n = self._torch_threads or default_torch_threads()
        try:
            import torch
        except ImportError:  # pragma: no cover - torch is a hard dependency
            return None
        before = torch.get_num_threads()
        if n < before:
            torch.set_num_threads(n)
            return lambda: torch.set_num_threads(before)
        return None


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
