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
