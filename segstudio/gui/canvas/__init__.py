"""The annotation canvas: :class:`~segstudio.gui.canvas.view.CanvasView` and its tools (see docs/canvas.md)."""
from __future__ import annotations


def __getattr__(name):  # lazy, so that Qt-free ``canvas.ops`` imports without loading the view
    if name == "CanvasView":
        from segstudio.gui.canvas.view import CanvasView

        return CanvasView
    raise AttributeError(name)
