"""The training dock: settings form, Train / Stop / Resume, progress with ETA, live curves and the runs list.

What it shows belongs to the open project: opening another project clears the curves, the progress, the log
and the runs list (a run still training for the previous project goes on, out of sight, and its end is only
logged).  A run that finishes with a checkpoint becomes the project's model (the session's checkpoint, which
the Review dock follows and offers to "Predict all"); "Review the model" shows the Review dock.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QDockWidget, QHBoxLayout, QLabel, QMessageBox, QPlainTextEdit, QProgressBar,
                               QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from segstudio.core.errors import SegStudioError
from segstudio.core.session import Session
from segstudio.core.training import RunFolder, resume_point
from segstudio.gui.training.controller import TrainingController, format_seconds
from segstudio.gui.training.curves import CurvesWidget
from segstudio.gui.training.form import TrainForm
from segstudio.gui.training.plan_view import PlanView
from segstudio.gui.training.runs import RunsList

REFRESH_MS = 100  # repaint curves and the progress line at most 10 times a second


class TrainingDock(QDockWidget):
    """Train models on the project's annotated images in the background."""

    checkpointChosen = Signal(object)  # a run's checkpoint picked for prediction (Path)
    reviewRequested = Signal()         # "Review the model" after a run: show the Review dock

    def __init__(self, project=None, document=None, parent=None, *, torch_threads: Optional[int] = None,
                 session: Optional[Session] = None):
        super().__init__("Training", parent)
        self.setObjectName("TrainingDock")
        # the window's shared session; standalone (project, document) the dock makes its own
        self.session = session if session is not None else Session(project, document)
        self.controller = TrainingController(self, torch_threads=torch_threads)
        self.error_box: Optional[QMessageBox] = None
        self._status_dirty = False
        self._last_batch = None
        self._run_folder = None   # the project folder of the run being trained (its events show only there)
        self._shown_folder = None  # the project folder whose state the dock shows

        # a bottom dock: settings | curves | runs and log, side by side
        left = QWidget()
        lay = QVBoxLayout(left)
        lay.setContentsMargins(4, 4, 4, 4)
        self.form = TrainForm()
        lay.addWidget(self.form)
        self.plan_view = PlanView(torch_threads=torch_threads)   # Auto configuration: the plan before Start
        lay.addWidget(self.plan_view)
        buttons = QHBoxLayout()
        self.train_button = QPushButton("Train")
        self.train_button.setToolTip("Train a new model on the annotated images of the project")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current batch (last.pt is kept: Resume continues)")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the selected run (or the latest one) from its last.pt")
        self.review_button = QPushButton("Review the model")
        self.review_button.setToolTip("Show the Review panel: predict the images with the model this run made")
        self.review_button.hide()
        for b in (self.train_button, self.stop_button, self.resume_button, self.review_button):
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setFormat("%p%")
        self.status = QLabel("Idle")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addStretch(1)

        self.curves = CurvesWidget()
        self.runs = RunsList()
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(500)
        self.log.setPlaceholderText("Training messages")
        self.lower_tabs = QTabWidget()
        self.lower_tabs.addTab(self.runs, "Runs")
        self.lower_tabs.addTab(self.log, "Log")
        split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(self.curves)
        split.addWidget(self.lower_tabs)
        split.setStretchFactor(1, 1)
        split.setSizes([380, 640, 380])
        self.splitter = split
        self.setWidget(split)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self._connect()
        self._on_project(self.session.project)
        self.curves.set_class_colors(self.session.class_colors())

    def _connect(self) -> None:
        self.train_button.clicked.connect(self.start_training)
        self.stop_button.clicked.connect(self.stop_training)
        self.resume_button.clicked.connect(self.resume_training)
        self.form.changed.connect(self._replan)
        self.runs.checkpointChosen.connect(self.checkpointChosen)
        self.runs.resumeRequested.connect(self.resume_training)
        self.review_button.clicked.connect(self.reviewRequested)
        c = self.controller
        c.started.connect(self._on_started)
        c.batchEnded.connect(self._on_batch)
        c.epochEnded.connect(self._on_epoch)
        c.checkpointSaved.connect(lambda ev: self._log(f"saved {ev.kind} checkpoint {Path(ev.path).name}"))
        c.logged.connect(self._on_log)
        c.finished.connect(self._on_finished)
        c.failed.connect(self._on_failed)
        c.runningChanged.connect(self._update_buttons)
        c.runningChanged.connect(lambda running: self.runs.set_active(c.run_dir if running and self._shows_run()
                                                                      else None))
        self.timer.timeout.connect(self._refresh)
        self.checkpointChosen.connect(self.session.set_checkpoint)
        self.session.events.project.connect(self._on_project)
        self.session.events.classes.connect(self.curves.set_class_colors)

    # ------------------------------------------------------------------ project
    @property
    def project(self):
        return self.session.project

    @property
    def document(self):
        return self.session.document

    def set_project(self, project) -> None:
        self.session.set_project(project)

    def _on_project(self, project) -> None:
        folder = project.folder if project is not None else None
        if folder != self._shown_folder:   # another project: none of the previous one's run is shown
            self._shown_folder = folder
            self.curves.clear()
            self.log.clear()
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("%p%")
            self.status.setText("Idle")
            self.review_button.hide()
            self._last_batch = None
        self.runs.set_runs_dir(project.runs_dir if project is not None else None)
        self.runs.set_active(self.controller.run_dir if self.controller.running and self._shows_run() else None)
        self._update_buttons()
        self._replan()

    def _replan(self) -> None:
        """Auto configuration: plan for the form's settings (shown under the form before Start)."""
        self.plan_view.request(self.form, self.project)

    def _shows_run(self) -> bool:
        """Whether the controller's run (events of it) belongs to the project shown."""
        return self._run_folder is None or self._run_folder == self._shown_folder

    @property
    def running(self) -> bool:
        return self.controller.running

    def _update_buttons(self, *_):
        running = self.controller.running
        has_project = self.project is not None
        self.train_button.setEnabled(has_project and not running)
        self.resume_button.setEnabled(has_project and not running and bool(self.runs.runs))
        self.stop_button.setEnabled(running and not self._stopping())
        self.form.setEnabled(not running)
        self.runs.set_busy(running)

    def _stopping(self) -> bool:
        w = self.controller.worker
        return w is not None and w.is_cancelling()

    # ------------------------------------------------------------------ actions
    def flush_document(self) -> None:
        """Save unsaved edits of the open image so that training sees them (the session's flush: the window's
        autosaver, or the document itself when the dock runs standalone)."""
        if not self.session.flush():
            raise SegStudioError("the open image's edits could not be saved; fix that first",
                                 getattr(self.document, "json_path", None))

    def start_training(self, **overrides) -> bool:
        """Train a new model with the form's settings (``overrides``: TrainConfig keys). False on refusal."""
        if self.project is None or self.controller.running:
            return False
        try:
            self.flush_document()
            n = sum(1 for e in self.project.images if self.project.status(e) in ("annotated", "reviewed")
                    and e.json_path.exists())
            if n < 2:
                raise SegStudioError(f"training needs at least 2 annotated images (found {n})", self.project.folder)
            cfg = self.form.config(self.project, **overrides)
        except SegStudioError as exc:
            self.show_error("Cannot start training", str(exc))
            return False
        self.form.save_settings()
        auto = None
        if self.form.auto():   # the plan shown (planned in the worker first when it is not ready yet)
            auto = (self.plan_view.explicit(self.form, overrides), self.plan_view.plan_for(self.form, self.project,
                                                                                          **overrides))
            if auto[1] is not None:
                cfg = auto[1].config.replace(out=cfg.out)
        return self._start(cfg, f"Training {cfg.model} on {n} annotated images -> {cfg.out}", auto=auto)

    def resume_training(self, run_dir=None) -> bool:
        """Continue ``run_dir`` (default: the selected run, else the newest) from its last.pt."""
        if self.controller.running:
            return False
        if not isinstance(run_dir, (str, Path)):
            run = self.runs.selected_run() or (self.runs.runs[0] if self.runs.runs else None)
            run_dir = run.path if run else None
        if run_dir is None:
            self.show_error("Cannot resume", "there is no run to resume")
            return False
        try:
            self.flush_document()
            point = resume_point(run_dir)   # the same resume as `segstudio train --resume RUN_DIR`
        except SegStudioError as exc:
            self.show_error("Cannot resume", str(exc))
            return False
        return self._start(point.config, f"Resuming {Path(run_dir).name} from {point.checkpoint.name}",
                           history=_history(run_dir))

    def _start(self, cfg, message: str, history=(), auto=None) -> bool:
        self.curves.clear()
        self.curves.load_history(history)   # a resumed run keeps its earlier epochs on the plots
        self.curves.set_live(True)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.review_button.hide()
        self._last_batch = None
        self._run_folder = self.project.folder if self.project is not None else None
        self._log(message)
        self.status.setText("Starting...")
        engine = self.controller.engine
        if auto is not None:   # Auto configuration: plan (unless shown), train, choose the post-processing
            from segstudio.core.training.planner import planned_events

            explicit, plan = auto

            def planned(config, cancel=None):
                base = engine
                if base is None:   # the controller's default: the core engine (imported in the worker)
                    from segstudio.core.training import train as base
                return planned_events(config, explicit, base, cancel=cancel, plan=plan)

            self.controller.engine = planned
        try:
            self.controller.start(cfg)
        except Exception as exc:  # noqa: BLE001 - import problems of the engine are shown, not raised
            self.curves.set_live(False)
            self.show_error("Cannot start training", str(exc))
            return False
        finally:
            self.controller.engine = engine
        self.timer.start()
        self._update_buttons()
        return True

    def stop_training(self) -> None:
        if self.controller.running:
            self.controller.stop()
            self.status.setText("Stopping after the current batch...")
            self._log("Stop requested")
            self._update_buttons()

    # ------------------------------------------------------------------ events
    def _on_started(self, ev) -> None:
        if not self._shows_run():
            return
        self._log(f"{ev.n_train} training / {ev.n_val} validation images on {ev.device}")
        self.status.setText(f"Preparing: {ev.n_train} training / {ev.n_val} validation images on {ev.device}...")
        self.progress.setRange(0, max(1, ev.config.epochs))
        self.runs.refresh()
        self.runs.select_run(self.controller.run_dir)

    def _on_log(self, ev) -> None:
        if not self._shows_run():
            return
        self._log(ev.message)
        if self._last_batch is None and self.controller.running:
            # before the first batch the engine decodes and caches the images: say so instead of "Starting"
            self.status.setText(f"Preparing: {ev.message}...")

    def _on_batch(self, ev) -> None:
        if not self._shows_run():
            return
        self.curves.add_batch(ev.epoch, ev.batch, ev.n_batches, ev.loss)
        self._last_batch = ev
        self._status_dirty = True

    def _on_epoch(self, ev) -> None:
        if not self._shows_run():
            return
        self.curves.add_epoch(ev.epoch, ev.train_loss, ev.val_loss, ev.metrics)
        m = ev.metrics.get("miou")
        self._log(f"epoch {ev.epoch}: train loss {ev.train_loss:.4f}, val loss {ev.val_loss:.4f}"
                  + (f", val mIoU {m:.3f}" if m is not None else "") + (" (best)" if ev.best else ""))
        self._status_dirty = True
        self.runs.refresh()   # epochs done and best mIoU of the running run

    def _on_finished(self, ev) -> None:
        self.curves.set_live(False)
        if not self._shows_run():   # the run of a project no longer shown: a line in its log is enough
            self.timer.stop()
            return
        self._refresh()
        self.timer.stop()
        epochs = self.controller.config.epochs if self.controller.config else ev.epochs_done
        self.progress.setRange(0, 1000)
        if ev.reason == "completed" or ev.epochs_done >= epochs:
            self.progress.setValue(1000)
            self.progress.setFormat(f"done: {ev.epochs_done}/{epochs} epochs  100%")
        else:
            self.progress.setValue(int(1000 * ev.epochs_done / max(epochs, 1)))
            how = {"early_stop": "stopped early", "time_budget": "time budget reached",
                   "cancelled": "stopped"}.get(ev.reason, ev.reason)
            self.progress.setFormat(f"{how} at epoch {ev.epochs_done}/{epochs}")
        text = f"Finished ({ev.reason.replace('_', ' ')}): best val mIoU {ev.best_miou:.3f}"
        ckpt = RunFolder(ev.run_dir).checkpoint()
        if ckpt is not None:   # the run's model becomes the project's model
            self.checkpointChosen.emit(ckpt)
            text += f" · {ckpt.parent.name}/{ckpt.name} is now the model for prediction"
            self.review_button.show()
        self.status.setText(text)
        self._log(f"finished: {ev.reason}, best val mIoU {ev.best_miou:.3f} -> {ev.run_dir}")
        self.runs.refresh()
        self.runs.select_run(ev.run_dir)

    def _on_failed(self, message: str) -> None:
        self.curves.set_live(False)
        self.timer.stop()
        self._refresh()
        self.status.setText("Failed: " + message.splitlines()[0] if message else "Failed")
        self._log("error: " + message)
        self.runs.refresh()
        self.show_error("Training failed", message)

    def _refresh(self) -> None:
        self.curves.refresh()
        ev = self._last_batch
        if not self._status_dirty or ev is None:
            return
        self._status_dirty = False
        c = self.controller
        epochs = c.config.epochs if c.config else ev.epoch
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * ((ev.epoch - 1) + ev.batch / max(ev.n_batches, 1)) / max(epochs, 1)))
        self.progress.setFormat(f"epoch {ev.epoch}/{epochs}  %p%")
        eta = c.eta.seconds_left() if c.eta else None
        self.status.setText(f"Epoch {ev.epoch}/{epochs} · batch {ev.batch}/{ev.n_batches} · "
                            f"{ev.images_per_s:.1f} img/s · loss {ev.loss:.4f} · ETA {format_seconds(eta)}")

    # ------------------------------------------------------------------ layout
    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self.orient()

    def orient(self) -> None:
        """Side by side when the dock is wide (bottom area, floating), in a column when it is narrow."""
        o = Qt.Horizontal if self.width() > 1.4 * self.height() else Qt.Vertical
        if self.splitter.orientation() != o:
            self.splitter.setOrientation(o)
            if o == Qt.Horizontal:   # the curves get the largest share
                w = max(self.width(), 600)
                self.splitter.setSizes([int(w * 0.36), int(w * 0.40), int(w * 0.24)])
            self.curves.set_orientation(o)
            self.form.set_columns(2 if o == Qt.Horizontal else 1)

    # ------------------------------------------------------------------ helpers
    def _log(self, text: str) -> None:
        self.log.appendPlainText(text)

    def show_error(self, title: str, message: str) -> None:
        """A non-blocking error dialog (the app keeps running); kept in ``error_box`` for tests."""
        if self.error_box is not None:
            self.error_box.close()
        box = QMessageBox(QMessageBox.Critical, title, message, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose, False)
        self.error_box = box
        box.open()

    def shutdown(self, ms: int = 120000) -> None:
        """Stop a running training and wait for its thread (window close)."""
        self.plan_view.shutdown(ms)
        if self.controller.running:
            self.controller.stop()
            self.controller.wait(ms)


def _history(run_dir) -> list:
    """The earlier epochs of a run (metrics.csv), [] when they cannot be read."""
    from segstudio.core.errors import SegStudioError as _Err

    try:
        return RunFolder(run_dir).history()
    except _Err:
        return []
