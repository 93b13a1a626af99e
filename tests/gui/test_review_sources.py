"""Which model made the predictions under review: recorded per image, shown in the whole-set summary."""
from __future__ import annotations

import shutil

import pytest

pytest.importorskip("pytestqt")

from segstudio.core.project import Project  # noqa: E402
from segstudio.gui.document_model import DocumentModel  # noqa: E402
from segstudio.gui.review import ReviewDock  # noqa: E402

TIMEOUT = 120_000


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
        dock.metrics.set_scope("all")
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
