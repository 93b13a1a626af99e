"""Typed access to the app's QSettings (recent projects, toggles, window layout).

Tests isolate QSettings (tests/gui/conftest.py), so nothing here touches the user's real settings in CI.
"""
from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 10
#: autosave delay limit: an edit reaches the disk within this (plus the write), so kill -9 loses < 2 s
MAX_AUTOSAVE_DELAY_MS = 1500
ORGANIZATION = "segstudio"
APPLICATION = "segstudio"


def is_sample_project(folder) -> bool:
    """A project written by ``segstudio sample`` / Open sample project (its segstudio.json says "sample")."""
    try:
        data = json.loads((Path(folder) / "segstudio.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("name") == "sample"


def _bool(value, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes", "on")


class Settings:
    """A thin wrapper: one property per setting, stored under stable keys."""

    def __init__(self):
        self._s = QSettings()

    # recent projects ------------------------------------------------------------
    def recent_projects(self) -> list[str]:
        value = self._s.value("recent/projects", [])
        if isinstance(value, str):
            value = [value] if value else []
        return [str(v) for v in (value or [])]

    def add_recent_project(self, path) -> list[str]:
        path = str(Path(path))
        items = [p for p in self.recent_projects() if p != path]
        items.insert(0, path)
        items = items[:MAX_RECENT]
        self._s.setValue("recent/projects", items)
        self._s.setValue("recent/last", path)
        return items

    def keep_one_sample(self, path) -> None:
        """``path`` is a sample project: every other sample project (``make run``'s, an older app folder's)
        leaves the recent list, so it never shows two "sample_project" entries."""
        for other in self.recent_projects():
            if other != str(Path(path)) and is_sample_project(other):
                self.remove_recent_project(other)

    def remove_recent_project(self, path) -> None:
        items = [p for p in self.recent_projects() if p != str(path)]
        self._s.setValue("recent/projects", items)
        if self.last_project() == str(path):
            self._s.remove("recent/last")

    def last_project(self) -> str | None:
        value = self._s.value("recent/last")
        return str(value) if value else None

    # toggles --------------------------------------------------------------------
    @property
    def embed_image_data(self) -> bool:
        return _bool(self._s.value("annotate/embed_image_data"), False)

    @embed_image_data.setter
    def embed_image_data(self, value: bool) -> None:
        self._s.setValue("annotate/embed_image_data", bool(value))

    @property
    def ask_label(self) -> bool:
        return _bool(self._s.value("annotate/ask_label"), True)

    @ask_label.setter
    def ask_label(self, value: bool) -> None:
        self._s.setValue("annotate/ask_label", bool(value))

    @property
    def autosave_delay_ms(self) -> int:
        """``annotate/autosave_delay_ms`` (default 700), clamped to 100..MAX_AUTOSAVE_DELAY_MS."""
        try:
            return max(100, min(MAX_AUTOSAVE_DELAY_MS, int(self._s.value("annotate/autosave_delay_ms", 700))))
        except (TypeError, ValueError):
            return 700

    @property
    def brush_size(self) -> int:
        """``annotate/brush_size``: the brush and eraser size in image pixels (1..512, default 20)."""
        try:
            return max(1, min(512, int(self._s.value("annotate/brush_size", 20))))
        except (TypeError, ValueError):
            return 20

    @brush_size.setter
    def brush_size(self, value: int) -> None:
        self._s.setValue("annotate/brush_size", int(value))

    # window layout --------------------------------------------------------------
    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self._s.setValue("window/geometry", geometry)
        self._s.setValue("window/state", state)

    def window_geometry(self) -> QByteArray | None:
        value = self._s.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def window_state(self) -> QByteArray | None:
        value = self._s.value("window/state")
        return value if isinstance(value, QByteArray) else None

    def sync(self) -> None:
        self._s.sync()
