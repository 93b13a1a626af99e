"""CanvasView: the annotation canvas (zoom, pan, shape items kept in sync with the DocumentModel, tools).

Performance design (1000 polygons on a 4096x4096 image): one QGraphicsItem per shape with its path built once
when the shape changes (paths are painted in C++, no per-paint Python loop), items indexed by the scene's BSP
tree so only visible ones are painted, vertex handles only for the selected shapes, scrolling blits the
viewport, and items are re-created only for the shapes an edit replaced (shapes are immutable values).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QPainter, QPainterPath, QPixmap
from PySide6.QtWidgets import QFrame, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView

from segstudio.core.imaging import to_display
from segstudio.gui.canvas.edit import EditTool
from segstudio.gui.canvas.items import HandleItem, MaskShapeItem, PathShapeItem
from segstudio.gui.canvas import overview as lod
from segstudio.gui.canvas.overview import Overview
from segstudio.gui.canvas.tools import BrushTool, DrawTool
from segstudio.gui.document_model import DocumentModel
from segstudio.gui.qimage import to_qpixmap


TOOLS = ("edit", "polygon", "rectangle", "circle", "point", "line", "linestrip", "brush", "eraser")
MAX_HANDLES = 5000          # vertex handles are shown for at most this many selected vertices
ZOOM_MIN, ZOOM_MAX = 1 / 64, 64.0
WHEEL_STEP = 1.25           # zoom factor per wheel notch
BRUSH_MIN, BRUSH_MAX = 1, 512


def _palette_color(i: int) -> QColor:
    from segstudio.core.annotation.labels import voc_palette

    r, g, b = (int(v) for v in voc_palette(256)[1 + i % 255])
    return QColor(r, g, b)


class CanvasView(QGraphicsView):
    toolChanged = Signal(str)
    cursorMoved = Signal(float, float)
    zoomChanged = Signal(float)
    brushSizeChanged = Signal(int)
    message = Signal(str)   # a line for the status bar (e.g. what the eraser cannot cut, and why)

    def __init__(self, document: DocumentModel, parent=None):
        super().__init__(parent)
        self.document = document
        self.current_label = ""
        self.label_requested: Callable[[str], str | None] | None = None
        # changing the label of existing shapes (Ctrl+E, right-click menu): called with the selected indices
        self.relabel_requested: Callable[[list[int]], None] | None = None
        self.labelling_points = None   # the points of the shape whose label is being asked (see ask_label)
        self._brush_size = 20
        self._colors: dict[str, QColor] = {}
        self._auto_colors: dict[str, QColor] = {}
        self._hidden: set[str] = set()
        self._items: dict[int, PathShapeItem | MaskShapeItem] = {}   # id(shape) -> item
        self._by_index: list[PathShapeItem | MaskShapeItem] = []
        self._bounds = np.zeros((0, 4))            # per item: scene box, vertex count, visible (LOD)
        self._verts = np.zeros(0)
        self._vis = np.zeros(0, bool)
        self._handles: list[HandleItem] = []
        self._space = False
        self._pan_last = None
        self._fit_mode = True      # keep the image fitted on resize until the user zooms

        scene = QGraphicsScene(self)
        scene.setItemIndexMethod(QGraphicsScene.BspTreeIndex)
        self.setScene(scene)
        self._image_item = QGraphicsPixmapItem()
        self._image_item.setZValue(-1)
        self._image_item.setTransformationMode(Qt.FastTransformation)
        scene.addItem(self._image_item)
        self._overview = Overview(scene)

        self.setTransformationAnchor(QGraphicsView.NoAnchor)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.MinimalViewportUpdate)
        self.setOptimizationFlags(QGraphicsView.DontSavePainterState | QGraphicsView.DontAdjustForAntialiasing)
        self.setCacheMode(QGraphicsView.CacheNone)
        self.setRenderHint(QPainter.Antialiasing, False)
        self.setBackgroundBrush(QColor(40, 40, 40))
        self.setFrameShape(QFrame.NoFrame)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)

        self._tools = {"edit": EditTool(self), "brush": BrushTool(self, erase=False),
                       "eraser": BrushTool(self, erase=True)}
        for t in ("polygon", "rectangle", "circle", "point", "line", "linestrip"):
            self._tools[t] = DrawTool(self, t)
        self._tool = self._tools["edit"]

        document.loaded.connect(self._on_loaded)
        document.changed.connect(self._sync_items)
        document.selectionChanged.connect(self._on_selection)
        if document.annotation is not None:
            self._on_loaded()

    # ------------------------------------------------------------------ public API
    @property
    def tool(self) -> str:
        return self._tool.name

    def set_tool(self, name: str) -> None:
        if name not in self._tools:
            raise ValueError(f"unknown tool {name!r}; known: {', '.join(self._tools)}")
        if self._tools[name] is self._tool:
            return
        self._tool.deactivate()
        self._tool = self._tools[name]
        self.viewport().setCursor(Qt.ArrowCursor if name == "edit" else Qt.CrossCursor)
        self.toolChanged.emit(name)

    def add_tool(self, tool) -> None:
        """Register an extension's tool (a ``gui.canvas.tools.Tool``) under ``tool.name`` for :meth:`set_tool`."""
        if tool.name in self._tools:
            raise ValueError(f"a tool called {tool.name!r} already exists")
        self._tools[tool.name] = tool

    @property
    def brush_size(self) -> int:
        return self._brush_size

    @brush_size.setter
    def brush_size(self, value: int) -> None:
        size = int(min(max(int(value), BRUSH_MIN), BRUSH_MAX))
        if size == self._brush_size:
            return
        self._brush_size = size
        for name in ("brush", "eraser"):
            self._tools[name].size_changed()
        self.brushSizeChanged.emit(size)

    def set_label_colors(self, colors: dict) -> None:
        self._colors.update({k: QColor(v) for k, v in colors.items()})
        for item in self._by_index:
            item.set_color(self.label_color(item.shape_ref.label))
        self._overview.clear()
        self._update_lod()

    def label_color(self, label: str) -> QColor:
        if label in self._colors:
            return self._colors[label]
        if label not in self._auto_colors:
            self._auto_colors[label] = _palette_color(len(self._auto_colors))
        return self._auto_colors[label]

    def set_label_visible(self, label: str, visible: bool) -> None:
        (self._hidden.discard if visible else self._hidden.add)(label)
        for item in self._by_index:
            if item.shape_ref.label == label:
                item.setVisible(visible)
        self._vis = np.array([it.isVisible() for it in self._by_index], bool)
        self._overview.clear()
        self._update_lod()
        hidden_sel = [i for i in self.document.selected() if self.document.shapes()[i].label in self._hidden]
        if hidden_sel:
            self.document.select([i for i in self.document.selected() if i not in hidden_sel])

    def is_label_visible(self, label: str) -> bool:
        return label not in self._hidden

    def set_display_image(self, rgb_uint8: np.ndarray) -> None:
        # the one display mapping (core/imaging.py; uint8 passes through) and the one QImage wrapping
        self._image_item.setPixmap(to_qpixmap(to_display(rgb_uint8)))

    def zoom(self) -> float:
        return float(self.transform().m11())

    def fit(self) -> None:
        rect = self._image_rect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.KeepAspectRatio)
        self._fit_mode = True
        self._update_lod()
        self.zoomChanged.emit(self.zoom())

    def zoom_1to1(self) -> None:
        center = self.mapToScene(self.viewport().rect().center())
        self.resetTransform()
        self._fit_mode = False
        self.centerOn(center)
        self._update_lod()
        self.zoomChanged.emit(self.zoom())

    def zoom_by(self, factor: float, anchor_scene_pos: QPointF | None = None) -> None:
        """Zoom by ``factor`` keeping ``anchor_scene_pos`` (default: the view centre) fixed on screen."""
        cur = self.zoom()
        factor = min(max(cur * factor, ZOOM_MIN), ZOOM_MAX) / cur
        if factor == 1.0:
            return
        if anchor_scene_pos is None:
            anchor_scene_pos = self.mapToScene(self.viewport().rect().center())
        anchor_view = self.mapFromScene(anchor_scene_pos)
        self._fit_mode = False
        self.scale(factor, factor)
        # keep the anchor's scene point under the same viewport pixel
        self._keep_under(anchor_scene_pos, QPointF(anchor_view))
        self._update_lod()
        self.zoomChanged.emit(self.zoom())

    def pan_by(self, dx: int, dy: int) -> None:
        """Scroll the view by (dx, dy) viewport pixels."""
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() + int(dx))
        v.setValue(v.value() + int(dy))

    def clamp_to_image(self, pos: QPointF) -> QPointF:
        w, h = self.document.image_size
        return QPointF(min(max(pos.x(), 0.0), float(w)), min(max(pos.y(), 0.0), float(h)))

    def ask_label(self, points=None) -> str | None:
        """The label for a new shape: label_requested(current_label) when set (None = cancelled).
        ``points``: the new shape's points, kept in ``labelling_points`` while asking (the label dialog opens
        beside them, not over them)."""
        if self.label_requested is not None:
            self.labelling_points = points
            try:
                return self.label_requested(self.current_label)
            finally:
                self.labelling_points = None
        return self.current_label or None

    def shape_items_in(self, rect: QRectF, mode=Qt.IntersectsItemShape) -> list:
        """Shape items (of visible classes) meeting ``rect``, topmost first.

        Uses the scene index, except while the overview is shown: Qt's index treats the then fully
        transparent items as invisible, so they are scanned directly (per click, never per paint).
        """
        if not self._overview.active:
            found = self.scene().items(rect, mode, Qt.DescendingOrder)
            return [it for it in found if hasattr(it, "shape_ref") and it.isVisible()]
        probe = QPainterPath()
        probe.addRect(rect)
        out = []
        for it in reversed(self._by_index):
            if it.isVisible() and it.sceneBoundingRect().intersects(rect):
                if mode == Qt.IntersectsItemBoundingRect or it.collidesWithPath(probe, mode):
                    out.append(it)
        return out

    def item_at_index(self, index: int):
        return self._by_index[index]

    def handles(self) -> list[HandleItem]:
        return list(self._handles)

    def view_tolerance(self, pixels: float = 5.0) -> float:
        """``pixels`` view pixels in image units at the current zoom."""
        return pixels / max(self.zoom(), 1e-9)

    # ------------------------------------------------------------------ document sync
    def _image_rect(self) -> QRectF:
        w, h = self.document.image_size
        return QRectF(0, 0, w, h)

    def _on_loaded(self) -> None:
        self._tool.cancel()
        for item in self._by_index:
            self.scene().removeItem(item)
        self._items, self._by_index = {}, []
        self._clear_handles()
        doc = self.document
        if doc.image is not None:
            self.set_display_image(doc.image)
        else:
            self._image_item.setPixmap(QPixmap())
        self.setSceneRect(self._image_rect())
        self._overview.configure(*doc.image_size)
        self._sync_items()
        self.fit()

    def _sync_items(self) -> None:
        if self._tools["edit"].busy:   # e.g. Ctrl+Z during a drag: the drag's indices are stale now
            self._tools["edit"].cancel()
        shapes = self.document.shapes()
        old = self._items
        new_items: dict[int, PathShapeItem | MaskShapeItem] = {}
        by_index = []
        scene = self.scene()
        added, moved = [], []
        for i, s in enumerate(shapes):
            item = old.pop(id(s), None)
            if item is None:
                cls = MaskShapeItem if s.shape_type == "mask" else PathShapeItem
                item = cls(s, self.label_color(s.label))
                item.setVisible(s.label not in self._hidden)
                scene.addItem(item)
                added.append(item)
            elif item.index != i:
                moved.append(item)
            if item.index != i:
                item.index = i
                item.setZValue(i)
            item.setPos(0, 0)
            new_items[id(s)] = item
            by_index.append(item)
        removed = list(old.values())
        for item in removed:
            scene.removeItem(item)
        self._items, self._by_index = new_items, by_index
        boxes = np.array([it.bounds() for it in by_index], float).reshape(-1, 5)
        self._bounds, self._verts = boxes[:, :4], boxes[:, 4]
        self._vis = np.array([it.isVisible() for it in by_index], bool)
        # overview: repaint only where shapes appeared, vanished or (pure reorder) changed paint order;
        # index shifts caused by an insertion or removal keep the relative order of the other shapes
        changed = added + removed if (added or removed) else moved
        self._overview.set_items(by_index, self._bounds)
        self._overview.invalidate([it.sceneBoundingRect() for it in changed])
        self._on_selection(self.document.selected())
        self._update_lod()

    def _on_selection(self, selection: list) -> None:
        sel = set(selection)
        for item in self._by_index:
            item.set_highlighted(item.index in sel)
        self._rebuild_handles()
        self._apply_lod_opacity()

    # ------------------------------------------------------------------ level of detail (see overview.py)
    @property
    def overview_active(self) -> bool:
        return self._overview.active

    def paint_costs(self) -> tuple[float, float]:
        """Estimated µs to paint the shape items that meet the viewport, and to draw the overview tiles
        instead (overview.items_cost / overview_cost)."""
        ov, zoom = self._overview, self.zoom()
        rect = self.mapToScene(self.viewport().rect()).boundingRect()
        items = lod.items_cost(self._bounds, self._verts, self._vis, rect, zoom)
        seen = rect.intersected(self._image_rect())
        ratio = zoom / ov.scale(ov.level_for(zoom))
        return items, lod.overview_cost(seen.width() * seen.height() * zoom * zoom, ratio)

    def _update_lod(self) -> None:
        """Overview tiles or items: all shapes in view (zoom <= the overview's base scale), or items that
        would cost more to paint than WORK_MIN and than the tiles (with hysteresis); never with few shapes."""
        ov, zoom = self._overview, self.zoom()
        want = False
        if len(self._by_index) >= lod.MIN_SHAPES and ov.width > 0:
            if zoom <= ov.base * (1 + 1e-9):
                want = True
            elif zoom <= lod.MAX_SCALE:
                items, tiles = self.paint_costs()
                if ov.active:
                    want = items >= max(lod.WORK_MIN / lod.HYSTERESIS, tiles)
                else:
                    want = items >= max(lod.WORK_MIN, tiles * lod.HYSTERESIS)
        if want:
            level = ov.level_for(zoom)
            if level != ov.level:
                ov.level = level
                ov.item.update()
        if want != ov.active:
            ov.active = want
            ov.item.setVisible(want)
            self._apply_lod_opacity()

    def _apply_lod_opacity(self) -> None:
        active, sel = self._overview.active, set(self.document.selected())
        for item in self._by_index:
            op = 0.0 if active and item.index not in sel else 1.0
            if item.opacity() != op:
                item.setOpacity(op)

    def _clear_handles(self) -> None:
        for h in self._handles:
            self.scene().removeItem(h)
        self._handles = []

    def _rebuild_handles(self) -> None:
        self._clear_handles()
        shapes = self.document.shapes()
        sel = [i for i in self.document.selected() if i < len(shapes) and shapes[i].shape_type != "mask"]
        if sum(len(shapes[i].points) for i in sel) > MAX_HANDLES:
            return
        for i in sel:
            color = self.label_color(shapes[i].label)
            for j, (x, y) in enumerate(shapes[i].points):
                h = HandleItem(i, j, float(x), float(y), color)
                self.scene().addItem(h)
                self._handles.append(h)

    # ------------------------------------------------------------------ events
    def _keep_under(self, scene_pos: QPointF, view_pos: QPointF) -> None:
        now = self.mapFromScene(scene_pos)
        self.pan_by(now.x() - round(view_pos.x()), now.y() - round(view_pos.y()))

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y()
        if delta == 0:
            return
        anchor = self.mapToScene(event.position().toPoint())
        self.zoom_by(WHEEL_STEP ** (delta / 120.0), anchor)
        event.accept()

    def mousePressEvent(self, event) -> None:
        self.setFocus()
        if event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton and self._space):
            self._pan_last = event.position()
            self.viewport().setCursor(Qt.ClosedHandCursor)
            return
        if self.document.annotation is not None:   # no image open: nothing to draw on
            self._tool.press(self.mapToScene(event.position().toPoint()), event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_last is not None:
            d = event.position() - self._pan_last
            self._pan_last = event.position()
            self.pan_by(-d.x(), -d.y())
            return
        pos = self.mapToScene(event.position().toPoint())
        self.cursorMoved.emit(pos.x(), pos.y())
        if self.document.annotation is not None:   # no image open: nothing to draw on
            self._tool.move(pos, event)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_last is not None and event.button() in (Qt.MiddleButton, Qt.LeftButton):
            self._pan_last = None
            self.viewport().setCursor(Qt.OpenHandCursor if self._space else
                                      (Qt.ArrowCursor if self.tool == "edit" else Qt.CrossCursor))
            return
        if self.document.annotation is not None:   # no image open: nothing to draw on
            self._tool.release(self.mapToScene(event.position().toPoint()), event)

    def mouseDoubleClickEvent(self, event) -> None:
        if event.button() == Qt.LeftButton and not self._space and self.document.annotation is not None:
            self._tool.double_click(self.mapToScene(event.position().toPoint()), event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit_mode and self.document.annotation is not None:
            self.fit()
        else:
            self._update_lod()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        self._update_lod()          # the shapes in view changed

    def contextMenuEvent(self, event) -> None:
        if self.tool != "edit" or self._tools["edit"].busy:
            return
        menu = self._tools["edit"].context_menu(event.pos())
        if menu is not None:
            menu.exec(event.globalPos())
            menu.deleteLater()

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._pan_last = None
            self.viewport().setCursor(Qt.ArrowCursor if self.tool == "edit" else Qt.CrossCursor)
            return
        super().keyReleaseEvent(event)

    def keyPressEvent(self, event) -> None:
        if self._handle_key(event):
            event.accept()
        else:
            super().keyPressEvent(event)

    def _handle_key(self, event) -> bool:
        k, doc = event.key(), self.document
        if k == Qt.Key_Space:
            if not event.isAutoRepeat():
                self._space = True
                self.viewport().setCursor(Qt.OpenHandCursor)
            return True
        if doc.annotation is None:
            return False
        if self._tool.key(event):
            return True
        if k == Qt.Key_Escape:
            if self._tool.busy:
                self._tool.cancel()
            else:
                doc.select([])
            return True
        if k == Qt.Key_BracketLeft:
            self.brush_size = self._brush_size - max(1, self._brush_size // 5)
            return True
        if k == Qt.Key_BracketRight:
            self.brush_size = self._brush_size + max(1, self._brush_size // 4)
            return True
        if event.matches(QKeySequence.Undo):
            doc.undo_stack.undo()
            return True
        if event.matches(QKeySequence.Redo) or (k == Qt.Key_Y and event.modifiers() & Qt.ControlModifier):
            doc.undo_stack.redo()
            return True
        return self._tools["edit"].key_command(event)
