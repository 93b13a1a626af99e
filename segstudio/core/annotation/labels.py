"""The project label set (labels.txt) and the VOC palette.

labelme's converters number classes per run from labels.txt; segstudio keeps ONE label set per project so
that a label gets the same class id in every file.  File format (labelme's labels.txt, also read for the
research data's classes.txt)::

    __ignore__      optional: shapes with this label are "ignore" (-1 in arrays, 255 in PNGs)
    _background_    optional: class 0 (added when absent; a first line "background" / "bg" is taken as it)
    lesion          class 1, ...
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from segstudio.core.errors import ConfigError

from .document import BACKGROUND_LABEL, IGNORE_LABEL

MAX_CLASSES = 255  # ids 0..254; 255 is "ignore" in palette PNGs
#: first-line names taken as class 0 (renamed _background_) instead of a class after an added background
BACKGROUND_ALIASES = frozenset({"background", "bg", "_background", "__background__", "backgrounds"})


class UnknownLabelError(KeyError):
    """A label is not in the label set (a KeyError, deliberately not an AnnotationError)."""

    def __init__(self, label: str, known):
        self.label = label
        self.known = list(known)
        super().__init__(label)

    def __str__(self) -> str:
        return f"unknown label {self.label!r}; known labels: {', '.join(self.known) or '(none)'}"


def voc_palette(n: int = 256) -> np.ndarray:
    """(n, 3) uint8 PASCAL VOC colour map (imgviz.label_colormap): bits of the id spread over R, G, B."""
    ids = np.arange(n, dtype=np.int64)
    cmap = np.zeros((n, 3), dtype=np.int64)
    c = ids.copy()
    for shift in range(7, -1, -1):
        for ch in range(3):
            cmap[:, ch] |= ((c >> ch) & 1) << shift
        c >>= 3
    return cmap.astype(np.uint8)


class LabelSet:
    """Class names by id (``names[0] == "_background_"``) and whether ``__ignore__`` is declared."""

    def __init__(self, names, has_ignore: bool = False, path=None):
        names = [str(n) for n in names]
        names = [n for n in names if n != IGNORE_LABEL] if IGNORE_LABEL in names else names
        if not names or names[0] != BACKGROUND_LABEL:
            if BACKGROUND_LABEL in names:
                raise ConfigError(f"{BACKGROUND_LABEL} must come first (after an optional {IGNORE_LABEL})", path)
            names = [BACKGROUND_LABEL, *names]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"duplicate label(s): {', '.join(dup)}", path)
        empty = [i for i, n in enumerate(names) if not n.strip()]
        if empty:
            raise ConfigError("empty label name", path)
        if len(names) > MAX_CLASSES:
            raise ConfigError(f"too many classes ({len(names)}; at most {MAX_CLASSES})", path)
        self.names: list[str] = names
        self.has_ignore = bool(has_ignore)
        self._ids = {n: i for i, n in enumerate(names)}

    # ------------------------------------------------------------------ constructors / persistence
    @classmethod
    def from_names(cls, names) -> "LabelSet":
        """From class names; ``__ignore__`` among them sets ``has_ignore``; ``_background_`` is added first."""
        names = list(names)
        return cls(names, has_ignore=IGNORE_LABEL in names)

    @classmethod
    def from_file(cls, path) -> "LabelSet":
        """Read labels.txt / classes.txt: one name per line, blank lines skipped."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError as e:
            raise ConfigError("label file not found", path) from e
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read label file ({e})", path) from e
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        has_ignore = IGNORE_LABEL in lines
        if has_ignore and lines.index(IGNORE_LABEL) != 0:
            raise ConfigError(f"{IGNORE_LABEL} must be the first line", path)
        first = 1 if has_ignore else 0
        if len(lines) > first and lines[first].lower() in BACKGROUND_ALIASES and BACKGROUND_LABEL not in lines:
            lines[first] = BACKGROUND_LABEL  # classes.txt "background" first: it is class 0 (line i = id i)
        return cls(lines, has_ignore=has_ignore, path=path)

    def to_file(self, path) -> None:
        """Write labels.txt (atomic), ``__ignore__`` first when declared."""
        from .io import atomic_write_text

        lines = ([IGNORE_LABEL] if self.has_ignore else []) + self.names
        try:
            atomic_write_text(path, "\n".join(lines) + "\n")
        except OSError as e:
            raise ConfigError(f"cannot write ({e.strerror or e})", path) from e

    # ------------------------------------------------------------------------------------ queries
    @property
    def num_classes(self) -> int:
        return len(self.names)

    @property
    def label_name_to_value(self) -> dict[str, int]:
        """labelme's mapping: ``{"__ignore__": -1, "_background_": 0, ...}``."""
        return {IGNORE_LABEL: -1, **self._ids}

    def id_of(self, label: str) -> int:
        if label == IGNORE_LABEL:
            return -1
        try:
            return self._ids[label]
        except KeyError:
            raise UnknownLabelError(label, self.names) from None

    def __contains__(self, label) -> bool:
        return label == IGNORE_LABEL or label in self._ids

    def add(self, label: str) -> int:
        """Append a new class (or return the id of an existing one)."""
        label = str(label)
        if label == IGNORE_LABEL:
            self.has_ignore = True
            return -1
        if label in self._ids:
            return self._ids[label]
        if not label.strip():
            raise ConfigError("empty label name")
        if len(self.names) >= MAX_CLASSES:
            raise ConfigError(f"too many classes (at most {MAX_CLASSES})")
        self.names.append(label)
        self._ids[label] = len(self.names) - 1
        return self._ids[label]

    def colors(self) -> np.ndarray:
        """(num_classes, 3) uint8 VOC palette colours by class id."""
        return voc_palette(256)[: self.num_classes].copy()

    def __eq__(self, other) -> bool:
        return isinstance(other, LabelSet) and self.names == other.names and self.has_ignore == other.has_ignore

    def __repr__(self) -> str:
        return f"LabelSet({self.names!r}, has_ignore={self.has_ignore})"
