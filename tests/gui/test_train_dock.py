"""Training dock: form -> TrainConfig, a tiny run end to end in the worker thread, Stop + Resume, errors shown
in a dialog while the app keeps running, and the close guard."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QMainWindow, QMessageBox  # noqa: E402

from segstudio.core.errors import ConfigError  # noqa: E402
from segstudio.core.project import Project  # noqa: E402
from segstudio.gui.training import CloseGuard, TrainingDock  # noqa: E402
from segstudio.core.training import RunFolder, list_runs, resume_point  # noqa: E402
from segstudio.gui.training.controller import Eta, format_seconds  # noqa: E402

TINY = dict(model_kwargs={"base": 4, "depth": 2})
TIMEOUT = 180_000


def tiny_form(dock, epochs=1):
    dock.form.set_values(model="unet", epochs=epochs, batch_size=8, img_size=64, val_fraction=0.2,
                         device="cpu", max_minutes=0)


@pytest.fixture
def dock(train_dock):
    return train_dock


def test_form_builds_a_validated_config(dock, sample_project):
    tiny_form(dock, epochs=3)
    dock.form.set_values(loss="dice", augment="none" if dock.form.augment.findText("none") >= 0 else "light",
                         max_minutes=2.5)
    cfg = dock.form.config(dock.project)
    assert cfg.data == str(Project(sample_project).folder)
    assert cfg.labels.endswith("labels.txt")
    assert (cfg.epochs, cfg.batch_size, cfg.img_size, cfg.device, cfg.loss) == (3, 8, 64, "cpu", "dice")
    assert cfg.max_minutes == 2.5
    assert cfg.out.startswith(str(dock.project.runs_dir))
    with pytest.raises(ConfigError, match="img_size"):
        dock.form.config(dock.project, img_size=100)
    dock.form.save_settings()
    again = TrainingDock(dock.project)
    assert again.form.values() == dock.form.values()
    again.deleteLater()


def test_device_choice_lists_cpu_and_auto(dock):
    values = [dock.form.device.itemData(i) for i in range(dock.form.device.count())]
    assert values[:2] == ["auto", "cpu"]


def test_device_choice_names_the_gpu(monkeypatch):
    import torch

    from segstudio.gui.training.choices import device_choices

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: "NVIDIA H100 80GB HBM3")
    assert device_choices() == [("auto", "Auto (CUDA: NVIDIA H100 80GB HBM3)"), ("cpu", "CPU"),
                                ("cuda", "CUDA (NVIDIA H100 80GB HBM3)")]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device_choices() == [("auto", "Auto (CPU: no CUDA GPU found)"), ("cpu", "CPU")]


def test_form_lays_out_in_one_or_two_columns(qtbot, dock):
    dock.resize(1400, 300)
    dock.orient()
    assert dock.form.columns == 2 and dock.splitter.orientation() == Qt.Horizontal
    dock.resize(320, 900)
    dock.orient()
    assert dock.form.columns == 1 and dock.splitter.orientation() == Qt.Vertical
    assert dock.form.values()["epochs"] == dock.form.epochs.value()


def test_train_one_epoch_updates_curves_progress_and_runs(qtbot, dock):
    tiny_form(dock)
    batches, statuses = [], []
    dock.controller.batchEnded.connect(batches.append)
    dock.controller.epochEnded.connect(lambda ev: statuses.append(dock.runs.status_text(dock.runs.runs[0])))
    with qtbot.waitSignal(dock.controller.finished, timeout=TIMEOUT) as blocker:
        assert dock.start_training(**TINY)
        assert not dock.train_button.isEnabled() and dock.stop_button.isEnabled()
    fin = blocker.args[0]
    assert fin.reason == "completed"
    qtbot.waitUntil(lambda: not dock.running, timeout=30_000)
    assert batches and dock.curves.epochs == [1]
    assert len(dock.curves.miou) == 1 and set(dock.curves.class_iou) >= {"lesion", "cyst"}
    dock._refresh()
    assert dock.curves.train_curve.getData()[0] is not None
    assert dock.progress.value() == dock.progress.maximum()
    assert "Finished (completed)" in dock.status.text()
    runs = list_runs(dock.project.runs_dir)
    assert len(runs) == 1 and runs[0].checkpoint is not None and runs[0].epochs_done == 1
    assert dock.runs.table.rowCount() == 1
    assert dock.runs.selected_run().path == runs[0].path
    assert statuses == ["training"] and dock.runs.status_text(dock.runs.runs[0]) == "completed"
    chosen = []
    dock.checkpointChosen.connect(chosen.append)
    dock.runs.use_button.click()
    assert chosen == [runs[0].checkpoint]
    assert dock.train_button.isEnabled() and not dock.stop_button.isEnabled()


def test_stop_then_resume_from_last(qtbot, dock):
    tiny_form(dock, epochs=2)
    dock.controller.batchEnded.connect(lambda ev: dock.stop_training())
    with qtbot.waitSignal(dock.controller.finished, timeout=TIMEOUT) as blocker:
        assert dock.start_training(**TINY)
    assert blocker.args[0].reason == "cancelled"
    qtbot.waitUntil(lambda: not dock.running, timeout=30_000)
    run_dir = dock.controller.run_dir
    assert RunFolder(run_dir).last.is_file() and RunFolder(run_dir).status()["state"] == "cancelled"
    cfg = resume_point(run_dir).config
    assert cfg.resume == str(RunFolder(run_dir).last) and cfg.epochs == 2 and cfg.out == str(run_dir)
    dock.runs.refresh()
    dock.runs.select_run(run_dir)
    assert dock.runs.resume_button.isEnabled()
    dock.controller.batchEnded.disconnect()
    with qtbot.waitSignal(dock.controller.finished, timeout=TIMEOUT) as blocker:
        assert dock.resume_training(run_dir)
    assert blocker.args[0].reason == "completed"
    qtbot.waitUntil(lambda: not dock.running, timeout=30_000)
    assert [r["epoch"] for r in RunFolder(run_dir).history()][-1] == 2
    assert "Resuming" in dock.log.toPlainText() and "from last.pt" in dock.log.toPlainText()
    assert dock.runs.selected_run().status == "completed"


def test_engine_error_shows_dialog_and_app_keeps_running(qtbot, dock):
    tiny_form(dock)
    dock.form.set_values(model="no_such_model")
    with qtbot.waitSignal(dock.controller.failed, timeout=TIMEOUT) as blocker:
        assert dock.start_training()
    assert "no_such_model" in blocker.args[0]
    qtbot.waitUntil(lambda: not dock.running, timeout=30_000)
    assert dock.error_box is not None and dock.error_box.isVisible()
    assert "no_such_model" in dock.error_box.text()
    assert dock.train_button.isEnabled()


def test_too_few_annotated_images_is_refused(qtbot, tmp_path):
    from PIL import Image

    (tmp_path / "p").mkdir()
    Image.new("RGB", (32, 32)).save(tmp_path / "p" / "a.png")
    d = TrainingDock(Project(tmp_path / "p"))
    qtbot.addWidget(d)
    assert not d.start_training()
    assert "at least 2 annotated images" in d.error_box.text()
    assert d.error_box.icon() == QMessageBox.Critical and not d.running


def test_close_during_training_asks_then_stops_and_closes(qtbot, sample_project):
    win = QMainWindow()
    qtbot.addWidget(win)
    d = TrainingDock(Project(sample_project), parent=win, torch_threads=1)
    win.addDockWidget(Qt.RightDockWidgetArea, d)
    guard = CloseGuard(win, d)
    asked = []
    guard.ask = lambda: asked.append(1) or False
    win.show()
    tiny_form(d, epochs=50)
    with qtbot.waitSignal(d.controller.batchEnded, timeout=TIMEOUT):
        assert d.start_training(**TINY)
    assert not win.close() and asked == [1] and d.running and win.isVisible()   # "No": keep training
    guard.ask = lambda: True
    with qtbot.waitSignal(d.controller.runningChanged, timeout=TIMEOUT):
        assert not win.close()          # deferred: closes itself once the worker has stopped
    qtbot.waitUntil(lambda: not win.isVisible(), timeout=30_000)
    assert d.controller.last_finished.reason == "cancelled"
    assert RunFolder(d.controller.run_dir).last.is_file()


def test_eta_and_time_format():
    eta = Eta(epochs=2)
    assert eta.seconds_left() is None
    eta.update(1, 1, 4)
    assert eta.seconds_left() is None     # the clock starts at the first batch (see test_train_events.py)
    eta.update(1, 2, 4)
    left = eta.seconds_left()
    assert left is not None and left >= 0
    assert format_seconds(None) == "--:--" and format_seconds(75) == "01:15" and format_seconds(3725) == "1:02:05"


def test_worker_lowers_its_own_thread_priority_only(qtbot):
    import os
    import sys
    import threading

    from segstudio.gui.workers import Worker

    if not sys.platform.startswith("linux"):
        pytest.skip("per-thread nice values are a Linux feature")
    main_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    # another test's background worker (e.g. the plan preview) may still hold the short switch interval
    interval_before, active_before = sys.getswitchinterval(), Worker._active
    w = Worker(lambda emit, cancel: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), nice=3)
    with qtbot.waitSignal(w.result, timeout=30_000) as blocker:
        w.start()
    w.wait()
    assert blocker.args[0] == main_nice + 3
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main_nice
    assert Worker._active == active_before
    assert sys.getswitchinterval() == pytest.approx(interval_before)
    if active_before == 0:
        assert interval_before == pytest.approx(0.005)
