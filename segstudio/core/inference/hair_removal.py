"""Hair removal for dermoscopy images before prediction (the DullRazor idea: find thin dark lines, inpaint them).

Hairs over a lesion's edge are segmented as lesion, or cut a lesion in two; a model trained on a few hundred
images has not seen enough of them to ignore them.  :func:`remove_hair` finds them and paints them over with
the surrounding skin:

1. grayscale, then a black-hat filter (closing minus the image) with an elliptical kernel about 2.2 % of the
   shorter side (17 px on a 765 x 574 PH2 image): bright where a structure darker than its surroundings is
   narrower than the kernel: hairs, but also a lesion's pigment network;
2. pixels whose black-hat exceeds :data:`THRESHOLD` (of 255) form the candidate mask; of its 8-connected
   regions only those at least :data:`MIN_LENGTH` of the shorter side long (bounding-box extent) are kept:
   hairs are long, dots and specks are not;
3. ... and only those that are mostly straight: at least :data:`MIN_STRAIGHT` of a region's pixels lie on a
   straight run :data:`LINE_FRACTION` of the shorter side long (23 px on PH2) in one of 12 directions (the
   union of the candidate mask's openings with 12 line segments).  A hair is straight over such lengths even
   where it bends; a lesion's pigment network (a mesh of short, crooked dark lines and dots, as long overall
   as a hair) is not, and inpainting it wiped out the lesion's texture;
4. the mask is grown by one pixel and inpainted (Telea's method, radius 5).

The outermost :data:`EDGE_FRACTION` of the side (3 px or more) is never a candidate: many scans have a dark
1-2 px frame, which would be "a hair" on every image.

It is not applied blindly: :func:`~segstudio.core.inference.postprocess.select_postprocessing` tries it on the
run's validation images and keeps it only when it finds hairs there and does not lower their mIoU (DRIVE's
vessels are thin dark lines too: a run whose validation score drops keeps the images as they are).  Only
8-bit colour images are offered it (:func:`applies_to`): grayscale (ultrasound, EM) and 16-bit images pass
through unchanged.  Parameters were set by looking at PH2 images (BENCHMARKS.md: "hair removal").  The mask
takes ~0.03 s per 765 x 574 image on a CPU, the inpainting up to ~0.4 s more on a very hairy one.
"""
from __future__ import annotations

import numpy as np

#: black-hat response (0-255) above which a pixel is a hair candidate
THRESHOLD = 25
#: black-hat kernel diameter as a fraction of the image's shorter side
KERNEL_FRACTION = 0.022
#: a candidate region is kept when its bounding box is at least this fraction of the shorter side long
MIN_LENGTH = 0.06
#: length of the straight runs that make a region a hair, as a fraction of the shorter side
LINE_FRACTION = 0.04
#: fraction of a region's pixels that must lie on such runs
MIN_STRAIGHT = 0.5
#: directions of the straight runs looked for (every 15 degrees)
DIRECTIONS = 12
#: the image's outer rows and columns ignored (at least 3 px): a dark 1-2 px frame is common in dermoscopy scans
EDGE_FRACTION = 0.005
#: inpainting radius in pixels
INPAINT_RADIUS = 5


def applies_to(image: np.ndarray) -> bool:
    """True for an 8-bit colour image (H x W x 3, or x 4 with alpha) whose channels are not all equal."""
    a = np.asarray(image)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] not in (3, 4):
        return False
    rgb = a[..., :3]
    return not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]))


def hair_mask(image: np.ndarray) -> np.ndarray:
    """uint8 H x W mask (255 = hair) of an 8-bit colour image (see the module's steps 1-2, plus the 1 px growth)."""
    import cv2

    rgb = np.ascontiguousarray(np.asarray(image)[..., :3])
    h, w = rgb.shape[:2]
    side = min(h, w)
    k = max(5, int(round(side * KERNEL_FRACTION)) | 1)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    blackhat = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    candidates = (blackhat > THRESHOLD).astype(np.uint8)
    m = max(3, int(round(side * EDGE_FRACTION)))     # a dark scanner / JPEG frame along the edge is not a hair
    candidates[:m], candidates[-m:], candidates[:, :m], candidates[:, -m:] = 0, 0, 0, 0
    n, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
    extent = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    straight = np.bincount(labels.ravel(), weights=straight_runs(candidates, side).ravel(), minlength=n)
    keep = (extent >= MIN_LENGTH * side) & (straight >= MIN_STRAIGHT * stats[:, cv2.CC_STAT_AREA])
    keep[0] = False                                   # the background of the candidate mask
    mask = keep[labels].astype(np.uint8) * 255
    return cv2.dilate(mask, np.ones((3, 3), np.uint8))


def line_kernels(length: int, directions: int = DIRECTIONS) -> list:
    """``directions`` one-pixel-wide line segments of ``length`` pixels (odd) through the centre of a
    ``length`` x ``length`` kernel, at angles ``180 * i / directions`` degrees."""
    import cv2

    c = (length - 1) / 2
    kernels = []
    for i in range(directions):
        dx, dy = np.cos(np.pi * i / directions) * c, np.sin(np.pi * i / directions) * c
        k = np.zeros((length, length), np.uint8)
        cv2.line(k, (int(round(c - dx)), int(round(c - dy))), (int(round(c + dx)), int(round(c + dy))), 1, 1)
        kernels.append(k)
    return kernels


def straight_runs(candidates: np.ndarray, side: int) -> np.ndarray:
    """0/1 mask of the pixels of ``candidates`` (0/1 uint8) on a straight run of :data:`LINE_FRACTION` of
    ``side`` in one of :data:`DIRECTIONS` directions (the union of the openings by line segments)."""
    import cv2

    length = max(5, int(round(side * LINE_FRACTION)) | 1)
    out = np.zeros_like(candidates)
    for k in line_kernels(length):
        out |= cv2.morphologyEx(candidates, cv2.MORPH_OPEN, k)
    # OpenCV dilates with the kernel unreflected: a segment not symmetric about its centre (rounded ends) can
    # reach a pixel past the mask
    return out & candidates


def remove_hair(image: np.ndarray) -> np.ndarray:
    """A copy of an 8-bit colour image with its hairs inpainted (alpha kept); any other image unchanged."""
    import cv2

    a = np.asarray(image)
    if not applies_to(a):
        return a
    mask = hair_mask(a)
    if not mask.any():
        return a
    out = cv2.inpaint(np.ascontiguousarray(a[..., :3]), mask, INPAINT_RADIUS, cv2.INPAINT_TELEA)
    if a.shape[2] == 4:
        out = np.concatenate([out, a[..., 3:]], axis=2)
    return out
