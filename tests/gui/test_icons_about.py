"""Icons on every tool and action, toolbar text beside the icons while there is room, the About dialog."""
from __future__ import annotations

import platform

import pytest
from PySide6 import QtCore
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QToolBar, QWidgetAction

from segstudio.gui.icons import ICONS, app_icon, apply_icons, icon


def _drawn(qicon: QIcon, size: int = 24) -> bool:
    """The icon renders visible pixels (a QIcon of a missing file is not null, but draws nothing)."""
    image = qicon.pixmap(size, size).toImage()
    return any(image.pixelColor(x, y).alpha() > 0 for x in range(image.width()) for y in range(image.height()))


@pytest.mark.parametrize("name", sorted(ICONS))
def test_every_icon_renders(qapp, name):
    assert _drawn(icon(name))


def test_unknown_icon_lists_the_known_names(qapp):
    with pytest.raises(KeyError, match="known: .*undo"):
        icon("no-such-action")


def test_app_icon_has_every_size(qapp):
    ic = app_icon()
    sizes = {s.width() for s in ic.availableSizes()}
    assert {16, 24, 32, 48, 64, 128, 256, 512} <= sizes
    assert _drawn(ic, 16) and _drawn(ic, 256)


def test_window_actions_tools_and_toolbar_have_icons(make_window):
    w = make_window(size=(1500, 900))
    assert not w.windowIcon().isNull()
    named = dict(w.actions_by_name)
    assert {"open_folder", "save", "undo", "redo", "delete", "fit", "next", "previous", "help", "about"} <= set(named)
    for name, act in list(named.items()) + list(w.tool_actions.items()):
        assert not act.icon().isNull(), name
        assert _drawn(act.icon()), name
    buttons = [a for a in w.toolbar.actions() if not a.isSeparator() and not isinstance(a, QWidgetAction)]
    assert len(buttons) >= 12
    for act in buttons:
        assert _drawn(act.icon()), act.text()
    # every menu entry that is not a check box (dock toggles, options) has an icon
    assert apply_icons(w) == []


def test_extension_menus_get_icons_too(qtbot, messages):
    from segstudio.gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    texts = {}
    for top in w.menuBar().actions():
        if top.menu() is not None:
            for act in top.menu().actions():
                texts[act.text().replace("&", "")] = act
    for text in ("Train", "Stop", "Resume last run", "Export dataset...", "About segstudio"):
        assert text in texts, sorted(texts)
        assert _drawn(texts[text].icon()), text
    # extension tools and named actions (the assisted tools' toolbar among them)
    for name, act in list(w.actions_by_name.items()) + list(w.tool_actions.items()):
        assert _drawn(act.icon()), name
    for toolbar in w.findChildren(QToolBar):
        for act in toolbar.actions():
            if not act.isSeparator() and not isinstance(act, QWidgetAction):
                assert _drawn(act.icon()), (toolbar.objectName(), act.text())
    assert apply_icons(w) == []


def test_toolbar_text_beside_icons_only_when_there_is_room(qtbot):
    """A window whose toolbars fit with their texts shows them; a narrower one shows icons only, and back.
    (A small window: the offscreen screen is 800 px wide, too narrow for the main window's text toolbar.)"""
    from PySide6.QtWidgets import QMainWindow

    from segstudio.gui.icons import ToolbarTextFit

    w = QMainWindow()
    qtbot.addWidget(w)
    tb = w.addToolBar("Tools")
    for name in ("undo", "redo", "fit"):
        tb.addAction(icon(name), f"{name.capitalize()} text")
    fit = ToolbarTextFit(w, [tb])
    w.installEventFilter(fit)
    w.resize(700, 300)
    w.show()
    qtbot.waitUntil(lambda: tb.toolButtonStyle() == Qt.ToolButtonTextBesideIcon)
    assert 0 < fit.full_width <= 700
    assert tb.widgetForAction(tb.actions()[0]).text() == "Undo text"
    w.resize(fit.full_width - 40, 300)
    qtbot.waitUntil(lambda: tb.toolButtonStyle() == Qt.ToolButtonIconOnly)
    w.resize(700, 300)
    qtbot.waitUntil(lambda: tb.toolButtonStyle() == Qt.ToolButtonTextBesideIcon)


def test_main_window_toolbar_follows_its_width(make_window, qtbot):
    w = make_window()
    fit = w._toolbar_text_fit
    assert w.toolbar in fit.toolbars and fit.full_width > 0
    expected = Qt.ToolButtonTextBesideIcon if w.width() >= fit.full_width else Qt.ToolButtonIconOnly
    assert w.toolbar.toolButtonStyle() == expected
    assert w.toolbar.widgetForAction(w.tool_actions["polygon"]).text().startswith("Polygon")


def test_about_dialog_shows_the_versions_and_copies_them(make_window, qtbot):
    import torch

    from segstudio import __version__

    w = make_window()
    help_menu = next(a.menu() for a in w.menuBar().actions() if a.text().replace("&", "") == "Help")
    about = w.actions_by_name["about"]
    assert about in help_menu.actions()
    about.trigger()
    dialog = w.about_dialog
    qtbot.waitExposed(dialog)
    shown = dialog.versions_label.text()
    for expected in (__version__, torch.__version__, QtCore.qVersion(), platform.python_version(), "CUDA"):
        assert expected in shown, expected
    assert "MIT License" in dialog.head.text()
    assert "Permission is hereby granted" in dialog.license_view.toPlainText()
    assert not dialog.windowIcon().isNull()
    QGuiApplication.clipboard().clear()
    qtbot.mouseClick(dialog.copy_button, Qt.LeftButton)
    copied = QGuiApplication.clipboard().text()
    assert f"torch: {torch.__version__}" in copied and f"segstudio: {__version__}" in copied
    about.trigger()  # a second time: the same dialog, raised
    assert w.about_dialog is dialog
    dialog.close()


def test_a_missing_icon_file_is_logged_not_fatal(make_window, monkeypatch, caplog):
    from segstudio.gui import icons

    monkeypatch.setitem(icons.ICONS, "undo", "no-such-file")
    icons.icon.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="segstudio.gui.icons"):
            w = make_window()
        assert w.actions_by_name["undo"].icon().isNull()
        assert not w.actions_by_name["redo"].icon().isNull()
        assert "no-such-file.svg: missing from segstudio's resources" in caplog.text
    finally:
        icons.icon.cache_clear()
