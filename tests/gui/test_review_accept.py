"""Issue 15, review: accepting a prediction over hand-drawn shapes asks Replace / Add / Cancel (clicked in the
real question box; "Remember for this session" answers later ones), each one undo step, checked on the saved
JSON; the Simplify tolerance of the panel changes the polygons; the model belongs to the project (another
project, or a restart, shows its own model or none)."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt, QTimer  # noqa: E402

from segstudio.core.annotation.masks import write_label_png  # noqa: E402
from segstudio.core.project import Project  # noqa: E402
from segstudio.core.review import ground_truth  # noqa: E402
from segstudio.gui.document_model import DocumentModel  # noqa: E402
from segstudio.gui.review import ReviewDock  # noqa: E402


@pytest.fixture
def review(qtbot, sample_project):
    dock = ReviewDock(Project(sample_project), DocumentModel())
    qtbot.addWidget(dock)
    dock.resize(900, 800)
    yield dock
    dock.shutdown()


def open_with_prediction(dock):
    """The first image that has a lesion polygon, with a predicted lesion shifted from it by 6 px."""
    p = dock.project
    entry = next(e for e in p.images if '"lesion"' in e.json_path.read_text())
    dock.document.open(entry.image_path, entry.json_path)
    dock.set_entry(entry)
    gt = ground_truth(p, entry)
    pred = np.zeros_like(gt)
    pred[:, 6:] = np.where(gt[:, :-6] == 1, 1, 0)
    p.predictions_dir.mkdir(exist_ok=True)
    write_label_png(p.predictions_dir / f"{entry.stem}.png", pred)
    dock.refresh_current()
    return entry, pred


def answer(qtbot, dock, button: str, remember: bool = False, seen=None):
    """Click ``button`` ("Replace", "Add", "Cancel") in the question once it is open."""
    def click():
        box = dock.ask_accept.box
        if box is None:
            QTimer.singleShot(20, click)
            return
        if seen is not None:
            seen.append(box.text())
        if remember:
            box.checkBox().setChecked(True)
        target = next(b for b in box.buttons() if b.text().replace("&", "") == button)
        qtbot.mouseClick(target, Qt.LeftButton)
    QTimer.singleShot(0, click)


def saved_labels(dock):
    dock.document.save()
    return [s["label"] for s in json.loads(dock.document.json_path.read_text())["shapes"]]


def test_replace_add_cancel_each_one_undo_step(qtbot, review):
    dock = review
    entry, pred = open_with_prediction(dock)
    doc = dock.document
    before = [s.copy() for s in doc.shapes()]
    n_lesion = sum(s.label == "lesion" for s in before)
    count = doc.undo_stack.count()

    seen = []
    answer(qtbot, dock, "Cancel", seen=seen)
    qtbot.mouseClick(dock.accept_button, Qt.LeftButton)
    assert seen and "lesion" in seen[0]                       # the question names the class
    assert doc.shapes() == before and doc.undo_stack.count() == count

    answer(qtbot, dock, "Replace")
    qtbot.mouseClick(dock.accept_button, Qt.LeftButton)
    assert doc.undo_stack.count() == count + 1                # one step
    lesions = [s for s in doc.shapes() if s.label == "lesion"]
    assert lesions and all(not any(s is b for b in before) for s in lesions)   # the drawn ones are gone
    gt = ground_truth(dock.project, entry, doc.annotation)
    assert ((gt == 1) & (pred == 1)).sum() / ((gt == 1) | (pred == 1)).sum() >= 0.98   # label = prediction
    assert saved_labels(dock).count("lesion") == len(lesions)
    doc.undo_stack.undo()
    assert doc.shapes() == before

    answer(qtbot, dock, "Add", remember=True)
    qtbot.mouseClick(dock.accept_button, Qt.LeftButton)
    assert sum(s.label == "lesion" for s in doc.shapes()) > n_lesion and doc.shapes()[:len(before)] == before
    doc.undo_stack.undo()
    # remembered for the session: no question any more
    opened = []

    def look():   # runs inside the question's event loop if one opened (then closes it), else after the click
        opened.append(dock.ask_accept.box)
        if opened[-1] is not None:
            opened[-1].reject()
    QTimer.singleShot(0, look)
    qtbot.mouseClick(dock.accept_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: bool(opened))
    assert opened == [None] and sum(s.label == "lesion" for s in doc.shapes()) > n_lesion
    assert saved_labels(dock).count("lesion") > n_lesion


def test_simplify_tolerance_of_the_panel(qtbot, review):
    dock = review
    dock.ask_accept.remembered = "add"
    open_with_prediction(dock)
    doc = dock.document
    n0 = len(doc.shapes())
    assert dock.tolerance.value() == 2.0                       # the default (IoU >= 0.98 kept, tests/review)
    dock.accept_prediction()
    coarse = sum(len(s.points) for s in doc.shapes()[n0:])
    doc.undo_stack.undo()
    dock.tolerance.clear()
    qtbot.keyClicks(dock.tolerance, "0")
    qtbot.keyClick(dock.tolerance, Qt.Key_Enter)
    assert dock.tolerance.value() == 0.0
    dock.accept_prediction()
    fine = sum(len(s.points) for s in doc.shapes()[n0:])
    assert fine > coarse


def test_the_model_belongs_to_the_project(qtbot, review, sample_project, tmp_path, tiny_checkpoint):
    from segstudio.core.sample import make_sample_project

    dock = review
    a = dock.project
    dock.set_checkpoint(tiny_checkpoint)
    assert "tiny/best.pt" in dock.checkpoint_label.text()
    other = Project(make_sample_project(tmp_path / "other", n_images=4))
    dock.set_project(other)                                    # another project: not the previous model
    assert dock.checkpoint is None and dock.checkpoint_label.text() == "No model chosen"
    assert not dock.predict_all_button.isEnabled() and dock.offer.isHidden()
    dock.set_project(Project(a.folder))                        # back: its model again
    assert dock.checkpoint == tiny_checkpoint
    # a restart (a new window's dock, a new session) on each project
    again = ReviewDock(Project(a.folder), DocumentModel())
    qtbot.addWidget(again)
    assert again.checkpoint == tiny_checkpoint
    fresh = ReviewDock(other, DocumentModel())
    qtbot.addWidget(fresh)
    assert fresh.checkpoint is None
