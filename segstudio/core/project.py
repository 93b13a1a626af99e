"""The project model: a folder of images in labelme's layout (JSON beside each image).

Qt-free: the GUI and the CLI both use it.  A project is *any* folder of images; ``segstudio.json`` (project
settings, the reviewed list) and ``labels.txt`` (the class list) are optional extras, so every labelme folder
opens as it is.

Per-image status, in order of precedence:

``reviewed``       the stem is in segstudio.json ``"reviewed"`` (a person checked the image)
``annotated``      the JSON beside the image has at least one shape (or a flag set)
``predicted``      ``predictions/<stem>.png`` exists (a model's mask, not yet reviewed)
``not annotated``  none of the above (also when the JSON cannot be read: see ``Project.problems``)
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from segstudio.core.errors import AnnotationError, ConfigError, DatasetError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp", ".pgm", ".ppm")
STATUSES = ("not annotated", "annotated", "predicted", "reviewed")
SETTINGS_FILE = "segstudio.json"
LABEL_FILES = ("labels.txt", "classes.txt")
#: in predictions/: {stem: checkpoint path} of the model that wrote each <stem>.png
PREDICTION_SOURCES = "sources.json"


@dataclass(frozen=True)
class ImageEntry:
    """One image of the project and the labelme JSON that belongs beside it (which may not exist yet)."""

    image_path: Path
    json_path: Path
    stem: str
    slice: Optional[int] = None   # a DICOM / NIfTI volume's slice (core/medical); None for every other image

    @property
    def name(self) -> str:
        return self.image_path.name


def is_image_file(path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def _read_json(path: Path) -> dict:
    try:
        with open(path, "r", encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise AnnotationError(f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}", path) from None
    except UnicodeDecodeError:
        raise AnnotationError("not a UTF-8 text file", path) from None
    except OSError as exc:
        raise AnnotationError(f"cannot be read ({exc.strerror or exc})", path) from None
    if not isinstance(data, dict):
        raise AnnotationError("top level is not a JSON object", path)
    return data


class Project:
    """A folder of images with labelme JSON beside them.

    ``Project(folder)`` scans the folder (root level only, sorted by name), reads ``segstudio.json`` when present
    and the class list from the labels file it names (default ``labels.txt``, else ``classes.txt``); when there
    is no labels file the classes are gathered from the JSON files, sorted.
    """

    def __init__(self, folder):
        folder = Path(folder).expanduser()
        if not folder.exists():
            raise DatasetError("folder does not exist", folder)
        if not folder.is_dir():
            raise DatasetError("not a folder", folder)
        self.folder = folder.resolve()
        self.settings: dict = {}
        settings_path = self.folder / SETTINGS_FILE
        if settings_path.exists():
            try:
                self.settings = _read_json(settings_path)
            except AnnotationError as exc:
                raise ConfigError(exc.reason, settings_path) from None
        self.name: str = str(self.settings.get("name") or self.folder.name)
        self.problems: dict[str, str] = {}  # stem -> "path: reason" for JSON files that cannot be read
        self._status_cache: dict[Path, tuple[tuple[int, int], bool]] = {}
        self.images: list[ImageEntry] = []
        self.rescan()
        self.label_set = self._load_label_set()

    # ------------------------------------------------------------------ paths
    @property
    def settings_path(self) -> Path:
        return self.folder / SETTINGS_FILE

    @property
    def runs_dir(self) -> Path:
        return self.folder / str(self.settings.get("runs") or "runs")

    @property
    def predictions_dir(self) -> Path:
        return self.folder / "predictions"

    @property
    def labels_path(self) -> Path:
        """The labels file of the project (it may not exist yet: saving the class list creates it)."""
        name = self.settings.get("labels")
        if name:
            return self.folder / str(name)
        for candidate in LABEL_FILES:
            if (self.folder / candidate).exists():
                return self.folder / candidate
        return self.folder / LABEL_FILES[0]

    @property
    def flags_path(self) -> Path:
        return self.folder / "flags.txt"

    # ------------------------------------------------------------------ scanning
    def rescan(self) -> None:
        """Re-list the images of the folder (call after files were added or removed outside the app)."""
        from segstudio.core.annotation.io import resolve_image_path
        from segstudio.core.medical.formats import is_medical_path, medical_entries

        files = sorted(p for p in self.folder.iterdir() if p.is_file())
        entries: list[ImageEntry] = []
        image_stems = set()
        for p in files:
            if is_image_file(p):
                entries.append(ImageEntry(p, p.with_suffix(".json"), p.stem))
                image_stems.add(p.stem)
            elif is_medical_path(p):  # DICOM / NIfTI: one entry per slice of a volume (core/medical)
                for entry in medical_entries(p):
                    entries.append(entry)
                    image_stems.add(entry.stem)
        # labelme JSON files whose image lives elsewhere or is embedded (imageData) open as well
        for p in files:
            if p.suffix.lower() != ".json" or p.stem in image_stems or p.name == SETTINGS_FILE:
                continue
            try:
                data = _read_json(p)
            except AnnotationError:
                continue
            if "shapes" not in data or not ("imagePath" in data or "imageData" in data):
                continue  # some other JSON file (a config, a COCO file...)
            # found as load_annotation finds it: Windows separators, or a stale folder with the file beside p
            image = resolve_image_path(str(data["imagePath"]), p).resolve() if data.get("imagePath") else p
            if data.get("imageData") or (image.is_file() and is_image_file(image)):
                entries.append(ImageEntry(image, p, p.stem))
        entries.sort(key=lambda e: e.json_path.name)
        self.images = entries

    def _load_label_set(self):
        from segstudio.core.annotation.labels import LabelSet

        path = self.labels_path
        if path.exists():
            return LabelSet.from_file(path)
        return LabelSet.from_names(["_background_"] + self.gathered_labels())

    def gathered_labels(self) -> list[str]:
        """Sorted labels used by the project's JSON files (unreadable files are skipped, see ``problems``)."""
        labels: set[str] = set()
        for entry in self.images:
            if not entry.json_path.exists():
                continue
            try:
                data = _read_json(entry.json_path)
            except AnnotationError as exc:
                self.problems[entry.stem] = str(exc)
                continue
            for shape in data.get("shapes") or []:
                if isinstance(shape, dict) and isinstance(shape.get("label"), str):
                    labels.add(shape["label"])
        labels.discard("_background_")
        labels.discard("__ignore__")
        return sorted(labels)

    def reload_labels(self) -> None:
        self.label_set = self._load_label_set()

    # ------------------------------------------------------------------ lookup
    def entry_for(self, path) -> Optional[ImageEntry]:
        """The entry of an image or JSON path (absolute, or a bare file name or stem), or None."""
        p = Path(path)
        if p.is_absolute():
            p = p.resolve()
            for entry in self.images:
                if p in (entry.image_path, entry.json_path):
                    return entry
            return None
        for entry in self.images:
            if str(path) in (entry.image_path.name, entry.json_path.name, entry.stem):
                return entry
        return None

    def index_of(self, entry: ImageEntry) -> int:
        return self.images.index(entry)

    # ------------------------------------------------------------------ status
    def _has_annotation(self, entry: ImageEntry) -> bool:
        path = entry.json_path
        try:
            st = os.stat(path)
        except OSError:
            self._status_cache.pop(path, None)
            self.problems.pop(entry.stem, None)
            return False
        key = (st.st_mtime_ns, st.st_size)
        cached = self._status_cache.get(path)
        if cached and cached[0] == key:
            return cached[1]
        try:
            data = _read_json(path)
            shapes = data.get("shapes") or []
            flags = data.get("flags") or {}
            has = bool(shapes) or (isinstance(flags, dict) and any(bool(v) for v in flags.values()))
            self.problems.pop(entry.stem, None)
        except AnnotationError as exc:
            self.problems[entry.stem] = str(exc)
            has = False
        self._status_cache[path] = (key, has)
        return has

    def reviewed(self) -> set[str]:
        return {str(s) for s in self.settings.get("reviewed") or []}

    def status(self, entry: ImageEntry) -> str:
        if entry.stem in self.reviewed():
            return "reviewed"
        if self._has_annotation(entry):
            return "annotated"
        if (self.predictions_dir / f"{entry.stem}.png").exists():
            return "predicted"
        return "not annotated"

    def counts(self) -> dict[str, int]:
        """Number of images per status (every status is a key)."""
        out = {s: 0 for s in STATUSES}
        for entry in self.images:
            out[self.status(entry)] += 1
        return out

    def prediction_sources(self) -> dict[str, str]:
        """stem -> checkpoint that wrote ``predictions/<stem>.png`` (stems missing: written elsewhere or by an
        older version; an unreadable record counts as empty)."""
        try:
            data = json.loads((self.predictions_dir / PREDICTION_SOURCES).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def record_prediction_sources(self, stems: Iterable[str], checkpoint) -> None:
        """Note that ``checkpoint`` wrote the predictions of ``stems`` (atomic write of predictions/sources.json)."""
        from segstudio.core.annotation.io import atomic_write_text

        stems = list(stems)
        if not stems:
            return
        data = self.prediction_sources()
        data.update({stem: str(checkpoint) for stem in stems})
        self.predictions_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.predictions_dir / PREDICTION_SOURCES,
                          json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")

    def set_reviewed(self, entry: ImageEntry, reviewed: bool = True) -> None:
        stems = self.reviewed()
        if reviewed:
            stems.add(entry.stem)
        else:
            stems.discard(entry.stem)
        self.settings["reviewed"] = sorted(stems)
        self.save_settings()

    # ------------------------------------------------------------------ writing
    def save_settings(self) -> None:
        """Write segstudio.json atomically (unknown keys are preserved)."""
        from segstudio.core.annotation.io import atomic_write_text

        data = dict(self.settings)
        data.setdefault("name", self.name)
        atomic_write_text(self.settings_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        self.settings = data

    def save_labels(self) -> Path:
        """Write the class list to the labels file atomically (labelme's labels.txt format)."""
        path = self.labels_path
        self.label_set.to_file(path)
        return path

    def add_label(self, name: str) -> int:
        """Append a class (or return the id of an existing one) and save the labels file."""
        name = validate_label_name(name, self.labels_path)
        if name in self.label_set.names:
            return self.label_set.names.index(name)
        idx = self.label_set.add(name)
        self.save_labels()
        return idx

    def rename_label(self, old: str, new: str) -> None:
        """Rename a class in the class list (ids keep their order) and save the labels file.

        Shapes are not touched here: the GUI renames the open document's shapes through its undo stack and
        :meth:`rename_label_in_files` rewrites the other JSON files.
        """
        new = validate_label_name(new, self.labels_path)
        names = self.label_set.names
        if old not in names:
            raise ConfigError(f"there is no class {old!r}", self.labels_path)
        if new != old and new in names:
            raise ConfigError(f"a class named {new!r} already exists", self.labels_path)
        if old == "_background_":
            raise ConfigError("the background class cannot be renamed", self.labels_path)
        from segstudio.core.annotation.labels import LabelSet

        names = list(names)
        names[names.index(old)] = new
        self.label_set = LabelSet(names, has_ignore=self.label_set.has_ignore)
        self.save_labels()

    def rename_label_in_files(self, old: str, new: str, exclude: Iterable[Path] = ()) -> list[Path]:
        """Rename ``old`` to ``new`` in every project JSON except ``exclude``; returns the files rewritten.

        Each file is rewritten atomically; unknown keys are preserved (the JSON is edited as plain data).
        """
        from segstudio.core.annotation.io import atomic_write_text

        skip = {Path(p).resolve() for p in exclude}
        changed = []
        for entry in self.images:
            path = entry.json_path
            if path.resolve() in skip or not path.exists():
                continue
            try:
                data = _read_json(path)
            except AnnotationError as exc:
                self.problems[entry.stem] = str(exc)
                continue
            hit = False
            for shape in data.get("shapes") or []:
                if isinstance(shape, dict) and shape.get("label") == old:
                    shape["label"] = new
                    hit = True
            if hit:
                atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
                changed.append(path)
        return changed

    def image_flags(self) -> list[str]:
        """Image-level flag names from flags.txt (one a line), or [] when the file is absent."""
        path = self.flags_path
        if not path.exists():
            return []
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot be read ({exc})", path) from None
        return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def validate_label_name(name: str, path=None) -> str:
    """Strip a class name and refuse empty names and the reserved ones."""
    name = (name or "").strip()
    if not name:
        raise ConfigError("a class name cannot be empty", path)
    if name in ("__ignore__",) or "\n" in name:
        raise ConfigError(f"{name!r} cannot be used as a class name", path)
    return name


def open_path(path) -> tuple[Project, Optional[ImageEntry]]:
    """Open what the user pointed at: a project folder, a segstudio.json, or one JSON/image file.

    Returns the project and the entry to show first (None for a folder).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise DatasetError("no such file or folder", p)
    if p.is_dir():
        return Project(p), None
    if p.name == SETTINGS_FILE:
        return Project(p.parent), None
    from segstudio.core.medical.formats import is_medical_path

    if p.suffix.lower() == ".json" or is_image_file(p) or is_medical_path(p):
        project = Project(p.parent)
        entry = project.entry_for(p.resolve())
        if entry is None:
            raise DatasetError("not an image or a labelme JSON of an image", p)
        return project, entry
    raise DatasetError(
        f"cannot open a {p.suffix or 'file without extension'} file (open a folder, an image or a labelme JSON)", p
    )
