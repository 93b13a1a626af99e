"""Help: a short "First steps" page (open, annotate, train, review, export) and the keyboard shortcuts, the
latter generated from the window's actual QActions (so the list is always true)."""
from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QTableWidget, QTableWidgetItem, QTabWidget,
                               QTextBrowser, QVBoxLayout, QWidget)

FIRST_STEPS = """
<h3>First steps</h3>
<ol>
<li><b>Open a folder of images</b> (File &#9656; Open folder, or drop it on the window). Any labelme folder
opens as it is. To try things out: File &#9656; Open sample project.</li>
<li><b>Annotate.</b> Pick a class (keys 1&ndash;9 or the Classes panel), a tool (Polygon <b>P</b>, Brush
<b>B</b>, Eraser <b>X</b>&hellip;) and click on the image. Every change is saved to the JSON beside the
image; Ctrl+Z undoes. <b>D</b> / <b>A</b> go to the next / previous image.</li>
<li><b>Train.</b> Toolbar &#9656; <b>Training</b> opens the Training panel below the image. Press
<b>Train</b> (at least 2 annotated images); the curves show the loss and the validation IoU as it learns.
When the run ends its model becomes the project's model.</li>
<li><b>Review.</b> Toolbar &#9656; <b>Review</b>: <b>Predict all</b>, then look at the overlay on the image
(<b>V</b> shows / hides it; Errors: red = false positive, blue = missed; zoom and edit with it on) and the
metrics, computed on the run's <i>validation</i> images by
default. <b>Accept prediction</b> turns a predicted mask into polygons you can correct (it asks before
replacing shapes you drew).</li>
<li><b>Export.</b> File &#9656; Export dataset&hellip; writes VOC, COCO, YOLO, nnU-Net or images + masks.</li>
</ol>
<p>The Keyboard shortcuts tab lists every key. docs/gui.md and docs/train_review.md tell more.</p>
"""


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
    """Two tabs: "First steps" and "Keyboard shortcuts" (``page``: which one shows first)."""

    PAGES = ("first_steps", "shortcuts")

    def __init__(self, actions, extra_rows=(), parent=None, page: str = "shortcuts"):
        super().__init__(parent)
        self.setWindowTitle("Help")
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
        self.first_steps = QTextBrowser()
        self.first_steps.setHtml(FIRST_STEPS)
        keys = QWidget()
        kl = QVBoxLayout(keys)
        kl.addWidget(intro)
        kl.addWidget(self.table)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.first_steps, "First steps")
        self.tabs.addTab(keys, "Keyboard shortcuts")
        self.tabs.setCurrentIndex(self.PAGES.index(page))
        lay = QVBoxLayout(self)
        lay.addWidget(self.tabs)
        lay.addWidget(buttons)
        self.resize(600, 600)

    def rows(self) -> list[tuple[str, str, str]]:
        return [
            tuple(self.table.item(r, c).text() for c in range(3)) for r in range(self.table.rowCount())
        ]
