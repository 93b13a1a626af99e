"""The welcome page shown when no project is open: open a folder, the sample project, or a recent one."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget


class WelcomePage(QWidget):
    openFolderRequested = Signal()
    openSampleRequested = Signal()
    openRecentRequested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        title = QLabel("<h2>segstudio</h2>")
        title.setAlignment(Qt.AlignCenter)
        text = QLabel(
            "Open a folder of images to annotate them. Any labelme folder opens as it is "
            "(the JSON beside each image). You can also drop a folder onto this window."
        )
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignCenter)
        self.open_folder_button = QPushButton("Open folder…")
        self.open_sample_button = QPushButton("Open sample project")
        self.open_sample_button.setToolTip("24 generated skin-lesion-like images with polygons (lesion, cyst)")
        for b in (self.open_folder_button, self.open_sample_button):
            b.setMinimumHeight(36)
        self.recent_label = QLabel("Recent projects (double-click to open):")
        self.recent = QListWidget()
        self.recent.setMaximumHeight(180)

        lay = QVBoxLayout(self)
        lay.addStretch(1)
        box = QWidget()
        box.setMaximumWidth(520)
        inner = QVBoxLayout(box)
        for w in (title, text, self.open_folder_button, self.open_sample_button, self.recent_label, self.recent):
            inner.addWidget(w)
        lay.addWidget(box, 0, Qt.AlignHCenter)
        lay.addStretch(2)

        self.open_folder_button.clicked.connect(self.openFolderRequested)
        self.open_sample_button.clicked.connect(self.openSampleRequested)
        self.recent.itemActivated.connect(lambda item: self.openRecentRequested.emit(item.text()))

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        self.recent.addItems(paths)
        self.recent_label.setVisible(bool(paths))
        self.recent.setVisible(bool(paths))
