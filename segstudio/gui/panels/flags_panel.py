"""Image flags: one checkbox per flag (from the JSON's ``flags`` and the project's flags.txt).

Ticking a box changes the document's flags through its undo stack (``document.set_flags``), so it is
autosaved and undoable like any other edit.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget


class FlagsPanel(QWidget):
    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.document = document
        self.project_flags: list[str] = []
        self.list = QListWidget()
        self.hint = QLabel("No image flags. List them in flags.txt (one a line) in the project folder.")
        self.hint.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.list)
        lay.addWidget(self.hint)
        self._updating = False
        document.loaded.connect(self.rebuild)
        document.changed.connect(self.rebuild)
        self.list.itemChanged.connect(self._on_item_changed)

    def set_project_flags(self, names: list[str]) -> None:
        self.project_flags = list(names)
        self.rebuild()

    def flag_names(self) -> list[str]:
        ann = self.document.annotation
        names = list(self.project_flags)
        if ann is not None:
            names += [k for k in ann.flags if k not in names]
        return names

    def rebuild(self) -> None:
        ann = self.document.annotation
        flags = dict(ann.flags) if ann is not None else {}
        self._updating = True
        self.list.clear()
        for name in self.flag_names():
            item = QListWidgetItem(name)
            item.setFlags(Qt.ItemIsUserCheckable | Qt.ItemIsEnabled | Qt.ItemIsSelectable)
            item.setCheckState(Qt.Checked if flags.get(name) else Qt.Unchecked)
            if ann is None:
                item.setFlags(Qt.ItemIsUserCheckable)  # disabled until an image is open
            self.list.addItem(item)
        self._updating = False
        self.hint.setVisible(self.list.count() == 0)

    def checked(self) -> dict[str, bool]:
        return {
            self.list.item(i).text(): self.list.item(i).checkState() == Qt.Checked for i in range(self.list.count())
        }

    def _on_item_changed(self, _item) -> None:
        if self._updating or self.document.annotation is None:
            return
        self.document.set_flags(self.checked())
