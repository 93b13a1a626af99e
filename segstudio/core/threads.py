"""The one torch CPU-thread policy, for the CLI, the GUI's worker threads, the engine and the benchmarks.

PyTorch's CPU kernels spin-wait on their threads: on a machine that is already busy, using every core makes
training several times slower than using the idle ones.  So the default is the number of *idle* cores when
the work starts, minus the cores the caller keeps for itself (the GUI keeps one for its own thread), at least one.

Busy cores are measured, where Linux allows, from ``/proc/stat`` over a short window (``SAMPLE_S``) on the
cores this process may run on: the 1-minute load average lags by a minute or more, so right after other work
ends it still reports busy cores (a training started then ran on one thread of an idle machine) and right after
other work starts it reports none.  Elsewhere the load average is the measure.
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Tuple

SAMPLE_S = 0.4
PROC_STAT = "/proc/stat"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - macOS / Windows
        return os.cpu_count() or 1


def _cpu_times() -> Dict[int, Tuple[int, int]]:
    """Per CPU of /proc/stat: (busy jiffies, total jiffies); idle = idle + iowait."""
    out = {}
    with open(PROC_STAT, encoding="ascii") as f:
        for line in f:
            if not line.startswith("cpu") or line.startswith("cpu "):
                continue
            name, *fields = line.split()
            values = [int(v) for v in fields[:8]]
            idle = values[3] + (values[4] if len(values) > 4 else 0)
            out[int(name[3:])] = (sum(values) - idle, sum(values))
    return out


def busy_cores(sample_s: float = SAMPLE_S) -> float:
    """How many of this process's cores other work keeps busy now: /proc/stat over ``sample_s`` seconds, or
    the 1-minute load average where /proc/stat cannot be read."""
    try:
        allowed = set(os.sched_getaffinity(0))
        before = _cpu_times()
        time.sleep(sample_s)
        after = _cpu_times()
        busy = 0.0
        for cpu in allowed & set(before) & set(after):
            d_busy, d_total = (after[cpu][0] - before[cpu][0]), (after[cpu][1] - before[cpu][1])
            busy += d_busy / d_total if d_total > 0 else 0.0
        if before and after:
            return busy
    except (AttributeError, OSError, ValueError, IndexError):
        pass
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):  # pragma: no cover - Windows has no load average
        return 0.0


def default_threads(reserve: int = 0) -> int:
    """Idle cores now, less ``reserve`` cores kept for the caller's other threads; at least 1."""
    cores = usable_cores()
    busy = int(round(busy_cores()))
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
