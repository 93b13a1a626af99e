"""The class panel: the project's classes with colour, id, key (1-9) and a show/hide checkbox.

The panel only *asks* (signals); the window changes the project and the document, so the logic stays in one
place and the panel can be tested on its own.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView, QColorDialog, QHBoxLayout, QInputDialog, QPushButton, QTreeWidget, QTreeWidgetItem,
    QVBoxLayout, QWidget,
)

from segstudio.gui.panels.common import swatch_icon


class ClassPanel(QWidget):
    classChosen = Signal(str)  # the user picked the class for new shapes
    visibilityChanged = Signal(str, bool)
    addRequested = Signal(str)
    renameRequested = Signal(str, str)  # old, new
    colorRequested = Signal(str, QColor)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Class", "Id", "Key"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, self.tree.header().ResizeMode.Stretch)
        self.tree.setToolTip("Click a class to draw with it (or press its key). Untick to hide its shapes.")
        self.add_button = QPushButton("Add…")
        self.rename_button = QPushButton("Rename…")
        self.color_button = QPushButton("Colour…")
        self.add_button.setToolTip("Add a class to the project's labels.txt")
        self.rename_button.setToolTip("Rename the selected class (in labels.txt and in the annotations)")
        self.color_button.setToolTip("Change the display colour of the selected class")
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for b in (self.add_button, self.rename_button, self.color_button):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tree)
        lay.addLayout(buttons)
        self._updating = False
        self.tree.currentItemChanged.connect(self._on_current)
        self.tree.itemChanged.connect(self._on_item_changed)
        self.add_button.clicked.connect(self.ask_add)
        self.rename_button.clicked.connect(self.ask_rename)
        self.color_button.clicked.connect(self.ask_color)

    # ------------------------------------------------------------------ content
    def set_classes(self, names: list[str], colors: dict[str, QColor], hidden=(), current: str | None = None):
        """Show ``names`` (index = class id; id 0, the background, is not listed)."""
        self._updating = True
        self.tree.blockSignals(True)
        self.tree.clear()
        for cid, name in enumerate(names):
            if cid == 0:
                continue
            item = QTreeWidgetItem([name, str(cid), str(cid) if cid <= 9 else ""])
            item.setData(0, Qt.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(0, Qt.Unchecked if name in hidden else Qt.Checked)
            item.setIcon(0, swatch_icon(colors.get(name, QColor(128, 128, 128))))
            self.tree.addTopLevelItem(item)
            if name == current:
                self.tree.setCurrentItem(item)
        self.tree.blockSignals(False)
        self._updating = False
        has = self.tree.topLevelItemCount() > 0
        self.rename_button.setEnabled(has)
        self.color_button.setEnabled(has)

    def names(self) -> list[str]:
        return [self.tree.topLevelItem(i).data(0, Qt.UserRole) for i in range(self.tree.topLevelItemCount())]

    def current_class(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, Qt.UserRole) if item is not None else None

    def set_current_class(self, name: str | None) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, Qt.UserRole) == name:
                self.tree.blockSignals(True)
                self.tree.setCurrentItem(item)
                self.tree.blockSignals(False)
                return

    def is_visible(self, name: str) -> bool:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, Qt.UserRole) == name:
                return item.checkState(0) == Qt.Checked
        return True

    # ------------------------------------------------------------------ user actions
    def _on_current(self, current, _previous) -> None:
        if current is not None and not self._updating:
            self.classChosen.emit(current.data(0, Qt.UserRole))

    def _on_item_changed(self, item, column) -> None:
        if column == 0 and not self._updating:
            self.visibilityChanged.emit(item.data(0, Qt.UserRole), item.checkState(0) == Qt.Checked)

    def ask_add(self) -> None:
        name, ok = QInputDialog.getText(self, "Add class", "Name of the new class:")
        if ok and name.strip():
            self.addRequested.emit(name.strip())

    def ask_rename(self) -> None:
        old = self.current_class()
        if old is None:
            return
        new, ok = QInputDialog.getText(self, "Rename class", f"New name for “{old}”:", text=old)
        if ok and new.strip() and new.strip() != old:
            self.renameRequested.emit(old, new.strip())

    def ask_color(self) -> None:
        name = self.current_class()
        if name is None:
            return
        color = QColorDialog.getColor(parent=self, title=f"Colour of “{name}”")
        if color.isValid():
            self.colorRequested.emit(name, color)
