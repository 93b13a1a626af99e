"""QGraphicsItems that draw shapes: one item per shape with its path built once (QPainterPath, C++ painting).

Vector shapes are :class:`PathShapeItem` (cosmetic pens, so outlines stay 2 px at any zoom); ``mask``
shapes are :class:`MaskShapeItem` (a coloured pixmap of the patch).  Only the selected shapes get vertex
:class:`HandleItem`s, which ignore the view transform so they keep their on-screen size.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsRectItem

from segstudio.core.annotation.document import Shape
from segstudio.gui.qimage import to_qpixmap

FILL_ALPHA = 70
# selected: a lighter 2-px outline and handles say it; the fill stays see-through (it used to be 140, which
# hid the image under the shape while its vertices were being adjusted)
SELECTED_FILL_ALPHA = 100
MASK_ALPHA, SELECTED_MASK_ALPHA = 110, 150
POINT_RADIUS = 3.0      # on-screen size of point shapes, image pixels
HANDLE_SIZE = 8.0       # on-screen size of vertex handles, view pixels
Z_HANDLE = 1e7
Z_PREVIEW = 1e7 + 1


def shape_path(shape: Shape) -> QPainterPath:
    """The outline of a vector shape in image coordinates."""
    pts = [QPointF(float(x), float(y)) for x, y in shape.points]
    path = QPainterPath()
    if not pts:
        return path
    t = shape.shape_type
    if t == "rectangle" and len(pts) == 2:
        path.addRect(QRectF(pts[0], pts[1]).normalized())
    elif t == "circle" and len(pts) == 2:
        r = math.hypot(pts[1].x() - pts[0].x(), pts[1].y() - pts[0].y())
        path.addEllipse(pts[0], r, r)
    elif t == "point":
        path.addEllipse(pts[0], POINT_RADIUS, POINT_RADIUS)
    elif t in ("line", "linestrip"):
        path.moveTo(pts[0])
        for p in pts[1:]:
            path.lineTo(p)
    else:  # polygon, oriented_rectangle
        path.addPolygon(QPolygonF(pts))
        path.closeSubpath()
    return path


class PathShapeItem(QGraphicsPathItem):
    """A vector shape; ``index`` is its position in the document's shape list."""

    def __init__(self, shape: Shape, color: QColor):
        super().__init__()
        self.index = -1
        self.shape_ref = shape
        self._color = QColor(color)
        self._selected = False
        self.set_shape(shape)
        self._restyle()

    def set_shape(self, shape: Shape) -> None:
        """Show ``shape`` (used live while dragging a vertex; the document is updated on release)."""
        self.shape_ref = shape
        self.setPath(shape_path(shape))

    def bounds(self) -> tuple[float, float, float, float, int]:
        """Scene box (x0, y0, x1, y1) and vertex count, for the level-of-detail decision."""
        r = self.path().controlPointRect()
        return r.left(), r.top(), r.right(), r.bottom(), max(4, len(self.shape_ref.points))

    def paint_plain(self, painter) -> None:
        """Paint the shape unselected (into the overview), whatever its selection state."""
        painter.setPen(self._pen(False))
        painter.setBrush(self._brush(False))
        painter.drawPath(self.path())

    def set_color(self, color: QColor) -> None:
        self._color = QColor(color)
        self._restyle()

    def set_highlighted(self, selected: bool) -> None:
        if selected != self._selected:
            self._selected = selected
            self._restyle()

    def _pen(self, selected: bool) -> QPen:
        pen = QPen(self._color.lighter(150) if selected else self._color)
        pen.setCosmetic(True)
        # 1-px cosmetic lines take the raster engine's fast path; wider pens go through the stroker (3x slower)
        pen.setWidthF(2.0 if selected else 1.0)
        return pen

    def _brush(self, selected: bool) -> QBrush:
        if self.shape_ref.shape_type in ("line", "linestrip"):
            return QBrush(Qt.NoBrush)
        fill = QColor(self._color)
        fill.setAlpha(SELECTED_FILL_ALPHA if selected else FILL_ALPHA)
        return QBrush(fill)

    def _restyle(self) -> None:
        self.setPen(self._pen(self._selected))
        self.setBrush(self._brush(self._selected))

    def hit(self, x: float, y: float, tolerance: float) -> bool:
        """True when (x, y) (image coordinates) is inside the shape or within ``tolerance`` of its outline."""
        if self.shape_ref.shape_type not in ("line", "linestrip") and self.path().contains(QPointF(x, y)):
            return True
        from segstudio.core.annotation.edit import nearest_edge

        s = self.shape_ref
        if s.shape_type in ("line", "linestrip", "polygon"):
            probe = s if s.shape_type != "line" else Shape(label=s.label, points=s.points, shape_type="linestrip")
            found = nearest_edge(probe, x, y)
            return found is not None and found[1] <= tolerance
        if s.shape_type == "point":
            px, py = s.points[0]
            return math.hypot(px - x, py - y) <= POINT_RADIUS + tolerance
        return False


class MaskShapeItem(QGraphicsPixmapItem):
    """A ``mask`` shape: its bool patch as a coloured, semi-transparent pixmap at ``points[0]``."""

    def __init__(self, shape: Shape, color: QColor):
        super().__init__()
        self.index = -1
        self.shape_ref = shape
        self._color = QColor(color)
        self._selected = False
        self._plain = QPixmap()
        self.setShapeMode(QGraphicsPixmapItem.BoundingRectShape)
        self.setTransformationMode(Qt.FastTransformation)
        self.set_shape(shape)

    def set_shape(self, shape: Shape) -> None:
        self.shape_ref = shape
        x0, y0 = shape.points[0]
        self.setOffset(float(int(x0)), float(int(y0)))
        self._render()

    def set_color(self, color: QColor) -> None:
        self._color = QColor(color)
        self._render()

    def set_highlighted(self, selected: bool) -> None:
        if selected != self._selected:
            self._selected = selected
            self.setPixmap(self._tinted(True) if selected else self._plain)

    def _tinted(self, selected: bool) -> QPixmap:
        mask = self.shape_ref.mask
        if mask is None or mask.size == 0:
            return QPixmap()
        h, w = mask.shape
        alpha = SELECTED_MASK_ALPHA if selected else MASK_ALPHA
        c = self._color
        rgba = np.zeros((h, w, 4), dtype=np.uint8)
        rgba[mask] = (c.red(), c.green(), c.blue(), alpha)
        return to_qpixmap(rgba)

    def _render(self) -> None:
        self._plain = self._tinted(False)
        self.setPixmap(self._tinted(True) if self._selected else self._plain)

    def bounds(self) -> tuple[float, float, float, float, int]:
        """Scene box (x0, y0, x1, y1) and vertex count, for the level-of-detail decision."""
        o, pm = self.offset(), self._plain
        return o.x(), o.y(), o.x() + pm.width(), o.y() + pm.height(), 4

    def paint_plain(self, painter) -> None:
        """Paint the mask unselected (into the overview), whatever its selection state."""
        painter.drawPixmap(self.offset(), self._plain)

    def hit(self, x: float, y: float, tolerance: float) -> bool:
        mask = self.shape_ref.mask
        if mask is None:
            return False
        x0, y0 = (int(v) for v in self.shape_ref.points[0])
        c, r = int(math.floor(x)) - x0, int(math.floor(y)) - y0
        return 0 <= r < mask.shape[0] and 0 <= c < mask.shape[1] and bool(mask[r, c])


class HandleItem(QGraphicsRectItem):
    """A vertex handle of a selected shape; constant on-screen size (ItemIgnoresTransformations)."""

    def __init__(self, shape_index: int, vertex_index: int, x: float, y: float, color: QColor):
        h = HANDLE_SIZE
        super().__init__(-h / 2, -h / 2, h, h)
        self.shape_index = shape_index
        self.vertex_index = vertex_index
        self.setFlag(QGraphicsItem.ItemIgnoresTransformations, True)
        self.setPos(x, y)
        self.setZValue(Z_HANDLE)
        pen = QPen(QColor(255, 255, 255))
        pen.setCosmetic(True)
        self.setPen(pen)
        self.setBrush(QBrush(QColor(color)))
