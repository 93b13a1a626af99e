"""Runs the core training engine in a worker thread and turns its events into Qt signals.

The engine (``segstudio.core.training.train``) is a generator of events; the worker forwards every event to
the GUI thread (queued signal) and checks the Stop flag between batches through the engine's ``cancel``
argument.  Widgets never touch the engine directly: the dock, the tests and ``benchmarks/ui_latency.py``
drive this controller.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject, Signal

from segstudio.gui.workers import Worker, error_text


class Eta:
    """Estimated time left from the batches seen so far (wall clock, includes validation time).

    The clock starts at the first ``BatchEnd``, not at ``Started``: between the two the engine decodes and
    caches every image (and builds the first batch), which would otherwise be counted as batch time and
    inflate the estimate.  The estimate is therefore ``None`` until a second batch has ended.
    ``clock``: a ``time.monotonic``-like function (tests pass a fake one).
    """

    def __init__(self, epochs: int, start_epoch: int = 1, clock=time.monotonic):
        self.epochs = epochs
        self.start_epoch = start_epoch
        self.clock = clock
        self.t0: Optional[float] = None   # end of the first batch
        self.batches_done = 0             # batches ended after the first one
        self.n_batches = 0
        self.epoch = start_epoch
        self.batch = 0

    def update(self, epoch: int, batch: int, n_batches: int) -> None:
        self.epoch, self.batch, self.n_batches = epoch, batch, n_batches
        if self.t0 is None:
            self.t0 = self.clock()
        else:
            self.batches_done += 1

    def seconds_left(self) -> Optional[float]:
        if self.t0 is None or self.batches_done == 0 or self.n_batches == 0:
            return None
        per_batch = (self.clock() - self.t0) / self.batches_done
        left = (self.epochs - self.epoch) * self.n_batches + (self.n_batches - self.batch)
        return max(0.0, left * per_batch)


def format_seconds(s: Optional[float]) -> str:
    if s is None:
        return "--:--"
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


#: nice increment of the training thread (Linux): on a busy CPU the GUI thread is scheduled first; on an idle
#: machine it costs the training nothing.  See docs/adr/0002-training-worker.md.
NICE = 5


class TrainingController(QObject):
    """Start/stop one training run at a time; re-emits the engine's events by kind."""

    started = Signal(object)      # events.Started
    batchEnded = Signal(object)   # events.BatchEnd
    epochEnded = Signal(object)   # events.EpochEnd
    checkpointSaved = Signal(object)
    logged = Signal(object)       # events.Log
    finished = Signal(object)     # events.Finished (also after Stop: reason "cancelled")
    failed = Signal(str)          # message for the user (Failed event, or an exception in the engine)
    runningChanged = Signal(bool)

    def __init__(self, parent=None, *, torch_threads: Optional[int] = None):
        super().__init__(parent)
        self.worker: Optional[Worker] = None
        self.torch_threads = torch_threads
        self.nice = NICE
        self.config = None
        self.run_dir: Optional[Path] = None
        self.last_finished = None
        self.last_error: str = ""
        self.images_per_s: float = 0.0
        self.eta: Optional[Eta] = None
        self.clock = time.monotonic   # the ETA's clock (tests replace it)
        self.engine = None            # None: the core engine (imported at start: torch); tests set a scripted one

    @property
    def running(self) -> bool:
        return self.worker is not None

    def start(self, config) -> None:
        """Start training ``config`` (a validated TrainConfig) in a worker thread."""
        if self.running:
            raise RuntimeError("a training run is already in progress")
        engine = self.engine
        if engine is None:
            from segstudio.core.training import train as engine
        self.config = config
        self.run_dir = Path(config.out)
        self.last_finished = None
        self.last_error = ""
        self.eta = Eta(config.epochs, clock=self.clock)

        def work(emit, cancel):
            for ev in engine(config, cancel=cancel):
                emit(ev)

        worker = Worker(work, torch_threads=self.torch_threads, name="training", parent=self, nice=self.nice)
        worker.event.connect(self._on_event)
        worker.failed.connect(self._on_exception)
        worker.done.connect(self._on_done)
        self.worker = worker
        worker.start()
        self.runningChanged.emit(True)

    def stop(self) -> None:
        """Ask the engine to stop after the current batch (it still writes last.pt and emits Finished)."""
        if self.worker is not None:
            self.worker.cancel()

    def wait(self, ms: int = 60000) -> bool:
        """Block until the worker thread ended (used at shutdown only)."""
        w = self.worker
        return True if w is None else bool(w.wait(ms))

    # ------------------------------------------------------------------ events (GUI thread)
    def _on_event(self, ev) -> None:
        from segstudio.core.training import events as E

        if isinstance(ev, E.Started):
            self.run_dir = Path(ev.run_dir) if ev.run_dir else self.run_dir
            self.eta = Eta(self.config.epochs, ev.start_epoch, clock=self.clock)
            self.started.emit(ev)
        elif isinstance(ev, E.BatchEnd):
            self.images_per_s = float(ev.images_per_s)
            if self.eta is not None:
                self.eta.update(ev.epoch, ev.batch, ev.n_batches)
            self.batchEnded.emit(ev)
        elif isinstance(ev, E.EpochEnd):
            self.epochEnded.emit(ev)
        elif isinstance(ev, E.CheckpointSaved):
            self.checkpointSaved.emit(ev)
        elif isinstance(ev, E.Log):
            self.logged.emit(ev)
        elif isinstance(ev, E.Finished):
            self.last_finished = ev
            self.finished.emit(ev)
        elif isinstance(ev, E.Failed):
            self.last_error = ev.message + (f"\n\n{ev.advice}" if ev.advice else "")
            self.failed.emit(self.last_error)

    def _on_exception(self, exc) -> None:
        self.last_error = error_text(exc)
        self.failed.emit(self.last_error)

    def _on_done(self) -> None:
        self.worker = None   # the worker waits for its thread and deletes itself (gui/workers.py)
        self.runningChanged.emit(False)
