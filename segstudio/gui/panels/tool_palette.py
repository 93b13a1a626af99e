"""The annotation tools as the window offers them: menu text, key, and the one-line hint shown above the canvas.

The keys of the canvas itself (handled in gui/canvas, not QActions) are listed here for the help dialog.
"""
from __future__ import annotations

TOOLS = (  # (tool, menu text, key)
    ("edit", "&Edit / select shapes", "E"),
    ("polygon", "&Polygon", "P"),
    ("rectangle", "&Rectangle", "R"),
    ("circle", "&Circle", "C"),
    ("point", "P&oint", "O"),
    ("line", "&Line", "L"),
    ("linestrip", "Line &strip", "S"),
    ("brush", "&Brush (mask)", "B"),
    ("eraser", "Eraser (mas&k)", "X"),
)
TOOL_HINTS = {
    "edit": "Click a shape to select it, drag to move it, drag a vertex to reshape it; Delete removes it.",
    "polygon": "Click around the region to place points; click the first point (or Enter) to close it.",
    "rectangle": "Drag (or click two corners) to draw a rectangle.",
    "circle": "Click the centre, then a point on the edge.",
    "point": "Click to place a point.",
    "line": "Click the two ends of the line.",
    "linestrip": "Click points along the line; Enter finishes it.",
    "brush": "Paint the region (a mask shape); [ and ] (or the Size box) change the brush size.",
    "eraser": "Erase parts of mask shapes; [ and ] (or the Size box) change the size.",
}
CANVAS_KEYS = (  # handled by the canvas itself (see gui/canvas): listed in the help dialog
    ("Canvas", "Pan", "Space + drag, or middle-button drag"),
    ("Canvas", "Zoom at the mouse", "Mouse wheel"),
    ("Canvas", "Finish polygon / line strip", "Enter, double-click, or click the first point"),
    ("Canvas", "Remove last point while drawing", "Backspace"),
    ("Canvas", "Cancel drawing / clear selection", "Esc"),
    ("Canvas", "Brush size smaller / larger", "[ / ]"),
    ("Canvas", "Copy / paste / duplicate shapes", "Ctrl+C / Ctrl+V / Ctrl+D"),
    ("Canvas", "Select all shapes", "Ctrl+A"),
    ("Canvas", "Raise / lower selected shapes", "PgUp / PgDown"),
    ("Canvas", "Change label of selected shapes", "Ctrl+E"),
)
