"""Review metrics: the HD95 column for a known boundary shift, and how many images the whole-set HD95 mean
covers when a prediction misses an object (HD95 undefined, so it cannot enter the mean)."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from segstudio.core.annotation.masks import write_label_png  # noqa: E402
from segstudio.core.project import Project  # noqa: E402
from segstudio.gui.document_model import DocumentModel  # noqa: E402
from segstudio.gui.review import ReviewDock  # noqa: E402
from segstudio.core.review import ground_truth  # noqa: E402

TIMEOUT = 60_000
HD95 = "HD95 (px)"


@pytest.fixture
def review(qtbot, sample_project):
    dock = ReviewDock(Project(sample_project), DocumentModel())
    qtbot.addWidget(dock)
    yield dock
    dock.shutdown()


def square_annotation(entry, box=(40, 50, 120, 130), label="lesion"):
    """Replace the shapes of ``entry``'s JSON by one rectangle."""
    data = json.loads(entry.json_path.read_text(encoding="utf-8"))
    x0, y0, x1, y1 = box
    data["shapes"] = [{"label": label, "points": [[x0, y0], [x1, y1]], "group_id": None,
                       "shape_type": "rectangle", "flags": {}, "description": ""}]
    entry.json_path.write_text(json.dumps(data), encoding="utf-8")


def predict(project, entry, label):
    project.predictions_dir.mkdir(exist_ok=True)
    write_label_png(project.predictions_dir / f"{entry.stem}.png", np.asarray(label, np.int64))


def evaluate(qtbot, dock):
    with qtbot.waitSignal(dock.evaluated, timeout=TIMEOUT) as blocker:
        assert dock.evaluate()
    qtbot.waitUntil(lambda: dock.worker is None, timeout=TIMEOUT)
    return blocker.args[0]


def test_hd95_column_shows_a_5px_shift(qtbot, review):
    dock, p = review, review.project
    entry = p.images[0]
    square_annotation(entry)
    gt = ground_truth(p, entry)
    assert set(np.unique(gt)) == {0, 1}
    shifted = np.zeros_like(gt)
    shifted[:, 5:] = gt[:, :-5]                      # the square moved 5 px to the right
    predict(p, entry, shifted)
    ev = evaluate(qtbot, dock)
    assert list(ev.per_image) == [entry.stem]
    assert dock.metrics.value("lesion", HD95) == pytest.approx(5.0)     # whole set (one image)
    row = [dock.metrics.table.verticalHeaderItem(r).text() for r in range(2)].index("lesion")
    col = [dock.metrics.table.horizontalHeaderItem(j).text() for j in range(6)].index(HD95)
    assert dock.metrics.table.item(row, col).text() == "5.000"
    assert dock.metrics.value("cyst", HD95) is not None and np.isnan(dock.metrics.value("cyst", HD95))
    dock.set_entry(entry)
    dock.metrics.set_scope("image")
    assert dock.metrics.value("lesion", HD95) == pytest.approx(5.0)


def test_summary_says_how_many_images_the_hd95_mean_covers(qtbot, review):
    dock, p = review, review.project
    good, missed = p.images[0], p.images[1]
    predict(p, good, ground_truth(p, good))                       # perfect: HD95 0 for its classes
    gt_missed = ground_truth(p, missed)
    assert (gt_missed > 0).any()
    predict(p, missed, np.zeros_like(gt_missed))                  # an empty prediction: everything missed
    ev = evaluate(qtbot, dock)
    assert sorted(ev.per_image) == sorted([good.stem, missed.stem])
    assert ev.overall.hd95_images == (1, 2)
    lesion = p.label_set.names.index("lesion")
    assert "HD95 over the images with the class in both prediction and annotation: lesion 1/2" in \
        dock.metrics.summary.text()
    # the mean itself only has the perfect image in it - the tooltip says what was left out
    assert ev.overall.hd95[lesion] == 0.0 and ev.overall.hd95_undefined[lesion] == 1
    tip = dock.metrics.table.item(0, 5).toolTip()
    assert "mean over 1 image(s)" in tip and "1 image(s) have" in tip and "missed" in tip
    # the current image with the empty prediction: undefined, said so
    dock.set_entry(missed)
    dock.metrics.set_scope("image")
    assert "HD95 undefined for lesion" in dock.metrics.summary.text()
    dock.set_entry(good)                                          # every HD95 of this image is defined
    assert good.stem in dock.metrics.summary.text() and "HD95" not in dock.metrics.summary.text()
    dock.set_entry(missed)
    assert "undefined" in dock.metrics.table.item(0, 5).toolTip()
