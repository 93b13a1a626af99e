"""A full disk (a small tmpfs, filled) during convert, train checkpointing, predict and autosave (issue 13): a
clear error naming the file, no existing file replaced by a partial one, no temp file left, and the app keeps
running.  Skips with the reason where a tmpfs cannot be mounted (needs root / CAP_SYS_ADMIN)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from segstudio.core.checkpoint import load_checkpoint

from .conftest import TINY_TRAIN, fill, run_cli

TRAIN = TINY_TRAIN


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith(".filler")}


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob(".*.tmp")]


def test_convert_onto_a_full_disk(tiny_project_ro, small_tmpfs):
    disk = small_tmpfs("256k")
    out = disk / "out"
    r = run_cli("convert", tiny_project_ro, "--out", out, "--format", "voc")
    assert r.returncode == 2, r.stdout[-1000:] + r.stderr[-2000:]
    assert "No space left on device" in r.stderr and "cannot write the output" in r.stderr, r.stderr[-2000:]
    assert "Traceback" not in r.stderr and r.stderr.count("No space left") == 1    # one error, not one per file


def test_train_checkpoint_on_a_full_disk_keeps_the_last_good_one(tiny_project_ro, small_tmpfs):
    disk = small_tmpfs("8m")
    run = disk / "run"
    r = run_cli("train", "--data", tiny_project_ro, "--out", run, "--epochs", "1", *TRAIN)
    assert r.returncode == 0, r.stderr[-2000:]
    before = snapshot(run)
    fill(disk)
    r = run_cli("train", "--resume", run, "--epochs", "3", "-q")
    assert r.returncode != 0
    assert "No space left on device" in r.stderr and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert load_checkpoint(run / "last.pt")["epoch"] == 1                  # the previous one, whole
    assert (run / "last.pt").read_bytes() == before["last.pt"]
    assert (run / "best.pt").read_bytes() == before["best.pt"]
    assert no_temp_files(run)


def test_predict_onto_a_full_disk_keeps_earlier_masks(tiny_project_ro, tiny_weights, small_tmpfs, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for p in sorted(tiny_project_ro.glob("*.png"))[:4]:
        shutil.copy(p, images / p.name)
    disk = small_tmpfs("4m")
    out = disk / "pred"
    r = run_cli("predict", "--weights", tiny_weights, "--images", images, "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr[-2000:]
    before = snapshot(out)
    assert len([k for k in before if k.endswith(".png")]) == 4
    fill(disk)
    r = run_cli("predict", "--weights", tiny_weights, "--images", images, "--out", out, "--overlay", "--quiet")
    assert r.returncode == 2, r.stderr[-2000:]
    assert "No space left on device" in r.stderr and "cannot write the prediction" in r.stderr
    assert "Traceback" not in r.stderr
    after = snapshot(out)
    assert {k: v for k, v in after.items() if k in before} == before      # nothing replaced by a partial file
    assert no_temp_files(out)


def test_autosave_on_a_full_disk_keeps_the_json_and_the_edit(tiny_project_ro, small_tmpfs, qtbot, monkeypatch):
    pytest.importorskip("pytestqt")
    from PySide6.QtWidgets import QMessageBox

    from segstudio.core.annotation.document import Shape
    from segstudio.gui.main_window import MainWindow

    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: None)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.No)
    disk = small_tmpfs("16m")
    project = disk / "project"
    shutil.copytree(tiny_project_ro, project)
    w = MainWindow(extensions=False)
    qtbot.addWidget(w)
    w.show()
    try:
        w.open_path(project)
        json_path = project / f"{w.current_entry.stem}.json"
        before = json_path.read_bytes()
        fill(disk)
        shape = Shape(label="cyst", points=[[5.0, 5.0], [20.0, 6.0], [10.0, 20.0]], description="precious")
        with qtbot.waitSignal(w.autosaver.saveFailed, timeout=10_000) as blocker:
            w.document.add_shapes([shape])
        assert json_path.name in blocker.args[0] and "No space left" in blocker.args[0]
        assert json_path.read_bytes() == before and no_temp_files(project)
        assert "NOT SAVED" in w.save_label.text() and w.document.shapes()[-1].description == "precious"
        for filler in disk.glob(".filler-*"):                      # space again: the app saves
            filler.unlink()
        assert w.save_now()
        assert b"precious" in json_path.read_bytes()
    finally:
        w.autosaver.enabled = False
