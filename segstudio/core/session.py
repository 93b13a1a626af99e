"""What the window shows, as one Qt-free model the docks share (in the spirit of napari's ``ViewerModel``).

A :class:`Session` holds the open :class:`~segstudio.core.project.Project`, the current image (its
``ImageEntry`` and the editable ``document`` of the GUI), the project's label set **with its class colours**
and the checkpoint chosen for prediction.  Every change goes through a ``set_*`` method, which emits one of
the session's events; the window and each dock subscribe instead of keeping their own copies::

    session.events.project.connect(lambda project: ...)     # a project was opened (or None)
    session.events.image.connect(lambda entry: ...)         # the current image changed (ImageEntry or None)
    session.events.classes.connect(lambda colors: ...)      # classes added, renamed, recoloured or joined
    session.events.checkpoint.connect(lambda path: ...)     # the model chosen for prediction (Path or None)

Class colours have one owner, here: a colour the user picked is stored in segstudio.json ``"colors"``
(``{"name": "#rrggbb"}``); any other class gets the VOC palette colour of its id.  The canvas, the class panel
and the review overlays all read :meth:`Session.class_colors` / :meth:`Session.palette`.

Window extensions (the training and review docks, and plugins) are registered in :data:`WINDOW_EXTENSIONS`:
an entry is a callable ``install(session, services)`` (``services``: the window's small GUI API, see
``segstudio.gui.extensions.WindowServices``).  A plugin registers one from its ``segstudio.plugins`` entry
point, the same way it adds a loss or a model; the callable imports its Qt code only when called.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from segstudio.core.registry import Registry

#: window extensions: name -> install(session, services); installed in registration order
WINDOW_EXTENSIONS: Registry[Callable[[Any, Any], Any]] = Registry("window extension")


class EventEmitter:
    """A list of callbacks called with one value, in the order they were connected."""

    def __init__(self, name: str):
        self.name = name
        self._callbacks: list[Callable[[Any], Any]] = []

    def connect(self, callback: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """Call ``callback(value)`` on every :meth:`emit` (once, however often it is connected)."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Optional[Callable[[Any], Any]] = None) -> None:
        """Forget ``callback`` (all callbacks when None); an unknown callback is ignored."""
        if callback is None:
            self._callbacks.clear()
        elif callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, value: Any = None) -> None:
        for callback in list(self._callbacks):
            callback(value)

    def __len__(self) -> int:
        return len(self._callbacks)


class SessionEvents:
    """The session's emitters (``project``, ``image``, ``classes``, ``checkpoint``)."""

    def __init__(self):
        self.project = EventEmitter("project")
        self.image = EventEmitter("image")
        self.classes = EventEmitter("classes")
        self.checkpoint = EventEmitter("checkpoint")


def parse_color(text) -> Optional[tuple[int, int, int]]:
    """``"#rrggbb"`` or ``"#rgb"`` -> (r, g, b); anything else -> None."""
    s = str(text or "").strip().lstrip("#")
    if len(s) == 3:
        s = "".join(c * 2 for c in s)
    if len(s) != 6:
        return None
    try:
        value = int(s, 16)
    except ValueError:
        return None
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


class Session:
    """The open project, the current image, the classes with their colours and the chosen checkpoint."""

    def __init__(self, project=None, document=None):
        self.events = SessionEvents()
        self.project = project
        self.entry = None            # the current ImageEntry (None: no image shown)
        self.document = document     # the editable annotation of the current image (the GUI's DocumentModel)
        self.checkpoint: Optional[Path] = None
        #: saves the current image's unsaved edits, returns False when that failed (the window's autosaver)
        self.save_edits: Optional[Callable[[], bool]] = None

    # ------------------------------------------------------------------ project, image, checkpoint
    def set_project(self, project) -> None:
        """Make ``project`` current (the image is reset).  Reopening the folder shown now without a labels file
        keeps this session's class ids (labels met since are appended, never re-sorted)."""
        self._keep_label_ids(project)
        self.project = project
        self.entry = None
        self.events.project.emit(project)
        self.events.classes.emit(self.class_colors())

    def set_image(self, entry) -> None:
        """The image shown now (an ImageEntry of the project, or None)."""
        self.entry = entry
        self.events.image.emit(entry)

    def set_checkpoint(self, path) -> None:
        """The checkpoint predictions are made with (None: none chosen)."""
        path = Path(path) if path else None
        if path == self.checkpoint:
            return
        self.checkpoint = path
        self.events.checkpoint.emit(path)

    def flush(self) -> bool:
        """Save the current image's unsaved edits (through :attr:`save_edits` when set); False if that failed."""
        if self.save_edits is not None:
            return self.save_edits() is not False
        doc = self.document
        if doc is not None and getattr(doc, "is_modified", False) and getattr(doc, "json_path", None):
            doc.save()
        return True

    def _keep_label_ids(self, project) -> None:
        from segstudio.core.annotation.labels import LabelSet

        old = self.project
        if old is None or project is None or old.folder != project.folder or project.labels_path.exists():
            return
        names = list(old.label_set.names)
        names += [n for n in project.label_set.names if n not in names]
        project.label_set = LabelSet(names, has_ignore=project.label_set.has_ignore)

    # ------------------------------------------------------------------ classes and their colours
    @property
    def class_names(self) -> list[str]:
        return list(self.project.label_set.names) if self.project is not None else []

    def palette(self) -> np.ndarray:
        """(num_classes, 3) uint8 colour by class id: the user's colour where one was picked, else VOC's."""
        if self.project is None:
            return np.zeros((0, 3), np.uint8)
        out = self.project.label_set.colors()
        custom = self.project.settings.get("colors") or {}
        for cid, name in enumerate(self.project.label_set.names):
            rgb = parse_color(custom.get(name)) if name in custom else None
            if rgb is not None:
                out[cid] = rgb
        return out

    def class_colors(self) -> dict[str, tuple[int, int, int]]:
        """Class name -> (r, g, b), in class-id order."""
        return {name: tuple(int(v) for v in rgb) for name, rgb in zip(self.class_names, self.palette())}

    def set_class_color(self, name: str, rgb) -> None:
        """Give class ``name`` the colour ``rgb`` ((r, g, b) or "#rrggbb"), saved in segstudio.json (atomic).

        The colour is used at once even when writing segstudio.json fails; the OSError/SegStudioError of
        that write is raised after the ``classes`` event."""
        if self.project is None:
            return
        rgb = parse_color(rgb) if isinstance(rgb, str) else tuple(int(v) for v in rgb)
        if rgb is None:
            raise ValueError("a colour is (r, g, b) or '#rrggbb'")
        self.project.settings.setdefault("colors", {})[name] = "#{:02x}{:02x}{:02x}".format(*rgb)
        try:
            self.project.save_settings()
        finally:
            self.events.classes.emit(self.class_colors())

    def add_class(self, name: str) -> int:
        """Append a class to the project's labels file (the id of an existing one is returned as is)."""
        cid = self.project.add_label(name)
        self.events.classes.emit(self.class_colors())
        return cid

    def rename_class(self, old: str, new: str) -> str:
        """Rename a class in the labels file; its custom colour follows it.  Returns the new (stripped) name.

        The shapes are not touched: the GUI renames the open image's shapes through its undo stack and
        ``project.rename_label_in_files`` rewrites the other JSON files."""
        self.project.rename_label(old, new)
        new = new.strip()
        custom = self.project.settings.get("colors") or {}
        if old in custom and old != new:
            custom[new] = custom.pop(old)
            self.project.save_settings()
        self.events.classes.emit(self.class_colors())
        return new

    def join_labels(self, labels) -> list[str]:
        """Labels not in the class list join it at the end (in memory: the labels file is written only when
        the user adds or renames a class).  Returns the labels added."""
        if self.project is None:
            return []
        missing = list(dict.fromkeys(label for label in labels if label not in self.project.label_set))
        for label in missing:
            self.project.label_set.add(label)
        if missing:
            self.events.classes.emit(self.class_colors())
        return missing
