"""The review dock: pick a checkpoint, predict the current image or all images (worker, progress, cancel),
look at the overlays, read the metrics, sort images by IoU, mark them reviewed, accept a prediction."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QDockWidget, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QMessageBox, QProgressBar, QPushButton, QSplitter, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from segstudio.core.errors import SegStudioError
from segstudio.core.session import Session
from segstudio.core import review
from segstudio.gui.review.metrics_panel import MetricsPanel
from segstudio.gui.review.view import OverlayView
from segstudio.gui.workers import Worker, error_text


class NumItem(QTableWidgetItem):
    """A table cell sorted by its number (nan last)."""

    def __init__(self, value: float):
        super().__init__("-" if math.isnan(value) else f"{value:.3f}")
        self.value = value
        self.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)

    def __lt__(self, other):  # noqa: D105
        a, b = self.value, getattr(other, "value", math.nan)
        if math.isnan(a):
            return False
        return True if math.isnan(b) else a < b


class ReviewDock(QDockWidget):
    imageActivated = Signal(object)     # ImageEntry the user wants to open (double click in the list)
    predictionsChanged = Signal()       # predictions/ changed (statuses need a refresh)
    evaluated = Signal(object)          # Evaluation
    workDone = Signal(str)              # a background job ended: "ok" | "cancelled" | "failed"

    def __init__(self, project=None, document=None, parent=None, *, session: Optional[Session] = None):
        super().__init__("Review", parent)
        self.setObjectName("ReviewDock")
        # the window's shared session; standalone (project, document) the dock makes its own
        self.session = session if session is not None else Session(project, document)
        self.evaluation: Optional[review.Evaluation] = None
        self.worker: Optional[Worker] = None
        self.error_box: Optional[QMessageBox] = None
        self.last_report = None              # PredictReport of the last prediction

        # a bottom dock: overlay view (with its controls) | metrics and the images list
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.checkpoint_label = QLabel("No model chosen")
        self.checkpoint_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.checkpoint_label.setWordWrap(True)
        self.choose_button = QPushButton("Model...")
        self.choose_button.setToolTip("Choose a checkpoint (.pt) to predict with (or 'Use for prediction' in "
                                      "the Training dock's runs list)")
        self.predict_button = QPushButton("Predict")
        self.predict_button.setToolTip("Predict the current image")
        self.predict_all_button = QPushButton("Predict all")
        self.predict_all_button.setToolTip("Predict every image of the project")
        self.cancel_button = QPushButton("Cancel")
        lay.addWidget(self.checkpoint_label)
        for b in (self.choose_button, self.predict_button, self.predict_all_button, self.cancel_button):
            row.addWidget(b)
        lay.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setFormat("%v/%m")
        lay.addWidget(self.progress)

        self.view = OverlayView()
        lay.addWidget(self.view, 1)
        tabs = QTabWidget()
        self.metrics = MetricsPanel()
        tabs.addTab(self.metrics, "Metrics")
        images = QWidget()
        il = QVBoxLayout(images)
        il.setContentsMargins(0, 0, 0, 0)
        self.images_table = QTableWidget(0, 3)
        self.images_table.setHorizontalHeaderLabels(["Image", "Status", "mIoU"])
        self.images_table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.images_table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.images_table.setSortingEnabled(True)
        self.images_table.verticalHeader().setVisible(False)
        self.images_table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        il.addWidget(self.images_table)
        tabs.addTab(images, "Images by IoU")
        self.tabs = tabs
        actions = QHBoxLayout()
        self.accept_button = QPushButton("Accept prediction")
        self.accept_button.setToolTip("Turn the predicted mask of this image into editable polygons "
                                      "(one undoable step)")
        self.reviewed_button = QPushButton("Mark reviewed")
        self.reviewed_button.setCheckable(True)
        for b in (self.accept_button, self.reviewed_button):
            actions.addWidget(b)
        actions.addStretch(1)
        lay.addLayout(actions)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(body)
        split.addWidget(tabs)
        split.setStretchFactor(0, 1)
        split.setSizes([800, 560])
        self.splitter = split
        self.setWidget(split)

        self.choose_button.clicked.connect(self.choose_checkpoint)
        self.predict_button.clicked.connect(lambda: self.predict(all_images=False))
        self.predict_all_button.clicked.connect(lambda: self.predict(all_images=True))
        self.cancel_button.clicked.connect(self.cancel)
        self.accept_button.clicked.connect(self.accept_prediction)
        self.reviewed_button.clicked.connect(self.set_reviewed)
        self.metrics.scopeChanged.connect(lambda _s: self.show_metrics())
        self.images_table.itemDoubleClicked.connect(self._activate_row)
        self._doc_timer = QTimer(self, singleShot=True, interval=200)
        self._doc_timer.timeout.connect(self.refresh_current)
        if self.document is not None:
            self.document.changed.connect(self._doc_timer.start)
        events = self.session.events
        events.project.connect(self._on_project)
        events.image.connect(self._on_image)
        events.checkpoint.connect(self._on_checkpoint)
        events.classes.connect(lambda _colors: self.refresh_current())   # a recoloured class: same colour here
        stored = QSettings().value("review/checkpoint")
        if self.session.checkpoint is not None:
            self._on_checkpoint(self.session.checkpoint)
        elif stored and Path(str(stored)).is_file():
            self.set_checkpoint(Path(str(stored)))
        self._on_project(self.session.project)

    # ------------------------------------------------------------------ state
    @property
    def project(self):
        return self.session.project

    @property
    def document(self):
        return self.session.document

    @property
    def entry(self):
        return self.session.entry

    @property
    def checkpoint(self) -> Optional[Path]:
        return self.session.checkpoint

    def set_project(self, project) -> None:
        self.session.set_project(project)

    def _on_project(self, project) -> None:
        self.evaluation = None
        self.refresh_images_table()
        self.refresh_current()
        if project is not None and project.predictions_dir.is_dir():
            self.evaluate()

    def set_entry(self, entry) -> None:
        self.session.set_image(entry)

    def _on_image(self, _entry) -> None:
        self.refresh_current()

    def set_checkpoint(self, path) -> None:
        self.session.set_checkpoint(path)

    def _on_checkpoint(self, _path) -> None:
        self.checkpoint_label.setText(f"Model: {self.checkpoint.parent.name}/{self.checkpoint.name}"
                                      if self.checkpoint else "No model chosen")
        self.checkpoint_label.setToolTip(str(self.checkpoint or ""))
        if self.checkpoint:
            QSettings().setValue("review/checkpoint", str(self.checkpoint))
        self._update_buttons()

    def choose_checkpoint(self) -> None:
        start = str(self.project.runs_dir) if self.project is not None else ""
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model checkpoint", start, "Checkpoints (*.pt)")
        if path:
            self.set_checkpoint(path)

    def _update_buttons(self) -> None:
        busy = self.worker is not None
        ok = self.project is not None and self.checkpoint is not None and not busy
        self.predict_button.setEnabled(ok and self.entry is not None)
        self.predict_all_button.setEnabled(ok and bool(self.project.images))
        self.cancel_button.setEnabled(busy)
        self.choose_button.setEnabled(not busy)
        has_pred = self.project is not None and self.entry is not None and \
            review.prediction_path(self.project, self.entry).is_file()
        self.accept_button.setEnabled(has_pred and self._document_on_entry() and not busy)
        self.reviewed_button.setEnabled(self.project is not None and self.entry is not None)
        self.reviewed_button.setChecked(bool(self.entry) and self.project is not None
                                        and self.entry.stem in self.project.reviewed())

    def _document_on_entry(self) -> bool:
        doc = self.document
        return (doc is not None and self.entry is not None and doc.annotation is not None
                and doc.json_path is not None and Path(doc.json_path) == Path(self.entry.json_path))

    # ------------------------------------------------------------------ current image
    def _current_annotation(self):
        return self.document.annotation if self._document_on_entry() else None

    def refresh_current(self) -> None:
        """Redraw the overlay and the current-image metrics (the open document's unsaved edits included)."""
        p, e = self.project, self.entry
        self._update_buttons()
        if p is None or e is None:
            self.view.set_data(None, None, None, None)
            self.show_metrics()
            return
        problems = []
        try:
            if self._document_on_entry() and self.document.image is not None:
                image = self.document.image
            else:
                image = review.entry_image(e)
        except (SegStudioError, OSError) as exc:
            self.view.set_data(None, None, None, None)
            self.view.caption.setText(str(exc))
            return
        pred = gt = None
        try:
            pred = review.read_prediction(p, e)
        except SegStudioError as exc:
            problems.append(str(exc))
        try:
            gt = review.ground_truth(p, e, self._current_annotation())
        except SegStudioError as exc:
            problems.append(str(exc))
        self.current_metrics = None
        if pred is not None and gt is not None and pred.shape == gt.shape:
            try:
                self.current_metrics = review.score_image(pred, gt, p.label_set.num_classes, name=e.stem)
            except SegStudioError as exc:
                problems.append(str(exc))
        self.view.set_data(image, pred, gt, self.session.palette())
        if problems:
            self.view.caption.setText(" · ".join(problems))
        self.show_metrics()

    def show_metrics(self) -> None:
        names = list(self.project.label_set.names) if self.project is not None else []
        if self.metrics.current_scope() == "Current image":
            m = getattr(self, "current_metrics", None)
            title = self.entry.stem if self.entry is not None else ""
            self.metrics.show_metrics(m, names, title + ":" if m else "")
        else:
            ev = self.evaluation
            m = ev.overall if ev is not None and ev.per_image else None
            self.metrics.show_metrics(m, names, f"{len(ev.per_image)} images:" if m else "")
            source = review.sources_summary(ev.sources, self.checkpoint) if m else ""
            if source:
                self.metrics.summary.setText(self.metrics.summary.text() + "\n" + source)
            if ev is not None and ev.problems:
                self.metrics.summary.setText(self.metrics.summary.text() + f"  ({len(ev.problems)} skipped:"
                                             " see the tooltip)")
                self.metrics.summary.setToolTip("\n".join(ev.problems.values()))
            else:
                self.metrics.summary.setToolTip("")

    # ------------------------------------------------------------------ images table
    def refresh_images_table(self) -> None:
        t = self.images_table
        t.setSortingEnabled(False)
        entries = list(self.project.images) if self.project is not None else []
        t.setRowCount(len(entries))
        for r, e in enumerate(entries):
            name = QTableWidgetItem(e.name)
            name.setData(Qt.UserRole, e.stem)
            t.setItem(r, 0, name)
            t.setItem(r, 1, QTableWidgetItem(self.project.status(e)))
            miou = self.evaluation.miou(e.stem) if self.evaluation is not None else math.nan
            t.setItem(r, 2, NumItem(miou))
        t.setSortingEnabled(True)
        t.sortItems(2, Qt.AscendingOrder)   # worst first

    def sorted_stems(self) -> list[str]:
        t = self.images_table
        return [t.item(r, 0).data(Qt.UserRole) for r in range(t.rowCount())]

    def _activate_row(self, item) -> None:
        stem = self.images_table.item(item.row(), 0).data(Qt.UserRole)
        entry = next((e for e in self.project.images if e.stem == stem), None)
        if entry is not None:
            self.imageActivated.emit(entry)

    # ------------------------------------------------------------------ work
    def _run(self, fn, on_result, label: str) -> bool:
        if self.worker is not None:
            return False
        self.progress.setRange(0, 0)
        self.progress.setFormat(label + " %v/%m")
        w = Worker(fn, name=label, parent=self)
        w.event.connect(self._on_progress)
        w.result.connect(on_result)
        w.failed.connect(lambda exc: self.show_error(f"{label} failed", error_text(exc)))
        w.cancelled.connect(lambda: self.progress.setFormat(label + " cancelled"))
        w.done.connect(self._on_done)
        self.worker = w
        self._update_buttons()
        w.start()
        return True

    def _on_progress(self, msg) -> None:
        done, total, _text = msg
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _on_done(self) -> None:
        w = self.worker
        self.worker = None   # the worker waits for its thread and deletes itself (gui/workers.py)
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
        self._update_buttons()
        self.workDone.emit(w.outcome if w is not None else "ok")

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def predict(self, all_images: bool = True) -> bool:
        """Predict the current image or all images in the background; False when it cannot start."""
        if self.project is None or self.checkpoint is None or self.worker is not None:
            return False
        entries = list(self.project.images) if all_images else ([self.entry] if self.entry else [])
        if not entries:
            return False
        project, ckpt = self.project, self.checkpoint

        def work(emit, cancel):
            return review.predict_entries(ckpt, project, entries, progress=lambda d, t, m: emit((d, t, m)),
                                          cancel=cancel)

        return self._run(work, self._on_predicted, "Predict")

    def _on_predicted(self, report) -> None:
        self.last_report = report
        self.predictionsChanged.emit()
        if report.failures:
            self.show_error("Some images could not be predicted",
                            "\n".join(f"{p}: {r}" for p, r in report.failures[:20]))
        self.refresh_current()
        QTimer.singleShot(0, self.evaluate)

    def evaluate(self) -> bool:
        """Recompute the metrics of every predicted image in the background."""
        if self.project is None:
            return False
        project = self.project
        annotations = {}
        if self._document_on_entry():
            annotations[self.entry.stem] = self.document.annotation.copy()

        def work(emit, cancel):
            return review.evaluate_project(project, annotations=annotations,
                                           progress=lambda d, t, m: emit((d, t, m)), cancel=cancel)

        return self._run(work, self._on_evaluated, "Evaluate")

    def _on_evaluated(self, evaluation) -> None:
        self.evaluation = evaluation
        self.refresh_images_table()
        self.show_metrics()
        self.evaluated.emit(evaluation)

    # ------------------------------------------------------------------ edits
    def accept_prediction(self) -> int:
        """Add the predicted mask of the open image as polygons (one undo step); returns the shape count."""
        if not self._document_on_entry():
            return 0
        from segstudio.core.annotation.mask_to_shapes import mask_to_shapes

        try:
            label = review.read_prediction(self.project, self.entry)
            if label is None:
                return 0
            shapes = mask_to_shapes(label, self.project.label_set, mode="polygon")
        except SegStudioError as exc:
            self.show_error("Cannot accept the prediction", str(exc))
            return 0
        if not shapes:
            self.show_error("Nothing to accept", "the prediction of this image is all background")
            return 0
        self.document.add_shapes(shapes)
        return len(shapes)

    def set_reviewed(self, reviewed: Optional[bool] = None) -> None:
        if self.project is None or self.entry is None:
            return
        if not isinstance(reviewed, bool):
            reviewed = self.reviewed_button.isChecked()
        try:
            self.project.set_reviewed(self.entry, reviewed)
        except (SegStudioError, OSError) as exc:
            self.show_error("Cannot save the reviewed state", str(exc))
        self.predictionsChanged.emit()
        self.refresh_images_table()
        self._update_buttons()

    # ------------------------------------------------------------------ layout
    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self.orient()

    def orient(self) -> None:
        """Side by side when the dock is wide (bottom area, floating), in a column when it is narrow."""
        o = Qt.Horizontal if self.width() > 1.4 * self.height() else Qt.Vertical
        if self.splitter.orientation() != o:
            self.splitter.setOrientation(o)

    def show_error(self, title: str, message: str) -> None:
        if self.error_box is not None:
            self.error_box.close()
        self.error_box = QMessageBox(QMessageBox.Critical, title, message, QMessageBox.Ok, self)
        self.error_box.open()

    def shutdown(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(30000)
