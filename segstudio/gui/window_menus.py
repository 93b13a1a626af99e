"""The main window's menus, toolbar, recent-projects menu and help (a mixin of
:class:`segstudio.gui.main_window.MainWindow`).

Every menu action is a QAction kept in ``actions_by_name`` (extensions add theirs through
``WindowServices.add_menu_action(..., name=...)``); Help > Keyboard shortcuts lists them all, with their current
keys, followed by the canvas keys; Help > First steps is the short walk through open, annotate, train,
review and export.  The "Panels" toolbar (and View) show the Training and Review docks below the canvas.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QToolBar, QToolButton

from segstudio.gui.canvas.view import BRUSH_MAX, BRUSH_MIN
from segstudio.gui.dialogs.help_dialog import HelpDialog, menu_actions
from segstudio.gui.panels.brush_size import BrushSizeBox
from segstudio.gui.panels.tool_palette import CANVAS_KEYS, TOOLS


class MenusMixin:
    def _action(self, menu, text, slot, shortcut=None, checkable=False, tip=None) -> QAction:
        act = QAction(text, self)
        if shortcut:
            keys = shortcut if isinstance(shortcut, (list, tuple)) else [shortcut]
            act.setShortcuts([QKeySequence(k) for k in keys])
        act.setCheckable(checkable)
        if tip:
            act.setStatusTip(tip)
        act.triggered.connect(slot)
        menu.addAction(act)
        return act

    def _build_actions(self) -> None:
        self.actions_by_name = {}
        self._build_file_edit_view_menus()
        self._build_annotate_navigate_menus()
        self._build_toolbar()
        m = self.help_menu = self.menuBar().addMenu("&Help")
        self.actions_by_name["first_steps"] = self._action(m, "&First steps", lambda: self.show_help("first_steps"))
        self.actions_by_name["help"] = self._action(m, "&Keyboard shortcuts", self.show_help,
                                                    QKeySequence.HelpContents)
        self._update_enabled()

    def _build_file_edit_view_menus(self) -> None:
        mb, a = self.menuBar(), self.actions_by_name
        m = self.file_menu = mb.addMenu("&File")
        a["open_folder"] = self._action(m, "&Open folder…", self.ask_open_folder, QKeySequence.Open)
        a["open_file"] = self._action(m, "Open &image or JSON…", self.ask_open_file, "Ctrl+Shift+O")
        a["open_sample"] = self._action(m, "Open &sample project", self.open_sample_project)
        self.recent_menu = m.addMenu("&Recent projects")
        m.addSeparator()
        a["save"] = self._action(m, "&Save now", self.save_now, QKeySequence.Save,
                                 tip="Changes are saved automatically; this writes at once")
        a["embed"] = self._action(m, "&Embed image data in JSON", self._toggle_embed, checkable=True,
                                  tip="Write the image itself (imageData) into each JSON (bigger files)")
        a["embed"].setChecked(self.settings.embed_image_data)
        a["ask_label"] = self._action(m, "Ask &label for new shapes", self._toggle_ask_label, checkable=True)
        a["ask_label"].setChecked(self.settings.ask_label)
        m.addSeparator()
        a["quit"] = self._action(m, "&Quit", self.close, "Ctrl+Q")

        m = self.edit_menu = mb.addMenu("&Edit")
        a["undo"] = self._action(m, "&Undo", self.document.undo_stack.undo, QKeySequence.Undo)
        a["redo"] = self._action(m, "&Redo", self.document.undo_stack.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
        a["delete"] = self._action(m, "&Delete selected shapes", self.delete_selected, QKeySequence.Delete)
        a["relabel"] = self._action(m, "Change &label of selected shapes…", self.relabel_selected, "Ctrl+E")
        a["add_class"] = self._action(m, "&Add class…", self.class_panel.ask_add)

        m = self.view_menu = mb.addMenu("&View")
        a["fit"] = self._action(m, "&Fit image", self.canvas.fit, "Ctrl+F")
        a["zoom_1"] = self._action(m, "Actual &size (100%)", self.canvas.zoom_1to1, "Ctrl+1")
        a["zoom_in"] = self._action(m, "Zoom &in", lambda: self.canvas.zoom_by(1.25), [QKeySequence.ZoomIn, "Ctrl+="])
        a["zoom_out"] = self._action(m, "Zoom &out", lambda: self.canvas.zoom_by(0.8), QKeySequence.ZoomOut)
        m.addSeparator()
        for dock in self.docks.values():
            m.addAction(dock.toggleViewAction())

    def _build_annotate_navigate_menus(self) -> None:
        mb, a = self.menuBar(), self.actions_by_name
        m = self.annotate_menu = mb.addMenu("&Annotate")
        self.tool_group = QActionGroup(self)
        self.tool_actions = {}
        for name, text, key in TOOLS:
            act = self._action(m, text, lambda _=False, n=name: self.canvas.set_tool(n), key, checkable=True)
            self.tool_group.addAction(act)
            self.tool_actions[name] = act
        self.tool_actions[self.canvas.tool].setChecked(True)
        m.addSeparator()
        self.class_actions = []
        for i in range(1, 10):
            act = self._action(m, f"Use class {i}", lambda _=False, k=i: self.choose_class_id(k), str(i))
            self.class_actions.append(act)

        m = self.navigate_menu = mb.addMenu("&Navigate")
        a["previous"] = self._action(m, "&Previous image", self.previous_image, ["A", "Ctrl+Left"])
        a["next"] = self._action(m, "&Next image", self.next_image, ["D", "Ctrl+Right"])

    def _build_toolbar(self) -> None:
        a = self.actions_by_name
        tb = self.toolbar = self.addToolBar("Tools")
        tb.setObjectName("toolbar_tools")
        tb.setMovable(False)
        for name, _text, key in TOOLS:
            act = self.tool_actions[name]
            act.setIconText(f"{name.capitalize()} ({key})")
            tb.addAction(act)
        tb.addSeparator()
        for key in ("previous", "next", "fit"):
            tb.addAction(a[key])
        a["previous"].setIconText("Previous (A)")  # the arrows are the icons (gui/icons.py)
        a["next"].setIconText("Next (D)")
        a["fit"].setIconText("Fit (Ctrl+F)")
        tb.addSeparator()
        self.brush_box = BrushSizeBox(BRUSH_MIN, BRUSH_MAX)
        self.brush_box.set_size(self.canvas.brush_size)
        self.brush_box_action = tb.addWidget(self.brush_box)
        self.brush_box_action.setVisible(self.canvas.tool in ("brush", "eraser"))

    def _update_enabled(self) -> None:
        has_image = self.document.annotation is not None
        for key in ("save", "delete", "relabel", "fit", "zoom_1", "zoom_in", "zoom_out", "undo", "redo"):
            self.actions_by_name[key].setEnabled(has_image)
        for act in list(self.tool_actions.values()) + self.class_actions:
            act.setEnabled(has_image)
        has_project = self.project is not None
        for key in ("next", "previous", "add_class"):
            self.actions_by_name[key].setEnabled(has_project)

    def _update_recent(self) -> None:
        recent = self.settings.recent_projects()
        self.recent_menu.clear()
        for path in recent:
            act = self.recent_menu.addAction(path)
            act.triggered.connect(lambda _=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(recent))
        self.welcome.set_recent(recent)

    def help_actions(self):
        """(menu title, action) for every action of every menu, extension menus included."""
        return menu_actions(self.menuBar())

    def _build_panel_actions(self) -> None:
        """Toolbar "Panels" and View entries that show the Training and Review docks (when installed)."""
        panels = [(key, text) for key, text in (("training", "Training"), ("review", "Review")) if key in self.docks]
        if not panels:
            return
        tb = self.panels_toolbar = QToolBar("Panels", self)
        self.insertToolBar(self.toolbar, tb)   # first: never pushed into a toolbar's overflow menu
        tb.setObjectName("toolbar_panels")
        tb.setMovable(False)
        self.view_menu.addSeparator()
        self.panel_buttons = {}
        for key, text in panels:
            act = self._action(self.view_menu, f"Show {text} panel", lambda _=False, k=key: self.show_panel(k),
                               tip=f"Show the {text} panel below the image")
            act.setIconText(text)
            act.setToolTip(f"{text} panel (below the image)")
            self.actions_by_name[f"show_{key}"] = act
            button = QToolButton()   # its own button: keeps its text when the toolbars shrink to icons
            button.setDefaultAction(act)
            button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
            button.setAutoRaise(True)
            tb.addWidget(button)
            self.panel_buttons[key] = button

    def _quit_last(self) -> None:
        """Extensions append to File (Export dataset...): Quit goes back to the end, after a separator."""
        quit_action = self.actions_by_name["quit"]
        actions = self.file_menu.actions()
        if actions and actions[-1] is not quit_action:
            self.file_menu.removeAction(quit_action)
            self.file_menu.addSeparator()
            self.file_menu.addAction(quit_action)

    def show_help(self, page: str = "shortcuts") -> HelpDialog:
        page = page if page in HelpDialog.PAGES else "shortcuts"   # a menu's triggered(bool) is no page
        dialog = HelpDialog(self.help_actions(), CANVAS_KEYS, self, page=page)
        dialog.show()
        return dialog
