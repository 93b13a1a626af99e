"""The runs list: one row per run folder under ``project.runs_dir`` (date, model, best val mIoU, epochs,
loss, batch size, augmentation, image size, folder name; the full config in each row's tooltip).

A run's summary is read from its ``config.json``/``config.yaml`` and ``metrics.csv`` (written by the engine);
no checkpoint is unpickled to fill the list.  The date is the run's start: the ``YYYYmmdd-HHMMSS`` stamp of
its folder name (``form.new_run_dir``), else the time its config file was written, else the folder's.
Buttons open the run folder in the file manager and pick the run's ``best.pt`` (else ``last.pt``) for
prediction.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QGridLayout, QHeaderView, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

MIOU_KEYS = ("val_miou", "miou", "val_mIoU", "mIoU")
STAMP = "%Y%m%d-%H%M%S"   # the prefix of a run folder's name (form.new_run_dir)


@dataclass
class RunInfo:
    path: Path
    date: datetime
    config: dict = field(default_factory=dict)
    epochs_done: int = 0
    best_miou: Optional[float] = None
    best_epoch: Optional[int] = None
    problem: str = ""

    @property
    def checkpoint(self) -> Optional[Path]:
        for name in ("best.pt", "last.pt"):
            if (self.path / name).is_file():
                return self.path / name
        return None


def run_date(path: Path) -> datetime:
    """When the run started: its folder-name stamp, else the config file's time, else the folder's.

    Not the folder's modification time when there is a better source: every checkpoint the engine writes
    changes that, so a long run would look newer than one started after it."""
    path = Path(path)
    try:
        return datetime.strptime(path.name[:len("20260101-120000")], STAMP)
    except ValueError:
        pass
    for name in ("config.json", "config.yaml"):
        try:
            return datetime.fromtimestamp((path / name).stat().st_mtime)
        except OSError:
            continue
    return datetime.fromtimestamp(path.stat().st_mtime)


def config_text(config: dict) -> str:
    """A run's config for a tooltip: one ``key: value`` line per setting, in the file's order."""
    lines = []
    for key, value in config.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "{}"
        lines.append(f"{key}: {value}")
    return "\n".join(lines)


def read_run(path: Path) -> RunInfo:
    """Summarise one run folder; problems (unreadable files) are reported in ``problem``, never raised."""
    path = Path(path)
    info = RunInfo(path=path, date=run_date(path))
    cfg_file = path / "config.json"
    try:
        if cfg_file.is_file():
            info.config = json.loads(cfg_file.read_text(encoding="utf-8"))
        elif (path / "config.yaml").is_file():
            import yaml

            cfg_file = path / "config.yaml"
            try:
                info.config = yaml.safe_load(cfg_file.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise ValueError(str(exc).splitlines()[0]) from None
    except (OSError, ValueError) as exc:
        info.problem = f"{cfg_file}: {exc}"
    if not isinstance(info.config, dict):
        info.problem, info.config = f"{cfg_file}: not a mapping of settings", {}
    metrics = path / "metrics.csv"
    if metrics.is_file():
        try:
            with open(metrics, newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
        except (OSError, csv.Error, UnicodeDecodeError) as exc:
            info.problem = f"{metrics}: {exc}"
            rows = []
        info.epochs_done = len(rows)
        for row in rows:
            key = next((k for k in MIOU_KEYS if row.get(k) not in (None, "")), None)
            if key is None:
                continue
            try:
                v = float(row[key])
            except ValueError:
                continue
            if info.best_miou is None or v > info.best_miou:
                info.best_miou = v
                try:
                    info.best_epoch = int(float(row.get("epoch") or 0)) or None
                except ValueError:
                    info.best_epoch = None
    return info


def list_runs(runs_dir: Path) -> list[RunInfo]:
    """Run folders (those with a config or a checkpoint), newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    out = []
    for p in runs_dir.iterdir():
        if p.is_dir() and any((p / n).exists() for n in ("config.json", "config.yaml", "best.pt", "last.pt")):
            out.append(read_run(p))
    out.sort(key=lambda r: (r.date, r.path.name), reverse=True)
    return out


class RunsList(QWidget):
    """Table of runs with "Open folder", "Use for prediction" and "Resume" buttons."""

    checkpointChosen = Signal(object)   # Path of best.pt / last.pt
    resumeRequested = Signal(object)    # Path of the run folder

    # the folder name last: it repeats date and model, and a narrow dock shows the first columns
    COLUMNS = ("Date", "Model", "Best mIoU", "Epochs", "Loss", "Batch", "Aug", "Image size", "Run")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.runs_dir: Optional[Path] = None
        self.runs: list[RunInfo] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        lay.addWidget(self.table)
        row = QGridLayout()   # 2 x 2: fits a narrow dock
        self.open_button = QPushButton("Open folder")
        self.use_button = QPushButton("Use for prediction")
        self.resume_button = QPushButton("Resume")
        self.refresh_button = QPushButton("Refresh")
        for i, b in enumerate((self.use_button, self.open_button, self.resume_button, self.refresh_button)):
            row.addWidget(b, i // 2, i % 2)
        lay.addLayout(row)
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
                     f"{run.epochs_done}/{cfg.get('epochs', '?')}", str(cfg.get("loss", "")),
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

    @staticmethod
    def tooltip(run: RunInfo) -> str:
        """The row's tooltip: folder, any problem reading it, then the full config (``key: value`` lines)."""
        parts = [str(run.path)]
        if run.problem:
            parts.append(run.problem)
        if run.config:
            parts.append(config_text(run.config))
        return "\n\n".join(parts)

    def selected_run(self) -> Optional[RunInfo]:
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
        self.resume_button.setEnabled(run is not None and (run.path / "last.pt").is_file())

    def open_selected(self) -> bool:
        run = self.selected_run()
        return bool(run) and QDesktopServices.openUrl(QUrl.fromLocalFile(str(run.path)))

    def use_selected(self) -> None:
        run = self.selected_run()
        if run is not None and run.checkpoint is not None:
            self.checkpointChosen.emit(run.checkpoint)

    def _resume_selected(self) -> None:
        run = self.selected_run()
        if run is not None:
            self.resumeRequested.emit(run.path)
