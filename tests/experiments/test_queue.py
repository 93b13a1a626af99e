"""The experiment queue: runs train in subprocesses one after another and are scored on the held-out images; a
crashed run is marked failed and the next one still runs; a cancelled run goes back to pending and the reopened
queue continues it from its checkpoint; a changed plan and a second runner are refused."""
from __future__ import annotations

import json
import os

import pytest

from segstudio.core.experiments import queue as q
from segstudio.core.experiments.plan import PlanError, load_plan
from segstudio.core.experiments.queue import ExperimentQueue
from segstudio.core.training.run_folder import RunFolder



def test_two_runs_train_and_are_scored_without_seeing_their_held_out_images(tmp_path, tiny_plan, masks_data):
    plan = load_plan(tiny_plan(masks_data))
    queue = ExperimentQueue.create(plan, tmp_path / "EXP")
    events = []
    finished = queue.run(events.append)
    assert finished == q.QueueFinished(done=2, failed=0, cancelled=0)
    assert [type(e).__name__ for e in events if not isinstance(e, q.RunProgress)] == [
        "RunStarted", "RunEvaluating", "RunFinished", "RunStarted", "RunEvaluating", "RunFinished", "QueueFinished"]
    progress = [e for e in events if isinstance(e, q.RunProgress)]
    assert [(e.id, e.epoch, e.epochs) for e in progress] == [
        ("unet-dice_ce-none-s0", 1, 2), ("unet-dice_ce-none-s0", 2, 2),
        ("unet-dice_ce-none-s1", 1, 2), ("unet-dice_ce-none-s1", 2, 2)]
    assert "miou" in progress[0].metrics
    doc = json.loads((tmp_path / "EXP" / "queue.json").read_text())
    assert [e["status"] for e in doc["entries"]] == ["done", "done"]
    assert all(e["started"] and e["finished"] and e["error"] is None for e in doc["entries"])
    split = json.loads((tmp_path / "EXP" / "split.json").read_text())
    held_stems = {n.rsplit(".", 1)[0] for n in split["holdout"]}
    assert held_stems == {"img00", "img04", "img08"}
    for entry in queue.entries:
        run = RunFolder(entry.run_dir)
        assert run.best.is_file() and run.status()["state"] == "completed"
        seen = json.loads(run.split_json.read_text())          # what the run trained and validated on
        assert not held_stems & set(seen["train"] + seen["val"])
        assert len(seen["train"]) + len(seen["val"]) == 9
        assert run.read_config().seed == entry.params["seed"]
        heldout = json.loads((entry.run_dir / "heldout.json").read_text())
        assert sorted(i["name"] for i in heldout["images"]) == sorted(held_stems)
    assert (tmp_path / "EXP" / "plan.yaml").read_text() == plan.text
    assert not (tmp_path / "EXP" / "queue.lock").exists()
    # nothing was written to the data folder
    assert sorted(p.name for p in masks_data.iterdir()) == ["classes.txt", "images", "masks"]


def test_a_crashed_run_is_marked_failed_and_the_queue_goes_on(tmp_path, tiny_plan, masks_data):
    queue = ExperimentQueue.create(load_plan(tiny_plan(masks_data)), tmp_path / "EXP")
    queue.entries[0].args += ["--set", "lr=-1"]     # injected: `segstudio train` refuses it and exits non-zero
    queue.save()
    events = []
    finished = ExperimentQueue.open(tmp_path / "EXP").run(events.append)
    assert (finished.done, finished.failed) == (1, 1)
    first = [e for e in events if isinstance(e, q.RunFinished)][0]
    assert first.status == "failed"
    assert "segstudio train failed (exit status 2)" in first.error and "lr: must be > 0" in first.error
    doc = json.loads((tmp_path / "EXP" / "queue.json").read_text())
    assert [e["status"] for e in doc["entries"]] == ["failed", "done"]
    assert "lr: must be > 0" in doc["entries"][0]["error"]
    # a failed run is left alone by the next run() unless asked to retry it
    again = ExperimentQueue.open(tmp_path / "EXP")
    assert again.unfinished() == [] and [e.id for e in again.unfinished(retry_failed=True)] == [first.id]


def test_cancel_puts_the_run_back_and_the_reopened_queue_continues_it(tmp_path, tiny_plan, masks_data):
    path = tiny_plan(masks_data, train={"epochs": 40}, grid={"seed": [0]})
    queue = ExperimentQueue.create(load_plan(path), tmp_path / "EXP")
    events = []
    finished = queue.run(events.append, cancel=lambda: any(isinstance(e, q.RunProgress) for e in events))
    assert finished.cancelled == 1 and finished.done == 0
    assert [e.status for e in events if isinstance(e, q.RunFinished)] == ["cancelled"]
    entry = ExperimentQueue.open(tmp_path / "EXP").entries[0]
    assert entry.status == "pending"
    run = RunFolder(entry.run_dir)
    done_before = len(run.history())
    assert run.last.is_file() and 1 <= done_before < 40
    assert run.status()["state"] == "cancelled"
    # a restart: the queue is opened from its folder and continues the run from last.pt
    reopened = ExperimentQueue.open(tmp_path / "EXP")
    assert reopened.run().done == 1
    assert [row["epoch"] for row in run.history()] == list(range(1, 41))
    log = (tmp_path / "EXP" / "logs" / f"{entry.id}.out").read_text()
    assert log.count("\n### ") == 2 and "train --resume" in log.split("\n### ")[-1]
    assert (entry.run_dir / "heldout.json").is_file()


def test_an_entry_left_running_by_a_dead_runner_is_resumed(tmp_path, tiny_plan, masks_data):
    queue = ExperimentQueue.create(load_plan(tiny_plan(masks_data, grid={"seed": [0]})), tmp_path / "EXP")
    entry = queue.entries[0]
    entry.status, entry.pid = "running", 2 ** 22 + 12345     # no such process
    queue.save()
    (tmp_path / "EXP" / "queue.lock").write_text(json.dumps({"pid": 2 ** 22 + 12345, "host": __import__(
        "socket").gethostname()}))
    assert ExperimentQueue.open(tmp_path / "EXP").run().done == 1


def test_a_second_runner_is_refused_while_the_first_lives(tmp_path, tiny_plan, masks_data):
    queue = ExperimentQueue.create(load_plan(tiny_plan(masks_data, grid={"seed": [0]})), tmp_path / "EXP")
    (tmp_path / "EXP" / "queue.lock").write_text(json.dumps({"pid": os.getppid(), "host": __import__(
        "socket").gethostname()}))
    with pytest.raises(q.QueueBusy, match=f"being run by process {os.getppid()}"):
        queue.run()
    assert queue.entries[0].status == "pending"


def test_a_changed_plan_is_refused_and_the_same_plan_reopens_its_queue(tmp_path, tiny_plan, masks_data):
    path = tiny_plan(masks_data)
    first = ExperimentQueue.create(load_plan(path), tmp_path / "EXP")
    same = ExperimentQueue.create(load_plan(path), tmp_path / "EXP")
    assert [e.id for e in same.entries] == [e.id for e in first.entries]
    tiny_plan(masks_data, train={"epochs": 3})
    with pytest.raises(PlanError) as info:
        ExperimentQueue.create(load_plan(path), tmp_path / "EXP")
    assert str(info.value).startswith(f"{path}: this experiment folder was made by another version of the plan")
    assert "train.epochs: 2 -> 3" in str(info.value)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(PlanError, match="not an experiment folder"):
        ExperimentQueue.create(load_plan(path), tmp_path / "other")


def test_a_labelme_project_is_rasterized_once_into_the_experiment(tmp_path, tiny_plan, sample_project_ro):
    path = tiny_plan(sample_project_ro, split={"folds": 3})
    plan = load_plan(path)
    assert plan.class_names[0] == "_background_" and len(plan.pairs.images) == 24
    queue = ExperimentQueue.create(plan, tmp_path / "EXP")
    source = tmp_path / "EXP" / "data" / "source"
    assert len(list((source / "masks").iterdir())) == 24 and (source / "classes.txt").is_file()
    folds = queue.split["folds"]
    assert sorted(n for f in folds for n in f) == sorted(p.name for p in (source / "images").iterdir())
    assert len(queue.entries) == 2 * 3


def test_each_fold_trains_on_the_other_folds_and_is_scored_on_its_own(tmp_path, tiny_plan, masks_data):
    plan = load_plan(tiny_plan(masks_data, split={"folds": 2, "seed": 1}, grid={"seed": [0]}))
    queue = ExperimentQueue.create(plan, tmp_path / "EXP")
    assert queue.run().done == 2
    folds = queue.split["folds"]
    for entry in queue.entries:
        own = {n.rsplit(".", 1)[0] for n in folds[entry.fold]}
        seen = json.loads(RunFolder(entry.run_dir).split_json.read_text())
        assert not own & set(seen["train"] + seen["val"])               # never trained or validated on its fold
        assert len(seen["train"]) + len(seen["val"]) == 12 - len(own)   # but on every other image
        heldout = json.loads((entry.run_dir / "heldout.json").read_text())
        assert {i["name"] for i in heldout["images"]} == own
        assert RunFolder(entry.run_dir).read_config().data == str(tmp_path / "EXP" / "data" / f"train-fold{entry.fold}")
