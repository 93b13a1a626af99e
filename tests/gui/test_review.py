"""Review dock: predict (worker, progress, cancel), overlays (opacity, filled/contour, FP/FN, side by side),
metrics table and bar chart for the whole set and the current image, images sorted by IoU, reviewed state,
and "Accept prediction" as one undoable edit."""
from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from segstudio.core.annotation.masks import write_label_png  # noqa: E402
from segstudio.core.project import Project  # noqa: E402
from segstudio.gui.document_model import DocumentModel  # noqa: E402
from segstudio.gui.review import ReviewDock  # noqa: E402
from segstudio.core.review import ground_truth  # noqa: E402
from segstudio.core.review.subsets import run_split  # noqa: E402

TIMEOUT = 120_000


@pytest.fixture
def review(qtbot, sample_project):
    project = Project(sample_project)
    doc = DocumentModel()
    dock = ReviewDock(project, doc)
    qtbot.addWidget(dock)
    dock.resize(900, 800)
    yield dock
    dock.shutdown()


def open_entry(dock, entry):
    dock.document.open(entry.image_path, entry.json_path)
    dock.set_entry(entry)


# ---------------------------------------------------------------------- the dock
def test_predict_all_fills_overlay_metrics_and_sorted_list(qtbot, review, tiny_checkpoint):
    dock = review
    p = dock.project
    # one image without its annotation: its status must become "predicted"
    p.images[5].json_path.unlink()
    p.rescan()
    open_entry(dock, p.images[0])
    assert not dock.predict_all_button.isEnabled()          # no model chosen yet
    dock.set_checkpoint(tiny_checkpoint)
    assert dock.predict_all_button.isEnabled()
    # a new model is offered at once: the bar says so and Predict all is the highlighted button
    assert not dock.offer.isHidden() and "Predict all" in dock.offer.text() and "24 of 24" in dock.offer.text()
    assert dock.predict_all_button.isDefault()
    with qtbot.waitSignal(dock.evaluated, timeout=TIMEOUT) as blocker:
        assert dock.predict(all_images=True)
        assert dock.cancel_button.isEnabled()
    ev = blocker.args[0]
    assert dock.last_report.failures == [] and len(dock.last_report.predicted) == 24
    assert sorted(x.stem for x in p.predictions_dir.glob("*.png")) == [e.stem for e in p.images]
    assert p.status(p.images[5]) == "predicted"
    assert len(ev.per_image) == 23 and ev.overall.iou
    assert dock.offer.isHidden() and not dock.predict_all_button.isDefault()   # every image predicted by it
    qtbot.waitUntil(lambda: dock.worker is None, timeout=30_000)
    # overlay shows the prediction on the current image
    assert dock.view.pred is not None and dock.view.gt is not None
    assert dock.view.pictures == []                   # the dock's own pane is off by default ...
    dock.view.pane_box.click()                        # ... "Side by side" shows it
    base = dock.view.pictures[0].copy()
    dock.view.opacity.setValue(100)
    assert not np.array_equal(base, dock.view.pictures[0])
    dock.view.side_by_side.setChecked(True)
    assert len(dock.view.pictures) == 2 and not dock.view.right.isHidden()
    dock.view.errors.setChecked(True)
    assert "false positive" in dock.view.caption.text()
    # metrics: whole set, then the current image
    for name in ("lesion", "cyst"):
        v = dock.metrics.value(name, "IoU")
        assert v is not None and 0.0 <= v <= 1.0
        assert dock.metrics.value(name, "Dice") is not None
    assert dock.metrics.table.rowCount() == 2 and dock.metrics.iou_bars is not None
    # the default scope: the validation images of the model's run (its split.json), count in the choice
    _train, val = run_split(tiny_checkpoint)
    assert dock.metrics.current_scope() == "validation"
    assert f"Validation images ({len(val)})" in dock.metrics.scope.currentText()
    assert "validation images:" in dock.metrics.summary.text()
    dock.metrics.set_scope("all")
    assert "23 images" in dock.metrics.summary.text()
    dock.metrics.set_scope("image")
    assert p.images[0].stem in dock.metrics.summary.text()
    assert dock.metrics.value("lesion", "Recall") is not None
    # images sorted by IoU, worst first (not-annotated ones, without a score, last)
    stems = dock.sorted_stems()
    scores = [ev.miou(s) for s in stems]
    finite = [s for s in scores if not math.isnan(s)]
    assert finite == sorted(finite) and math.isnan(scores[-1]) and stems[-1] == p.images[5].stem


def test_predict_current_then_cancel_all(qtbot, review, tiny_checkpoint):
    dock = review
    p = dock.project
    open_entry(dock, p.images[2])
    dock.set_checkpoint(tiny_checkpoint)
    with qtbot.waitSignal(dock.predictionsChanged, timeout=TIMEOUT):
        assert dock.predict(all_images=False)
    assert [x.stem for x in p.predictions_dir.glob("*.png")] == [p.images[2].stem]
    qtbot.waitUntil(lambda: dock.worker is None, timeout=TIMEOUT)
    with qtbot.waitSignal(dock.workDone, timeout=TIMEOUT) as blocker:
        assert dock.predict(all_images=True)
        dock.cancel()
    assert blocker.args == ["cancelled"] and dock.worker is None
    assert "cancelled" in dock.progress.format()
    assert len(list(p.predictions_dir.glob("*.png"))) < 24


def test_checkpoint_of_other_classes_is_refused(qtbot, review, tiny_checkpoint):
    dock = review
    p = dock.project
    p.label_set.add("extra")
    open_entry(dock, p.images[0])
    dock.set_checkpoint(tiny_checkpoint)
    with qtbot.waitSignal(dock.workDone, timeout=TIMEOUT) as blocker:
        assert dock.predict(all_images=True)
    assert blocker.args == ["failed"]
    assert dock.error_box is not None and "not the project's" in dock.error_box.text()
    assert str(tiny_checkpoint) in dock.error_box.text()


def test_accept_prediction_is_one_undoable_edit(qtbot, review):
    dock = review
    p = dock.project
    entry = p.images[1]
    open_entry(dock, entry)
    before = [s.copy() for s in dock.document.shapes()]
    label = np.zeros((256, 256), np.int64)
    label[20:80, 30:100] = 1       # lesion
    label[150:200, 150:230] = 2    # cyst
    p.predictions_dir.mkdir()
    write_label_png(p.predictions_dir / f"{entry.stem}.png", label)
    dock.refresh_current()
    assert dock.accept_button.isEnabled()
    count = dock.document.undo_stack.count()
    dock.ask_accept.remembered = "add"   # "Add" for the session (the question itself: test_review_accept.py)
    n = dock.accept_prediction()
    assert n == 2
    shapes = dock.document.shapes()
    added = shapes[len(before):]
    assert sorted(s.label for s in added) == ["cyst", "lesion"]
    assert all(s.shape_type == "polygon" for s in added)
    assert dock.document.undo_stack.count() == count + 1
    # the accepted polygons rasterize back to the predicted regions
    gt = ground_truth(p, entry, dock.document.annotation.__class__(
        shapes=added, image_path="x.png", image_height=256, image_width=256))
    assert (gt == label).mean() > 0.99
    dock.document.undo_stack.undo()
    assert dock.document.shapes() == before


def test_mark_reviewed_is_saved(review):
    dock = review
    p = dock.project
    open_entry(dock, p.images[3])
    dock.reviewed_button.click()
    assert p.images[3].stem in Project(p.folder).reviewed()
    assert p.status(p.images[3]) == "reviewed"
    dock.reviewed_button.click()
    assert p.images[3].stem not in Project(p.folder).reviewed()


def test_unknown_label_is_reported_and_skipped(qtbot, review):
    import json

    dock = review
    p = dock.project
    a, b = p.images[0], p.images[1]
    p.predictions_dir.mkdir()
    for e in (a, b):
        write_label_png(p.predictions_dir / f"{e.stem}.png", np.zeros((256, 256), np.int64))
    data = json.loads(b.json_path.read_text())
    data["shapes"][0]["label"] = "tumour"
    b.json_path.write_text(json.dumps(data))
    with qtbot.waitSignal(dock.evaluated, timeout=TIMEOUT) as blocker:
        assert dock.evaluate()
    ev = blocker.args[0]
    assert list(ev.per_image) == [a.stem]
    assert "tumour" in ev.problems[b.stem] and str(b.json_path) in ev.problems[b.stem]
    assert "1 skipped" in dock.metrics.summary.text() and "tumour" in dock.metrics.summary.toolTip()
    assert dock.metrics.value("lesion", "Recall") == 0.0
