"""Level of detail for many shapes: one pre-rendered overview picture instead of 1000 items when zoomed out.

When the document has at least ``MIN_SHAPES`` shapes and the zoom is at most the overview's own scale
(so every screen pixel covers at least one overview pixel and nothing looks coarser), the canvas paints the
overview picture (one drawImage) and makes the shape items fully transparent, which Qt skips when painting;
they stay in the scene for hit testing.  Selected shapes keep their items, drawn highlighted on top.  The
picture is rendered in full when it is first needed and after a colour or class visibility change; after an
edit only the rectangles where shapes appeared, vanished or changed paint order are cleared and repainted
(never per paint).
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

MIN_SHAPES = 200          # below this the items are always painted directly
MAX_SIDE = 2048           # overview resolution: longest side in pixels


class OverviewItem(QGraphicsItem):
    """Draws a QImage over the image rectangle (painted in place on edits: no pixmap copies)."""

    def __init__(self):
        super().__init__()
        self.image = QImage()
        self._rect = QRectF()

    def set_image(self, image: QImage, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self.image, self._rect = image, QRectF(rect)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter, option, widget=None) -> None:
        if not self.image.isNull():
            painter.setRenderHint(QPainter.SmoothPixmapTransform, True)
            painter.drawImage(self._rect, self.image)


class Overview:
    """The overview item of a CanvasView and the logic that decides when it is shown."""

    def __init__(self, scene):
        self.item = OverviewItem()
        self.item.setZValue(-0.5)              # above the image, below every shape item
        self.item.setVisible(False)
        scene.addItem(self.item)
        self.active = False
        self.dirty = True            # the whole picture must be rendered again
        self.dirty_rects: list[QRectF] = []   # ... or only these scene rectangles
        self.scale = 1.0

    def wanted(self, n_shapes: int, zoom: float, width: int, height: int) -> bool:
        if n_shapes < MIN_SHAPES or width <= 0 or height <= 0:
            return False
        self.scale = min(1.0, MAX_SIDE / max(width, height))
        return zoom <= self.scale + 1e-9

    def invalidate(self, rects) -> None:
        """Mark scene rectangles for repainting (an edit); while the overview is hidden, all of it."""
        rects = [r for r in rects if not r.isEmpty()]
        if not self.active or self.item.image.isNull():
            self.dirty = True
        elif rects:
            self.dirty_rects.extend(rects)

    def picture(self) -> QImage:
        """A copy of the current overview picture (for tests and screenshots)."""
        return self.item.image.copy()

    def render(self, items, width: int, height: int) -> None:
        """Paint ``items`` (shape items in paint order; hidden ones skipped) into a new overview picture."""
        s = self.scale
        img = QImage(max(1, round(width * s)), max(1, round(height * s)), QImage.Format_ARGB32_Premultiplied)
        img.fill(Qt.transparent)
        p = QPainter(img)
        p.scale(s, s)
        for it in items:
            if it.isVisible():
                self._draw(p, it)
        p.end()
        self.item.set_image(img, QRectF(0, 0, width, height))
        self.dirty = False
        self.dirty_rects = []

    def update(self, items) -> None:
        """Repaint only the dirty rectangles: clear them, then draw the shapes that meet them, in order."""
        s = self.scale
        margin = 2.0 / s + 1.0       # cosmetic outlines reach past the geometry
        dirty = QRectF()
        for r in self.dirty_rects:
            dirty = dirty.united(r.adjusted(-margin, -margin, margin, margin))
        self.dirty_rects = []
        if dirty.isEmpty():
            return
        p = QPainter(self.item.image)
        p.scale(s, s)
        p.setClipRect(dirty)
        p.setCompositionMode(QPainter.CompositionMode_Clear)
        p.fillRect(dirty, Qt.transparent)
        p.setCompositionMode(QPainter.CompositionMode_SourceOver)
        for it in items:
            if it.isVisible() and it.sceneBoundingRect().intersects(dirty):
                self._draw(p, it)
        p.end()
        self.item.update(dirty)

    @staticmethod
    def _draw(p: QPainter, it) -> None:
        if hasattr(it, "path"):
            p.setPen(it.pen())
            p.setBrush(it.brush())
            p.drawPath(it.path())
        else:
            p.drawPixmap(QPointF(it.offset()), it.pixmap())
