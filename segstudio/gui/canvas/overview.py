"""Level of detail for many shapes: one pre-rendered overview picture instead of 1000 items when zoomed out.

When the document has at least ``MIN_SHAPES`` shapes and the zoom is at most the overview's own scale
(so every screen pixel covers at least one overview pixel and nothing looks coarser), the canvas paints the
overview pixmap (one drawPixmap) and makes the shape items fully transparent, which Qt skips when painting;
they stay in the scene for hit testing.  Selected shapes keep their items, drawn highlighted on top.  The
picture is rebuilt lazily after an edit, a colour change or a class visibility change (one pass over the
shapes, not per paint).
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem

MIN_SHAPES = 200          # below this the items are always painted directly
MAX_SIDE = 2048           # overview resolution: longest side in pixels


class Overview:
    """The overview pixmap item of a CanvasView and the logic that decides when it is shown."""

    def __init__(self, scene):
        self.item = QGraphicsPixmapItem()
        self.item.setZValue(-0.5)              # above the image, below every shape item
        self.item.setTransformationMode(Qt.SmoothTransformation)
        self.item.setVisible(False)
        scene.addItem(self.item)
        self.active = False
        self.dirty = True
        self.scale = 1.0

    def wanted(self, n_shapes: int, zoom: float, width: int, height: int) -> bool:
        if n_shapes < MIN_SHAPES or width <= 0 or height <= 0:
            return False
        self.scale = min(1.0, MAX_SIDE / max(width, height))
        return zoom <= self.scale + 1e-9

    def render(self, items, width: int, height: int) -> None:
        """Paint ``items`` (shape items in paint order; hidden ones skipped) into the overview picture."""
        s = self.scale
        img = QImage(max(1, round(width * s)), max(1, round(height * s)), QImage.Format_ARGB32_Premultiplied)
        img.fill(Qt.transparent)
        p = QPainter(img)
        p.scale(s, s)
        for it in items:
            if not it.isVisible():
                continue
            if hasattr(it, "path"):
                p.setPen(it.pen())
                p.setBrush(it.brush())
                p.drawPath(it.path())
            else:
                p.drawPixmap(QPointF(it.offset()), it.pixmap())
        p.end()
        self.item.setPixmap(QPixmap.fromImage(img))
        self.item.setScale(1.0 / s)
        self.dirty = False
