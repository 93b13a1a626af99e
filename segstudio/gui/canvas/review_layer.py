"""A picture layer of the canvas between the image and the shapes (the review overlay: prediction, annotation,
FP/FN colours), and the worker that composes it.

:class:`PictureLayer` is a pixmap item at the image's origin with one pixmap pixel per image pixel, so it lines
up with the image at every zoom (the view's transform scales both).  It takes no mouse buttons: clicks reach
the shapes and the tools as without it.  Z: above the image (-1), below the overview tiles (-0.5) and the shapes.

:class:`LatestJob` runs a compose function on a thread of its own (a 4096² overlay takes longer than a
frame) and hands back its pixels; only the newest request counts, older results are dropped.
"""
from __future__ import annotations

import threading
from typing import Callable, Optional

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem

Z_LAYER = -0.75


def bgra_qimage(array: np.ndarray, *, copy: bool = True) -> QImage:
    """An HxWx4 BGRA uint8 array whose alpha is 0 or 255 as a premultiplied ARGB32 QImage (the canvas's native
    format, so making a pixmap of it converts nothing).  ``copy=False``: the QImage uses the array's memory,
    which the caller keeps alive as long as the image or a pixmap made of it (no 64 MB copy at 4096²)."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    h, w = a.shape[:2]
    image = QImage(a.data, w, h, 4 * w, QImage.Format_ARGB32_Premultiplied)
    return image.copy() if copy else image


class PictureLayer(QGraphicsPixmapItem):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setZValue(Z_LAYER)
        self.setTransformationMode(Qt.FastTransformation)   # image pixels stay crisp squares, as the image
        self.setShapeMode(QGraphicsPixmapItem.BoundingRectShape)
        self.setAcceptedMouseButtons(Qt.NoButton)
        self.setAcceptHoverEvents(False)
        self._buffer: Optional[np.ndarray] = None   # the pixels the pixmap may share (set_array)

    def set_image(self, image: Optional[QImage]) -> None:
        self.setPixmap(QPixmap() if image is None or image.isNull() else QPixmap.fromImage(image))
        self._buffer = None

    def set_array(self, array: Optional[np.ndarray]) -> None:
        """Show an HxWx4 BGRA array (alpha 0 or 255) without copying it: the layer keeps it for its pixmap."""
        if array is None:
            self.clear()
            return
        array = np.ascontiguousarray(array, dtype=np.uint8)
        self.setPixmap(QPixmap.fromImage(bgra_qimage(array, copy=False)))
        self._buffer = array

    def clear(self) -> None:
        self.setPixmap(QPixmap())
        self._buffer = None


class LatestJob(QObject):
    """``request(fn)`` runs ``fn()`` on a worker thread (here: the layer's HxWx4 BGRA pixels, or the Review dock's
    data of a big image); ``ready(result)`` is emitted on the GUI thread for the newest request only.  ``failed(str)`` says why one could not be drawn."""

    ready = Signal(object)
    failed = Signal(str)
    _done = Signal(int, object, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._generation = 0
        self._lock = threading.Lock()
        self._pending: Optional[tuple[int, Callable]] = None
        self._thread: Optional[threading.Thread] = None
        self._done.connect(self._deliver, Qt.QueuedConnection)

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def request(self, fn: Callable[[], Optional[np.ndarray]]) -> None:
        with self._lock:
            self._generation += 1
            self._pending = (self._generation, fn)
            if self._thread is not None and self._thread.is_alive():
                return            # the running thread takes the newest request when it is done
            self._thread = threading.Thread(target=self._loop, name="review-layer", daemon=True)
            self._thread.start()

    def cancel(self) -> None:
        """Forget the pending and running requests (their results are dropped)."""
        with self._lock:
            self._generation += 1
            self._pending = None

    def wait(self, timeout: float = 30.0) -> None:
        t = self._thread
        if t is not None:
            t.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._lock:
                job, self._pending = self._pending, None
                if job is None:
                    return
            gen, fn = job
            try:
                self._done.emit(gen, fn(), "")
            except Exception as exc:   # noqa: BLE001 - a bad prediction file must not kill the thread silently
                self._done.emit(gen, None, f"{type(exc).__name__}: {exc}")

    def _deliver(self, gen: int, image, error: str) -> None:
        if gen != self._generation:
            return
        if error:
            self.failed.emit(error)
        self.ready.emit(image)
