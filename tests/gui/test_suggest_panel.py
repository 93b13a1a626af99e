"""Active learning in the window: rank on a worker, sort the image list, Next suggested (Ctrl+J), cancel."""
import threading

import pytest
import torch
from PySide6.QtCore import Qt

from segstudio.core.inference import Predictor
from segstudio.core.inference.uncertainty import score_entries, unannotated_entries
from segstudio.core.project import Project


@pytest.fixture
def project_and_ckpt(sample_project, tmp_path):
    """The sample project with 8 images left unannotated, and an (untrained) tiny U-Net checkpoint."""
    from segstudio.core.models import build_model

    jsons = sorted(sample_project.glob("*.json"))
    for j in [p for p in jsons if p.name != "segstudio.json"][:8]:
        j.unlink()
    torch.manual_seed(0)
    kwargs = {"base": 4, "depth": 2}
    model = build_model("unet", in_channels=3, num_classes=3, **kwargs)
    names = Project(sample_project).label_set.names
    ckpt = tmp_path / "best.pt"
    torch.save({"format": "segstudio-checkpoint", "format_version": 1,
                "model": {"name": "unet", "in_channels": 3, "num_classes": len(names), "kwargs": kwargs},
                "state_dict": build_model("unet", in_channels=3, num_classes=len(names), **kwargs).state_dict(),
                "class_names": list(names), "img_size": 64, "resize_mode": "letterbox", "epoch": 1,
                "metrics": {"miou": 0.1}, "config": {}}, ckpt)
    del model
    return sample_project, ckpt


@pytest.fixture
def window(qtbot, messages):
    from segstudio.gui.main_window import MainWindow

    w = MainWindow(extensions=["suggest"])
    qtbot.addWidget(w)
    with qtbot.waitActive(w):
        w.show()
        w.activateWindow()
    yield w
    w.autosaver.enabled = False


def _panel(window):
    """The Suggest dock's panel, its tab brought to the front (as the user clicks it)."""
    from segstudio.gui.suggest_panel import SuggestPanel

    window.docks["suggest"].show()
    window.docks["suggest"].raise_()
    panel = window.findChild(SuggestPanel)
    assert panel.isVisible()
    return panel


def _rank(qtbot, panel):
    with qtbot.waitSignal(panel.rankingReady, timeout=120_000):
        qtbot.mouseClick(panel.rank_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.worker is None, timeout=10_000)


def test_rank_sort_and_next_suggested(qtbot, window, project_and_ckpt):
    folder, ckpt = project_and_ckpt
    window.open_project(folder)
    panel = _panel(window)
    assert not panel.rank_button.isEnabled()          # no model yet
    window.session.set_checkpoint(ckpt)
    assert panel.rank_button.isEnabled()
    _rank(qtbot, panel)

    project = window.project
    expected = score_entries(Predictor.from_checkpoint(ckpt, device="cpu", tta=False, postprocess=False),
                             unannotated_entries(project)).names()
    assert [u.name for u in panel.ranking] == expected
    assert len(expected) == 8
    assert panel.list.count() == 8 and panel.list.item(0).text().startswith(expected[0])
    assert "8 unannotated image(s) ranked" in panel.message.text()

    tree = window.file_list.tree
    name_order = [tree.topLevelItem(i).data(0, Qt.UserRole).stem for i in range(tree.topLevelItemCount())]
    qtbot.mouseClick(panel.sort_box, Qt.LeftButton)
    assert panel.sort_box.isChecked()
    shown = [tree.topLevelItem(i).data(0, Qt.UserRole).stem for i in range(tree.topLevelItemCount())]
    assert shown[:8] == expected
    assert sorted(shown) == sorted(name_order)
    qtbot.mouseClick(panel.sort_box, Qt.LeftButton)   # unticked: name order again
    assert [tree.topLevelItem(i).data(0, Qt.UserRole).stem for i in range(tree.topLevelItemCount())] == name_order

    window.canvas.setFocus()
    qtbot.keyClick(window, Qt.Key_J, Qt.ControlModifier)
    assert window.current_entry.stem == expected[0]
    qtbot.keyClick(window, Qt.Key_J, Qt.ControlModifier)   # the shown one is skipped
    assert window.current_entry.stem == expected[1]


def test_ranking_can_be_cancelled(qtbot, window, project_and_ckpt, monkeypatch):
    import segstudio.core.inference.uncertainty as unc

    folder, ckpt = project_and_ckpt
    window.open_project(folder)
    window.session.set_checkpoint(ckpt)
    panel = _panel(window)
    started, go = threading.Event(), threading.Event()
    real = unc.image_uncertainty

    def held_first(predictor, image, name=""):   # the worker holds on the first image until Cancel was clicked
        started.set()
        go.wait(60)
        return real(predictor, image, name)

    monkeypatch.setattr(unc, "image_uncertainty", held_first)
    qtbot.mouseClick(panel.rank_button, Qt.LeftButton)
    assert panel.cancel_button.isEnabled() and panel.progress.isVisible()
    qtbot.waitUntil(started.is_set, timeout=60_000)
    qtbot.mouseClick(panel.cancel_button, Qt.LeftButton)
    assert panel.worker.is_cancelling()
    go.set()
    qtbot.waitUntil(lambda: panel.worker is None, timeout=60_000)
    assert panel.message.text() == "Ranking cancelled"
    assert panel.ranking == [] and not panel.next_button.isEnabled()
    assert panel.rank_button.isEnabled()
