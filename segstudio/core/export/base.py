"""Exporter base class, the ``exporter`` registry, the conversion report and per-file loading.

An exporter turns a folder of labelme JSON files into one dataset layout.  Its work is split so that a
process pool can do the per-file part:

* ``prepare(json_files)`` runs once in the main process (folders, static files, the train/val split);
* ``export_item(item)`` runs once per JSON file, possibly in a worker process, writes that file's outputs
  and returns a small picklable *record*;
* ``finish(records)`` runs once in the main process with the records of the files that succeeded, in
  source order, and writes the aggregate files (COCO ``annotations.json``, ``dataset.json``, ...).

Because ids and aggregate files are only made in ``finish`` from records in source order, the result does
not depend on the number of workers.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Optional

import numpy as np

from segstudio.core.annotation import (
    Annotation,
    LabelSet,
    annotation_to_class_u8,
    annotation_to_label,
    load_annotation,
)
from segstudio.core.errors import AnnotationError, DatasetError
from segstudio.core.registry import Registry

EXPORTERS: "Registry[type[Exporter]]" = Registry("exporter")

#: JSON files in a project folder that are not labelme annotations
NON_ANNOTATION_JSON = frozenset({"segstudio.json"})


@dataclass
class ConvertReport:
    """What a conversion or an import did: files converted, files refused (path, reason), output folder."""

    n_ok: int
    failures: list[tuple[str, str]] = field(default_factory=list)
    out: Optional[Path] = None
    fmt: str = ""

    @property
    def n_failed(self) -> int:
        return len(self.failures)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        to = f" to {self.fmt}" if self.fmt else ""
        return f"converted {self.n_ok} file(s){to}, {self.n_failed} failed; output: {self.out}"


class Item:
    """One labelme file, loaded and validated, as an exporter's ``export_item`` receives it.

    The class / instance maps are rasterized on first use (``class_u8`` alone takes the core's fast path).
    """

    def __init__(self, index: int, json_path: Path, ann: Annotation, label_set: LabelSet):
        self.index, self.json_path, self.ann, self.label_set = index, Path(json_path), ann, label_set
        self.stem = self.json_path.stem
        self._cls: Optional[np.ndarray] = None
        self._ins: Optional[np.ndarray] = None

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ann.image_height, self.ann.image_width)

    def _rasterize(self) -> None:
        self._cls, self._ins = annotation_to_label(self.ann, self.label_set)

    @property
    def cls(self) -> np.ndarray:
        """int32 HxW class ids, -1 = ignore (labelme's ``shapes_to_label``)."""
        if self._cls is None:
            self._rasterize()
        return self._cls

    @property
    def ins(self) -> np.ndarray:
        """int32 HxW instance ids (1.. per label and group_id), 0 = none, -1 = ignore."""
        if self._ins is None:
            self._rasterize()
        return self._ins

    @property
    def class_u8(self) -> np.ndarray:
        """uint8 HxW class ids, ignore = 255 (the palette-PNG encoding)."""
        if self._cls is not None:
            return np.where(self._cls < 0, 255, self._cls).astype(np.uint8)
        return annotation_to_class_u8(self.ann, self.label_set)


class Exporter:
    """Base class of dataset exporters; subclasses register with ``@EXPORTERS.register(name)``.

    Instances are pickled into worker processes after ``prepare``: keep their state plain data.
    """

    name: ClassVar[str] = ""
    #: option name -> (default, help); unknown options are refused by ``__init__``
    OPTIONS: ClassVar[dict[str, tuple[Any, str]]] = {}

    def __init__(self, out: Path, label_set: LabelSet, options: Optional[dict] = None):
        self.out = Path(out)
        self.label_set = label_set
        options = dict(options or {})
        unknown = sorted(set(options) - set(self.OPTIONS))
        if unknown:
            from segstudio.core.errors import ConfigError

            known = ", ".join(sorted(self.OPTIONS)) or "(none)"
            raise ConfigError(f"unknown option(s) {', '.join(unknown)} for format {self.name!r}; known: {known}")
        self.options = {k: options.get(k, default) for k, (default, _help) in self.OPTIONS.items()}

    # -- the three phases -------------------------------------------------------------------------------
    def prepare(self, json_files: list[Path]) -> None:  # pragma: no cover - trivial default
        self.out.mkdir(parents=True, exist_ok=True)

    def export_item(self, item: Item) -> Any:
        raise NotImplementedError

    def finish(self, records: list[tuple["ItemInfo", Any]]) -> None:
        """Write aggregate files. ``records`` holds (ItemInfo, record) of the files that succeeded."""


@dataclass(frozen=True)
class ItemInfo:
    """The picklable identity of an item, handed to ``finish`` with its record."""

    index: int
    json_path: Path
    stem: str


# -- source discovery and labels ------------------------------------------------------------------------
def find_label_files(src: Path) -> list[Path]:
    """The labelme JSON files directly inside ``src`` (labelme's layout), sorted by name."""
    src = Path(src)
    if not src.exists():
        raise DatasetError("source folder does not exist", src)
    if not src.is_dir():
        raise DatasetError("source is not a folder (give the folder holding the labelme JSON files)", src)
    files = sorted(p for p in src.glob("*.json") if p.is_file() and p.name not in NON_ANNOTATION_JSON)
    if not files:
        raise DatasetError("no labelme JSON files (*.json) in this folder", src)
    return files


def resolve_labels(labels, src: Path, json_files: list[Path]) -> LabelSet:
    """``labels`` may be a LabelSet, a labels.txt/classes.txt path, or None.

    None uses ``src/labels.txt`` when present, else the labels found in the JSON files (sorted), like a
    project without labels.txt.
    """
    if isinstance(labels, LabelSet):
        return labels
    if labels is not None:
        path = Path(labels)
        if not path.is_file():
            raise DatasetError("labels file not found", path)
        return LabelSet.from_file(path)
    default = Path(src) / "labels.txt"
    if default.is_file():
        return LabelSet.from_file(default)
    found: set[str] = set()
    for path in json_files:
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
            for shape in doc.get("shapes") or []:
                label = shape.get("label") if isinstance(shape, dict) else None
                if isinstance(label, str) and label:
                    found.add(label)
        except (OSError, ValueError, AttributeError):
            continue  # reported when the file itself is converted
    names = sorted(found - {"__ignore__", "_background_"})
    return LabelSet.from_names(["_background_", *names])


def check_output_folder(out: Path, src: Path) -> Path:
    """Refuse an output folder that would write into the source or over existing files."""
    out = Path(out).absolute()
    src_abs = Path(src).absolute()
    out_r, src_r = out.resolve(), src_abs.resolve()
    if out_r == src_r or src_r in out_r.parents:
        raise DatasetError("the output folder must be outside the source folder (the source is never written to)", out)
    if out.exists():
        if not out.is_dir():
            raise DatasetError("output exists and is not a folder", out)
        if any(out.iterdir()):
            raise DatasetError("output folder exists and is not empty; choose a new folder (nothing is overwritten)", out)
    return out


# -- per-file loading -----------------------------------------------------------------------------------
def check_labels(ann: Annotation, label_set: LabelSet, json_path: Path) -> None:
    """Every shape label must be in the label set (``__ignore__`` always is)."""
    mapping = label_set.label_name_to_value
    for i, shape in enumerate(ann.shapes):
        if shape.label not in mapping and shape.label != "__ignore__":
            known = ", ".join(n for n in label_set.names)
            raise AnnotationError(f"label {shape.label!r} is not in the label set ({known})", json_path, shape_index=i)


def load_item(index: int, json_path: Path, label_set: LabelSet) -> Item:
    """Load and validate one labelme file (raises SegStudioError subclasses on bad input)."""
    json_path = Path(json_path)
    ann = load_annotation(json_path)
    check_labels(ann, label_set, json_path)
    return Item(index, json_path, ann, label_set)
