"""Autosave: every edit of the open document reaches its labelme JSON within ``delay_ms``.

The first change after a save sets a deadline ``delay_ms`` later (on ``clock``, ``time.monotonic`` unless a
test injects a fake one); changes before it do *not* move it, so a user editing continuously is still saved
every ``delay_ms`` (a restarting debounce would never fire).  A single-shot QTimer wakes :meth:`Autosaver.poll`
at the deadline; ``poll`` decides on the clock alone, so a test can drive the schedule with a fake clock.
The window calls :meth:`Autosaver.flush` before switching images and on close.

What runs on the GUI thread is only the encoding, and that is cheap: the document's ``json_cache`` keeps
the JSON text of every shape, so a save encodes only the shapes changed since the last one (1000 polygons
of 50 vertices: ~5 ms instead of 120-200 ms; the cache is filled in 10 ms slices while idle after an image
opens).  The write itself (temporary file, fsync, rename) runs on one background thread, in submission
order; the timer's saves do not wait for it, :meth:`flush` (switch, close, Ctrl+S) does.

Writes are atomic (``atomic_write_bytes``: temporary file + rename), so a crash or a kill -9 at any moment
leaves either the previous or the new JSON, never a broken one.  A failed write keeps the edit in memory
(the document is untouched), reports the error through ``saveFailed`` and retries.

``imageData`` is written only when ``embed_image_data`` is on -- or when the annotation carries its image
only as imageData (no image file to point at), so that the image is never lost.
"""
from __future__ import annotations

import itertools
import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QObject, QTimer, Signal

from segstudio.core.errors import SegStudioError
from segstudio.core.annotation.json_cache import write_json_bytes
from segstudio.gui import gc_guard

RETRY_MS = 3000
WARM_SLICE_S = 0.010       # idle time per slice spent filling the document's JSON cache


@dataclass
class _Job:
    id: int
    path: Path
    data: bytes
    changes: int           # the Autosaver's change counter when the text was taken
    generation: int        # which opened document it belongs to


class _Writer:
    """Writes the jobs in order on one background thread, which lives while there is something to write;
    ``done(job, error)`` is called on that thread after each."""

    def __init__(self, done):
        self._done = done
        self._cv = threading.Condition()
        self._queue: deque[_Job] = deque()
        self._thread: threading.Thread | None = None

    def submit(self, job: _Job) -> None:
        gc_guard.install()  # garbage holding Qt objects must never be collected on the writer thread
        with self._cv:
            self._queue.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="segstudio-autosave", daemon=True)
                self._thread.start()

    def wait_idle(self) -> None:
        """Return once every submitted job is written (or failed)."""
        with self._cv:
            self._cv.wait_for(lambda: self._thread is None)

    def _run(self) -> None:
        while True:
            with self._cv:
                if not self._queue:
                    self._thread = None
                    self._cv.notify_all()
                    return
                job = self._queue.popleft()
            error = None
            try:
                write_json_bytes(job.path, job.data)
            except SegStudioError as exc:
                error = str(exc)
            except Exception as exc:   # never let the thread die: the edit stays unsaved and is retried
                error = f"{job.path}: {exc}"
            self._done(job, error)


class Autosaver(QObject):
    saved = Signal(object)  # Path of the JSON written
    saveFailed = Signal(str)  # "path: reason"
    _written = Signal()     # from the writer thread: results are waiting (delivered on the GUI thread)

    def __init__(self, document, delay_ms: int = 700, embed_image_data: bool = False, parent=None, *,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(parent)
        self.clock = clock        # seconds; the deadline of the pending save is on this clock
        self.deadline: Optional[float] = None
        self.document = document
        self.embed_image_data = bool(embed_image_data)
        self.enabled = True
        self.last_error: str | None = None
        self._dirty = False
        self._changes = 0
        self._generation = 0
        self._ids = itertools.count(1)
        self._inflight: dict[int, _Job] = {}
        self._results: deque[tuple[_Job, str | None]] = deque()
        self._writer = _Writer(self._on_written)
        self._written.connect(self._drain)
        self._delay = int(delay_ms)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.poll)
        self._warm_timer = QTimer(self)
        self._warm_timer.setSingleShot(True)
        self._warm_timer.setInterval(0)
        self._warm_timer.timeout.connect(self._warm)
        document.changed.connect(self._on_changed)
        document.loaded.connect(self._on_loaded)

    @property
    def delay_ms(self) -> int:
        return self._delay

    @property
    def dirty(self) -> bool:
        """True while an edit has not reached the disk (not written yet, or being written)."""
        return self._dirty or bool(self._inflight)

    def _on_changed(self) -> None:
        self._dirty = True
        self._changes += 1
        if self.enabled and self.deadline is None:
            self._arm(self._delay)

    def _arm(self, ms: int) -> None:
        """Save ``ms`` from now (on ``clock``); the timer only wakes :meth:`poll` then."""
        self.deadline = self.clock() + ms / 1000.0
        self._timer.start(ms)

    def _disarm(self) -> None:
        self.deadline = None
        self._timer.stop()

    def poll(self) -> bool:
        """Start the pending save when its deadline has passed on ``clock`` (the timer calls this; a test with
        a fake clock calls it after advancing the clock).  Returns True when a save was started."""
        if self.deadline is None:
            return False
        left = self.deadline - self.clock()
        if left > 0:   # woken early (or the clock is a test's): wait for the rest
            self._timer.start(max(1, math.ceil(left * 1000)))
            return False
        self.flush(wait=False)
        return True

    def _on_loaded(self) -> None:
        # a new image was opened: its JSON is what is on disk (the window flushed the previous one first)
        self._disarm()
        self._dirty = False
        self._generation += 1
        self.last_error = None
        if self.document.annotation is not None:
            self._warm_timer.start()

    def _warm(self) -> None:
        doc = self.document
        if doc.annotation is not None and not doc.json_cache.warm(doc.annotation.shapes, WARM_SLICE_S):
            self._warm_timer.start()

    def _with_image_data(self) -> bool:
        ann = self.document.annotation
        if self.embed_image_data:
            return True
        if ann is not None and ann.image_data is not None:
            image_path = getattr(self.document, "image_path", None)
            if image_path is None or not Path(image_path).is_file():
                return True  # the JSON is the only copy of the image
        return False

    def flush(self, wait: bool = True) -> bool:
        """Write now if anything is unsaved; with ``wait`` (default) return once it is on disk.

        Returns False when the write failed (the edit stays in memory and is retried).  Without ``wait``
        the write is queued and its result arrives later through ``saved`` / ``saveFailed``.
        """
        self._disarm()
        if self._dirty and not self._submit():
            return False
        if wait:
            self._writer.wait_idle()
            self._drain()
            return not self._dirty and self.last_error is None
        return True

    def save_now(self) -> bool:
        """File > Save now (Ctrl+S): write at once and wait, even a document without unsaved edits."""
        doc = self.document
        if not self.dirty and doc.annotation is not None and doc.json_path is not None:
            self._dirty = True
            self._changes += 1
        return self.flush()

    # ------------------------------------------------------------------ internals
    def _submit(self) -> bool:
        doc = self.document
        if doc.annotation is None or doc.json_path is None:
            self._dirty = False
            return True
        try:
            encoded = doc.save_bytes(with_image_data=self._with_image_data())
            if encoded is None:     # the image file is to be embedded: the document writes it itself
                path = doc.save(with_image_data=True)
        except (SegStudioError, OSError) as exc:
            self._failed(str(exc) if isinstance(exc, SegStudioError) else f"{doc.json_path}: {exc}")
            return False
        self._dirty = False
        if encoded is None:
            self._succeeded(Path(path))
            return True
        job = _Job(next(self._ids), encoded[0], encoded[1], self._changes, self._generation)
        self._inflight[job.id] = job
        self._writer.submit(job)
        return True

    def _on_written(self, job: _Job, error: str | None) -> None:   # on the writer thread
        self._results.append((job, error))
        try:
            self._written.emit()
        except RuntimeError:   # the Autosaver is gone (window closed): nobody to tell
            pass

    def _drain(self) -> None:
        while self._results:
            job, error = self._results.popleft()
            self._inflight.pop(job.id, None)
            current = job.generation == self._generation
            if error is not None:
                if current:
                    self._failed(error)
                else:
                    self.saveFailed.emit(error)
            elif current and job.changes == self._changes and not self._dirty:
                self.document.undo_stack.setClean()
                self._succeeded(job.path)
            else:   # an older state reached the disk; a newer one is pending or being written
                self.saved.emit(job.path)

    def _succeeded(self, path: Path) -> None:
        self.last_error = None
        if self.deadline is not None and not self._dirty:
            self._disarm()    # a retry: nothing is left to retry
        self.saved.emit(Path(path))

    def _failed(self, reason: str) -> None:
        self._dirty = True
        self.last_error = reason
        self.saveFailed.emit(reason)
        if self.enabled:
            self._arm(RETRY_MS)
