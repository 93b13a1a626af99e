"""RunFolder: one run-name policy, the runs list's summary (one mIoU column), status, and one resume path used
by `segstudio train --resume` and the GUI."""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from segstudio.core.errors import CheckpointError, ConfigError
from segstudio.core.training import (BatchEnd, RunFolder, TrainConfig, list_runs, load_checkpoint, resume_point,
                                     train)
from segstudio.core.training.run_folder import default_runs_dir


def test_new_names_by_start_time_and_model_and_never_reuses_a_folder(tmp_path):
    now = datetime(2026, 12, 4, 9, 30, 5)
    first = RunFolder.new(tmp_path, "smp:Unet:resnet18", now=now)
    assert first.path == tmp_path / "20261204-093005-smp_Unet_resnet18" and not first.path.exists()
    first.path.mkdir()
    second = RunFolder.new(tmp_path, "smp:Unet:resnet18", now=now)
    assert second.path.name == "20261204-093005-smp_Unet_resnet18-2"
    assert first.started() == now


def test_a_run_writes_what_the_list_reads(tiny_cfg, tmp_path):
    events = list(train(tiny_cfg))
    run = RunFolder(tiny_cfg.out)
    assert run.status()["state"] == "completed" and run.status()["epochs_done"] == 2
    assert run.read_config().epochs == 2 and run.checkpoint() == run.best
    history = run.history()
    assert [r["epoch"] for r in history] == [1, 2] and all("miou" in r for r in history)
    best, epoch = run.best_metric()
    assert best == pytest.approx(events[-1].best_miou, abs=1e-5) and epoch == events[-1].best_epoch
    summary = list_runs(tmp_path)[0]
    assert (summary.path, summary.epochs_done, summary.status, summary.resumable) == (run.path, 2, "completed", True)
    assert summary.config["model"] == "unet" and summary.best_epoch == epoch and not summary.problem


def test_status_follows_the_run(tiny_cfg):
    states = []
    for ev in train(tiny_cfg.replace(epochs=3), cancel=lambda: bool(states)):
        if isinstance(ev, BatchEnd):
            states.append(RunFolder(tiny_cfg.out).status()["state"])
    assert states == ["running"]
    assert RunFolder(tiny_cfg.out).status()["state"] == "cancelled"
    events = list(train(tiny_cfg.replace(out=tiny_cfg.out + "-nan", lr=1e30, optimizer="sgd", momentum=0.0)))
    assert type(events[-1]).__name__ == "Failed"
    status = RunFolder(tiny_cfg.out + "-nan").status()
    assert status["state"] == "failed" and "loss became" in status["message"]


def test_list_newest_first_with_problems_reported_not_raised(tmp_path):
    runs = tmp_path / "runs"
    for name in ("20261101-090000-unet", "20261102-090000-unet"):
        folder = RunFolder(runs / name)
        folder.path.mkdir(parents=True)
        TrainConfig(data="d", out=str(folder.path)).to_json(folder.config_json)
        folder.write_history([{"epoch": 1, "train_loss": 0.5, "val_loss": 0.6, "miou": 0.25}])
    (runs / "not-a-run").mkdir()
    broken = RunFolder(runs / "20261103-090000-unet")
    broken.path.mkdir()
    broken.config_json.write_text("{not json", encoding="utf-8")
    listed = list_runs(runs)
    assert [r.path.name for r in listed] == ["20261103-090000-unet", "20261102-090000-unet", "20261101-090000-unet"]
    assert str(broken.config_json) in listed[0].problem and listed[0].config == {}
    assert listed[1].best_miou == 0.25 and listed[1].best_epoch == 1 and listed[1].checkpoint is None
    assert listed[1].status == "" and not listed[1].resumable
    assert list_runs(tmp_path / "nothing") == []


def test_resume_from_the_folder_or_a_checkpoint_gives_the_checkpoints_settings(tiny_cfg, tmp_path):
    cfg = tiny_cfg.replace(epochs=3, checkpoint_every=1)
    list(train(cfg, cancel=lambda: os.path.exists(os.path.join(cfg.out, RunFolder.LAST))))
    # the config file is edited after the run: resume follows the checkpoint, not the file
    RunFolder(cfg.out).config_json.write_text(json.dumps({**cfg.to_dict(), "epochs": 99}), encoding="utf-8")
    point = resume_point(cfg.out)
    assert point.checkpoint == RunFolder(cfg.out).last
    assert (point.config.epochs, point.config.out, point.config.resume) == (3, cfg.out, str(point.checkpoint))
    periodic = RunFolder(cfg.out).periodic(1)
    assert resume_point(periodic).checkpoint == periodic
    with pytest.raises(CheckpointError, match="weights only"):
        resume_point(RunFolder(cfg.out).best)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no last.pt"):
        resume_point(tmp_path / "empty")
    events = list(train(point.config))
    assert events[0].start_epoch == 2 and events[-1].reason == "completed" and events[-1].epochs_done == 3


def test_cli_without_out_names_the_run_like_the_app(tiny_project, tmp_path):
    from segstudio.cli import build_parser
    from segstudio.commands.train import build_config

    parser = build_parser()
    cfg = build_config(parser.parse_args(["train", "--data", str(tiny_project), "--model", "unet"]))
    folder = RunFolder(cfg.out)
    assert folder.path.parent == tiny_project / "runs" and folder.path.name.endswith("-unet")
    datetime.strptime(folder.path.name[:15], "%Y%m%d-%H%M%S")
    cfg = build_config(parser.parse_args(["train", "--data", str(tiny_project), "--runs", str(tmp_path / "r")]))
    assert RunFolder(cfg.out).path.parent == tmp_path / "r"
    masks = tmp_path / "masks_dataset"       # not a project the app opens: runs go to ./runs
    (masks / "images").mkdir(parents=True)
    assert default_runs_dir(masks) == Path("runs") and default_runs_dir(tiny_project) == tiny_project / "runs"


def test_cli_resume_of_a_run_folder(tiny_cfg):
    from segstudio.cli import build_parser
    from segstudio.commands.train import build_config

    list(train(tiny_cfg, cancel=lambda: os.path.exists(os.path.join(tiny_cfg.out, RunFolder.LAST))))
    cfg = build_config(build_parser().parse_args(["train", "--resume", tiny_cfg.out, "--epochs", "5"]))
    assert cfg.resume == str(RunFolder(tiny_cfg.out).last) and cfg.out == tiny_cfg.out and cfg.epochs == 5
    assert cfg.model_kwargs == tiny_cfg.model_kwargs
    assert load_checkpoint(cfg.resume)["config"]["epochs"] == 2


def test_read_config_of_a_folder_without_one(tmp_path):
    with pytest.raises(ConfigError, match="no config.json"):
        RunFolder(tmp_path).read_config()


def test_an_exception_after_started_is_recorded_as_failed(tiny_cfg, monkeypatch):
    from segstudio.core.errors import DatasetError
    from segstudio.core.training.data_setup import FittedSubset

    def broken(self, cancel=None):
        raise DatasetError("cannot decode image", "img_003.png")

    monkeypatch.setattr(FittedSubset, "fill_cache", broken)
    with pytest.raises(DatasetError):
        list(train(tiny_cfg))
    status = RunFolder(tiny_cfg.out).status()
    assert status == {"state": "failed", "message": "img_003.png: cannot decode image"}
