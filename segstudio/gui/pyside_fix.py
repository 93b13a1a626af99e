"""Guard against PySide6 6.12 / CPython 3.11 reference-count bugs on ``None``, ``True`` and ``False``.

Observed with PySide6 6.12.0 on Python 3.11.7 (this project's pinned runtime):

* every call of a void-returning Qt method (``QPointF.setX``, ``QPainter.setPen``, ``QUndoStack.undo``, ...)
  or one returning a null object (``QObject.parent()``) drops one reference to ``None``;
* every ``SignalInstance.emit(...)`` drops one reference to the bool it returns.

Python < 3.12 does not make these singletons immortal, so after some ten thousand such calls a count reaches
zero and the interpreter aborts ("Fatal Python error: none_dealloc" / "bool_dealloc") — a long canvas
session, a test session or a benchmark reaches that quickly.

:func:`apply` measures both leaks (64 calls each) and, only when one is present, raises the reference counts
of ``None``, ``True`` and ``False`` by 2**60 — what CPython 3.12 does by making them immortal.  Idempotent
and cheap; called when the canvas and the document model are imported.  Remove it once PySide6 is fixed or
the project runs on Python >= 3.12.
"""
from __future__ import annotations

import ctypes
import sys

_applied = False
_BOOST = 1 << 60


def leaks_none(calls: int = 64) -> bool:
    """True when void-returning PySide6 calls drop references to None."""
    from PySide6.QtCore import QPointF

    p = QPointF()
    before = sys.getrefcount(None)
    for _ in range(calls):
        p.setX(1.0)
    return sys.getrefcount(None) <= before - calls // 2


def leaks_bool(calls: int = 64) -> bool:
    """True when ``Signal.emit`` drops references to the bool it returns."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True) + sys.getrefcount(False)
    for _ in range(calls):
        probe.ping.emit()
    after = sys.getrefcount(True) + sys.getrefcount(False)
    return after <= before - calls // 2


def apply() -> bool:
    """Make None/True/False effectively immortal when a leak is present; True when the guard was applied."""
    global _applied
    if _applied or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _applied
    if leaks_none() or leaks_bool():
        for obj in (None, True, False):
            # ob_refcnt is the first field of every PyObject (non-debug CPython 3.11)
            ctypes.c_ssize_t.from_address(id(obj)).value += _BOOST
        _applied = True
    return _applied
