"""The edit tool: select (click, Ctrl+click, rubber band), move shapes, drag/insert/delete vertices.

Gestures (image-independent, in view pixels):
  click a shape: select it (Ctrl+click toggles); drag it: move the selection (one undo command per drag)
  drag a vertex handle: move that vertex (one undo command per drag); Shift+click a handle: delete the vertex
  Alt+click or double-click on the edge of a selected polygon/linestrip: insert a vertex there
  drag on empty canvas: rubber-band selection (Ctrl adds to the selection)
Selection commands (work in every tool): Delete, Ctrl+C / Ctrl+V / Ctrl+D, Ctrl+A, PageUp / PageDown
(raise / lower in paint order), Ctrl+E (change the label of the selection through label_requested).
Right-click (edit tool): a menu with the vertex and selection commands.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QKeySequence, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QMenu

from segstudio.core.annotation import edit as ops
from segstudio.gui.canvas.items import HANDLE_SIZE, HandleItem, Z_PREVIEW
from segstudio.gui.canvas.tools import Tool

EDGE_TOLERANCE = 6.0      # view pixels
DUPLICATE_OFFSET = 10.0   # image pixels

_clipboard: list = []      # shapes copied with Ctrl+C (shared by every canvas of the process)


class EditTool(Tool):
    name = "edit"

    def __init__(self, view):
        super().__init__(view)
        self._mode = None          # "vertex" | "move" | "rubber"
        self._start = QPointF()
        self._vertex = None        # (shape index, vertex index, original shape, handle)
        self._moving: list[int] = []
        self._band: QGraphicsRectItem | None = None
        self._band_add = False

    @property
    def busy(self) -> bool:
        return self._mode is not None

    # ------------------------------------------------------------------ hit testing
    def shape_at(self, pos: QPointF) -> int | None:
        """Index of the topmost visible shape under ``pos`` (image coordinates), or None."""
        tol = self.view.view_tolerance(EDGE_TOLERANCE)
        area = QRectF(pos.x() - tol, pos.y() - tol, 2 * tol, 2 * tol)
        for item in self.view.shape_items_in(area, Qt.IntersectsItemBoundingRect):
            if item.hit(pos.x(), pos.y(), tol):
                return item.index
        return None

    def handle_at(self, view_pos) -> HandleItem | None:
        """The vertex handle under ``view_pos`` (viewport pixels), nearest first.

        Measured in view pixels against each handle (there are few): the scene index's bounding rects of
        ItemIgnoresTransformations items are not exact.
        """
        best, best_d = None, HANDLE_SIZE / 2 + 0.5
        for h in self.view.handles():
            c = self.view.mapFromScene(h.pos())
            d = max(abs(c.x() - view_pos.x()), abs(c.y() - view_pos.y()))
            if d <= best_d:
                best, best_d = h, d
        return best

    # ------------------------------------------------------------------ mouse
    def press(self, pos, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        doc, mods = self.view.document, event.modifiers()
        handle = self.handle_at(event.position())
        if handle is not None:
            shape = doc.shapes()[handle.shape_index]
            if mods & Qt.ShiftModifier:
                new = ops.remove_vertex(shape, handle.vertex_index)
                if new is not None:
                    doc.replace_shapes([handle.shape_index], [new], "Delete vertex")
                return
            self._mode = "vertex"
            self._vertex = (handle.shape_index, handle.vertex_index, shape, handle)
            return
        if (mods & Qt.AltModifier) and self.insert_vertex_at(pos):
            return
        index = self.shape_at(pos)
        if index is not None:
            sel = doc.selected()
            if mods & Qt.ControlModifier:
                doc.select([i for i in sel if i != index] if index in sel else sel + [index])
                return
            if index not in sel:
                doc.select([index])
            self._mode = "move"
            self._start = pos
            self._moving = doc.selected()
            return
        self._mode = "rubber"
        self._start = pos
        self._band_add = bool(mods & Qt.ControlModifier)
        if not self._band_add:
            doc.select([])
        self._band = QGraphicsRectItem()
        pen = QPen(QColor(255, 255, 255))
        pen.setCosmetic(True)
        pen.setStyle(Qt.DashLine)
        self._band.setPen(pen)
        self._band.setZValue(Z_PREVIEW)
        self.view.scene().addItem(self._band)
        self._band.setRect(QRectF(pos, pos))

    def move(self, pos, event) -> None:
        if self._mode is None:
            self._hover(pos, event)
        elif self._mode == "vertex":
            i, j, original, handle = self._vertex
            p = self.view.clamp_to_image(pos)
            self.view.item_at_index(i).set_shape(ops.move_vertex(original, j, p.x(), p.y()))
            handle.setPos(p)
        elif self._mode == "move":
            dx, dy = self._clamped_delta(pos)
            for i in self._moving:
                self.view.item_at_index(i).setPos(dx, dy)
            for h in self.view.handles():
                x, y = self.view.document.shapes()[h.shape_index].points[h.vertex_index]
                h.setPos(x + dx, y + dy)
        elif self._mode == "rubber":
            self._band.setRect(QRectF(self._start, pos).normalized())

    def _hover(self, pos, event) -> None:
        """Cursor feedback: a cross over a vertex handle, a hand over a shape (not scanned in overview mode)."""
        if self.handle_at(event.position()) is not None:
            cursor = Qt.CrossCursor
        elif not self.view.overview_active and self.shape_at(pos) is not None:
            cursor = Qt.OpenHandCursor
        else:
            cursor = Qt.ArrowCursor
        if self.view.viewport().cursor().shape() != cursor:
            self.view.viewport().setCursor(cursor)

    def release(self, pos, event) -> None:
        if event.button() != Qt.LeftButton or self._mode is None:
            return
        doc, mode = self.view.document, self._mode
        self._mode = None
        if mode == "vertex":
            i, j, original, _ = self._vertex
            self._vertex = None
            p = self.view.clamp_to_image(pos)
            if [p.x(), p.y()] != list(original.points[j]):
                doc.replace_shapes([i], [ops.move_vertex(original, j, p.x(), p.y())], "Move vertex")
            else:
                self.view.item_at_index(i).set_shape(original)
        elif mode == "move":
            dx, dy = self._clamped_delta(pos)
            for i in self._moving:
                self.view.item_at_index(i).setPos(0, 0)
            moving, self._moving = self._moving, []
            if dx or dy:
                doc.move_shapes(moving, dx, dy)
            else:
                self.view._rebuild_handles()
        elif mode == "rubber":
            rect = self._band.rect()
            self.view.scene().removeItem(self._band)
            self._band = None
            found = {it.index for it in self.view.shape_items_in(rect, Qt.IntersectsItemShape)}
            doc.select(sorted(found | (set(doc.selected()) if self._band_add else set())))

    def double_click(self, pos, event) -> None:
        self.insert_vertex_at(pos)

    def insert_vertex_at(self, pos: QPointF) -> bool:
        """Insert a vertex on the nearest edge of a selected polygon/linestrip within reach of ``pos``."""
        doc = self.view.document
        tol = self.view.view_tolerance(EDGE_TOLERANCE)
        best = None
        for i in doc.selected():
            found = ops.nearest_edge(doc.shapes()[i], pos.x(), pos.y())
            if found is not None and found[1] <= tol and (best is None or found[1] < best[1][1]):
                best = (i, found)
        if best is None:
            return False
        i, (at, _, (x, y)) = best
        doc.replace_shapes([i], [ops.insert_vertex(doc.shapes()[i], at, x, y)], "Insert vertex")
        return True

    def cancel(self) -> None:
        if self._mode == "vertex" and self._vertex is not None:
            self.view.item_at_index(self._vertex[0]).set_shape(self._vertex[2])
        elif self._mode == "move":
            for i in self._moving:
                self.view.item_at_index(i).setPos(0, 0)
        if self._band is not None:
            self.view.scene().removeItem(self._band)
            self._band = None
        self._mode, self._vertex, self._moving = None, None, []
        self.view._rebuild_handles() if self.view.document.annotation is not None else None

    def _clamped_delta(self, pos: QPointF) -> tuple[float, float]:
        doc = self.view.document
        w, h = doc.image_size
        shapes = [doc.shapes()[i] for i in self._moving]
        return ops.clamp_translation(shapes, pos.x() - self._start.x(), pos.y() - self._start.y(), w, h)

    # ------------------------------------------------------------------ selection commands
    def key_command(self, event) -> bool:
        doc = self.view.document
        k, sel = event.key(), doc.selected()
        if k == Qt.Key_Delete or (k == Qt.Key_Backspace and sel):
            doc.remove_shapes(sel)
            return True
        if event.matches(QKeySequence.Copy):
            self.copy()
            return True
        if event.matches(QKeySequence.Paste):
            self.paste()
            return True
        if k == Qt.Key_D and event.modifiers() & Qt.ControlModifier:
            self.duplicate()
            return True
        if event.matches(QKeySequence.SelectAll):
            doc.select([i for i, s in enumerate(doc.shapes()) if self.view.is_label_visible(s.label)])
            return True
        if k in (Qt.Key_PageUp, Qt.Key_PageDown) and sel:
            doc.reorder(sel, 1 if k == Qt.Key_PageUp else -1)
            return True
        if k == Qt.Key_E and event.modifiers() & Qt.ControlModifier and sel:
            self._relabel()
            return True
        return False

    def context_menu(self, view_pos) -> QMenu | None:
        """The right-click menu at ``view_pos`` (viewport pixels): vertex and selection commands.

        Right-clicking an unselected shape selects it first.  Returns None where no command applies.
        """
        doc = self.view.document
        if doc.annotation is None:
            return None
        view_pos = QPointF(view_pos)
        pos = self.view.mapToScene(view_pos.toPoint())
        handle = self.handle_at(view_pos)
        if handle is None:
            index = self.shape_at(pos)
            if index is not None and index not in doc.selected():
                doc.select([index])
        menu = QMenu(self.view)
        if handle is not None:
            shape = doc.shapes()[handle.shape_index]
            act = menu.addAction("Delete vertex")
            act.setEnabled(ops.can_remove_vertex(shape))
            act.triggered.connect(lambda _=False, i=handle.shape_index, j=handle.vertex_index: self._delete_vertex(i, j))
        elif self._edge_hit(pos) is not None:
            menu.addAction("Add vertex here").triggered.connect(lambda _=False, p=QPointF(pos): self.insert_vertex_at(p))
        sel = doc.selected()
        if sel:
            if not menu.isEmpty():
                menu.addSeparator()
            menu.addAction("Change label…\tCtrl+E").triggered.connect(self._relabel)
            menu.addAction("Copy\tCtrl+C").triggered.connect(self.copy)
            menu.addAction("Duplicate\tCtrl+D").triggered.connect(self.duplicate)
            menu.addAction("Bring forward\tPgUp").triggered.connect(lambda: doc.reorder(doc.selected(), 1))
            menu.addAction("Send backward\tPgDown").triggered.connect(lambda: doc.reorder(doc.selected(), -1))
            menu.addAction(f"Delete {len(sel)} shape(s)\tDel").triggered.connect(
                lambda: doc.remove_shapes(doc.selected()))
        if _clipboard:
            menu.addAction(f"Paste {len(_clipboard)} shape(s)\tCtrl+V").triggered.connect(self.paste)
        if menu.isEmpty():
            menu.deleteLater()
            return None
        return menu

    def _delete_vertex(self, i: int, j: int) -> None:
        new = ops.remove_vertex(self.view.document.shapes()[i], j)
        if new is not None:
            self.view.document.replace_shapes([i], [new], "Delete vertex")

    def _edge_hit(self, pos: QPointF):
        doc = self.view.document
        tol = self.view.view_tolerance(EDGE_TOLERANCE)
        for i in doc.selected():
            found = ops.nearest_edge(doc.shapes()[i], pos.x(), pos.y())
            if found is not None and found[1] <= tol:
                return i
        return None

    def _relabel(self) -> None:
        """Change the label of the selection: through the view's relabel_requested (the window's dialog,
        starting on the shape's label); without it, through label_requested given the shape's label."""
        doc, view = self.view.document, self.view
        sel = doc.selected()
        if not sel:
            return
        if view.relabel_requested is not None:
            view.relabel_requested(sel)
            return
        current = doc.shapes()[sel[0]].label
        label = view.label_requested(current) if view.label_requested is not None else view.current_label
        if label:
            doc.set_label(sel, label)

    def copy(self) -> None:
        doc = self.view.document
        _clipboard[:] = [doc.shapes()[i].copy() for i in doc.selected()]

    def paste(self) -> None:
        """Paste the copied shapes at their original position (clipped to this image), selected."""
        doc = self.view.document
        w, h = doc.image_size
        shapes = []
        for s in _clipboard:
            dx, dy = ops.clamp_translation([s], 0.0, 0.0, w, h)
            shapes.append(ops.translate_shape(s, dx, dy))
        doc.add_shapes(shapes)

    def duplicate(self) -> None:
        """Copies of the selection, shifted by DUPLICATE_OFFSET pixels (clamped to the image), selected."""
        doc = self.view.document
        shapes = [doc.shapes()[i] for i in doc.selected()]
        if not shapes:
            return
        w, h = doc.image_size
        dx, dy = ops.clamp_translation(shapes, DUPLICATE_OFFSET, DUPLICATE_OFFSET, w, h)
        doc.add_shapes([ops.translate_shape(s, dx, dy) for s in shapes])
