"""Level of detail with many shapes, and the PySide6 None-refcount guard."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

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
    from segstudio.gui.document_model import DocumentModel

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
    assert view.overview_active                      # zoom 1 <= overview base scale 1 for a 1024 px image
    ov = view._overview
    pix = ov.picture(ov.level)
    assert pix.pixelColor(24, 24).alpha() > 0 and pix.pixelColor(2, 2).alpha() == 0
    assert all(view.item_at_index(i).opacity() == 0 for i in range(len(doc.shapes())))
    click(view, 24, 24)                                # hit testing still works
    assert doc.selected() == [0] and view.item_at_index(0).opacity() == 1
    drag(view, (24, 24), (24, 36))
    assert abs(doc.shapes()[0].points[0][1] - 16) < 1.5
    pix = ov.picture(ov.level)                         # the tiles under the moved shape were rendered again
    assert pix.pixelColor(24, 10).alpha() == 0 and pix.pixelColor(24, 50).alpha() > 0
    key(view, Qt.Key_Delete)
    assert len(doc.shapes()) == MIN_SHAPES + 19
    view.zoom_by(4.0)
    assert not view.overview_active
    assert all(view.item_at_index(i).opacity() == 1 for i in range(len(doc.shapes())))
    doc.remove_shapes(range(100))
    view.zoom_by(0.25)
    assert not view.overview_active                   # few shapes: always items


def round_doc(n_side=20, vertices=50, size=1024):
    """n_side x n_side polygons of ``vertices`` vertices (heavy to paint) on a size x size image."""
    import numpy as np

    t = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    step = size / n_side
    shapes = []
    for k in range(n_side * n_side):
        cx, cy = step * (k % n_side + 0.5), step * (k // n_side + 0.5)
        r = step * 0.45
        pts = np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1).round(2).tolist()
        shapes.append(Shape(label=("lesion", "cyst")[k % 2], points=pts))
    return Annotation(shapes=shapes, image_path="x.png", image_height=size, image_width=size)


def lod_canvas(qtbot, monkeypatch, width, height, doc_ann=None):
    """A shown canvas on round_doc() with the overview's base level at half the 1024 px image (as for a
    4096 px image with the default BASE_SIDE)."""
    import numpy as np

    from segstudio.gui.canvas import overview as lod
    from segstudio.gui.canvas.view import CanvasView
    from segstudio.gui.document_model import DocumentModel

    monkeypatch.setattr(lod, "BASE_SIDE", 512)
    doc = DocumentModel()
    view = CanvasView(doc)
    qtbot.addWidget(view)
    view.resize(width, height)
    view.show()
    qtbot.waitExposed(view)
    doc.open_annotation(doc_ann or round_doc(), np.zeros((1024, 1024, 3), np.uint8))
    assert view._overview.base == 0.5
    return doc, view


def test_lod_follows_the_work_in_view_not_the_zoom_alone(qtbot, monkeypatch):
    """Just above the base zoom a large window shows the overview tiles (painting 400 x 50-vertex polygons
    one by one is too slow), a small one the items; deep zoom in the large window shows the items."""
    doc, big = lod_canvas(qtbot, monkeypatch, 1100, 1100)
    big.zoom_by(0.52 / big.zoom())
    items, tiles = big.paint_costs()
    assert items > tiles and big.overview_active
    ov = big._overview
    assert ov.scale(ov.level) >= big.zoom() > ov.scale(ov.level) / 2 ** 0.5   # never magnified, shrunk < sqrt 2
    assert all(big.item_at_index(i).opacity() == 0 for i in range(len(doc.shapes())))
    big.zoom_by(8.0)                                   # ~4 polygons in view: crisp items again
    assert not big.overview_active
    assert all(big.item_at_index(i).opacity() == 1 for i in range(len(doc.shapes())))
    big.zoom_by(1 / 8.0)
    assert big.overview_active

    doc2, small = lod_canvas(qtbot, monkeypatch, 200, 200)
    small.zoom_by(0.52 / small.zoom())
    small.centerOn(512, 512)
    assert not small.overview_active                  # few polygons in a small view: the items
    small.resize(1100, 1100)                           # the window grows: same zoom, more work in view
    assert small.overview_active
    small.resize(200, 200)
    assert not small.overview_active


def test_lod_switches_while_panning(qtbot, monkeypatch):
    """Scrolling from an empty part of the image onto the shapes turns the overview on."""
    ann = round_doc()
    ann.shapes = [s for s in ann.shapes if min(p[0] for p in s.points) > 300]   # the left part is empty
    doc, view = lod_canvas(qtbot, monkeypatch, 400, 1100, ann)
    view.zoom_by(0.55 / view.zoom())
    view.centerOn(0, 512)
    assert not view.overview_active
    view.centerOn(700, 512)
    assert view.overview_active


def grab_rgb(view):
    import numpy as np

    img = view.viewport().grab().toImage().convertToFormat(QImage.Format_RGB888)
    h, w = img.height(), img.width()
    return np.frombuffer(img.constBits(), np.uint8).reshape(h, img.bytesPerLine())[:, : 3 * w].reshape(h, w, 3).copy()


def test_overview_looks_like_the_items(qtbot, monkeypatch):
    """What the window shows with the overview tiles matches painting the items: identical but for a few edge
    pixels when the tile scale equals the zoom, close when the tiles are scaled."""
    import numpy as np

    from segstudio.gui.canvas import overview as lod

    doc, view = lod_canvas(qtbot, monkeypatch, 1100, 1100)
    for zoom, max_diff_share, max_mean in ((0.5 * 2 ** 0.5, 0.01, 0.5), (0.6, 0.5, 4.0)):
        view.zoom_by(zoom / view.zoom())
        view.centerOn(512, 512)
        assert view.overview_active
        qtbot.waitUntil(lambda: view._overview.cached(view._overview.level) >= 4 and not view._overview.pending)
        with_tiles = grab_rgb(view)
        monkeypatch.setattr(lod, "MIN_SHAPES", 10**9)
        view._update_lod()
        assert not view.overview_active
        with_items = grab_rgb(view)
        monkeypatch.setattr(lod, "MIN_SHAPES", 200)
        view._update_lod()
        diff = np.abs(with_tiles.astype(int) - with_items.astype(int)).max(axis=2)
        assert with_items.any() and (diff > 0).mean() <= max_diff_share, (zoom, (diff > 0).mean())
        assert diff.mean() <= max_mean, (zoom, diff.mean())


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


def test_overview_partial_repaint_matches_full_render(qtbot, monkeypatch):
    """After edits, the tiles left in the cache plus those rendered again equal a full render, at two levels;
    a selected shape is drawn unselected into the tiles."""
    doc, view = lod_canvas(qtbot, monkeypatch, 300, 300, grid_doc(MIN_SHAPES + 20))
    ov = view._overview
    fine, finer = ov.level_for(1.0), ov.level_for(2.0)
    assert ov.scale(fine) == 1.0 and ov.scale(finer) == 2.0 and ov.cached(0) == 0
    levels = (fine, finer)
    for level in levels:
        ov.picture(level)                              # every tile of both levels cached
    cached = {level: ov.cached(level) for level in levels}
    doc.select([3])
    doc.move_shapes([3], 30, 20)                     # overlaps its neighbour now
    doc.remove_shapes([50])
    doc.reorder([3], -1)
    s = doc.shapes()[7].copy()
    s.label = "cyst"
    doc.replace_shapes([7], [s])
    for level in levels:
        assert 0 < ov.cached(level) < cached[level]   # only the tiles under the edits were dropped
    partial = {level: ov.picture(level) for level in levels}
    doc.select([])
    ov.clear()
    for level in levels:
        full = ov.picture(level)
        assert partial[level].size() == full.size()
        assert partial[level] == full, level
    doc.undo_stack.undo()
    assert ov.picture(fine) != full
