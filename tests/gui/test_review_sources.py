"""Which model made the predictions under review: recorded per image, shown in the whole-set summary."""
from __future__ import annotations

import shutil

import pytest

pytest.importorskip("pytestqt")

from segstudio.core.project import Project  # noqa: E402
from segstudio.gui.document_model import DocumentModel  # noqa: E402
from segstudio.gui.review import ReviewDock  # noqa: E402
from segstudio.gui.review.evaluate import sources_summary  # noqa: E402

TIMEOUT = 120_000


def test_sources_summary_words():
    assert sources_summary({}) == ""
    assert sources_summary({"/r/run1/best.pt": 3}, "/r/run1/best.pt") == "Predicted with run1/best.pt"
    assert "not the chosen model" in sources_summary({"/r/run1/best.pt": 3}, "/r/run2/best.pt")
    mixed = sources_summary({"/r/run1/best.pt": 1, "/r/run2/last.pt": 4, "": 2})
    assert mixed.startswith("Mixed predictions of 3 models (run2/last.pt ×4, an unknown model ×2, run1/best.pt ×1)")


def test_project_records_prediction_sources(tmp_path):
    p = Project(tmp_path)
    assert p.prediction_sources() == {}
    p.record_prediction_sources(["a", "b"], tmp_path / "run1" / "best.pt")
    p.record_prediction_sources(["b"], tmp_path / "run2" / "best.pt")
    assert p.prediction_sources() == {"a": str(tmp_path / "run1" / "best.pt"),
                                      "b": str(tmp_path / "run2" / "best.pt")}
    (p.predictions_dir / "sources.json").write_text("{broken")
    assert p.prediction_sources() == {}  # unreadable record: unknown sources, never an error


def test_summary_names_the_model_and_warns_when_it_is_not_the_chosen_one(qtbot, sample_project, tiny_checkpoint,
                                                                         tmp_path):
    dock = ReviewDock(Project(sample_project), DocumentModel())
    qtbot.addWidget(dock)
    try:
        dock.set_checkpoint(tiny_checkpoint)
        entry = dock.project.images[0]
        dock.set_entry(entry)
        with qtbot.waitSignal(dock.evaluated, timeout=TIMEOUT):
            assert dock.predict(all_images=False)
        qtbot.waitUntil(lambda: dock.worker is None, timeout=30_000)
        dock.metrics.scope.setCurrentText("Whole set")
        dock.show_metrics()
        run = tiny_checkpoint.parent.name
        assert f"Predicted with {run}/best.pt" in dock.metrics.summary.text()
        assert dock.project.prediction_sources() == {entry.stem: str(tiny_checkpoint)}
        other = tmp_path / "other_run" / "best.pt"  # choosing another model: the shown masks are not its own
        other.parent.mkdir()
        shutil.copy(tiny_checkpoint, other)
        dock.set_checkpoint(other)
        dock.show_metrics()
        assert "not the chosen model" in dock.metrics.summary.text()
    finally:
        dock.shutdown()
