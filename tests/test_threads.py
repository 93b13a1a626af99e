"""The one torch thread policy (segstudio.core.threads): idle cores, a reserve for the GUI thread, restore."""
from __future__ import annotations

import torch

from segstudio.core import threads


def test_default_threads_counts_idle_cores(monkeypatch):
    monkeypatch.setattr(threads, "usable_cores", lambda: 8)
    monkeypatch.setattr(threads, "busy_cores", lambda: 2.6)
    assert threads.default_threads() == 5                # 8 cores, ~3 busy
    assert threads.default_threads(reserve=1) == 4       # the GUI keeps one for its own thread
    monkeypatch.setattr(threads, "busy_cores", lambda: 30.0)
    assert threads.default_threads(reserve=1) == 1       # never below one
    monkeypatch.setattr(threads, "busy_cores", lambda: 0.0)
    assert threads.default_threads() == 8


def _stat_file(tmp_path, name, rows):
    """A /proc/stat with one 'cpuN user nice system idle iowait irq softirq steal' line per CPU."""
    path = tmp_path / name
    lines = ["cpu  0 0 0 0 0 0 0 0"] + [f"cpu{i} " + " ".join(str(v) for v in r) for i, r in enumerate(rows)]
    path.write_text("\n".join(lines + ["intr 1 2 3", "ctxt 5"]) + "\n", encoding="ascii")
    return path


def test_busy_cores_are_measured_now_not_from_the_lagging_load_average(tmp_path, monkeypatch):
    first = _stat_file(tmp_path, "a", [[100, 0, 0, 100, 0, 0, 0, 0]] * 4)
    # over the window: cpu0 fully busy, cpu1 idle, cpu2 half busy (iowait counts as idle), cpu3 not ours
    second = _stat_file(tmp_path, "b", [[200, 0, 0, 100, 0, 0, 0, 0], [100, 0, 0, 200, 0, 0, 0, 0],
                                        [125, 0, 25, 150, 0, 0, 0, 0], [200, 0, 0, 100, 0, 0, 0, 0]])
    files = iter([first, second])
    monkeypatch.setattr(threads, "PROC_STAT", None)
    real_open = open

    def fake_open(path, *a, **k):
        return real_open(next(files) if path is None else path, *a, **k)

    monkeypatch.setattr("builtins.open", fake_open)
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (9.0, 9.0, 9.0))   # a minute of old work: ignored
    assert abs(threads.busy_cores(sample_s=0.0) - 1.5) < 1e-9


def test_busy_cores_fall_back_to_the_load_average(tmp_path, monkeypatch):
    monkeypatch.setattr(threads, "PROC_STAT", str(tmp_path / "missing"))
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (1.25, 0.0, 0.0))
    assert threads.busy_cores(sample_s=0.0) == 1.25


def test_torch_threads_sets_and_restores():
    before = torch.get_num_threads()
    with threads.torch_threads(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with threads.torch_threads(None) as n:               # None: left as it is
        assert n == before
    assert torch.get_num_threads() == before
