"""When a run stops: early stopping on val mIoU, the time budget (over all sessions of a run), the last epoch.

:class:`StopPolicy` owns the run's clock (``elapsed()`` counts earlier sessions of a resumed run, not the time
between them) and the early-stopping state saved in the resumable checkpoints.
"""
from __future__ import annotations

import math
import time
from typing import Optional

#: a val mIoU must beat the best by more than this to count as an improvement
MIN_GAIN = 1e-6


class StopPolicy:
    def __init__(self, patience: int, max_minutes: Optional[float]):
        self.patience = patience
        self.max_minutes = max_minutes
        self.budget_s = max_minutes * 60.0 if max_minutes else None
        self.t0 = time.monotonic()
        self.elapsed_before = 0.0    # seconds of the run spent in earlier sessions (resume)
        self.early = {"best_miou": -math.inf, "best_epoch": 0, "bad_epochs": 0}

    # ------------------------------------------------------------------ time
    def elapsed(self) -> float:
        """Seconds this run has been training, earlier sessions (before a resume) included."""
        return self.elapsed_before + time.monotonic() - self.t0

    def out_of_time(self) -> bool:
        return self.budget_s is not None and self.elapsed() > self.budget_s

    def time_fraction(self) -> Optional[float]:
        """elapsed / budget (the time-aware cosine follows it); None without a budget."""
        return None if self.budget_s is None else self.elapsed() / self.budget_s

    # ------------------------------------------------------------------ epochs
    def record(self, epoch: int, miou: float) -> bool:
        """Note an epoch's val mIoU; True when it is a new best."""
        improved = miou > self.early["best_miou"] + MIN_GAIN
        if improved:
            self.early.update(best_miou=miou, best_epoch=epoch, bad_epochs=0)
        else:
            self.early["bad_epochs"] += 1
        return improved

    def note_best(self, miou: float) -> None:
        """A best.pt written outside an epoch end (time budget before the first epoch): its mIoU counts."""
        self.early["best_miou"] = max(self.early["best_miou"], miou)

    def after_epoch(self, epoch: int, last_epoch: int) -> Optional[str]:
        """The reason to stop after ``epoch`` ("early_stop", "time_budget", "completed") or None."""
        if self.patience and self.early["bad_epochs"] >= self.patience:
            return "early_stop"
        if self.out_of_time():
            return "time_budget"
        if epoch == last_epoch:
            return "completed"
        return None

    @property
    def best_miou(self) -> float:
        best = self.early["best_miou"]
        return best if math.isfinite(best) else float("nan")

    @property
    def best_epoch(self) -> int:
        return self.early["best_epoch"]

    # ------------------------------------------------------------------ resume
    def restore(self, ckpt: dict) -> None:
        """Early-stopping state and the time spent so far, from a resumable checkpoint."""
        self.early = dict(ckpt["early_stop"])
        if "elapsed_s" in ckpt:
            self.elapsed_before = float(ckpt["elapsed_s"])
        else:  # checkpoints before elapsed_s: the time-aware cosine's progress times the old budget
            old_minutes = (ckpt.get("config") or {}).get("max_minutes")
            if old_minutes:
                self.elapsed_before = float(ckpt["scheduler"].get("time_fraction", 0.0)) * old_minutes * 60.0
