"""Live training curves (pyqtgraph): train/val loss, val mIoU and per-class IoU.

Events only update the data (cheap); :meth:`CurvesWidget.refresh` redraws, and the dock calls it from a
timer at most ~10 times a second, so a fast stream of batch events never floods the GUI thread.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QBoxLayout, QWidget

CLASS_COLORS = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
                (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)]


class CurvesWidget(QWidget):
    """Two plots: losses (per-batch train loss, per-epoch train and val loss) and IoU (val mIoU, per class)."""

    def __init__(self, parent=None, orientation=Qt.Horizontal):
        super().__init__(parent)
        lay = QBoxLayout(QBoxLayout.LeftToRight if orientation == Qt.Horizontal else QBoxLayout.TopToBottom, self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.loss_plot = pg.PlotWidget(title="Loss")
        self.iou_plot = pg.PlotWidget(title="Validation IoU")
        for plot, ylabel in ((self.loss_plot, "loss"), (self.iou_plot, "IoU")):
            plot.setBackground("w")
            plot.showGrid(x=True, y=True, alpha=0.3)
            plot.setLabel("bottom", "epoch")
            plot.setLabel("left", ylabel)
            plot.addLegend(offset=(-5, 5))
            plot.setMinimumHeight(130)
            lay.addWidget(plot)
        self.iou_plot.setYRange(0, 1)
        self.batch_curve = self.loss_plot.plot([], [], pen=pg.mkPen((150, 150, 220), width=1), name="batch loss")
        self.train_curve = self.loss_plot.plot([], [], pen=pg.mkPen((20, 60, 200), width=2), symbol="o",
                                               symbolSize=5, name="train loss")
        self.val_curve = self.loss_plot.plot([], [], pen=pg.mkPen((220, 100, 0), width=2), symbol="o",
                                             symbolSize=5, name="val loss")
        self.miou_curve = self.iou_plot.plot([], [], pen=pg.mkPen((0, 0, 0), width=3), symbol="o",
                                             symbolSize=5, name="mIoU")
        self.class_curves: dict[str, pg.PlotDataItem] = {}
        self.clear()

    def set_orientation(self, orientation) -> None:
        """Plots side by side (Qt.Horizontal) or one above the other (Qt.Vertical)."""
        self.layout().setDirection(QBoxLayout.LeftToRight if orientation == Qt.Horizontal
                                   else QBoxLayout.TopToBottom)

    # ------------------------------------------------------------------ data
    def clear(self) -> None:
        self.batch_x: list[float] = []
        self.batch_y: list[float] = []
        self.epochs: list[int] = []
        self.train_loss: list[float] = []
        self.val_loss: list[float] = []
        self.miou: list[float] = []
        self.class_iou: dict[str, list[float]] = {}
        for curve in self.class_curves.values():
            self.iou_plot.removeItem(curve)
            legend = self.iou_plot.plotItem.legend
            if legend is not None:
                legend.removeItem(curve)
        self.class_curves = {}
        self._dirty = True
        self.refresh()

    def add_batch(self, epoch: int, batch: int, n_batches: int, loss: float) -> None:
        x = (epoch - 1) + batch / max(n_batches, 1)
        if np.isfinite(loss):
            self.batch_x.append(x)
            self.batch_y.append(float(loss))
            self._dirty = True

    def add_epoch(self, epoch: int, train_loss: float, val_loss: float, metrics: dict) -> None:
        self.epochs.append(int(epoch))
        self.train_loss.append(float(train_loss))
        self.val_loss.append(float(val_loss) if val_loss is not None else float("nan"))
        self.miou.append(float(metrics.get("miou", float("nan"))))
        per_class = {k: v for k, v in (metrics.get("iou") or {}).items() if k != "_background_"}
        for name in per_class:
            if name not in self.class_iou:
                self.class_iou[name] = [float("nan")] * (len(self.epochs) - 1)
        for name, values in self.class_iou.items():
            v = per_class.get(name)
            values.append(float(v) if v is not None else float("nan"))
        self._dirty = True

    @property
    def dirty(self) -> bool:
        return self._dirty

    # ------------------------------------------------------------------ drawing
    def refresh(self) -> bool:
        """Redraw when the data changed since the last call; returns whether it redrew."""
        if not self._dirty:
            return False
        self._dirty = False
        self.batch_curve.setData(self.batch_x, self.batch_y)
        self.train_curve.setData(self.epochs, self.train_loss)
        self.val_curve.setData(self.epochs, self.val_loss, connect="finite")
        self.miou_curve.setData(self.epochs, self.miou, connect="finite")
        for i, (name, values) in enumerate(self.class_iou.items()):
            curve = self.class_curves.get(name)
            if curve is None:
                color = CLASS_COLORS[i % len(CLASS_COLORS)]
                curve = self.iou_plot.plot([], [], pen=pg.mkPen(color, width=1.5, style=pg.QtCore.Qt.DashLine),
                                           name=f"IoU {name}")
                self.class_curves[name] = curve
            curve.setData(self.epochs, values, connect="finite")
        return True
