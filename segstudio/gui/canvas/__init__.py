"""The annotation canvas: :class:`~segstudio.gui.canvas.view.CanvasView` and its tools (see docs/canvas.md)."""
from __future__ import annotations


def __getattr__(name):  # lazy: importing a canvas module does not load the view first
    if name == "CanvasView":
        from segstudio.gui.canvas.view import CanvasView

        return CanvasView
    raise AttributeError(name)
