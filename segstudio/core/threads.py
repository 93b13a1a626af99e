"""The one torch CPU-thread policy, for the CLI, the GUI's worker threads, the engine and the benchmarks.

PyTorch's CPU kernels spin-wait on their threads: on a machine that is already busy, using every core makes
training several times slower than using the idle ones.  So the default is the number of *idle* cores when
the work starts (``cores - round(1-minute load average)``), minus the cores the caller keeps for itself (the
GUI keeps one for its own thread), at least one.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator, Optional


def default_threads(reserve: int = 0) -> int:
    """Idle cores now, less ``reserve`` cores kept for the caller's other threads; at least 1."""
    cores = os.cpu_count() or 1
    try:
        busy = int(round(os.getloadavg()[0]))
    except (AttributeError, OSError):  # pragma: no cover - Windows has no load average
        busy = 0
    return max(1, min(cores, cores - busy) - max(0, int(reserve)))


def set_torch_threads(n: Optional[int] = None, *, reserve: int = 0) -> int:
    """Give torch ``n`` intra-op threads (None: :func:`default_threads`); for a process that is all ours
    (the CLI, a benchmark).  Returns the count set."""
    import torch

    n = int(n) if n else default_threads(reserve)
    torch.set_num_threads(n)
    return n


@contextmanager
def torch_threads(n: Optional[int]) -> Iterator[int]:
    """Run the block with torch limited to ``n`` intra-op threads (None or 0: the count is left as it is);
    the previous count is restored afterwards (the count is process-wide).  Yields the count in use."""
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield torch.get_num_threads()
    finally:
        if n:
            torch.set_num_threads(before)
