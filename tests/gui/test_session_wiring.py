"""The window and its docks share one session: a recoloured class is the same colour everywhere, the image and
the chosen checkpoint reach the docks through the session's events, and plugins install window extensions
through the same registration path as the built-in docks."""
from __future__ import annotations

import types
from importlib import metadata

import pytest

pytest.importorskip("PySide6")

from PySide6.QtGui import QColor  # noqa: E402
from PySide6.QtWidgets import QColorDialog  # noqa: E402

from segstudio.core import registry  # noqa: E402
from segstudio.core.session import WINDOW_EXTENSIONS  # noqa: E402
from segstudio.gui.main_window import MainWindow  # noqa: E402


@pytest.fixture
def win(qtbot, messages):
    w = MainWindow()
    qtbot.addWidget(w)
    yield w
    w.autosaver.enabled = False


def _swatch(panel, name) -> QColor:
    item = next(panel.tree.topLevelItem(i) for i in range(panel.tree.topLevelItemCount())
                if panel.tree.topLevelItem(i).text(0) == name)
    return item.icon(0).pixmap(14, 14).toImage().pixelColor(7, 7)


def test_recoloured_class_is_the_same_colour_in_canvas_panel_and_review(win, sample_project, monkeypatch):
    assert win.extension_errors == []
    win.open_project(sample_project)
    review = win.docks["review"]
    new = QColor(12, 200, 34)
    monkeypatch.setattr(QColorDialog, "getColor", lambda *a, **k: new)
    win.class_panel.set_current_class("lesion")
    win.class_panel.color_button.click()
    assert win.canvas.label_color("lesion") == new
    assert _swatch(win.class_panel, "lesion") == new
    cid = win.project.label_set.id_of("lesion")
    assert review.view.palette[cid].tolist() == [12, 200, 34]
    # and a new window on the same folder starts with it
    w2 = MainWindow(extensions=False)
    w2.open_project(sample_project)
    assert w2.canvas.label_color("lesion") == new
    w2.close()


def test_docks_follow_the_sessions_image_and_checkpoint(win, sample_project, tmp_path):
    win.open_project(sample_project)
    review, training = win.docks["review"], win.docks["training"]
    assert review.project is win.project and training.project is win.project
    win.next_image()
    assert review.entry is win.current_entry and review.entry.stem == "img_001"
    ckpt = tmp_path / "run" / "best.pt"
    training.checkpointChosen.emit(ckpt)              # "Use for prediction" in the runs list
    assert win.session.checkpoint == ckpt and review.checkpoint == ckpt
    assert review.checkpoint_label.text() == "Model: run/best.pt"


def test_plugin_window_extension_uses_the_same_path(qtbot, messages, monkeypatch):
    """An entry point of the segstudio.plugins group registers a window extension; the window installs it."""
    mod = types.ModuleType("segstudio_fake_dock_plugin")

    def register():
        @WINDOW_EXTENSIONS.register("fake-dock")
        def install(session, services):
            from PySide6.QtWidgets import QDockWidget, QLabel

            dock = QDockWidget("Fake")
            dock.setWidget(QLabel("from a plugin"))
            services.add_dock("fake", dock)
            session.events.project.connect(lambda p: dock.setWindowTitle(f"Fake: {p.name}"))

    mod.register = register
    monkeypatch.setitem(__import__("sys").modules, "segstudio_fake_dock_plugin", mod)
    ep = metadata.EntryPoint(name="fake", value="segstudio_fake_dock_plugin:register", group="segstudio.plugins")
    fake = types.SimpleNamespace(entry_points=lambda group=None: [ep] if group == ep.group else [])
    monkeypatch.setattr(registry, "metadata", fake)
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    monkeypatch.setattr(WINDOW_EXTENSIONS, "entries", dict(WINDOW_EXTENSIONS.entries))
    w = MainWindow(extensions=["fake-dock"])
    qtbot.addWidget(w)
    assert w.extension_errors == [] and "fake-dock" in WINDOW_EXTENSIONS.entries
    assert w.docks["fake"] in w.tabifiedDockWidgets(w.docks["flags"])
    assert "training" not in w.docks                 # only the extensions named were installed


def test_a_plugin_that_fails_to_load_is_reported_in_the_window(qtbot, messages, monkeypatch):
    ep = metadata.EntryPoint(name="broken", value="segstudio_no_such_plugin:register", group="segstudio.plugins")
    fake = types.SimpleNamespace(entry_points=lambda group=None: [ep] if group == ep.group else [])
    monkeypatch.setattr(registry, "metadata", fake)
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    monkeypatch.setattr(registry, "plugin_errors", [])
    w = MainWindow(extensions=[])
    qtbot.addWidget(w)
    assert len(w.extension_errors) == 1 and w.extension_errors[0].startswith("plugin broken: ModuleNotFoundError")
    assert w.last_error.startswith("Some extensions failed: plugin broken")


def test_an_extensions_tool_action_is_exclusive_with_the_windows_tools(qtbot, messages, monkeypatch):
    from PySide6.QtGui import QAction

    got = {}
    monkeypatch.setattr(WINDOW_EXTENSIONS, "entries", dict(WINDOW_EXTENSIONS.entries))

    @WINDOW_EXTENSIONS.register("fake-tool")
    def install(session, services):
        act = QAction("Fake tool", services.window)
        act.setCheckable(True)
        services.add_tool_action("fake_tool", act)
        bar = services.add_toolbar("fake", "Fake")
        bar.addAction(act)
        services.publish("fake_tool_action", act)
        with pytest.raises(ValueError, match="already has 'canvas'"):
            services.publish("canvas", act)
        got["bar"] = bar

    w = MainWindow(extensions=["fake-tool"])
    qtbot.addWidget(w)
    assert w.extension_errors == []
    act = w.fake_tool_action
    assert w.tool_actions["fake_tool"] is act and w.actions_by_name["fake_tool"] is act
    assert got["bar"].objectName() == "toolbar_fake"
    w.tool_actions["polygon"].setChecked(True)
    assert w.tool_actions["polygon"].isChecked()
    act.setChecked(True)                # the window's tool group makes the tools exclusive
    assert act.isChecked() and not w.tool_actions["polygon"].isChecked()
    w.autosaver.enabled = False
