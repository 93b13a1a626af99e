"""Each drawing tool used with the mouse; the result is checked on the document and on the saved JSON's mask."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from test_canvas_support import click, dclick, drag, empty_canvas, key, saved_label  # noqa: F401


def test_brush_stroke_then_erase_part_of_it(empty_canvas, tmp_path):
    c, doc = empty_canvas, empty_canvas.document
    c.set_tool("brush")
    c.brush_size = 10
    drag(c, (50, 50), (150, 50))
    assert doc.undo_stack.count() == 1                       # one stroke = one command
    (s,) = doc.shapes()
    assert s.shape_type == "mask" and s.label == "lesion"
    _, cls = saved_label(doc, tmp_path)
    assert cls[50, 100] == 1 and cls[50, 50] == 1 and cls[50, 150] == 1
    assert cls[50, 157] == 0 and cls[58, 100] == 0 and cls[42, 100] == 0   # width = brush size, round caps
    c.set_tool("eraser")
    c.brush_size = 20
    drag(c, (100, 20), (100, 80))
    assert doc.undo_stack.count() == 2
    _, cls = saved_label(doc, tmp_path)
    assert cls[50, 100] == 0 and cls[50, 70] == 1 and cls[50, 130] == 1
    assert len(doc.shapes()) == 1                            # still one mask shape (two blobs)
    doc.undo_stack.undo()
    _, cls = saved_label(doc, tmp_path)
    assert cls[50, 100] == 1
    doc.undo_stack.undo()
    assert doc.shapes() == []
    doc.undo_stack.redo()
    doc.undo_stack.redo()
    _, cls = saved_label(doc, tmp_path)
    assert cls[50, 100] == 0 and cls[50, 70] == 1


def test_brush_merges_touching_strokes_of_the_class_only(empty_canvas, tmp_path):
    c, doc = empty_canvas, empty_canvas.document
    c.set_tool("brush")
    c.brush_size = 8
    drag(c, (30, 30), (30, 100))
    drag(c, (30, 100), (100, 100))        # touches the first stroke: merged
    assert len(doc.shapes()) == 1
    drag(c, (200, 200), (220, 220))       # apart: a second mask shape
    assert len(doc.shapes()) == 2
    c.current_label = "cyst"
    drag(c, (30, 60), (80, 60))           # other class over lesion: its own shape, painted on top
    assert [s.label for s in doc.shapes()] == ["lesion", "lesion", "cyst"]
    _, cls = saved_label(doc, tmp_path)
    assert cls[100, 60] == 1 and cls[60, 30] == 2 and cls[210, 210] == 1
    c.set_tool("eraser")
    c.set_label_visible("cyst", False)     # the eraser leaves hidden classes alone
    drag(c, (30, 50), (30, 70))
    _, cls = saved_label(doc, tmp_path)
    assert cls[60, 30] == 2 and cls[60, 50] == 2   # cyst untouched, also where it covered lesion
    assert cls[50, 30] == 0 and cls[68, 30] == 0   # lesion erased under the eraser
    assert cls[40, 30] == 1 and cls[80, 30] == 1   # and kept outside it
    assert [s.label for s in doc.shapes()] == ["lesion", "lesion", "cyst"]


def test_brush_size_keys(empty_canvas):
    c = empty_canvas
    c.brush_size = 20
    key(c, Qt.Key_BracketRight)
    assert c.brush_size > 20
    big = c.brush_size
    key(c, Qt.Key_BracketLeft)
    key(c, Qt.Key_BracketLeft)
    assert c.brush_size < big
    c.brush_size = 0
    assert c.brush_size == 1


def test_eraser_cuts_polygons_as_masks(empty_canvas, tmp_path):
    from test_canvas_support import add_poly

    c, doc = empty_canvas, empty_canvas.document
    add_poly(doc, "lesion", 20, 20, 120, 120)
    before = doc.undo_stack.count()
    c.set_tool("eraser")
    drag(c, (160, 70), (220, 70))                  # beside the polygon: nothing to erase, no command
    assert doc.undo_stack.count() == before and doc.shapes()[0].shape_type == "polygon"
    drag(c, (30, 70), (110, 70))                   # across it: cut, as a mask shape, one undo step
    assert doc.undo_stack.count() == before + 1
    assert doc.shapes()[0].shape_type == "mask"
    doc.undo_stack.undo()
    assert doc.shapes()[0].shape_type == "polygon"


@pytest.mark.parametrize("tool", ["rectangle", "circle", "line"])
def test_two_point_tools_by_clicks_and_by_drag(empty_canvas, tmp_path, tool):
    c, doc = empty_canvas, empty_canvas.document
    c.set_tool(tool)
    click(c, 60, 60)
    click(c, 120, 100)
    drag(c, (150, 150), (200, 220))
    assert [s.shape_type for s in doc.shapes()] == [tool, tool]
    assert np.allclose(doc.shapes()[0].points, [[60, 60], [120, 100]], atol=0.5)
    assert np.allclose(doc.shapes()[1].points, [[150, 150], [200, 220]], atol=0.5)
    ann, cls = saved_label(doc, tmp_path)
    if tool == "rectangle":
        assert cls[80, 90] == 1 and cls[110, 90] == 0 and cls[180, 170] == 1
    elif tool == "circle":   # centre (60, 60), radius ~72
        assert cls[60, 60] == 1 and cls[60, 125] == 1 and cls[10, 10] == 1   # inside (r = 72)
        assert cls[60, 135] == 0 and cls[5, 5] == 0 and cls[250, 10] == 0       # outside both circles
    else:
        assert cls[80, 90] == 1 and cls[60, 120] == 0


def test_point_and_linestrip(empty_canvas, tmp_path):
    c, doc = empty_canvas, empty_canvas.document
    c.set_tool("point")
    click(c, 40, 200)
    c.set_tool("linestrip")
    click(c, 100, 20)
    click(c, 150, 20)
    click(c, 150, 80)
    key(c, Qt.Key_Return)
    assert [s.shape_type for s in doc.shapes()] == ["point", "linestrip"]
    assert len(doc.shapes()[1].points) == 3
    _, cls = saved_label(doc, tmp_path)
    assert cls[200, 40] == 1 and cls[20, 125] == 1 and cls[50, 150] == 1 and cls[50, 120] == 0
    click(c, 10, 240)
    click(c, 60, 240)
    dclick(c, 60, 240)            # double-click finishes a linestrip too
    assert len(doc.shapes()) == 3 and len(doc.shapes()[2].points) == 2


def test_label_requested_gives_label_or_cancels(empty_canvas):
    c, doc = empty_canvas, empty_canvas.document
    asked = []
    c.label_requested = lambda cur: asked.append(cur) or "cyst"
    c.set_tool("rectangle")
    click(c, 10, 10)
    click(c, 50, 50)
    assert asked == ["lesion"] and doc.shapes()[0].label == "cyst"
    c.label_requested = lambda cur: None       # dialog cancelled: nothing added
    click(c, 60, 60)
    click(c, 90, 90)
    assert len(doc.shapes()) == 1 and doc.undo_stack.count() == 1


def test_points_are_clamped_to_the_image(empty_canvas):
    c, doc = empty_canvas, empty_canvas.document
    c.zoom_by(0.5)
    c.set_tool("rectangle")
    click(c, -30, -30)
    click(c, 300, 100)
    assert doc.shapes()[0].points == [[0.0, 0.0], [256.0, pytest.approx(100, abs=1)]]
