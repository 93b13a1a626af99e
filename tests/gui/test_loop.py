"""The whole loop in the main window on the sample project: train one short epoch in the background, pick
the run, predict every image, see the overlay and the metrics, accept a prediction as shapes, undo it."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from segstudio.gui.main_window import MainWindow  # noqa: E402

TIMEOUT = 240_000


def test_train_predict_review_accept_undo(qtbot, sample_project):
    win = MainWindow()
    qtbot.addWidget(win)
    assert not win.extension_errors, win.extension_errors
    win.show()
    assert win.open_project(sample_project)
    train, review = win.docks["training"], win.docks["review"]
    assert review.project is win.project and train.project is win.project

    # 1. train one short epoch (tiny model, small images) without blocking the window
    train.form.set_values(model="unet", epochs=1, batch_size=8, img_size=64, device="cpu", max_minutes=0)
    with qtbot.waitSignal(train.controller.finished, timeout=TIMEOUT) as blocker:
        assert train.start_training(model_kwargs={"base": 4, "depth": 2})
    assert blocker.args[0].reason == "completed"
    qtbot.waitUntil(lambda: not train.running, timeout=30_000)

    # 2. pick the run's checkpoint for prediction (runs list -> review dock)
    assert train.runs.table.rowCount() == 1
    train.runs.table.selectRow(0)
    train.runs.use_button.click()
    assert review.checkpoint is not None and review.checkpoint.name == "best.pt"

    # 3. predict all images in the background; metrics are computed afterwards
    with qtbot.waitSignal(review.evaluated, timeout=TIMEOUT) as blocker:
        assert review.predict(all_images=True)
    evaluation = blocker.args[0]
    qtbot.waitUntil(lambda: review.worker is None, timeout=30_000)
    assert len(list(win.project.predictions_dir.glob("*.png"))) == 24
    assert len(evaluation.per_image) == 24

    # 4. the overlay of the current image shows the prediction; the metrics table is filled
    assert review.entry == win.current_entry
    assert review.view.pred is not None          # ... as a layer of the main canvas (key V), composed on a worker
    qtbot.waitUntil(lambda: not review.canvas_overlay.layer.pixmap().isNull(), timeout=30_000)
    assert review.metrics.table.rowCount() == 2
    assert review.metrics.value("lesion", "IoU") is not None
    assert review.images_table.rowCount() == 24

    # 5. accept the prediction of the image with the most predicted foreground, then undo it
    def foreground(entry):
        from segstudio.core.review import read_prediction

        return int((read_prediction(win.project, entry) > 0).sum())

    entry = max(win.project.images, key=foreground)
    assert foreground(entry) > 0, "the 1-epoch model predicted only background on every image"
    assert win.open_image(entry)
    assert review.entry == entry and review.accept_button.isEnabled()
    before = [s.copy() for s in win.document.shapes()]
    review.ask_accept.remembered = "add"   # "Add" for the session (the question itself: test_review_accept.py)
    n = review.accept_prediction()
    assert n > 0 and len(win.document.shapes()) == len(before) + n
    labels = {s.label for s in win.document.shapes()[len(before):]}
    assert labels <= {"lesion", "cyst"}
    win.document.undo_stack.undo()
    assert win.document.shapes() == before

    # 6. reviewed state reaches the project (file statuses)
    review.set_reviewed(True)
    assert win.project.status(entry) == "reviewed"
    assert np.isfinite(evaluation.miou(entry.stem))
