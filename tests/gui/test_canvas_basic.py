"""The canvas acting as a user: polygon tool, undo/redo, zoom around the cursor, pan."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest

from segstudio.core.annotation import annotation_to_label, LabelSet, load_annotation
from segstudio.gui.canvas.view import CanvasView
from segstudio.gui.document_model import DocumentModel


@pytest.fixture
def canvas(qtbot, sample_project):
    doc = DocumentModel()
    doc.open(sample_project / "img_000.png", sample_project / "img_000.json")
    view = CanvasView(doc)
    qtbot.addWidget(view)
    view.resize(600, 600)
    view.show()
    qtbot.waitExposed(view)
    view.fit()
    view.current_label = "lesion"
    return view


def vp(view, x, y) -> QPoint:
    return view.mapFromScene(QPointF(x, y))


def click(view, x, y, mods=Qt.NoModifier):
    QTest.mouseClick(view.viewport(), Qt.LeftButton, mods, vp(view, x, y))


def drag(view, a, b, button=Qt.LeftButton, mods=Qt.NoModifier, steps=4):
    w = view.viewport()
    QTest.mousePress(w, button, mods, vp(view, *a))
    for k in range(1, steps + 1):
        t = k / steps
        QTest.mouseMove(w, vp(view, a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t))
    QTest.mouseRelease(w, button, mods, vp(view, *b))


def label_of_saved(doc, tmp_path):
    path = tmp_path / "saved.json"
    doc.save(path)
    ann = load_annotation(path, check_image=False)
    cls, _ = annotation_to_label(ann, LabelSet.from_names(["_background_", "lesion", "cyst"]))
    return ann, cls


def test_polygon_by_clicks_undo_redo(canvas, tmp_path):
    doc = canvas.document
    n0 = len(doc.shapes())
    canvas.set_tool("polygon")
    for x, y in [(20, 20), (100, 20), (100, 100), (20, 100)]:
        click(canvas, x, y)
    assert len(doc.shapes()) == n0          # still open
    click(canvas, 20.5, 20.5)                # clicking the first vertex closes it
    assert len(doc.shapes()) == n0 + 1
    s = doc.shapes()[-1]
    assert s.shape_type == "polygon" and s.label == "lesion" and len(s.points) == 4
    ann, cls = label_of_saved(doc, tmp_path)
    assert ann.shapes[-1].points == s.points
    assert cls[60, 60] == 1 and cls[10, 10] == 0
    doc.undo_stack.undo()
    assert len(doc.shapes()) == n0
    QTest.keyClick(canvas.viewport(), Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert len(doc.shapes()) == n0 + 1 and doc.shapes()[-1].points == s.points


def test_polygon_enter_escape_backspace(canvas):
    doc = canvas.document
    n0 = len(doc.shapes())
    canvas.set_tool("polygon")
    for x, y in [(10, 10), (50, 10), (50, 50)]:
        click(canvas, x, y)
    QTest.keyClick(canvas.viewport(), Qt.Key_Escape)
    assert len(doc.shapes()) == n0
    for x, y in [(10, 10), (50, 10), (50, 50), (70, 70)]:
        click(canvas, x, y)
    QTest.keyClick(canvas.viewport(), Qt.Key_Backspace)
    QTest.keyClick(canvas.viewport(), Qt.Key_Return)
    assert len(doc.shapes()) == n0 + 1
    pts = np.array(doc.shapes()[-1].points)
    assert len(pts) == 3 and np.allclose(pts[-1], [50, 50], atol=1)


def test_wheel_zoom_keeps_point_under_cursor(canvas, qtbot):
    pos = vp(canvas, 70, 90)
    before = canvas.mapToScene(pos)
    z0 = canvas.zoom()
    with qtbot.waitSignal(canvas.zoomChanged):
        ev = QWheelEvent(QPointF(pos), QPointF(canvas.viewport().mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 240),
                         Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
        canvas.wheelEvent(ev)
    assert canvas.zoom() == pytest.approx(z0 * 1.25 ** 2)
    after = canvas.mapToScene(pos)
    assert abs(after.x() - before.x()) <= 1.0 / canvas.zoom() + 1e-6
    assert abs(after.y() - before.y()) <= 1.0 / canvas.zoom() + 1e-6


def test_pan_middle_button_and_space_drag(canvas):
    canvas.zoom_by(4.0)
    c0 = canvas.mapToScene(canvas.viewport().rect().center())
    w = canvas.viewport()
    a = canvas.viewport().rect().center()
    QTest.mousePress(w, Qt.MiddleButton, Qt.NoModifier, a)
    QTest.mouseMove(w, a + QPoint(40, 20))
    QTest.mouseRelease(w, Qt.MiddleButton, Qt.NoModifier, a + QPoint(40, 20))
    c1 = canvas.mapToScene(canvas.viewport().rect().center())
    assert c1.x() == pytest.approx(c0.x() - 40 / canvas.zoom(), abs=0.5)
    assert c1.y() == pytest.approx(c0.y() - 20 / canvas.zoom(), abs=0.5)
    n0 = len(canvas.document.shapes())
    canvas.set_tool("polygon")
    QTest.keyPress(w, Qt.Key_Space)
    QTest.mousePress(w, Qt.LeftButton, Qt.NoModifier, a)
    QTest.mouseMove(w, a - QPoint(30, 0))
    QTest.mouseRelease(w, Qt.LeftButton, Qt.NoModifier, a - QPoint(30, 0))
    QTest.keyRelease(w, Qt.Key_Space)
    c2 = canvas.mapToScene(canvas.viewport().rect().center())
    assert c2.x() == pytest.approx(c1.x() + 30 / canvas.zoom(), abs=0.5)
    assert len(canvas.document.shapes()) == n0 and not canvas._tool.busy


def test_fit_and_one_to_one(canvas):
    canvas.zoom_1to1()
    assert canvas.zoom() == 1.0
    canvas.fit()
    assert canvas.zoom() == pytest.approx(600 / 256, rel=0.05)


def test_resize_keeps_fit_until_the_user_zooms(canvas, qtbot):
    canvas.fit()
    canvas.resize(300, 300)
    assert canvas.zoom() == pytest.approx(300 / 256, rel=0.05)
    canvas.zoom_by(2.0)
    z = canvas.zoom()
    canvas.resize(500, 500)
    assert canvas.zoom() == z


def test_display_image_gray_16bit_and_replacement(qtbot):
    from segstudio.core.annotation import Annotation

    doc = DocumentModel()
    view = CanvasView(doc)
    qtbot.addWidget(view)
    img16 = (np.arange(64 * 32, dtype=np.uint16).reshape(32, 64) * 30)
    doc.open_annotation(Annotation(shapes=[], image_path="a.png", image_height=32, image_width=64), img16)
    shown = view._image_item.pixmap().toImage()
    assert (shown.width(), shown.height()) == (64, 32)
    assert shown.pixelColor(0, 0).red() == 0 and shown.pixelColor(63, 31).red() == 255   # min-max scaled
    rgb = np.zeros((32, 64, 3), np.uint8)
    rgb[..., 1] = 200
    view.set_display_image(rgb)
    assert view._image_item.pixmap().toImage().pixelColor(5, 5).green() == 200


def test_clicks_without_an_open_image_do_nothing(qtbot):
    doc = DocumentModel()
    view = CanvasView(doc)
    qtbot.addWidget(view)
    view.resize(200, 200)
    view.show()
    qtbot.waitExposed(view)
    for tool in ("polygon", "rectangle", "point", "brush", "edit"):
        view.set_tool(tool)
        for _ in range(3):
            QTest.mouseClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(50, 50))
        QTest.keyClick(view.viewport(), Qt.Key_Return)
    assert doc.annotation is None and doc.undo_stack.count() == 0


def test_a_selected_shape_stays_see_through(qtbot):
    """Selection shows as outline and handles; the image under a selected shape stays visible."""
    from PySide6.QtGui import QColor

    from segstudio.core.annotation import Annotation, Shape

    doc = DocumentModel()
    doc.open_annotation(Annotation(shapes=[Shape(label="lesion", points=[[10, 10], [90, 10], [90, 90], [10, 90]])],
                                   image_path="w.png", image_height=100, image_width=100),
                        np.full((100, 100, 3), 255, np.uint8))
    view = CanvasView(doc)
    qtbot.addWidget(view)
    view.resize(300, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_label_colors({"lesion": QColor(128, 0, 0)})
    inside = vp(view, 50, 50)

    def green():
        return view.viewport().grab().toImage().pixelColor(inside).green()

    plain = green()
    doc.select([0])
    selected = green()
    assert selected < plain                      # the selection is visibly stronger ...
    assert selected >= 255 * 0.55                # ... but more than half of the white image shows through
