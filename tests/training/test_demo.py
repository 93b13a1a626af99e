"""The headless demo pipeline writes a complete report folder."""
from __future__ import annotations

import json

from segstudio.core.training.demo import run_demo
from segstudio.core.training.events import EpochEnd, Finished


def test_demo_writes_report(tmp_path):
    events = []
    res = run_demo(tmp_path / "demo", minutes=0.1, on_event=events.append)
    assert isinstance(events[-1], Finished) and any(isinstance(e, EpochEnd) for e in events)
    rep = res.report_dir
    for name in ("report.md", "report.html", "metrics.json", "metrics.csv", "curves.png"):
        assert (rep / name).is_file(), name
    metrics = json.loads((rep / "metrics.json").read_text())
    n_val = len(json.loads((res.run_dir / "split.json").read_text())["val"])
    assert metrics["n_images"] == n_val == 6
    assert metrics["classes"] == ["_background_", "lesion", "cyst"]
    assert len(list((rep / "overlays").glob("*.png"))) == n_val
    assert len(list((rep / "predictions").glob("*.png"))) == n_val
    md = (rep / "report.md").read_text()
    assert "| lesion |" in md and "held-out" in md


def test_demo_refuses_to_delete_foreign_folders(tmp_path):
    import pytest

    from segstudio.core.errors import ConfigError

    (tmp_path / "demo" / "run").mkdir(parents=True)
    (tmp_path / "demo" / "run" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not written by"):
        run_demo(tmp_path / "demo", minutes=0.05)
    assert (tmp_path / "demo" / "run" / "notes.txt").read_text() == "mine"


def test_demo_refuses_a_foreign_project_folder(tmp_path):
    import pytest

    from segstudio.core.errors import ConfigError

    project = tmp_path / "demo" / "project"
    project.mkdir(parents=True)
    (project / "labels.txt").write_text("__ignore__\n_background_\ntumour\n")
    (project / "scan.json").write_text("{}")
    with pytest.raises(ConfigError, match="not a sample project written by") as ei:
        run_demo(tmp_path / "demo", minutes=0.05)
    assert str(project) in str(ei.value)
    assert (project / "labels.txt").read_text() == "__ignore__\n_background_\ntumour\n"
    assert (project / "scan.json").read_text() == "{}"
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == ["project"]  # nothing else written


def test_demo_cli_runs_and_reruns_over_its_own_folders(tmp_path, capsys):
    import torch

    from segstudio.cli import main
    from segstudio.core.training.demo import PROJECT_MARKER

    before = torch.get_num_threads()
    try:
        out = tmp_path / "demo"
        assert main(["demo", "--out", str(out), "--minutes", "0.05", "-q"]) == 0, capsys.readouterr().err
        text = capsys.readouterr().out
        assert "held-out scores (6 images)" in text and "report.html" in text
        assert (out / "project" / PROJECT_MARKER).is_file() and (out / "report" / "report.html").is_file()
        # a second run replaces the demo's own project, run and report folders
        assert main(["demo", "--out", str(out), "--minutes", "0.05", "-q"]) == 0, capsys.readouterr().err
    finally:
        torch.set_num_threads(before)
