"""The main window's class list and label commands (a mixin of :class:`segstudio.gui.main_window.MainWindow`).

The class list and the class colours are the session's (``segstudio.core.session.Session``: the project's
``label_set`` and segstudio.json "colors"); this part keeps the panel, the canvas colours and the current
drawing class in step with the session's ``classes`` event and asks the user for labels:

* a *new* shape's label (``_ask_label``, the canvas's ``label_requested`` while File > Ask label is on): the
  dialog starts on the current drawing class, and the class chosen becomes the drawing class (as labelme);
* a new label for *existing* shapes (``relabel``: Edit > Change label (Ctrl+E), the canvas's right-click
  menu and Ctrl+E through ``relabel_requested``, a double-click in the shape list): the dialog starts on the
  shape's own label and the drawing class is left alone -- whether Ask label is on or off.

After every dialog the window is activated and the canvas gets the focus back, so that single-key
shortcuts (1-9, tool letters) keep working.

Class ids without a labels file: the project's classes are the labels of its JSON files, sorted, when it is
opened.  Labels met later (an image whose JSON changed since) are appended, so existing ids never move; and
when the same folder is opened again in this window, the ids it had are kept and only new labels are
appended (``Session.set_project``).  A later session sorts again: add or rename a class (which writes
labels.txt) to fix the ids for good.
"""
from __future__ import annotations

from PySide6.QtGui import QColor

from segstudio.core.errors import SegStudioError
from segstudio.gui.dialogs.label_dialog import LabelDialog, canvas_rect


class ClassesMixin:
    # ------------------------------------------------------------------ class list
    def label_colors(self) -> dict[str, QColor]:
        """Colour of every class, as the session owns it (a custom one from segstudio.json, else VOC's)."""
        return {name: QColor(*rgb) for name, rgb in self.session.class_colors().items()}

    def _on_classes(self, _colors=None) -> None:
        """The session's classes changed (opened, added, renamed, recoloured, joined): panel and canvas follow."""
        colors = self.label_colors()
        names = self.session.class_names
        hidden = [n for n in names if not self.canvas.is_label_visible(n)]
        if self.canvas.current_label not in names:
            self.canvas.current_label = names[1] if len(names) > 1 else ""
        self.class_panel.set_classes(names, colors, hidden, self.canvas.current_label)
        self.canvas.set_label_colors(colors)
        self._update_hint()

    def _join_document_labels(self) -> None:
        """Labels used by the open image but missing from the class list join it, at the end (in memory;
        the labels file is written only when the user adds or renames a class)."""
        if self.document.annotation is not None:
            self.session.join_labels(s.label for s in self.document.shapes())

    def choose_class(self, name: str) -> None:
        self.canvas.current_label = name
        self.class_panel.set_current_class(name)
        self._update_hint()

    def choose_class_id(self, cid: int) -> None:
        names = self.session.class_names
        if 0 < cid < len(names):
            self.choose_class(names[cid])

    def add_class(self, name: str) -> bool:
        if self.project is None:
            return False
        try:
            self.session.add_class(name)
        except SegStudioError as exc:
            self.show_error("Cannot add class", str(exc))
            return False
        self.show_message(f"Class “{name.strip()}” added to {self.project.labels_path.name}")
        return True

    def rename_class(self, old: str, new: str) -> bool:
        """Rename in labels.txt (atomic), in the open image (undoable) and in the project's other JSON files."""
        if self.project is None:
            return False
        if self.canvas.current_label == old:
            self.canvas.current_label = new.strip()   # before the classes event: the panel keeps it current
        try:
            new = self.session.rename_class(old, new)
        except SegStudioError as exc:
            self.canvas.current_label = old
            self.show_error("Cannot rename class", str(exc))
            return False
        if self.document.annotation is not None:
            idx = [i for i, s in enumerate(self.document.shapes()) if s.label == old]
            if idx:
                self.document.set_label(idx, new)
        exclude = [self.document.json_path] if self.document.json_path else []
        try:
            others = self.project.rename_label_in_files(old, new, exclude=exclude)
        except (SegStudioError, OSError) as exc:
            self.show_error("Rename incomplete", f"{exc}")
            others = []
        self.show_message(f"Renamed “{old}” to “{new}” in {self.project.labels_path.name}, this image and "
                          f"{len(others)} other file(s)")
        return True

    def recolor_class(self, name: str, color: QColor) -> None:
        try:
            self.session.set_class_color(name, (color.red(), color.green(), color.blue()))
        except (SegStudioError, OSError) as exc:
            self.show_message(str(exc), error=True)

    # ------------------------------------------------------------------ asking for labels
    def _after_dialog(self) -> None:
        """Give the keyboard back to the canvas: a closed dialog may leave the window inactive."""
        self.activateWindow()
        self.raise_()
        self.canvas.setFocus()

    def _label_from_dialog(self, default: str, title: str | None = None, points=None) -> str | None:
        """The label typed or picked (a new one is added to the project's classes), None when cancelled.
        ``points``: the shape being labelled (image pixels); the dialog opens beside it, not over it."""
        names = self.project.label_set.names[1:] if self.project else []
        dialog = LabelDialog(names, self) if title is None else LabelDialog(names, self, title=title)
        dialog.avoid(canvas_rect(self.canvas, points))
        try:
            label = dialog.ask(default)
            if label and self.project is not None and label not in self.project.label_set.names:
                if not self.add_class(label):
                    return None
            return label
        finally:
            dialog.deleteLater()
            self._after_dialog()

    def _ask_label(self, default: str) -> str | None:
        """The label of a new shape (the canvas's label_requested); it becomes the drawing class."""
        label = self._label_from_dialog(default, points=self.canvas.labelling_points)
        if label:
            self.choose_class(label)
        return label

    def relabel(self, indices) -> None:
        """Ask for a new label of the shapes ``indices`` (starting on the first one's label) and set it."""
        indices = list(indices)
        if not indices or self.document.annotation is None:
            return
        current = self.document.shapes()[indices[0]].label
        points = [p for i in indices for p in self.document.shapes()[i].points]
        label = self._label_from_dialog(current, title="Change label", points=points)
        if label:
            self.document.set_label(indices, label)

    def relabel_selected(self) -> None:
        self.relabel(self.document.selected())
