"""Edge-snapping paths (live wire) between anchors with OpenCV's ``cv2.segmentation.IntelligentScissorsMB``.

The scissors' cost map is built over the visible part of the image (``view``), downscaled so that its long
side is at most WORK_SIDE pixels: a click (a new anchor) costs one Dijkstra over at most WORK_SIDE²
pixels whatever the image size and zoom, and the path to the mouse is then a cheap lookup.  Paths are
returned in image coordinates (pixel centres), anchor first.
"""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np

from segstudio.core.interactive.prompts import Box, Click, PromptError, check_click, to_rgb8
from segstudio.core.interactive.wand import view_box

WORK_SIDE = 512


def scissors_available() -> bool:
    return hasattr(cv2, "segmentation") and hasattr(cv2.segmentation, "IntelligentScissorsMB")


class EdgeSnapper:
    """Live-wire paths on one image; ``set_anchor`` then ``path_to`` any number of times."""

    def __init__(self, image: np.ndarray, *, work_side: int = WORK_SIDE):
        if not scissors_available():
            raise PromptError("edge snapping needs cv2.segmentation.IntelligentScissorsMB, which this OpenCV "
                              f"{cv2.__version__} build lacks")
        self.image = image
        self.rgb = to_rgb8(image)
        self.work_side = int(work_side)
        self.roi: Optional[Box] = None
        self.scale = 1.0
        self.anchor: Optional[tuple[float, float]] = None
        self._tool = None

    def _prepare(self, roi: Box) -> None:
        if roi == self.roi and self._tool is not None:
            return
        self.roi = roi
        self.scale = min(1.0, self.work_side / max(roi.width, roi.height))
        crop = self.rgb[roi.y0 : roi.y1, roi.x0 : roi.x1]
        if self.scale < 1.0:
            crop = cv2.resize(crop, (max(1, round(roi.width * self.scale)), max(1, round(roi.height * self.scale))),
                              interpolation=cv2.INTER_AREA)
        tool = cv2.segmentation.IntelligentScissorsMB()
        tool.setEdgeFeatureCannyParameters(32, 100)
        tool.setGradientMagnitudeMaxLimit(200)
        tool.applyImage(np.ascontiguousarray(crop))
        self._tool, self._size = tool, crop.shape[:2]

    def _to_work(self, x: float, y: float) -> tuple[int, int]:
        h, w = self._size
        return (min(w - 1, max(0, int((x - self.roi.x0) * self.scale))),
                min(h - 1, max(0, int((y - self.roi.y0) * self.scale))))

    def set_anchor(self, x: float, y: float, view: Optional[Sequence[float]] = None) -> None:
        """A new anchor at (x, y); the cost map covers ``view`` (x0, y0, x1, y1; None = the whole image)."""
        check_click(self.image, Click(float(x), float(y)))
        roi = view_box(self.image, view)
        if not roi.contains(x, y):
            raise PromptError(f"the anchor ({x:.0f}, {y:.0f}) is outside the visible part of the image")
        self._prepare(roi)
        self._tool.buildMap(self._to_work(x, y))
        self.anchor = (float(x), float(y))

    def path_to(self, x: float, y: float) -> np.ndarray:
        """float32 N x 2 image points from the anchor to (x, y) (clamped to the view), following edges."""
        if self.anchor is None:
            raise PromptError("click a first anchor before asking for a path")
        contour = self._tool.getContour(self._to_work(x, y)).reshape(-1, 2).astype(np.float32)
        pts = (contour + 0.5) / self.scale + np.array([self.roi.x0, self.roi.y0], np.float32)
        if len(pts) == 0:
            return np.array([self.anchor], np.float32)
        if np.hypot(*(pts[0] - self.anchor)) > np.hypot(*(pts[-1] - self.anchor)):
            pts = pts[::-1]
        return pts


def simplify_path(points: np.ndarray, tolerance: float = 0.7) -> np.ndarray:
    """Douglas-Peucker on an open path, end points kept (fewer vertices for the same outline)."""
    pts = np.asarray(points, np.float32).reshape(-1, 2)
    if len(pts) <= 2:
        return pts
    return cv2.approxPolyDP(pts.reshape(-1, 1, 2), float(tolerance), False).reshape(-1, 2)
