"""The label dialog shown for a new shape (and to relabel one): a line edit with completion + the class list.

Typing filters nothing away: the completer proposes known classes (case-insensitive, substring), the list
below shows them all; Enter accepts, Escape cancels (the new shape is then discarded by the canvas).

:meth:`LabelDialog.avoid` places the dialog beside the shape being labelled (right of it, else left, below,
above, within the screen), never over it.
"""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QGuiApplication
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

    def avoid(self, rect: QRect | None, gap: int = 12) -> None:
        """Move the dialog next to ``rect`` (global coordinates) without covering it, inside the screen."""
        if rect is None or rect.isNull():
            return
        screen = QGuiApplication.screenAt(rect.center()) or QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen is not None else rect.adjusted(-2000, -2000, 2000, 2000)
        size = self.frameGeometry().size() if self.isVisible() else self.sizeHint()
        w, h = size.width(), size.height()
        cy = min(max(rect.center().y() - h // 2, area.top()), area.bottom() - h)
        cx = min(max(rect.center().x() - w // 2, area.left()), area.right() - w)
        candidates = [QPoint(rect.right() + gap, cy), QPoint(rect.left() - gap - w, cy),
                      QPoint(cx, rect.bottom() + gap), QPoint(cx, rect.top() - gap - h)]
        for p in candidates:
            if area.contains(QRect(p, size)):
                self.move(p)
                return
        # no side has room: the corner of the screen farthest from the shape
        corners = [area.topLeft(), QPoint(area.right() - w, area.top()), QPoint(area.left(), area.bottom() - h),
                   QPoint(area.right() - w, area.bottom() - h)]
        self.move(max(corners, key=lambda p: (QRect(p, size).center() - rect.center()).manhattanLength()))

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


def canvas_rect(canvas, points) -> QRect | None:
    """The global screen rectangle of image ``points`` ([[x, y], ...]) shown in ``canvas`` (a QGraphicsView)."""
    if not points:
        return None
    view = canvas.viewport()
    screen_pts = [view.mapToGlobal(canvas.mapFromScene(QPointF(float(x), float(y)))) for x, y in points]
    xs, ys = [p.x() for p in screen_pts], [p.y() for p in screen_pts]
    return QRect(QPoint(min(xs), min(ys)), QPoint(max(xs), max(ys)))
