"""DICOM / NIfTI in the window (the "medical" window extension): slice navigation and display windows.

The Slices bar appears above the canvas's dock area while a DICOM or NIfTI image is shown:

* a slider and a spin box over the volume's slices (multi-frame DICOM, 3-D / 4-D NIfTI); moving it opens
  that slice's entry -- its own labelme JSON (``scan_z012.json``), saved as any image is, the edits of the
  previous slice saved first; Page Up / Page Down step through the slices when the slider has the focus;
* a window preset box: the file's windows (WindowCenter/Width, VOI LUT, NIfTI cal_min/max), the CT presets
  for CT, and "Auto" (the image's percentile window).  A new file opens with its own window; moving to
  another slice of the same file keeps the preset chosen.  The window is set through the Display panel's
  level / width (the canvas maps 16-bit and float images through them: core.imaging).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDockWidget, QHBoxLayout, QLabel, QSlider, QSpinBox, QWidget

from segstudio.core.errors import SegStudioError

AUTO = "Auto (percentiles)"


class SliceNavigator(QWidget):
    def __init__(self, session, services=None, parent=None):
        super().__init__(parent)
        self.session = session
        self.services = services
        self.dock: QDockWidget | None = None   # set by install(); shown only for DICOM / NIfTI
        self.volume = None
        self._siblings: list = []
        self._moving = False
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setPageStep(1)
        self.spin = QSpinBox()
        self.info = QLabel("")
        self.presets = QComboBox()
        self.presets.setToolTip("Display window (level / width) of this file")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.addWidget(QLabel("Slice"))
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.spin)
        lay.addWidget(self.info)
        lay.addWidget(QLabel("Window"))
        lay.addWidget(self.presets)
        self.slider.valueChanged.connect(self._go)
        self.spin.valueChanged.connect(self._go)
        self.presets.activated.connect(lambda _i: self.apply_preset())
        session.events.image.connect(self.show_entry)

    # ------------------------------------------------------------------ following the window
    def show_entry(self, entry) -> None:
        """Adapt to the image the window shows (hidden for anything but DICOM / NIfTI)."""
        from segstudio.core.medical import is_medical_path, open_volume

        dock = self.dock
        if entry is None or not is_medical_path(entry.image_path):
            self.volume = None
            if dock is not None:
                dock.setVisible(False)
            return
        try:
            volume = open_volume(entry.image_path)
        except SegStudioError:
            return
        same_file = self.volume is not None and self.volume.path == volume.path
        self.volume = volume
        project = self.session.project
        self._siblings = [e for e in (project.images if project else []) if e.image_path == entry.image_path]
        n = max(len(self._siblings), 1)
        self._moving = True
        for w in (self.slider, self.spin):
            w.setRange(0, n - 1)
            w.setValue(entry.slice or 0)
            w.setEnabled(n > 1)
        self._moving = False
        self.info.setText(f"/ {n - 1}   {volume.description}")
        if not same_file:
            self._fill_presets(volume)
        if dock is not None:
            dock.setVisible(True)
        self.apply_preset()

    def _fill_presets(self, volume) -> None:
        self.presets.clear()
        for name, level, width in volume.windows:
            self.presets.addItem(f"{name} ({level:g} / {width:g})", (level, width))
        self.presets.addItem(AUTO, None)
        self.presets.setCurrentIndex(0 if volume.initial_window is not None else self.presets.count() - 1)

    def apply_preset(self) -> None:
        """Set the Display panel's window to the chosen preset (Auto: the image's own default)."""
        panel = getattr(getattr(self.services, "window", None), "adjust_panel", None)
        if panel is None:
            return
        window = self.presets.currentData()
        if window is None:
            panel.auto_window()
            return
        level, width = window
        span = max(abs(level) + width, 1.0)
        for spin, value in ((panel.level, level), (panel.width, width)):
            spin.setRange(min(spin.minimum(), -4 * span), max(spin.maximum(), 4 * span))
        panel.level.setValue(level)     # each edit makes the panel's window custom and re-draws the canvas
        panel.width.setValue(width)

    # ------------------------------------------------------------------ moving
    def _go(self, index: int) -> None:
        if self._moving or not self._siblings:
            return
        target = next((e for e in self._siblings if (e.slice or 0) == index), None)
        if target is None or target == self.session.entry:
            return
        opened = self.services.open_image(target) if self.services is not None else False
        if not opened:  # refused (e.g. unsaved edits kept): the controls follow the image still shown
            self.show_entry(self.session.entry)


def install(session, services) -> None:
    """The "medical" window extension: the Slices bar (slice slider, window presets) for DICOM / NIfTI."""
    dock = QDockWidget("Slices")
    navigator = SliceNavigator(session, services)
    navigator.dock = dock
    dock.setWidget(navigator)
    dock.setObjectName("dock_slices")
    services.window.addDockWidget(Qt.TopDockWidgetArea, dock)
    services.window.docks["slices"] = dock
    dock.setVisible(False)
