"""What makes the window segstudio's: the application icon, Help ▸ About, the icons of every action.

``setup_application(app)`` runs once when gui/app.py makes the QApplication (icon of every window, crash
reports and the rotating log file); ``brand_window(window)`` runs at the end of the main window's
construction, after the extensions added their menus.
"""
from __future__ import annotations

import logging

from PySide6.QtWidgets import QApplication, QMainWindow

from segstudio.assets import ResourceNotFound
from segstudio.gui.crash import install_crash_handler
from segstudio.gui.dialogs.about import add_about_action
from segstudio.gui.icons import app_icon, apply_icons


def setup_application(app: QApplication) -> None:
    try:
        app.setWindowIcon(app_icon())
    except ResourceNotFound as exc:  # a broken install still starts (apply_icons says the same per action)
        logging.getLogger("segstudio.gui").warning("%s", exc)
    app.setDesktopFileName("io.github.segstudio.SegStudio")  # Wayland/X11: the .desktop file and its icon
    install_crash_handler(app)


def brand_window(window: QMainWindow) -> list:
    """Add Help ▸ About and give every action its icon; returns the menu actions left without one."""
    if "about" not in getattr(window, "actions_by_name", {}):
        add_about_action(window)
    return apply_icons(window)
