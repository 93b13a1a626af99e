"""The annotation workspace: assembles the canvas, the panels, the menus, autosave and the extensions.

What the window shows is one Qt-free :class:`segstudio.core.session.Session` (the project, the current image
and its document, the classes with their colours, the chosen checkpoint); the window changes it through its
``set_*`` methods and its panels follow its events, as the extensions' docks do.  The display mapping is
:mod:`segstudio.core.imaging`, the edits go through :class:`segstudio.gui.document_model.DocumentModel` (undo
stack) and reach the disk through :class:`segstudio.gui.autosave.Autosaver`.

The menus and the toolbar are the mixin gui/window_menus.py, the class list and the label dialogs
gui/window_classes.py.  Extensions (training, review, export, plugins) are installed through
gui/extensions.py: each gets the session and a :class:`~segstudio.gui.extensions.WindowServices`, never the
window's attributes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QStandardPaths, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QScrollArea, QStackedWidget, QVBoxLayout,
    QWidget,
)

from segstudio.core.errors import SegStudioError
from segstudio.core.imaging import DisplaySettings, to_display
from segstudio.core.project import IMAGE_EXTENSIONS, Project, open_path
from segstudio.core.session import Session
from segstudio.gui.autosave import Autosaver
from segstudio.gui.branding import brand_window
from segstudio.gui.canvas.view import CanvasView
from segstudio.gui.document_model import DocumentModel
from segstudio.gui.extensions import WindowServices, arrange_extension_docks, install_extensions
from segstudio.gui.panels.class_panel import ClassPanel
from segstudio.gui.panels.file_list import FileListPanel
from segstudio.gui.panels.flags_panel import FlagsPanel
from segstudio.gui.panels.image_adjust import ImageAdjustPanel
from segstudio.gui.panels.shape_list import ShapeListPanel
from segstudio.gui.panels.tool_palette import TOOL_HINTS
from segstudio.gui.panels.welcome import WelcomePage
from segstudio.gui.settings import Settings, is_sample_project
from segstudio.gui.window_classes import ClassesMixin
from segstudio.gui.window_menus import MenusMixin


class MainWindow(ClassesMixin, MenusMixin, QMainWindow):
    currentImageChanged = Signal(object)  # ImageEntry or None (the session's image event, as a Qt signal)

    def __init__(self, parent=None, *, extensions=True):
        """``extensions``: True installs every registered window extension, False none, a list those named."""
        super().__init__(parent)
        self.setWindowTitle("segstudio")
        self.settings = Settings()
        self.display = DisplaySettings()
        self.last_error: str | None = None
        self.document = DocumentModel(self)
        self.session = Session(document=self.document)
        self.canvas = CanvasView(self.document)
        self.canvas.brush_size = self.settings.brush_size
        self.autosaver = Autosaver(
            self.document, self.settings.autosave_delay_ms, self.settings.embed_image_data, self
        )
        self.session.save_edits = self.autosaver.flush
        self.welcome = WelcomePage()
        self.hint_label = QLabel("")
        self.hint_label.setObjectName("toolHint")
        self.hint_label.setWordWrap(True)
        self.hint_label.setStyleSheet("padding: 4px 8px; background: #fff8d6; color: #333;")
        self.canvas_page = QWidget()
        page = QVBoxLayout(self.canvas_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.setSpacing(0)
        page.addWidget(self.hint_label)
        page.addWidget(self.canvas, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.canvas_page)
        self.setCentralWidget(self.stack)

        self.file_list = FileListPanel()
        self.class_panel = ClassPanel()
        self.shape_list = ShapeListPanel(self.document)
        self.file_list.follow(self.session)     # the panels follow the session; the window only assembles
        self.shape_list.follow(self.session)
        self.flags_panel = FlagsPanel(self.document)
        self.adjust_panel = ImageAdjustPanel()
        self.docks: dict[str, QDockWidget] = {}
        self._add_dock("files", "Images", self.file_list, Qt.LeftDockWidgetArea)
        self._add_dock("classes", "Classes", self.class_panel, Qt.RightDockWidgetArea)
        self._add_dock("shapes", "Shapes of this image", self.shape_list, Qt.RightDockWidgetArea)
        self._add_dock("flags", "Image flags", self.flags_panel, Qt.RightDockWidgetArea)
        self._add_dock("adjust", "Display", self.adjust_panel, Qt.LeftDockWidgetArea)

        self._build_status_bar()
        self._build_actions()
        self._connect()
        self.setAcceptDrops(True)
        self.resize(1400, 900)   # fit_to_screen() shrinks it to the screen's available area
        self.canvas.label_requested = self._ask_label if self.settings.ask_label else None
        self.canvas.relabel_requested = self.relabel    # Ctrl+E / right-click on the canvas (window_classes)
        self._update_recent()
        self._set_welcome(True)
        self.services = WindowServices(self)
        if extensions is False:
            self.extension_errors = []
        else:   # True: every registered extension; a list: those named (plugins load and report either way)
            names = None if extensions is True else list(extensions)
            self.extension_errors = install_extensions(self.session, self.services, names)
        self._arrange_docks()
        brand_window(self)  # Help ▸ About, the icons of every action, the window icon (gui/branding.py)
        geometry, state = self.settings.window_geometry(), self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        self.fit_to_screen()
        self._update_hint()
        if self.extension_errors:
            self.show_message("Some extensions failed: " + "; ".join(self.extension_errors), error=True)

    # ================================================================== building
    def _add_dock(self, key: str, title: str, widget, area) -> None:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{key}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[key] = dock

    @property
    def project(self) -> Project | None:
        return self.session.project

    @property
    def current_entry(self):
        return self.session.entry

    def _arrange_docks(self) -> None:
        """Right-side extension docks become tabs beside Image flags; the bottom ones (Training, Review) are
        tabs below the canvas, hidden until the toolbar's Training / Review buttons (or View) show them."""
        ext = list(self.services.extension_docks.values())
        arrange_extension_docks(self, self.docks["flags"], ext)
        for dock in ext:   # tabbed when shown (show_panel): a tab bar of hidden docks would stay on screen
            if self.dockWidgetArea(dock) == Qt.BottomDockWidgetArea:
                body = dock.widget()
                if body is not None and not isinstance(body, QScrollArea):   # never forces the window's size
                    scroll = QScrollArea()
                    scroll.setWidgetResizable(True)
                    scroll.setFrameShape(QScrollArea.NoFrame)
                    scroll.setWidget(body)
                    dock.setWidget(scroll)
                dock.hide()
        self.resizeDocks([self.docks["files"], self.docks["classes"]], [260, 340], Qt.Horizontal)
        self._build_panel_actions()
        self._quit_last()

    def show_panel(self, key: str) -> bool:
        """Show the dock ``key`` (e.g. "training", "review") on top of its tab group; a bottom dock gets the height
        its content asks for, 55-62 % of the window's (at 1366x768 the curves read without scrolling)."""
        dock = self.docks.get(key)
        if dock is None:
            return False
        bottom = self.dockWidgetArea(dock) == Qt.BottomDockWidgetArea and not dock.isFloating()
        shown = [d for d in self.docks.values() if d is not dock and d.isVisible() and not d.isFloating()
                 and self.dockWidgetArea(d) == Qt.BottomDockWidgetArea]
        if bottom and shown and dock not in self.tabifiedDockWidgets(shown[0]):
            self.tabifyDockWidget(shown[0], dock)   # Training and Review share the room below the canvas
        dock.show()
        dock.raise_()
        if bottom:   # what its content asks for, between 55 % and 62 % of the window (the canvas keeps the rest)
            body = dock.widget().widget() if isinstance(dock.widget(), QScrollArea) else dock.widget()
            want = body.sizeHint().height() + 40 if body is not None else 0
            h = self.height()
            lo, hi = dock.panel_share() if hasattr(dock, "panel_share") else (0.55, 0.62)   # e.g. Review: less
            self.resizeDocks([dock], [int(min(max(want, lo * h, 300), hi * h))], Qt.Vertical)
        return True

    def fit_to_screen(self) -> None:
        """Never larger than the screen's available area (a restored or default size is shrunk, and the window
        moved inside it)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        avail = screen.availableGeometry()
        extra = self.frameGeometry().size() - self.geometry().size()   # the title bar and borders, once shown
        w = min(self.width(), avail.width() - max(extra.width(), 0))
        h = min(self.height(), avail.height() - max(extra.height(), 30))
        if (w, h) != (self.width(), self.height()):
            self.resize(w, h)
        x = min(max(self.x(), avail.x()), avail.right() - w)
        y = min(max(self.y(), avail.y()), avail.bottom() - h)
        if (x, y) != (self.x(), self.y()):
            self.move(x, y)

    def _build_status_bar(self) -> None:
        self.save_label = QLabel("")
        self.position_label = QLabel("")
        self.zoom_label = QLabel("")
        bar = self.statusBar()
        bar.addPermanentWidget(self.save_label)
        bar.addPermanentWidget(self.position_label)
        bar.addPermanentWidget(self.zoom_label)

    def _connect(self) -> None:
        self.file_list.imageActivated.connect(self.open_image)
        self.class_panel.classChosen.connect(self.choose_class)
        self.class_panel.visibilityChanged.connect(self.canvas.set_label_visible)
        self.class_panel.addRequested.connect(self.add_class)
        self.class_panel.renameRequested.connect(self.rename_class)
        self.class_panel.colorRequested.connect(self.recolor_class)
        for asked in (self.class_panel.addRequested, self.class_panel.renameRequested,
                      self.class_panel.colorRequested):   # the panel's dialogs closed: keyboard to the canvas
            asked.connect(lambda *_: self._after_dialog())
        self.shape_list.editLabelRequested.connect(lambda i: self.relabel([i]))
        self.adjust_panel.settingsChanged.connect(self.set_display)
        self.document.loaded.connect(self._on_loaded)
        self.session.events.project.connect(self._on_project)
        self.session.events.image.connect(self._on_image)
        self.session.events.classes.connect(self._on_classes)
        self.autosaver.saved.connect(self._on_saved)
        self.autosaver.saveFailed.connect(self._on_save_failed)
        self.canvas.cursorMoved.connect(lambda x, y: self.position_label.setText(f"x {x:.0f}  y {y:.0f}"))
        self.canvas.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self.canvas.toolChanged.connect(self._on_tool_changed)
        self.canvas.brushSizeChanged.connect(self._on_brush_size)
        self.canvas.message.connect(self.show_message)   # e.g. what the eraser could not cut, and why
        self.brush_box.sizeChanged.connect(lambda v: setattr(self.canvas, "brush_size", v))
        self.brush_box.editingDone.connect(self.canvas.setFocus)
        self.welcome.openFolderRequested.connect(self.ask_open_folder)
        self.welcome.openSampleRequested.connect(self.open_sample_project)
        self.welcome.openRecentRequested.connect(self.open_path)

    # ================================================================== opening
    def open_path(self, path) -> bool:
        """Open a folder, a segstudio.json, or one image/JSON file (its folder becomes the project)."""
        try:
            project, entry = open_path(path)
        except SegStudioError as exc:
            self.show_error("Cannot open", str(exc))
            if not Path(path).exists():
                self.settings.remove_recent_project(path)
                self._update_recent()
            return False
        self.set_project(project)
        if entry is not None:
            self.open_image(entry)
        return True

    def open_project(self, folder) -> bool:
        """Open a project folder (contract name); same as :meth:`open_path` on a folder."""
        return self.open_path(folder)

    def set_project(self, project: Project) -> bool:
        if not self.autosaver.flush() and not self._confirm_discard():
            return False
        self.document.close()
        self.session.set_project(project)
        if project.problems:
            self.show_message(f"{len(project.problems)} JSON file(s) cannot be read (see the Images list)",
                              error=True)
        if project.images:
            self.open_image(project.images[0])
        else:
            self.show_message(f"{project.folder}: no images in this folder ({', '.join(IMAGE_EXTENSIONS)})",
                              error=True)
            self.session.set_image(None)
        self._update_enabled()
        return True

    def _on_project(self, project) -> None:
        self.flags_panel.set_project_flags(self._project_flags())
        if project is not None:
            self.settings.add_recent_project(project.folder)
            if is_sample_project(project.folder):
                self.settings.keep_one_sample(project.folder)
            self._update_recent()
            self.setWindowTitle(f"{project.name} — segstudio")
        self._set_welcome(project is None)

    def _on_image(self, entry) -> None:
        self.currentImageChanged.emit(entry)

    def open_image(self, entry) -> bool:
        """Show ``entry`` (an ImageEntry of the project); the previous image is saved first."""
        if entry is None or self.project is None:
            return False
        if entry == self.current_entry and self.document.annotation is not None:
            return True
        if not self.autosaver.flush() and not self._confirm_discard():
            self.file_list.set_current(self.current_entry)
            return False
        try:
            self.document.open(entry.image_path, entry.json_path, slice=entry.slice)
        except (SegStudioError, OSError, ValueError) as exc:
            msg = str(exc) if isinstance(exc, SegStudioError) else f"{entry.image_path}: {exc}"
            self.show_error("Cannot open image", msg)
            self.file_list.set_current(self.current_entry)
            return False
        self.session.set_image(entry)
        return True

    def sample_project_dir(self) -> Path:
        base = QStandardPaths.writableLocation(QStandardPaths.AppLocalDataLocation) or str(Path.home() / ".segstudio")
        return Path(base) / "sample_project"

    def open_sample_project(self) -> bool:
        from segstudio.core.sample import make_sample_project

        folder = self.sample_project_dir()
        if not (folder / "labels.txt").exists():
            try:
                make_sample_project(folder)
            except OSError as exc:
                self.show_error("Cannot create the sample project", f"{folder}: {exc}")
                return False
        return self.open_path(folder)

    def ask_open_folder(self) -> None:
        start = str(self.project.folder) if self.project else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images", start)
        if folder:
            self.open_path(folder)

    def ask_open_file(self) -> None:
        start = str(self.project.folder) if self.project else str(Path.home())
        patterns = " ".join(f"*{e}" for e in IMAGE_EXTENSIONS) + " *.dcm *.dicom *.nii *.nii.gz"  # core/medical
        path, _ = QFileDialog.getOpenFileName(
            self, "Open an image or a labelme JSON", start, f"Images and JSON ({patterns} *.json)"
        )
        if path:
            self.open_path(path)

    def _project_flags(self) -> list[str]:
        try:
            return self.project.image_flags() if self.project else []
        except SegStudioError as exc:
            self.show_message(str(exc), error=True)
            return []

    # ================================================================== navigation
    def next_image(self) -> bool:
        return self.open_image(self.file_list.neighbour(+1))

    def previous_image(self) -> bool:
        return self.open_image(self.file_list.neighbour(-1))

    def refresh_statuses(self, entries=None) -> None:
        self.file_list.refresh_statuses(entries)

    def _on_tool_changed(self, name: str) -> None:
        self.tool_actions[name].setChecked(True)
        self.brush_box_action.setVisible(name in ("brush", "eraser"))
        self._update_hint()

    def _on_brush_size(self, size: int) -> None:
        self.brush_box.set_size(size)
        self.settings.brush_size = size
        self._update_hint()

    def _update_hint(self) -> None:
        if self.document.annotation is None:
            self.hint_label.setText("Open a folder of images (File ▸ Open folder, or drop it here).")
            return
        label = self.canvas.current_label or "(none)"
        tool = self.canvas.tool
        size = f" · size <b>{self.canvas.brush_size} px</b>" if tool in ("brush", "eraser") else ""
        self.hint_label.setText(f"Class: <b>{label}</b> (keys 1–9){size} · {TOOL_HINTS.get(tool, '')}")

    def delete_selected(self) -> None:
        if self.document.annotation is not None and self.document.selected():
            self.document.remove_shapes(self.document.selected())

    # ================================================================== display / document events
    def set_display(self, settings: DisplaySettings) -> None:
        self.display = settings
        if self.document.image is not None:
            self.canvas.set_display_image(to_display(self.document.image, settings))

    def _on_loaded(self) -> None:
        self.adjust_panel.set_image(self.document.image)
        image = self.document.image
        if image is not None:
            self.display = self.adjust_panel.settings()
            if not (image.dtype == np.uint8 and self.display.is_identity()):  # else the canvas shows it as is
                self.canvas.set_display_image(to_display(image, self.display))
        self._join_document_labels()
        self._update_enabled()
        self._update_hint()
        self.save_label.setText("")

    def _on_saved(self, path) -> None:
        self.last_error = None
        self.save_label.setStyleSheet("")
        self.save_label.setText(f"Saved {Path(path).name}")
        if self.current_entry is not None:
            self.refresh_statuses([self.current_entry])

    def _on_save_failed(self, message: str) -> None:
        self.last_error = message
        self.save_label.setStyleSheet("color: #c00; font-weight: bold")
        self.save_label.setText("NOT SAVED (kept in memory, retrying)")
        self.save_label.setToolTip(message)
        self.statusBar().showMessage(f"Save failed: {message}", 15000)

    def save_now(self) -> bool:
        return self.autosaver.save_now()

    def _toggle_embed(self, on: bool) -> None:
        self.settings.embed_image_data = on
        self.autosaver.embed_image_data = on

    def _toggle_ask_label(self, on: bool) -> None:
        self.settings.ask_label = on
        self.canvas.label_requested = self._ask_label if on else None

    # ================================================================== messages and state
    def show_message(self, text: str, error: bool = False) -> None:
        self.statusBar().showMessage(text, 15000 if error else 5000)
        if error:
            self.last_error = text

    def show_error(self, title: str, text: str) -> None:
        self.show_message(text, error=True)
        QMessageBox.warning(self, title, text)

    def _confirm_discard(self) -> bool:
        reply = QMessageBox.question(
            self, "Changes not saved",
            f"The changes to this image could not be saved:\n{self.autosaver.last_error}\n\n"
            "Leave this image anyway (the unsaved changes are lost)?",
            QMessageBox.Yes | QMessageBox.No, QMessageBox.No,
        )
        return reply == QMessageBox.Yes

    def _set_welcome(self, on: bool) -> None:
        self.stack.setCurrentWidget(self.welcome if on else self.canvas_page)

    # ================================================================== window events
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        for url in event.mimeData().urls():
            if url.isLocalFile():
                event.acceptProposedAction()
                self.open_path(url.toLocalFile())
                return

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.fit_to_screen()   # the frame's size is known now

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if not self.autosaver.flush() and not self._confirm_discard():
            event.ignore()
            return
        self.settings.save_window(self.saveGeometry(), self.saveState())
        self.settings.sync()
        super().closeEvent(event)
