"""Writing an annotation's image into an export: copy the file's bytes when they already fit, else encode.

A byte copy is lossless and fast; it is used when the source image is stored in an allowed format, needs
no EXIF rotation and has an allowed mode (a PNG is first checked for truncation and bad chunk CRCs, which
reads the file but decodes nothing).  Otherwise the image is decoded with the annotation core
(``annotation_image``, EXIF orientation applied) and encoded in the exporter's fallback format.

The image file is found with the core's ``resolve_image_path`` (Windows separators, stale folders with the
file beside the JSON), exactly as ``load_annotation`` found it.  A problem with the image is the JSON
file's failure: ``AnnotationError(json_path, "image <path>: <reason>")`` (``imageData: <reason>`` for an
embedded image), so a report names every JSON file that was dropped, also when several share one image.
"""
from __future__ import annotations

import io
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

from segstudio.core.annotation import Annotation, annotation_image, resolve_image_path
from segstudio.core.annotation.images import header_orientation, image_error_reason
from segstudio.core.errors import AnnotationError

EXT_OF_FORMAT = {"JPEG": ".jpg", "PNG": ".png", "BMP": ".bmp", "TIFF": ".tif"}
_EXIF_ORIENTATION = 0x0112


def _source(ann: Annotation, json_path: Path) -> tuple[Optional[bytes], Optional[Path]]:
    if ann.image_data is not None:
        return ann.image_data, None
    return None, resolve_image_path(ann.image_path, json_path)


def _where(path: Optional[Path]) -> str:
    return "imageData" if path is None else f"image {path}"


@contextmanager
def _image_stage(json_path: Path, path: Optional[Path]):
    """Report a failure to read the image as the JSON file's: ``image <path>: <reason>``."""
    try:
        yield
    except AnnotationError as exc:
        if exc.path is not None and Path(exc.path) == Path(json_path):
            raise
        # the core says "imageData: ..." for bytes (path None) and "<reason>" with path = the image file
        reason = exc.reason if exc.path is None else f"{_where(Path(exc.path))}: {exc.reason}"
        raise AnnotationError(reason, json_path) from exc
    except FileNotFoundError:
        raise AnnotationError(f"{_where(path)}: image not found", json_path) from None
    except MemoryError:
        raise
    except Exception as exc:  # PIL raises OSError, ValueError, SyntaxError, struct.error, EOFError, ...
        raise AnnotationError(f"{_where(path)}: unreadable image ({image_error_reason(exc)})", json_path) from None


def _probe(data: Optional[bytes], path: Optional[Path]) -> tuple[str, str, int]:
    """(format, mode, EXIF orientation) without decoding pixels.

    PNG: the core's header/chunk walk (Pillow's ``getexif`` would decode the whole image to look for an
    eXIf chunk after the pixels).  Other formats: the stored tag, also for TIFF (which Pillow orients itself
    on load): a rotated TIFF is re-encoded upright rather than copied with its tag.
    """
    fp = io.BytesIO(data) if data is not None else path
    with Image.open(fp) as im:
        if im.format == "PNG":
            return "PNG", im.mode, header_orientation(im, data if data is not None else path)
        try:
            orientation = int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1)
        except Exception:  # corrupt EXIF: let the decoder path deal with the image
            orientation = 0
        return im.format or "", im.mode, orientation


def _check_png(data: Optional[bytes], path: Optional[Path]) -> None:
    """Refuse a truncated PNG or one with a bad chunk CRC before it is copied (reads, decodes nothing)."""
    fp = io.BytesIO(data) if data is not None else path
    with Image.open(fp) as im:
        im.verify()


def to_8bit(arr: np.ndarray) -> np.ndarray:
    """uint8 view of an image for 8-bit formats: uint16 is scaled by 1/257, other types min-max scaled."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.uint16:
        return (arr.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    a = arr.astype(np.float64)
    lo, hi = float(a.min()), float(a.max())
    return np.zeros(a.shape, np.uint8) if hi <= lo else ((a - lo) * (255.0 / (hi - lo))).round().astype(np.uint8)


def _drop_alpha(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 3 and arr.shape[2] == 4:  # composite on white like labelme/imgviz rgba2rgb
        rgb = arr[..., :3].astype(np.float32)
        alpha = arr[..., 3:4].astype(np.float32) / (65535.0 if arr.dtype == np.uint16 else 255.0)
        white = 65535.0 if arr.dtype == np.uint16 else 255.0
        return (rgb * alpha + white * (1 - alpha)).round().astype(arr.dtype)
    if arr.ndim == 3 and arr.shape[2] == 1:
        return arr[..., 0]
    return arr


def image_array(ann: Annotation, json_path: Path) -> np.ndarray:
    """The annotation's image as HxW or HxWx3 (alpha composited on white).

    An unreadable image raises ``AnnotationError(json_path, "image <path>: <reason>")``.
    """
    with _image_stage(json_path, _source(ann, json_path)[1]):
        return _drop_alpha(annotation_image(ann, json_path))


def save_array(arr: np.ndarray, dst: Path, fmt: str, quality: int = 95) -> None:
    """Encode ``arr`` (HxW or HxWx3) as ``fmt``; 16-bit grayscale stays 16-bit in PNG/TIFF."""
    arr = _drop_alpha(arr)
    if fmt == "JPEG" or arr.ndim == 3 or arr.dtype not in (np.uint8, np.uint16):
        arr = to_8bit(arr)
    if arr.dtype == np.uint16:
        img = Image.fromarray(arr.astype(np.uint16), mode="I;16")
    else:
        img = Image.fromarray(np.ascontiguousarray(arr))
    # PNG: zlib level 1 is ~3x faster than Pillow's default 6 on photos and about as small
    kwargs = {"quality": quality} if fmt == "JPEG" else {"compress_level": 1} if fmt == "PNG" else {}
    img.save(dst, format=fmt, **kwargs)


def export_image(
    ann: Annotation,
    json_path: Path,
    dst_stem: Path,
    *,
    formats: tuple[str, ...] = ("JPEG", "PNG", "BMP", "TIFF"),
    modes: tuple[str, ...] = ("L", "RGB", "I;16"),
    fallback: str = "PNG",
) -> Path:
    """Write the image of ``ann`` to ``dst_stem`` + extension and return the path written.

    The source bytes are copied when their format is in ``formats``, their mode in ``modes`` and no EXIF
    rotation is needed; otherwise the decoded image is written as ``fallback`` (JPEG quality 95).
    """
    from segstudio.core.medical.formats import is_medical_path

    if ann.image_path and is_medical_path(ann.image_path):  # DICOM / NIfTI: the slice's pixels, re-encoded:
        dst = Path(str(dst_stem) + EXT_OF_FORMAT[fallback])   # no header field (patient data) is carried
        save_array(image_array(ann, json_path), dst, fallback)
        return dst
    data, path = _source(ann, json_path)
    with _image_stage(json_path, path):
        fmt, mode, orientation = _probe(data, path)
    if fmt in formats and mode in modes and orientation == 1:
        if fmt == "PNG":
            with _image_stage(json_path, path):
                _check_png(data, path)
        dst = Path(str(dst_stem) + EXT_OF_FORMAT[fmt])
        if data is not None:
            dst.write_bytes(data)
        else:
            shutil.copyfile(path, dst)
        return dst
    dst = Path(str(dst_stem) + EXT_OF_FORMAT[fallback])
    save_array(image_array(ann, json_path), dst, fallback)
    return dst
