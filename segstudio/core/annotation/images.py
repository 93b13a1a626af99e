"""Image reading with labelme's EXIF-orientation semantics, and size probing without decoding.

labelme 6.3.1 applies the EXIF ``Orientation`` tag when it reads an image *file* (for every format whose
Pillow plugin offers ``_getexif``: JPEG, PNG, WebP, MPO), so the shapes' coordinates and
``imageHeight``/``imageWidth`` are those of the *oriented* image.  TIFF is oriented too, but by Pillow
itself: its TIFF plugin reports the oriented ``size`` on open and transposes the pixels on load (then drops
the tag), so no transform is applied here for TIFF (it has no ``_getexif``) and its header size is already
the oriented one.  Embedded ``imageData`` is displayed as stored (no orientation).
:func:`probe_image_size` gives the oriented size without decoding pixels.
"""
from __future__ import annotations

import io
import os
import re
import struct
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from segstudio.core.errors import AnnotationError

#: Images larger than this many pixels are refused before any pixel is decoded (decompression bombs: a 100 kB
#: PNG can declare 30000 x 30000 pixels = 2.7 GB of RGB).  The default, 2^28 (e.g. 16384 x 16384, 805 MB as RGB), lets
#: large medical scans through; the environment variable SEGSTUDIO_MAX_IMAGE_PIXELS raises or lowers it
#: (0 = no limit).  Read when an image is opened, so a running app follows a changed variable.
DEFAULT_MAX_IMAGE_PIXELS = 1 << 28
MAX_PIXELS_ENV = "SEGSTUDIO_MAX_IMAGE_PIXELS"


def max_image_pixels() -> int | None:
    """The pixel limit in force (None: no limit); an unparsable SEGSTUDIO_MAX_IMAGE_PIXELS means the default."""
    text = os.environ.get(MAX_PIXELS_ENV, "").strip().replace("_", "")
    try:
        value = int(float(text)) if text else DEFAULT_MAX_IMAGE_PIXELS
    except ValueError:
        value = DEFAULT_MAX_IMAGE_PIXELS
    return value if value > 0 else None


# PIL's own bomb check (a warning above MAX_IMAGE_PIXELS, an error above twice that) also guards every other
# PIL open of the process (mask files, export readers, mask patches): it follows the limit, its warning is
# silenced (:func:`_open` refuses from the limit itself, naming the size), its error above twice stays.
Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_IMAGE_PIXELS
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

_T = Image.Transpose
#: PIL operations, in order, that labelme applies for each EXIF orientation value
ORIENTATION_OPS = {
    2: (_T.FLIP_LEFT_RIGHT,),
    3: (_T.ROTATE_180,),
    4: (_T.FLIP_TOP_BOTTOM,),
    5: (_T.ROTATE_270, _T.FLIP_LEFT_RIGHT),
    6: (_T.ROTATE_270,),
    7: (_T.ROTATE_90, _T.FLIP_LEFT_RIGHT),
    8: (_T.ROTATE_90,),
}
_ORIENTATION_TAG = 0x0112


def _is_bytes(source) -> bool:
    return isinstance(source, (bytes, bytearray, memoryview))


def _label(source) -> str | None:
    return None if _is_bytes(source) else os.fspath(source)


_OBJECT_REPR = re.compile(r"<[^<>]* at 0x[0-9a-fA-F]+>")


def image_error_reason(exc: BaseException) -> str:
    """A PIL exception as a short reason: no memory addresses, no repeated file name."""
    if isinstance(exc, UnidentifiedImageError):  # "cannot identify image file <_io.BytesIO at 0x..>"
        return "not a recognised image format"
    return f"{type(exc).__name__}: {_OBJECT_REPR.sub('the data', str(exc))}"


def _open(source) -> Image.Image:
    """Lazy PIL open (header only) of a path or encoded bytes; AnnotationError when unreadable."""
    limit = max_image_pixels()
    Image.MAX_IMAGE_PIXELS = limit   # PIL's check follows the limit in force (an error above twice it)
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            im = Image.open(io.BytesIO(bytes(source)))
        elif not Path(source).is_file():
            raise AnnotationError("image not found", source)
        elif Path(source).stat().st_size == 0:
            raise AnnotationError("unreadable image (the file is empty: 0 bytes)", source)
        else:
            im = Image.open(source)
    except AnnotationError:
        raise
    except Image.DecompressionBombError as e:   # PIL: "Image size (N pixels) exceeds limit of ..."
        raise _too_large(source, limit, bomb_pixels(e)) from None
    except Exception as e:  # PIL raises many types (UnidentifiedImageError, OSError, SyntaxError, ...)
        where = _label(source)
        reason = f"unreadable image ({image_error_reason(e)})"
        raise AnnotationError(reason if where else f"imageData: {reason}", where) from e
    w, h = im.size
    if limit is not None and w * h > limit:
        im.close()
        raise _too_large(source, limit, f"image of {w}x{h} = {w * h:,} pixels")
    return im


def too_large_reason(what: str, limit: int | None = None) -> str:
    """"<what> exceeds the limit of N pixels ...; set SEGSTUDIO_MAX_IMAGE_PIXELS ..." (``limit``: the one in force)."""
    limit = max_image_pixels() if limit is None else limit
    return (f"{what} exceeds the limit of {limit or 0:,} pixels (a decompression bomb?); set {MAX_PIXELS_ENV} to a "
            "larger number, or 0 for no limit, to open it")


def bomb_pixels(exc: BaseException) -> str:
    """What PIL's DecompressionBombError refused: "image of N pixels"."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    return f"image of {int(found.group(1)):,} pixels" if found else "image"


def _too_large(source, limit, what: str) -> AnnotationError:
    where = _label(source)
    reason = too_large_reason(what, limit)
    return AnnotationError(reason if where else f"imageData: {reason}", where)


def _png_header_exif(im: Image.Image) -> bool:
    """EXIF seen before the pixel data: an eXIf chunk, or ImageMagick's "Raw profile type exif" text."""
    return "exif" in im.info or "Raw profile type exif" in im.info


def exif_orientation(im: Image.Image, *, allow_load: bool = False) -> int:
    """EXIF orientation (1..8) as labelme sees it; 1 when absent, unknown or not applicable.

    For PNG the eXIf chunk is usually before the pixel data and thus in the header; with
    ``allow_load=False`` a chunk placed after the pixel data is not looked for here (that would decode the
    image; :func:`probe_image_size` walks the chunk headers instead).
    """
    if not hasattr(im, "_getexif"):
        return 1
    if im.format == "PNG" and not _png_header_exif(im) and not allow_load:
        return 1
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and value in ORIENTATION_OPS else 1


def _png_late_exif_orientation(path) -> int:
    """Orientation from an eXIf chunk placed after the pixel data of a PNG file, found by walking the chunk
    headers (seeking over the data: nothing is decompressed).  1 when there is none."""
    try:
        with open(path, "rb") as f:
            if f.read(8) != b"\x89PNG\r\n\x1a\n":
                return 1
            while True:
                head = f.read(8)
                if len(head) < 8:
                    return 1
                length, kind = struct.unpack(">I", head[:4])[0], head[4:]
                if kind == b"eXIf":
                    exif = Image.Exif()
                    exif.load(f.read(length))
                    value = exif.get(_ORIENTATION_TAG, 1)
                    return value if isinstance(value, int) and value in ORIENTATION_OPS else 1
                if kind == b"IEND":
                    return 1
                f.seek(length + 4, os.SEEK_CUR)
    except Exception:
        return 1


def apply_orientation(im: Image.Image, orientation: int) -> Image.Image:
    for op in ORIENTATION_OPS.get(orientation, ()):
        im = im.transpose(op)
    return im


def header_orientation(im: Image.Image, source) -> int:
    """:func:`exif_orientation` of the opened ``im`` without decoding pixels: for a PNG file whose header has
    no EXIF the chunk headers are walked (an eXIf chunk may follow the pixels); ``source`` is its path."""
    orientation = exif_orientation(im)
    if orientation == 1 and im.format == "PNG" and not _png_header_exif(im) and not _is_bytes(source):
        orientation = _png_late_exif_orientation(source)
    return orientation


def probe_image_size(source, *, exif_orientation_applies: bool = True) -> tuple[int, int]:
    """(height, width) of the image as labelme shows it, without decoding pixels: the header, plus for a PNG
    file whose header has no EXIF a walk over its chunk headers (an eXIf chunk may follow the pixels).
    DICOM / NIfTI files: the size of their slices, from the header."""
    from segstudio.core.medical.formats import is_medical_path, probe_slice_size

    if is_medical_path(source):
        return probe_slice_size(source)
    with _open(source) as im:
        w, h = im.size
        if not exif_orientation_applies:
            return h, w
        orientation = header_orientation(im, source)
        if orientation in (5, 6, 7, 8):
            w, h = h, w
        return h, w


def _to_array(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode in ("L", "RGB"):
        return np.asarray(im)
    if mode == "1":
        return np.asarray(im.convert("L"))
    if mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16)
    if mode in ("I", "F"):
        arr = np.asarray(im)
        lo, hi = float(arr.min()), float(arr.max())
        if mode == "I" and lo >= 0 and hi <= 65535:
            return arr.astype(np.uint16)
        scale = 65535.0 / (hi - lo) if hi > lo else 0.0
        return ((arr.astype(np.float64) - lo) * scale).round().astype(np.uint16)
    if mode in ("LA", "La"):
        return np.asarray(im.convert("L"))
    return np.asarray(im.convert("RGB"))


_NP_OPS = {
    _T.FLIP_LEFT_RIGHT: lambda a: a[:, ::-1],
    _T.FLIP_TOP_BOTTOM: lambda a: a[::-1],
    _T.ROTATE_90: lambda a: np.rot90(a, 1),  # PIL's ROTATE_* turn counter-clockwise, as np.rot90
    _T.ROTATE_180: lambda a: np.rot90(a, 2),
    _T.ROTATE_270: lambda a: np.rot90(a, 3),
}


def _is_16bit_color(im: Image.Image) -> bool:
    """True for 48/64-bit RGB(A) PNG and TIFF files, which Pillow opens as 8-bit RGB (keeping the high byte)."""
    if im.mode not in ("RGB", "RGBA") or im.format not in ("PNG", "TIFF"):
        return False
    for tile in getattr(im, "tile", None) or ():
        args = tile.args if hasattr(tile, "args") else tile[3]
        raw = args if isinstance(args, str) else (args[0] if args else "")
        if isinstance(raw, str) and ";16" in raw:
            return True
    return False


def _load_16bit_color(im: Image.Image, source, exif_orientation_applies: bool) -> np.ndarray:
    """HxWx3 uint16 RGB of a 16-bit-per-channel colour image, oriented as :func:`load_image` orients."""
    import cv2  # headless OpenCV: decodes 16-bit colour, which Pillow cannot

    data = bytes(source) if _is_bytes(source) else Path(source).read_bytes()
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16 or arr.ndim != 3:
        raise ValueError("16-bit colour image that OpenCV cannot decode")
    arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGB if arr.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    if im.format == "TIFF":  # Pillow would orient a TIFF itself on load; OpenCV's UNCHANGED read does not
        orientation = int(im.tag_v2.get(_ORIENTATION_TAG, 1)) if exif_orientation_applies else 1
    else:
        orientation = exif_orientation(im, allow_load=True) if exif_orientation_applies else 1
    for op in ORIENTATION_OPS.get(orientation, ()):
        arr = _NP_OPS[op](arr)
    return arr


def load_image(path_or_bytes, *, exif_orientation_applies: bool | None = None,
               slice: int | None = None) -> np.ndarray:
    """Decode an image file (or encoded bytes) into HxW or HxWx3 (RGB) uint8, or HxW / HxWx3 uint16 for
    16-bit images (16-bit colour PNG and TIFF are decoded by OpenCV: Pillow would keep only the high byte).

    EXIF orientation is applied as labelme does: always for files; for bytes only when
    ``exif_orientation_applies=True`` (labelme shows embedded ``imageData`` unrotated).
    Palette, alpha and CMYK images become RGB; 32-bit integer / float images are scaled to uint16.
    DICOM / NIfTI files (``segstudio.core.medical``): slice ``slice`` of the file (None: its only slice), in
    uint8 / uint16 / int16 / float32 modality values.
    """
    from segstudio.core.medical.formats import is_medical_path, read_slice

    if is_medical_path(path_or_bytes):
        return read_slice(path_or_bytes, slice)
    if exif_orientation_applies is None:
        exif_orientation_applies = not isinstance(path_or_bytes, (bytes, bytearray, memoryview))
    im = _open(path_or_bytes)
    try:
        with im:
            if _is_16bit_color(im):
                return np.ascontiguousarray(_load_16bit_color(im, path_or_bytes, exif_orientation_applies))
            im.load()
            if exif_orientation_applies:
                im = apply_orientation(im, exif_orientation(im, allow_load=True))
            return np.ascontiguousarray(_to_array(im))
    except AnnotationError:
        raise
    except Exception as e:
        where = _label(path_or_bytes)
        reason = f"cannot decode image ({image_error_reason(e)})"
        raise AnnotationError(reason if where else f"imageData: {reason}", where) from e
