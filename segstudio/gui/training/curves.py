"""Live training curves (pyqtgraph): train/val loss, val mIoU and per-class IoU.

Events only update the data (cheap); :meth:`CurvesWidget.refresh` redraws, and the dock calls it from a
timer at most ~10 times a second, so a fast stream of batch events never floods the GUI thread.

While a run trains the plots follow the data: mouse zoom and pan are off (a wheel turned over a plot would
otherwise switch pyqtgraph's auto-range off and freeze the view on old epochs) and every redraw re-enables the
auto-range; after the run the plots can be zoomed and panned.  The axes never use SI prefixes (no "x0.001"
scale), the legends are labels above the plots (they never cover a curve nor get cut), and the per-class IoU
curves have the project's class colours (``set_class_colors``).  ``load_history`` puts a resumed run's earlier
epochs (its metrics.csv) on the plots.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QBoxLayout, QLabel, QVBoxLayout, QWidget

#: colours of classes the project has no colour for (rare: the dock gets the session's class colours)
CLASS_COLORS = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
                (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)]
BATCH, TRAIN, VAL, MIOU = (150, 150, 220), (20, 60, 200), (220, 100, 0), (0, 0, 0)


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(v) for v in rgb[:3]))


def legend_html(items) -> str:
    """``[(name, (r, g, b), dashed)]`` as one line of coloured marks and names."""
    return " &nbsp; ".join(f'<span style="color:{_hex(c)}">{"&#9476;&#9476;" if dashed else "&#9644;"}</span> {name}'
                           for name, c, dashed in items)


class CurvesWidget(QWidget):
    """Two plots: losses (per-batch train loss, per-epoch train and val loss) and IoU (val mIoU, per class)."""

    def __init__(self, parent=None, orientation=Qt.Horizontal):
        super().__init__(parent)
        lay = QBoxLayout(QBoxLayout.LeftToRight if orientation == Qt.Horizontal else QBoxLayout.TopToBottom, self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.loss_plot = pg.PlotWidget(title="Loss")
        self.iou_plot = pg.PlotWidget(title="Validation IoU")
        self.loss_legend = QLabel(legend_html([("batch", BATCH, False), ("train", TRAIN, False),
                                               ("val", VAL, False)]))
        self.iou_legend = QLabel("")
        for plot, ylabel, legend in ((self.loss_plot, "loss", self.loss_legend),
                                     (self.iou_plot, "IoU", self.iou_legend)):
            plot.setBackground("w")
            plot.showGrid(x=True, y=True, alpha=0.3)
            plot.setLabel("bottom", "epoch")
            plot.setLabel("left", ylabel)
            for axis in ("left", "bottom"):
                plot.getAxis(axis).enableAutoSIPrefix(False)
            plot.setMinimumHeight(110)
            legend.setWordWrap(True)
            box = QWidget()
            bl = QVBoxLayout(box)
            bl.setContentsMargins(0, 0, 0, 0)
            bl.setSpacing(0)
            bl.addWidget(legend)
            bl.addWidget(plot, 1)
            lay.addWidget(box)
        self.iou_plot.setYRange(0, 1)
        self.batch_curve = self.loss_plot.plot([], [], pen=pg.mkPen(BATCH, width=1), name="batch loss")
        self.train_curve = self.loss_plot.plot([], [], pen=pg.mkPen(TRAIN, width=2), symbol="o",
                                               symbolSize=5, symbolBrush=TRAIN, name="train loss")
        self.val_curve = self.loss_plot.plot([], [], pen=pg.mkPen(VAL, width=2), symbol="o",
                                             symbolSize=5, symbolBrush=VAL, name="val loss")
        self.miou_curve = self.iou_plot.plot([], [], pen=pg.mkPen(MIOU, width=3), symbol="o",
                                             symbolSize=5, symbolBrush=MIOU, name="mIoU")
        self.class_curves: dict[str, pg.PlotDataItem] = {}
        self.class_colors: dict[str, tuple] = {}
        self.live = False
        self.clear()

    def set_orientation(self, orientation) -> None:
        """Plots side by side (Qt.Horizontal) or one above the other (Qt.Vertical)."""
        self.layout().setDirection(QBoxLayout.LeftToRight if orientation == Qt.Horizontal
                                   else QBoxLayout.TopToBottom)

    def set_class_colors(self, colors: dict) -> None:
        """The project's class colours (name -> (r, g, b)), used by the per-class IoU curves."""
        self.class_colors = dict(colors or {})
        for name, curve in self.class_curves.items():
            curve.setPen(pg.mkPen(self._color(name), width=1.5, style=Qt.DashLine))
        self._update_iou_legend()

    def set_live(self, live: bool) -> None:
        """Training: follow the data (mouse zoom off, auto-range on); after: zoom and pan freely."""
        self.live = bool(live)
        for plot in (self.loss_plot, self.iou_plot):
            plot.setMouseEnabled(x=not live, y=not live)
            if live:
                plot.enableAutoRange()
        self.iou_plot.setYRange(0, 1)

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
        self.class_curves = {}
        self._update_iou_legend()
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

    def load_history(self, rows) -> None:
        """The epochs of a run's metrics.csv (``RunFolder.history()`` rows): a resumed run keeps them."""
        for row in rows:
            if "epoch" not in row:
                continue
            iou = {k[4:]: v for k, v in row.items() if k.startswith("iou_")}
            self.add_epoch(row["epoch"], row.get("train_loss", math.nan), row.get("val_loss", math.nan),
                           {"miou": row.get("miou", math.nan), "iou": iou})
        self.refresh()

    @property
    def dirty(self) -> bool:
        return self._dirty

    # ------------------------------------------------------------------ drawing
    def _color(self, name: str):
        if name in self.class_colors:
            return tuple(self.class_colors[name])
        return CLASS_COLORS[list(self.class_iou).index(name) % len(CLASS_COLORS)] if name in self.class_iou \
            else CLASS_COLORS[0]

    def _update_iou_legend(self) -> None:
        items = [("val mIoU", MIOU, False)] + [(name, self._color(name), True) for name in self.class_iou]
        self.iou_legend.setText(legend_html(items))

    def refresh(self) -> bool:
        """Redraw when the data changed since the last call; returns whether it redrew."""
        if not self._dirty:
            return False
        self._dirty = False
        self.batch_curve.setData(self.batch_x, self.batch_y)
        self.train_curve.setData(self.epochs, self.train_loss)
        self.val_curve.setData(self.epochs, self.val_loss, connect="finite")
        self.miou_curve.setData(self.epochs, self.miou, connect="finite")
        new_class = False
        for name, values in self.class_iou.items():
            curve = self.class_curves.get(name)
            if curve is None:
                curve = self.iou_plot.plot([], [], pen=pg.mkPen(self._color(name), width=1.5, style=Qt.DashLine),
                                           name=f"IoU {name}")
                self.class_curves[name] = curve
                new_class = True
            curve.setData(self.epochs, values, connect="finite")
        if new_class:
            self._update_iou_legend()
        if self.live:   # follow the data even if a wheel or a drag changed the view (now, not at the next paint)
            self.loss_plot.enableAutoRange()
            self.iou_plot.enableAutoRange(axis="x")
            for plot in (self.loss_plot, self.iou_plot):
                plot.getViewBox().updateAutoRange()
        return True
