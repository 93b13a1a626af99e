"""The open image's annotation and its undo stack (the model behind the canvas).

Every edit goes through :attr:`DocumentModel.undo_stack` as a :class:`~segstudio.gui.undo.ShapesCommand`
(or :class:`~segstudio.gui.undo.FlagsCommand`); ``changed`` fires after any edit, undo or redo.
Shapes are immutable values: helpers build new shapes for what they change (see ``core/annotation/edit.py``).
The selection is view state, not an edit: :meth:`select` does not touch the undo stack.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from segstudio.core.annotation.document import Annotation, Shape
from segstudio.core.errors import AnnotationError
from segstudio.core.annotation import edit as ops
from segstudio.gui.undo import FlagsCommand, ShapesCommand
from segstudio.core.annotation.json_cache import JsonCache, write_json_bytes


#: undo depth per image. Each brush stroke keeps its merged mask patch alive in the history, so the memory
#: held is at most UNDO_LIMIT mask patches (e.g. 200 x 430 kB for full-image masks of a 768x560 image).
UNDO_LIMIT = 200


class DocumentModel(QObject):
    """The annotation of the open image, its pixels, and the undo stack of its edits."""

    changed = Signal()
    loaded = Signal()
    selectionChanged = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        self.annotation: Annotation | None = None
        self.image: np.ndarray | None = None
        self.json_path: Path | None = None
        self.image_path: Path | None = None
        self._selection: list[int] = []
        self.json_cache = JsonCache()     # encoded shapes, so that a save re-encodes only what changed

    # ----------------------------------------------------------------- loading / saving
    def open(self, image_path, json_path, *, slice=None) -> None:
        """Open ``image_path``; read ``json_path`` when it exists, else start an empty annotation.

        ``slice``: the slice of a DICOM / NIfTI volume (ImageEntry.slice; a new JSON records it as
        ``imageSlice``).  Raises AnnotationError (bad JSON, or an image whose size differs from the JSON's)
        or the image loader's error; the previous document stays open then.
        """
        from segstudio.core.annotation.io import annotation_image, load_annotation, load_image

        image_path, json_path = Path(image_path), Path(json_path)
        if json_path.exists():
            ann = load_annotation(json_path, check_image=False)
            slice = ann.extra.get("imageSlice", slice)
            image = (load_image(image_path, slice=slice) if image_path.exists()
                     else annotation_image(ann, json_path))
            h, w = int(image.shape[0]), int(image.shape[1])
            if (ann.image_height, ann.image_width) != (h, w):
                raise AnnotationError(f"image size {w}x{h} differs from imageWidth x imageHeight "
                                      f"{ann.image_width}x{ann.image_height} in the JSON", json_path)
        else:
            image = load_image(image_path, slice=slice)
            rel = os.path.relpath(image_path, json_path.parent)
            ann = Annotation(shapes=[], image_path=Path(rel).as_posix(),
                             image_height=int(image.shape[0]), image_width=int(image.shape[1]),
                             extra={} if slice is None else {"imageSlice": int(slice)})
        self.open_annotation(ann, image, json_path, image_path)

    def open_annotation(self, annotation: Annotation, image: np.ndarray | None, json_path=None,
                        image_path=None) -> None:
        """Show an in-memory annotation (and its image); clears the undo stack and the selection."""
        self.undo_stack.clear()
        self.json_cache.clear()
        self.annotation = annotation
        self.image = image
        self.json_path = Path(json_path) if json_path is not None else None
        self.image_path = Path(image_path) if image_path is not None else None
        self._selection = []
        self.undo_stack.setClean()
        self.loaded.emit()
        self.selectionChanged.emit([])

    def close(self) -> None:
        """Forget the open image (nothing is saved)."""
        self.undo_stack.clear()
        self.json_cache.clear()
        self.annotation = self.image = self.json_path = self.image_path = None
        self._selection = []
        self.loaded.emit()
        self.selectionChanged.emit([])

    def save(self, path=None, *, with_image_data: bool = False) -> Path:
        """Write the annotation (atomically) to ``path`` or :attr:`json_path`; marks the stack clean.

        The text is what core's ``save_annotation`` writes, built from :attr:`json_cache` (only the shapes
        changed since the last save are encoded).  Raises AnnotationError when the write fails.
        """
        from segstudio.core.annotation.io import save_annotation

        encoded = self.save_bytes(path, with_image_data=with_image_data)
        if encoded is None:   # the image file is to be embedded: core reads (and orients) it
            target = self._target(path)
            save_annotation(self.annotation, target, with_image_data=True)
        else:
            target, data = encoded
            write_json_bytes(target, data)
        self.undo_stack.setClean()
        return target

    def save_bytes(self, path=None, *, with_image_data: bool = False) -> tuple[Path, bytes] | None:
        """The target and the UTF-8 JSON that :meth:`save` would write (nothing is written, the stack is not
        marked clean); None when the image *file* is to be embedded (then only :meth:`save` does it).

        imageData as in ``save_annotation``: embedded when asked (the annotation's own data, or the file),
        or kept when the annotation carries it and no image file exists at imagePath.
        """
        from segstudio.core.annotation.io import resolve_image_path

        target = self._target(path)
        ann = self.annotation
        image_file = resolve_image_path(ann.image_path, target) if ann.image_path else None
        has_file = image_file is not None and image_file.is_file()
        data = None
        if with_image_data:
            if ann.image_data is not None:
                data = ann.image_data
            elif has_file:
                return None
            else:
                raise AnnotationError(f"cannot embed the image: {image_file} not found", target)
        elif ann.image_data is not None and not has_file:
            data = ann.image_data
        return target, self.json_cache.text(ann, data).encode("utf-8")

    def _target(self, path) -> Path:
        if self.annotation is None:
            raise RuntimeError("no annotation is open")
        target = Path(path) if path is not None else self.json_path
        if target is None:
            raise RuntimeError("no JSON path to save to")
        return target

    @property
    def is_modified(self) -> bool:
        return not self.undo_stack.isClean()

    @property
    def image_size(self) -> tuple[int, int]:
        """(width, height) of the open image, (0, 0) when none."""
        if self.annotation is None:
            return 0, 0
        return int(self.annotation.image_width), int(self.annotation.image_height)

    # ----------------------------------------------------------------- reading
    def shapes(self) -> list[Shape]:
        """The shapes in paint order (later = on top). Treat them as read-only values."""
        return list(self.annotation.shapes) if self.annotation is not None else []

    def selected(self) -> list[int]:
        return list(self._selection)

    # ----------------------------------------------------------------- selection (not undoable)
    def select(self, indices) -> None:
        n = len(self.annotation.shapes) if self.annotation is not None else 0
        sel = sorted({int(i) for i in indices if 0 <= int(i) < n})
        if sel != self._selection:
            self._selection = sel
            self.selectionChanged.emit(list(sel))

    # ----------------------------------------------------------------- edits (all undoable)
    def push(self, command: QUndoCommand) -> None:
        self.undo_stack.push(command)

    def set_shapes(self, shapes: list[Shape], text: str, selection: list[int] | None = None) -> None:
        """Replace the whole shape list as one undoable edit (no-op when nothing changed)."""
        self._require()
        before = list(self.annotation.shapes)
        after = list(shapes)
        if len(before) == len(after) and all(a is b for a, b in zip(before, after)):
            return
        sel = self._selection if selection is None else selection
        self.push(ShapesCommand(self, text, before, after, list(self._selection), list(sel)))

    def add_shapes(self, shapes: list[Shape]) -> None:
        shapes = list(shapes)
        if not shapes:
            return
        self._require()
        n = len(self.annotation.shapes)
        text = f"Add {shapes[0].shape_type}" if len(shapes) == 1 else f"Add {len(shapes)} shapes"
        self.set_shapes(self.annotation.shapes + shapes, text, list(range(n, n + len(shapes))))

    def remove_shapes(self, indices) -> None:
        self._require()
        drop = {int(i) for i in indices}
        if not drop:
            return
        after = [s for i, s in enumerate(self.annotation.shapes) if i not in drop]
        self.set_shapes(after, f"Delete {len(drop)} shape(s)", [])

    def replace_shapes(self, indices, shapes: list[Shape], text: str = "Edit shape") -> None:
        self._require()
        indices = [int(i) for i in indices]
        if len(indices) != len(shapes):
            raise ValueError("replace_shapes needs one shape per index")
        after = list(self.annotation.shapes)
        for i, s in zip(indices, shapes):
            after[i] = s
        self.set_shapes(after, text)

    def set_label(self, indices, label: str) -> None:
        self._require()
        indices = [int(i) for i in indices if self.annotation.shapes[int(i)].label != label]
        if not indices:
            return
        new = []
        for i in indices:
            s = self.annotation.shapes[i].copy()
            s.label = label
            new.append(s)
        self.replace_shapes(indices, new, f"Set label {label!r}")

    def set_flags(self, flags: dict) -> None:
        self._require()
        if dict(flags) != dict(self.annotation.flags):
            self.push(FlagsCommand(self, self.annotation.flags, flags))

    def move_shapes(self, indices, dx: float, dy: float) -> None:
        """Translate shapes by (dx, dy), clamped so they stay inside the image (mask shapes move whole pixels)."""
        self._require()
        indices = sorted({int(i) for i in indices})
        if not indices:
            return
        shapes = [self.annotation.shapes[i] for i in indices]
        w, h = self.image_size
        dx, dy = ops.clamp_translation(shapes, dx, dy, w, h)
        if dx == 0 and dy == 0:
            return
        self.replace_shapes(indices, [ops.translate_shape(s, dx, dy) for s in shapes],
                            f"Move {len(indices)} shape(s)")

    def reorder(self, indices, delta: int) -> None:
        """Move shapes ``delta`` places up (positive: painted later, on top) or down the paint order."""
        self._require()
        after, new_sel = ops.reorder(self.annotation.shapes, indices, delta)
        self.set_shapes(after, "Raise shapes" if delta > 0 else "Lower shapes", new_sel)

    # ----------------------------------------------------------------- called by commands
    def _apply_shapes(self, shapes: list[Shape], selection: list[int]) -> None:
        self.annotation.shapes = list(shapes)
        n = len(shapes)
        self._selection = sorted(i for i in selection if 0 <= i < n)
        self.changed.emit()
        self.selectionChanged.emit(list(self._selection))

    def _apply_flags(self, flags: dict) -> None:
        self.annotation.flags = dict(flags)
        self.changed.emit()

    def _require(self) -> None:
        if self.annotation is None:
            raise RuntimeError("no annotation is open")
