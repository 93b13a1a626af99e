"""The training settings form: model, loss, epochs, batch size, image size, augmentation, validation share,
device and time budget.  :meth:`TrainForm.config` turns it into a validated core ``TrainConfig``."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QGridLayout, QLabel, QSpinBox, QWidget

SETTINGS_PREFIX = "training/"


def model_names() -> list[str]:
    from segstudio.core.models import MODELS

    return MODELS.names()


def loss_names() -> list[str]:
    from segstudio.core.losses import LOSSES

    return LOSSES.names()


def augment_presets() -> list[str]:
    from segstudio.core.data.augment import PRESETS

    return list(PRESETS)


def device_choices() -> list[tuple[str, str]]:
    """(config value, text shown): auto and CPU always; CUDA with the GPU's name when one is present."""
    import torch

    if not torch.cuda.is_available():
        return [("auto", "Auto (CPU: no CUDA GPU found)"), ("cpu", "CPU")]
    name = torch.cuda.get_device_name(0)
    return [("auto", f"Auto (CUDA: {name})"), ("cpu", "CPU"), ("cuda", f"CUDA ({name})")]


class TrainForm(QWidget):
    """The settings a user picks before pressing Train (remembered in QSettings)."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        from segstudio.core.training.config import TrainConfig

        d = TrainConfig()  # the engine's defaults are the form's defaults
        lay = QGridLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setHorizontalSpacing(6)
        lay.setVerticalSpacing(3)

        self.model = QComboBox(editable=True)
        self.model.addItems(model_names())
        self.model.setToolTip("Architecture (registry name, or smp:<arch>:<encoder>)")
        self.loss = QComboBox()
        self.loss.addItems(loss_names())
        self.epochs = QSpinBox(minimum=1, maximum=10000, value=d.epochs)
        self.batch_size = QSpinBox(minimum=1, maximum=512, value=d.batch_size)
        self.img_size = QSpinBox(minimum=32, maximum=4096, singleStep=32, value=d.img_size)
        self.img_size.setSuffix(" px")
        self.img_size.setToolTip("Longest side the images are letterboxed to (multiple of 32)")
        self.augment = QComboBox()
        self.augment.addItems(augment_presets())
        self.val_fraction = QDoubleSpinBox(minimum=0.05, maximum=0.5, singleStep=0.05, decimals=2,
                                           value=d.val_fraction)
        self.device = QComboBox()
        for value, text in device_choices():
            self.device.addItem(text, value)
        self.max_minutes = QDoubleSpinBox(minimum=0, maximum=100000, decimals=1, singleStep=5, value=0)
        self.max_minutes.setSpecialValueText("no limit")
        self.max_minutes.setSuffix(" min")
        self.max_minutes.setToolTip("Time budget: training stops cleanly after the batch that exceeds it")

        self._rows = (("Model", self.model), ("Loss", self.loss), ("Epochs", self.epochs),
                      ("Batch size", self.batch_size), ("Image size", self.img_size),
                      ("Augmentation", self.augment), ("Validation", self.val_fraction),
                      ("Time budget", self.max_minutes), ("Device", self.device))
        self._labels = [QLabel(text) for text, _w in self._rows]
        self.columns = 0
        self.set_columns(2)
        self.val_fraction.setToolTip("Share of the annotated images kept for validation")
        self.set_values(model=d.model, loss=d.loss, augment=d.augment)
        self.load_settings()

    def set_columns(self, n: int) -> None:
        """Lay the fields out in ``n`` columns of label + field (2 in a wide dock, 1 in a narrow one)."""
        if n == self.columns:
            return
        self.columns = n
        lay = self.layout()
        for (text, w), label in zip(self._rows, self._labels):
            lay.removeWidget(label)
            lay.removeWidget(w)
        last = len(self._rows) - 1
        for i, ((text, w), label) in enumerate(zip(self._rows, self._labels)):
            r, c = divmod(i, n)
            lay.addWidget(label, r, 2 * c)
            span = 2 * n - 1 if i == last else 1   # the device name may be long: full width
            lay.addWidget(w, r, 2 * c + 1, 1, span)
        for c in range(4):
            lay.setColumnStretch(c, 1 if c % 2 and c < 2 * n else 0)

    # ------------------------------------------------------------------ values
    def values(self) -> dict:
        """The form as TrainConfig keyword arguments."""
        minutes = float(self.max_minutes.value())
        return dict(
            model=self.model.currentText().strip() or "unet",
            loss=self.loss.currentText(),
            epochs=int(self.epochs.value()),
            batch_size=int(self.batch_size.value()),
            img_size=int(self.img_size.value()),
            augment=self.augment.currentText(),
            val_fraction=float(self.val_fraction.value()),
            device=str(self.device.currentData()),
            max_minutes=minutes if minutes > 0 else None,
        )

    def set_values(self, **values) -> None:
        """Set fields by TrainConfig key (tests, the benchmark and 'load settings of a run')."""
        combos = {"model": self.model, "loss": self.loss, "augment": self.augment}
        for key, value in values.items():
            if key in combos:
                box = combos[key]
                idx = box.findText(str(value))
                if idx < 0 and box.isEditable():
                    box.setEditText(str(value))
                elif idx >= 0:
                    box.setCurrentIndex(idx)
            elif key == "device":
                idx = self.device.findData(value)
                if idx >= 0:
                    self.device.setCurrentIndex(idx)
            elif key == "max_minutes":
                self.max_minutes.setValue(float(value or 0))
            elif key in ("epochs", "batch_size", "img_size", "val_fraction"):
                getattr(self, key).setValue(value)
            else:
                raise KeyError(key)

    def config(self, project, out: Optional[Path] = None, **overrides):
        """A validated ``TrainConfig`` for ``project`` in a new run folder (``RunFolder.new``) unless ``out`` is
        given (raises ConfigError when a value is refused)."""
        from segstudio.core.training import RunFolder, TrainConfig

        values = self.values()
        values.update(overrides)
        out = Path(out) if out is not None else RunFolder.new(project.runs_dir, values["model"]).path
        labels = project.labels_path if project.labels_path.exists() else None
        cfg = TrainConfig(data=str(project.folder), out=str(out), labels=str(labels) if labels else None, **values)
        return cfg.validate()

    # ------------------------------------------------------------------ persistence
    def save_settings(self) -> None:
        s = QSettings()
        for key, value in self.values().items():
            s.setValue(SETTINGS_PREFIX + key, value if value is not None else 0)

    def load_settings(self) -> None:
        s = QSettings()
        stored = {}
        for key in self.values():
            v = s.value(SETTINGS_PREFIX + key)
            if v is None:
                continue
            try:
                if key in ("epochs", "batch_size", "img_size"):
                    v = int(v)
                elif key in ("val_fraction", "max_minutes"):
                    v = float(v)
            except (TypeError, ValueError):
                continue
            stored[key] = v
        self.set_values(**stored)
