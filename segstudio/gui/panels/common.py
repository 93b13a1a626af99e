"""Small shared helpers of the panels (colour swatches)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

STATUS_COLORS = {
    "not annotated": QColor(150, 150, 150),
    "annotated": QColor(46, 160, 67),
    "predicted": QColor(230, 150, 20),
    "reviewed": QColor(40, 110, 220),
    "problem": QColor(215, 40, 40),
}


def swatch_icon(color: QColor, size: int = 14, round_: bool = False) -> QIcon:
    """A filled square (or disc) icon of ``color`` with a thin dark outline."""
    pm = QPixmap(size, size)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(QColor(40, 40, 40))
    p.setBrush(color)
    if round_:
        p.drawEllipse(1, 1, size - 2, size - 2)
    else:
        p.drawRect(1, 1, size - 2, size - 2)
    p.end()
    return QIcon(pm)
