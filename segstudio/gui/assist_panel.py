"""The Assist dock and window extension: box -> shape, click refinement, magic wand and edge snapping.

``install(session, services)`` (registered as the window extension "assist", gui/extensions.py) adds the four
canvas tools (gui/canvas/assist_tools.py) to the canvas, the Annotate menu and an "Assist" toolbar, each with
a key, and this dock: the method (the project's current model, GrabCut, plugin methods such as SAM), polygon
or mask results, the magic wand's tolerance, which model is used, and a busy indicator while a result is
computed.  Annotate > Assist settings holds the files plugin methods need (QSettings ``assist/<method>/<key>``).
See docs/assist.md.
"""
from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QDockWidget, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from segstudio.core.interactive import METHODS
from segstudio.core.interactive.wand import MAX_TOLERANCE
from segstudio.gui.assist_controller import AssistController, setting_key
from segstudio.gui.canvas.assist_tools import AssistTool, SnapTool, WandTool, WheelForwarder

#: (tool name, menu text, key, hint shown above the canvas)
ASSIST_TOOLS = (
    ("assist_box", "Box → &shape (assisted)", "G",
     "Drag a box around the object: it becomes a shape of the current class; then left-click adds, "
     "right-click removes (one undo step each); Enter ends the object."),
    ("assist_click", "Click → shape (&assisted)", "K",
     "Left-click the object to outline it; more left / right clicks add / remove parts; Enter ends it."),
    ("wand", "Magic &wand", "W",
     "Press on a region: similar colours in view are selected; the wheel (button held) changes the "
     "tolerance; release adds the shape."),
    ("snap", "Edge-snapping polygo&n", "N",
     "Click anchors: the outline follows the edges between them; click the first anchor, double-click or "
     "Enter to close; Backspace removes the last anchor."),
)
SHAPE_MODES = (("polygon", "Polygon"), ("mask", "Mask"))


def method_label(name: str) -> str:
    cls = METHODS.get(name)
    return getattr(cls, "label", "") or name


class AssistPanel(QWidget):
    def __init__(self, controller: AssistController, wand: WandTool, parent=None):
        super().__init__(parent)
        self.controller, self.wand = controller, wand
        self.method_combo = QComboBox()
        self.refresh_methods()
        self.method_combo.setToolTip("How a box or a click becomes a shape. Current model: the project's trained "
                                     "model (falls back to GrabCut when none is chosen)")
        self.shape_combo = QComboBox()
        for key, text in SHAPE_MODES:
            self.shape_combo.addItem(text, key)
        self.shape_combo.setCurrentIndex(max(0, self.shape_combo.findData(controller.shape_mode)))
        self.tolerance = QSpinBox()
        self.tolerance.setRange(0, MAX_TOLERANCE)
        self.tolerance.setValue(int(QSettings().value("assist/wand_tolerance", wand.tolerance)))
        wand.tolerance = self.tolerance.value()
        self.model_label = QLabel("")
        self.model_label.setWordWrap(True)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setMaximumHeight(8)
        self.busy_bar.setVisible(False)
        self.busy_label = QLabel("")
        self.settings_button = QPushButton("Settings…")
        form = QFormLayout()
        form.addRow("Method", self.method_combo)
        form.addRow("Result", self.shape_combo)
        form.addRow("Wand tolerance", self.tolerance)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.model_label)
        row = QHBoxLayout()
        row.addWidget(self.busy_label, 1)
        row.addWidget(self.settings_button)
        lay.addLayout(row)
        lay.addWidget(self.busy_bar)
        lay.addStretch(1)
        self.method_combo.currentIndexChanged.connect(
            lambda _i: controller.set_method(self.method_combo.currentData()) or self.update_model_label())
        self.shape_combo.currentIndexChanged.connect(
            lambda _i: controller.set_shape_mode(self.shape_combo.currentData()))
        self.tolerance.valueChanged.connect(self._tolerance_changed)
        self.settings_button.clicked.connect(self.open_settings)
        controller.busyChanged.connect(self._busy)
        self.update_model_label()

    def refresh_methods(self) -> None:
        """Fill the method list from the registry (plugins registered since are added)."""
        self.method_combo.blockSignals(True)
        self.method_combo.clear()
        for name in self.ordered_methods():
            self.method_combo.addItem(method_label(name), name)
        self.method_combo.setCurrentIndex(max(0, self.method_combo.findData(self.controller.method)))
        self.method_combo.blockSignals(False)

    @staticmethod
    def ordered_methods() -> list[str]:
        first = [n for n in ("model", "grabcut", "model+grabcut") if n in METHODS]
        return first + [n for n in METHODS.names() if n not in first]

    def _tolerance_changed(self, value: int) -> None:
        self.wand.tolerance = int(value)
        QSettings().setValue("assist/wand_tolerance", int(value))

    def sync_tolerance(self) -> None:
        if self.tolerance.value() != self.wand.tolerance:
            self.tolerance.setValue(self.wand.tolerance)

    def _busy(self, on: bool) -> None:
        self.busy_bar.setVisible(on)
        self.busy_label.setText("Segmenting…" if on else "")

    def update_model_label(self) -> None:
        method = self.controller.method
        if method in ("model", "model+grabcut"):
            ckpt = self.controller.checkpoint()
            self.model_label.setText(f"Model: {ckpt.parent.name}/{ckpt.name}" if ckpt else
                                     "No model chosen: GrabCut is used (train one, or choose one in the Review "
                                     "dock)")
        else:
            cls = METHODS.get(method)
            _values, ok = self.controller._plugin_values(cls)
            missing = getattr(cls, "settings", None) and not ok
            self.model_label.setText(getattr(cls, "setup_help", "") if missing else "")

    def open_settings(self) -> "AssistSettingsDialog":
        dialog = AssistSettingsDialog(self)
        dialog.accepted.connect(self.update_model_label)
        dialog.accepted.connect(self.controller.prepare_image)
        dialog.open()
        return dialog


class AssistSettingsDialog(QDialog):
    """The files plugin methods need (e.g. SAM encoder / decoder ONNX), stored in QSettings."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Assist settings")
        form = QFormLayout(self)
        self.fields: dict[tuple[str, str], QLineEdit] = {}
        s = QSettings()
        for name in METHODS.names():
            for key, text in (getattr(METHODS.get(name), "settings", None) or {}).items():
                edit = QLineEdit(str(s.value(setting_key(name, key), "") or ""))
                browse = QPushButton("Browse…")
                browse.clicked.connect(lambda _=False, e=edit, t=text: self._browse(e, t))
                row = QHBoxLayout()
                row.addWidget(edit, 1)
                row.addWidget(browse)
                form.addRow(f"{method_label(name)}: {text}", row)
                self.fields[(name, key)] = edit
        if not self.fields:
            form.addRow(QLabel("No installed method needs settings (the SAM plugin adds its model files here)."))
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self, edit: QLineEdit, text: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, text, edit.text(), "ONNX models (*.onnx);;All files (*)")
        if path:
            edit.setText(path)

    def accept(self) -> None:
        s = QSettings()
        for (name, key), edit in self.fields.items():
            s.setValue(setting_key(name, key), edit.text().strip())
        super().accept()


def _add_tool_actions(window, services, canvas, names) -> dict:
    """Checkable actions for the tools in the Annotate menu and the Assist tool bar, exclusive with the
    window's tools."""
    menu = services.add_menu("&Annotate")
    menu.addSeparator()
    toolbar = services.add_toolbar("assist", "Assist")
    actions = {}
    for name, text, key, _hint in ASSIST_TOOLS:
        if name not in names:
            continue
        act = QAction(text, window)
        act.setShortcut(QKeySequence(key))
        act.setCheckable(True)
        act.setIconText(f"{text.replace('&', '').replace(' (assisted)', '')} ({key})")
        act.triggered.connect(lambda _=False, n=name: canvas.set_tool(n))
        menu.addAction(act)
        toolbar.addAction(act)
        services.add_tool_action(name, act)
        actions[name] = act
    return actions


def install(session, services) -> AssistPanel:
    """Window extension: the assist tools, their actions and the Assist dock (see the module docstring)."""
    window, canvas = services.window, services.canvas
    controller = AssistController(canvas, checkpoint=lambda: session.checkpoint,
                                  class_names=lambda: session.class_names or None, parent=window)
    wand = WandTool(canvas, controller)
    tools = [AssistTool(canvas, controller, boxes=True), AssistTool(canvas, controller, boxes=False), wand,
             SnapTool(canvas, controller)]
    for tool in tools:
        canvas.add_tool(tool)
    WheelForwarder(canvas, wand)
    try:   # the hint above the canvas (the window reads TOOL_HINTS by tool name)
        from segstudio.gui.panels.tool_palette import TOOL_HINTS

        TOOL_HINTS.update({name: hint for name, _t, _k, hint in ASSIST_TOOLS})
    except ImportError:  # pragma: no cover - the palette module moved: no hint, the tools still work
        pass
    actions = _add_tool_actions(window, services, canvas, {t.name for t in tools})
    panel = AssistPanel(controller, wand)
    dock = QDockWidget("Assist", window)
    dock.setWidget(panel)
    services.add_dock("assist", dock, Qt.RightDockWidgetArea)
    services.add_menu_action("&Annotate", "Assist settings…", panel.open_settings, name="assist_settings")
    controller.message.connect(lambda text, error: services.status(text, error=error))
    controller.message.connect(lambda *_: panel.sync_tolerance())
    session.events.checkpoint.connect(lambda _path: panel.update_model_label())
    canvas.toolChanged.connect(lambda name: actions[name].setChecked(True) if name in actions else None)
    services.on_quit(controller.shutdown)
    services.publish("assist", controller)
    services.publish("assist_panel", panel)
    return panel
