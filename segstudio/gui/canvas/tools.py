"""Drawing tools of the canvas: polygon, rectangle, circle, point, line, linestrip, brush and eraser.

A tool receives mouse events in image (scene) coordinates from :class:`~segstudio.gui.canvas.view.CanvasView`
and pushes exactly one undo command per finished shape or stroke.  The edit tool lives in ``edit.py``.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem

from segstudio.core.annotation.document import Shape
from segstudio.core.annotation import edit as ops
from segstudio.gui.canvas.items import Z_PREVIEW, shape_path

if TYPE_CHECKING:  # pragma: no cover
    from segstudio.gui.canvas.view import CanvasView

CLOSE_DISTANCE = 8.0   # view pixels: clicking this close to the first vertex closes a polygon
DRAG_DISTANCE = 4.0    # view pixels: a press-drag-release longer than this draws a 2-point shape at once


class Tool:
    """Base class: no-op handlers. ``view`` is the owning CanvasView."""

    name = ""

    def __init__(self, view: "CanvasView"):
        self.view = view

    def press(self, pos: QPointF, event) -> None: ...
    def move(self, pos: QPointF, event) -> None: ...
    def release(self, pos: QPointF, event) -> None: ...
    def double_click(self, pos: QPointF, event) -> None: ...

    def key(self, event) -> bool:
        """Handle a key; True when consumed."""
        return False

    @property
    def busy(self) -> bool:
        """True while a shape or stroke is in progress (Esc cancels it instead of clearing the selection)."""
        return False

    def cancel(self) -> None: ...

    def deactivate(self) -> None:
        self.cancel()


class DrawTool(Tool):
    """Click-by-click drawing of vector shapes (one tool instance per shape type)."""

    FIXED = {"rectangle": 2, "circle": 2, "line": 2, "point": 1}

    def __init__(self, view: "CanvasView", shape_type: str):
        super().__init__(view)
        self.name = self.shape_type = shape_type
        self.points: list[QPointF] = []
        self._cursor: QPointF | None = None
        self._press_view = None
        self._preview: QGraphicsPathItem | None = None

    @property
    def busy(self) -> bool:
        return bool(self.points)

    # ------------------------------------------------------------------ events
    def press(self, pos, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        pos = self.view.clamp_to_image(pos)
        self._press_view = event.position()
        n = self.FIXED.get(self.shape_type)
        if self.shape_type == "polygon" and len(self.points) >= 3 and self._near_first(pos):
            self.finish()
            return
        if self.shape_type == "linestrip" and len(self.points) >= 2 and self._near(pos, self.points[-1]):
            self.finish()
            return
        self.points.append(pos)
        if n is not None and len(self.points) >= n:
            self.finish()
        else:
            self._update_preview()

    def move(self, pos, event) -> None:
        self._cursor = self.view.clamp_to_image(pos)
        if self.points:
            self._update_preview()

    def release(self, pos, event) -> None:
        # press-drag-release draws rectangles, circles and lines in one gesture
        if (self.FIXED.get(self.shape_type) == 2 and len(self.points) == 1 and self._press_view is not None
                and (event.position() - self._press_view).manhattanLength() > DRAG_DISTANCE):
            self.points.append(self.view.clamp_to_image(pos))
            self.finish()

    def double_click(self, pos, event) -> None:
        if self.shape_type == "linestrip" and len(self.points) >= 2:
            self.finish()
        elif self.shape_type == "polygon" and len(self.points) >= 3:
            self.finish()

    def key(self, event) -> bool:
        k = event.key()
        if k in (Qt.Key_Return, Qt.Key_Enter) and self.points:
            self.finish()
            return True
        if k == Qt.Key_Backspace and self.points:
            self.points.pop()
            self._update_preview()
            return True
        return False

    # ------------------------------------------------------------------ shape building
    def finish(self) -> None:
        """Turn the clicked points into a shape (asks for the label when the window set label_requested)."""
        pts = [[p.x(), p.y()] for p in self.points]
        self.cancel()
        min_pts = {"polygon": 3, "linestrip": 2}.get(self.shape_type, self.FIXED.get(self.shape_type, 1))
        if len(pts) < min_pts:
            return
        if self.shape_type in ("rectangle", "circle", "line") and pts[0] == pts[1]:
            return  # zero-size shape: nothing to keep
        label = self.view.ask_label(pts)   # pts: where the shape is (the label dialog keeps clear of it)
        if label is None:
            return
        self.view.document.add_shapes([Shape(label=label, points=pts, shape_type=self.shape_type)])

    def cancel(self) -> None:
        self.points = []
        self._press_view = None
        if self._preview is not None:
            self.view.scene().removeItem(self._preview)
            self._preview = None

    def _near(self, a: QPointF, b: QPointF) -> bool:
        va, vb = self.view.mapFromScene(a), self.view.mapFromScene(b)
        return math.hypot(va.x() - vb.x(), va.y() - vb.y()) <= CLOSE_DISTANCE

    def _near_first(self, pos: QPointF) -> bool:
        return self._near(pos, self.points[0])

    def _update_preview(self) -> None:
        if self._preview is None:
            self._preview = QGraphicsPathItem()
            pen = QPen(self.view.label_color(self.view.current_label))
            pen.setCosmetic(True)
            pen.setWidthF(2.0)
            pen.setStyle(Qt.DashLine)
            self._preview.setPen(pen)
            self._preview.setZValue(Z_PREVIEW)
            self.view.scene().addItem(self._preview)
        pts = list(self.points)
        if self._cursor is not None:
            pts.append(self._cursor)
        if self.shape_type in ("rectangle", "circle", "line") and len(pts) >= 2:
            path = shape_path(Shape(label="", points=[[p.x(), p.y()] for p in pts[:2]], shape_type=self.shape_type))
        else:
            path = QPainterPath()
            if pts:
                path.moveTo(pts[0])
                for p in pts[1:]:
                    path.lineTo(p)
                for p in self.points:  # small vertex marks, 3 image px
                    path.addEllipse(p, 1.5, 1.5)
        self._preview.setPath(path)


class BrushTool(Tool):
    """Brush (paints the current class as a mask shape) or eraser (removes mask pixels and cuts the polygons,
rectangles and circles it touches, turned into mask shapes); one undo per stroke."""

    def __init__(self, view: "CanvasView", erase: bool):
        super().__init__(view)
        self.erase = erase
        self.name = "eraser" if erase else "brush"
        self.points: list[list[float]] = []
        self._stroke: QGraphicsPathItem | None = None
        self._cursor: QGraphicsEllipseItem | None = None

    @property
    def busy(self) -> bool:
        return bool(self.points)

    def press(self, pos, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        self.points = [[pos.x(), pos.y()]]
        self._stroke = QGraphicsPathItem()
        color = QColor(255, 255, 255) if self.erase else QColor(self.view.label_color(self.view.current_label))
        color.setAlpha(140)
        pen = QPen(color, float(self.view.brush_size), Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin)
        self._stroke.setPen(pen)
        self._stroke.setZValue(Z_PREVIEW)
        self.view.scene().addItem(self._stroke)
        self._update_stroke()

    def move(self, pos, event) -> None:
        self._show_cursor(pos)
        if self.points:
            last = self.points[-1]
            if (pos.x() - last[0]) ** 2 + (pos.y() - last[1]) ** 2 >= 0.25:
                self.points.append([pos.x(), pos.y()])
                self._update_stroke()

    def release(self, pos, event) -> None:
        if not self.points or event.button() != Qt.LeftButton:
            return
        points = self.points
        self.cancel()
        doc = self.view.document
        w, h = doc.image_size
        stroke = ops.stroke_region(points, self.view.brush_size, w, h)
        if stroke is None:
            return
        if self.erase:   # polygons, rectangles, circles it touches are cut (as masks); lines/points say why not
            from segstudio.core.annotation.erase import cut_stroke

            visible = [lbl for lbl in {s.label for s in doc.shapes()} if self.view.is_label_visible(lbl)]
            new, cut, refused = cut_stroke(doc.shapes(), stroke, w, h, visible)
            doc.set_shapes(new, f"Erase (cut {cut} shape(s) into masks)" if cut else "Erase")
            if cut:
                self.view.message.emit(f"Eraser: {cut} shape(s) became mask shapes to be cut (Ctrl+Z undoes)")
            if refused:
                self.view.message.emit(f"The eraser cannot cut a {' or '.join(refused)} (it has no area): "
                                       "select it and press Delete, or move its points")
        else:
            label = self.view.current_label
            if not label or not self.view.is_label_visible(label):
                return
            new, index = ops.paint_stroke(doc.shapes(), stroke, label)
            if index >= 0:
                doc.set_shapes(new, f"Brush {label!r}", [index])

    def cancel(self) -> None:
        self.points = []
        if self._stroke is not None:
            self.view.scene().removeItem(self._stroke)
            self._stroke = None

    def deactivate(self) -> None:
        self.cancel()
        if self._cursor is not None:
            self.view.scene().removeItem(self._cursor)
            self._cursor = None

    def size_changed(self) -> None:
        if self._cursor is not None:
            self._show_cursor(self._cursor.rect().center())

    def _update_stroke(self) -> None:
        path = QPainterPath()
        path.moveTo(*self.points[0])
        for x, y in self.points[1:]:
            path.lineTo(x, y)
        if len(self.points) == 1:
            path.lineTo(self.points[0][0] + 0.01, self.points[0][1])
        self._stroke.setPath(path)

    def _show_cursor(self, pos: QPointF) -> None:
        if self._cursor is None:
            self._cursor = QGraphicsEllipseItem()
            pen = QPen(QColor(255, 255, 255))
            pen.setCosmetic(True)
            self._cursor.setPen(pen)
            self._cursor.setZValue(Z_PREVIEW)
            self.view.scene().addItem(self._cursor)
        r = self.view.brush_size / 2.0
        self._cursor.setRect(pos.x() - r, pos.y() - r, 2 * r, 2 * r)
