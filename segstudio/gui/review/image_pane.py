"""A zoomable view of one RGB picture; two panes can be linked (side-by-side review zooms and pans together)."""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView

from segstudio.gui.qimage import to_qpixmap


class ImagePane(QGraphicsView):
    """Shows an image fitted to the view until the user zooms (wheel) or pans (drag)."""

    def __init__(self, title: str = "", parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.item = QGraphicsPixmapItem()
        self.item.setTransformationMode(Qt.FastTransformation)
        self.scene().addItem(self.item)
        self.setRenderHint(QPainter.SmoothPixmapTransform, False)
        self.setDragMode(QGraphicsView.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setBackgroundBrush(Qt.darkGray)
        self.setToolTip(title)
        self.title = title
        self.image: Optional[np.ndarray] = None
        self._fit = True
        self._partners: list["ImagePane"] = []
        self._syncing = False
        self.horizontalScrollBar().valueChanged.connect(self._sync_scroll)
        self.verticalScrollBar().valueChanged.connect(self._sync_scroll)

    def set_image(self, rgb: Optional[np.ndarray]) -> None:
        self.image = None if rgb is None else np.asarray(rgb)
        if rgb is None:
            self.item.setPixmap(QPixmap())
            return
        same_size = not self.item.pixmap().isNull() and self.item.pixmap().size().width() == rgb.shape[1] \
            and self.item.pixmap().size().height() == rgb.shape[0]
        self.item.setPixmap(to_qpixmap(rgb))
        self.scene().setSceneRect(self.item.boundingRect())
        if self._fit or not same_size:
            self.fit()

    def fit(self) -> None:
        self._fit = True
        if not self.item.pixmap().isNull():
            self.fitInView(self.item, Qt.KeepAspectRatio)
        self._sync_transform()

    def link(self, other: "ImagePane") -> None:
        """Zoom and pan ``other`` with this pane (and the reverse)."""
        if other not in self._partners:
            self._partners.append(other)
            other._partners.append(self)

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt API
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        self._fit = False
        self.scale(factor, factor)
        self._sync_transform()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self._fit:
            self.fit()

    def _sync_transform(self) -> None:
        if self._syncing:
            return
        for p in self._partners:
            p._syncing = True
            p._fit = self._fit
            p.setTransform(self.transform())
            p._syncing = False
        self._sync_scroll()

    def _sync_scroll(self, *_):
        if self._syncing:
            return
        for p in self._partners:
            p._syncing = True
            p.horizontalScrollBar().setValue(self.horizontalScrollBar().value())
            p.verticalScrollBar().setValue(self.verticalScrollBar().value())
            p._syncing = False
