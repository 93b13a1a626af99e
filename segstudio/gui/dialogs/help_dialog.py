"""Keyboard shortcuts, generated from the window's actual QActions (so the list is always true)."""
from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout


def shortcut_rows(actions) -> list[tuple[str, str, str]]:
    """(group, action text, shortcuts) for every action that has a shortcut, in the order given.

    ``actions`` is an iterable of (group, QAction).
    """
    rows = []
    seen = set()
    for group, action in actions:
        keys = list(dict.fromkeys(k.toString(QKeySequence.NativeText) for k in action.shortcuts() if not k.isEmpty()))
        if not keys or id(action) in seen:
            continue
        seen.add(id(action))
        text = action.text().replace("&", "").rstrip(".…")
        rows.append((group, text, ", ".join(keys)))
    return rows


def menu_actions(menubar) -> list:
    """(menu title, action) for every action of every menu of ``menubar`` (sub-menus included)."""
    out = []
    for menu_action in menubar.actions():
        menu = menu_action.menu()
        if menu is None:
            continue
        title = menu.title().replace("&", "")
        stack = list(menu.actions())
        while stack:
            act = stack.pop(0)
            if act.menu() is not None:
                stack = list(act.menu().actions()) + stack
            elif not act.isSeparator():
                out.append((title, act))
    return out


class HelpDialog(QDialog):
    def __init__(self, actions, extra_rows=(), parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(actions) + list(extra_rows)
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Menu", "Action", "Keys"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        intro = QLabel(
            "Annotate: pick a class (keys 1–9 or the Classes panel), choose a tool, click on the image. "
            "Every change is saved automatically to the JSON beside the image."
        )
        intro.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addWidget(self.table)
        lay.addWidget(buttons)
        self.resize(560, 600)

    def rows(self) -> list[tuple[str, str, str]]:
        return [
            tuple(self.table.item(r, c).text() for c in range(3)) for r in range(self.table.rowCount())
        ]
