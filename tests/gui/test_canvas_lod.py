"""Level of detail with many shapes, and the PySide6 None-refcount guard."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt

from segstudio.core.annotation import Annotation, Shape
from segstudio.gui.canvas.overview import MIN_SHAPES
from test_canvas_support import click, drag, key  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


def grid_doc(n):
    shapes = []
    for k in range(n):
        x, y = 4 + (k % 20) * 48, 4 + (k // 20) * 48
        shapes.append(Shape(label="lesion", points=[[x, y], [x + 40, y], [x + 40, y + 40], [x, y + 40]]))
    return Annotation(shapes=shapes, image_path="x.png", image_height=1024, image_width=1024)


def test_overview_replaces_items_when_zoomed_out_and_stays_interactive(qtbot):
    import numpy as np

    from segstudio.gui.canvas.view import CanvasView
    from segstudio.gui.document import DocumentModel

    doc = DocumentModel()
    view = CanvasView(doc)
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.show()
    qtbot.waitExposed(view)
    doc.open_annotation(grid_doc(MIN_SHAPES + 20), np.zeros((1024, 1024, 3), np.uint8))
    view.current_label = "lesion"
    view.zoom_1to1()
    view.centerOn(150, 150)
    assert view.overview_active                      # zoom 1 <= overview scale 1 for a 1024 px image
    pix = view._overview.picture()
    assert pix.pixelColor(24, 24).alpha() > 0 and pix.pixelColor(2, 2).alpha() == 0
    assert all(view.item_at_index(i).opacity() == 0 for i in range(len(doc.shapes())))
    click(view, 24, 24)                                # hit testing still works
    assert doc.selected() == [0] and view.item_at_index(0).opacity() == 1
    drag(view, (24, 24), (24, 36))
    assert abs(doc.shapes()[0].points[0][1] - 16) < 1.5
    assert not view._overview.dirty                  # re-rendered after the edit
    key(view, Qt.Key_Delete)
    assert len(doc.shapes()) == MIN_SHAPES + 19
    view.zoom_by(4.0)
    assert not view.overview_active
    assert all(view.item_at_index(i).opacity() == 1 for i in range(len(doc.shapes())))
    doc.remove_shapes(range(100))
    view.zoom_by(0.25)
    assert not view.overview_active                   # few shapes: always items


def test_none_refcount_guard_keeps_long_sessions_alive():
    code = (
        "import os, sys\n"
        "os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import segstudio.gui.canvas.view\n"
        "from PySide6.QtCore import QObject, QPointF, Signal\n"
        "class O(QObject):\n"
        "    sig = Signal(list)\n"
        "o = O()\n"
        "o.sig.connect(lambda x: None)\n"
        "p = QPointF()\n"
        "for _ in range(300000):\n"
        "    p.setX(1.0)\n"
        "    o.sig.emit([1])\n"
        "print('alive')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "alive" in r.stdout, r.stderr[-1000:]


def test_overview_partial_repaint_matches_full_render(qtbot):
    """After edits, the incrementally repainted overview equals a full render of the same shapes."""
    import numpy as np

    from segstudio.gui.canvas.view import CanvasView
    from segstudio.gui.document import DocumentModel

    doc = DocumentModel()
    view = CanvasView(doc)
    qtbot.addWidget(view)
    view.resize(300, 300)
    doc.open_annotation(grid_doc(MIN_SHAPES + 20), np.zeros((1024, 1024, 3), np.uint8))
    view.fit()
    assert view.overview_active
    doc.move_shapes([3], 30, 20)                     # overlaps its neighbour now
    doc.remove_shapes([50])
    doc.reorder([3], -1)
    s = doc.shapes()[7].copy()
    s.label = "cyst"
    doc.replace_shapes([7], [s])
    assert not view._overview.dirty and not view._overview.dirty_rects
    partial = view._overview.picture()
    view._overview.render(view._by_index, 1024, 1024)
    full = view._overview.picture()
    assert partial.size() == full.size()
    assert partial == full
    doc.undo_stack.undo()
    assert view._overview.picture() != full
