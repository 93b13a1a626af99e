"""No tests: helpers and fixtures shared by the canvas tests: act on the viewport like a user, read back the saved mask."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from segstudio.core.annotation import LabelSet, annotation_to_label, load_annotation

LABELS = LabelSet.from_names(["_background_", "lesion", "cyst"])


def vp(view, x, y) -> QPoint:
    return view.mapFromScene(QPointF(x, y))


def click(view, x, y, mods=Qt.NoModifier):
    QTest.mouseClick(view.viewport(), Qt.LeftButton, mods, vp(view, x, y))


def dclick(view, x, y, mods=Qt.NoModifier):
    QTest.mouseDClick(view.viewport(), Qt.LeftButton, mods, vp(view, x, y))


def drag(view, a, b, button=Qt.LeftButton, mods=Qt.NoModifier, steps=6):
    w = view.viewport()
    QTest.mousePress(w, button, mods, vp(view, *a))
    for k in range(1, steps + 1):
        t = k / steps
        QTest.mouseMove(w, vp(view, a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t))
    QTest.mouseRelease(w, button, mods, vp(view, *b))


def key(view, k, mods=Qt.NoModifier):
    QTest.keyClick(view.viewport(), k, mods)


def saved_label(doc, tmp_path):
    """Save the document, read it back through core and rasterize it: (annotation, class map)."""
    path = tmp_path / "saved.json"
    doc.save(path)
    ann = load_annotation(path, check_image=False)
    cls, _ = annotation_to_label(ann, LABELS)
    return ann, cls


import pytest  # noqa: E402


@pytest.fixture
def empty_canvas(qtbot, sample_project):
    """A 600x600 canvas on a 256x256 sample image with no annotation yet (JSON path does not exist)."""
    from segstudio.gui.canvas.view import CanvasView
    from segstudio.gui.document_model import DocumentModel

    doc = DocumentModel()
    doc.open(sample_project / "img_000.png", sample_project / "new.json")
    view = CanvasView(doc)
    qtbot.addWidget(view)
    view.resize(600, 600)
    view.show()
    qtbot.waitExposed(view)
    view.fit()
    view.current_label = "lesion"
    return view


def add_poly(doc, label, x0, y0, x1, y1):
    from segstudio.core.annotation import Shape

    doc.add_shapes([Shape(label=label, points=[[x0, y0], [x1, y0], [x1, y1], [x0, y1]])])
    return len(doc.shapes()) - 1
