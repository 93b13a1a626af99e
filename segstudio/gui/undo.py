"""QUndoCommands of the annotation document.

Every edit of the open annotation is one :class:`ShapesCommand`: it holds the shape list before and after
the edit and swaps them on undo/redo.  Shapes are treated as immutable values — an edit builds new
:class:`Shape` objects (``Shape.copy()``) for what it changes and keeps the untouched ones — so the
snapshots are cheap lists of references and the canvas can tell what changed by object identity.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

if TYPE_CHECKING:  # pragma: no cover
    from segstudio.core.annotation.document import Shape
    from segstudio.gui.document_model import DocumentModel


class ShapesCommand(QUndoCommand):
    """Replace the document's whole shape list (``before`` -> ``after``) and the selection with it."""

    def __init__(
        self,
        document: "DocumentModel",
        text: str,
        before: "list[Shape]",
        after: "list[Shape]",
        selection_before: list[int] | None = None,
        selection_after: list[int] | None = None,
    ):
        super().__init__(text)
        self._document = document
        self._before = list(before)
        self._after = list(after)
        self._sel_before = list(selection_before or [])
        self._sel_after = list(selection_after or [])

    def redo(self) -> None:
        self._document._apply_shapes(self._after, self._sel_after)

    def undo(self) -> None:
        self._document._apply_shapes(self._before, self._sel_before)


class FlagsCommand(QUndoCommand):
    """Set the image-level flags of the annotation."""

    def __init__(self, document: "DocumentModel", before: dict, after: dict):
        super().__init__("Change image flags")
        self._document = document
        self._before = dict(before)
        self._after = dict(after)

    def redo(self) -> None:
        self._document._apply_flags(self._after)

    def undo(self) -> None:
        self._document._apply_flags(self._before)
