"""Experiments dock, the plan: built with clicks in the form and saved as YAML (checked by the core's load_plan),
opened from a file, and a bad plan shown with its reason while nothing is written or started."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from pathlib import Path  # noqa: E402

import yaml  # noqa: E402
from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtWidgets import QFileDialog  # noqa: E402

from segstudio.core.project import Project  # noqa: E402


@pytest.fixture(scope="module")
def masks_data(sample_project_ro, tmp_path_factory):
    """The sample project as an images/ + masks/ + classes.txt dataset (what an experiment trains on)."""
    from segstudio.core.export import convert

    out = tmp_path_factory.mktemp("masks") / "data"
    report = convert(sample_project_ro, None, out, "masks")
    assert report.ok, report.summary()
    return out


@pytest.fixture
def dock(qtbot, masks_data):
    from segstudio.gui.experiments import ExperimentsDock

    d = ExperimentsDock(Project(masks_data), torch_threads=1)
    qtbot.addWidget(d)
    d.resize(1600, 700)
    d.show()
    qtbot.waitUntil(lambda: d.form.choices_loaded, timeout=180_000)   # the registries, listed on a worker
    yield d
    d.shutdown()


def click(qtbot, widget):
    qtbot.mouseClick(widget, Qt.LeftButton)


def checked(qtbot, dock, action) -> str:
    """Run ``action`` (Open / Save plan: checked on a worker) and wait for the answer: "" or the reason."""
    with qtbot.waitSignal(dock.planChecked, timeout=120_000) as blocker:
        action()
    return blocker.args[1]


def set_box(qtbot, box, checked: bool):
    if box.isChecked() != checked:
        qtbot.mouseClick(box, Qt.LeftButton, pos=QPoint(6, box.height() // 2))   # on the indicator
    assert box.isChecked() == checked


def test_the_form_builds_a_plan_and_saves_it_as_yaml(qtbot, dock, masks_data, tmp_path, monkeypatch):
    form = dock.form
    assert form.data.text() == str(masks_data)   # the open project's folder is the plan's data
    form.name.clear()
    qtbot.keyClicks(form.name, "unet_vs_cbam")
    set_box(qtbot, form.models.boxes["cbam_unet"], True)
    set_box(qtbot, form.models.boxes["unet"], True)
    set_box(qtbot, form.losses.boxes["dice_ce"], False)
    set_box(qtbot, form.losses.boxes["dice_focal"], True)
    set_box(qtbot, form.augments.boxes["none"], True)
    set_box(qtbot, form.augments.boxes["light"], True)
    form.seeds.clear()
    qtbot.keyClicks(form.seeds, "0, 1")
    form.epochs.setValue(1)
    form.img_size.setValue(64)
    form.minutes.setValue(1.5)
    form.holdout_every.setValue(4)

    plan_file = tmp_path / "plans" / "unet_vs_cbam.yaml"
    plan_file.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(plan_file), ""))
    assert checked(qtbot, dock, lambda: click(qtbot, dock.save_plan_button)) == ""

    doc = yaml.safe_load(plan_file.read_text())
    assert doc["name"] == "unet_vs_cbam"
    assert (plan_file.parent / doc["data"]).resolve() == masks_data.resolve()   # relative to the plan file
    assert doc["grid"] == {"model": ["unet", "cbam_unet"], "loss": ["dice_focal"], "augment": ["light", "none"],
                           "seed": [0, 1]}
    assert doc["split"] == {"holdout_every": 4}
    assert doc["train"]["epochs"] == 1 and doc["train"]["img_size"] == 64 and doc["train"]["minutes"] == 1.5
    from segstudio.core.experiments.plan import load_plan

    runs = load_plan(plan_file).runs()
    assert len(runs) == 8 and runs[0].id == "unet-dice_focal-light-s0"
    assert dock.plan_path == plan_file and not dock.plan_dirty
    assert "8 runs" in dock.status.text() and "unet_vs_cbam.yaml" in dock.plan_label.text()
    assert [p.name for p in plan_file.parent.iterdir()] == ["unet_vs_cbam.yaml"]   # no temporary file left

    # k folds instead of seeds: the split becomes {folds: k} and the grid has no seed axis
    form.repeat.setCurrentIndex(form.repeat.findData("folds"))
    assert form.folds.isVisible() and not form.seeds.isVisible()
    form.folds.setValue(3)
    assert checked(qtbot, dock, lambda: dock.save_plan(plan_file)) == ""
    doc = yaml.safe_load(plan_file.read_text())
    assert doc["split"]["folds"] == 3 and "seed" not in doc["grid"]
    assert len(load_plan(plan_file).runs()) == 2 * 2 * 3


def test_an_opened_plan_fills_the_form_and_keeps_what_it_has_no_field_for(qtbot, dock, masks_data, tmp_path):
    plan_file = tmp_path / "p.yaml"
    plan = {"name": "resnet", "data": str(masks_data), "split": {"holdout_fraction": 0.2, "stratified": False},
            "train": {"epochs": 3, "img_size": 96, "model_kwargs": {"base": 4, "depth": 2}},
            "device": "cpu",
            "grid": {"model": [{"name": "unet", "label": "unet_small", "base": 4}], "loss": ["dice"],
                     "augment": ["none"], "seed": [3, 4]}}
    plan_file.write_text(yaml.safe_dump(plan))
    assert checked(qtbot, dock, lambda: dock.open_plan(plan_file)) == ""
    form = dock.form
    assert form.name.text() == "resnet"
    assert form.models.checked() == ["unet_small"] and form.losses.checked() == ["dice"]
    assert form.seeds.text() == "3, 4" and form.holdout.currentData() == "fraction"
    assert form.holdout_fraction.value() == 0.2 and not form.stratified.isChecked()
    assert form.epochs.value() == 3 and form.img_size.value() == 96
    again = tmp_path / "again.yaml"
    assert checked(qtbot, dock, lambda: dock.save_plan(again)) == ""
    doc = yaml.safe_load(again.read_text())
    assert doc["grid"]["model"] == [{"name": "unet", "label": "unet_small", "base": 4}]   # the mapping kept
    assert doc["train"]["model_kwargs"] == {"base": 4, "depth": 2}


def test_a_bad_plan_is_shown_with_its_reason_and_nothing_starts(qtbot, dock, masks_data, tmp_path, monkeypatch):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"name": "bad", "data": str(masks_data), "split": {"holdout_every": 5},
                                   "grid": {"model": ["no_such_net"], "seed": [0]}}))
    reason = checked(qtbot, dock, lambda: dock.open_plan(bad))
    text = dock.error_box.text()
    assert reason == text
    assert str(bad) in text and "unknown model 'no_such_net'" in text and "cbam_unet" in text   # lists the known
    assert "no_such_net" in dock.status.text()
    assert dock.start(bad)   # checked again on the worker: refused there, nothing trains
    qtbot.waitUntil(lambda: not dock.running, timeout=120_000)
    assert "unknown model 'no_such_net'" in dock.error_box.text() and "Cannot start" in dock.error_box.windowTitle()
    assert not (tmp_path / "bad").exists()   # no experiment folder, no run

    # the form with no model ticked: Save shows the reason and writes nothing
    for box in dock.form.models.boxes.values():
        set_box(qtbot, box, False)
    target = tmp_path / "empty.yaml"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert "grid.model" in checked(qtbot, dock, lambda: click(qtbot, dock.save_plan_button))
    assert not target.exists() and list(tmp_path.glob(".empty-*")) == []
    assert str(target) in dock.error_box.text() and "grid.model" in dock.error_box.text()
    # Start saves the changed form first: refused again, nothing runs
    assert "grid.model" in checked(qtbot, dock, lambda: click(qtbot, dock.start_button))
    assert not dock.running and not target.exists()

    # a dataset too small for the folds is refused before anything trains
    small = tmp_path / "folds.yaml"
    small.write_text(yaml.safe_dump({"name": "folds", "data": str(masks_data), "split": {"folds": 100},
                                     "grid": {"model": ["unet"], "seed": [0]}}))
    assert dock.start(small)
    qtbot.waitUntil(lambda: not dock.running, timeout=120_000)
    assert "100 folds" in dock.error_box.text() and not (tmp_path / "folds").exists()


def test_the_window_installs_the_panel_hidden_with_its_menu(qtbot, messages, sample_project):
    from segstudio.gui.main_window import MainWindow

    w = MainWindow(extensions=["experiments"])
    qtbot.addWidget(w)
    try:
        w.show()
        w.open_project(sample_project)
        dock = w.docks["experiments"]
        assert not dock.isVisible() and w.extension_errors == []
        menu = next(a.menu() for a in w.menuBar().actions() if a.text().replace("&", "") == "Experiments")
        assert [a.text() for a in menu.actions() if a.text()][:3] == ["Show Experiments panel", "Open plan...",
                                                                      "Save plan..."]
        w.actions_by_name["show_experiments"].trigger()
        assert dock.isVisible()
        assert dock.form.data.text() == str(sample_project)   # the open project is the plan's data
        assert w.dockWidgetArea(dock) == Qt.BottomDockWidgetArea
        qtbot.waitUntil(lambda: dock.form.choices_loaded, timeout=180_000)
    finally:
        w.docks["experiments"].shutdown()
        w.autosaver.enabled = False


def test_a_narrow_panel_puts_queue_and_comparison_in_tabs(qtbot, dock):
    dock.resize(1700, 500)
    qtbot.waitUntil(lambda: dock.wide)
    assert dock.splitter.indexOf(dock.queue_col) == 1 and dock.splitter.indexOf(dock.compare) == 2
    assert dock.queue_col.isVisible() and dock.compare.isVisible() and not dock.tabs.isVisible()
    dock.resize(1200, 500)   # e.g. a 1366 px screen
    qtbot.waitUntil(lambda: not dock.wide)
    assert [dock.tabs.tabText(i) for i in range(dock.tabs.count())] == ["Queue", "Comparison"]
    assert dock.tabs.isVisible() and dock.queue_col.isVisible() and dock.splitter.sizes()[1] > 600
    dock.tabs.setCurrentIndex(1)
    assert dock.compare.isVisible()
    dock.resize(1700, 500)   # and back
    qtbot.waitUntil(lambda: dock.wide)
    assert dock.tabs.count() == 0 and dock.queue_col.isVisible() and dock.compare.isVisible()


def test_a_changed_plan_is_not_run_into_the_old_experiment_folder(qtbot, dock, masks_data, tmp_path):
    from segstudio.core.experiments.plan import load_plan
    from segstudio.core.experiments.queue import ExperimentQueue

    plan_file = tmp_path / "same.yaml"
    plan_file.write_text(yaml.safe_dump({"name": "same", "data": str(masks_data), "split": {"holdout_every": 5},
                                         "train": {"epochs": 1}, "grid": {"model": ["unet"], "seed": [0]}}))
    ExperimentQueue.create(load_plan(plan_file), tmp_path / "same")   # it ran before with 1 epoch
    before = (tmp_path / "same" / "queue.json").read_text()
    assert checked(qtbot, dock, lambda: dock.open_plan(plan_file)) == ""
    dock.form.epochs.setValue(7)
    assert dock.plan_dirty
    qtbot.mouseClick(dock.start_button, Qt.LeftButton)   # saved (valid), then refused by the folder's plan
    qtbot.waitUntil(lambda: dock.error_box is not None and dock.error_box.isVisible(), timeout=120_000)
    qtbot.waitUntil(lambda: not dock.running, timeout=120_000)
    text = dock.error_box.text()
    assert "another version of the plan" in text and "train.epochs: 1 -> 7" in text and "another Name" in text
    assert yaml.safe_load(plan_file.read_text())["train"]["epochs"] == 7
    assert (tmp_path / "same" / "queue.json").read_text() == before   # the old experiment is untouched


SHIPPED = sorted((Path(__file__).resolve().parents[2] / "experiments").glob("*.yaml"))


@pytest.mark.parametrize("plan_file", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_a_shipped_plan_opened_in_the_form_and_saved_again_makes_the_same_runs(qtbot, dock, shared_data, plan_file,
                                                                                tmp_path):
    """The form keeps what it has no field for (mappings with options, split seeds, fractions of a minute)."""
    from segstudio.core.experiments.plan import load_plan

    assert checked(qtbot, dock, lambda: dock.open_plan(plan_file)) == ""
    again = tmp_path / plan_file.name
    assert checked(qtbot, dock, lambda: dock.save_plan(again)) == ""
    before, after = load_plan(plan_file), load_plan(again)
    assert after.canonical() == before.canonical()
    assert [r.id for r in after.runs()] == [r.id for r in before.runs()]


def test_unsaved_changes_in_the_form_are_not_replaced_without_asking(qtbot, dock, masks_data, tmp_path):
    plan_file = tmp_path / "other.yaml"
    plan_file.write_text(yaml.safe_dump({"name": "other", "data": str(masks_data), "split": {"holdout_every": 5},
                                         "grid": {"model": ["unetpp"], "seed": [0]}}))
    assert not dock.edited()   # a fresh form on the project: nothing to lose
    asked = []
    dock.confirm_discard = lambda: asked.append(1) or False      # "No": keep my changes
    set_box(qtbot, dock.form.models.boxes["attention_unet"], True)
    assert dock.edited()
    assert not dock.open_plan(plan_file) and not dock.open_experiment(tmp_path)
    assert asked == [1, 1] and dock.form.models.boxes["attention_unet"].isChecked()
    dock.confirm_discard = lambda: asked.append(2) or True       # "Yes": discard them
    assert checked(qtbot, dock, lambda: dock.open_plan(plan_file)) == ""
    assert asked == [1, 1, 2] and dock.form.models.checked() == ["unetpp"] and not dock.edited()
    saved = tmp_path / "mine.yaml"
    dock.form.epochs.setValue(3)
    assert checked(qtbot, dock, lambda: dock.save_plan(saved)) == "" and not dock.edited()   # saved: nothing to lose


def test_the_progress_of_a_run_with_a_time_budget_follows_the_budget(qtbot, tmp_path):
    """A plan's runs usually end by time (``minutes``) long before their ``epochs``: the bar follows the larger
    share (fake clock)."""
    from types import SimpleNamespace

    from segstudio.gui.experiments.queue_view import QueueTable

    table = QueueTable()
    qtbot.addWidget(table)
    now = [100.0]
    table.clock = lambda: now[0]
    entries = [SimpleNamespace(id=f"r{i}", params={"seed": i}, status="pending", run_dir=tmp_path / f"r{i}",
                               error=None) for i in range(2)]
    table.set_entries(entries, 100, 2.0)   # 100 epochs, 2 minutes per run
    table.update_run("r0", status="running", started=table.clock(), epoch=3, epochs=100)
    assert table.fraction_done() == pytest.approx(0.03 / 2)
    now[0] += 60   # half the budget
    assert table.fraction_done() == pytest.approx(0.5 / 2)
    now[0] += 600  # over it (the run is saving its last epoch): never shown as finished before it is
    assert table.fraction_done() == pytest.approx(0.99 / 2)
    table.update_run("r0", status="done")
    assert table.fraction_done() == pytest.approx(0.5) and table.item(0, 2).text() == "3/100"
