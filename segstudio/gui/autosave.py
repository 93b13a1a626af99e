"""Autosave: every edit of the open document reaches its labelme JSON within ``delay_ms``.

The first change after a save starts a single-shot timer; changes while it runs do *not* restart it, so a
user editing continuously is still saved every ``delay_ms`` (a restarting debounce would never fire).
The window calls :meth:`Autosaver.flush` before switching images and on close.

Writes are atomic (``save_annotation`` writes a temporary file and renames it), so a crash or a kill -9 at any
moment leaves either the previous or the new JSON, never a broken one.  A failed write keeps the edit in
memory (the document is untouched), reports the error through ``saveFailed`` and retries.

``imageData`` is written only when ``embed_image_data`` is on -- or when the annotation carries its image
only as imageData (no image file to point at), so that the image is never lost.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from segstudio.core.errors import SegStudioError

RETRY_MS = 3000


class Autosaver(QObject):
    saved = Signal(object)  # Path of the JSON written
    saveFailed = Signal(str)  # "path: reason"

    def __init__(self, document, delay_ms: int = 700, embed_image_data: bool = False, parent=None):
        super().__init__(parent)
        self.document = document
        self.embed_image_data = bool(embed_image_data)
        self.enabled = True
        self.last_error: str | None = None
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(int(delay_ms))
        self._timer.timeout.connect(self.flush)
        document.changed.connect(self._on_changed)
        document.loaded.connect(self._on_loaded)

    @property
    def delay_ms(self) -> int:
        return self._timer.interval()

    @property
    def dirty(self) -> bool:
        """True while an edit has not reached the disk."""
        return self._dirty

    def _on_changed(self) -> None:
        self._dirty = True
        if self.enabled and not self._timer.isActive():
            self._timer.start()

    def _on_loaded(self) -> None:
        # a new image was opened: its JSON is what is on disk (the window flushed the previous one first)
        self._timer.stop()
        self._dirty = False
        self.last_error = None

    def _with_image_data(self) -> bool:
        ann = self.document.annotation
        if self.embed_image_data:
            return True
        if ann is not None and ann.image_data is not None:
            image_path = getattr(self.document, "image_path", None)
            if image_path is None or not Path(image_path).is_file():
                return True  # the JSON is the only copy of the image
        return False

    def flush(self) -> bool:
        """Write now if anything is unsaved. Returns False when the write failed (the edit stays in memory)."""
        self._timer.stop()
        if not self._dirty:
            return True
        if self.document.annotation is None or self.document.json_path is None:
            self._dirty = False
            return True
        try:
            path = self.document.save(with_image_data=self._with_image_data())
        except (SegStudioError, OSError) as exc:
            reason = str(exc) if isinstance(exc, SegStudioError) else f"{self.document.json_path}: {exc}"
            self.last_error = reason
            self.saveFailed.emit(reason)
            if self.enabled:
                self._timer.start(RETRY_MS)
            return False
        self._dirty = False
        self.last_error = None
        self.saved.emit(Path(path))
        return True
