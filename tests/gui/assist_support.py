"""No tests: a window with the Assist extension on a small project, and helpers to drive its tools."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from segstudio.core.annotation import LabelSet, annotation_to_label, load_annotation

LABELS = LabelSet.from_names(["_background_", "lesion"])


def disk_project(folder: Path, size=240, radius=60, center=(120, 120)) -> Path:
    """One image: a dark textured disk on a light textured background; labels.txt with "lesion"."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:size, :size]
    gt = (xx - center[0]) ** 2 + (yy - center[1]) ** 2 <= radius**2
    img = np.empty((size, size, 3), np.uint8)
    img[...] = (205, 185, 165)
    img[gt] = (95, 55, 45)
    img = np.clip(img.astype(int) + rng.integers(-10, 11, img.shape), 0, 255).astype(np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(folder / "disk.png")
    (folder / "labels.txt").write_text("__ignore__\n_background_\nlesion\n")
    np.save(folder.parent / "disk_gt.npy", gt)
    return folder


def make_assist_window(qtbot, folder: Path, image_name: str):
    from segstudio.gui.main_window import MainWindow

    w = MainWindow(extensions=["assist"])
    qtbot.addWidget(w)
    w.resize(1200, 800)
    with qtbot.waitActive(w):
        w.show()
        w.activateWindow()
    assert not w.extension_errors, w.extension_errors
    assert w.open_path(folder / image_name)
    w.canvas.current_label = "lesion"
    w.canvas.setFocus()
    w.canvas.fit()
    return w


def vp(view, x, y):
    return view.mapFromScene(QPointF(x, y))


def drag(view, a, b, steps=6):
    w = view.viewport()
    QTest.mousePress(w, Qt.LeftButton, Qt.NoModifier, vp(view, *a))
    for k in range(1, steps + 1):
        t = k / steps
        QTest.mouseMove(w, vp(view, a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t))
    QTest.mouseRelease(w, Qt.LeftButton, Qt.NoModifier, vp(view, *b))


def click(view, x, y, button=Qt.LeftButton):
    QTest.mouseClick(view.viewport(), button, Qt.NoModifier, vp(view, x, y))


def settle(window, qtbot):
    """Wait until every assist request is done and applied."""
    qtbot.waitUntil(lambda: not window.assist.busy and not window.assist._queue, timeout=60000)


def autosaved_label(window, json_path: Path) -> np.ndarray:
    """Let the autosaver write, read the JSON back through core, rasterize it (lesion = 1)."""
    assert window.autosaver.flush()
    ann = load_annotation(json_path, check_image=False)
    cls, _ = annotation_to_label(ann, LABELS)
    return cls == 1


def iou(a, b) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.fixture
def disk(tmp_path):
    folder = disk_project(tmp_path / "project")
    return folder, np.load(tmp_path / "disk_gt.npy")
