"""Level of detail for many shapes: pre-rendered overview tiles instead of painting 1000 items.

The overview is a pyramid of tiles (``TILE`` px squares) of the shapes alone, at scales ``base * 2**(k/2)``
(``base``: the image's long side shrunk to ``BASE_SIDE`` px, at most 1; levels a factor sqrt(2) apart, from
``MIN_SIDE`` px on the long side up to ``MAX_SCALE``).  When it is shown, the canvas paints every exposed
tile with one smooth ``drawImage`` from the coarsest level whose scale is at least the zoom -- so it is never
magnified (every screen pixel covers at least one overview pixel) and shrunk by less than sqrt(2) (bilinear
filtering keeps every 1-px outline, and reads at most 2x the screen's pixels) -- and makes the shape items
fully transparent, which Qt skips when painting; they stay in the scene for hit testing.  Selected shapes
keep their items, drawn highlighted on top.

The canvas decides when to show it (``CanvasView._update_lod``): with at least ``MIN_SHAPES`` shapes, when
the zoom is at most ``base`` (the whole image is in view, as before), or when painting the items that meet
the viewport would cost more than ``WORK_MIN`` and more than drawing the tiles (``items_cost`` and
``overview_cost``: models of the raster engine's time, fitted with ``benchmarks/canvas.py --calibrate``),
with hysteresis.  So a large window just above the old zoom threshold paints tiles, while a small one, or a
zoom so deep that few shapes are in view, paints the crisp items themselves.

Tiles are rendered when first painted, never per repaint afterwards.  Levels up to 0 (at most 16 tiles each)
are rendered at once when needed; tiles of finer levels within ``PAINT_BUDGET_S`` per paint, the missing
ones drawn meanwhile from a neighbouring level whose tiles there are cached (the level just zoomed from) or
from level 0, and rendered by the following paints (scheduled at once).  An edit drops only the cached tiles
that meet the rectangles where shapes appeared, vanished or changed paint order; colour and visibility
changes drop them all.  Cached tiles are kept up to ``CACHE_BYTES`` (least recently painted dropped first).
Shapes are drawn into the tiles unselected (``paint_plain``), whatever their selection state.
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

MIN_SHAPES = 200          # below this the items are always painted directly
BASE_SIDE = 2048          # level 0: longest side in pixels
MIN_SIDE = 256            # the coarsest level: longest side in pixels
TILE = 512                # tile side in pixels
MAX_SCALE = 8.0           # no level finer than this (zoomed in that far, few shapes are in view)
CACHE_BYTES = 192 << 20   # cached tiles beyond this are dropped, least recently painted first
PAINT_BUDGET_S = 0.005    # time per paint for rendering missing tiles of the finer levels
# Cost models in microseconds (fitted on a shared 2-core x86 VM by benchmarks/canvas.py --calibrate, median
# error 10-25 %; only their ratio matters for the decision): painting items costs per vertex of the shapes
# that meet the viewport and per screen pixel of their bounding boxes inside it; drawing tiles costs per
# screen pixel of the image in view (smooth scaling; a plain blit when the tile scale equals the zoom).
ITEM_US_PER_VERTEX = 0.6
ITEM_US_PER_PIXEL = 0.0021
TILE_US_PER_PIXEL = 0.0029
TILE_US_PER_PIXEL_EXACT = 0.0012
WORK_MIN = 8000.0         # items estimated cheaper than this are always painted as items (crisp)
HYSTERESIS = 1.3          # the overview comes on when the items cost 1.3x the tiles, goes at 1x


def items_cost(bounds: np.ndarray, vertices: np.ndarray, visible: np.ndarray, rect: QRectF,
               zoom: float) -> float:
    """Estimated time (µs) to paint the visible shapes whose boxes ``bounds`` (n x 4: x0, y0, x1, y1) meet
    ``rect`` (scene coordinates) at ``zoom``; ``vertices`` and ``visible`` per shape."""
    if len(bounds) == 0:
        return 0.0
    x0 = np.maximum(bounds[:, 0], rect.left())
    y0 = np.maximum(bounds[:, 1], rect.top())
    x1 = np.minimum(bounds[:, 2], rect.right())
    y1 = np.minimum(bounds[:, 3], rect.bottom())
    meet = visible & (x1 >= x0) & (y1 >= y0)
    if not meet.any():
        return 0.0
    area = float(((x1 - x0) * (y1 - y0))[meet].sum()) * zoom * zoom
    return ITEM_US_PER_VERTEX * float(vertices[meet].sum()) + ITEM_US_PER_PIXEL * area


def overview_cost(screen_pixels: float, ratio: float) -> float:
    """Estimated time (µs) to draw ``screen_pixels`` of tiles shrunk by ``ratio`` (zoom / tile scale)."""
    exact = abs(ratio - 1.0) < 1e-6
    return (TILE_US_PER_PIXEL_EXACT if exact else TILE_US_PER_PIXEL) * screen_pixels


class OverviewItem(QGraphicsItem):
    """Paints the overview tiles that meet the exposed rectangle."""

    def __init__(self, overview: "Overview"):
        super().__init__()
        self._overview = overview
        self._rect = QRectF()
        self.setFlag(QGraphicsItem.ItemUsesExtendedStyleOption, True)   # option.exposedRect is exact

    def set_rect(self, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(rect)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        self._overview.paint(painter, option.exposedRect)


class Overview:
    """The overview tiles of a CanvasView."""

    def __init__(self, scene):
        self.item = OverviewItem(self)
        self.item.setZValue(-0.5)              # above the image, below every shape item
        self.item.setVisible(False)
        scene.addItem(self.item)
        self.active = False
        self.level = 0
        self.base = 1.0
        self.min_level = self.max_level = 0
        self.width = self.height = 0
        self.pending = False                   # the last paint left visible tiles of its level unrendered
        self._items: list = []
        self._bounds = np.zeros((0, 4))
        self._tiles: OrderedDict[tuple[int, int, int], QImage] = OrderedDict()
        self._bytes = 0
        self._scheduled = False

    # ------------------------------------------------------------------ setup and invalidation
    def configure(self, width: int, height: int) -> None:
        """A new image: forget every tile."""
        self.width, self.height = int(width), int(height)
        side = max(self.width, self.height, 1)
        self.base = min(1.0, BASE_SIDE / side)
        self.min_level = min(0, math.floor(2.0 * math.log2(min(1.0, MIN_SIDE / side) / self.base) + 1e-6))
        self.max_level = max(0, math.floor(2.0 * math.log2(MAX_SCALE / self.base) + 1e-6))
        self.item.set_rect(QRectF(0, 0, self.width, self.height))
        self.clear()

    def set_items(self, items: list, bounds: np.ndarray) -> None:
        """The shape items in paint order and their scene bounding boxes (n x 4: x0, y0, x1, y1)."""
        self._items, self._bounds = items, bounds

    def clear(self) -> None:
        """Drop every tile (colour or visibility change, new image)."""
        self._tiles.clear()
        self._bytes = 0
        self.item.update()

    def invalidate(self, rects) -> None:
        """Drop the cached tiles that meet any of the scene rectangles ``rects`` (an edit)."""
        rects = [r for r in rects if not r.isEmpty()]
        if not rects or not self._tiles:
            return
        for key in list(self._tiles):
            if any(self.tile_rect(*key, margin=True).intersects(r) for r in rects):
                self._drop(key)
        for r in rects:
            self.item.update(r)

    def level_for(self, zoom: float) -> int:
        """The coarsest level whose scale is at least ``zoom`` (within the pyramid's levels)."""
        k = math.ceil(2.0 * math.log2(max(zoom, 1e-9) / self.base) - 1e-6)
        return min(max(k, self.min_level), self.max_level)

    def scale(self, level: int) -> float:
        return self.base * 2.0 ** (level / 2.0)

    def grid(self, level: int) -> tuple[int, int]:
        """Number of tile columns and rows of ``level``."""
        s = self.scale(level)
        return max(1, math.ceil(self.width * s / TILE)), max(1, math.ceil(self.height * s / TILE))

    def tile_rect(self, level: int, tx: int, ty: int, margin: bool = False) -> QRectF:
        """The scene rectangle of a tile (with ``margin``: grown by what the shapes' outlines reach past)."""
        side = TILE / self.scale(level)
        r = QRectF(tx * side, ty * side, side, side)
        if margin:
            m = 2.0 / self.scale(level) + 1.0
            r.adjust(-m, -m, m, m)
        return r

    # ------------------------------------------------------------------ rendering
    def render_tile(self, level: int, tx: int, ty: int) -> QImage:
        """Paint the visible shapes that meet the tile (in paint order) into a new tile image."""
        s = self.scale(level)
        cols, rows = self.grid(level)
        w = min(TILE, math.ceil(self.width * s) - tx * TILE) if tx == cols - 1 else TILE
        h = min(TILE, math.ceil(self.height * s) - ty * TILE) if ty == rows - 1 else TILE
        img = QImage(max(1, w), max(1, h), QImage.Format_ARGB32_Premultiplied)
        img.fill(Qt.transparent)
        r = self.tile_rect(level, tx, ty, margin=True)
        b = self._bounds
        if len(b):
            meet = np.nonzero((b[:, 0] <= r.right()) & (b[:, 2] >= r.left())
                              & (b[:, 1] <= r.bottom()) & (b[:, 3] >= r.top()))[0]
            if len(meet):
                p = QPainter(img)
                p.translate(-tx * TILE, -ty * TILE)
                p.scale(s, s)
                items = self._items
                for i in meet:
                    it = items[i]
                    if it.isVisible():
                        it.paint_plain(p)
                p.end()
        return img

    def tile(self, level: int, tx: int, ty: int) -> QImage:
        """The cached tile, rendered now when missing."""
        key = (level, tx, ty)
        img = self._tiles.get(key)
        if img is None:
            img = self.render_tile(level, tx, ty)
            self._store(key, img)
        else:
            self._tiles.move_to_end(key)
        return img

    def picture(self, level: int = 0) -> QImage:
        """The whole of ``level`` as one image (tiles rendered where missing; for tests and screenshots)."""
        s = self.scale(level)
        out = QImage(max(1, math.ceil(self.width * s)), max(1, math.ceil(self.height * s)),
                     QImage.Format_ARGB32_Premultiplied)
        out.fill(Qt.transparent)
        p = QPainter(out)
        p.setCompositionMode(QPainter.CompositionMode_Source)
        cols, rows = self.grid(level)
        for ty in range(rows):
            for tx in range(cols):
                p.drawImage(tx * TILE, ty * TILE, self.tile(level, tx, ty))
        p.end()
        return out

    def cached(self, level: int) -> int:
        """Number of cached tiles of ``level``."""
        return sum(1 for k in self._tiles if k[0] == level)

    def paint(self, painter: QPainter, exposed: QRectF) -> None:
        level = self.level
        s = self.scale(level)
        side = TILE / s
        cols, rows = self.grid(level)
        tx0, ty0 = max(0, int(exposed.left() // side)), max(0, int(exposed.top() // side))
        tx1, ty1 = min(cols - 1, int(exposed.right() // side)), min(rows - 1, int(exposed.bottom() // side))
        painter.setRenderHint(QPainter.SmoothPixmapTransform, True)
        deadline = time.perf_counter() + PAINT_BUDGET_S
        missing = False
        used = set()
        for ty in range(ty0, ty1 + 1):
            for tx in range(tx0, tx1 + 1):
                key = (level, tx, ty)
                img = self._tiles.get(key)
                if img is None and (level <= 0 or time.perf_counter() < deadline):
                    img = self.tile(level, tx, ty)
                if img is not None:
                    self._tiles.move_to_end(key)
                    used.add(key)
                    painter.drawImage(QRectF(tx * side, ty * side, img.width() / s, img.height() / s), img)
                else:
                    missing = True
                    self._paint_fallback(painter, level, QRectF(tx * side, ty * side, side, side), used)
        self._evict(used)
        self.pending = missing
        if missing and not self._scheduled:     # render the rest in the next paints
            self._scheduled = True
            QTimer.singleShot(0, self._continue)

    def _tiles_over(self, level: int, rect: QRectF) -> list[tuple[int, int, int]]:
        side = TILE / self.scale(level)
        cols, rows = self.grid(level)
        return [(level, tx, ty)
                for ty in range(max(0, int(rect.top() // side)), min(rows - 1, int(rect.bottom() // side)) + 1)
                for tx in range(max(0, int(rect.left() // side)), min(cols - 1, int(rect.right() // side)) + 1)]

    def _paint_fallback(self, painter: QPainter, level: int, rect: QRectF, used: set) -> None:
        """Draw ``rect`` while its tile of ``level`` is not rendered yet: from the neighbouring levels when
        their tiles there are cached (e.g. the level just zoomed from), else from level 0 (rendered now)."""
        keys = []
        for cand in (level - 1, level + 1, level - 2):
            if cand > 0:
                keys = self._tiles_over(cand, rect)
                if keys and all(k in self._tiles for k in keys):
                    break
        else:
            keys = self._tiles_over(0, rect)
        for key in keys:
            img = self.tile(*key)
            used.add(key)
            s = self.scale(key[0])
            side = TILE / s
            tile = QRectF(key[1] * side, key[2] * side, img.width() / s, img.height() / s)
            part = tile.intersected(rect)
            if part.isEmpty():
                continue
            src = QRectF((part.left() - tile.left()) * s, (part.top() - tile.top()) * s,
                         part.width() * s, part.height() * s)
            painter.drawImage(part, img, src)

    def _continue(self) -> None:
        self._scheduled = False
        if self.active and self.pending:
            self.item.update()

    # ------------------------------------------------------------------ cache
    def _store(self, key, img: QImage) -> None:
        self._tiles[key] = img
        self._bytes += img.sizeInBytes()

    def _drop(self, key) -> None:
        img = self._tiles.pop(key)
        self._bytes -= img.sizeInBytes()

    def _evict(self, keep: set) -> None:
        if self._bytes <= CACHE_BYTES:
            return
        for key in list(self._tiles):
            if self._bytes <= CACHE_BYTES:
                break
            if key not in keep and key[0] > 0:
                self._drop(key)
