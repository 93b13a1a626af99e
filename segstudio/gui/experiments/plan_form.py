"""The plan form: an experiment plan built with clicks (data folder, models, losses, augmentation presets, seeds
or k folds, the held-out split and the training settings of every run).

:meth:`PlanForm.plan_dict` is the plan as the YAML file holds it (the shape ``segstudio experiment`` reads,
see docs/experiments.md); :meth:`PlanForm.set_plan` fills the form from such a mapping (a plan opened from a
file).  The form never validates by itself: the dock saves the mapping and checks it with the core's
``load_plan``, so the form and the command line give the same messages.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout,
                               QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from segstudio.gui.training.choices import Choices, ChoicesLoader, ready_choices

#: how the runs of one grid cell repeat: over seeds, or over the folds of a k-fold split
REPEATS = (("seeds", "Seeds"), ("folds", "k folds"))
#: ``train.config``: how each run fills the settings the plan does not give
CONFIG_MODES = (("defaults", "Built-in defaults"), ("auto", "Auto (planned per run)"))
#: the held-out split: every n-th image, or a (stratified) random fraction
HOLDOUTS = (("every", "Every n-th image"), ("fraction", "Random fraction"))


def parse_seeds(text: str) -> list[int]:
    """``"0, 1 2"`` -> [0, 1, 2]; ``"0-3"`` -> [0, 1, 2, 3]; a word that is not a number raises ValueError."""
    seeds: list[int] = []
    for part in text.replace(",", " ").split():
        if "-" in part.strip("-"):
            lo, hi = part.split("-", 1)
            seeds.extend(range(int(lo), int(hi) + 1))
        else:
            seeds.append(int(part))
    return seeds


def entry_name(entry) -> str:
    """A grid entry's name in the form: a mapping's ``label`` when it has one, else its model ``name`` or
    augmentation ``preset`` with its options (``resnet_unet (encoder=resnet50)``); a plain entry as it is."""
    if not isinstance(entry, dict):
        return str(entry)
    if entry.get("label"):
        return str(entry["label"])
    head = entry.get("name") or entry.get("preset") or "none"
    opts = ", ".join(f"{k}={v}" for k, v in entry.items() if k not in ("name", "preset"))
    return f"{head} ({opts})" if opts else str(head)


class CheckGrid(QGroupBox):
    """A titled grid of check boxes, one per name; ``checked()`` lists the ticked names in order."""

    changed = Signal()

    def __init__(self, title: str, names, columns: int = 3, parent=None):
        super().__init__(title, parent)
        self.columns = columns
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(6, 4, 6, 4)
        self.grid.setVerticalSpacing(2)
        self.boxes: dict[str, QCheckBox] = {}
        self.entries: dict[str, object] = {}   # name -> the plan's entry when it was a mapping (kept as it is)
        self.order: list[str] = []              # the names as the plan listed them
        for name in names:
            self.add(name)

    def add(self, name: str) -> QCheckBox:
        """A box for ``name`` (a name an opened plan uses that the registry does not list is added, so that
        nothing is dropped silently: validating the plan then names the problem)."""
        if name in self.boxes:
            return self.boxes[name]
        i = len(self.boxes)
        box = QCheckBox(name)
        box.toggled.connect(self.changed)
        self.grid.addWidget(box, i // self.columns, i % self.columns)
        self.boxes[name] = box
        return box

    def set_names(self, names) -> None:
        """List ``names`` in this order (the ticks and any other name ticked so far kept, after them)."""
        ticked, entries = self.checked(), dict(self.entries)
        for box in self.boxes.values():
            self.grid.removeWidget(box)
            box.deleteLater()
        self.boxes = {}
        for name in list(names) + [n for n in ticked if n not in names]:
            self.add(name)
        self.set_checked([entries.get(n, n) for n in ticked])

    def describe(self, descriptions: dict) -> None:
        """Tooltips: the registry's one-line description of each name."""
        for name, box in self.boxes.items():
            if descriptions.get(name):
                box.setToolTip(str(descriptions[name]))

    def checked(self) -> list[str]:
        """The ticked names: those of the opened plan in its order (it is the queue's order), then the others."""
        ticked = [name for name, box in self.boxes.items() if box.isChecked()]
        rank = {name: i for i, name in enumerate(self.order)}
        return sorted(ticked, key=lambda n: (rank.get(n, len(rank)), ticked.index(n)))

    def values(self) -> list:
        """The ticked entries as the plan lists them (a name, or the mapping an opened plan gave it)."""
        return [self.entries.get(name, name) for name in self.checked()]

    def set_checked(self, entries) -> None:
        """Tick these entries (names, or mappings with a ``name``) and nothing else; their order is kept."""
        self.entries = {}
        self.order = []
        for entry in entries:
            name = entry_name(entry)
            if isinstance(entry, dict):
                self.entries[name] = entry
            self.order.append(name)
            self.add(name)
        wanted = set(self.order)
        for name, box in self.boxes.items():
            box.setChecked(name in wanted)


class PlanForm(QWidget):
    """The fields of an experiment plan; ``plan_dict()`` is what "Save plan..." writes."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        from segstudio.core.training.config import TrainConfig

        d = TrainConfig()
        self.base_dir: Optional[Path] = None   # the folder the plan file will live in (relative data path)
        self.extra: dict = {}                   # keys of an opened plan the form has no field for (kept as they are)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        top = QFormLayout()
        top.setVerticalSpacing(3)
        self.name = QLineEdit("experiment")
        self.name.setToolTip("Name of the experiment (letters, digits, _ . + =): its folder is created next to "
                             "the plan file")
        self.data = QLineEdit()
        self.data.setToolTip("The dataset: a labelme project folder, images/ + masks/ (classes.txt) or VOC")
        self.data_button = QPushButton("Browse...")
        row = QHBoxLayout()
        row.addWidget(self.data, 1)
        row.addWidget(self.data_button)
        top.addRow("Name", self.name)
        top.addRow("Data folder", row)
        outer.addLayout(top)

        # the built-in names at once (core.catalog, no torch); the registries' (plugins) once the form was shown
        from segstudio.core.data.augment_config import PRESETS

        first = ready_choices()
        self.models = CheckGrid("Models", list(first.models))
        self.losses = CheckGrid("Losses", list(first.losses), columns=4)
        self.augments = CheckGrid("Augmentation presets", list(PRESETS))
        for grid, descriptions in ((self.models, first.models), (self.losses, first.losses)):
            grid.describe(descriptions)
        self.choices_loaded = first.complete
        for grid in (self.models, self.losses, self.augments):
            outer.addWidget(grid)
        outer.addWidget(self._build_runs_box(d))
        outer.addStretch(1)

        self.models.set_checked([d.model])
        self.losses.set_checked([d.loss])
        self.augments.set_checked([d.augment])
        self.data_button.clicked.connect(self.browse_data)
        for signal in (self.repeat.currentIndexChanged, self.holdout.currentIndexChanged):
            signal.connect(self._update_visibility)
        for signal in (self.name.textChanged, self.data.textChanged, self.seeds.textChanged,
                       self.models.changed, self.losses.changed, self.augments.changed,
                       self.repeat.currentIndexChanged, self.holdout.currentIndexChanged,
                       self.folds.valueChanged, self.holdout_every.valueChanged, self.holdout_fraction.valueChanged,
                       self.stratified.toggled, self.minutes.valueChanged, self.epochs.valueChanged,
                       self.img_size.valueChanged, self.batch_size.valueChanged, self.patience.valueChanged,
                       self.device.currentIndexChanged, self.config_mode.currentIndexChanged):
            signal.connect(self.changed)
        self._update_visibility()

    def _build_runs_box(self, d) -> QGroupBox:
        """Seeds or folds, the held-out split and the training settings of every run (``d``: TrainConfig())."""
        runs = QGroupBox("Runs and split")
        form = QGridLayout(runs)
        form.setContentsMargins(6, 4, 6, 4)
        form.setVerticalSpacing(3)
        self.repeat = QComboBox()
        for value, text in REPEATS:
            self.repeat.addItem(text, value)
        self.seeds = QLineEdit("0, 1")
        self.seeds.setToolTip("Seeds of the repeated runs: '0, 1, 2' or '0-4'")
        self.folds = QSpinBox(minimum=2, maximum=20, value=5)
        self.folds.setToolTip("k-fold cross-validation: one run per fold and grid cell")
        self.holdout = QComboBox()
        for value, text in HOLDOUTS:
            self.holdout.addItem(text, value)
        self.holdout_every = QSpinBox(minimum=2, maximum=1000, value=5)
        self.holdout_every.setPrefix("1 in ")
        self.holdout_fraction = QDoubleSpinBox(minimum=0.02, maximum=0.5, singleStep=0.05, decimals=2, value=0.1)
        self.stratified = QCheckBox("stratified")
        self.stratified.setChecked(True)
        self.minutes = QDoubleSpinBox(minimum=0, maximum=100000, decimals=2, singleStep=0.5, value=2)
        self.minutes.setSpecialValueText("no limit")
        self.minutes.setSuffix(" min")
        self.epochs = QSpinBox(minimum=1, maximum=10000, value=d.epochs)
        self.img_size = QSpinBox(minimum=32, maximum=4096, singleStep=32, value=d.img_size)
        self.img_size.setSuffix(" px")
        self.batch_size = QSpinBox(minimum=1, maximum=512, value=d.batch_size)
        self.patience = QSpinBox(minimum=0, maximum=10000, value=d.patience)
        self.patience.setSpecialValueText("off")
        self.patience.setToolTip("Early stopping: epochs without a better val mIoU before a run stops")
        self.device = QComboBox()
        for value, text in ready_choices().devices:
            self.device.addItem(text, value)
        self.device.setCurrentIndex(max(0, self.device.findData("cpu")))
        self.config_mode = QComboBox()
        for value, text in CONFIG_MODES:
            self.config_mode.addItem(text, value)
        self.config_mode.setToolTip("Settings a run does not get from the plan: the built-in defaults, or planned "
                                    "from the data, the device and the time budget (as the Training panel's Auto)")
        cells = (("Repeat over", self.repeat), ("Seeds", self.seeds), ("Folds", self.folds),
                 ("Held-out images", self.holdout), ("Every", self.holdout_every),
                 ("Fraction", self.holdout_fraction), ("", self.stratified), ("Minutes per run", self.minutes),
                 ("Epochs", self.epochs), ("Image size", self.img_size), ("Batch size", self.batch_size),
                 ("Early stopping", self.patience), ("Device", self.device), ("Settings", self.config_mode))
        for combo in (self.repeat, self.holdout, self.device, self.config_mode):   # never wider than the column
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        self.labels = {}
        for i, (text, widget) in enumerate(cells):
            label = QLabel(text)
            self.labels[widget] = label
            form.addWidget(label, i // 2, 2 * (i % 2))
            form.addWidget(widget, i // 2, 2 * (i % 2) + 1)
        return runs

    # ------------------------------------------------------------------ registry choices
    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.load_choices()

    def load_choices(self) -> None:
        """List the registries' models and losses (plugins included) and the devices torch finds: loaded once
        per application on a worker by the training form's :class:`ChoicesLoader` (the window's first frame never
        waits for torch), at once when it has them already."""
        if self.choices_loaded:
            return
        loader = ChoicesLoader.instance()
        if loader.choices is not None:
            self.set_choices(loader.choices)
            return
        loader.loaded.connect(self.set_choices)
        loader.request()

    def set_choices(self, choices: Choices) -> None:
        if self.choices_loaded or not choices.complete:
            return
        self.choices_loaded = True
        self.models.set_names(list(choices.models))
        self.losses.set_names(list(choices.losses))
        for grid, descriptions in ((self.models, choices.models), (self.losses, choices.losses)):
            grid.describe(descriptions)
        current = self.device.currentData()
        self.device.clear()
        for value, text in choices.devices:
            self.device.addItem(text, value)
        self.device.setCurrentIndex(max(0, self.device.findData(current)))

    def shutdown(self, ms: int = 60000) -> None:
        """Nothing of the form's own runs in the background (the shared loader is waited for at quit)."""

    # ------------------------------------------------------------------ fields
    def _update_visibility(self, *_):
        folds = self.repeat.currentData() == "folds"
        every = self.holdout.currentData() == "every"
        for widget, shown in ((self.seeds, not folds), (self.folds, folds), (self.holdout, not folds),
                              (self.holdout_every, every and not folds), (self.holdout_fraction, not every and not folds),
                              (self.stratified, folds or not every)):
            widget.setVisible(shown)
            self.labels[widget].setVisible(shown)

    def set_data_folder(self, folder) -> None:
        self.data.setText("" if folder is None else str(folder))

    def browse_data(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder", self.data.text() or os.getcwd())
        if folder:
            self.set_data_folder(folder)

    # ------------------------------------------------------------------ plan <-> form
    def plan_dict(self, plan_dir=None) -> dict:
        """The plan as the YAML file holds it; ``plan_dir``: the file's folder (the data path is written relative
        to it when the data lies below or beside it).  Raises ValueError for seeds that are not numbers."""
        data = self.data.text().strip()
        base = Path(plan_dir) if plan_dir is not None else self.base_dir
        if data and base is not None and Path(data).is_absolute():
            try:
                data = os.path.relpath(data, base)
            except ValueError:   # another drive (Windows): keep it absolute
                pass
        seed = {k: v for k, v in (self.extra.get("split") or {}).items() if k == "seed"}   # an opened plan's
        if self.repeat.currentData() == "folds":
            split = {"folds": self.folds.value(), "stratified": self.stratified.isChecked(), **seed}
        elif self.holdout.currentData() == "every":
            split = {"holdout_every": self.holdout_every.value()}
        else:
            split = {"holdout_fraction": round(self.holdout_fraction.value(), 4),
                     "stratified": self.stratified.isChecked(), **seed}
        train = dict(self.extra.get("train") or {})
        train.update({"minutes": self.minutes.value(), "epochs": self.epochs.value(),
                      "img_size": self.img_size.value(), "batch_size": self.batch_size.value(),
                      "early_stopping": self.patience.value()})
        if not train["minutes"]:
            train.pop("minutes")
        train["config"] = self.config_mode.currentData()
        grid = {key: value for key, value in (self.extra.get("grid") or {}).items()
                if key not in ("model", "loss", "augment", "seed")}
        grid = {"model": self.models.values(), "loss": self.losses.values(), "augment": self.augments.values(),
                **grid}
        if self.repeat.currentData() == "seeds":
            grid["seed"] = parse_seeds(self.seeds.text())
        plan = {key: value for key, value in self.extra.items() if key not in ("grid", "train", "split")}
        plan.update({"name": self.name.text().strip(), "data": data, "split": split, "train": train,
                     "device": self.device.currentData(), "grid": grid})
        return plan

    def set_plan(self, plan: dict, plan_dir=None) -> None:
        """Fill the form from a plan mapping (an opened YAML); what the form has no field for is kept in
        ``extra`` and written back unchanged by :meth:`plan_dict`."""
        self.extra = dict(plan)
        self.base_dir = Path(plan_dir) if plan_dir is not None else self.base_dir
        self.name.setText(str(plan.get("name", "")))
        data = str(plan.get("data", ""))
        if data and self.base_dir is not None and not Path(data).is_absolute():
            data = str((self.base_dir / data).resolve())
        self.data.setText(data)
        grid = plan.get("grid") or {}
        from segstudio.core.training.config import TrainConfig

        d = TrainConfig()   # an axis the plan leaves out has one value: the training default (as load_plan reads it)
        self.models.set_checked(_as_list(grid.get("model", [d.model])))
        self.losses.set_checked(_as_list(grid.get("loss", [d.loss])))
        self.augments.set_checked(_as_list(grid.get("augment", [d.augment])))
        split = plan.get("split") or {}
        if "folds" in split:
            self.repeat.setCurrentIndex(self.repeat.findData("folds"))
            self.folds.setValue(int(split["folds"]))
            self.stratified.setChecked(bool(split.get("stratified", True)))
        else:
            self.repeat.setCurrentIndex(self.repeat.findData("seeds"))
            self.seeds.setText(", ".join(str(s) for s in _as_list(grid.get("seed", [0]))))
        if "holdout_fraction" in split:
            self.holdout.setCurrentIndex(self.holdout.findData("fraction"))
            self.holdout_fraction.setValue(float(split["holdout_fraction"]))
            self.stratified.setChecked(bool(split.get("stratified", True)))
        elif "holdout_every" in split:
            self.holdout.setCurrentIndex(self.holdout.findData("every"))
            self.holdout_every.setValue(int(split["holdout_every"]))
        train = plan.get("train") or {}
        self.minutes.setValue(float(train.get("minutes") or 0))
        self.config_mode.setCurrentIndex(max(0, self.config_mode.findData(train.get("config", "defaults"))))
        for key, box in (("epochs", self.epochs), ("img_size", self.img_size), ("batch_size", self.batch_size),
                         ("early_stopping", self.patience)):
            if key in train:
                box.setValue(int(train[key]))
        if plan.get("device") is not None:
            i = self.device.findData(str(plan["device"]))
            if i < 0:   # cuda before torch has looked for it, or a device this machine lacks: kept as named
                self.device.addItem(str(plan["device"]), str(plan["device"]))
                i = self.device.count() - 1
            self.device.setCurrentIndex(i)
        self._update_visibility()


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]
