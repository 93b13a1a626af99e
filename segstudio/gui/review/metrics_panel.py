"""Per-class metrics table (IoU, Dice, precision, recall, PA, HD95) with an IoU/Dice bar chart, for the whole
set or the current image."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

COLUMNS = (("IoU", "iou"), ("Dice", "dice"), ("Precision", "precision"), ("Recall", "recall"), ("PA", "pa"),
           ("HD95 (px)", "hd95"))
SCOPES = ("Whole set", "Current image")


def fmt(v) -> str:
    if v is None:
        return "-"
    v = float(v)
    return "-" if math.isnan(v) else (f"{v:.1f}" if abs(v) >= 10 else f"{v:.3f}")


def hd95_tooltip(scores, c: int, name: str) -> str:
    """What an HD95 cell of ``scores`` (core.review.Scores) stands for: for a set, how many images its mean
    covers and why the others are left out; for an image, why it is undefined."""
    if scores.image is None:     # whole set: a mean over images
        text = f"mean over {scores.hd95_n[c]} image(s) that contain {name} in both prediction and annotation"
        if scores.hd95_undefined[c]:
            text += (f"; {scores.hd95_undefined[c]} image(s) have {name} in only one of them (missed or "
                     "hallucinated: HD95 undefined, not in the mean)")
        return text
    if scores.hd95_undefined[c]:
        return f"undefined: {name} is in only one of prediction and annotation (missed or hallucinated)"
    if scores.hd95_absent[c]:
        return f"undefined: {name} is in neither prediction nor annotation"
    return "95th percentile of the boundary distance between prediction and annotation, in pixels"


class MetricsPanel(QWidget):
    scopeChanged = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.scope = QComboBox()
        self.scope.addItems(SCOPES)
        self.summary = QLabel("No metrics yet: predict images that have annotations")
        self.summary.setWordWrap(True)
        top.addWidget(QLabel("Metrics for"))
        top.addWidget(self.scope)
        top.addWidget(self.summary, 1)
        lay.addLayout(top)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([c for c, _ in COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(90)
        lay.addWidget(self.table)
        self.chart = pg.PlotWidget()
        self.chart.setBackground("w")
        self.chart.setYRange(0, 1)
        self.chart.setMinimumHeight(120)
        self.chart.addLegend(offset=(-5, 5))
        self.chart.showGrid(y=True, alpha=0.3)
        lay.addWidget(self.chart)
        self.iou_bars: Optional[pg.BarGraphItem] = None
        self.dice_bars: Optional[pg.BarGraphItem] = None
        self.scope.currentTextChanged.connect(self.scopeChanged)
        self.metrics = None                 # the Scores shown

    def current_scope(self) -> str:
        return self.scope.currentText()

    def show_metrics(self, metrics, class_names: list[str], title: str = "") -> None:
        """Fill the table and the bar chart (``metrics``: a core.review.Scores of an image or a set, or None)."""
        self.metrics = metrics
        self.chart.clear()
        self.iou_bars = self.dice_bars = None
        if metrics is None:
            self.table.setRowCount(0)
            self.summary.setText(title or "No metrics: this scope has no predicted image with an annotation")
            return
        rows = [i for i in range(len(class_names)) if i > 0 or len(class_names) == 1]
        self.table.setRowCount(len(rows))
        self.table.setVerticalHeaderLabels([class_names[i] for i in rows])
        for r, c in enumerate(rows):
            for j, (_, key) in enumerate(COLUMNS):
                values = getattr(metrics, key)
                v = values[c] if c < len(values) else None
                item = QTableWidgetItem(fmt(v))
                item.setData(Qt.UserRole, None if v is None else float(v))
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if key == "hd95":
                    item.setToolTip(hd95_tooltip(metrics, c, class_names[c]))
                self.table.setItem(r, j, item)
        text = (f"{title}  mIoU {fmt(metrics.miou)} · mDice {fmt(metrics.mdice)} (background included) · "
                f"foreground mIoU {fmt(metrics.fg_iou)} · accuracy {fmt(metrics.accuracy)}")
        k, n = metrics.hd95_images
        if n > 1 or k < n:
            text += f" · HD95 over {k}/{n} images"
        self.summary.setText(text)
        x = np.arange(len(rows), dtype=float)
        iou = np.nan_to_num([float(metrics.iou[c]) for c in rows], nan=0.0)
        dice = np.nan_to_num([float(metrics.dice[c]) for c in rows], nan=0.0)
        self.iou_bars = pg.BarGraphItem(x=x - 0.18, height=iou, width=0.35, brush=(0, 114, 189), name="IoU")
        self.dice_bars = pg.BarGraphItem(x=x + 0.18, height=dice, width=0.35, brush=(237, 177, 32), name="Dice")
        self.chart.addItem(self.iou_bars)
        self.chart.addItem(self.dice_bars)
        self.chart.getAxis("bottom").setTicks([[(float(i), class_names[c]) for i, c in enumerate(rows)]])
        self.chart.setXRange(-0.6, len(rows) - 0.4)
        self.chart.setYRange(0, 1)

    def value(self, class_name: str, column: str) -> Optional[float]:
        """The number shown for ``class_name`` in ``column`` (e.g. "IoU"); None when absent (tests)."""
        labels = [self.table.verticalHeaderItem(r).text() for r in range(self.table.rowCount())]
        cols = [c for c, _ in COLUMNS]
        if class_name not in labels or column not in cols:
            return None
        item = self.table.item(labels.index(class_name), cols.index(column))
        return item.data(Qt.UserRole) if item is not None else None
