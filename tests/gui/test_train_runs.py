"""Runs list: columns (loss, batch size, augmentation besides model, epochs, best mIoU), the date of a run's
start (not the folder's modification time), the full config in each row's tooltip, and "Open folder"."""
from __future__ import annotations

import json
import os
from datetime import datetime

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QUrl  # noqa: E402
from PySide6.QtGui import QDesktopServices  # noqa: E402

from segstudio.core.training.config import TrainConfig  # noqa: E402
from segstudio.gui.training.runs import RunsList, list_runs  # noqa: E402


def make_run(runs_dir, name, *, miou=(0.4, 0.6, 0.5), checkpoint=True, **config):
    run = runs_dir / name
    run.mkdir(parents=True)
    cfg = TrainConfig(data="/data/project", out=str(run), **config).to_dict()
    (run / "config.json").write_text(json.dumps(cfg, indent=2), encoding="utf-8")
    rows = ["epoch,train_loss,val_loss,val_miou"] + [f"{i + 1},0.5,0.6,{v}" for i, v in enumerate(miou)]
    (run / "metrics.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    if checkpoint:
        (run / "best.pt").write_bytes(b"not unpickled by the list")
    return run


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


def test_a_folder_without_a_stamp_is_dated_by_its_config(runs, tmp_path):
    run = make_run(tmp_path / "runs", "my-experiment")
    written = datetime(2026, 10, 5, 8, 30).timestamp()
    os.utime(run / "config.json", (written, written))
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
    (run / "config.json").write_text("{not json", encoding="utf-8")
    runs.set_runs_dir(tmp_path / "runs")
    tip = runs.table.item(0, 0).toolTip()
    assert str(run / "config.json") in tip and column(runs, 0, "Model") == "?"


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
