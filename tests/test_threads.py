"""The one torch thread policy (segstudio.core.threads): idle cores, a reserve for the GUI thread, restore."""
from __future__ import annotations

import torch

from segstudio.core import threads


def test_default_threads_counts_idle_cores(monkeypatch):
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (2.6, 0.0, 0.0))
    assert threads.default_threads() == 5                # 8 cores, ~3 busy
    assert threads.default_threads(reserve=1) == 4       # the GUI keeps one for its own thread
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (30.0, 0.0, 0.0))
    assert threads.default_threads(reserve=1) == 1       # never below one
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert threads.default_threads() == 8


def test_torch_threads_sets_and_restores():
    before = torch.get_num_threads()
    with threads.torch_threads(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with threads.torch_threads(None) as n:               # None: left as it is
        assert n == before
    assert torch.get_num_threads() == before
