"""The automatic configuration's plan, shown in the Training dock before Start.

:class:`PlanView` plans (``core.training.planner.plan_run``: fingerprint, a few measured training steps) on a
worker thread whenever the form or the project changes (debounced), and shows the result as one line —
"Auto: 128 px, U-Net base 8, batch 4, ~42 epochs in 15 min on cpu — because …" — with every choice and its
reason in the tooltip.  Train uses the plan shown when it matches the form; otherwise the run plans first (in
the training worker, before the first epoch).  With Manual configuration the view is hidden.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel

from segstudio.core.errors import Cancelled, SegStudioError
from segstudio.gui.workers import Worker

DEBOUNCE_MS = 400
#: planning workers still running (a view deleted meanwhile must not destroy a running thread)
_RUNNING: set = set()


class PlanView(QLabel):
    """One line of plan (word-wrapped) with the reasons in its tooltip; see the module docstring."""

    planReady = Signal(object)    # core.training.planner.Plan
    planFailed = Signal(str)

    def __init__(self, parent=None, *, torch_threads: Optional[int] = None):
        super().__init__(parent)
        self.setObjectName("PlanView")
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.torch_threads = torch_threads
        self.plan = None
        self._key = None
        self._want = None            # (config, explicit fields, key) of the plan wanted now
        self._worker: Optional[Worker] = None
        self._callbacks: list[Callable[[], None]] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._run)
        self._deferred = False       # a plan is wanted but the view is not on screen: plan when shown
        self._running_key = None
        self.hide()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self._deferred:
            self._deferred = False
            self._timer.start()

    # ------------------------------------------------------------------ requests (GUI thread)
    @staticmethod
    def _wanted(form, project, overrides: dict):
        cfg = form.config(project, out=Path(project.runs_dir) / "plan", **overrides)
        explicit = PlanView.explicit(form, overrides)
        if cfg.max_minutes:
            explicit.add("max_minutes")
        key = (str(project.folder), repr(sorted(form.values().items())), tuple(sorted(explicit)),
               repr(sorted(overrides.items())))
        return cfg, explicit, key

    @staticmethod
    def explicit(form, overrides: dict) -> set:
        """The fields the plan keeps: the user's (form) and the caller's overrides."""
        return form.explicit_fields() | set(overrides)

    def request(self, form, project, **overrides) -> None:
        """Plan for the form's settings (debounced, on a worker thread) unless the plan shown is for them."""
        if project is None or not form.auto():
            self._want, self.plan, self._key = None, None, None
            self._callbacks.clear()
            self.hide()
            return
        self.show()
        try:
            cfg, explicit, key = self._wanted(form, project, overrides)
        except SegStudioError as exc:
            self._want = None
            self.setText(f"Auto: cannot plan: {exc}")
            return
        if key == self._key and self.plan is not None:
            return
        self._want = (cfg, explicit, key)
        self.plan = None
        self.setText("Auto: planning from the data...")
        self.setToolTip("")
        self._timer.start()

    def plan_for(self, form, project, **overrides):
        """The plan shown, when it was made for these settings; else None."""
        if project is None or self.plan is None:
            return None
        try:
            return self.plan if self._wanted(form, project, overrides)[2] == self._key else None
        except SegStudioError:
            return None

    def when_ready(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` once, when the plan being made is ready (dropped when planning fails or is replaced)."""
        self._callbacks.append(fn)

    @property
    def busy(self) -> bool:
        return self._worker is not None or self._timer.isActive()

    def shutdown(self, ms: int = 60000) -> None:
        """Cancel planning and wait for its thread (window close)."""
        self._timer.stop()
        self._want = None
        w = self._worker
        if w is not None:
            w.cancel()
            w.wait(ms)

    # ------------------------------------------------------------------ the worker
    def _run(self) -> None:
        if self._want is None:
            return
        if not self.isVisible():   # nobody sees it: plan when the dock is shown (Train plans in any case)
            self._deferred = True
            return
        if self._worker is not None:   # replanning: the running one stops, its done slot starts this one
            self._worker.cancel()
            return
        cfg, explicit, key = self._want
        from segstudio.core.training.planner import plan_run

        def work(emit, cancel):
            plan = plan_run(cfg, explicit, progress=emit, cancel=cancel)
            if plan is None:
                raise Cancelled("planning cancelled")
            return plan

        # no parent: a view deleted while planning cancels the work, the thread ends on its own (_RUNNING keeps
        # it alive); bound-method slots are disconnected with the view
        worker = Worker(work, torch_threads=self.torch_threads, name="planning")
        worker.event.connect(self._progress)
        worker.result.connect(self._ready)
        worker.failed.connect(self._failed)
        worker.done.connect(self._worker_done)
        worker.done.connect(lambda w=worker: _RUNNING.discard(w))
        self.destroyed.connect(worker.cancel)
        _RUNNING.add(worker)
        self._worker, self._running_key = worker, key
        worker.start()

    def _progress(self, msg) -> None:
        self.setText(f"Auto: {msg}...")

    def _ready(self, plan) -> None:
        key = self._running_key
        if self._want is None or key != self._want[2]:
            return   # made for settings changed since
        self.plan, self._key = plan, key
        self.setText(plan.summary)
        self.setToolTip("\n".join(f"{k}: {v['value']!r} ({v['source']}) — {v['reason']}"
                                  for k, v in plan.choices.items()) + "".join(f"\n{n}" for n in plan.notes))
        self.planReady.emit(plan)
        callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            fn()

    def _failed(self, exc) -> None:
        if self._want is None or self._running_key != self._want[2]:
            return
        self._callbacks.clear()
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        self.setText(f"Auto: planning failed: {text}")
        self.planFailed.emit(text)

    def _worker_done(self) -> None:
        self._worker = None
        if self._want is not None and self._want[2] != self._key:
            self._timer.start()   # the settings changed while planning: plan again
