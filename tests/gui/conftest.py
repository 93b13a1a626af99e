"""GUI test isolation: QSettings go to a temp folder, never to the user's real settings."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_qsettings(tmp_path, monkeypatch):
    from PySide6.QtCore import QCoreApplication, QSettings

    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "settings"))
    QCoreApplication.setOrganizationName("segstudio-tests")
    QCoreApplication.setApplicationName("segstudio-tests")
    yield
    # a Training dock's plan preview plans on a parentless worker that outlives the dock: end it here so that
    # it neither spends the next test's CPU nor is destroyed while running at exit
    import sys

    plan_view = sys.modules.get("segstudio.gui.training.plan_view")
    for worker in list(getattr(plan_view, "_RUNNING", ())):
        worker.cancel()
        worker.wait(120_000)


@pytest.fixture
def messages(monkeypatch):
    """Message boxes never block a test: warnings and questions are recorded, questions answered "No"."""
    from PySide6.QtWidgets import QMessageBox

    seen = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: seen.append(a[2] if len(a) > 2 else a))
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: seen.append(a[2] if len(a) > 2 else a) or QMessageBox.No)
    return seen


@pytest.fixture
def make_window(qtbot, messages):
    """``make_window(active=True, size=None)``: a shown MainWindow without extensions (active, i.e. with the
    keyboard focus, unless ``active=False``); its autosave is switched off at teardown."""
    made = []

    def make(*, active: bool = True, size: tuple[int, int] | None = None):
        from segstudio.gui.main_window import MainWindow

        w = MainWindow(extensions=False)
        qtbot.addWidget(w)
        if size:
            w.resize(*size)
        if active:
            with qtbot.waitActive(w):
                w.show()
                w.activateWindow()
        else:
            w.show()
        made.append(w)
        return w

    yield make
    for w in made:
        w.autosaver.enabled = False


@pytest.fixture
def train_dock(qtbot, sample_project):
    """A TrainingDock on a private copy of the sample project (one torch thread), shut down at teardown."""
    from segstudio.core.project import Project
    from segstudio.gui.training import TrainingDock

    d = TrainingDock(Project(sample_project), torch_threads=1)
    qtbot.addWidget(d)
    yield d
    d.shutdown()


@pytest.fixture(scope="session")
def tiny_checkpoint(sample_project_ro, tmp_path_factory):
    """A 1-epoch tiny U-Net trained on (a copy of) the sample project: best.pt."""
    import shutil

    from segstudio.core.training import TrainConfig, train

    src = tmp_path_factory.mktemp("ckpt") / "project"
    shutil.copytree(sample_project_ro, src)
    cfg = TrainConfig(data=str(src), out=str(src / "runs" / "tiny"), labels=str(src / "labels.txt"), epochs=1,
                      batch_size=8, img_size=64, device="cpu", model_kwargs={"base": 4, "depth": 2})
    events = list(train(cfg))
    assert type(events[-1]).__name__ == "Finished", events[-1]
    return src / "runs" / "tiny" / "best.pt"
