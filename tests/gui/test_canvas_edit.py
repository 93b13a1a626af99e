"""Edit mode with the mouse and keys: select, rubber band, move, vertices, copy/paste, delete, order, labels."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from test_canvas_support import add_poly, click, dclick, drag, empty_canvas, key, saved_label  # noqa: F401


@pytest.fixture
def two(empty_canvas):
    doc = empty_canvas.document
    add_poly(doc, "lesion", 20, 20, 100, 100)
    add_poly(doc, "cyst", 150, 150, 230, 230)
    doc.select([])
    empty_canvas.set_tool("edit")
    return empty_canvas


def test_click_select_ctrl_toggle_escape(two):
    doc = two.document
    click(two, 60, 60)
    assert doc.selected() == [0]
    assert len(two.handles()) == 4
    click(two, 190, 190, Qt.ControlModifier)
    assert doc.selected() == [0, 1]
    click(two, 60, 60, Qt.ControlModifier)
    assert doc.selected() == [1]
    click(two, 130, 10)                     # empty canvas
    assert doc.selected() == []
    click(two, 190, 190)
    key(two, Qt.Key_Escape)
    assert doc.selected() == [] and two.handles() == []


def test_rubber_band_selects_what_it_touches(two):
    doc = two.document
    drag(two, (5, 5), (120, 120))
    assert doc.selected() == [0]
    drag(two, (110, 110), (160, 160), mods=Qt.ControlModifier)   # adds
    assert doc.selected() == [0, 1]
    drag(two, (240, 5), (250, 20))
    assert doc.selected() == []


def test_drag_vertex_is_one_command(two, tmp_path):
    doc = two.document
    click(two, 60, 60)
    n = doc.undo_stack.count()
    drag(two, (20, 20), (5, 8))
    assert doc.undo_stack.count() == n + 1
    assert np.allclose(doc.shapes()[0].points[0], [5, 8], atol=0.5)
    assert doc.shapes()[0].points[1:] == [[100, 20], [100, 100], [20, 100]]
    _, cls = saved_label(doc, tmp_path)
    assert cls[12, 8] == 1
    doc.undo_stack.undo()
    assert doc.shapes()[0].points[0] == [20, 20]


def test_drag_shapes_moves_selection_as_one_command(two, tmp_path):
    doc = two.document
    click(two, 60, 60)
    click(two, 190, 190, Qt.ControlModifier)
    n = doc.undo_stack.count()
    drag(two, (60, 60), (80, 70))
    assert doc.undo_stack.count() == n + 1
    p0, p1 = np.array(doc.shapes()[0].points), np.array(doc.shapes()[1].points)
    assert np.allclose(p0 - [[20, 20], [100, 20], [100, 100], [20, 100]], [20, 10], atol=0.5)
    assert np.allclose(p1[0], [170, 160], atol=0.5)
    drag(two, (80, 70), (-200, -200))      # clamped at the image border
    assert np.array(doc.shapes()[0].points).min() == pytest.approx(0)
    _, cls = saved_label(doc, tmp_path)
    assert cls[2, 2] == 1
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.shapes()[0].points[0] == [20, 20]


def test_insert_and_delete_vertex(two):
    doc = two.document
    click(two, 60, 60)
    dclick(two, 60, 20)                      # on the top edge
    pts = doc.shapes()[0].points
    assert len(pts) == 5 and np.allclose(pts[1], [60, 20], atol=0.6)
    click(two, 100, 60, Qt.AltModifier)      # Alt+click on the right edge
    assert len(doc.shapes()[0].points) == 6
    click(two, 60, 20, Qt.ShiftModifier)     # Shift+click on a handle deletes it
    pts = doc.shapes()[0].points
    assert len(pts) == 5 and not any(np.allclose(p, [60, 20], atol=0.6) for p in pts)
    for _ in range(5):                       # a polygon keeps at least 3 vertices
        click(two, *doc.shapes()[0].points[0], Qt.ShiftModifier)
    assert len(doc.shapes()[0].points) == 3


def test_delete_copy_paste_duplicate(two):
    doc = two.document
    click(two, 60, 60)
    key(two, Qt.Key_C, Qt.ControlModifier)
    key(two, Qt.Key_V, Qt.ControlModifier)
    assert len(doc.shapes()) == 3 and doc.shapes()[2].points == doc.shapes()[0].points
    assert doc.shapes()[2] is not doc.shapes()[0] and doc.selected() == [2]
    key(two, Qt.Key_D, Qt.ControlModifier)
    assert len(doc.shapes()) == 4
    assert np.allclose(np.array(doc.shapes()[3].points) - doc.shapes()[2].points, 10)
    key(two, Qt.Key_Delete)
    assert len(doc.shapes()) == 3
    click(two, 190, 190)
    key(two, Qt.Key_Delete)
    assert [s.label for s in doc.shapes()] == ["lesion", "lesion"]
    doc.undo_stack.undo()
    assert [s.label for s in doc.shapes()] == ["lesion", "cyst", "lesion"]


def test_raise_lower_changes_mask_paint_order(empty_canvas, tmp_path):
    c, doc = empty_canvas, empty_canvas.document
    add_poly(doc, "lesion", 20, 20, 100, 100)
    add_poly(doc, "cyst", 60, 60, 140, 140)
    c.set_tool("edit")
    _, cls = saved_label(doc, tmp_path)
    assert cls[80, 80] == 2                  # cyst painted last
    click(c, 30, 30)
    key(c, Qt.Key_PageUp)
    assert [s.label for s in doc.shapes()] == ["cyst", "lesion"] and doc.selected() == [1]
    _, cls = saved_label(doc, tmp_path)
    assert cls[80, 80] == 1
    assert c.item_at_index(1).zValue() > c.item_at_index(0).zValue()
    key(c, Qt.Key_PageDown)
    assert [s.label for s in doc.shapes()] == ["lesion", "cyst"]


def test_change_label_of_selection(two, tmp_path):
    doc = two.document
    two.label_requested = lambda cur: "cyst"
    click(two, 60, 60)
    key(two, Qt.Key_E, Qt.ControlModifier)
    assert [s.label for s in doc.shapes()] == ["cyst", "cyst"]
    _, cls = saved_label(doc, tmp_path)
    assert cls[60, 60] == 2
    doc.set_label([0, 1], "lesion")
    assert doc.undo_stack.command(doc.undo_stack.count() - 1).text() == "Set label 'lesion'"
    doc.undo_stack.undo()
    assert doc.shapes()[0].label == "cyst"


def test_hidden_class_is_not_shown_or_selectable(two):
    doc = two.document
    click(two, 60, 60)
    two.set_label_visible("lesion", False)
    assert not two.item_at_index(0).isVisible() and doc.selected() == []
    click(two, 60, 60)
    drag(two, (5, 5), (250, 250))
    assert doc.selected() == [1]
    two.set_label_visible("lesion", True)
    assert two.item_at_index(0).isVisible()


def test_colors_and_selection_highlight(two):
    from PySide6.QtGui import QColor

    two.set_label_colors({"lesion": QColor(255, 0, 0)})
    item = two.item_at_index(0)
    assert item.pen().color() == QColor(255, 0, 0) and item.brush().color().alpha() < 255
    alpha = item.brush().color().alpha()
    click(two, 60, 60)
    assert item.brush().color().alpha() > alpha


def test_undo_during_a_drag_cancels_the_drag(two):
    from PySide6.QtTest import QTest

    from test_canvas_support import vp

    doc = two.document
    click(two, 60, 60)
    w = two.viewport()
    QTest.mousePress(w, Qt.LeftButton, Qt.NoModifier, vp(two, 60, 60))
    QTest.mouseMove(w, vp(two, 70, 70))
    doc.remove_shapes([0])
    QTest.mouseMove(w, vp(two, 80, 80))
    QTest.mouseRelease(w, Qt.LeftButton, Qt.NoModifier, vp(two, 80, 80))
    assert [s.label for s in doc.shapes()] == ["cyst"]
    assert doc.shapes()[0].points[0] == [150, 150]


def test_context_menu_commands(two):
    from test_canvas_support import vp

    from segstudio.gui.canvas import edit as edit_module

    edit_module._clipboard.clear()     # the clipboard is process-wide (copy between images)
    doc = two.document
    edit = two._tools["edit"]
    menu = edit.context_menu(vp(two, 190, 190))            # right-click selects the shape under it
    assert doc.selected() == [1]
    texts = {a.text().split("\t")[0]: a for a in menu.actions()}
    assert "Delete vertex" not in texts and "Paste" not in " ".join(texts)
    texts["Send backward"].trigger()
    assert [s.label for s in doc.shapes()] == ["cyst", "lesion"] and doc.selected() == [0]
    doc.undo_stack.undo()
    assert doc.selected() == [1]
    click(two, 60, 60)
    menu = edit.context_menu(vp(two, 20, 20))              # on a vertex handle
    (delete_vertex,) = [a for a in menu.actions() if a.text() == "Delete vertex"]
    delete_vertex.trigger()
    assert len(doc.shapes()[0].points) == 3
    menu = edit.context_menu(vp(two, 60, 100))             # on the bottom edge of the selected polygon
    [a for a in menu.actions() if a.text() == "Add vertex here"][0].trigger()
    assert len(doc.shapes()[0].points) == 4
    [a for a in menu.actions() if a.text().startswith("Copy")][0].trigger()
    key(two, Qt.Key_Escape)
    menu = edit.context_menu(vp(two, 245, 5))              # empty canvas, no selection: only paste
    assert [a.text().split("\t")[0] for a in menu.actions()] == ["Paste 1 shape(s)"]
    menu.actions()[0].trigger()
    assert len(doc.shapes()) == 3


def test_hover_cursor_feedback(two):
    from PySide6.QtTest import QTest

    from test_canvas_support import vp

    w = two.viewport()
    QTest.mouseMove(w, vp(two, 60, 60))
    assert w.cursor().shape() == Qt.OpenHandCursor
    QTest.mouseMove(w, vp(two, 130, 10))
    assert w.cursor().shape() == Qt.ArrowCursor
    click(two, 60, 60)
    QTest.mouseMove(w, vp(two, 100, 100))
    assert w.cursor().shape() == Qt.CrossCursor
