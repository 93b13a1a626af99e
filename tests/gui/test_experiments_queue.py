"""Experiments dock, the queue and the comparison: a real 2-run experiment (each run a `segstudio train`
subprocess, then the held-out evaluation) run from the dock on a worker to its end, the table and the curves it
shows, Compare (Wilcoxon p-value), the exports; Cancel, then Resume offered when the folder is opened again."""
from __future__ import annotations

import csv
import json

import pytest

pytest.importorskip("pytestqt")

import yaml  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QFileDialog, QMessageBox  # noqa: E402

from segstudio.core.project import Project  # noqa: E402

TIMEOUT = 400_000   # two real runs on a busy 2-core machine: generous, the test ends as soon as they do
TINY = {"epochs": 1, "img_size": 32, "batch_size": 4, "model_kwargs": {"base": 4, "depth": 2},
        "early_stopping": 0, "threads": 1}


@pytest.fixture
def dock(qtbot, sample_project):
    from segstudio.gui.experiments import ExperimentsDock

    d = ExperimentsDock(Project(sample_project), torch_threads=1)
    qtbot.addWidget(d)
    d.resize(1700, 650)
    d.show()
    qtbot.waitUntil(lambda: d.form.choices_loaded, timeout=180_000)
    yield d
    d.shutdown()


def write_plan(folder, data, name="tiny", seeds=(0, 1), models=("unet",), **train) -> object:
    plan = folder / f"{name}.yaml"
    plan.write_text(yaml.safe_dump({"name": name, "data": str(data), "split": {"holdout_every": 4},
                                    "train": {**TINY, **train}, "device": "cpu",
                                    "grid": {"model": list(models), "loss": ["dice_ce"], "augment": ["none"],
                                             "seed": list(seeds)}}))
    return plan


def test_start_runs_the_queue_to_the_end_and_the_comparison_shows_it(qtbot, dock, sample_project, tmp_path,
                                                                       monkeypatch):
    plan = write_plan(tmp_path, sample_project)
    with qtbot.waitSignal(dock.planChecked, timeout=120_000) as blocker:
        assert dock.open_plan(plan)
    assert blocker.args == [plan, ""] and dock.form.data.text() == str(sample_project)
    qtbot.mouseClick(dock.start_button, Qt.LeftButton)
    assert dock.running and not dock.start_button.isEnabled() and dock.cancel_button.isEnabled()
    assert not dock.form.isEnabled()   # the plan cannot change under a running queue
    exp = tmp_path / "tiny"
    qtbot.waitUntil(lambda: dock.table.rowCount() == 2, timeout=TIMEOUT)
    assert dock.table.item(0, 0).text() == "unet-dice_ce-none-s0" and dock.exp_dir == exp
    qtbot.waitUntil(lambda: dock.table.status("unet-dice_ce-none-s0") in ("running", "evaluating", "done"),
                    timeout=TIMEOUT)
    qtbot.waitUntil(lambda: dock.table.statuses() == ["done", "done"] and not dock.running, timeout=TIMEOUT)

    doc = json.loads((exp / "queue.json").read_text())
    assert [e["status"] for e in doc["entries"]] == ["done", "done"]
    for row in range(2):   # epoch 1/1, best val mIoU and the held-out Dice, as numbers
        assert dock.table.item(row, 2).text() == "1/1"
        assert 0 <= float(dock.table.item(row, 3).text()) <= 1
        assert 0 <= float(dock.table.item(row, 4).text()) <= 1
    assert dock.progress.value() == 1000 and "2/2 done" in dock.progress.format()
    assert "2 done, 0 failed" in dock.status.text()
    assert (exp / "report" / "results.md").is_file()   # the report is written when the queue ends

    # comparison: one curve per run, the results table, Compare with a p-value
    view = dock.compare
    assert set(view.curves) == {"unet-dice_ce-none-s0", "unet-dice_ce-none-s1"}
    assert view.set_metric("train_loss")
    assert len(view.curves) == 2 and all(len(c.getData()[0]) == 1 for c in view.curves.values())
    assert [item for item in view.plot.getPlotItem().listDataItems()] == list(view.curves.values())
    assert "unet-dice_ce-none-s0" in view.legend.text() and "unet-dice_ce-none-s1" in view.legend.text()
    dock.table.selectRow(1)   # the run selected in the queue is drawn thick and on top
    widths = {rid: c.opts["pen"].widthF() for rid, c in view.curves.items()}
    assert widths["unet-dice_ce-none-s1"] > widths["unet-dice_ce-none-s0"]
    assert view.curves["unet-dice_ce-none-s1"].zValue() > view.curves["unet-dice_ce-none-s0"].zValue()
    assert view.table.columnCount() == 1 and view.cell("all", "Runs") == "2"   # one group: the two seeds
    assert "±" in view.cell("all", "mIoU") and view.cell("all", "IoU lesion") != ""
    view.pick("unet-dice_ce-none-s0", "unet-dice_ce-none-s1", "dice")
    qtbot.mouseClick(view.compare_button, Qt.LeftButton)
    text = view.compare_result.text()
    stat, p, n = view.last_compare[3:]
    assert 0 <= p <= 1 and n >= 4 and f"p = {p:.4g}" in text and f"n = {n}" in text

    # exports into a folder the user picks
    out = tmp_path / "exports"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(out))
    for kind in ("csv", "md", "tex", "png"):
        qtbot.mouseClick(view.export_buttons[kind], Qt.LeftButton)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["curves_train_loss.png", "results.csv", "results.md", "results.tex", "wilcoxon.csv"]
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert {r["id"] for r in rows if r.get("kind") == "run"} == {"unet-dice_ce-none-s0", "unet-dice_ce-none-s1"}
    assert "\\begin{tabular}" in (out / "results.tex").read_text()
    from PIL import Image

    with Image.open(out / "curves_train_loss.png") as im:
        assert im.width > 200 and im.height > 100
        assert len(im.convert("RGB").getcolors(1 << 20)) > 3   # not a blank grab: curves, axes and legend


def test_cancel_stops_the_run_and_opening_the_folder_offers_resume(qtbot, dock, sample_project, tmp_path):
    plan = write_plan(tmp_path, sample_project, name="cancelme", seeds=(0,), epochs=300)
    assert dock.start(plan)
    first = "unet-dice_ce-none-s0"
    qtbot.waitUntil(lambda: dock.table.state.get(first, {}).get("epoch", 0) >= 1, timeout=TIMEOUT)   # it trains: epoch 1 done
    assert dock.progress.value() > 0 and dock.table.status(first) == "running"
    qtbot.waitUntil(lambda: first in dock.compare.curves, timeout=TIMEOUT)   # the curves follow the run live
    qtbot.mouseClick(dock.cancel_button, Qt.LeftButton)
    assert not dock.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not dock.running, timeout=TIMEOUT)
    exp = tmp_path / "cancelme"
    entry = json.loads((exp / "queue.json").read_text())["entries"][0]
    assert entry["status"] == "pending" and (exp / "runs" / first / "last.pt").is_file()
    assert dock.table.status(first) == "interrupted (resumable)" and dock.resume_button.isEnabled()
    assert "0 done" in dock.status.text() or "cancelled" in dock.status.text()

    # a new dock (as after a restart) opens the folder: Resume is offered and continues the run
    from segstudio.gui.experiments import ExperimentsDock

    other = ExperimentsDock(Project(sample_project), torch_threads=1)
    qtbot.addWidget(other)
    try:
        assert other.open_experiment(exp)
        assert other.resume_box is not None and other.resume_box.isVisible()
        assert "interrupted" in other.resume_box.text() and other.resume_button.isEnabled()
        # fewer epochs would be a different plan: the resumed run keeps its own settings, so stop it after one more
        resume = next(b for b in other.resume_box.buttons()
                      if other.resume_box.buttonRole(b) == QMessageBox.AcceptRole)
        qtbot.mouseClick(resume, Qt.LeftButton)
        assert other.running
        qtbot.waitUntil(lambda: other.table.state[first]["epoch"] >= 2, timeout=TIMEOUT)   # continued, not restarted
        other.cancel()
        qtbot.waitUntil(lambda: not other.running, timeout=TIMEOUT)
        from segstudio.core.training import RunFolder

        epochs = [int(r["epoch"]) for r in RunFolder(exp / "runs" / first).history()]
        assert epochs[:2] == [1, 2]   # epoch 1 from the first start, epoch 2 after Resume
    finally:
        other.shutdown()


def test_a_crashed_run_shows_failed_with_its_reason_and_the_queue_goes_on(qtbot, dock, sample_project, tmp_path):
    from segstudio.core.experiments.plan import load_plan
    from segstudio.core.experiments.queue import ExperimentQueue

    exp = tmp_path / "crash"
    queue = ExperimentQueue.create(load_plan(write_plan(tmp_path, sample_project, name="crash")), exp)
    queue.entries[0].args += ["--set", "lr=-1"]     # injected: `segstudio train` refuses it and exits non-zero
    queue.save()
    assert dock.open_experiment(exp)
    assert dock.resume_box is None   # never started: nothing to resume, Start runs it
    assert dock.table.statuses() == ["pending", "pending"] and "crash" in dock.plan_label.text()
    qtbot.mouseClick(dock.start_button, Qt.LeftButton)
    assert dock.running
    qtbot.waitUntil(lambda: not dock.running, timeout=TIMEOUT)
    assert dock.table.statuses() == ["failed", "done"]
    assert "lr: must be > 0" in dock.table.item(0, 1).toolTip()
    assert "1 done, 1 failed" in dock.status.text() and "1 failed" in dock.progress.format()
    assert dock.compare.curves.keys() == {"unet-dice_ce-none-s1"}   # the failed run has no curve
    assert dock.retry_button.isEnabled() and not dock.use_button.isEnabled()

    # the done run's model for prediction (the session's checkpoint: the Review panel follows it)
    dock.table.selectRow(1)
    assert dock.use_button.isEnabled() and not dock.use_button.isHidden()
    qtbot.mouseClick(dock.use_button, Qt.LeftButton)
    assert dock.session.checkpoint == exp / "runs" / "unet-dice_ce-none-s1" / "best.pt"

    # fixed (the injected setting removed from queue.json): Retry failed runs it again, the done one is kept
    doc = json.loads((exp / "queue.json").read_text())
    assert doc["entries"][0]["args"][-2:] == ["--set", "lr=-1"]
    doc["entries"][0]["args"] = doc["entries"][0]["args"][:-2]
    (exp / "queue.json").write_text(json.dumps(doc))
    qtbot.mouseClick(dock.retry_button, Qt.LeftButton)
    assert dock.running
    qtbot.waitUntil(lambda: not dock.running, timeout=TIMEOUT)
    assert dock.table.statuses() == ["done", "done"] and not dock.retry_button.isEnabled()
    assert dock.compare.curves.keys() == {"unet-dice_ce-none-s0", "unet-dice_ce-none-s1"}


def test_closing_the_window_while_a_queue_runs_asks_then_stops_it_resumable(qtbot, messages, sample_project,
                                                                            tmp_path):
    from segstudio.gui.main_window import MainWindow

    w = MainWindow(extensions=["experiments"])
    qtbot.addWidget(w)
    dock = w.docks["experiments"]
    try:
        w.show()
        w.open_project(sample_project)
        asked = []
        dock.close_guard.ask = lambda: asked.append(1) or False   # "No": the window stays, the queue goes on
        assert dock.start(write_plan(tmp_path, sample_project, name="closing", seeds=(0,), epochs=300))
        first = "unet-dice_ce-none-s0"
        qtbot.waitUntil(lambda: dock.table.state.get(first, {}).get("epoch", 0) >= 1, timeout=TIMEOUT)
        w.close()
        assert asked == [1] and w.isVisible() and dock.running
        dock.close_guard.ask = lambda: asked.append(2) or True    # "Stop and close"
        w.close()
        assert w.isVisible()   # closes once the run has stopped
        qtbot.waitUntil(lambda: not w.isVisible(), timeout=TIMEOUT)
        assert asked == [1, 2] and not dock.running
        entry = json.loads((tmp_path / "closing" / "queue.json").read_text())["entries"][0]
        assert entry["status"] == "pending" and (tmp_path / "closing" / "runs" / first / "last.pt").is_file()
    finally:
        dock.shutdown()
        w.autosaver.enabled = False


def test_two_groups_are_compared_and_drawn_in_their_colours(qtbot, dock, sample_project, tmp_path):
    assert dock.start(write_plan(tmp_path, sample_project, name="groups", seeds=(0,), models=("unet", "cbam_unet")))
    qtbot.waitUntil(lambda: dock.table.statuses() == ["done", "done"] and not dock.running, timeout=TIMEOUT)
    view = dock.compare
    headers = [view.table.horizontalHeaderItem(j).text() for j in range(view.table.columnCount())]
    assert headers == ["unet", "cbam_unet"] and view.cell("cbam_unet", "Runs") == "1"
    choices = [view.run_a.itemText(i) for i in range(view.run_a.count())]
    assert choices[:2] == ["group unet", "group cbam_unet"]
    colors = {rid: c.opts["pen"].color().name() for rid, c in view.curves.items()}
    assert colors["unet-dice_ce-none-s0"] != colors["cbam_unet-dice_ce-none-s0"]
    view.pick("unet", "cbam_unet", "iou")
    qtbot.mouseClick(view.compare_button, Qt.LeftButton)
    a, b, metric, stat, p, n = view.last_compare
    assert (a, b, metric) == ("unet", "cbam_unet", "iou") and 0 <= p <= 1 and n >= 4
    assert "group unet" in view.compare_result.text() and f"p = {p:.4g}" in view.compare_result.text()


def test_a_mean_over_fewer_runs_is_marked_in_the_table(qtbot, tmp_path):
    """A group's HD95 over one of its two runs (the other predicted no foreground) reads "(n=1)" in the
    results table, and its tooltip says over how many runs."""
    import importlib.util
    from pathlib import Path

    from segstudio.gui.experiments.compare import ComparisonView

    spec = importlib.util.spec_from_file_location(
        "experiment_fixtures", Path(__file__).parents[1] / "experiments" / "test_results.py")
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    exp = fixtures.make_experiment(tmp_path, [
        {"id": "u0", "params": {"model": "unet", "seed": 0}, "dice": {"x": 0.5, "y": 0.6}},
        {"id": "u1", "params": {"model": "unet", "seed": 1}, "dice": {"x": 0.7, "y": 0.8}}])
    doc_path = exp / "runs" / "u1" / "heldout.json"
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    doc["summary"]["hd95"] = None
    doc_path.write_text(json.dumps(doc), encoding="utf-8")
    view = ComparisonView()
    qtbot.addWidget(view)
    view.set_experiment(exp)
    assert view.cell("all", "HD95").endswith("(n=1)") and "±" not in view.cell("all", "HD95")
    assert "±" in view.cell("all", "mIoU") and "(n=" not in view.cell("all", "mIoU")
    rows = [view.table.verticalHeaderItem(i).text() for i in range(view.table.rowCount())]
    assert view.table.item(rows.index("HD95"), 0).toolTip() == "HD95 over 1 of 2 runs"
