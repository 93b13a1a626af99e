"""The brush size box of the toolbar: a spin box in image pixels, shown while the brush or the eraser is on.

It only reports (``sizeChanged``) and shows (``set_size``) the size; the canvas owns it (``brush_size``,
changed by ``[`` / ``]`` as well) and the window keeps both in step and stores it in the settings.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QWidget


class BrushSizeBox(QWidget):
    sizeChanged = Signal(int)
    editingDone = Signal()      # the user left the box (Enter): the window gives the keyboard back

    def __init__(self, minimum: int, maximum: int, parent=None):
        super().__init__(parent)
        self.spin = QSpinBox()
        self.spin.setRange(minimum, maximum)
        self.spin.setSuffix(" px")
        self.spin.setAccelerated(True)
        self.spin.setKeyboardTracking(False)
        self.spin.setToolTip("Brush / eraser size in image pixels ([ and ] change it too)")
        self.spin.setFocusPolicy(Qt.ClickFocus)
        label = QLabel("Size")
        label.setBuddy(self.spin)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 0, 4, 0)
        lay.addWidget(label)
        lay.addWidget(self.spin)
        self.spin.valueChanged.connect(self.sizeChanged)
        self.spin.editingFinished.connect(self.editingDone)

    def size(self) -> int:
        return self.spin.value()

    def set_size(self, value: int) -> None:
        """Show ``value`` without reporting it back."""
        if value != self.spin.value():
            self.spin.blockSignals(True)
            self.spin.setValue(int(value))
            self.spin.blockSignals(False)
