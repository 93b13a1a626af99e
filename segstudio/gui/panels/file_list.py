"""The file list: every image of the project with its status, a filter, and the annotated count."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QHBoxLayout, QLabel, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout,
    QWidget,
)

from segstudio.core.project import STATUSES
from segstudio.gui.panels.common import STATUS_COLORS, swatch_icon

ALL = "all statuses"


class FileListPanel(QWidget):
    """Images of the project (name + status). ``imageActivated(entry)`` fires when the user picks one."""

    imageActivated = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.project = None
        self._items: dict[str, QTreeWidgetItem] = {}  # stem -> item
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by name…")
        self.filter_edit.setClearButtonEnabled(True)
        self.status_combo = QComboBox()
        self.status_combo.addItems([ALL, *STATUSES])
        self.status_combo.setToolTip("Show only images with this status")
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Image", "Status"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, self.tree.header().ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, self.tree.header().ResizeMode.ResizeToContents)
        self.counts_label = QLabel("no project open")
        self.counts_label.setObjectName("countsLabel")

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.filter_edit, 2)
        top.addWidget(self.status_combo, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.tree)
        lay.addWidget(self.counts_label)

        self.filter_edit.textChanged.connect(self.apply_filter)
        self.status_combo.currentIndexChanged.connect(self.apply_filter)
        self.tree.currentItemChanged.connect(self._on_current_changed)

    # ------------------------------------------------------------------ content
    def follow(self, session) -> None:
        """List ``session``'s project and keep its current image selected (a core.session.Session)."""
        session.events.project.connect(self.set_project)
        session.events.image.connect(self.set_current)

    def set_project(self, project) -> None:
        self.project = project
        self.tree.blockSignals(True)
        self.tree.clear()
        self._items = {}
        if project is not None:
            for entry in project.images:
                item = QTreeWidgetItem([entry.name, ""])
                item.setData(0, Qt.UserRole, entry)
                item.setToolTip(0, str(entry.image_path))
                self.tree.addTopLevelItem(item)
                self._items[entry.stem] = item
        self.tree.blockSignals(False)
        self.refresh_statuses()

    def refresh_statuses(self, entries=None) -> None:
        """Re-read the status of ``entries`` (default: all) and update the counts."""
        if self.project is None:
            self.counts_label.setText("no project open")
            return
        targets = entries if entries is not None else self.project.images
        for entry in targets:
            item = self._items.get(entry.stem)
            if item is None:
                continue
            status = self.project.status(entry)
            problem = self.project.problems.get(entry.stem)
            item.setText(1, "unreadable JSON" if problem else status)
            item.setIcon(0, swatch_icon(STATUS_COLORS["problem" if problem else status], round_=True))
            item.setToolTip(1, problem or status)
            item.setData(1, Qt.UserRole, status)
        self._update_counts()
        self.apply_filter()

    def _update_counts(self) -> None:
        counts = self.project.counts() if self.project is not None else {}
        total = len(self.project.images) if self.project is not None else 0
        done = counts.get("annotated", 0) + counts.get("reviewed", 0)
        parts = [f"{done}/{total} annotated"]
        for key in ("predicted", "reviewed"):
            if counts.get(key):
                parts.append(f"{counts[key]} {key}")
        self.counts_label.setText(" · ".join(parts))

    # ------------------------------------------------------------------ filter
    def apply_filter(self) -> None:
        text = self.filter_edit.text().strip().lower()
        status = self.status_combo.currentText()
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            visible = text in item.text(0).lower() and (status == ALL or item.data(1, Qt.UserRole) == status)
            item.setHidden(not visible)

    def visible_entries(self) -> list:
        return [
            self.tree.topLevelItem(i).data(0, Qt.UserRole)
            for i in range(self.tree.topLevelItemCount())
            if not self.tree.topLevelItem(i).isHidden()
        ]

    # ------------------------------------------------------------------ current
    def current_entry(self):
        item = self.tree.currentItem()
        return item.data(0, Qt.UserRole) if item is not None else None

    def set_current(self, entry) -> None:
        """Highlight ``entry`` without emitting imageActivated."""
        item = self._items.get(entry.stem) if entry is not None else None
        self.tree.blockSignals(True)
        self.tree.setCurrentItem(item)
        if item is not None:
            self.tree.scrollToItem(item)
        self.tree.blockSignals(False)

    def neighbour(self, step: int):
        """The next (step > 0) or previous visible entry from the current one; None at the ends."""
        visible = self.visible_entries()
        if not visible:
            return None
        cur = self.current_entry()
        if cur is None:
            return visible[0] if step > 0 else visible[-1]
        order = [self.tree.topLevelItem(i).data(0, Qt.UserRole) for i in range(self.tree.topLevelItemCount())]
        shown = set(visible)
        i = order.index(cur)
        candidates = order[i + 1:] if step > 0 else order[:i][::-1]
        for entry in candidates:
            if entry in shown:
                return entry
        return None

    def _on_current_changed(self, current, _previous) -> None:
        if current is not None:
            self.imageActivated.emit(current.data(0, Qt.UserRole))
