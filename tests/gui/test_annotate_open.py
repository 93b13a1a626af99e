"""How the app opens: ``segstudio`` without arguments, the last project on start, dropping a folder onto the
window, and image formats (TIFF 8/16-bit, BMP) in the window."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent
from PySide6.QtWidgets import QApplication

from segstudio.gui.main_window import MainWindow


@pytest.fixture
def window(make_window):
    return make_window(active=False)


def test_segstudio_without_arguments_is_the_gui_and_says_when_there_is_no_display(monkeypatch, capsys):
    from segstudio import cli

    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert cli.main([]) == 1
    err = capsys.readouterr().err
    assert err.startswith("segstudio gui: no display available") and "xvfb-run" in err


def test_segstudio_without_arguments_starts_the_app_on_the_last_project(monkeypatch):
    from segstudio import cli
    from segstudio.gui import app as app_module

    started = []
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr(app_module, "run_app", lambda path=None, argv=None: started.append(path) or 0)
    assert cli.main([]) == 0 and started == [None]


def _run_app_and_look(monkeypatch, path=None):
    """app.run_app with the event loop replaced by a look at the window it shows."""
    from segstudio.gui import app as app_module

    seen = {}

    def fake_exec(*_args):
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        assert len(windows) == 1
        w = windows[0]
        seen.update(project=w.project, entry=w.current_entry, welcome=w.stack.currentWidget() is w.welcome)
        w.autosaver.enabled = False
        w.close()
        w.deleteLater()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    assert app_module.run_app(path) == 0
    return seen


def test_run_app_reopens_the_last_project(monkeypatch, sample_project, qtbot):
    from segstudio.gui.settings import Settings

    assert _run_app_and_look(monkeypatch)["welcome"]          # nothing opened yet: the welcome page
    Settings().add_recent_project(sample_project)
    seen = _run_app_and_look(monkeypatch)
    assert not seen["welcome"] and seen["project"].folder == sample_project.resolve()
    assert seen["entry"].stem == "img_000"
    seen = _run_app_and_look(monkeypatch, sample_project / "img_004.png")   # a path given wins
    assert seen["entry"].stem == "img_004"


def test_dragging_a_folder_over_the_window_is_accepted_text_is_not(window, sample_project):
    def drag_enter(mime):
        event = QDragEnterEvent(QPointF(50, 50), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
        QApplication.sendEvent(window, event)
        return event

    folder = QMimeData()
    folder.setUrls([QUrl.fromLocalFile(str(sample_project))])
    event = drag_enter(folder)
    assert event.isAccepted() and event.dropAction() == Qt.CopyAction
    text = QMimeData()
    text.setText("not a file")
    assert not drag_enter(text).isAccepted()
    remote = QMimeData()
    remote.setUrls([QUrl("https://example.org/a.png")])
    assert not drag_enter(remote).isAccepted()


def test_tiff_8_and_16_bit_and_bmp_open_in_the_window(window, tmp_path):
    folder = tmp_path / "formats"
    folder.mkdir()
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)
    scan = (np.arange(50 * 70).reshape(50, 70) * 3 % 4096).astype(np.uint16)   # 12-bit data in 16 bits
    Image.fromarray(rgb).save(folder / "a_rgb8.tif")
    Image.fromarray(scan).save(folder / "b_gray16.tif")
    Image.fromarray(rgb[:, :, ::-1].copy()).save(folder / "c_rgb.bmp")
    assert window.open_path(folder)
    assert [e.stem for e in window.project.images] == ["a_rgb8", "b_gray16", "c_rgb"]
    expect = {"a_rgb8": ((40, 60, 3), np.uint8, False), "b_gray16": ((50, 70), np.uint16, True),
              "c_rgb": ((40, 60, 3), np.uint8, False)}
    for entry in window.project.images:
        assert window.open_image(entry)
        shape, dtype, windowed = expect[entry.stem]
        image = window.document.image
        assert image.shape == shape and image.dtype == dtype, entry.stem
        pixmap = window.canvas._image_item.pixmap()
        assert (pixmap.width(), pixmap.height()) == (shape[1], shape[0])
        assert window.adjust_panel.window_box.isEnabled() is windowed, entry.stem
    window.open_image(window.project.entry_for("b_gray16"))
    assert 0 < window.adjust_panel.level.value() < 4096               # the auto window of the 12-bit data
    shown = window.canvas._image_item.pixmap().toImage()
    (y_hi, x_hi) = np.unravel_index(scan.argmax(), scan.shape)
    (y_lo, x_lo) = np.unravel_index(scan.argmin(), scan.shape)
    assert shown.pixelColor(int(x_hi), int(y_hi)).red() >= 250 and shown.pixelColor(int(x_lo), int(y_lo)).red() <= 5
    window.open_image(window.project.entry_for("c_rgb"))
    assert np.array_equal(window.document.image, rgb[:, :, ::-1])
