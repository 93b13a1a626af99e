"""The Review dock's "Images by IoU" list: every image with its status and mIoU, worst first; a double click
asks to open the image in the canvas."""
from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem


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


class ImagesTable(QTableWidget):
    """Image, status, mIoU (background included, as ``segstudio evaluate``'s per-image ``miou``)."""

    stemActivated = Signal(str)

    def __init__(self, parent=None):
        super().__init__(0, 3, parent)
        self.setHorizontalHeaderLabels(["Image", "Status", "mIoU"])
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSortingEnabled(True)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.itemDoubleClicked.connect(lambda item: self.stemActivated.emit(self.item(item.row(), 0).data(Qt.UserRole)))

    def fill(self, project, evaluation) -> None:
        self.setSortingEnabled(False)
        entries = list(project.images) if project is not None else []
        self.setRowCount(len(entries))
        for r, e in enumerate(entries):
            name = QTableWidgetItem(e.name)
            name.setData(Qt.UserRole, e.stem)
            self.setItem(r, 0, name)
            self.setItem(r, 1, QTableWidgetItem(project.status(e)))
            self.setItem(r, 2, NumItem(evaluation.miou(e.stem) if evaluation is not None else math.nan))
        self.setSortingEnabled(True)
        self.sortItems(2, Qt.AscendingOrder)   # worst first

    def stems(self) -> list[str]:
        return [self.item(r, 0).data(Qt.UserRole) for r in range(self.rowCount())]
