"""The review overlay on the main canvas: the Review dock's picture (prediction, annotation, FP/FN colours,
filled or contour) as a layer of the canvas between the image and the shapes, so the reviewer zooms, pans and
edits where they look.

It follows the dock: the current image, the chosen prediction source and the annotation (the dock re-reads them
200 ms after an edit, unsaved shapes included), its display options and its Opacity slider (the layer's
opacity: no recomposition).  The key **V** (View ▸ Review overlay on canvas, the toolbar's and the dock's "Overlay (V)" button)
shows and hides it; hidden, nothing is composed.  The layer is composed on a worker thread
(:class:`~segstudio.gui.canvas.review_layer.LatestJob`); the GUI thread only wraps the finished pixels.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction, QKeySequence

from segstudio.core.review.compose import OverlayOptions
from segstudio.core.review.layer import overlay_layer
from segstudio.gui.canvas.review_layer import LatestJob, PictureLayer

SHORTCUT = "V"
SETTING = "review/overlay_on_canvas"


class CanvasOverlay(QObject):
    """Keeps ``canvas``'s review layer in step with ``dock`` (a ReviewDock)."""

    updated = Signal()          # the layer shows a new picture (or none)

    def __init__(self, dock, canvas, parent=None):
        super().__init__(parent if parent is not None else dock)
        self.dock, self.canvas = dock, canvas
        self._key = None        # what the layer shows (or is being composed): (pred, gt, palette, options)
        self.layer = PictureLayer()
        canvas.scene().addItem(self.layer)
        self.composer = LatestJob(self)
        self.composer.ready.connect(self._show)
        self.composer.failed.connect(lambda text: dock.view.caption.setText(f"overlay on the canvas: {text}"))
        on = str(QSettings().value(SETTING, "true")).lower() != "false"
        self.action = QAction("Review &overlay on canvas", dock)
        self.action.setCheckable(True)
        self.action.setChecked(on)
        self.action.setShortcut(QKeySequence(SHORTCUT))
        self.action.setToolTip(f"Show the review overlay (prediction, annotation, errors) on the canvas "
                               f"({SHORTCUT})")
        self.action.setIconText(f"Overlay ({SHORTCUT})")     # the toolbar's and the dock's button
        self.action.toggled.connect(self.set_visible)
        view = dock.view
        view.canvas_button.setDefaultAction(self.action)
        view.canvas_button.show()
        view.dataChanged.connect(self.refresh)
        view.optionsChanged.connect(self.refresh)
        view.opacity.valueChanged.connect(self._apply_opacity)
        canvas.document.loaded.connect(self._on_loaded)
        self.layer.setVisible(on)
        self._apply_opacity()
        self.refresh()

    # ------------------------------------------------------------------ state
    @property
    def visible(self) -> bool:
        return self.action.isChecked()

    def set_visible(self, on: bool) -> None:
        if self.action.isChecked() != bool(on):
            self.action.setChecked(bool(on))    # comes back here through toggled
            return
        QSettings().setValue(SETTING, "true" if on else "false")
        self.layer.setVisible(bool(on))
        self.refresh()

    def _apply_opacity(self, *_):
        self.layer.setOpacity(self.dock.view.opacity.value() / 100.0)

    def _on_loaded(self) -> None:
        """Another image on the canvas: the old layer goes at once; the dock's refresh brings the new one."""
        self.composer.cancel()
        self._key = None
        self.layer.clear()
        self.updated.emit()
        self.refresh()      # the dock already has this image's data (it was told first): draw it

    def _inputs(self) -> Optional[tuple]:
        """(pred, gt, palette, options) for the image on the canvas, or None (no image, another image than the
        dock's, nothing to draw)."""
        dock, view = self.dock, self.dock.view
        doc = self.canvas.document
        if doc.annotation is None or not dock._document_on_entry() or view.palette is None:
            return None
        size = (doc.image_size[1], doc.image_size[0])
        pred = view.pred if view.pred is not None and view.pred.shape == size else None
        gt = view.gt if view.gt is not None and view.gt.shape == size else None
        if pred is None and gt is None:
            return None
        return pred, gt, np.asarray(view.palette), view.options()

    # ------------------------------------------------------------------ drawing
    def refresh(self, *_):
        """Recompose (on the worker) from the dock's current data and options; clears when there is nothing."""
        if not self.visible:
            self.composer.cancel()
            self._key = None
            return
        inputs = self._inputs()
        if inputs is None:
            self.composer.cancel()
            self._key = None
            if not self.layer.pixmap().isNull():
                self.layer.clear()
                self.updated.emit()
            return
        pred, gt, palette, opts = inputs
        opts = OverlayOptions(alpha=1.0, mode=opts.mode, show_pred=opts.show_pred, show_gt=opts.show_gt,
                              errors=opts.errors)
        key = (id(pred), id(gt), palette.tobytes(), opts)
        if key == self._key and not self.layer.pixmap().isNull():
            return            # e.g. only the opacity moved: the layer's opacity did it
        self._key = key
        self.composer.request(lambda: overlay_layer(pred, gt, palette, opts, bgra=True))

    def _show(self, array) -> None:
        self.layer.set_array(array)
        self.updated.emit()

    def shutdown(self) -> None:
        self.composer.cancel()
        self.composer.wait()
