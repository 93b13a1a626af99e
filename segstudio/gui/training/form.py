"""The training settings form: configuration (auto / manual), model, loss, epochs, batch size, image size,
augmentation, validation share, device and time budget.  :meth:`TrainForm.config` turns it into a validated core
``TrainConfig``.

With **Auto** configuration (the default) the planner (core.training.planner) chooses the settings from the
data, the device and the time budget, except the fields the user sets: a field changed by the user (or by
:meth:`TrainForm.set_values`) is kept as given (:meth:`TrainForm.explicit_fields`); choosing "Auto" again
hands every field back to the planner.  **Manual** trains exactly what the form shows.

The model, loss and device lists come from the registries and torch (``choices.py``): until they are loaded
(on a worker, after the form's first paint) the form lists the built-in models and losses; a value it is given
that is not listed yet (a plugin's loss, the CUDA device, restored from the settings) is applied when they are."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QGridLayout, QLabel, QSpinBox, QWidget

from segstudio.gui.training.choices import Choices, ChoicesLoader, ready_choices

SETTINGS_PREFIX = "training/"
#: the fields the planner chooses unless the user sets them (time budget, device, validation share: always yours)
PLANNED = ("model", "loss", "epochs", "batch_size", "img_size", "augment")
CONFIG_MODES = (("auto", "Auto (planned from the data)"), ("manual", "Manual (the fields below)"))


def augment_presets() -> list[str]:
    from segstudio.core.data.augment_config import PRESETS

    return list(PRESETS)


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
        self.model.setToolTip("Architecture (registry name, or smp:<arch>:<encoder>)")
        self.loss = QComboBox()
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
        self.max_minutes = QDoubleSpinBox(minimum=0, maximum=100000, decimals=1, singleStep=5, value=0)
        self.max_minutes.setSpecialValueText("no limit")
        self.max_minutes.setSuffix(" min")
        self.max_minutes.setToolTip("Time budget: training stops cleanly after the batch that exceeds it")
        self.config_mode = QComboBox()
        for value, text in CONFIG_MODES:
            self.config_mode.addItem(text, value)
        self.config_mode.setToolTip("Auto: the settings you do not change are planned from the dataset, the device "
                                    "and the time budget (shown below before you start); choose Auto again to "
                                    "hand every field back to the planner. Manual: exactly the fields below")
        self.explicit: set = set()
        self._quiet = False   # programmatic changes (restoring settings) do not mark fields as yours
        self._pending: dict = {}   # values given before the full lists were loaded and not listed yet
        self._fill(ready_choices())

        self._rows = (("Configuration", self.config_mode), ("Model", self.model), ("Loss", self.loss), ("Epochs", self.epochs),
                      ("Batch size", self.batch_size), ("Image size", self.img_size),
                      ("Augmentation", self.augment), ("Validation", self.val_fraction),
                      ("Time budget", self.max_minutes), ("Device", self.device))
        self._labels = [QLabel(text) for text, _w in self._rows]
        self.columns = 0
        self.set_columns(2)
        self.val_fraction.setToolTip("Share of the annotated images kept for validation")
        self._quiet = True
        self.set_values(model=d.model, loss=d.loss, augment=d.augment)
        self._quiet = False
        self.load_settings()
        self._connect_changes()
        if not self.choices.complete:
            ChoicesLoader.instance().loaded.connect(self.set_choices)

    # ------------------------------------------------------------------ the lists (choices.py)
    choices: Optional[Choices] = None   # set in __init__ (Qt may deliver events before)
    _requested = False

    def event(self, event) -> bool:  # noqa: D401 - Qt API
        """After the first paint (the window is on screen), have the full lists loaded on a worker."""
        if (event.type() == QEvent.Paint and not self._requested and self.choices is not None
                and not self.choices.complete):
            self._requested = True
            QTimer.singleShot(0, ChoicesLoader.instance().request)
        return super().event(event)

    def _fill(self, choices: Choices) -> None:
        """Replace the model, loss and device lists (tooltips: the descriptions), keeping what each field
        shows; no ``changed`` for it."""
        self.choices = choices
        shown = {"model": self.model.currentText(), "loss": self.loss.currentText(),
                 "device": self.device.currentData()}
        boxes = (self.model, self.loss, self.device)
        for box in boxes:
            box.blockSignals(True)
        quiet, self._quiet = self._quiet, True
        try:
            for box, items in ((self.model, choices.models), (self.loss, choices.losses)):
                box.clear()
                for i, (name, description) in enumerate(sorted(items.items())):
                    box.addItem(name)
                    box.setItemData(i, description, Qt.ToolTipRole)
            self.device.clear()
            for value, text in choices.devices:
                self.device.addItem(text, value)
            self.set_values(**{k: v for k, v in shown.items() if v})
        finally:
            self._quiet = quiet
            for box in boxes:
                box.blockSignals(False)

    def set_choices(self, choices: Choices) -> None:
        """Show the full lists (``ChoicesLoader.loaded``) and the values given before they were listed."""
        if self.choices.complete:
            return
        before, pending, self._pending = self.values(), self._pending, {}
        self._fill(choices)
        quiet, self._quiet = self._quiet, True
        try:
            self.set_values(**pending)
        finally:
            self._quiet = quiet
        if self.values() != before:
            self.changed.emit()

    def _connect_changes(self) -> None:
        for key, signal in (("model", self.model.currentTextChanged), ("loss", self.loss.currentTextChanged),
                            ("epochs", self.epochs.valueChanged), ("batch_size", self.batch_size.valueChanged),
                            ("img_size", self.img_size.valueChanged), ("augment", self.augment.currentTextChanged),
                            ("val_fraction", self.val_fraction.valueChanged),
                            ("max_minutes", self.max_minutes.valueChanged),
                            ("device", self.device.currentIndexChanged)):
            signal.connect(lambda *_a, k=key: self._field_changed(k))
        self.config_mode.activated.connect(self._mode_chosen)

    def _field_changed(self, key: str) -> None:
        if not self._quiet:
            self._pending.pop(key, None)   # the user's choice wins over a value not listed yet
            if key in PLANNED:
                self.explicit.add(key)
        self.changed.emit()

    def _mode_chosen(self, *_args) -> None:
        if self.auto():
            self.explicit.clear()   # "Auto" again: every field goes back to the planner
        self.changed.emit()

    def auto(self) -> bool:
        """Whether the planner configures the run (the Configuration field says Auto)."""
        return self.config_mode.currentData() == "auto"

    def explicit_fields(self) -> set:
        """The TrainConfig fields the plan must keep: the fields the user set (Auto), every field (Manual)."""
        if not self.auto():
            return set(PLANNED)
        return set(self.explicit)

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
        """The form as TrainConfig keyword arguments; a value given before the lists were loaded and not listed
        yet counts (a plugin's loss restored from the settings trains even if Train is pressed before then)."""
        minutes = float(self.max_minutes.value())
        shown = dict(
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
        return {**shown, **self._pending}

    def set_values(self, **values) -> None:
        """Set fields by TrainConfig key (tests, the benchmark and 'load settings of a run'); with Auto
        configuration the fields set count as the user's (the plan keeps them).  ``config="auto"|"manual"``
        sets the configuration mode."""
        mode = values.pop("config", None)
        if mode is not None:
            idx = self.config_mode.findData(mode)
            if idx < 0:
                raise KeyError(f"config={mode!r}")
            self.config_mode.setCurrentIndex(idx)
        combos = {"model": self.model, "loss": self.loss, "augment": self.augment}
        for key, value in values.items():
            if key in combos:
                box = combos[key]
                idx = box.findText(str(value))
                if idx < 0 and box.isEditable():
                    box.setEditText(str(value))
                elif idx >= 0:
                    box.setCurrentIndex(idx)
                elif key != "augment" and not self.choices.complete:
                    self._pending[key] = value   # perhaps a plugin's: listed once the registries are loaded
            elif key == "device":
                idx = self.device.findData(value)
                if idx >= 0:
                    self.device.setCurrentIndex(idx)
                elif not self.choices.complete:
                    self._pending[key] = value   # e.g. "cuda": listed once torch has looked for the GPU
            elif key == "max_minutes":
                self.max_minutes.setValue(float(value or 0))
            elif key in ("epochs", "batch_size", "img_size", "val_fraction"):
                getattr(self, key).setValue(value)
            else:
                raise KeyError(key)
            if not self._quiet and key in PLANNED:
                self.explicit.add(key)

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
        s.setValue(SETTINGS_PREFIX + "config", self.config_mode.currentData())
        s.setValue(SETTINGS_PREFIX + "explicit", ",".join(sorted(self.explicit)))

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
        self._quiet = True
        try:
            self.set_values(**stored)
            mode = s.value(SETTINGS_PREFIX + "config")
            if mode in ("auto", "manual"):
                self.set_values(config=mode)
            self.explicit = {k for k in str(s.value(SETTINGS_PREFIX + "explicit") or "").split(",") if k in PLANNED}
        finally:
            self._quiet = False
