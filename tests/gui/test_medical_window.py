"""DICOM / NIfTI in the annotation window: open, window level from the file, slice slider, per-slice JSON."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

pytest.importorskip("pydicom")
pytest.importorskip("nibabel")


@pytest.fixture
def scans(tmp_path):
    from nibabel.testing import data_path
    from pydicom.data import get_testdata_file

    folder = tmp_path / "scans"
    folder.mkdir()
    shutil.copy(get_testdata_file("MR_small.dcm", download=False), folder / "mr.dcm")
    shutil.copy(Path(data_path) / "anatomical.nii", folder / "head.nii")
    (folder / "labels.txt").write_text("_background_\nlesion\n")
    return folder


@pytest.fixture
def window(qtbot, messages):
    from segstudio.core.medical import clear_cache
    from segstudio.gui.main_window import MainWindow

    clear_cache()
    w = MainWindow(extensions=["medical"])
    qtbot.addWidget(w)
    with qtbot.waitActive(w):
        w.show()
        w.activateWindow()
    yield w
    w.autosaver.enabled = False


def _navigator(window):
    from segstudio.gui.medical_slices import SliceNavigator

    return window.findChild(SliceNavigator)


def test_dicom_opens_with_its_window_and_presets(qtbot, window, scans):
    from segstudio.core.imaging import DisplaySettings, to_display
    from segstudio.core.medical import read_slice

    window.open_project(scans)
    window.open_image(window.project.entry_for("mr"))
    nav = _navigator(window)
    assert window.docks["slices"].isVisible()
    assert not nav.slider.isEnabled()                        # one slice
    assert nav.presets.currentText().startswith("File window 1 (600 / 1600)")
    panel = window.adjust_panel
    assert (panel.level.value(), panel.width.value()) == (600.0, 1600.0)
    assert window.display.level == 600.0 and window.display.width == 1600.0
    expected = to_display(read_slice(scans / "mr.dcm"), DisplaySettings(level=600.0, width=1600.0))
    assert np.array_equal(to_display(window.document.image, window.display), expected)
    nav.presets.setCurrentIndex(nav.presets.findText("Auto (percentiles)"))
    nav.presets.activated.emit(nav.presets.currentIndex())
    assert window.display.level is None                      # the image's own default window again


def test_volume_slider_moves_between_slice_jsons(qtbot, window, scans):
    from segstudio.core.medical import read_slice

    window.open_project(scans)
    window.open_image(window.project.entry_for("head_z000"))
    nav = _navigator(window)
    assert nav.slider.isEnabled() and nav.slider.maximum() == 24
    nav.slider.setFocus()
    for _ in range(12):
        qtbot.keyClick(nav.slider, Qt.Key_PageUp)
    assert window.current_entry.stem == "head_z012" and window.current_entry.slice == 12
    assert np.array_equal(window.document.image, read_slice(scans / "head.nii", 12))
    assert nav.spin.value() == 12

    # draw a rectangle on slice 12 and leave the slice: its JSON is written, naming the volume and the slice
    window.canvas.label_requested = None                     # no label dialog: the current class
    window.canvas.set_tool("rectangle")
    window.canvas.current_label = "lesion"
    view = window.canvas
    a = view.mapFromScene(3, 4)
    b = view.mapFromScene(10, 12)
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=QPoint(a.x(), a.y()))
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=QPoint(b.x(), b.y()))
    assert len(window.document.shapes()) == 1
    qtbot.keyClick(nav.slider, Qt.Key_PageUp)
    assert window.current_entry.stem == "head_z013"
    saved = json.loads((scans / "head_z012.json").read_text())
    assert saved["imagePath"] == "head.nii" and saved["imageSlice"] == 12
    assert saved["imageData"] is None and len(saved["shapes"]) == 1
    assert (saved["imageHeight"], saved["imageWidth"]) == read_slice(scans / "head.nii", 12).shape
    assert not (scans / "head_z013.json").exists()           # not edited: nothing written
    window.refresh_statuses()
    assert window.project.status(window.project.entry_for("head_z012")) == "annotated"
    # back to slice 12: its annotation is shown again
    qtbot.keyClick(nav.slider, Qt.Key_PageDown)
    assert window.current_entry.stem == "head_z012" and len(window.document.shapes()) == 1
