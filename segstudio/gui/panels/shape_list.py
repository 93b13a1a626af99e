"""The shape list of the open image, its selection kept in sync with the canvas (both ways).

Row ``i`` is shape ``i`` of the document (paint order).  Selecting rows calls ``document.select``; the
document's ``selectionChanged`` selects the rows.  Double-clicking a row asks for a new label
(``editLabelRequested``).  Unticking a row hides that shape on the canvas only (view state).
"""
from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from segstudio.gui.panels.common import swatch_icon


def describe(shape) -> str:
    text = shape.label
    if shape.group_id is not None:
        text += f" ({shape.group_id})"
    text += f" · {shape.shape_type}"
    if shape.description:
        text += f" — {shape.description}"
    return text


class ShapeListPanel(QWidget):
    editLabelRequested = Signal(int)  # shape index

    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.document = document
        self.colors: dict[str, QColor] = {}
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.list.setToolTip("Shapes of this image (top = drawn first). Double-click to change a label.")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.list)
        self._syncing = False
        document.loaded.connect(self.rebuild)
        document.changed.connect(self.rebuild)
        document.selectionChanged.connect(self.show_selection)
        self.list.itemSelectionChanged.connect(self._on_rows_selected)
        self.list.itemDoubleClicked.connect(lambda item: self.editLabelRequested.emit(self.list.row(item)))

    def follow(self, session) -> None:
        """Draw each row's swatch in the class colour ``session`` owns (a core.session.Session)."""
        session.events.classes.connect(
            lambda colors: self.set_colors({name: QColor(*rgb) for name, rgb in colors.items()}))

    def set_colors(self, colors: dict[str, QColor]) -> None:
        self.colors = dict(colors)
        self.rebuild()

    def rebuild(self) -> None:
        shapes = self.document.shapes()
        self._syncing = True
        self.list.clear()
        for shape in shapes:
            item = QListWidgetItem(describe(shape))
            item.setIcon(swatch_icon(self.colors.get(shape.label, QColor(128, 128, 128))))
            self.list.addItem(item)
        self._syncing = False
        self.show_selection(self.document.selected())

    def show_selection(self, indices) -> None:
        self._syncing = True
        sm = self.list.selectionModel()
        sm.clearSelection()
        last = None
        for i in indices:
            if 0 <= i < self.list.count():
                idx = self.list.model().index(i, 0)
                sm.select(idx, QItemSelectionModel.Select)
                last = i
        if last is not None:
            self.list.scrollToItem(self.list.item(last))
        self._syncing = False

    def selected_rows(self) -> list[int]:
        return sorted(self.list.row(item) for item in self.list.selectedItems())

    def _on_rows_selected(self) -> None:
        if not self._syncing:
            self.document.select(self.selected_rows())
