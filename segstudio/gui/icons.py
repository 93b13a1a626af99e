"""The app's icons: ``icon(name)`` by action / tool name, ``app_icon()``, and ``apply_icons(window)``.

One icon set, drawn for segstudio as SVG in ``resources/icons/actions/`` (24 px grid, 1.8 px dark strokes,
teal accent; see docs/adr/0005-icons-and-bundle.md), so every tool and action looks alike at any size and
scale factor.  The application icon is ``resources/icons/app/segstudio.svg`` plus its PNG renderings
(``scripts/make_icons.py``).  Unknown names raise a KeyError that lists the known ones.
"""
from __future__ import annotations

import logging
import re
from functools import lru_cache

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QToolBar

from segstudio.assets import ResourceNotFound, resource_path, resources_root

log = logging.getLogger("segstudio.gui.icons")

#: action / tool name -> icon file (resources/icons/actions/<file>.svg)
ICONS = {
    # annotation tools (gui/panels/tool_palette.py TOOLS)
    "edit": "tool-edit", "polygon": "tool-polygon", "rectangle": "tool-rectangle", "circle": "tool-circle",
    "point": "tool-point", "line": "tool-line", "linestrip": "tool-linestrip", "brush": "tool-brush",
    "eraser": "tool-eraser",
    # model-assisted annotation tools
    "wand": "tool-wand", "magic_wand": "tool-wand", "grabcut": "tool-grabcut", "scissors": "tool-scissors",
    "intelligent_scissors": "tool-scissors", "model": "tool-model", "model_prompt": "tool-model",
    "assist_box": "tool-grabcut", "assist_click": "tool-click", "snap": "tool-scissors",
    "assist_settings": "settings", "settings": "settings",
    # suggestions (which image to annotate next)
    "suggest_rank": "rank", "next_suggested": "next-suggested",
    # File
    "open_folder": "open-folder", "open_file": "open-file", "open_sample": "open-sample", "recent": "recent",
    "save": "save", "embed": "embed", "ask_label": "ask-label", "export": "export", "quit": "quit",
    # Edit
    "undo": "undo", "redo": "redo", "delete": "delete", "relabel": "relabel", "add_class": "add-class",
    "copy": "copy", "class": "class",
    # View / Navigate
    "fit": "fit", "zoom_1": "zoom-1", "zoom_in": "zoom-in", "zoom_out": "zoom-out", "previous": "previous",
    "next": "next",
    # Training / Review
    "train": "train", "stop": "stop", "resume": "resume", "predict": "predict", "evaluate": "evaluate",
    "accept": "accept", "overlay": "overlay", "checkpoint": "model",
    "show_training": "train", "show_review": "overlay", "review_overlay": "overlay",
    "show_experiments": "evaluate",   # the Experiments panel (gui/experiments)
    # Help
    "first_steps": "help", "help": "shortcuts", "shortcuts": "shortcuts", "about": "about", "log": "log",
}

#: extension menu entries made without a name: their text (without "&", "…", "...") -> icon name
TEXT_ALIASES = {
    "train": "train", "stop": "stop", "resume last run": "resume", "export dataset": "export",
    "predict": "predict", "predict all": "predict", "evaluate": "evaluate", "accept prediction": "accept",
    "about segstudio": "about", "keyboard shortcuts": "shortcuts", "predict current image": "predict",
    "predict all images": "predict", "mark reviewed": "accept", "choose model": "checkpoint",
    "review overlay on canvas": "overlay",
}
#: words in a tool name added later -> icon name (a tool added by a plugin still gets a fitting icon)
_TOOL_WORDS = (("wand", "wand"), ("grab", "grabcut"), ("box", "assist_box"), ("scissor", "scissors"),
               ("snap", "snap"), ("click", "assist_click"), ("sam", "model"), ("model", "model"),
               ("prompt", "model"))

TOOLBAR_ICON_SIZE = 20


def icon_names() -> list[str]:
    return sorted(ICONS)


@lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    """The icon of action or tool ``name`` (KeyError listing the known names when there is none)."""
    try:
        stem = ICONS[name]
    except KeyError:
        raise KeyError(f"no icon for {name!r}; known: {', '.join(icon_names())}") from None
    return QIcon(str(resource_path("icons", "actions", f"{stem}.svg")))


@lru_cache(maxsize=1)
def app_icon() -> QIcon:
    """The application icon: every rendered PNG size plus the SVG for any other size."""
    result = QIcon()
    for png in sorted(resources_root().joinpath("icons", "app").glob("segstudio-*.png")):
        size = int(png.stem.rsplit("-", 1)[1])
        result.addFile(str(png), QSize(size, size))
    result.addFile(str(resource_path("icons", "app", "segstudio.svg")))
    return result


def _clean(text: str) -> str:
    return text.replace("&", "").split("\t")[0].rstrip(".…").strip().lower()


def _text_icon_name(text: str) -> str | None:
    text = _clean(text)
    if re.fullmatch(r"use class \d+", text):
        return "class"
    return TEXT_ALIASES.get(text)


def name_for_action(action: QAction, known: dict[int, str]) -> str | None:
    """The icon name of ``action``: its registered name, else its object name, else its menu text."""
    name = known.get(id(action)) or action.objectName() or None
    if name in ICONS:
        return name
    return _text_icon_name(action.text())


def tool_icon_name(tool: str) -> str | None:
    if tool in ICONS:
        return tool
    return next((icon_name for word, icon_name in _TOOL_WORDS if word in tool.lower()), None)


def apply_icons(window) -> list[QAction]:
    """Give every named action, tool and extension menu entry of ``window`` its icon; the toolbar shows the
    text beside the icon while the window is wide enough.  Returns the menu actions left without an icon."""
    try:
        window.setWindowIcon(app_icon())
    except ResourceNotFound as exc:  # a broken install: the app still starts, without icons, and says why
        log.warning("%s", exc)
    known = {id(act): name for name, act in getattr(window, "actions_by_name", {}).items()}
    for tool, act in getattr(window, "tool_actions", {}).items():
        name = tool_icon_name(tool)
        if name:
            known[id(act)] = name
    missing = []
    for act in _menu_actions(window):
        name = name_for_action(act, known)
        if name is not None:
            _set_icon(act, name)
        elif not act.isCheckable():  # dock toggles and options keep their check mark
            missing.append(act)
    toolbars = window.findChildren(QToolBar)
    for toolbar in toolbars:
        for act in toolbar.actions():
            name = name_for_action(act, known)
            if name is not None and act.icon().isNull():
                _set_icon(act, name)
        toolbar.setIconSize(QSize(TOOLBAR_ICON_SIZE, TOOLBAR_ICON_SIZE))
    if toolbars:
        fit = ToolbarTextFit(window, toolbars)
        window.installEventFilter(fit)
        window._toolbar_text_fit = fit  # keep it alive with the window
        fit.update_style()
    return missing


def _set_icon(action: QAction, name: str) -> None:
    """``action.setIcon(icon(name))``; a missing icon file (a broken install) is logged, never fatal."""
    try:
        action.setIcon(icon(name))
    except ResourceNotFound as exc:
        log.warning("%s", exc)


def _menu_actions(window) -> list[QAction]:
    out, stack = [], []
    for top in window.menuBar().actions():
        if top.menu() is not None:
            stack.append(top.menu())
    while stack:
        menu = stack.pop(0)
        for act in menu.actions():
            if act.menu() is not None:
                if _clean(act.text()) == "recent projects":
                    _set_icon(act, "recent")
                stack.append(act.menu())
            elif not act.isSeparator() and act.text():
                out.append(act)
    return out


class ToolbarTextFit(QObject):
    """Text beside the icons for as many toolbars as the window's width allows, the first toolbar first;
    the others show icons only (their texts stay as tool tips).  Widths of both styles are measured once per
    toolbar content (re-measured when its actions change)."""

    def __init__(self, window, toolbars):
        super().__init__(window)
        self.window = window
        self.toolbars = list(toolbars)
        self._widths: dict[int, tuple[int, int, int]] = {}  # id -> (action count, icon-only, text beside)

    @property
    def full_width(self) -> int:
        """Width of all (visible) toolbars with their texts."""
        return sum(self._measure(tb)[1] for tb in self.toolbars if not tb.isHidden())

    def _measure(self, tb) -> tuple[int, int]:
        n = len(tb.actions())
        cached = self._widths.get(id(tb))
        if cached is None or cached[0] != n:
            tb.ensurePolished()
            style = tb.toolButtonStyle()
            tb.setToolButtonStyle(Qt.ToolButtonIconOnly)
            icon_only = tb.sizeHint().width()
            tb.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
            text = tb.sizeHint().width()
            tb.setToolButtonStyle(style)
            cached = (n, icon_only, text)
            if tb.isVisible():  # a toolbar not shown yet has no final button sizes: measure again later
                self._widths[id(tb)] = cached
        return cached[1], cached[2]

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if obj is self.window and event.type() == QEvent.Resize:
            self.update_style()
        return False

    def update_style(self) -> None:
        shown = [tb for tb in self.toolbars if not tb.isHidden()]
        widths = {id(tb): self._measure(tb) for tb in shown}
        used = sum(w[0] for w in widths.values())  # everything icon-only
        available = self.window.width()
        for tb in shown:
            icon_only, text = widths[id(tb)]
            wanted = Qt.ToolButtonIconOnly
            if used - icon_only + text <= available:
                used += text - icon_only
                wanted = Qt.ToolButtonTextBesideIcon
            if tb.toolButtonStyle() != wanted:
                tb.setToolButtonStyle(wanted)
