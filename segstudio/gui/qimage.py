"""numpy uint8 arrays -> QImage: the one conversion the canvas, the mask shapes and the review panes use.

The pixels themselves come from :func:`segstudio.core.imaging.to_display` (or an overlay built on it); this only
wraps them for Qt, as an independent copy (the array may be freed or changed afterwards).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap

_FORMATS = {1: QImage.Format_Grayscale8, 3: QImage.Format_RGB888, 4: QImage.Format_RGBA8888}


def to_qimage(array: np.ndarray) -> QImage:
    """An HxW (gray), HxWx3 (RGB) or HxWx4 (RGBA) uint8 array as an independent QImage."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    channels = 1 if a.ndim == 2 else a.shape[2]
    if a.ndim not in (2, 3) or channels not in _FORMATS:
        raise ValueError(f"cannot make a QImage of an array of shape {a.shape}")
    h, w = a.shape[:2]
    return QImage(a.data, w, h, channels * w, _FORMATS[channels]).copy()


def to_qpixmap(array: np.ndarray) -> QPixmap:
    return QPixmap.fromImage(to_qimage(array))
