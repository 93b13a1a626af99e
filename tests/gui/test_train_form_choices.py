"""The training form's model, loss and device lists (issue 10): built before torch from core.catalog, loaded from
the registries (plugins included) on a worker after the form's first paint; values given before that (restored
settings: a plugin's loss, the CUDA device) are applied when the lists arrive, unless the user chose otherwise.
Without torch in the process the same path runs in tests/test_startup_imports.py."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt  # noqa: E402

from segstudio.core.catalog import BUILTIN_LOSSES, BUILTIN_MODELS  # noqa: E402
from segstudio.gui.training import choices as choices_mod  # noqa: E402
from segstudio.gui.training import form as form_mod  # noqa: E402
from segstudio.gui.training.choices import Choices, ChoicesLoader, full_choices, light_choices  # noqa: E402
from segstudio.gui.training.form import SETTINGS_PREFIX, TrainForm  # noqa: E402

GPU = (("auto", "Auto (CUDA: Test GPU)"), ("cpu", "CPU"), ("cuda", "CUDA (Test GPU)"))


def items(box) -> list[str]:
    return [box.itemText(i) for i in range(box.count())]


def full_with_plugin() -> Choices:
    return Choices({**BUILTIN_MODELS, "plugin_net": "A plugin's model."},
                   {**BUILTIN_LOSSES, "plugin_loss": "A plugin's loss."}, GPU, complete=True)


@pytest.fixture
def light_form(qtbot, monkeypatch):
    """A form built as before torch is imported (the light lists), with a loader of its own."""
    monkeypatch.setattr(form_mod, "ready_choices", light_choices)
    monkeypatch.setattr(ChoicesLoader, "_instance", None)
    form = TrainForm()
    qtbot.addWidget(form)
    yield form
    ChoicesLoader.instance().wait()


def test_before_torch_the_form_lists_the_builtin_names_with_their_descriptions(light_form):
    assert items(light_form.model) == sorted(BUILTIN_MODELS)
    assert items(light_form.loss) == sorted(BUILTIN_LOSSES)
    i = light_form.loss.findText("tversky")
    assert light_form.loss.itemData(i, Qt.ToolTipRole) == BUILTIN_LOSSES["tversky"]
    assert [light_form.device.itemData(i) for i in range(light_form.device.count())] == ["auto", "cpu"]
    assert "looking for a CUDA GPU" in light_form.device.itemText(0)
    assert light_form.values()["loss"] == "dice_ce" and light_form.values()["device"] == "auto"


def test_values_not_listed_yet_are_applied_when_the_lists_arrive(qtbot, light_form):
    light_form.set_values(loss="plugin_loss", device="cuda", model="plugin_net", epochs=7)
    assert light_form.loss.currentText() == "dice_ce" and light_form.device.currentData() == "auto"
    assert light_form.model.currentText() == "plugin_net"   # editable: shown at once
    v = light_form.values()   # what was asked for counts (Train now, the plan), not what the light lists show
    assert (v["loss"], v["device"], v["model"], v["epochs"]) == ("plugin_loss", "cuda", "plugin_net", 7)
    light_form.save_settings()
    assert QSettings().value(SETTINGS_PREFIX + "loss") == "plugin_loss"
    assert QSettings().value(SETTINGS_PREFIX + "device") == "cuda"
    light_form.set_choices(full_with_plugin())
    assert light_form.values() == v
    assert (light_form.loss.currentText(), light_form.device.currentData()) == ("plugin_loss", "cuda")
    assert items(light_form.loss) == sorted([*BUILTIN_LOSSES, "plugin_loss"])
    assert items(light_form.model) == sorted([*BUILTIN_MODELS, "plugin_net"])
    assert light_form.device.itemText(0) == "Auto (CUDA: Test GPU)"
    assert {"loss", "model", "epochs"} <= light_form.explicit_fields()


def test_a_value_the_registries_do_not_know_is_dropped_and_the_plan_is_redone(qtbot, light_form):
    light_form.set_values(device="cuda")    # e.g. restored settings of a machine with a GPU
    assert light_form.values()["device"] == "cuda"
    with qtbot.waitSignal(light_form.changed, timeout=1000):
        light_form.set_choices(Choices(dict(BUILTIN_MODELS), dict(BUILTIN_LOSSES),
                                       (("auto", "Auto (CPU: no CUDA GPU found)"), ("cpu", "CPU")), complete=True))
    assert light_form.values()["device"] == "auto"


def test_settings_restore_a_plugin_loss_once_the_lists_arrive(light_form, monkeypatch, qtbot):
    QSettings().setValue(SETTINGS_PREFIX + "loss", "plugin_loss")
    QSettings().setValue(SETTINGS_PREFIX + "device", "cuda")
    form = TrainForm()
    qtbot.addWidget(form)
    assert form.loss.currentText() == "dice_ce" and form.values()["loss"] == "plugin_loss"
    form.set_choices(full_with_plugin())
    assert form.loss.currentText() == "plugin_loss"
    assert (form.values()["loss"], form.values()["device"]) == ("plugin_loss", "cuda")
    assert form.auto() and "loss" not in form.explicit_fields()   # restored, not the user's new choice


def test_the_users_choice_before_the_lists_arrive_wins(qtbot, light_form):
    light_form.set_values(loss="plugin_loss")
    qtbot.keyClicks(light_form.loss, "jaccard")   # the user picks a loss from the light list
    assert light_form.values()["loss"] == "jaccard"
    light_form.set_choices(full_with_plugin())
    assert light_form.values()["loss"] == "jaccard"


def test_first_paint_loads_the_registries_on_a_worker_with_the_plugins(qtbot, light_form, monkeypatch):
    from segstudio.core.models import MODELS

    def plugin_net(in_channels=3, num_classes=2):
        """A plugin's network."""
        return None

    monkeypatch.setitem(MODELS.entries, "plugin_net", plugin_net)
    loader = ChoicesLoader.instance()
    assert loader.choices is None and loader.worker is None   # nothing loads before the form is painted
    with qtbot.waitSignal(loader.loaded, timeout=60_000) as blocker:
        light_form.show()
    assert blocker.args[0].complete and loader.choices is blocker.args[0]
    qtbot.waitUntil(lambda: light_form.choices.complete)
    assert "plugin_net" in items(light_form.model)
    i = light_form.model.findText("plugin_net")
    assert light_form.model.itemData(i, Qt.ToolTipRole) == "A plugin's network."
    assert set(items(light_form.loss)) == set(full_choices().losses)
    assert "looking" not in light_form.device.itemText(0)
    qtbot.waitUntil(lambda: loader.worker is None)


def test_a_form_built_with_torch_loaded_has_the_full_lists_at_once(qtbot, monkeypatch):
    monkeypatch.setattr(choices_mod, "device_choices", lambda: list(GPU))
    form = TrainForm()
    qtbot.addWidget(form)
    assert form.choices.complete and form.device.findData("cuda") == 2
    assert set(BUILTIN_MODELS) <= set(items(form.model))
