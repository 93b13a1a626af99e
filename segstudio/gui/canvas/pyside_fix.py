"""Guard against a PySide6 6.12 / CPython 3.11 reference-count bug on ``None``.

Observed with PySide6 6.12.0 on Python 3.11.7 (this project's pinned runtime): every call of a
void-returning Qt method (``QPointF.setX``, ``QPainter.setPen``, ``QWidget.repaint``, ...) drops one
reference to ``None`` instead of returning a new one.  Python < 3.12 does not make ``None`` immortal, so after
some ten thousand such calls ``None``'s count reaches zero and the interpreter aborts with
"Fatal Python error: none_dealloc" (a long canvas session, or a benchmark, reaches that quickly).

:func:`apply` measures the leak (64 calls of ``QPointF.setX``) and, only when it is present, raises
``None``'s reference count by 2**60 — what CPython 3.12 does by making it immortal.  Idempotent and cheap;
called when the canvas and the document model are imported.
"""
from __future__ import annotations

import ctypes
import sys

_applied = False


def leaks_none(calls: int = 64) -> bool:
    """True when void-returning PySide6 calls drop references to None (the bug is present)."""
    from PySide6.QtCore import QPointF

    p = QPointF()
    before = sys.getrefcount(None)
    for _ in range(calls):
        p.setX(1.0)
    return sys.getrefcount(None) <= before - calls // 2


def apply() -> bool:
    """Make None effectively immortal when the bug is present; True when the guard was applied."""
    global _applied
    if _applied or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _applied
    if leaks_none():
        # ob_refcnt is the first field of every PyObject (non-debug CPython 3.11)
        ctypes.c_ssize_t.from_address(id(None)).value += 1 << 60
        _applied = True
    return _applied
