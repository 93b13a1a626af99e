"""The review dock: pick a checkpoint, predict the current image or all images (worker, progress, cancel),
look at the overlays, read the metrics, sort images by IoU, mark them reviewed, accept a prediction.

The model belongs to the project: the checkpoint chosen for a project is remembered for it (QSettings
``review/checkpoints``, folder -> checkpoint) and another project starts with its own, or none.  A new model
(a finished run, or one picked) that has not predicted the project yet is offered at once: a bar above the
overlay says so and "Predict all" is highlighted.  Metrics default to the validation images of the model's run
(its split.json), with all images and its training images as explicit choices.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (QDockWidget, QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel, QMessageBox,
                               QProgressBar, QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from segstudio.core.errors import SegStudioError
from segstudio.core.session import Session
from segstudio.core import review
from segstudio.core.review.accept import DEFAULT_TOLERANCE, MIN_IOU
from segstudio.core.review.subsets import ALL, run_split, scope_names, subset
from segstudio.gui.canvas.review_layer import LatestJob
from segstudio.gui.review.accept import AcceptAsk, accept_into
from segstudio.core.review.current import SYNC_PIXELS, PredictionCache, image_pixels, load_current, snapshot
from segstudio.gui.review.images_table import ImagesTable
from segstudio.gui.review.metrics_panel import MetricsPanel
from segstudio.gui.review.view import OverlayView
from segstudio.gui.workers import Worker, error_text


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
        self.canvas_overlay = None           # the layer on the main canvas (set by install: canvas_overlay.py)
        self.split: Optional[tuple[list[str], list[str]]] = None   # (train, val) names of the model's run
        self.ask_accept = AcceptAsk(self)    # Replace / Add / Cancel, remembered for the session if asked

        # overlay view with its controls | metrics and the images list (side by side when the dock is wide)
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
        self.offer = QLabel("")   # "a new model: Predict all" (a finished run, a model just chosen)
        self.offer.setWordWrap(True)
        self.offer.setStyleSheet("background: #e3f1ff; color: #123; padding: 4px;")
        self.offer.hide()
        lay.addWidget(self.offer)
        row.addWidget(self.checkpoint_label, 1)   # one row: the model and what to do with it
        for b in (self.choose_button, self.predict_button, self.predict_all_button, self.cancel_button):
            row.addWidget(b)
        lay.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")

        self.view = OverlayView(pane=False)   # the canvas shows the overlay (canvas_overlay.py); a pane if asked
        lay.addWidget(self.view, 1)
        tabs = QTabWidget()
        self.metrics = MetricsPanel()
        tabs.addTab(self.metrics, "Metrics")
        self.images_table = ImagesTable()
        tabs.addTab(self.images_table, "Images by IoU")
        self.tabs = tabs
        actions = QHBoxLayout()
        self.accept_button = QPushButton("Accept prediction")
        self.accept_button.setToolTip("Turn the predicted mask of this image into editable polygons "
                                      "(one undoable step; asks first when the image has shapes of that class)")
        self.tolerance = QDoubleSpinBox(minimum=0.0, maximum=20.0, singleStep=0.5, decimals=1,
                                        value=DEFAULT_TOLERANCE)
        self.tolerance.setSuffix(" px")
        self.tolerance.setToolTip("Simplification of accepted polygons (Douglas-Peucker, pixels; as "
                                  f"--tolerance of the CLI): every class keeps IoU >= {MIN_IOU} with the mask")
        self.reviewed_button = QPushButton("Mark reviewed")
        self.reviewed_button.setCheckable(True)
        actions.addWidget(self.accept_button)
        actions.addWidget(QLabel("Simplify"))
        actions.addWidget(self.tolerance)
        actions.addWidget(self.reviewed_button)
        actions.addWidget(self.progress, 1)       # the bottom row: the picture keeps the room
        lay.addLayout(actions)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(body)
        split.addWidget(tabs)
        split.setStretchFactor(0, 1)
        split.setSizes([800, 560])
        self.splitter = split
        self.setWidget(split)

        self._connect()
        self._on_checkpoint(self.session.checkpoint)
        self._on_project(self.session.project)

    def _connect(self) -> None:
        self.choose_button.clicked.connect(self.choose_checkpoint)
        self.predict_button.clicked.connect(lambda: self.predict(all_images=False))
        self.predict_all_button.clicked.connect(lambda: self.predict(all_images=True))
        self.cancel_button.clicked.connect(self.cancel)
        self.accept_button.clicked.connect(self.accept_prediction)
        self.reviewed_button.clicked.connect(self.set_reviewed)
        self.metrics.scopeChanged.connect(lambda _s: self.show_metrics())
        self.images_table.stemActivated.connect(self._activate_stem)
        self._loader = LatestJob(self)        # big images: refresh_current reads on a worker
        self._loader.ready.connect(self._show_current)
        self._loader.failed.connect(lambda text: self.view.caption.setText(text))
        self._predictions = PredictionCache()
        self._doc_timer = QTimer(self, singleShot=True, interval=200)
        self._doc_timer.timeout.connect(self.refresh_current)
        if self.document is not None:
            self.document.changed.connect(self._doc_timer.start)
        events = self.session.events
        events.project.connect(self._on_project)
        events.image.connect(self._on_image)
        events.checkpoint.connect(self._on_checkpoint)
        events.classes.connect(lambda _colors: self.refresh_current())   # a recoloured class: same colour here

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
        """Another project: its own model (the one chosen for it before, or none), metrics and lists."""
        self.evaluation = None
        ckpt = self.session.checkpoint
        if project is None:
            self.set_checkpoint(None)
        elif ckpt is None or not (_inside(ckpt, project.runs_dir) or stored_checkpoint(project) == ckpt):
            self.set_checkpoint(stored_checkpoint(project))
        self.refresh_images_table()
        self.refresh_current()
        self._update_offer()
        if project is not None and project.predictions_dir.is_dir():
            self.evaluate()

    def set_entry(self, entry) -> None:
        self.session.set_image(entry)

    def _on_image(self, _entry) -> None:
        self.refresh_current()

    def set_checkpoint(self, path) -> None:
        self.session.set_checkpoint(path)

    def _on_checkpoint(self, _path) -> None:
        ckpt = self.checkpoint
        self.checkpoint_label.setText(f"Model: {ckpt.parent.name}/{ckpt.name}" if ckpt else "No model chosen")
        self.checkpoint_label.setToolTip(str(ckpt or ""))
        if ckpt is not None and self.project is not None:
            store_checkpoint(self.project, ckpt)
        self.split = run_split(ckpt)
        n_all = len(self.project.images) if self.project is not None else 0
        self.metrics.set_counts({"validation": len(self.split[1]) if self.split else None, "all": n_all,
                                 "training": len(self.split[0]) if self.split else None})
        if self.split is not None:
            self.metrics.set_scope("validation")   # a new model: scored where it did not train
        self._update_offer()
        self._update_buttons()
        self.show_metrics()

    def _update_offer(self) -> None:
        """Offer "Predict all" while images of the project were not predicted by the chosen model."""
        p, ckpt = self.project, self.checkpoint
        missing = 0
        if p is not None and ckpt is not None:
            sources = p.prediction_sources()
            missing = sum(1 for e in p.images if sources.get(e.stem) != str(ckpt)
                          or not review.prediction_path(p, e).is_file())
        if missing:
            self.offer.setText(f"Model {ckpt.parent.name}/{ckpt.name} is ready: <b>Predict all</b> to review it "
                               f"({missing} of {len(p.images)} images not predicted by it yet).")
        self.offer.setVisible(bool(missing))
        self.predict_all_button.setDefault(bool(missing))
        self.predict_all_button.setStyleSheet("font-weight: bold;" if missing else "")

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
        """Redraw the overlay and the current-image metrics (the open document's unsaved edits included): at once
        for small images, on a worker for big ones (current.py; the old picture stays until the new one is read)."""
        p, e = self.project, self.entry
        self._update_buttons()
        self._loader.cancel()
        if p is None or e is None:
            self.current_metrics = None
            self.view.set_data(None, None, None, None)
            self.show_metrics()
            return
        on_entry = self._document_on_entry()
        image = self.document.image if on_entry and self.document.image is not None else None
        ann = snapshot(self._current_annotation())
        palette = self.session.palette()
        job = (lambda: (load_current(p, e, image, ann, self._predictions), palette, e))
        if image_pixels(image, e) <= SYNC_PIXELS:
            self._show_current(job())
        else:
            self.view.caption.setText("Reading the prediction and the annotation…")
            self._loader.request(job)

    def _show_current(self, result) -> None:
        if result is None:
            return
        cur, palette, entry = result
        if entry is not self.entry:
            return
        self.current_metrics = cur.metrics
        if cur.error:
            self.view.set_data(None, None, None, None)
            self.view.caption.setText(cur.error)
            return
        self.view.set_data(cur.image, cur.pred, cur.gt, palette)
        if cur.problems:
            self.view.caption.setText(" · ".join(cur.problems))
        self.show_metrics()

    def show_metrics(self) -> None:
        names = list(self.project.label_set.names) if self.project is not None else []
        scope = self.metrics.current_scope()
        if scope == "image":
            m = getattr(self, "current_metrics", None)
            title = self.entry.stem if self.entry is not None else ""
            self.metrics.show_metrics(m, names, title + ":" if m else "")
            return
        ev = self.evaluation
        stems = scope_names(scope, self.split, [e.stem for e in self.project.images] if self.project else [])
        if ev is not None and stems is not None and scope != ALL:
            ev = subset(ev, stems)
        m = ev.overall if ev is not None and ev.per_image else None
        words = {"validation": "validation images", "training": "training images (the model saw them)",
                 "all": "images (training images included)" if self.split else "images"}[scope]
        self.metrics.show_metrics(m, names, f"{len(ev.per_image)} {words}:" if m else
                                  f"No metrics for the {words.split(' (')[0]}: predict them (Predict all)")
        source = review.sources_summary(self.evaluation.sources, self.checkpoint) if m else ""
        if source:
            self.metrics.summary.setText(self.metrics.summary.text() + "\n" + source)
        if ev is not None and ev.problems:
            self.metrics.summary.setText(self.metrics.summary.text() + f"  ({len(ev.problems)} skipped:"
                                         " see the tooltip)")
            self.metrics.summary.setToolTip("\n".join(ev.problems.values()))
        else:
            self.metrics.summary.setToolTip("")

    def refresh_images_table(self) -> None:
        self.images_table.fill(self.project, self.evaluation)

    def sorted_stems(self) -> list[str]:
        return self.images_table.stems()

    def _activate_stem(self, stem: str) -> None:
        entry = next((e for e in self.project.images if e.stem == stem), None) if self.project else None
        if entry is not None:
            self.imageActivated.emit(entry)

    # ------------------------------------------------------------------ work
    def _run(self, fn, on_result, label: str) -> bool:
        if self.worker is not None:
            return False
        self.progress.setRange(0, 0)
        self.progress.setFormat(label + " %v/%m")
        self._label = label
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
        if w is not None and w.outcome == "ok":
            self.progress.setValue(self.progress.maximum())
            self.progress.setFormat(f"{getattr(self, '_label', '')} done: %v/%m")
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
        self._update_offer()
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
        """The predicted mask of the open image becomes polygons (one undo step; Replace / Add / Cancel when the
        image has shapes of a predicted class); returns the number of shapes added."""
        if not self._document_on_entry():
            return 0
        return accept_into(self, float(self.tolerance.value()))

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
    def panel_share(self) -> tuple[float, float]:
        """The share of the window's height the dock takes below the canvas (MainWindow.show_panel): less while
        the overlay is on the canvas only, the canvas being where the reviewer looks."""
        return (0.55, 0.62) if self.view.pane_shown else (0.36, 0.42)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self.orient()

    def orient(self) -> None:
        """Side by side when the dock is wide (bottom area, floating), in a column when it is narrow."""
        o = Qt.Horizontal if self.width() > 1.4 * self.height() else Qt.Vertical
        if self.splitter.orientation() != o:
            self.splitter.setOrientation(o)
        self.view.set_controls_beside(o == Qt.Horizontal and self.height() < 520)   # short: picture keeps height

    def show_error(self, title: str, message: str) -> None:
        if self.error_box is not None:
            self.error_box.close()
        self.error_box = QMessageBox(QMessageBox.Critical, title, message, QMessageBox.Ok, self)
        self.error_box.open()

    def shutdown(self) -> None:
        self._loader.cancel()
        self._loader.wait()
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(30000)


def _inside(path: Path, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
        return True
    except ValueError:
        return False


def _stored() -> dict:
    try:
        data = json.loads(str(QSettings().value("review/checkpoints", "{}")))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def stored_checkpoint(project) -> Optional[Path]:
    """The checkpoint last chosen for ``project`` (QSettings ``review/checkpoints``), if it still exists."""
    path = _stored().get(str(Path(project.folder).resolve()))
    return Path(path) if path and Path(path).is_file() else None


def store_checkpoint(project, checkpoint) -> None:
    data = _stored()
    data[str(Path(project.folder).resolve())] = str(checkpoint)
    QSettings().setValue("review/checkpoints", json.dumps(data))
