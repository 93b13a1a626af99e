"""The one numpy -> QImage wrapping (gui/qimage.py): gray, RGB and RGBA keep their pixels, and the image is a copy."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtGui import QColor  # noqa: E402

from segstudio.gui.qimage import to_qimage  # noqa: E402


def test_gray_rgb_rgba_pixels_and_copy(qtbot):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    rgb = np.zeros((3, 4, 3), np.uint8)
    rgb[1, 2] = (10, 20, 30)
    rgba = np.zeros((3, 4, 4), np.uint8)
    rgba[2, 3] = (200, 100, 50, 255)
    qg, qc, qa = to_qimage(gray), to_qimage(rgb), to_qimage(rgba)
    assert (qg.width(), qg.height()) == (4, 3) and QColor(qg.pixel(3, 2)).red() == gray[2, 3]
    assert qc.pixelColor(2, 1) == QColor(10, 20, 30)
    assert qa.pixelColor(3, 2) == QColor(200, 100, 50, 255)
    rgb[1, 2] = 0                                      # the QImage owns its pixels
    assert qc.pixelColor(2, 1) == QColor(10, 20, 30)
    assert to_qimage(rgb[:, ::2]).width() == 2          # non-contiguous views are fine
    with pytest.raises(ValueError):
        to_qimage(np.zeros((2, 2, 2), np.uint8))
