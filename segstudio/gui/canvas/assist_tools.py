"""Canvas tools of model-assisted annotation (docs/assist.md); the work itself is in core/interactive.

* :class:`AssistTool` ``assist_box`` - drag a box: the object inside becomes a shape; then left-click adds a
  positive point, right-click a negative one (the shape updates in place, one undo step per click);
  ``assist_click`` - the same without boxes: the first left-click starts an object.  Enter / Esc end the
  object.
* :class:`WandTool` ``wand`` - press on a seed: the region of similar colour (within the visible part of the
  image) is previewed; the mouse wheel while the button is held changes the tolerance; release adds it.
* :class:`SnapTool` ``snap`` - click anchors: the outline between them follows the image's edges (OpenCV
  intelligent scissors); click the first anchor, double-click or Enter to close the polygon; Backspace
  removes the last anchor, Esc cancels.

The box, click and wand results go through :class:`~segstudio.gui.assist_controller.AssistController`
(worker thread, one undo step each).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QApplication, QGraphicsEllipseItem, QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsRectItem,
)

from segstudio.core.annotation.document import Shape
from segstudio.core.errors import SegStudioError
from segstudio.core.interactive import EdgeSnapper, magic_wand, simplify_path, to_rgb8
from segstudio.core.interactive.wand import DEFAULT_TOLERANCE, MAX_TOLERANCE
from segstudio.gui.canvas.items import Z_PREVIEW
from segstudio.gui.canvas.tools import CLOSE_DISTANCE, DRAG_DISTANCE, Tool

if TYPE_CHECKING:  # pragma: no cover
    from segstudio.gui.assist_controller import AssistController
    from segstudio.gui.canvas.view import CanvasView

MARK_RADIUS = 5.0    # view pixels: the click markers
WHEEL_STEP = 4       # tolerance change per wheel notch


def view_rect(view: "CanvasView") -> tuple[float, float, float, float]:
    r = view.mapToScene(view.viewport().rect()).boundingRect()
    return r.left(), r.top(), r.right(), r.bottom()


def _pen(color, width=2.0, style=Qt.SolidLine) -> QPen:
    pen = QPen(QColor(color))
    pen.setCosmetic(True)
    pen.setWidthF(width)
    pen.setStyle(style)
    return pen


class AssistTool(Tool):
    """Box -> shape and click refinement (see the module docstring)."""

    def __init__(self, view: "CanvasView", controller: "AssistController", *, boxes: bool = True):
        super().__init__(view)
        self.name = "assist_box" if boxes else "assist_click"
        self.controller = controller
        self.boxes = boxes
        self._start: QPointF | None = None
        self._press_view = None
        self._rect: QGraphicsRectItem | None = None
        self._marks: list[QGraphicsEllipseItem] = []
        controller.objectChanged.connect(self._show_marks)

    @property
    def busy(self) -> bool:
        return self._start is not None

    def press(self, pos, event) -> None:
        if event.button() == Qt.RightButton:
            self.controller.request_click(pos.x(), pos.y(), positive=False)
            return
        if event.button() != Qt.LeftButton:
            return
        self._start, self._press_view = pos, event.position()

    def move(self, pos, event) -> None:
        if self._start is None or not self.boxes:
            return
        if self._rect is None:
            self._rect = QGraphicsRectItem()
            self._rect.setPen(_pen(self.view.label_color(self.view.current_label), 2.0, Qt.DashLine))
            self._rect.setZValue(Z_PREVIEW)
            self.view.scene().addItem(self._rect)
        self._rect.setRect(QRectF(self._start, pos).normalized())

    def release(self, pos, event) -> None:
        if event.button() != Qt.LeftButton or self._start is None:
            return
        start, dragged = self._start, (event.position() - self._press_view).manhattanLength() > DRAG_DISTANCE
        self.cancel()
        if dragged and self.boxes:
            self.controller.request_box((start.x(), start.y(), pos.x(), pos.y()))
        else:
            self.controller.request_click(start.x(), start.y(), positive=True)

    def key(self, event) -> bool:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.controller.interaction is not None:
            self.controller.end_object()
            return True
        if event.key() == Qt.Key_Escape and self.controller.interaction is not None and not self.busy:
            self.controller.end_object()
            return False   # the canvas also clears the selection
        return False

    def cancel(self) -> None:
        self._start = None
        if self._rect is not None:
            self.view.scene().removeItem(self._rect)
            self._rect = None

    def deactivate(self) -> None:
        self.cancel()
        self.controller.end_object()

    def _show_marks(self) -> None:
        for m in self._marks:
            self.view.scene().removeItem(m)
        self._marks = []
        if self.view.tool != self.name:
            return
        r = MARK_RADIUS / max(self.view.zoom(), 1e-9)
        for c in self.controller.clicks:
            item = QGraphicsEllipseItem(c.x - r, c.y - r, 2 * r, 2 * r)
            item.setBrush(QBrush(QColor(40, 200, 60) if c.positive else QColor(230, 40, 40)))
            item.setPen(_pen(QColor(255, 255, 255), 1.5))
            item.setZValue(Z_PREVIEW + 1)
            self.view.scene().addItem(item)
            self._marks.append(item)


class WandTool(Tool):
    """Magic wand: press to preview, wheel while held for the tolerance, release to add (see module docstring)."""

    name = "wand"

    def __init__(self, view: "CanvasView", controller: "AssistController"):
        super().__init__(view)
        self.controller = controller
        self.tolerance = DEFAULT_TOLERANCE
        self._seed: QPointF | None = None
        self._mask: np.ndarray | None = None
        self._preview: QGraphicsPixmapItem | None = None
        self._rgb_key = None
        self._rgb = None

    @property
    def busy(self) -> bool:
        return self._seed is not None

    def press(self, pos, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        self._seed = pos
        self._grow()

    def wheel(self, delta_notches: float) -> None:
        self.tolerance = int(min(MAX_TOLERANCE, max(0, self.tolerance + round(delta_notches * WHEEL_STEP))))
        self.controller.message.emit(f"Magic wand tolerance {self.tolerance}", False)
        self._grow()

    def release(self, pos, event) -> None:
        if event.button() != Qt.LeftButton or self._seed is None:
            return
        mask = self._mask
        self.cancel()
        if mask is not None and mask.any():
            self.controller.request_mask(mask, "Magic wand")

    def _image_rgb(self):
        image = self.view.document.image
        if self._rgb_key is not image:
            self._rgb_key, self._rgb = image, to_rgb8(image)
        return self._rgb

    def _grow(self) -> None:
        image = self.view.document.image
        if self._seed is None or image is None:
            return
        try:
            self._mask = magic_wand(image, self._seed.x(), self._seed.y(), self.tolerance, view_rect(self.view),
                                    rgb=self._image_rgb())
        except SegStudioError as exc:
            self._mask = None
            self.controller.message.emit(str(exc), True)
            self.cancel()
            return
        self._show(self._mask)

    def _show(self, mask: np.ndarray) -> None:
        ys, xs = np.nonzero(mask)
        if self._preview is None:
            self._preview = QGraphicsPixmapItem()
            self._preview.setZValue(Z_PREVIEW)
            self.view.scene().addItem(self._preview)
        if xs.size == 0:
            self._preview.setPixmap(QPixmap())
            return
        x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        crop = mask[y0:y1, x0:x1]
        color = self.view.label_color(self.view.current_label)
        rgba = np.zeros(crop.shape + (4,), np.uint8)
        rgba[crop] = (color.red(), color.green(), color.blue(), 130)
        q = QImage(rgba.data, rgba.shape[1], rgba.shape[0], 4 * rgba.shape[1], QImage.Format_RGBA8888)
        self._preview.setPixmap(QPixmap.fromImage(q.copy()))
        self._preview.setPos(float(x0), float(y0))

    def cancel(self) -> None:
        self._seed, self._mask = None, None
        if self._preview is not None:
            self.view.scene().removeItem(self._preview)
            self._preview = None


class WheelForwarder(QObject):
    """While the wand's button is held, the wheel changes its tolerance instead of zooming."""

    def __init__(self, view: "CanvasView", wand: WandTool):
        super().__init__(view)
        self.view, self.wand = view, wand
        view.viewport().installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Wheel and self.view.tool == self.wand.name and self.wand.busy:
            self.wand.wheel(event.angleDelta().y() / 120.0)
            return True
        return False


class SnapTool(Tool):
    """Edge-snapping polygon (see the module docstring)."""

    name = "snap"

    def __init__(self, view: "CanvasView", controller: "AssistController"):
        super().__init__(view)
        self.controller = controller
        self.anchors: list[tuple[float, float]] = []
        self.points: list[list[float]] = []      # the committed outline (anchor to anchor)
        self._live: np.ndarray | None = None
        self._snapper: EdgeSnapper | None = None
        self._preview: QGraphicsPathItem | None = None

    @property
    def busy(self) -> bool:
        return bool(self.anchors)

    def _near_first(self, pos: QPointF) -> bool:
        a = self.view.mapFromScene(QPointF(*self.anchors[0]))
        b = self.view.mapFromScene(pos)
        return math.hypot(a.x() - b.x(), a.y() - b.y()) <= CLOSE_DISTANCE

    def press(self, pos, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        pos = self.view.clamp_to_image(pos)
        w, h = self.view.document.image_size
        x, y = min(pos.x(), w - 0.5), min(pos.y(), h - 0.5)
        if len(self.anchors) >= 2 and self._near_first(QPointF(x, y)):
            self.finish()
            return
        if self.anchors:
            self.points += self._path(x, y).tolist()[1:]
        self._anchor(x, y)

    def _path(self, x: float, y: float) -> np.ndarray:
        return self._snapper.path_to(x, y)

    def _anchor(self, x: float, y: float) -> None:
        image = self.view.document.image
        if self._snapper is None or self._snapper.image is not image:
            self._snapper = EdgeSnapper(image)
        QApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            self._snapper.set_anchor(x, y, view_rect(self.view))
        except SegStudioError as exc:
            self.controller.message.emit(str(exc), True)
            return
        finally:
            QApplication.restoreOverrideCursor()
        if not self.anchors:
            self.points = [[x, y]]
        self.anchors.append((x, y))
        self._update()

    def move(self, pos, event) -> None:
        if self.anchors:
            pos = self.view.clamp_to_image(pos)
            self._live = self._path(pos.x(), pos.y())
            self._update()

    def double_click(self, pos, event) -> None:
        if len(self.anchors) >= 2:
            self.finish()

    def key(self, event) -> bool:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and len(self.anchors) >= 2:
            self.finish()
            return True
        if event.key() == Qt.Key_Backspace and self.anchors:
            self.anchors.pop()
            if not self.anchors:
                self.cancel()
                return True
            ax, ay = self.anchors.pop()
            idx = max(i for i, p in enumerate(self.points) if abs(p[0] - ax) < 1 and abs(p[1] - ay) < 1)
            self.points = self.points[: idx + 1]
            self._anchor(ax, ay)
            return True
        return False

    def finish(self) -> None:
        """Close the outline back to the first anchor along the edges and add the polygon (one undo step)."""
        if not self.anchors or self._snapper is None:
            return
        closing = self._path(*self.anchors[0]).tolist()[1:]
        pts = simplify_path(np.array(self.points + closing, np.float32))
        label = self.view.current_label
        self.cancel()
        if len(pts) < 3:
            self.controller.message.emit("the outline needs at least 3 distinct points", True)
            return
        if not label:
            self.controller.message.emit("Choose a class first (keys 1-9 or the Classes list)", True)
            return
        if np.allclose(pts[0], pts[-1]):
            pts = pts[:-1]
        self.view.document.add_shapes([Shape(label=label, points=pts.astype(float).tolist(), shape_type="polygon")])

    def cancel(self) -> None:
        self.anchors, self.points, self._live = [], [], None
        if self._preview is not None:
            self.view.scene().removeItem(self._preview)
            self._preview = None

    def _update(self) -> None:
        if self._preview is None:
            self._preview = QGraphicsPathItem()
            self._preview.setPen(_pen(self.view.label_color(self.view.current_label), 2.0))
            self._preview.setZValue(Z_PREVIEW)
            self.view.scene().addItem(self._preview)
        path = QPainterPath()
        pts = self.points + (self._live.tolist()[1:] if self._live is not None else [])
        if pts:
            path.moveTo(*pts[0])
            for p in pts[1:]:
                path.lineTo(*p)
        r = 3.0 / max(self.view.zoom(), 1e-9)
        for ax, ay in self.anchors:
            path.addEllipse(QPointF(ax, ay), r, r)
        self._preview.setPath(path)
