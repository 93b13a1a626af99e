"""StopPolicy: early stopping on val mIoU, the time budget over all sessions of a run, the last epoch."""
from __future__ import annotations

import math

import pytest

from segstudio.core.training import stopping


class Clock:
    def __init__(self):
        self.now = 100.0

    def monotonic(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(stopping, "time", c)
    return c


def test_early_stop_after_patience_epochs_without_a_gain(clock):
    policy = stopping.StopPolicy(patience=2, max_minutes=None)
    assert math.isnan(policy.best_miou) and policy.best_epoch == 0
    assert policy.record(1, 0.5) and policy.after_epoch(1, 10) is None
    assert not policy.record(2, 0.5 + stopping.MIN_GAIN / 2)        # not a gain: below MIN_GAIN
    assert policy.after_epoch(2, 10) is None
    assert not policy.record(3, 0.4) and policy.after_epoch(3, 10) == "early_stop"
    assert (policy.best_miou, policy.best_epoch) == (0.5, 1)
    assert stopping.StopPolicy(patience=0, max_minutes=None).after_epoch(10, 10) == "completed"


def test_time_budget_counts_earlier_sessions_not_the_time_between(clock):
    policy = stopping.StopPolicy(patience=0, max_minutes=1.0)
    clock.now += 30
    assert policy.elapsed() == 30 and policy.time_fraction() == 0.5 and not policy.out_of_time()
    resumed_later = {"early_stop": {"best_miou": 0.7, "best_epoch": 3, "bad_epochs": 1}, "elapsed_s": 50.0}
    clock.now += 1000                                   # between sessions
    again = stopping.StopPolicy(patience=0, max_minutes=1.0)
    again.restore(resumed_later)
    assert again.elapsed() == 50 and again.best_epoch == 3
    clock.now += 11
    assert again.out_of_time() and again.after_epoch(4, 10) == "time_budget"
    assert stopping.StopPolicy(patience=0, max_minutes=None).time_fraction() is None


def test_early_stop_wins_over_the_time_budget_and_the_last_epoch(clock):
    policy = stopping.StopPolicy(patience=1, max_minutes=0.5)
    policy.record(1, 0.5)
    policy.record(2, 0.1)
    clock.now += 60
    assert policy.after_epoch(2, 2) == "early_stop"


def test_old_checkpoints_without_elapsed_time_use_the_cosine_progress(clock):
    policy = stopping.StopPolicy(patience=0, max_minutes=2.0)
    policy.restore({"early_stop": {"best_miou": 0.1, "best_epoch": 1, "bad_epochs": 0},
                    "scheduler": {"time_fraction": 0.25}, "config": {"max_minutes": 4.0}})
    assert policy.elapsed() == pytest.approx(60.0)
