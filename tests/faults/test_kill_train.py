"""``segstudio train`` killed with SIGKILL (issue 13): in the middle of writing last.pt / best.pt (a patched
``torch.save`` writes half the file, then kills the process) and at random moments of a run (a bounded number
of repetitions, SEGSTUDIO_FAULT_REPEATS, default 2, with a fixed seed).  Every time: last.pt, when there is one,
loads; ``--resume`` continues at the next epoch and ends with the same epochs, losses, LR schedule and
best-so-far (best.pt's epoch) as an uninterrupted run; and the GUI's Runs list Resume does the same.
"""
from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from segstudio.core.checkpoint import load_checkpoint

from .conftest import cli_env, run_cli

EPOCHS = 4
KILLER = Path(__file__).with_name("kill_in_save.py")
REPEATS = int(os.environ.get("SEGSTUDIO_FAULT_REPEATS", "2"))
COMPARED = ("epoch", "train_loss", "val_loss", "miou", "mdice", "lr")


def train_args(project: Path, out: Path) -> list[str]:
    return ["train", "--data", str(project), "--out", str(out), "--epochs", str(EPOCHS), "--img-size", "32",
            "--batch-size", "2", "--val-fraction", "0.25", "--patience", "0", "--threads", "1", "--device", "cpu",
            "--scheduler", "plateau", "--set", "plateau_patience=0", "--set", "model_kwargs={base: 4, depth: 2}",
            "--set", "warmup_epochs=0.5", "-q"]


def history(run: Path) -> list[dict]:
    with open(run / "metrics.csv", newline="") as fh:
        return [{k: row[k] for k in COMPARED} for row in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def reference(tiny_project_ro, tmp_path_factory):
    """An uninterrupted run: (its metrics.csv rows, best.pt's epoch)."""
    out = tmp_path_factory.mktemp("reference") / "run"
    r = run_cli(*train_args(tiny_project_ro, out))
    assert r.returncode == 0, r.stderr[-2000:]
    rows = history(out)
    assert [int(r["epoch"]) for r in rows] == list(range(1, EPOCHS + 1))
    return rows, load_checkpoint(out / "best.pt")["epoch"]


def assert_resumes_to_reference(run: Path, reference) -> None:
    """last.pt loads; --resume finishes the run exactly as the uninterrupted one."""
    ckpt = load_checkpoint(run / "last.pt")                  # atomic: never torn
    done = int(ckpt["epoch"])
    r = run_cli("train", "--resume", run, "-q")
    assert r.returncode == 0, r.stdout[-1500:] + r.stderr[-1500:]
    if done < EPOCHS:
        assert f"epoch {done + 1:>3}/{EPOCHS}" in r.stdout, r.stdout   # continues at the next epoch
    rows, best_epoch = reference
    assert history(run) == rows                              # same epochs, losses, mIoU and LR schedule
    assert load_checkpoint(run / "best.pt")["epoch"] == best_epoch       # the same best-so-far
    assert load_checkpoint(run / "last.pt")["epoch"] == EPOCHS


@pytest.mark.parametrize("target", ["last.pt:3", "best.pt:2"])
def test_killed_while_writing_a_checkpoint(tiny_project_ro, tmp_path, reference, target):
    run = tmp_path / "run"
    env = {**cli_env(), "SEGSTUDIO_TEST_KILL_IN": target}
    r = subprocess.run([sys.executable, str(KILLER), *train_args(tiny_project_ro, run)], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    torn = list(run.glob(".*.tmp"))
    assert torn, "the kill should have left the half-written temp file"
    name = target.split(":")[0]
    if (run / name).exists():                                # the previous version is intact
        load_checkpoint(run / name)
    assert_resumes_to_reference(run, reference)


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_killed_at_random_moments(tiny_project_ro, tmp_path, reference):
    rng = random.Random(13)
    for i in range(REPEATS):
        run = tmp_path / f"run{i}"
        proc = subprocess.Popen([sys.executable, "-m", "segstudio", *train_args(tiny_project_ro, run)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cli_env())
        try:
            # from the run folder's creation to the first last.pt is about one epoch: the run's pace; then the
            # kill lands at a random moment of the remaining epochs (inside one, or in a checkpoint write)
            assert _wait_for(lambda: (run / "config.json").exists() or proc.poll() is not None, 240)
            t0 = time.monotonic()
            assert _wait_for(lambda: (run / "last.pt").exists() or proc.poll() is not None, 240)
            epoch_s = time.monotonic() - t0
            time.sleep(rng.uniform(0, epoch_s * (EPOCHS - 1)))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(60)
        if proc.returncode == 0:            # finished before the kill landed: nothing to resume
            continue
        assert proc.returncode == -signal.SIGKILL
        assert_resumes_to_reference(run, reference)


def test_gui_resume_after_a_kill(qtbot, tiny_project_ro, tmp_path, reference):
    """The Runs list's Resume on a run killed mid-checkpoint continues it as `--resume` does."""
    import shutil

    pytest.importorskip("pytestqt")
    from segstudio.core.project import Project
    from segstudio.gui.training import TrainingDock

    project = tmp_path / "project"
    shutil.copytree(tiny_project_ro, project)
    run = Project(project).runs_dir / "20261204-060000-unet"
    r = subprocess.run([sys.executable, str(KILLER), *train_args(project, run)], capture_output=True, text=True,
                       env={**cli_env(), "SEGSTUDIO_TEST_KILL_IN": "last.pt:3"}, timeout=300)
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    assert load_checkpoint(run / "last.pt")["epoch"] == 2
    dock = TrainingDock(Project(project), torch_threads=1)
    qtbot.addWidget(dock)
    try:
        dock.runs.refresh()
        dock.runs.select_run(run)
        assert dock.runs.resume_button.isEnabled()
        with qtbot.waitSignal(dock.controller.finished, timeout=180_000) as blocker:
            qtbot.mouseClick(dock.runs.resume_button, __import__("PySide6.QtCore").QtCore.Qt.LeftButton)
        assert blocker.args[0].reason == "completed"
        qtbot.waitUntil(lambda: not dock.running, timeout=30_000)
    finally:
        dock.shutdown()
    rows, best_epoch = reference
    # the data path differs (a copy of the project), the numbers do not
    assert history(run) == rows
    assert load_checkpoint(run / "best.pt")["epoch"] == best_epoch
    assert "from last.pt" in dock.log.toPlainText()
