"""Issue 15, the window: Training and Review from the toolbar, Help > First steps, the window fits the screen,
the welcome text is never clipped, one sample project in Recent projects, the eraser cuts a polygon (or says
why it cannot), the label dialog opens beside the shape, File has Export dataset... above Quit, the export
dialog shows nothing stale, and the report's curves.png has the app's class colours."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, QRect, Qt, QTimer
from PySide6.QtWidgets import QApplication, QToolButton

from segstudio.core.annotation.document import Shape
from segstudio.core.sample import make_sample_project
from segstudio.gui.main_window import MainWindow

pytest.importorskip("pytestqt")


@pytest.fixture
def full_window(qtbot, messages):
    """A shown MainWindow with every extension (training, review, export...)."""
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.autosaver.enabled = False
    for key in ("training", "review"):
        w.docks[key].shutdown()


def toolbar_button(window, name) -> QToolButton:
    button = window.panel_buttons[name.replace("show_", "")]
    assert button.defaultAction() is window.actions_by_name[name] and button.isVisible()
    assert button.text() in ("Training", "Review") and button.toolButtonStyle() == Qt.ToolButtonTextBesideIcon
    return button


def test_training_and_review_from_the_toolbar(qtbot, full_window, sample_project):
    w = full_window
    assert w.open_path(sample_project)
    train, review = w.docks["training"], w.docks["review"]
    assert not train.isVisible() and not review.isVisible()      # the canvas has the room while annotating
    qtbot.mouseClick(toolbar_button(w, "show_training"), Qt.LeftButton)
    qtbot.waitUntil(train.isVisible)
    assert w.dockWidgetArea(train) == Qt.BottomDockWidgetArea
    assert train.height() >= 0.4 * w.centralWidget().height()    # room for the curves
    assert train.splitter.orientation() == Qt.Horizontal          # settings | curves | runs side by side
    # at 1366x768 the Training panel shows everything without scrolling, curves large enough to read
    w.resize(1366, 738)
    w.show_panel("training")
    qtbot.waitUntil(lambda: train.width() >= 1300)
    scroll = train.widget()
    assert scroll.verticalScrollBar().maximum() == 0 and scroll.horizontalScrollBar().maximum() == 0
    assert train.curves.loss_plot.height() >= 150 and train.curves.loss_plot.width() >= 150
    assert not train.runs.use_button.visibleRegion().isEmpty()    # "Use for prediction" without scrolling
    qtbot.mouseClick(toolbar_button(w, "show_review"), Qt.LeftButton)
    qtbot.waitUntil(review.isVisible)
    assert not review.visibleRegion().isEmpty()                   # on top of its tab group
    # a finished run's "Review the model" shows the Review panel
    qtbot.mouseClick(toolbar_button(w, "show_training"), Qt.LeftButton)
    qtbot.waitUntil(lambda: review.visibleRegion().isEmpty())
    train.reviewRequested.emit()
    qtbot.waitUntil(lambda: not review.visibleRegion().isEmpty())


def test_file_menu_has_export_above_quit(full_window):
    texts = [a.text().replace("&", "") for a in full_window.file_menu.actions() if not a.isSeparator()]
    assert texts[-1] == "Quit" and texts[-2] == "Export dataset..."


def test_help_first_steps_page(qtbot, full_window):
    from segstudio.gui.dialogs.help_dialog import HelpDialog

    w = full_window
    w.actions_by_name["first_steps"].trigger()
    dialogs = [d for d in w.findChildren(HelpDialog) if d.isVisible()]
    assert dialogs
    d = dialogs[-1]
    assert d.tabs.tabText(d.tabs.currentIndex()) == "First steps"
    text = d.first_steps.toPlainText()
    for words in ("Open a folder", "Train", "Predict all", "Accept prediction", "Export dataset"):
        assert words in text
    d.close()
    w.actions_by_name["help"].trigger()
    d = [d for d in w.findChildren(HelpDialog) if d.isVisible()][-1]
    assert d.tabs.tabText(d.tabs.currentIndex()) == "Keyboard shortcuts"


def test_window_fits_the_screen_and_welcome_text_is_never_clipped(qtbot, make_window):
    w = make_window()
    avail = w.screen().availableGeometry()
    w.resize(avail.width() + 900, avail.height() + 700)
    w.fit_to_screen()
    assert w.width() <= avail.width() and w.height() <= avail.height()
    assert avail.contains(QRect(w.pos(), w.size()))
    for size in ((avail.width(), avail.height()), (640, 360)):
        w.resize(*size)
        qtbot.waitUntil(lambda: w.welcome.text.width() > 0)
        QApplication.processEvents()
        label = w.welcome.text
        assert label.height() >= label.heightForWidth(label.width())   # every line of the text shown
        assert label.visibleRegion().boundingRect().height() >= label.heightForWidth(label.width()) or \
            w.welcome.scroll.verticalScrollBar().maximum() > 0            # else it scrolls, never cut


def test_one_sample_project_in_recent_projects(qtbot, make_window, tmp_path, sample_project):
    w = make_window()
    first = make_sample_project(tmp_path / "a" / "sample_project", n_images=2)
    second = make_sample_project(tmp_path / "b" / "sample_project", n_images=2)
    for folder in (first, sample_project, second):
        assert w.open_path(folder)
    recent = w.settings.recent_projects()
    samples = [p for p in recent if p.endswith("sample_project")]
    assert samples == [str(second.resolve())]
    items = [w.welcome.recent.item(i).text() for i in range(w.welcome.recent.count())]
    assert len(items) == len(recent) and str(second.parent.resolve()) in items[0]   # the folder tells them apart


def canvas_drag(canvas, a, b, steps=6):
    from PySide6.QtTest import QTest

    vp = canvas.viewport()

    def pos(x, y):
        return canvas.mapFromScene(QPointF(x, y))
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, pos(*a))
    for k in range(1, steps + 1):
        t = k / steps
        QTest.mouseMove(vp, pos(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t))
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, pos(*b))


def test_eraser_cuts_a_polygon_or_says_why_not(qtbot, make_window, sample_project):
    w = make_window()
    w.open_path(sample_project)
    doc = w.document
    doc.set_shapes([Shape("lesion", [[40, 40], [200, 40], [200, 200], [40, 200]]),
                    Shape("cyst", [[20, 230], [230, 230]], "line")], "test shapes")
    w.canvas.set_tool("eraser")
    w.canvas.brush_size = 20
    count = doc.undo_stack.count()
    canvas_drag(w.canvas, (120, 20), (120, 205))          # through the square (not down to the line)
    assert doc.undo_stack.count() == count + 1
    cut = doc.shapes()[0]
    assert cut.shape_type == "mask" and cut.label == "lesion"
    assert "mask" in w.statusBar().currentMessage()
    assert w.autosaver.flush()
    from segstudio.core.annotation.io import load_annotation
    from segstudio.core.annotation.rasterize import annotation_to_label

    cls, _ = annotation_to_label(load_annotation(w.current_entry.json_path), w.project.label_set)
    assert cls[120, 120] == 0 and cls[120, 60] == 1 and cls[120, 180] == 1   # cut in two, saved
    doc.undo_stack.undo()
    assert doc.shapes()[0].shape_type == "polygon"
    canvas_drag(w.canvas, (60, 230), (180, 230))          # along the line: not cut, and it says why
    assert doc.shapes()[1].shape_type == "line"
    assert "cannot cut a line" in w.statusBar().currentMessage()


def test_label_dialog_opens_beside_the_new_shape(qtbot, make_window, sample_project):
    from segstudio.gui.dialogs.label_dialog import LabelDialog, canvas_rect

    w = make_window()
    w.open_path(sample_project)
    w.canvas.set_tool("polygon")
    pts = [(20, 100), (70, 90), (60, 150)]
    seen = []

    def answer():
        dialogs = [d for d in QApplication.topLevelWidgets() if isinstance(d, LabelDialog) and d.isVisible()]
        if not dialogs:
            QTimer.singleShot(10, answer)
            return
        seen.append(dialogs[0].frameGeometry())
        dialogs[0].edit.setText("lesion")
        dialogs[0].accept()
    n = len(w.document.shapes())
    QTimer.singleShot(0, answer)
    for x, y in pts:
        qtbot.mouseClick(w.canvas.viewport(), Qt.LeftButton, pos=w.canvas.mapFromScene(QPointF(x, y)))
    qtbot.mouseClick(w.canvas.viewport(), Qt.LeftButton, pos=w.canvas.mapFromScene(QPointF(*pts[0])))
    qtbot.waitUntil(lambda: len(w.document.shapes()) == n + 1)
    shape_rect = canvas_rect(w.canvas, [list(p) for p in pts])
    assert seen and not seen[0].intersects(shape_rect)


def test_export_dialog_shows_nothing_stale(qtbot, sample_project, tmp_path):
    from segstudio.core.project import Project
    from segstudio.gui.export_dialog import FORMAT_TEXT, ExportDialog

    assert "ImageSets" not in FORMAT_TEXT["voc"]        # the VOC export writes none (as labelme2voc)
    dlg = ExportDialog(Project(sample_project))
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.progress.isHidden() and dlg.summary.toPlainText() == ""     # no "0/100" before Export
    dlg.target.setText(str(tmp_path / "out"))
    with qtbot.waitSignal(dlg.exportFinished, timeout=120_000):
        qtbot.mouseClick(dlg.export_button, Qt.LeftButton)
    assert dlg.progress.isVisible() and dlg.progress.value() == dlg.progress.maximum() == 24
    assert "Exported 24 image(s)" in dlg.summary.toPlainText()
    dlg.format.setCurrentIndex((dlg.format.currentIndex() + 1) % dlg.format.count())
    assert dlg.progress.isHidden() and dlg.summary.toPlainText() == ""     # the last summary is not this one


def test_report_curves_have_the_app_class_colours(tmp_path):
    from segstudio.core.training import RunFolder

    project = make_sample_project(tmp_path / "p", n_images=2)
    settings = json.loads((project / "segstudio.json").read_text())
    settings["colors"] = {"cyst": "#12c0a4"}
    (project / "segstudio.json").write_text(json.dumps(settings))
    run = RunFolder(project / "runs" / "r")
    run.path.mkdir(parents=True)
    run.config_json.write_text(json.dumps({"data": str(project), "model": "unet"}))
    rows = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "miou": 0.2 * e, "iou__background_": 0.9,
             "iou_lesion": 0.15 * e, "iou_cyst": 0.1 * e} for e in (1, 2, 3)]
    run.write_history(rows)
    pixels = {tuple(p) for p in np.asarray(Image.open(run.curves_png).convert("RGB")).reshape(-1, 3).tolist()}
    assert (0x12, 0xC0, 0xA4) in pixels          # cyst: the colour picked in the project
    assert (128, 0, 0) in pixels                 # lesion: its VOC colour (id 1), as the canvas draws it
