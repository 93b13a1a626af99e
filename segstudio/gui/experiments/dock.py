"""The Experiments dock: build or open a plan, run its queue in the background, compare the runs.

Three columns (a column each when the dock is wide, stacked when it is narrow): the plan form with **Open
plan...** / **Save plan...**; the queue table with **Start** / **Cancel** / **Resume**, a progress bar and
**Open experiment...**; the comparison view (curves overlaid, results table, Wilcoxon compare, exports).
Every plan is checked by the core's ``load_plan`` before it is saved or run, so the dock shows the same
``<file>: <reason>`` as ``segstudio experiment`` and nothing trains on a bad plan.  The queue is the core's
(each run a ``segstudio train`` subprocess, then the held-out evaluation), worked on a worker thread.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QMessageBox,
                               QProgressBar, QPushButton, QScrollArea, QSplitter, QTabWidget, QVBoxLayout,
                               QWidget)

from segstudio.core.errors import SegStudioError
from segstudio.core.session import Session
from segstudio.gui.experiments.compare import ComparisonView
from segstudio.gui.experiments.plan_form import PlanForm
from segstudio.gui.experiments.plan_actions import PlanActions
from segstudio.gui.experiments.plan_io import PlanChecker, load_plan, read_yaml
from segstudio.gui.experiments.queue_view import (UNFINISHED, QueueRunner, QueueTable, interrupted, plan_epochs,
                                                   write_report)

REFRESH_MS = 1000
#: narrower than this, the queue and the comparison share a column as tabs
WIDE_PX = 1500   # the comparison view re-reads the runs' files at most once a second while a queue runs


class ExperimentsDock(PlanActions, QDockWidget):
    """Plan, run and compare experiments (a grid of training runs) on the project's data."""

    planChecked = Signal(object, str)   # (plan file, "" when valid else the reason): after Open / Save plan

    def __init__(self, project=None, parent=None, *, session: Optional[Session] = None,
                 torch_threads: Optional[int] = None):
        super().__init__("Experiments", parent)
        self.setObjectName("ExperimentsDock")
        self.session = session if session is not None else Session(project, None)
        self.runner = QueueRunner(self, torch_threads=torch_threads)
        self.checker = PlanChecker(self)
        self._after_check = (False, False)   # (opened, then_start) of the check in progress
        self._starting = False               # the runner is still checking the plan / making the folder
        self.plan_path: Optional[Path] = None    # the plan file the form shows (saved or opened)
        self.plan_dirty = True                   # the form changed since it was saved / opened
        self.exp_dir: Optional[Path] = None      # the experiment folder the queue and comparison show
        self.error_box: Optional[QMessageBox] = None
        self.resume_box: Optional[QMessageBox] = None
        self._shown_folder = None
        plan_col, queue_col = self._build_plan_column(), self._build_queue_column()
        self.compare = ComparisonView()
        self.queue_col = queue_col
        self.tabs = QTabWidget()   # queue | comparison as tabs when the dock is too narrow for three columns
        split = QSplitter(Qt.Horizontal)
        for w in (plan_col, queue_col, self.compare, self.tabs):
            split.addWidget(w)
        self.tabs.hide()
        self.wide = True
        split.setStretchFactor(2, 1)
        split.setSizes([470, 520, 930, 0])
        self.splitter = split
        self.setWidget(split)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self._compare_dirty = False
        self.confirm_discard = self._confirm_discard   # asks before the form's unsaved changes are replaced
        self._connect()
        self._on_project(self.session.project)
        self.mark_clean()

    def _build_plan_column(self) -> QWidget:
        """Open plan... / Save plan..., the plan file, the form (scrolls when the dock is short)."""
        self.form = PlanForm()
        self.open_plan_button = QPushButton("Open plan...")
        self.save_plan_button = QPushButton("Save plan...")
        self.save_plan_button.setToolTip("Check the plan and write it as YAML (segstudio experiment PLAN.yaml)")
        self.plan_label = QLabel("Plan not saved yet")
        self.plan_label.setWordWrap(True)
        plan_col = QWidget()
        pl = QVBoxLayout(plan_col)
        pl.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        row.addWidget(self.open_plan_button)
        row.addWidget(self.save_plan_button)
        pl.addLayout(row)
        pl.addWidget(self.plan_label)
        form_scroll = QScrollArea()
        form_scroll.setWidgetResizable(True)
        form_scroll.setFrameShape(QScrollArea.NoFrame)
        form_scroll.setWidget(self.form)
        pl.addWidget(form_scroll, 1)
        return plan_col

    def _build_queue_column(self) -> QWidget:
        """Start / Cancel / Resume / Open experiment..., Retry failed / Use for prediction, the table, progress."""
        self.table = QueueTable()
        self.open_exp_button = QPushButton("Open experiment...")
        self.open_exp_button.setToolTip("Open an experiment folder (its queue.json): its runs, results, Resume")
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Run the plan's queue in the background, one run after another")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the current run (it stays resumable) and the queue")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the queue: the interrupted run from its last checkpoint, then "
                                      "the pending ones")
        self.exp_label = QLabel("No experiment open")
        self.exp_label.setWordWrap(True)
        self.exp_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.status = QLabel("Build a plan or open one, then Start")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        queue_col = QWidget()
        ql = QVBoxLayout(queue_col)
        ql.setContentsMargins(4, 4, 4, 4)
        self.retry_button = QPushButton("Retry failed")
        self.retry_button.setToolTip("Run the failed runs again (after fixing what made them fail)")
        self.use_button = QPushButton("Use for prediction")
        self.use_button.setToolTip("Predict with the selected run's best.pt: the Review panel follows")
        buttons = QGridLayout()
        for i, b in enumerate((self.start_button, self.cancel_button, self.resume_button, self.open_exp_button)):
            buttons.addWidget(b, 0, i)
        buttons.addWidget(self.retry_button, 1, 0, 1, 2)
        buttons.addWidget(self.use_button, 1, 2, 1, 2)
        ql.addLayout(buttons)
        ql.addWidget(self.exp_label)
        ql.addWidget(self.table, 1)
        ql.addWidget(self.progress)
        ql.addWidget(self.status)
        return queue_col

    def _connect(self) -> None:
        self.open_plan_button.clicked.connect(lambda: self.open_plan())
        self.save_plan_button.clicked.connect(lambda: self.save_plan())
        self.open_exp_button.clicked.connect(lambda: self.open_experiment())
        self.start_button.clicked.connect(lambda: self.start())
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button.clicked.connect(lambda: self.resume())
        self.retry_button.clicked.connect(lambda: self.resume(retry_failed=True))
        self.use_button.clicked.connect(lambda: self.use_selected())
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemSelectionChanged.connect(lambda: self.compare.highlight(self.selected_run()))
        self.table.itemDoubleClicked.connect(lambda _item: self.use_selected())
        self.form.changed.connect(self._form_changed)
        self.checker.checked.connect(self._on_plan_checked)
        self.checker.failed.connect(self._on_plan_failed)
        self.checker.busyChanged.connect(self._update_buttons)
        self.runner.event.connect(self._on_event)
        self.runner.failed.connect(self._on_failed)
        self.runner.runningChanged.connect(self._on_running)
        self.compare.message.connect(self.show_status)
        self.timer.timeout.connect(lambda: (self._refresh_compare(now=False), self._update_progress()))
        self.session.events.project.connect(self._on_project)

    # ------------------------------------------------------------------ project and plan
    @property
    def project(self):
        return self.session.project

    @property
    def running(self) -> bool:
        return self.runner.running

    def _on_project(self, project) -> None:
        folder = project.folder if project is not None else None
        if folder != self._shown_folder:
            previous, self._shown_folder = self._shown_folder, folder
            if not self.form.data.text() or (previous is not None and Path(self.form.data.text()) == previous):
                edited = self.edited()
                if folder is not None and self.form.base_dir is None:
                    self.form.base_dir = Path(folder)
                self.form.set_data_folder(folder)   # the project's images are the plan's data unless you chose
                if not edited:
                    self.mark_clean()
        self._update_buttons()

    # ------------------------------------------------------------------ queue
    def start(self, plan_path=None) -> bool:
        """Run a plan (``plan_path``, else the form's, saved first when it changed) in the background: on the
        worker the core checks it (``load_plan``: a bad plan stops here, nothing trains), makes its experiment
        folder (or reopens it when the same plan ran there before) and works its queue.  False when nothing was
        started."""
        if self.running or self.checker.busy:
            return False
        if plan_path is None and self.plan_path is None and not self.plan_dirty and self.exp_dir is not None:
            return self.resume()   # an opened experiment's plan, unchanged: work its queue
        if plan_path is None:
            if self.plan_dirty or self.plan_path is None:
                return self.save_plan(self.plan_path, then_start=True)
            plan_path = self.plan_path
        plan_path = Path(plan_path)

        def make_queue(_exp):
            from segstudio.core.experiments.queue import ExperimentQueue

            plan = load_plan(plan_path)
            return ExperimentQueue.create(plan, plan.default_dir())

        self._starting = True
        return self._run(f"Checking {plan_path.name} and preparing its experiment folder...", make_queue)

    def open_experiment(self, exp_dir=None) -> bool:
        """Show an experiment folder's queue and results; an interrupted queue offers Resume."""
        if not self.running and not self.discard_ok():
            return False
        if exp_dir is None:
            exp_dir = QFileDialog.getExistingDirectory(self, "Open experiment folder", self._start_dir())
            if not exp_dir:
                return False
        if self.running:
            self.show_error("Cannot open another experiment", "wait until the running queue ends or cancel it")
            return False
        exp_dir = Path(exp_dir)
        try:
            from segstudio.core.experiments.queue import ExperimentQueue

            queue = ExperimentQueue.open(exp_dir)
        except SegStudioError as exc:
            self.show_error("Cannot open the experiment", str(exc))
            return False
        plan_file = exp_dir / "plan.yaml"
        try:
            self.form.set_plan(read_yaml(plan_file), plan_dir=Path(queue.doc.get("plan_file") or plan_file).parent)
            # the copy in EXP is not the user's plan file: unchanged, Start works this folder's queue
            self.plan_path, self.plan_dirty = None, False
            self.mark_clean()
        except SegStudioError:
            pass
        self._show_queue(exp_dir, queue.entries)
        self._update_plan_label()
        left = [e for e in queue.entries if e.status in UNFINISHED]
        if interrupted(queue.entries):
            self._offer_resume(len(queue.entries) - len(left), len(queue.entries))
        else:
            self.show_status(f"Opened {exp_dir.name}: " + self._count_text())
        return True

    def resume(self, retry_failed: bool = False) -> bool:
        """Continue the open experiment's queue (the interrupted run from its checkpoint, then the pending;
        ``retry_failed``: the failed runs too)."""
        if self.running or self.exp_dir is None:
            return False
        if self.resume_box is not None:
            self.resume_box.close()
            self.resume_box = None
        self._starting = False
        what = "Running the failed and unfinished runs" if retry_failed else "Resuming the queue"
        return self._run(f"{what} of {self.exp_dir}", retry_failed=retry_failed)

    def selected_run(self) -> Optional[str]:
        rows = {i.row() for i in self.table.selectedItems()}
        if len(rows) != 1:
            return None
        item = self.table.item(rows.pop(), 0)
        return item.text() if item is not None else None

    def use_selected(self) -> bool:
        """The selected run's best.pt becomes the project's model (the session's checkpoint: Review follows)."""
        run_id = self.selected_run()
        run_dir = self.table.state.get(run_id, {}).get("run_dir") if run_id else None
        best = Path(run_dir) / "best.pt" if run_dir is not None else None
        if best is None or not best.is_file():
            return False
        self.session.set_checkpoint(best)
        self.show_status(f"{run_id}/best.pt is now the model for prediction (Review panel)")
        return True

    def cancel(self) -> None:
        if self.running:
            self.runner.cancel()
            self.show_status("Cancelling the current run (it stays resumable)...")
            self._update_buttons()

    def _show_queue(self, exp_dir: Path, entries) -> None:
        self.exp_dir = Path(exp_dir)
        self.exp_label.setText(f"Experiment: {self.exp_dir}")
        self.table.set_entries(entries, *plan_epochs(self.exp_dir))
        self.compare.set_experiment(self.exp_dir)
        self._update_progress()
        self._update_buttons()

    def _run(self, message: str, queue_factory=None, retry_failed: bool = False) -> bool:
        try:
            self.runner.start(self.exp_dir, queue_factory, after=write_report, retry_failed=retry_failed)
        except RuntimeError as exc:
            self.show_error("Cannot start the experiment", str(exc))
            return False
        self.show_status(message)
        self.timer.start()
        self._update_buttons()
        return True

    def _offer_resume(self, done: int, total: int) -> None:
        text = (f"The queue of {self.exp_dir.name} was interrupted ({done} of {total} runs finished). "
                "Resume continues it: the interrupted run from its last checkpoint, then the others.")
        self.show_status(text)
        box = QMessageBox(QMessageBox.Question, "Resume the experiment?", text, QMessageBox.NoButton, self)
        resume = box.addButton("Resume", QMessageBox.AcceptRole)
        box.addButton("Later", QMessageBox.RejectRole)
        box.setDefaultButton(resume)
        resume.clicked.connect(lambda: self.resume())
        box.setAttribute(Qt.WA_DeleteOnClose, False)
        self.resume_box = box
        box.open()

    # ------------------------------------------------------------------ events
    def _on_event(self, ev) -> None:
        kind = type(ev).__name__
        if kind == "QueueReady":   # the queue the worker opened or made: its runs
            self._starting = False
            self._show_queue(ev.exp_dir, ev.entries)
            self.show_status(f"Running {len(ev.entries)} runs in {ev.exp_dir}")
        elif kind == "RunStarted":
            self.table.update_run(ev.id, status="running", error="", started=self.table.clock())
            self.show_status(f"Run {ev.index + 1}/{ev.total}: {ev.id}")
        elif kind == "RunProgress":
            st = self.table.state.get(ev.id, {})
            miou = (ev.metrics or {}).get("miou")
            best = st.get("best")
            if isinstance(miou, (int, float)) and (best is None or miou > best):
                best = float(miou)
            self.table.update_run(ev.id, status="running", epoch=int(ev.epoch), epochs=int(ev.epochs), best=best)
            self._compare_dirty = True
        elif kind == "RunEvaluating":
            self.table.update_run(ev.id, status="evaluating")
            self.show_status(f"{ev.id}: scoring best.pt on {ev.n_images} held-out images...")
        elif kind == "RunFinished":
            self.table.update_run(ev.id, status=ev.status, error=ev.error or "")
            self.table.refresh_run(ev.id)
            self._compare_dirty = True
            self._refresh_compare()
            if ev.error:
                self.show_status(f"{ev.id} {ev.status}: {ev.error.splitlines()[0]}", error=ev.status == "failed")
        elif kind == "ReportProblem":
            self.show_status(f"The report could not be written: {ev.message}", error=True)
        elif kind == "QueueFinished":
            self.show_status(f"Queue finished: {ev.done} done, {ev.failed} failed, {ev.cancelled} cancelled",
                             error=bool(ev.failed))
        self._update_progress()

    def _on_failed(self, message: str) -> None:
        if "another version of the plan" in message:   # the core's advice is the command line's (--out)
            message += ("\n\nIn the panel: give the changed plan another Name (its experiment folder is "
                        "<plan folder>/<name>), or Open experiment... to continue the one that is there.")
        self.show_error("Cannot start the experiment" if self._starting else "The experiment queue stopped", message)
        self._starting = False

    def _on_running(self, running: bool) -> None:
        if not running:
            self.timer.stop()
            self._reload_queue()
            self._compare_dirty = True
            self._refresh_compare()
        self._update_buttons()

    def _reload_queue(self) -> None:
        """The queue as its file has it (after the runner ended: cancelled / resumable states)."""
        if self.exp_dir is None:
            return
        try:
            from segstudio.core.experiments.queue import ExperimentQueue

            self.table.set_entries(ExperimentQueue.open(self.exp_dir).entries, *plan_epochs(self.exp_dir))
        except SegStudioError as exc:
            self.show_status(str(exc), error=True)
        self._update_progress()

    def _refresh_compare(self, now: bool = True) -> None:
        """The comparison re-reads the runs' files: now (a run ended, the queue ended) or, from the timer while
        runs train, on a worker thread."""
        if self._compare_dirty and self.exp_dir is not None:
            self._compare_dirty = False
            if now:
                self.compare.set_experiment(self.exp_dir)
            else:
                self.compare.refresh_later()

    def _update_progress(self) -> None:
        self.progress.setValue(int(1000 * self.table.fraction_done()))
        self.progress.setFormat(self._count_text() + "  %p%")

    def _count_text(self) -> str:
        counts = self.table.counts()
        total = sum(counts.values())
        return f"{counts.get('done', 0)}/{total} done" + "".join(
            f", {counts[k]} {k}" for k in ("failed", "running", "cancelled") if counts.get(k))

    def _update_buttons(self, *_):
        running = self.running or self.checker.busy
        resumable = any(st["status"] in UNFINISHED for st in self.table.state.values())
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(self.running and not self.runner.cancelling())   # not while a plan is checked
        self.resume_button.setEnabled(not running and self.exp_dir is not None and resumable)
        failed = any(st["status"] == "failed" for st in self.table.state.values())
        self.retry_button.setEnabled(not running and self.exp_dir is not None and failed)
        run_id = self.selected_run()
        run_dir = self.table.state.get(run_id, {}).get("run_dir") if run_id else None
        self.use_button.setEnabled(run_dir is not None and (Path(run_dir) / "best.pt").is_file())
        self.open_exp_button.setEnabled(not running)
        self.form.setEnabled(not running)
        self.open_plan_button.setEnabled(not running)
        self.save_plan_button.setEnabled(not running)

    # ------------------------------------------------------------------ layout and messages
    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        o = Qt.Horizontal if self.width() > 1.4 * self.height() else Qt.Vertical
        if self.splitter.orientation() != o:
            self.splitter.setOrientation(o)
        self.arrange(o == Qt.Horizontal and self.width() >= WIDE_PX)

    def arrange(self, wide: bool) -> None:
        """Wide: plan | queue | comparison side by side; else plan | tabs (Queue, Comparison)."""
        if wide == self.wide:
            return
        self.wide = wide
        if wide:
            self.tabs.removeTab(self.tabs.indexOf(self.compare))
            self.tabs.removeTab(self.tabs.indexOf(self.queue_col))
            self.splitter.insertWidget(1, self.queue_col)
            self.splitter.insertWidget(2, self.compare)
            self.queue_col.show()
            self.compare.show()
            self.tabs.hide()
            w = max(self.width(), WIDE_PX)
            self.splitter.setSizes([470, 520, w - 990, 0])
        else:
            self.tabs.addTab(self.queue_col, "Queue")
            self.tabs.addTab(self.compare, "Comparison")
            self.tabs.show()
            plan = min(470, int(0.4 * self.width()))
            self.splitter.setSizes([plan, self.width() - plan])
    def show_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #b00000" if error else "")

    def show_error(self, title: str, message: str) -> None:
        """The reason in the status line and in a non-blocking dialog (kept in ``error_box`` for tests)."""
        self.show_status(message, error=True)
        if self.error_box is not None:
            self.error_box.close()
        box = QMessageBox(QMessageBox.Critical, title, message, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose, False)
        self.error_box = box
        box.open()

    def shutdown(self, ms: int = 120000) -> None:
        """Cancel a running queue (its run stays resumable) and wait for the worker (window close)."""
        self.form.shutdown(ms)
        self.checker.wait(ms)
        self.compare.shutdown(ms / 1000)
        if self.running:
            self.runner.cancel()
            self.runner.wait(ms)
