"""Image adjustment: brightness/contrast for every image, window level/width for 16-bit (and float) images.

Display only: the panel emits :class:`~segstudio.core.imaging.DisplaySettings` and the window maps the image
with :func:`segstudio.core.imaging.to_display_rgb`; the image file and the masks are never changed.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget,
)

from segstudio.core.imaging import DisplaySettings, default_window, dtype_range


class ImageAdjustPanel(QWidget):
    settingsChanged = Signal(object)  # DisplaySettings

    def __init__(self, parent=None):
        super().__init__(parent)
        self.brightness = QSlider(Qt.Horizontal)
        self.brightness.setRange(-100, 100)
        self.brightness.setToolTip("Brightness (display only)")
        self.contrast = QSlider(Qt.Horizontal)
        self.contrast.setRange(10, 400)  # percent
        self.contrast.setValue(100)
        self.contrast.setToolTip("Contrast (display only)")
        self.brightness_value = QLabel("0")
        self.contrast_value = QLabel("100%")
        form = QFormLayout()
        form.addRow("Brightness", self._row(self.brightness, self.brightness_value))
        form.addRow("Contrast", self._row(self.contrast, self.contrast_value))

        self.window_box = QGroupBox("Window (16-bit images)")
        self.level = QDoubleSpinBox()
        self.width = QDoubleSpinBox()
        for spin in (self.level, self.width):
            spin.setDecimals(1)
            spin.setKeyboardTracking(False)
        self.auto_button = QPushButton("Auto")
        self.auto_button.setToolTip("Window from the 0.5–99.5 percentiles of the image")
        wform = QFormLayout(self.window_box)
        wform.addRow("Level", self.level)
        wform.addRow("Width", self.width)
        wform.addRow(self.auto_button)
        self.reset_button = QPushButton("Reset display")
        self.info = QLabel("")
        self.info.setWordWrap(True)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(form)
        lay.addWidget(self.window_box)
        lay.addWidget(self.reset_button)
        lay.addWidget(self.info)
        lay.addStretch(1)

        self._default_window = (127.5, 255.0)
        self._window_custom = False
        self._blocking = False
        self.brightness.valueChanged.connect(self._emit)
        self.contrast.valueChanged.connect(self._emit)
        self.level.valueChanged.connect(self._on_window_edit)
        self.width.valueChanged.connect(self._on_window_edit)
        self.auto_button.clicked.connect(self.auto_window)
        self.reset_button.clicked.connect(self.reset)
        self.window_box.setEnabled(False)
        self.window_box.setVisible(False)

    @staticmethod
    def _row(slider, label) -> QWidget:
        w = QWidget()
        h = QHBoxLayout(w)
        h.setContentsMargins(0, 0, 0, 0)
        h.addWidget(slider, 1)
        label.setMinimumWidth(40)
        h.addWidget(label)
        return w

    # ------------------------------------------------------------------ state
    def settings(self) -> DisplaySettings:
        level = width = None
        if self._window_custom:
            level, width = self.level.value(), max(self.width.value(), 1e-6)
        return DisplaySettings(
            brightness=self.brightness.value() / 100.0, contrast=self.contrast.value() / 100.0, level=level,
            width=width,
        )

    def set_image(self, image: np.ndarray | None) -> None:
        """Adapt the window controls to a newly opened image (brightness/contrast are kept)."""
        self._blocking = True
        self._window_custom = False
        if image is None:
            self.window_box.setEnabled(False)
            self.window_box.setVisible(False)
            self.info.setText("")
        else:
            lo, hi = dtype_range(image)
            level, width = default_window(image)
            self._default_window = (level, width)
            span = max(hi - lo, 1.0)
            self.level.setRange(lo - span, hi + span)
            self.width.setRange(min(1e-3, span / 1000), 2 * span)
            self.level.setValue(level)
            self.width.setValue(width)
            self.window_box.setEnabled(image.dtype != np.uint8)
            self.window_box.setVisible(image.dtype != np.uint8)
            ch = 1 if image.ndim == 2 else image.shape[2]
            self.info.setText(f"{image.shape[1]}×{image.shape[0]}, {ch} channel(s), {image.dtype}")
        self._blocking = False

    def reset(self) -> None:
        self._blocking = True
        self.brightness.setValue(0)
        self.contrast.setValue(100)
        self._blocking = False
        self.auto_window()

    def auto_window(self) -> None:
        self._blocking = True
        self.level.setValue(self._default_window[0])
        self.width.setValue(self._default_window[1])
        self._window_custom = False
        self._blocking = False
        self._emit()

    def _on_window_edit(self) -> None:
        if self._blocking:
            return
        self._window_custom = True
        self._emit()

    def _emit(self) -> None:
        self.brightness_value.setText(str(self.brightness.value()))
        self.contrast_value.setText(f"{self.contrast.value()}%")
        if not self._blocking:
            self.settingsChanged.emit(self.settings())
