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
#: (key, text) of the scopes; the set scopes' texts get their image counts (``set_counts``)
SCOPES = (("validation", "Validation images"), ("all", "All images"), ("training", "Training images"),
          ("image", "Current image"))


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


def hd95_coverage(scores, class_names) -> str:
    """The summary's note on the HD95 column ("" when every HD95 shown covers every image with its class):
    for a set, per class, how many of the images that contain it in prediction or annotation its mean covers
    (those with it in both); for an image, the classes whose HD95 is undefined."""
    if not scores.with_hd95:
        return ""
    gaps = [(class_names[c], scores.hd95_n[c], scores.hd95_n[c] + scores.hd95_undefined[c])
            for c in range(1, min(len(class_names), len(scores.hd95_undefined))) if scores.hd95_undefined[c]]
    if not gaps:
        return ""
    if scores.image is None:
        return (" · HD95 over the images with the class in both prediction and annotation: "
                + ", ".join(f"{name} {k}/{n}" for name, k, n in gaps))
    return (f" · HD95 undefined for {', '.join(name for name, _k, _n in gaps)} (in only one of prediction "
            "and annotation)")


class MetricsPanel(QWidget):
    """``scope``: validation images of the model's run (the default), all images, its training images, or the
    current image; a set scope the model's run does not record (no split.json) is greyed out."""

    scopeChanged = Signal(str)   # the scope's key

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.scope = QComboBox()
        for key, text in SCOPES:
            self.scope.addItem(text, key)
        self.scope.setToolTip("Validation images: the images the model's run held out (its split.json); the "
                              "images a model trained on flatter it")
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
        self.table.setMinimumHeight(60)
        lay.addWidget(self.table, 1)
        self.chart = pg.PlotWidget()
        self.chart.setBackground("w")
        self.chart.setYRange(0, 1)
        self.chart.setMinimumHeight(80)
        self.chart.showGrid(y=True, alpha=0.3)
        self.chart.getAxis("left").enableAutoSIPrefix(False)
        self.chart.setMouseEnabled(x=False, y=False)
        self.legend = QLabel('<span style="color:#0072bd">&#9632;</span> IoU &nbsp; '
                             '<span style="color:#edb120">&#9632;</span> Dice')   # beside the chart, never over a bar
        lay.addWidget(self.legend)
        lay.addWidget(self.chart, 1)
        self.iou_bars: Optional[pg.BarGraphItem] = None
        self.dice_bars: Optional[pg.BarGraphItem] = None
        self.scope.currentIndexChanged.connect(lambda _i: self.scopeChanged.emit(self.current_scope()))
        self.metrics = None                 # the Scores shown

    def current_scope(self) -> str:
        """The scope's key: "validation", "all", "training" or "image"."""
        return self.scope.currentData()

    def set_scope(self, key: str) -> None:
        self.scope.setCurrentIndex(self.scope.findData(key))

    def set_counts(self, counts: dict) -> None:
        """Show each set scope's image count (``{key: n}``; None: the model's run records no split, greyed
        out).  A greyed-out current scope moves to "all"."""
        model = self.scope.model()
        for i, (key, text) in enumerate(SCOPES):
            if key == "image":
                continue
            n = counts.get(key)
            self.scope.setItemText(i, text if n is None else f"{text} ({n})")
            model.item(i).setEnabled(n is not None)
        if counts.get(self.current_scope(), 0) is None:
            self.set_scope("all")

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
        shown = min(len(rows), 4)   # up to 4 class rows are never cut by a short panel (more scroll)
        self.table.setMinimumHeight(self.table.horizontalHeader().height() + 4 +
                                    sum(self.table.rowHeight(r) for r in range(shown)))
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
        text += hd95_coverage(metrics, class_names)
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
