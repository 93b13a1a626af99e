"""The runs list: one row per run folder under ``project.runs_dir`` (date, model, best val mIoU, epochs,
status, loss, batch size, augmentation, image size, folder name; the full config in each row's tooltip).

The rows are :func:`segstudio.core.training.list_runs` summaries (config, metrics.csv, status.json; no
checkpoint is unpickled to fill the list).  The buttons sit above the table (visible however short the dock):
pick the run's checkpoint for prediction, open the run folder in the file manager, resume it (not while a
run trains), refresh.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QGridLayout, QHeaderView, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from segstudio.core.training import RunSummary, list_runs

#: status.json states as the list shows them; "running" is also what a run killed hard leaves behind, so only
#: the run this app is training (``RunsList.set_active``) reads "training"
STATUS_TEXT = {"running": "unfinished", "completed": "completed", "early_stop": "early stop",
               "time_budget": "time budget", "cancelled": "stopped", "failed": "failed"}


def config_text(config: dict) -> str:
    """A run's config for a tooltip: one ``key: value`` line per setting, in the file's order."""
    lines = []
    for key, value in config.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "{}"
        lines.append(f"{key}: {value}")
    return "\n".join(lines)


class RunsList(QWidget):
    """Table of runs with "Open folder", "Use for prediction" and "Resume" buttons."""

    checkpointChosen = Signal(object)   # Path of the run's checkpoint (RunSummary.checkpoint)
    resumeRequested = Signal(object)    # Path of the run folder

    # the folder name last: it repeats date and model, and a narrow dock shows the first columns
    COLUMNS = ("Date", "Model", "Best mIoU", "Epochs", "Status", "Loss", "Batch", "Aug", "Image size", "Run")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.runs_dir: Optional[Path] = None
        self.active: Optional[Path] = None   # the run being trained now
        self.runs: list[RunSummary] = []
        self.busy = False                    # a run is training (in this window): no Resume
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QGridLayout()   # 2 x 2 above the table: fits a narrow dock and never scrolls away
        self.open_button = QPushButton("Open folder")
        self.use_button = QPushButton("Use for prediction")
        self.use_button.setToolTip("Predict with this run's best.pt (else last.pt): the Review panel follows")
        self.resume_button = QPushButton("Resume")
        self.refresh_button = QPushButton("Refresh")
        for i, b in enumerate((self.use_button, self.open_button, self.resume_button, self.refresh_button)):
            row.addWidget(b, i // 2, i % 2)
        lay.addLayout(row)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        lay.addWidget(self.table)
        self.open_button.clicked.connect(self.open_selected)
        self.use_button.clicked.connect(self.use_selected)
        self.resume_button.clicked.connect(self._resume_selected)
        self.refresh_button.clicked.connect(self.refresh)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self.use_selected())
        self._update_buttons()

    def set_runs_dir(self, runs_dir: Optional[Path]) -> None:
        self.runs_dir = Path(runs_dir) if runs_dir is not None else None
        self.refresh()

    def set_active(self, run_dir: Optional[Path]) -> None:
        """Mark the run being trained (its status reads "training"); None when training ends."""
        self.active = Path(run_dir) if run_dir is not None else None
        self.refresh()

    def set_busy(self, busy: bool) -> None:
        """A run is training: Resume is disabled (one run at a time)."""
        self.busy = bool(busy)
        self._update_buttons()

    def refresh(self) -> None:
        selected = self.selected_run()
        keep = selected.path if selected else None
        self.runs = list_runs(self.runs_dir) if self.runs_dir else []
        self.table.setRowCount(len(self.runs))
        for i, run in enumerate(self.runs):
            cfg = run.config or {}
            best = "" if run.best_miou is None else f"{run.best_miou:.3f}" + (
                f" (ep {run.best_epoch})" if run.best_epoch else "")
            cells = (run.date.strftime("%Y-%m-%d %H:%M"), str(cfg.get("model", "?")), best,
                     f"{run.epochs_done}/{cfg.get('epochs', '?')}", self.status_text(run),
                     str(cfg.get("loss", "")),
                     str(cfg.get("batch_size", "")), str(cfg.get("augment", "")), str(cfg.get("img_size", "")),
                     run.path.name)
            tip = self.tooltip(run)
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.UserRole, str(run.path))
                item.setToolTip(tip)
                self.table.setItem(i, j, item)
            if keep is not None and run.path == keep:
                self.table.selectRow(i)
        self._update_buttons()

    def status_text(self, run: RunSummary) -> str:
        if run.path == self.active:
            return "training"
        return STATUS_TEXT.get(run.status, run.status)

    @staticmethod
    def tooltip(run: RunSummary) -> str:
        """The row's tooltip: folder, any problem reading it, then the full config (``key: value`` lines)."""
        parts = [str(run.path)]
        if run.problem:
            parts.append(run.problem)
        if run.config:
            parts.append(config_text(run.config))
        return "\n\n".join(parts)

    def selected_run(self) -> Optional[RunSummary]:
        rows = {i.row() for i in self.table.selectedItems()}
        if len(rows) != 1:
            return None
        r = rows.pop()
        return self.runs[r] if 0 <= r < len(self.runs) else None

    def select_run(self, path) -> None:
        for i, run in enumerate(self.runs):
            if run.path == Path(path):
                self.table.selectRow(i)
                return

    def _update_buttons(self) -> None:
        run = self.selected_run()
        self.open_button.setEnabled(run is not None)
        self.use_button.setEnabled(run is not None and run.checkpoint is not None)
        self.resume_button.setEnabled(run is not None and run.resumable and not self.busy)
        self.resume_button.setToolTip("Wait until the training run has ended" if self.busy else
                                      "Continue the selected run from its last.pt")

    def open_selected(self) -> bool:
        run = self.selected_run()
        return bool(run) and QDesktopServices.openUrl(QUrl.fromLocalFile(str(run.path)))

    def use_selected(self) -> None:
        run = self.selected_run()
        if run is not None and run.checkpoint is not None:
            self.checkpointChosen.emit(run.checkpoint)

    def _resume_selected(self) -> None:
        run = self.selected_run()
        if run is not None and not self.busy:
            self.resumeRequested.emit(run.path)
