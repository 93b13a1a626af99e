"""The queue: one row per run of the experiment (id, status, epoch / epochs, best val mIoU, held-out Dice), kept
up to date from the queue's events, and the runner that works the queue on a worker thread.

The queue itself is the core's (``segstudio.core.experiments.queue.ExperimentQueue``): each run is a
``segstudio train`` subprocess, then the held-out evaluation; :class:`QueueRunner` only calls its ``run`` in a
:class:`segstudio.gui.workers.Worker` and forwards its events (``RunStarted``, ``RunProgress``,
``RunFinished``, ``QueueFinished``) to the GUI thread.  Cancel asks the queue to stop the current run (it is
marked so that the next Resume continues it).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from segstudio.core.errors import SegStudioError
from segstudio.gui.experiments.plan_io import read_yaml
from segstudio.gui.workers import Worker, error_text

#: queue.json states as the table shows them
STATUS_TEXT = {"pending": "pending", "running": "running", "evaluating": "evaluating", "done": "done",
               "failed": "failed", "cancelled": "cancelled"}
#: queue states a Resume works through
UNFINISHED = ("pending", "running", "cancelled")
#: a pending run with a checkpoint (cancelled, or its runner died): Resume continues it from there
RESUMABLE_TEXT = "interrupted (resumable)"
STATUS_COLOR = {"running": (0, 90, 200), "evaluating": (0, 90, 200), "done": (0, 120, 40), "failed": (190, 0, 0),
                "cancelled": (150, 100, 0), "interrupted": (150, 100, 0)}


def _fmt(value, digits: int = 3) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(v) else f"{v:.{digits}f}"


def heldout_dice(summary: dict):
    """The held-out Dice a run is listed with: the foreground Dice when the summary has it, else mDice."""
    value = summary.get("fg_dice")
    return value if value is not None else summary.get("mdice")


def heldout_summary(run_dir: Path) -> dict:
    """``run_dir/heldout.json``'s summary ({} when the run has not been evaluated yet or the file is unreadable)."""
    try:
        data = json.loads((Path(run_dir) / "heldout.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    summary = data.get("summary") if isinstance(data, dict) else None
    return summary if isinstance(summary, dict) else {}


def run_progress(run_dir: Path) -> tuple[int, Optional[float]]:
    """(epochs done, best val mIoU) of a run folder from its metrics.csv ((0, None) when there is none yet)."""
    from segstudio.core.errors import SegStudioError
    from segstudio.core.training import RunFolder

    try:
        rows = RunFolder(run_dir).history()
    except (SegStudioError, OSError):
        return 0, None
    mious = [float(r["miou"]) for r in rows if r.get("miou") is not None and not math.isnan(float(r["miou"]))]
    epochs = [int(r["epoch"]) for r in rows if r.get("epoch") is not None]
    return (max(epochs) if epochs else 0), (max(mious) if mious else None)


class QueueTable(QTableWidget):
    """The runs of an experiment and how far each got."""

    COLUMNS = ("Run", "Status", "Epoch", "Best val mIoU", "Held-out Dice")

    def __init__(self, parent=None):
        super().__init__(0, len(self.COLUMNS), parent)
        self.setHorizontalHeaderLabels(self.COLUMNS)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)   # whole run ids; the table scrolls if narrow
        header.setStretchLastSection(False)
        self.epochs_total = 0   # the plan's epochs per run (until a run reports its own)
        self.minutes = 0.0      # the plan's time budget per run (0: none)
        self.clock = time.monotonic   # when a run started, for its share of the time budget (tests: a fake one)
        self.rows: dict[str, int] = {}
        self.state: dict[str, dict] = {}

    def set_entries(self, entries, epochs_total: int = 0, minutes: float = 0.0) -> None:
        """One row per queue entry (``QueueEntry``: id, params, status, run_dir, error), filled from its files;
        ``epochs_total`` / ``minutes``: the plan's epochs and time budget per run."""
        self.epochs_total = int(epochs_total or 0)
        self.minutes = float(minutes or 0.0)
        self.setRowCount(len(entries))
        self.rows, self.state = {}, {}
        for i, entry in enumerate(entries):
            self.rows[entry.id] = i
            done, best = run_progress(entry.run_dir) if entry.run_dir else (0, None)
            summary = heldout_summary(entry.run_dir) if entry.run_dir else {}
            self.state[entry.id] = {"status": entry.status, "epoch": done, "epochs": self.epochs_total,
                                    "best": best, "dice": heldout_dice(summary), "error": entry.error or "",
                                    "params": dict(entry.params or {}), "run_dir": entry.run_dir}
            self._draw(entry.id)

    def status(self, run_id: str) -> str:
        """The status cell's text of ``run_id`` (what the user sees)."""
        item = self.item(self.rows[run_id], 1)
        return item.text() if item is not None else ""

    def statuses(self) -> list[str]:
        return [self.item(i, 1).text() if self.item(i, 1) else "" for i in range(self.rowCount())]

    def update_run(self, run_id: str, **changes) -> None:
        if run_id not in self.state:
            return
        self.state[run_id].update(changes)
        self._draw(run_id)

    def refresh_run(self, run_id: str) -> None:
        """Re-read a run's files (after it finished: metrics.csv and heldout.json)."""
        st = self.state.get(run_id)
        if st is None or st.get("run_dir") is None:
            return
        done, best = run_progress(st["run_dir"])
        summary = heldout_summary(st["run_dir"])
        self.update_run(run_id, epoch=max(done, st["epoch"]), best=best if best is not None else st["best"],
                        dice=heldout_dice(summary) if summary else st["dice"])

    def _draw(self, run_id: str) -> None:
        st = self.state[run_id]
        epochs = st.get("epochs") or self.epochs_total
        status = STATUS_TEXT.get(st["status"], st["status"])
        if st["status"] == "pending" and st.get("run_dir") is not None and (Path(st["run_dir"]) / "last.pt").is_file():
            status = RESUMABLE_TEXT
        cells = (run_id, status,
                 f"{st['epoch']}/{epochs}" if epochs else str(st["epoch"] or ""),
                 _fmt(st.get("best")), _fmt(st.get("dice")))
        tip = "\n".join([f"{k}: {v}" for k, v in st["params"].items()]
                        + ([str(st["run_dir"])] if st.get("run_dir") else [])
                        + ([f"error: {st['error']}"] if st.get("error") else []))
        row = self.rows[run_id]
        for j, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(tip)
            color = STATUS_COLOR.get(status.split()[0])
            if j == 1 and color is not None:
                item.setForeground(QBrush(QColor(*color)))
            if j >= 2:
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            self.setItem(row, j, item)

    def counts(self) -> dict:
        out: dict[str, int] = {}
        for st in self.state.values():
            out[st["status"]] = out.get(st["status"], 0) + 1
        return out

    def fraction_done(self) -> float:
        """Share of the queue's work done: finished runs count 1, the running one its epochs done."""
        if not self.state:
            return 0.0
        total = 0.0
        for st in self.state.values():
            if st["status"] in ("done", "failed"):
                total += 1
            elif st["status"] == "evaluating":
                total += 0.95
            elif st["status"] == "running":
                total += self.run_fraction(st)
        return total / len(self.state)

    def run_fraction(self, st: dict) -> float:
        """How far a running run is: its epochs done, or the share of its time budget used when that is more
        (a plan with ``minutes`` usually ends its runs by time, long before their ``epochs``)."""
        frac = st["epoch"] / st["epochs"] if st.get("epochs") else 0.0
        if self.minutes and st.get("started") is not None:
            frac = max(frac, (self.clock() - st["started"]) / (60.0 * self.minutes))
        return min(frac, 0.99)


@dataclass
class QueueReady:
    """The runner's first event: the queue it opened or made (its folder and entries)."""

    exp_dir: Path
    entries: list


@dataclass
class ReportProblem:
    """The queue ended but its report could not be written (the runs are fine; --report-only retries)."""

    message: str


class QueueRunner(QObject):
    """Works an experiment's queue on a worker thread; re-emits its events on the GUI thread."""

    event = Signal(object)          # RunStarted / RunProgress / RunFinished / QueueFinished
    finished = Signal(object)       # the value ``queue.run`` returned (None when it failed or was cancelled)
    failed = Signal(str)            # a message for the user
    runningChanged = Signal(bool)

    def __init__(self, parent=None, *, torch_threads: Optional[int] = None):
        super().__init__(parent)
        self.worker: Optional[Worker] = None
        self.torch_threads = torch_threads
        self.exp_dir: Optional[Path] = None

    @property
    def running(self) -> bool:
        return self.worker is not None

    def start(self, exp_dir, queue_factory=None, after=None, retry_failed: bool = False) -> None:
        """Run (or resume) the queue of the experiment folder ``exp_dir``.  ``queue_factory(exp_dir)`` opens or
        makes the queue (default: ``ExperimentQueue.open``; its folder is then the queue's); ``after(exp_dir)`` runs once the queue ended without being
        cancelled (the dock writes the report there); both run in the worker too.  ``retry_failed``: the failed
        runs are run again as well."""
        if self.running:
            raise RuntimeError("the experiment queue is already running")
        exp = self.exp_dir = Path(exp_dir) if exp_dir is not None else None

        def work(emit, cancel):
            opener = queue_factory
            if opener is None:
                from segstudio.core.experiments.queue import ExperimentQueue

                opener = ExperimentQueue.open
            queue = opener(exp)
            emit(QueueReady(Path(queue.dir), list(queue.entries)))
            value = queue.run(on_event=emit, cancel=cancel, retry_failed=retry_failed)
            if after is not None and not cancel():
                try:
                    after(Path(queue.dir))
                except (SegStudioError, OSError) as exc:
                    emit(ReportProblem(error_text(exc)))
            return value

        worker = Worker(work, torch_threads=self.torch_threads, name="experiment-queue", parent=self, nice=5)
        worker.event.connect(self.event)
        worker.result.connect(self.finished)
        worker.cancelled.connect(lambda: self.finished.emit(None))
        worker.failed.connect(lambda exc: self.failed.emit(error_text(exc)))
        worker.done.connect(self._on_done)
        self.worker = worker
        worker.start()
        self.runningChanged.emit(True)

    def cancel(self) -> None:
        """Ask the queue to stop its current run (returns at once; the run is resumable)."""
        if self.worker is not None:
            self.worker.cancel()

    def cancelling(self) -> bool:
        return self.worker is not None and self.worker.is_cancelling()

    def wait(self, ms: int = 120000) -> bool:
        w = self.worker
        return True if w is None else bool(w.wait(ms))

    def _on_done(self) -> None:
        self.worker = None
        self.runningChanged.emit(False)


def interrupted(entries) -> bool:
    """Whether a queue was started and not worked to its end: an unfinished entry beside finished ones, one left
    "running" (its runner died), or one with a partial run folder (cancelled: it continues from its checkpoint)."""
    left = [e for e in entries if e.status in UNFINISHED]
    if not left:
        return False
    return (len(left) < len(entries) or any(e.status != "pending" for e in left)
            or any(e.run_dir is not None and Path(e.run_dir).is_dir() for e in left))


def plan_epochs(exp_dir: Path) -> tuple[int, float]:
    """(epochs, minutes) per run of the experiment's plan (EXP/plan.yaml), 0 where it does not say."""
    try:
        train = read_yaml(exp_dir / "plan.yaml").get("train") or {}
        minutes = train.get("minutes", train.get("max_minutes"))
        return int(train.get("epochs") or 0), float(minutes or 0.0)
    except (SegStudioError, TypeError, ValueError):
        return 0, 0.0


def write_report(exp_dir: Path) -> None:
    """EXP/report/ once a queue has ended (the runner calls it on its worker)."""
    from segstudio.core.experiments import report

    report.write_report(exp_dir)
