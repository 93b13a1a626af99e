"""Accept prediction: the predicted mask of the open image becomes polygons of its classes, one undo step.

When the image already has shapes of a predicted class, accepting would silently change that class's ground
truth (the label becomes the union), so the user is asked: **Replace** (the class's shapes give way to the
prediction's), **Add** (beside them) or **Cancel**; "Remember for this session" keeps the answer until the
app quits.  The polygons are simplified with the Review panel's tolerance while every class keeps IoU >= 0.98
with the predicted mask (``core.review.accept``).
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QCheckBox, QMessageBox

from segstudio.core.errors import SegStudioError
from segstudio.core.review import read_prediction
from segstudio.core.review.accept import conflicting_labels, merge_shapes, prediction_shapes


class AcceptAsk:
    """The Replace / Add / Cancel question, with the answer remembered for the session when asked to."""

    def __init__(self, parent):
        self.parent = parent
        self.remembered: Optional[str] = None     # "replace" | "add" once "Remember" was ticked
        self.box: Optional[QMessageBox] = None    # the open question (tests click its buttons)

    def __call__(self, labels: list[str]) -> Optional[str]:
        if self.remembered is not None:
            return self.remembered
        names = ", ".join(f"“{n}”" for n in labels)
        box = QMessageBox(QMessageBox.Question, "Accept prediction",
                          f"This image already has shapes of {names}. Replace them with the prediction, or "
                          "add the prediction beside them (the class then covers both)?", QMessageBox.NoButton,
                          self.parent)
        replace = box.addButton("Replace", QMessageBox.AcceptRole)
        add = box.addButton("Add", QMessageBox.YesRole)
        cancel = box.addButton(QMessageBox.Cancel)
        box.setDefaultButton(cancel)
        remember = QCheckBox("Remember for this session")
        box.setCheckBox(remember)
        self.box = box
        try:
            box.exec()
            clicked = box.clickedButton()
        finally:
            self.box = None
        mode = {id(replace): "replace", id(add): "add"}.get(id(clicked))
        if mode is not None and remember.isChecked():
            self.remembered = mode
        return mode


def accept_into(dock, tolerance: float) -> int:
    """Accept the prediction of ``dock``'s open image into its document (one undo step); the number of shapes
    added, 0 when nothing changed (no prediction, all background, refused or cancelled)."""
    try:
        label = read_prediction(dock.project, dock.entry)
        if label is None:
            return 0
        shapes = prediction_shapes(label, dock.project.label_set, tolerance=tolerance)
    except SegStudioError as exc:
        dock.show_error("Cannot accept the prediction", str(exc))
        return 0
    if not shapes:
        dock.show_error("Nothing to accept", "the prediction of this image is all background")
        return 0
    doc = dock.document
    existing = doc.shapes()
    clash = conflicting_labels(existing, shapes)
    mode = dock.ask_accept(clash) if clash else "add"
    if mode is None:
        return 0
    merged = merge_shapes(existing, shapes, mode)
    first = len(merged) - len(shapes)
    doc.set_shapes(merged, "Accept prediction" + (" (replace)" if mode == "replace" and clash else ""),
                   list(range(first, len(merged))))
    return len(shapes)
