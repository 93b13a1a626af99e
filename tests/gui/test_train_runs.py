"""Runs list: columns (loss, batch size, augmentation besides model, epochs, best mIoU, status), the date of a
run's start (not the folder's modification time), the full config in each row's tooltip, "Open folder" and
"Resume"."""
from __future__ import annotations

import os
from datetime import datetime

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QUrl  # noqa: E402
from PySide6.QtGui import QDesktopServices  # noqa: E402

from segstudio.core.training import RunFolder, TrainConfig, list_runs  # noqa: E402
from segstudio.core.training.report import history_row  # noqa: E402
from segstudio.gui.training.runs import RunsList  # noqa: E402


def make_run(runs_dir, name, *, miou=(0.4, 0.6, 0.5), checkpoint=True, status=None, **config):
    """A run folder as the engine writes it (no real checkpoint: the list never unpickles one)."""
    folder = RunFolder(runs_dir / name)
    folder.path.mkdir(parents=True)
    TrainConfig(data="/data/project", out=str(folder.path), **config).to_json(folder.config_json)
    folder.write_history([history_row(i + 1, 0.5, 0.6, {"miou": v}, 1e-3, 1.0) for i, v in enumerate(miou)])
    if checkpoint:
        folder.best.write_bytes(b"not unpickled by the list")
    if status:
        folder.write_status(status)
    return folder.path


def column(runs: RunsList, row: int, name: str) -> str:
    return runs.table.item(row, RunsList.COLUMNS.index(name)).text()


@pytest.fixture
def runs(qtbot, tmp_path):
    w = RunsList()
    qtbot.addWidget(w)
    return w


def test_columns_show_config_and_best_metrics_and_the_start_date(runs, tmp_path):
    runs_dir = tmp_path / "runs"
    old = make_run(runs_dir, "20261101-090000-unet", loss="dice", batch_size=8, augment="strong", epochs=3)
    new = make_run(runs_dir, "20261102-100000-unet", loss="focal", batch_size=2, augment="none", epochs=5,
                   miou=(0.3,))
    late = datetime(2026, 11, 30, 12, 0).timestamp()
    os.utime(old, (late, late))      # the older run kept writing checkpoints: its folder looks newest
    runs.set_runs_dir(runs_dir)
    assert [r.path for r in runs.runs] == [new, old]          # by start, newest first
    assert column(runs, 0, "Date") == "2026-11-02 10:00" and column(runs, 1, "Date") == "2026-11-01 09:00"
    assert (column(runs, 1, "Loss"), column(runs, 1, "Batch"), column(runs, 1, "Aug")) == ("dice", "8", "strong")
    assert (column(runs, 0, "Loss"), column(runs, 0, "Batch"), column(runs, 0, "Aug")) == ("focal", "2", "none")
    assert column(runs, 1, "Epochs") == "3/3" and column(runs, 1, "Best mIoU") == "0.600 (ep 2)"
    assert column(runs, 1, "Model") == "unet" and column(runs, 1, "Image size") == "128"


def test_status_column_and_resume_button_follow_the_run_folder(runs, tmp_path):
    done = make_run(tmp_path / "runs", "20261101-090000-unet", status="early_stop")
    stopped = make_run(tmp_path / "runs", "20261102-090000-unet", status="cancelled")
    RunFolder(stopped).last.write_bytes(b"resumable")
    make_run(tmp_path / "runs", "20261103-090000-unet", status="running", checkpoint=False)
    runs.set_runs_dir(tmp_path / "runs")
    assert [column(runs, i, "Status") for i in range(3)] == ["unfinished", "stopped", "early stop"]
    assert not runs.use_button.isEnabled() and not runs.resume_button.isEnabled()
    runs.select_run(done)
    assert runs.use_button.isEnabled() and not runs.resume_button.isEnabled()   # no last.pt
    requested = []
    runs.resumeRequested.connect(requested.append)
    runs.select_run(stopped)
    assert runs.resume_button.isEnabled()
    runs.resume_button.click()
    assert requested == [stopped]


def test_the_run_being_trained_reads_training(runs, tmp_path):
    run = make_run(tmp_path / "runs", "20261101-090000-unet", status="running")
    runs.set_runs_dir(tmp_path / "runs")
    assert column(runs, 0, "Status") == "unfinished"     # a run killed hard looks the same on disk
    runs.set_active(run)
    assert column(runs, 0, "Status") == "training"
    runs.set_active(None)
    assert column(runs, 0, "Status") == "unfinished"


def test_a_folder_without_a_stamp_is_dated_by_its_config(runs, tmp_path):
    run = make_run(tmp_path / "runs", "my-experiment")
    written = datetime(2026, 10, 5, 8, 30).timestamp()
    os.utime(RunFolder(run).config_json, (written, written))
    later = datetime(2026, 11, 30, 12, 0).timestamp()
    os.utime(run, (later, later))
    runs.set_runs_dir(tmp_path / "runs")
    assert column(runs, 0, "Date") == "2026-10-05 08:30"


def test_row_tooltip_holds_the_full_config_as_key_value_lines(runs, tmp_path):
    run = make_run(tmp_path / "runs", "20261101-090000-unet", loss="tversky", batch_size=6,
                   model_kwargs={"base": 4, "depth": 2})
    runs.set_runs_dir(tmp_path / "runs")
    tips = {runs.table.item(0, j).toolTip() for j in range(len(RunsList.COLUMNS))}
    assert len(tips) == 1                 # the same tooltip on every cell of the row
    tip = tips.pop()
    lines = tip.splitlines()
    assert lines[0] == str(run)
    assert "loss: tversky" in lines and "batch_size: 6" in lines and "model_kwargs: base=4, depth=2" in lines
    assert "epochs: 60" in lines and "augment: light" in lines
    assert len([ln for ln in lines if ": " in ln]) == len(TrainConfig().to_dict())


def test_unreadable_config_is_named_in_the_tooltip(runs, tmp_path):
    run = make_run(tmp_path / "runs", "20261101-090000-unet")
    RunFolder(run).config_json.write_text("{not json", encoding="utf-8")
    runs.set_runs_dir(tmp_path / "runs")
    tip = runs.table.item(0, 0).toolTip()
    assert str(RunFolder(run).config_json) in tip and column(runs, 0, "Model") == "?"


def test_open_folder_opens_the_selected_run_folder(runs, tmp_path, monkeypatch):
    make_run(tmp_path / "runs", "20261101-090000-unet")
    chosen = make_run(tmp_path / "runs", "20261102-090000-unet")
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url) or True))
    runs.set_runs_dir(tmp_path / "runs")
    assert not runs.open_button.isEnabled()           # nothing selected
    runs.select_run(chosen)
    assert runs.open_button.isEnabled()
    runs.open_button.click()
    assert len(opened) == 1 and isinstance(opened[0], QUrl)
    assert opened[0] == QUrl.fromLocalFile(str(chosen)) and opened[0].toLocalFile() == str(chosen)
    assert list_runs(tmp_path / "runs")[0].path == chosen
