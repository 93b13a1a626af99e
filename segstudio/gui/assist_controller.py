"""Model-assisted annotation in the window: runs core/interactive off the GUI thread and turns each result into
ordinary undoable shapes of the current class.

:class:`AssistController` owns the object being refined (an :class:`~segstudio.core.interactive.Interaction`):

* ``request_box(rect)`` starts a new object, ``request_click(x, y, positive)`` refines it (or starts one from
  a click), ``request_mask(mask, text)`` adds a finished region (magic wand), ``end_object()`` ends it;
* requests run one at a time, in order, on a :class:`~segstudio.gui.workers.Worker`; ``busyChanged`` drives
  the busy indicator; the GUI thread never waits for them;
* every result is ONE undo step: the first adds the object's shapes, each click replaces them in place.
  Undo/redo of those steps puts the object back in the state of that step (its clicks), so the next click
  continues from what the user sees; any other edit of the object's shapes ends it;
* a bad prompt (box outside the image, 1-pixel box, blank image, a model for another class count, a
  missing/invalid plugin file) is a ``message`` (status bar): no shape is changed, nothing is written.
"""
from __future__ import annotations

import os
from collections import deque
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from PySide6.QtCore import QObject, QSettings, Signal

from segstudio.core.errors import SegStudioError
from segstudio.core.interactive import (
    METHODS, Interaction, ModelPrior, PromptError, mask_to_object_shapes,
)
from segstudio.gui.workers import Worker, error_text

FALLBACK = "grabcut"


def setting_key(method: str, key: str) -> str:
    return f"assist/{method}/{key}"


class AssistController(QObject):
    busyChanged = Signal(bool)
    message = Signal(str, bool)        # text, is_error
    objectChanged = Signal()           # the object's clicks / box changed (markers)
    resultApplied = Signal(str)        # undo text of the step just pushed

    def __init__(self, canvas, checkpoint: Callable[[], Optional[Path]] = lambda: None,
                 class_names: Callable[[], Optional[list]] = lambda: None, parent=None):
        super().__init__(parent)
        self.canvas = canvas
        self.document = canvas.document
        self.checkpoint = checkpoint
        self.class_names = class_names
        s = QSettings()
        self.method = str(s.value("assist/method", "model"))
        if self.method not in METHODS.names():
            self.method = "model"
        self.shape_mode = str(s.value("assist/shape_mode", "polygon"))
        self.interaction: Optional[Interaction] = None
        self._object: tuple = ()           # the shapes of the object in the document (identity)
        self._history: list[tuple] = []    # (shapes tuple, box, clicks, mask) after each step
        self._queue: deque = deque()
        self._worker: Optional[Worker] = None
        self._models: dict = {}
        self._applying = False
        self._generation = 0               # bumped when the image changes: stale results are dropped
        self.document.loaded.connect(self._on_loaded)
        self.document.changed.connect(self._on_changed)

    # ------------------------------------------------------------------ settings
    def set_method(self, name: str) -> None:
        METHODS.get(name)   # unknown names raise, listing the known ones
        if name != self.method:
            self.end_object()
            self.method = name
            QSettings().setValue("assist/method", name)
            self.prepare_image()

    def set_shape_mode(self, mode: str) -> None:
        self.shape_mode = mode
        QSettings().setValue("assist/shape_mode", mode)

    @property
    def busy(self) -> bool:
        return self._worker is not None

    @property
    def clicks(self):
        return list(self.interaction.clicks) if self.interaction is not None and self._object else []

    # ------------------------------------------------------------------ requests (GUI thread)
    def request_box(self, rect) -> None:
        self._submit("box", tuple(float(v) for v in rect))

    def request_click(self, x: float, y: float, positive: bool) -> None:
        self._submit("click", (float(x), float(y), bool(positive)))

    def request_mask(self, mask: np.ndarray, text: str) -> None:
        self._submit("mask", (mask, text))

    def end_object(self) -> None:
        self.interaction, self._object, self._history = None, (), []
        self.objectChanged.emit()

    def prepare_image(self) -> None:
        """Per-image work of methods that have it (a SAM embedding), on the worker, ahead of the first box."""
        cls = METHODS.get(self.method)
        if hasattr(cls, "prepare") and self.document.image is not None and self._plugin_values(cls)[1]:
            self._submit("prepare", ())

    def _submit(self, kind: str, args) -> None:
        if self.document.annotation is None or self.document.image is None:
            self.message.emit("Open an image first", True)
            return
        label = self.canvas.current_label
        if kind != "prepare" and not label:
            self.message.emit("Choose a class first (keys 1-9 or the Classes list): the result gets its label",
                              True)
            return
        self._queue.append((kind, args, label, self._generation))
        self._pump()

    # ------------------------------------------------------------------ the worker
    def _pump(self) -> None:
        if self._worker is not None or not self._queue:
            return
        kind, args, label, generation = self._queue.popleft()
        if generation != self._generation:
            self._pump()
            return
        try:
            job = self._job(kind, args, label)
        except SegStudioError as exc:
            self.message.emit(str(exc), True)
            self._pump()
            return
        worker = Worker(job, name="assist", parent=self)
        worker.result.connect(lambda value, k=kind, g=generation: self._on_result(k, g, value))
        worker.failed.connect(lambda exc: self.message.emit(error_text(exc), True))
        worker.done.connect(self._on_done)
        self._worker = worker
        self.busyChanged.emit(True)
        worker.start()

    def _on_done(self) -> None:
        self._worker = None
        if self._queue:
            self._pump()
        else:
            self.busyChanged.emit(False)

    def wait(self, ms: int = 30000) -> bool:
        """Block until the queue is empty (tests, shutdown)."""
        from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEventLoop

        deadline = QDeadlineTimer(ms)
        while (self._worker is not None or self._queue) and not deadline.hasExpired():
            if self._worker is not None:
                self._worker.wait(50)
            QCoreApplication.processEvents(QEventLoop.AllEvents, 50)
        return self._worker is None and not self._queue

    def shutdown(self) -> None:
        self._queue.clear()
        if self._worker is not None:
            self._worker.cancel()
            self._worker.wait(10000)

    def _job(self, kind: str, args, label: str):
        """The work function for the worker (GUI-thread inputs captured here, nothing Qt used inside)."""
        image, mode = self.document.image, self.shape_mode
        if kind == "mask":
            mask, _text = args
            return lambda emit, cancel: mask_to_object_shapes(mask, label, mode=mode)
        method, model_spec, note = self._method_and_model()
        if note:
            self.message.emit(note, False)
        inter = self.interaction if (kind == "click" and self._object) else None
        models = self._models

        def work(emit, cancel):
            model = _load_model(models, method, model_spec, label)
            if kind == "prepare":
                METHODS.get(method).prepare(model, image)
                return None
            it = inter if inter is not None and inter.method_name == method else None
            if it is None:
                it = Interaction(image, method, model=model)
                if inter is not None:   # a method switch mid-object: replay the box and clicks
                    it.box, it.clicks = inter.box, list(inter.clicks)
            if kind == "box":
                it.set_box(args)
            else:   # refines the object, or starts one from this click
                it.add_click(*args)
            return it, mask_to_object_shapes(it.mask, label, mode=mode)

        return work

    def _method_and_model(self):
        """(method name, model spec, note) - the project's model falls back to GrabCut when none is chosen."""
        cls = METHODS.get(self.method)
        if self.method in ("model", "model+grabcut"):
            ckpt = self.checkpoint()
            if ckpt is None or not Path(ckpt).is_file():
                why = "no model is chosen for this project" if ckpt is None else f"{ckpt} does not exist"
                return FALLBACK, None, f"GrabCut used: {why} (train one, or choose one in the Review dock)"
            return self.method, ("checkpoint", str(ckpt), os.path.getmtime(ckpt), tuple(self.class_names() or ())), ""
        if getattr(cls, "needs_model", False):
            values, ok = self._plugin_values(cls)
            if not ok:
                raise PromptError(getattr(cls, "setup_help", f"{self.method}: its model files are not configured"))
            return self.method, ("plugin", tuple(sorted(values.items()))), ""
        return self.method, None, ""

    def _plugin_values(self, cls) -> tuple[dict, bool]:
        keys = getattr(cls, "settings", {}) or {}
        s = QSettings()
        values = {k: str(s.value(setting_key(self.method, k), "") or "") for k in keys}
        return values, bool(keys) and all(values.values())

    # ------------------------------------------------------------------ results (GUI thread)
    def _on_result(self, kind: str, generation: int, value) -> None:
        if generation != self._generation or self.document.annotation is None or value is None:
            return
        if kind == "mask":
            self._apply(value, "Magic wand", new=True)
            self.end_object()
            return
        inter, shapes = value
        new = kind == "box" or not self._object or not self._object_in_document()
        self.interaction = inter
        text = {"box": "Assist: box", "click": "Assist: click"}[kind]
        self._apply(shapes, text, new=new)
        self._history.append((self._object, inter.box, list(inter.clicks), inter.mask))
        self.objectChanged.emit()

    def _object_in_document(self) -> bool:
        ids = {id(s) for s in self.document.shapes()}
        return bool(self._object) and all(id(s) in ids for s in self._object)

    def _apply(self, shapes: list, text: str, *, new: bool) -> None:
        current = self.document.shapes()
        if new or not self._object_in_document():
            before, at = current, len(current)
        else:
            mine = {id(s) for s in self._object}
            at = next(i for i, s in enumerate(current) if id(s) in mine)
            before = [s for s in current if id(s) not in mine]
        after = before[:at] + list(shapes) + before[at:]
        self._applying = True
        try:
            self.document.set_shapes(after, text, list(range(at, at + len(shapes))))
        finally:
            self._applying = False
        self._object = tuple(shapes)
        self.resultApplied.emit(text)

    def _on_changed(self) -> None:
        """Undo/redo of our steps restores the object's state; another edit of its shapes ends it."""
        if self._applying or not self._history:
            return
        ids = {id(s) for s in self.document.shapes()}
        for shapes, box, clicks, mask in reversed(self._history):
            if shapes and all(id(s) in ids for s in shapes):
                self._object = shapes
                if self.interaction is not None:
                    self.interaction.box, self.interaction.clicks, self.interaction.mask = box, list(clicks), mask
                self.objectChanged.emit()
                return
        self._object = ()
        self.objectChanged.emit()

    def _on_loaded(self) -> None:
        self._generation += 1
        self._queue.clear()
        self.end_object()
        self.prepare_image()


def _load_model(cache: dict, method: str, spec, label: str):
    """The model object of a method (cached: a checkpoint is loaded once, a plugin's files once)."""
    if spec is None:
        return None
    if spec[0] == "checkpoint":
        _, path, _mtime, names = spec
        key = (spec, label)
        if key not in cache:
            cache.clear()
            cache[key] = ModelPrior.from_checkpoint(path, label, list(names) or None, device="cpu")
        return cache[key]
    key = (method, spec)
    if key not in cache:
        cache[key] = METHODS.get(method).load_model(dict(spec[1]))
    return cache[key]
