"""Issue 15, training: a finished run becomes the project's model and its bar ends at 100 % (or says where it
stopped early); Resume in the runs list is off while a run trains; the live curves keep following the data
after a mouse wheel over a plot, show a resumed run's earlier epochs, use no SI-prefix axis scale, have their
legends beside the plots and the project's class colours; another project shows none of this run."""
from __future__ import annotations

import json
import threading

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from segstudio.core.project import Project  # noqa: E402
from segstudio.core.training import events as E  # noqa: E402

TIMEOUT = 60_000


def form(dock, epochs):
    dock.form.set_values(model="unet", epochs=epochs, batch_size=8, img_size=64, val_fraction=0.2,
                         device="cpu", max_minutes=0)


def epoch_end(e, miou=0.5):
    return E.EpochEnd(epoch=e, train_loss=0.004 / e, val_loss=0.005 / e, lr=1e-3, seconds=1.0,
                      metrics={"miou": miou, "iou": {"_background_": 0.9, "lesion": miou, "cyst": miou / 2}})


class Scripted:
    """Started, then ``epochs`` epochs; each waits for ``step`` (set by the test); then Finished."""

    def __init__(self, epochs, reason="completed", start_epoch=1, with_best=True):
        self.epochs, self.reason, self.start_epoch, self.with_best = epochs, reason, start_epoch, with_best
        self.step = threading.Semaphore(0)

    def __call__(self, config, cancel=None):
        from pathlib import Path

        yield E.Started(config=config, n_train=19, n_val=5, device="cpu", run_dir=config.out,
                        start_epoch=self.start_epoch)
        out = Path(config.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps({"model": "unet", "epochs": config.epochs}))
        for e in range(self.start_epoch, self.start_epoch + self.epochs):
            self.step.acquire(timeout=TIMEOUT / 1000)
            yield E.BatchEnd(epoch=e, batch=1, n_batches=1, loss=0.004 / e, images_per_s=10.0)
            yield epoch_end(e)
        if self.with_best:
            (out / "best.pt").write_bytes(b"weights")
        yield E.Finished(best_miou=0.5, run_dir=config.out, reason=self.reason,
                         epochs_done=self.start_epoch + self.epochs - 1, best_epoch=1)

    def go(self, n=1):
        for _ in range(n):
            self.step.release()


def run(qtbot, dock, engine):
    dock.controller.engine = engine
    with qtbot.waitSignal(dock.controller.finished, timeout=TIMEOUT) as blocker:
        assert dock.start_training()
        engine.go(engine.epochs)
    qtbot.waitUntil(lambda: not dock.running, timeout=TIMEOUT)
    return blocker.args[0]


def test_finished_run_becomes_the_model_and_the_bar_ends_at_100(qtbot, train_dock):
    dock = train_dock
    form(dock, 2)
    ev = run(qtbot, dock, Scripted(2))
    best = dock.controller.run_dir / "best.pt"
    assert dock.session.checkpoint == best                  # the project's model for prediction now
    assert "is now the model for prediction" in dock.status.text()
    assert dock.progress.value() == dock.progress.maximum() and "100%" in dock.progress.text()
    assert ev.reason == "completed"
    reviewed = []
    dock.reviewRequested.connect(lambda: reviewed.append(1))
    assert not dock.review_button.isHidden()
    qtbot.mouseClick(dock.review_button, Qt.LeftButton)
    assert reviewed == [1]


def test_early_stop_says_where_it_stopped(qtbot, train_dock):
    dock = train_dock
    form(dock, 10)
    run(qtbot, dock, Scripted(3, reason="early_stop"))
    assert dock.progress.text() == "stopped early at epoch 3/10"
    assert dock.progress.value() == 300 and dock.progress.maximum() == 1000


def test_resume_in_the_runs_list_is_off_while_a_run_trains(qtbot, train_dock):
    dock = train_dock
    old = dock.project.runs_dir / "20260101-120000-unet"
    old.mkdir(parents=True)
    (old / "config.json").write_text(json.dumps({"model": "unet", "epochs": 2}))
    (old / "last.pt").write_bytes(b"state")
    dock.runs.refresh()
    form(dock, 1)
    engine = Scripted(1)
    dock.controller.engine = engine
    with qtbot.waitSignal(dock.controller.started, timeout=TIMEOUT):
        assert dock.start_training()
    row = next(i for i, r in enumerate(dock.runs.runs) if r.path == old)
    dock.runs.table.selectRow(row)
    assert dock.runs.selected_run().resumable
    assert not dock.runs.resume_button.isEnabled() and not dock.resume_button.isEnabled()
    with qtbot.waitSignal(dock.controller.finished, timeout=TIMEOUT):
        engine.go()
    qtbot.waitUntil(lambda: not dock.running, timeout=TIMEOUT)
    dock.runs.table.selectRow(next(i for i, r in enumerate(dock.runs.runs) if r.path == old))
    assert dock.runs.resume_button.isEnabled()


def wheel(widget, steps=5):
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    ev = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120 * steps),
                     Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(widget.viewport(), ev)


def test_curves_follow_after_a_wheel_and_read_plainly(qtbot, train_dock):
    dock = train_dock
    dock.show()
    qtbot.waitExposed(dock)
    curves = dock.curves
    form(dock, 4)
    engine = Scripted(4)
    dock.controller.engine = engine
    with qtbot.waitSignal(dock.controller.epochEnded, timeout=TIMEOUT):
        assert dock.start_training()
        engine.go()
    qtbot.waitUntil(lambda: len(curves.epochs) == 1 and not curves.dirty, timeout=TIMEOUT)
    wheel(curves.loss_plot)                                  # the user wheels over the live plot
    with qtbot.waitSignal(dock.controller.epochEnded, timeout=TIMEOUT):
        engine.go(2)
    qtbot.waitUntil(lambda: len(curves.epochs) == 3 and not curves.dirty, timeout=TIMEOUT)
    (x0, x1), (y0, y1) = curves.loss_plot.viewRange()
    assert x1 >= 3 and y0 <= min(curves.train_loss)           # the view followed the new epochs
    with qtbot.waitSignal(dock.controller.finished, timeout=TIMEOUT):
        engine.go()
    # losses around 0.001: no "x0.001" axis scale; legends beside the plots, with the classes
    for plot in (curves.loss_plot, curves.iou_plot):
        axis = plot.getAxis("left")
        assert axis.autoSIPrefixScale == 1.0 and "x0.001" not in axis.labelString()
        assert plot.plotItem.legend is None
    assert "lesion" in curves.iou_legend.text() and "cyst" in curves.iou_legend.text()
    assert "train" in curves.loss_legend.text() and "val" in curves.loss_legend.text()
    colors = dock.session.class_colors()
    pen = curves.class_curves["lesion"].opts["pen"]
    assert pen.color().getRgb()[:3] == colors["lesion"]      # the project's class colour


def test_resume_keeps_the_earlier_epochs_on_the_plot(qtbot, train_dock, tiny_checkpoint, tmp_path):
    import shutil

    dock = train_dock
    run_dir = tmp_path / "runs" / "tiny"        # a copy: the scripted engine writes into the run folder
    shutil.copytree(tiny_checkpoint.parent, run_dir)
    engine = Scripted(1, start_epoch=2)
    dock.controller.engine = engine
    with qtbot.waitSignal(dock.controller.finished, timeout=TIMEOUT):
        assert dock.resume_training(run_dir)
        assert dock.curves.epochs == [1]                      # metrics.csv's epoch, before any new one
        engine.go()
    qtbot.waitUntil(lambda: not dock.running, timeout=TIMEOUT)
    assert dock.curves.epochs == [1, 2]


def test_another_project_shows_none_of_the_run(qtbot, train_dock, tmp_path):
    from segstudio.core.sample import make_sample_project

    dock = train_dock
    form(dock, 1)
    run(qtbot, dock, Scripted(1))
    assert dock.curves.epochs and dock.log.toPlainText() and dock.runs.table.rowCount() == 1
    dock.set_project(Project(make_sample_project(tmp_path / "other", n_images=4)))
    assert dock.curves.epochs == [] and dock.curves.batch_x == []
    assert dock.log.toPlainText() == "" and dock.status.text() == "Idle"
    assert dock.runs.table.rowCount() == 0 and dock.progress.value() == 0
    assert dock.review_button.isHidden()
