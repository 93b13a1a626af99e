"""The overlay view: image + prediction / ground truth, opacity, filled or contour, error colouring, and a
split mode (ground truth left, prediction right, zoomed and panned together).

The same options drive the review layer on the main canvas (canvas_overlay.py); the picture pane of its own is
shown "Side by side" with the canvas only when asked (``pane``; hidden, nothing is composed for it)."""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QBoxLayout, QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QSlider,
                               QSplitter, QToolButton, QVBoxLayout, QWidget)

from segstudio.core.review.compose import OverlayOptions, compose
from segstudio.gui.review.image_pane import ImagePane


class OverlayView(QWidget):
    optionsChanged = Signal()
    dataChanged = Signal()      # set_data: another image, prediction or annotation

    def __init__(self, parent=None, *, pane: bool = True):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.opacity = QSlider(Qt.Horizontal, minimum=0, maximum=100, value=50)
        self.opacity.setToolTip("Overlay opacity")
        self.opacity.setMaximumWidth(140)
        self.mode = QComboBox()
        self.mode.addItem("Filled", "fill")
        self.mode.addItem("Contour", "contour")
        self.show_pred = QCheckBox("Prediction", checked=True)
        self.show_gt = QCheckBox("Annotation", checked=False)
        self.errors = QCheckBox("Errors (FP red / FN blue)")
        self.errors.setToolTip("Colour the prediction against the annotation: true positive green, false "
                               "positive red, false negative blue")
        self.side_by_side = QCheckBox("Annotation | prediction")
        self.side_by_side.setToolTip("Split the pane: the annotation left, the prediction right (zoomed and "
                                     "panned together)")
        self.pane_box = QCheckBox("Side by side", checked=pane)
        self.pane_box.setToolTip("Show the overlay in a picture of its own here, beside the canvas")
        self.canvas_button = QToolButton()   # the canvas layer's toggle (V), set by CanvasOverlay
        self.canvas_button.setToolButtonStyle(Qt.ToolButtonTextOnly)
        self.canvas_button.hide()            # shown once a canvas layer is attached
        self.controls = QWidget()   # above the picture, or beside it in a short wide dock (set_controls_beside)
        self.grid = QGridLayout(self.controls)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.opacity_row = QWidget()
        opacity = QHBoxLayout(self.opacity_row)
        opacity.setContentsMargins(0, 0, 0, 0)
        opacity.addWidget(QLabel("Opacity"))
        opacity.addWidget(self.opacity)
        self._beside = None
        self.set_controls_beside(False)
        self.body = QBoxLayout(QBoxLayout.TopToBottom)
        self.body.addWidget(self.controls)
        lay.addLayout(self.body, 1)
        self.split = QSplitter(Qt.Horizontal)
        self.left = ImagePane("annotation / overlay")
        self.right = ImagePane("prediction")
        self.left.link(self.right)
        self.split.addWidget(self.left)
        self.split.addWidget(self.right)
        self.right.hide()
        self.body.addWidget(self.split, 1)
        self.split.setVisible(pane)
        self.side_by_side.setEnabled(pane)
        self.filler = QWidget()      # takes the pane's room while it is hidden: the controls keep their height
        self.body.addWidget(self.filler, 1)
        self.filler.setVisible(not pane)
        self.caption = QLabel("")
        lay.addWidget(self.caption)
        for sig in (self.opacity.valueChanged, self.mode.currentIndexChanged, self.show_pred.toggled,
                    self.show_gt.toggled, self.errors.toggled, self.side_by_side.toggled):
            sig.connect(self._options_changed)
        self.pane_box.toggled.connect(self._pane_toggled)
        self._update_enabled()
        self.image: Optional[np.ndarray] = None
        self.pred: Optional[np.ndarray] = None
        self.gt: Optional[np.ndarray] = None
        self.palette: Optional[np.ndarray] = None
        self.pictures: list[np.ndarray] = []

    def options(self) -> OverlayOptions:
        return OverlayOptions(alpha=self.opacity.value() / 100.0, mode=self.mode.currentData(),
                              show_pred=self.show_pred.isChecked(), show_gt=self.show_gt.isChecked(),
                              errors=self.errors.isChecked(), side_by_side=self.side_by_side.isChecked())

    def set_data(self, image, pred, gt, palette) -> None:
        self.image, self.pred, self.gt, self.palette = image, pred, gt, palette
        self.redraw()
        self.dataChanged.emit()

    @property
    def pane_shown(self) -> bool:
        return self.pane_box.isChecked()

    def _pane_toggled(self, on: bool) -> None:
        self.split.setVisible(on)
        self.filler.setVisible(not on)
        self.set_controls_beside(self._want_beside)
        self.side_by_side.setEnabled(on)
        self._update_enabled()
        self.redraw()
        if on:
            QTimer.singleShot(0, self.left.fit)

    def set_controls_beside(self, beside: bool) -> None:
        """Controls in a column left of the picture (a short, wide dock: the picture keeps the height) or in two
        rows above it."""
        self._want_beside = beside
        beside = beside and self.pane_box.isChecked()    # no picture here: the controls go in rows at the top
        if beside == self._beside:
            return
        self._beside = beside
        widgets = (self.opacity_row, self.mode, self.canvas_button, self.show_pred, self.show_gt, self.errors,
                   self.pane_box, self.side_by_side)
        for w in widgets:
            self.grid.removeWidget(w)
        for i, w in enumerate(widgets):
            self.grid.addWidget(w, *((i, 0) if beside else divmod(i, 3)))
        self.grid.setRowStretch(len(widgets), 1 if beside else 0)
        self.grid.setColumnStretch(3, 0 if beside else 1)
        if hasattr(self, "body"):
            self.body.setDirection(QBoxLayout.LeftToRight if beside else QBoxLayout.TopToBottom)

    def _update_enabled(self) -> None:
        """Grey out Prediction/Annotation in the modes that ignore them: side by side always shows both; the
        error colouring replaces both overlays (without an annotation or a prediction to compare, it shows
        whichever exists)."""
        side, errors = self.side_by_side.isChecked() and self.pane_box.isChecked(), self.errors.isChecked()
        ignored = " (ignored side by side)" if side else " (ignored while Errors is on)" if errors else ""
        self.show_pred.setEnabled(not ignored)
        self.show_pred.setToolTip("Show the prediction" + ignored)
        self.show_gt.setEnabled(not ignored)
        self.show_gt.setToolTip("Show the annotation (as outlines over a filled prediction)" + ignored)

    def _options_changed(self, *_):
        self._update_enabled()
        self.redraw()
        self.optionsChanged.emit()

    def redraw(self) -> None:
        if self.image is None:
            self.pictures = []
            self.left.set_image(None)
            self.right.set_image(None)
            self.caption.setText("No image")
            return
        opts = self.options()
        pred, gt = self.pred, self.gt
        if pred is not None and pred.shape != self.image.shape[:2]:
            pred = None
        if gt is not None and gt.shape != self.image.shape[:2]:
            gt = None
        if self.pane_shown:
            self._draw_pane(pred, gt, opts)
        else:       # the canvas layer shows it: nothing to compose here
            self.pictures = []
            self.left.set_image(None)
            self.right.set_image(None)
        parts = []
        if pred is None:
            parts.append("not predicted")
        if gt is None:
            parts.append("no annotation")
        if opts.side_by_side and self.pane_shown:
            parts.insert(0, "left: annotation, right: prediction")
        if opts.errors and pred is not None and gt is not None:
            parts.append("green: correct, red: false positive, blue: false negative")
        self.caption.setText(" · ".join(parts))

    def _draw_pane(self, pred, gt, opts: OverlayOptions) -> None:
        self.pictures = compose(self.image, pred, gt, self.palette, opts)
        two = len(self.pictures) > 1
        if two and self.right.isHidden():
            self.right.show()
            self.split.setSizes([1, 1])   # half and half (sizes are scaled to the splitter's width)
            QTimer.singleShot(0, self.left.fit)
        elif not two and not self.right.isHidden():
            self.right.hide()
            QTimer.singleShot(0, self.left.fit)
        self.left.set_image(self.pictures[0])
        self.right.set_image(self.pictures[1] if two else None)
