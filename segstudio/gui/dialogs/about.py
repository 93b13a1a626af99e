"""Help ▸ About segstudio: the icon, version, torch / CUDA / Qt versions, the licence, and a Copy button."""
from __future__ import annotations

import html
import platform

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QTabWidget, QVBoxLayout,
)

from segstudio import __version__
from segstudio.assets import license_text, texts
from segstudio.gui.icons import app_icon, icon


def version_rows() -> list[tuple[str, str]]:
    """(what, version) for the About dialog and its Copy button: segstudio, Python, torch, CUDA, Qt."""
    from segstudio.version import install_kind, qt_versions, torch_info

    t = torch_info()
    q = qt_versions()
    if t.get("cuda_available"):
        cuda = f"available ({', '.join(t['cuda_devices'])}); torch built for CUDA {t['torch_cuda_build']}"
    else:
        cuda = f"not available (torch built for: {t.get('torch_cuda_build', 'unknown')})"
    return [
        ("segstudio", f"{__version__} ({install_kind()})"),
        ("Python", platform.python_version()),
        ("torch", str(t["torch"])),
        ("CUDA", cuda),
        ("MPS", "available" if t.get("mps_available") else "not available"),
        ("Qt", f"{q['qt']} (PySide6 {q['pyside6']})"),
        ("OS", f"{platform.system()} {platform.release()} ({platform.machine()})"),
    ]


class AboutDialog(QDialog):
    """Modeless; ``versions_text()`` is what Copy puts on the clipboard."""

    def __init__(self, parent=None):
        super().__init__(parent)
        about = texts()["about"]
        self.setWindowTitle(f"About {about['name']}")
        self.setWindowIcon(app_icon())
        self.rows = version_rows()

        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(96, 96))
        logo.setAlignment(Qt.AlignTop)
        self.head = head = QLabel(f"<h2>{html.escape(about['name'])} {html.escape(__version__)}</h2>"
                      f"<p><b>{html.escape(about['tagline'])}</b></p><p>{html.escape(about['description'])}</p>"
                      f"<p>{html.escape(about['copyright'])} · {html.escape(about['license_name'])}</p>")
        head.setWordWrap(True)
        head.setTextInteractionFlags(Qt.TextSelectableByMouse)
        top = QHBoxLayout()
        top.addWidget(logo)
        top.addWidget(head, 1)

        self.versions_label = QLabel(
            "<table>" + "".join(f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td><td>{html.escape(v)}</td></tr>"
                                for k, v in self.rows) + "</table>"
            f"<p><i>{html.escape(about['bug_report'])}</i></p>")
        self.versions_label.setObjectName("aboutVersions")
        self.versions_label.setWordWrap(True)
        self.versions_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.license_view = QPlainTextEdit(license_text())
        self.license_view.setReadOnly(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.versions_label, "Versions")
        self.tabs.addTab(self.license_view, "Licence")

        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.copy_button = QPushButton(icon("copy"), "Copy versions")
        self.copy_button.setToolTip("Copy the versions to the clipboard (for a bug report)")
        buttons.addButton(self.copy_button, QDialogButtonBox.ActionRole)
        self.copy_button.clicked.connect(self.copy_versions)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
        self.resize(560, 480)

    def versions_text(self) -> str:
        return "\n".join(f"{k}: {v}" for k, v in self.rows)

    def copy_versions(self) -> None:
        QGuiApplication.clipboard().setText(self.versions_text())


def add_about_action(window) -> QAction:
    """Help ▸ About segstudio (the window's ``actions_by_name["about"]``); opens one dialog at a time."""
    menu = getattr(window, "help_menu", None) or window.menuBar().addMenu("&Help")
    act = QAction(f"&About {texts()['about']['name']}", window)
    act.setMenuRole(QAction.AboutRole)
    act.setIcon(icon("about"))

    def show() -> AboutDialog:
        dialog = getattr(window, "about_dialog", None)
        if dialog is None:
            dialog = window.about_dialog = AboutDialog(window)
        dialog.show()
        dialog.raise_()
        return dialog

    act.triggered.connect(lambda _=False: show())
    menu.addAction(act)
    if hasattr(window, "actions_by_name"):
        window.actions_by_name["about"] = act
    window.show_about = show
    return act
