"""The label dialog shown for a new shape (and to relabel one): a line edit with completion + the class list.

Typing filters nothing away: the completer proposes known classes (case-insensitive, substring), the list
below shows them all; Enter accepts, Escape cancels (the new shape is then discarded by the canvas).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCompleter, QDialog, QDialogButtonBox, QLabel, QLineEdit, QListWidget, QVBoxLayout,
)


class LabelDialog(QDialog):
    def __init__(self, labels: list[str], parent=None, title: str = "Label of the new shape"):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.labels = list(labels)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("Class name (pick below or type a new one)")
        completer = QCompleter(self.labels, self)
        completer.setCaseSensitivity(Qt.CaseInsensitive)
        completer.setFilterMode(Qt.MatchContains)
        self.edit.setCompleter(completer)
        self.list = QListWidget()
        self.list.addItems(self.labels)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        lay = QVBoxLayout(self)
        lay.addWidget(self.edit)
        lay.addWidget(self.list)
        lay.addWidget(self.note)
        lay.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.list.currentTextChanged.connect(self._on_pick)
        self.list.itemDoubleClicked.connect(self._on_double_click)
        self.edit.textChanged.connect(self._on_text)

    def _on_pick(self, text: str) -> None:
        if text and text != self.edit.text():
            self.edit.setText(text)

    def _on_double_click(self, item) -> None:
        self.edit.setText(item.text())
        self.accept()

    def _on_text(self, text: str) -> None:
        name = text.strip()
        ok = bool(name)
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(ok)
        if name and name not in self.labels:
            self.note.setText(f"“{name}” is a new class: it will be added to the project's labels.txt.")
        else:
            self.note.setText("")
        matches = self.list.findItems(name, Qt.MatchExactly) if name else []
        if matches:
            self.list.blockSignals(True)
            self.list.setCurrentItem(matches[0])
            self.list.blockSignals(False)

    def label(self) -> str:
        return self.edit.text().strip()

    def ask(self, default: str = "") -> str | None:
        """Show the dialog modally; the chosen label, or None when cancelled."""
        self.edit.setText(default or "")
        self._on_text(self.edit.text())
        self.edit.selectAll()
        self.edit.setFocus()
        if self.exec() == QDialog.Accepted and self.label():
            return self.label()
        return None
