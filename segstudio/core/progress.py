"""Progress reporting and cancellation shared by long operations (convert, predict, train)."""
from __future__ import annotations

import sys
import time
from typing import Callable, Optional, TextIO

from segstudio.core.errors import Cancelled

ProgressFn = Callable[[int, int, str], None]
CancelFn = Callable[[], bool]


def check_cancel(cancel: Optional[CancelFn]) -> None:
    """Raise :class:`Cancelled` when ``cancel`` says so."""
    if cancel is not None and cancel():
        raise Cancelled()


class ProgressPrinter:
    """A one-line text progress bar for the CLI: ``[#####.....] 12/24 50% 3.1 it/s  message``.

    Redraws in place on a terminal, prints at most every ~10% otherwise (CI logs stay short).
    """

    def __init__(self, label: str = "", stream: Optional[TextIO] = None, width: int = 30):
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.start = time.monotonic()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_decile = -1

    def __call__(self, done: int, total: int, message: str = "") -> None:
        total = max(total, 1)
        frac = min(max(done / total, 0.0), 1.0)
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = done / elapsed
        filled = int(round(frac * self.width))
        bar = "#" * filled + "." * (self.width - filled)
        line = f"{self.label} [{bar}] {done}/{total} {frac:4.0%} {rate:.1f}/s {message}".rstrip()
        if self._tty:
            end = "\n" if done >= total else ""
            self.stream.write("\r" + line + end)
            self.stream.flush()
        else:
            decile = int(frac * 10)
            if decile != self._last_decile or done >= total:
                self._last_decile = decile
                self.stream.write(line + "\n")
                self.stream.flush()
