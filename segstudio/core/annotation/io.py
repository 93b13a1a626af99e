"""labelme JSON reading (validated) and writing (atomic), plus image access for an annotation.

Schema versions 3.x-7.x are read: a missing ``shape_type`` means polygon (3.x), missing
``group_id``/``description``/``mask``/``flags`` take their defaults, missing ``imageHeight``/``imageWidth``
are taken from the image header, Windows separators in ``imagePath`` are accepted.  Every key segstudio
does not know (e.g. 3.x ``lineColor``/``fill_color``) is kept in ``extra`` and written back.
All validation problems raise :class:`~segstudio.core.errors.AnnotationError` (file, shape index, reason).
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import math
import os
import tempfile
from pathlib import Path, PureWindowsPath
from typing import BinaryIO, Callable

import numpy as np
from PIL import Image

from segstudio.core.errors import AnnotationError

from .document import MIN_POINTS, POINT_COUNT, SHAPE_TYPES, Annotation, Shape
from .images import (
    _open, apply_orientation, bomb_pixels, exif_orientation, load_image, probe_image_size, too_large_reason,
)

TOP_KEYS = ("version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth")
SHAPE_KEYS = ("label", "points", "group_id", "description", "shape_type", "flags", "mask")
DEFAULT_VERSION = "5.5.0"
MAX_SIDE = 2**31 - 1  # PIL's limit for an image side
MAX_PATCH_PIXELS = 1 << 28  # a mask patch larger than this is refused before decoding
MAX_COORD = 1e7  # |x|, |y| beyond this are refused: no image is that large, and PIL would overflow

__all__ = [
    "load_annotation", "save_annotation", "load_image", "annotation_image", "resolve_image_path",
    "atomic_write", "atomic_write_bytes", "atomic_write_text", "annotation_to_json", "parse_annotation",
]


# ----------------------------------------------------------------------------------------------- atomic IO
def atomic_write(path, write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` through ``write(f)`` (f: a binary file open on a temp file in the same folder), then
    fsync and ``os.replace``: the one atomic write of segstudio (JSON, labels, settings, checkpoints via
    ``torch.save(obj, f)``, PNGs, caches via ``np.savez``, copied images via ``shutil.copyfileobj``).

    A failure at any point (``write`` raising included) leaves an existing ``path`` untouched and removes the
    temp file.  The new file keeps the permission bits of the file it replaces (or gets the umask default); a
    symlink stays a link (its target is replaced).  Errors are the OSError (or ``write``'s error) of the
    failing step, with ``filename`` set to ``path`` when the step did not name a file (a full disk while
    writing says which file it was).  The folder must exist.
    """
    path = Path(path)
    if path.is_symlink():  # replace the file the link points to, keep the link
        path = Path(os.path.realpath(path))
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, os.fspath(path)) from exc   # same subclass (errno -> type)
        raise


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path, text: str) -> None:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


# ------------------------------------------------------------------------------------------------ helpers
def resolve_image_path(image_path: str, json_path) -> Path:
    """Where the image of a JSON is: ``imagePath`` relative to the JSON's folder (Windows separators ok).

    When that file does not exist but one with the same name lies beside the JSON, that one is used
    (annotations copied between machines often carry stale folders).
    """
    folder = Path(json_path).parent
    rel = PureWindowsPath(image_path).as_posix() if "\\" in image_path else image_path
    candidate = folder / rel
    if not candidate.exists():
        beside = folder / PureWindowsPath(rel).name
        if PureWindowsPath(rel).name and beside.is_file():
            return beside
    return candidate


def _is_number(v) -> bool:
    return type(v) in (int, float)


def _check_flags(value, path, index, what="flags") -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and type(v) is bool for k, v in value.items()):
        raise AnnotationError(f"{what} must be an object of name: true/false", path, index)
    return dict(value)


def _decode_mask(b64, path, index, want: tuple[int, int] | None = None) -> np.ndarray:
    """Bool patch of a base64 PNG; ``want`` (height, width) is checked from the header, before decoding."""
    if not isinstance(b64, str):
        raise AnnotationError("mask must be a base64-encoded PNG string", path, index)
    try:
        raw = base64.b64decode(b64)
        with Image.open(io.BytesIO(raw)) as im:
            w, h = im.size
            if want is not None and (h, w) != want:
                raise AnnotationError(
                    f"mask patch is {w}x{h} but its points span {want[1]}x{want[0]}", path, index
                )
            if w * h > MAX_PATCH_PIXELS:
                raise AnnotationError(f"mask patch of {w}x{h} pixels is too large", path, index)
            arr = np.asarray(im)
    except AnnotationError:
        raise
    except Image.DecompressionBombError as e:
        raise AnnotationError(too_large_reason(f"mask patch {bomb_pixels(e)}"), path, index) from None
    except Exception as e:
        raise AnnotationError(f"mask is not a valid base64 PNG ({type(e).__name__})", path, index) from e
    if arr.ndim == 3:
        arr = arr[..., 0]
    if arr.ndim != 2 or arr.size == 0:
        raise AnnotationError(f"mask patch has unusable shape {arr.shape}", path, index)
    return arr.astype(bool)


_NUMBER_TYPES = {int, float}


def _parse_points(points, shape_type, path, index) -> list[list[float]]:
    if not isinstance(points, list):
        raise AnnotationError("points must be a list of [x, y]", path, index)
    # fast path: JSON gives lists of [int | float, int | float]; types checked in C-level comprehensions,
    # finiteness and range by numpy (NaN fails the comparison)
    if {type(p) for p in points} == {list} and {len(p) for p in points} == {2} and \
            {type(v) for p in points for v in p} <= _NUMBER_TYPES:
        try:
            arr = np.array(points, dtype=np.float64)
        except OverflowError:  # an integer too large for a float
            arr = None
        if arr is not None and np.abs(arr).max() <= MAX_COORD:
            out = arr.tolist()
            _check_count(len(out), shape_type, path, index)
            return out
    out = []
    for p in points:  # slow path: find the offending point for the message
        if not (isinstance(p, list) and len(p) == 2):
            raise AnnotationError(f"points must be a list of [x, y], found {str(p)[:40]}", path, index)
        x, y = p
        if not (_is_number(x) and _is_number(y)):
            raise AnnotationError(f"non-numeric coordinate in point {str(p)[:40]}", path, index)
        try:
            x, y = float(x), float(y)
        except OverflowError:
            x = y = math.inf
        if not (math.isfinite(x) and math.isfinite(y)):
            raise AnnotationError(f"non-finite coordinate (NaN, inf or huge) in point {str(p)[:60]}", path, index)
        if abs(x) > MAX_COORD or abs(y) > MAX_COORD:
            raise AnnotationError(f"coordinate out of range (beyond +-{MAX_COORD:g}) in point {str(p)[:60]}",
                                  path, index)
        out.append([x, y])
    _check_count(len(out), shape_type, path, index)
    return out


def _check_count(n: int, shape_type: str, path, index) -> None:
    need = POINT_COUNT.get(shape_type)
    if need is not None and n != need:
        raise AnnotationError(f"{shape_type} needs {need} point{'s' * (need > 1)}, found {n}", path, index)
    least = MIN_POINTS.get(shape_type)
    if least is not None and n < least:
        raise AnnotationError(f"{shape_type} needs at least {least} points, found {n}", path, index)


def _parse_shape(obj, path, index) -> Shape:
    if not isinstance(obj, dict):
        raise AnnotationError("shape must be a JSON object", path, index)
    label = obj.get("label")
    if not isinstance(label, str):
        raise AnnotationError("label missing or not a string", path, index)
    if not label.strip():
        raise AnnotationError("empty label", path, index)
    shape_type = obj.get("shape_type")
    if shape_type is None:
        shape_type = "polygon"  # labelme 3.x wrote no shape_type: every shape was a polygon
    if not isinstance(shape_type, str) or shape_type not in SHAPE_TYPES:
        raise AnnotationError(
            f"unknown shape type {str(shape_type)[:40]!r} (known: {', '.join(SHAPE_TYPES)})", path, index
        )
    if "points" not in obj:
        raise AnnotationError("points missing", path, index)
    points = _parse_points(obj["points"], shape_type, path, index)
    group_id = obj.get("group_id")
    if group_id is not None and type(group_id) is not int:
        raise AnnotationError(f"group_id must be an integer or null, found {str(group_id)[:40]!r}", path, index)
    description = obj.get("description")
    if description is None:
        description = ""
    elif not isinstance(description, str):
        raise AnnotationError("description must be a string", path, index)
    flags = _check_flags(obj.get("flags"), path, index)
    want = None
    if shape_type == "mask":
        if obj.get("mask") is None:
            raise AnnotationError("mask shape without mask data", path, index)
        (x1, y1), (x2, y2) = points
        want = (int(y2) - int(y1) + 1, int(x2) - int(x1) + 1)
    mask = None if obj.get("mask") is None else _decode_mask(obj["mask"], path, index, want)
    extra = {k: v for k, v in obj.items() if k not in SHAPE_KEYS}
    return Shape(label, points, shape_type, group_id, description, flags, mask, extra)


def _dimension(raw, key, path):
    v = raw.get(key)
    if v is None:
        return None
    if type(v) is float and v.is_integer():
        v = int(v)
    if type(v) is not int or v <= 0:
        raise AnnotationError(f"{key} must be a positive integer, found {str(v)[:40]!r}", path)
    if v > MAX_SIDE:
        raise AnnotationError(f"{key} {str(v)[:40]} is larger than {MAX_SIDE}", path)
    return v


def parse_annotation(raw, path=None, *, check_image: bool = True) -> Annotation:
    """Validate a decoded labelme JSON object. ``path`` is the JSON file (for messages and imagePath)."""
    if not isinstance(raw, dict):
        raise AnnotationError("not a labelme annotation (top level is not a JSON object)", path)
    version = raw.get("version", DEFAULT_VERSION)
    if not isinstance(version, str):
        raise AnnotationError("version must be a string", path)
    flags = _check_flags(raw.get("flags"), path, None, "image flags")
    shapes_raw = raw.get("shapes")
    if not isinstance(shapes_raw, list):
        raise AnnotationError("'shapes' missing or not a list", path)
    image_data = raw.get("imageData")
    if image_data is not None:
        if not isinstance(image_data, str):
            raise AnnotationError("imageData must be base64 text or null", path)
        try:
            image_data = base64.b64decode(image_data)
        except (binascii.Error, ValueError) as e:
            raise AnnotationError("imageData is not valid base64", path) from e
        if not image_data:
            raise AnnotationError("imageData is empty", path)
    image_path = raw.get("imagePath")
    if image_path is None and image_data is not None:
        image_path = ""
    if not isinstance(image_path, str):
        raise AnnotationError("imagePath missing or not a string", path)
    if image_data is None and not image_path.strip():
        raise AnnotationError("no image: imagePath is empty and imageData is null", path)
    height, width = _dimension(raw, "imageHeight", path), _dimension(raw, "imageWidth", path)
    shapes = [_parse_shape(s, path, i) for i, s in enumerate(shapes_raw)]
    extra = {k: v for k, v in raw.items() if k not in TOP_KEYS}
    ann = Annotation(shapes, image_path, height or 0, width or 0, version, flags, image_data, extra)
    if check_image or height is None or width is None:
        _check_image(ann, path, height, width)
    return ann


def _image_source(ann: Annotation, json_path):
    if ann.image_data is not None:
        return ann.image_data
    base = json_path if json_path is not None else Path.cwd() / "_"
    return resolve_image_path(ann.image_path, base)


def _check_image(ann: Annotation, json_path, height, width) -> None:
    """Compare the declared size with the image header (no decoding); fill in missing dimensions."""
    source = _image_source(ann, json_path)
    embedded = ann.image_data is not None
    try:
        h, w = probe_image_size(source, exif_orientation_applies=not embedded)
    except AnnotationError as e:  # bytes: the reason already starts with "imageData: "
        reason = e.reason if embedded else f"image {source}: {e.reason}"
        raise AnnotationError(reason, json_path) from e
    if (height is not None and height != h) or (width is not None and width != w):
        declared = f"{width if width is not None else '?'}x{height if height is not None else '?'}"
        raise AnnotationError(
            f"image size {w}x{h} differs from imageWidth x imageHeight {declared} in the JSON", json_path
        )
    ann.image_height, ann.image_width = h, w


def load_annotation(path, *, check_image: bool = True) -> Annotation:
    """Read and validate a labelme JSON file.

    ``check_image`` verifies that the image (``imageData`` or ``imagePath``) exists and that its size
    (after EXIF orientation, read from the header only) equals ``imageHeight``/``imageWidth``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise AnnotationError("file not found", path) from e
    except OSError as e:
        raise AnnotationError(f"cannot read file ({e.strerror or e})", path) from e
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise AnnotationError(f"broken JSON: not UTF-8 text (byte {e.start})", path) from e
    except json.JSONDecodeError as e:
        raise AnnotationError(f"broken JSON: {e.msg} at line {e.lineno} column {e.colno}", path) from e
    except RecursionError as e:
        raise AnnotationError("broken JSON: nested too deeply", path) from e
    return parse_annotation(raw, path, check_image=check_image)


# ------------------------------------------------------------------------------------------------ writing
def _mask_b64(mask: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(mask, dtype=bool).astype(np.uint8)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _shape_dict(s: Shape) -> dict:
    d = {
        "label": s.label,
        "points": [[float(x), float(y)] for x, y in s.points],
        "group_id": s.group_id,
        "description": s.description,
        "shape_type": s.shape_type,
        "flags": dict(s.flags),
        "mask": None if s.mask is None else _mask_b64(s.mask),
    }
    for k, v in s.extra.items():
        if k not in d:
            d[k] = v
    return d


def _file_image_bytes(image_file: Path, slice_index=None) -> bytes:
    """labelme's read_image_file: the file's bytes, or an EXIF-oriented re-encoding when rotated.
    A DICOM / NIfTI file: a PNG of the slice's pixels only (de-identified: no header field is embedded)."""
    from segstudio.core.medical.formats import display_png_bytes, is_medical_path

    if is_medical_path(image_file):
        return display_png_bytes(image_file, slice_index)
    with _open(image_file) as im:
        orientation = exif_orientation(im, allow_load=True)
        if orientation == 1 and image_file.suffix.lower() in (".jpg", ".jpeg", ".png"):
            return image_file.read_bytes()
        im.load()
        oriented = apply_orientation(im, orientation)
        buf = io.BytesIO()
        if "A" in oriented.mode:
            oriented.save(buf, format="PNG")
        else:
            oriented.convert("RGB" if oriented.mode not in ("L", "RGB") else oriented.mode).save(
                buf, format="JPEG", quality=95
            )
        return buf.getvalue()


def annotation_to_json(ann: Annotation, image_data: bytes | None = None) -> str:
    """The labelme JSON text of ``ann`` (labelme's key order; unknown keys after the known ones)."""
    doc = {
        "version": ann.version or DEFAULT_VERSION,
        "flags": dict(ann.flags),
        "shapes": [_shape_dict(s) for s in ann.shapes],
        "imagePath": ann.image_path,
        "imageData": None if image_data is None else base64.b64encode(image_data).decode("ascii"),
        "imageHeight": int(ann.image_height),
        "imageWidth": int(ann.image_width),
    }
    for k, v in ann.extra.items():
        if k not in doc:
            doc[k] = v
    # shape coordinates are finite (validated); NaN/Infinity can only come from unknown keys that were read
    # that way, and are written back the same way (Python's json and labelme read them)
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def save_annotation(ann: Annotation, path, *, with_image_data: bool = False) -> None:
    """Write ``ann`` as labelme JSON atomically (an existing file is replaced only once fully written).

    ``with_image_data=True`` embeds the image (``ann.image_data`` or the image file, EXIF-oriented as
    labelme does).  With ``False`` imageData is null -- except when the annotation carries embedded data and
    no image file exists at ``imagePath``: then the data is kept, so that the image is never lost.
    """
    path = Path(path)
    data = None
    image_file = resolve_image_path(ann.image_path, path) if ann.image_path else None
    has_file = image_file is not None and image_file.is_file()
    if with_image_data:
        data = ann.image_data if ann.image_data is not None else (_file_image_bytes(image_file, ann.extra.get("imageSlice")) if has_file else None)
        if data is None:
            raise AnnotationError(f"cannot embed the image: {image_file} not found", path)
    elif ann.image_data is not None and not has_file:
        data = ann.image_data
    text = annotation_to_json(ann, data)  # serialize fully before touching the file
    try:
        atomic_write_text(path, text)
    except OSError as e:
        raise AnnotationError(f"cannot write ({e.strerror or e})", path) from e


def annotation_image(ann: Annotation, json_path) -> np.ndarray:
    """The annotation's image: decoded ``imageData`` (as stored) or the ``imagePath`` file (EXIF-oriented).
    A DICOM / NIfTI ``imagePath`` that exists is read in preference to ``imageData`` (which holds only a
    display rendering of it), slice ``extra["imageSlice"]`` for a volume."""
    from segstudio.core.medical.formats import SLICE_KEY, is_medical_path

    if ann.image_path and is_medical_path(ann.image_path):
        source = resolve_image_path(ann.image_path, json_path if json_path is not None else Path.cwd() / "_")
        if source.is_file() or ann.image_data is None:
            return load_image(source, slice=ann.extra.get(SLICE_KEY))
    return load_image(_image_source(ann, json_path))
