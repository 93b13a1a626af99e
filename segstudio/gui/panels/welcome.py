"""The welcome page shown when no project is open: open a folder, the sample project, or a recent one.

Its content sits in a scroll area, so a short window scrolls it instead of clipping the text; the recent
projects show the folder's name with its parent folder (two projects of the same name stay apart; the full
path is the tooltip).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFrame, QLabel, QListWidget, QListWidgetItem, QPushButton, QScrollArea, QSizePolicy,
                               QVBoxLayout, QWidget)


class WrapLabel(QLabel):
    """A word-wrapped label that asks for the height of all its lines at its current width (a layout inside
    a scroll area would otherwise squeeze it and cut the last lines)."""

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        needed = self.heightForWidth(self.width())
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)


class WelcomePage(QWidget):
    openFolderRequested = Signal()
    openSampleRequested = Signal()
    openRecentRequested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        title = QLabel("<h2>segstudio</h2>")
        title.setAlignment(Qt.AlignCenter)
        self.text = WrapLabel(
            "Open a folder of images to annotate them. Any labelme folder opens as it is "
            "(the JSON beside each image). You can also drop a folder onto this window."
        )
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignCenter)
        self.text.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.MinimumExpanding)
        self.open_folder_button = QPushButton("Open folder…")
        self.open_sample_button = QPushButton("Open sample project")
        self.open_sample_button.setToolTip("24 generated skin-lesion-like images with polygons (lesion, cyst)")
        for b in (self.open_folder_button, self.open_sample_button):
            b.setMinimumHeight(36)
        self.recent_label = QLabel("Recent projects (double-click to open):")
        self.recent = QListWidget()
        self.recent.setTextElideMode(Qt.ElideMiddle)   # long paths lose their middle, never the name
        self.recent.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)

        box = QWidget()
        box.setMinimumWidth(300)   # narrower, the page scrolls sideways instead of squeezing the text
        box.setMaximumWidth(560)
        inner = QVBoxLayout(box)
        for w in (title, self.text, self.open_folder_button, self.open_sample_button, self.recent_label,
                  self.recent):
            inner.addWidget(w)
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.addStretch(1)
        lay.addWidget(box, 0, Qt.AlignHCenter)
        lay.addStretch(2)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.NoFrame)
        self.scroll.setWidget(page)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)

        self.open_folder_button.clicked.connect(self.openFolderRequested)
        self.open_sample_button.clicked.connect(self.openSampleRequested)
        self.recent.itemActivated.connect(lambda item: self.openRecentRequested.emit(item.data(Qt.UserRole)))

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for path in paths:
            p = Path(path)
            item = QListWidgetItem(f"{p.name}    ({p.parent})")
            item.setData(Qt.UserRole, str(path))
            item.setToolTip(str(path))
            self.recent.addItem(item)
        rows = self.recent.sizeHintForRow(0) if paths else 0
        self.recent.setFixedHeight(min(180, rows * len(paths) + 2 * self.recent.frameWidth() + 4))
        self.recent_label.setVisible(bool(paths))
        self.recent.setVisible(bool(paths))
