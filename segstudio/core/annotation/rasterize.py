"""Shapes -> class / instance label arrays, pixel-exact with labelme 6.3.1's ``shapes_to_label``.

labelme draws every shape into its own full-size bool mask and assigns ``cls[mask] = id``.  The pixel set
PIL draws does not depend on the ink value, so painting all shapes *in order* into ONE image with
``fill = outline = value`` gives the same result (later shapes win) with one image instead of one per
shape.  Class values use an 8-bit image ("L", ignore = 255) when they fit, else a 32-bit ("I") one.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from .document import IGNORE_LABEL, Shape
from .labels import UnknownLabelError

LINE_WIDTH = 10
POINT_SIZE = 5
HUGE_CIRCLE_FACTOR = 4  # circles with a radius above 4x (width + height) are painted analytically

_LUT_L = np.arange(256, dtype=np.int32)
_LUT_L[255] = -1


def _draw(draw: ImageDraw.ImageDraw, xy, shape_type, value, line_width, point_size) -> None:
    """labelme's shape_to_mask drawing calls, with ``value`` as ink."""
    if shape_type == "circle":
        if len(xy) != 2:
            raise ValueError("Shape of shape_type=circle must have 2 points")
        (cx, cy), (px, py) = xy
        d = math.sqrt((cx - px) ** 2 + (cy - py) ** 2)
        draw.ellipse(((cx - d, cy - d), (cx + d, cy + d)), outline=value, fill=value)
    elif shape_type == "rectangle":
        if len(xy) != 2:
            raise ValueError("Shape of shape_type=rectangle must have 2 points")
        (x0, y0), (x1, y1) = xy
        draw.rectangle(((min(x0, x1), min(y0, y1)), (max(x0, x1), max(y0, y1))), outline=value, fill=value)
    elif shape_type == "line":
        if len(xy) != 2:
            raise ValueError("Shape of shape_type=line must have 2 points")
        draw.line(xy=xy, fill=value, width=line_width)
    elif shape_type == "linestrip":
        draw.line(xy=xy, fill=value, width=line_width)
    elif shape_type == "point":
        if len(xy) != 1:
            raise ValueError("Shape of shape_type=point must have 1 points")
        cx, cy = xy[0]
        r = point_size
        draw.ellipse(((cx - r, cy - r), (cx + r, cy + r)), outline=value, fill=value)
    elif shape_type == "oriented_rectangle":
        if len(xy) != 4:
            raise ValueError("Shape of shape_type=oriented_rectangle must have 4 points")
        draw.polygon(xy=xy, outline=value, fill=value)
    elif shape_type in (None, "polygon"):
        if len(xy) <= 2:
            raise ValueError("Polygon must have points more than 2")
        draw.polygon(xy=xy, outline=value, fill=value)
    else:
        raise ValueError(f"shape_type={shape_type!r} is not supported.")


def _paste_mask(image: Image.Image, points, patch, value) -> None:
    """labelme: ``mask[y1:y2+1, x1:x2+1] = patch`` with the bbox corners truncated to int.

    The part of the patch outside the image is cut off (labelme raises there).
    """
    if patch is None:
        raise ValueError("shape['mask'] must be numpy.ndarray")
    patch = np.asarray(patch, dtype=bool)
    x1, y1 = int(points[0][0]), int(points[0][1])
    w, h = image.size
    cx0, cy0 = max(0, -x1), max(0, -y1)
    cx1, cy1 = min(patch.shape[1], w - x1), min(patch.shape[0], h - y1)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    visible = np.ascontiguousarray(patch[cy0:cy1, cx0:cx1])
    image.paste(value, (x1 + cx0, y1 + cy0, x1 + cx1, y1 + cy1), Image.fromarray(visible))


def _huge_circle(image: Image.Image, xy, value) -> bool:
    """Paint a circle much larger than the image analytically (PIL's ellipse time grows with the radius:
    a stray point far away would take minutes).  Such a circle crosses the image almost as a straight
    line; pixels are inside when their centre is within the radius.  Returns False for normal circles."""
    (cx, cy), (px, py) = xy
    d = math.sqrt((cx - px) ** 2 + (cy - py) ** 2)
    w, h = image.size
    if d <= HUGE_CIRCLE_FACTOR * (w + h):
        return False
    yy, xx = np.ogrid[:h, :w]
    inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= d * d
    if inside.any():
        image.paste(value, (0, 0, w, h), Image.fromarray(inside))
    return True


def shape_to_mask(img_shape, points, shape_type=None, line_width=LINE_WIDTH, point_size=POINT_SIZE, mask=None):
    """Bool HxW mask of one shape (labelme's ``shape_to_mask``; ``mask`` is the patch of a mask shape)."""
    h, w = int(img_shape[0]), int(img_shape[1])
    image, arr = _canvas(h, w, "L")
    if shape_type == "mask":
        _paste_mask(image, points, mask, 1)
    elif not (shape_type == "circle" and len(points) == 2 and _huge_circle(image, points, 1)):
        _draw(ImageDraw.Draw(image), [tuple(p) for p in points], shape_type, 1, line_width, point_size)
    return (arr if arr is not None else np.asarray(image)).view(bool)


def _field(shape, name, default=None):
    if isinstance(shape, Shape):
        return getattr(shape, name)
    return shape.get(name, default)


def shapes_to_label(img_shape, shapes, label_name_to_value):
    """(cls, ins) int32 HxW arrays, labelme's ``shapes_to_label`` semantics.

    ``cls``: class ids, -1 where ``__ignore__`` (or any label mapped to -1) was painted last.
    ``ins``: instance ids 1.. numbered per (label, group_id) in first-seen order exactly as labelme numbers
    them (a shape without group_id is its own instance; ignore shapes take a number too), 0 where no shape,
    -1 where ``cls`` is -1.  ``shapes`` are :class:`Shape` objects or labelme shape dicts.
    Raises :class:`UnknownLabelError` (a KeyError) for a label missing from ``label_name_to_value``.
    """
    h, w = int(img_shape[0]), int(img_shape[1])
    instances: dict = {}
    plan = []
    max_cls = 0
    for shape in shapes:
        label = _field(shape, "label")
        group_id = _field(shape, "group_id")
        key = (label, object() if group_id is None else group_id)
        ins_id = instances.setdefault(key, len(instances) + 1)
        try:
            cls_id = int(label_name_to_value[label])
        except KeyError:
            raise UnknownLabelError(label, [k for k in label_name_to_value if k != IGNORE_LABEL]) from None
        if cls_id < -1:
            raise ValueError(f"class id {cls_id} of label {label!r} is negative")
        max_cls = max(max_cls, cls_id)
        plan.append((shape, cls_id, ins_id))

    cls_mode = "L" if max_cls <= 254 else "I"
    ins_mode = "L" if len(instances) <= 254 else "I"
    cls_img = _render(h, w, cls_mode, ((s, c) for s, c, _ in plan))
    ins_img = _render(h, w, ins_mode, ((s, c if c == -1 else i) for s, c, i in plan))
    return _to_int32(cls_img), _to_int32(ins_img)


def _canvas(h: int, w: int, mode: str) -> tuple[Image.Image, np.ndarray | None]:
    """A zero image to paint on.  For mode "L" the image is mapped onto a numpy array (no copy when
    converting at the end: PIL's array export costs more than all the drawing of a typical file)."""
    if mode == "L" and _MAPPED_CANVAS:
        arr = np.zeros((h, w), np.uint8)
        image = Image.frombuffer("L", (w, h), arr, "raw", "L", 0, 1)
        image.readonly = 0  # draw into the numpy buffer itself
        return image, arr
    return Image.new(mode, (w, h), 0), None


def _mapped_canvas_works() -> bool:
    """Check once that drawing on a frombuffer image writes the numpy array (Pillow internals)."""
    try:
        arr = np.zeros((3, 4), np.uint8)
        image = Image.frombuffer("L", (4, 3), arr, "raw", "L", 0, 1)
        image.readonly = 0
        ImageDraw.Draw(image).point((2, 1), fill=7)
        image.paste(5, (0, 2, 1, 3), Image.fromarray(np.ones((1, 1), bool)))
        return int(arr[1, 2]) == 7 and int(arr[2, 0]) == 5 and int(arr.sum()) == 12
    except Exception:
        return False


_MAPPED_CANVAS = _mapped_canvas_works()


def _render(h: int, w: int, mode: str, items) -> np.ndarray:
    """Paint ``(shape, value)`` items in order into one image; value -1 is stored as 255 in mode "L".
    Returns the image as an array (uint8 for "L", int32 for "I")."""
    image, arr = _canvas(h, w, mode)
    draw = ImageDraw.Draw(image)
    for shape, value in items:
        if value == -1 and mode == "L":
            value = 255
        shape_type = _field(shape, "shape_type")
        points = _field(shape, "points")
        if shape_type == "mask":
            _paste_mask(image, points, _field(shape, "mask"), value)
        elif not (shape_type == "circle" and len(points) == 2 and _huge_circle(image, points, value)):
            _draw(draw, [tuple(p) for p in points], shape_type, value, LINE_WIDTH, POINT_SIZE)
    return arr if arr is not None else np.asarray(image)


def _to_int32(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return _LUT_L[arr]
    return arr.astype(np.int32, copy=True)


def annotation_to_label(ann, label_set):
    """(cls, ins) of an :class:`Annotation` with the project's label set (same id for a label everywhere)."""
    return shapes_to_label((ann.image_height, ann.image_width), ann.shapes, label_set.label_name_to_value)


def annotation_to_class_u8(ann, label_set) -> np.ndarray:
    """Fast path for exporters: the class mask as uint8 (ignore = 255), ready for :func:`write_label_png`."""
    mapping = label_set.label_name_to_value
    items = []
    for shape in ann.shapes:
        try:
            items.append((shape, mapping[shape.label]))
        except KeyError:
            raise UnknownLabelError(shape.label, label_set.names) from None
    return _render(ann.image_height, ann.image_width, "L", items)
