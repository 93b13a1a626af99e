"""Training dock, Auto configuration: the plan is shown before Start (planned on a worker thread), Train uses
it (RUN/plan.json, the planned settings, the post-processing chosen on the validation split), fields the user
sets are kept, Manual hides the plan."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from segstudio.core.checkpoint import load_checkpoint  # noqa: E402

TIMEOUT = 180_000


@pytest.fixture
def dock(train_dock):
    return train_dock


def test_dock_shows_the_plan_before_start_and_trains_it(qtbot, dock):
    dock.show()                           # the plan is made while the dock is on screen
    form = dock.form
    form.set_values(config="auto")
    # the user's fields: a small image and one epoch (kept by the plan); the rest is planned
    form.img_size.setValue(64)
    form.epochs.setValue(1)
    form.set_values(device="cpu", max_minutes=0)
    assert form.explicit_fields() >= {"img_size", "epochs"} and "loss" not in form.explicit_fields()
    view = dock.plan_view
    qtbot.waitUntil(lambda: view.plan is not None, timeout=TIMEOUT)
    assert view.isVisible()
    text = view.text()
    assert text == view.plan.summary and text.startswith("Auto: 64 px, U-Net base ")
    assert "because" in text and "img_size: 64 (user)" in view.toolTip()
    assert not dock.controller.running    # shown before Start

    with qtbot.waitSignal(dock.controller.finished, timeout=TIMEOUT) as fin:
        qtbot.mouseClick(dock.train_button, Qt.LeftButton)
    run = dock.controller.run_dir
    plan = json.loads((run / "plan.json").read_text())
    assert plan["summary"] == text and plan["choices"]["img_size"]["source"] == "user"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["img_size"] == 64 and cfg["epochs"] == 1 and cfg["patience"] == 0
    assert fin.args[0].reason in ("completed", "time_budget")
    assert "post-processing chosen on" in dock.log.toPlainText()
    assert "postprocess" in load_checkpoint(run / "best.pt")


def test_manual_hides_the_plan_and_auto_again_hands_fields_back(qtbot, dock):
    dock.show()
    form = dock.form
    form.set_values(config="auto")
    form.img_size.setValue(96)
    assert "img_size" in form.explicit_fields()
    idx = form.config_mode.findData("manual")
    form.config_mode.setCurrentIndex(idx)
    form.config_mode.activated.emit(idx)
    assert not form.auto() and dock.plan_view.isHidden()
    idx = form.config_mode.findData("auto")
    form.config_mode.setCurrentIndex(idx)
    form.config_mode.activated.emit(idx)
    assert form.auto() and form.explicit_fields() == set()
    qtbot.waitUntil(lambda: dock.plan_view.plan is not None, timeout=TIMEOUT)
    assert dock.plan_view.plan.choices["img_size"]["source"] == "auto"
