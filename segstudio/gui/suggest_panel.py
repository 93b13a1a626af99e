"""Active learning in the window: which image to annotate next (the "suggest" window extension).

The Suggest dock scores the project's unannotated images with the session's model (the checkpoint chosen in
the Training / Review docks, or one picked here) through core/inference/uncertainty.py, on a
:class:`~segstudio.gui.workers.Worker` with a progress bar and Cancel.  Then:

* **Sort the image list most informative first** (a check box) reorders the Images list by the ranking
  (images without a score keep their order after the ranked ones); unticked, the list is in name order again;
* **Next suggested** (Ctrl+J, also in the Suggest menu) opens the most informative image that is still not
  annotated and is not the one shown.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QDockWidget, QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QProgressBar,
    QPushButton, QVBoxLayout, QWidget,
)

from segstudio.gui.workers import Worker, error_text

NEXT_SHORTCUT = "Ctrl+J"


class SuggestPanel(QWidget):
    """Rank the unannotated images by uncertainty; sort the image list by it; jump to the next suggestion."""

    rankingReady = Signal(list)   # [Uncertainty], most informative first

    def __init__(self, session, services=None, parent=None):
        super().__init__(parent)
        self.session = session
        self.services = services
        self.checkpoint: Path | None = None
        self.ranking: list = []
        self.worker: Worker | None = None
        self.model_label = QLabel("")
        self.model_label.setWordWrap(True)
        self.choose_button = QPushButton("Model…")
        self.choose_button.setToolTip("Choose a checkpoint (.pt) to score the images with")
        self.rank_button = QPushButton("Rank unannotated images")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.sort_box = QCheckBox("Sort the image list most informative first")
        self.next_button = QPushButton(f"Next suggested ({NEXT_SHORTCUT})")
        self.list = QListWidget()
        self.message = QLabel("")
        self.message.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.rank_button, 1)
        row.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        top.addWidget(self.model_label, 1)
        top.addWidget(self.choose_button)
        lay.addLayout(top)
        lay.addLayout(row)
        lay.addWidget(self.progress)
        lay.addWidget(self.sort_box)
        lay.addWidget(self.next_button)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.message)
        self.choose_button.clicked.connect(self._choose)
        self.rank_button.clicked.connect(self.rank)
        self.cancel_button.clicked.connect(self.cancel)
        self.sort_box.toggled.connect(lambda _on: self.apply_sort())
        self.next_button.clicked.connect(self.next_suggested)
        self.list.itemActivated.connect(self._open_item)
        session.events.checkpoint.connect(self.set_checkpoint)
        session.events.project.connect(self._on_project)
        self.set_checkpoint(session.checkpoint)

    # ------------------------------------------------------------------ state
    def set_checkpoint(self, path) -> None:
        self.checkpoint = Path(path) if path else None
        self.model_label.setText(f"Model: {self.checkpoint.name}" if self.checkpoint else
                                 "Model: none (train one, choose one in Review, or pick a .pt)")
        self._update_enabled()

    def _on_project(self, _project) -> None:
        self.cancel()
        self.ranking = []
        self.list.clear()
        self.message.setText("")
        self._update_enabled()

    def _update_enabled(self) -> None:
        busy = self.worker is not None
        self.rank_button.setEnabled(not busy and self.checkpoint is not None and self.session.project is not None)
        self.cancel_button.setEnabled(busy)
        self.next_button.setEnabled(bool(self.ranking))

    def _choose(self) -> None:
        start = str(self.session.project.runs_dir) if self.session.project else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Checkpoint to score images with", start, "Checkpoints (*.pt)")
        if path:
            self.set_checkpoint(path)

    # ------------------------------------------------------------------ ranking (worker)
    def rank(self) -> bool:
        """Start scoring the unannotated images in the background; False when it cannot start."""
        if self.worker is not None or self.checkpoint is None or self.session.project is None:
            return False
        if self.session.save_edits is not None:
            self.session.flush()   # the open image's last edits decide whether it is annotated
        project, checkpoint = self.session.project, self.checkpoint

        def work(emit, cancel):
            from segstudio.core.inference import Predictor
            from segstudio.core.inference.uncertainty import score_entries, unannotated_entries

            entries = unannotated_entries(project)
            predictor = Predictor.from_checkpoint(checkpoint, device="auto", tta=False, postprocess=False)
            return score_entries(predictor, entries, progress=lambda d, t, m: emit((d, t, m)), cancel=cancel)

        self.worker = Worker(work, name="suggest", parent=self)
        self.worker.event.connect(self._on_progress)
        self.worker.result.connect(self._on_result)
        self.worker.failed.connect(lambda exc: self._finish(f"Ranking failed: {error_text(exc)}", error=True))
        self.worker.cancelled.connect(lambda: self._finish("Ranking cancelled"))
        self.worker.done.connect(self._on_done)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.message.setText("Scoring…")
        self.worker.start()
        self._update_enabled()
        return True

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _on_progress(self, value) -> None:
        done, total, text = value
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done}/{total}")

    def _on_result(self, report) -> None:
        self.ranking = list(report.ranking)
        self.list.clear()
        for u in self.ranking:
            item = QListWidgetItem(f"{u.name}   {u.score:.3f}  (entropy {u.entropy:.3f}, flips {u.disagreement:.3f})")
            item.setData(Qt.UserRole, u.name)
            self.list.addItem(item)
        failed = f"; {len(report.failures)} could not be read" if report.failures else ""
        self._finish(f"{len(self.ranking)} unannotated image(s) ranked{failed}")
        if report.failures:
            self.message.setToolTip("\n".join(reason for _n, reason in report.failures))
        self.apply_sort()
        self.rankingReady.emit(self.ranking)

    def _finish(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        if self.services is not None:
            self.services.status(text, error=error)

    def _on_done(self) -> None:
        self.worker = None
        self.progress.setVisible(False)
        self._update_enabled()

    # ------------------------------------------------------------------ using the ranking
    def _file_list(self):
        window = getattr(self.services, "window", None)
        return getattr(window, "file_list", None)

    def apply_sort(self) -> None:
        """Order the Images list by the ranking (ticked) or by name (unticked)."""
        panel = self._file_list()
        if panel is None or self.session.project is None:
            return
        tree = panel.tree
        order = {name: i for i, name in enumerate(u.name for u in self.ranking)} if self.sort_box.isChecked() else {}
        names = {e.stem: i for i, e in enumerate(self.session.project.images)}
        current = panel.current_entry()
        tree.blockSignals(True)
        items = [tree.takeTopLevelItem(0) for _ in range(tree.topLevelItemCount())]
        items.sort(key=lambda it: (order.get(it.data(0, Qt.UserRole).stem, len(order)),
                                   names.get(it.data(0, Qt.UserRole).stem, 0)))
        tree.addTopLevelItems(items)
        tree.blockSignals(False)
        if current is not None:
            panel.set_current(current)

    def next_suggested(self) -> bool:
        """Open the most informative image still not annotated (not the one shown); False when none is left."""
        project = self.session.project
        if project is None or not self.ranking:
            self._finish("No ranking yet: Suggest ▸ Rank unannotated images first")
            return False
        by_stem = {e.stem: e for e in project.images}
        current = self.session.entry
        for u in self.ranking:
            entry = by_stem.get(u.name)
            if entry is None or entry == current or project.status(entry) not in ("not annotated", "predicted"):
                continue
            return self._open(entry)
        self._finish("Every suggested image is annotated: rank again")
        return False

    def _open(self, entry) -> bool:
        if self.services is not None:
            return self.services.open_image(entry)
        self.session.set_image(entry)
        return True

    def _open_item(self, item) -> None:
        project = self.session.project
        entry = project.entry_for(item.data(Qt.UserRole)) if project is not None else None
        if entry is not None:
            self._open(entry)


def install(session, services) -> None:
    """The "suggest" window extension: the Suggest dock and the Suggest menu (Next suggested, Ctrl+J)."""
    panel = SuggestPanel(session, services)
    dock = QDockWidget("Suggest")
    dock.setWidget(panel)
    services.add_dock("suggest", dock)
    services.add_menu_action("&Suggest", "Rank unannotated images", panel.rank, name="suggest_rank")
    services.add_menu_action("&Suggest", "Next suggested image", panel.next_suggested, NEXT_SHORTCUT,
                             name="next_suggested")
    services.on_quit(panel.cancel)
