"""Label mask files: reading with segstudio's mask conventions, writing palette PNGs like imgviz.lblsave.

Mask conventions (docs/annotation.md "Mask conventions"):

* palette ("P") PNG: the pixel value is the class id; 255 = ignore (-1).
* grayscale (L / 16-bit / bilevel): the value is the class id.  With a 2-class label set, a mask holding
  only {0, 255} means 255 = foreground (class 1) -- the usual binary-mask convention.
* RGB(A) coloured with the VOC palette: each colour maps back to its class id; the palette's colour of
  255 (224, 224, 192) is ignore.  The file's mode decides, not the values: an RGB mask is read by its
  colours first, so the grey palette entries (class 7 = 128,128,128; 56 = 64,64,64; 63 = 192,192,192) are
  classes.  Only when a colour is not a palette colour of the label set and the mask is colourless
  (R == G == B, e.g. a white-on-black binary mask saved as RGB) are its values read as grayscale.
* any other value >= the number of classes, or an unknown colour, is a MaskError naming the values.
* a mask whose ignore pixels (255 / the ignore colour) are more than half of its non-background pixels
  (e.g. a 0/255 palette mask, where 255 is "ignore", not "foreground") is read as such but emits a
  :class:`SegStudioWarning` naming the file and the convention (``ignore_convention_warning``).
"""
from __future__ import annotations

import functools
import os
import struct
import warnings
import zlib

import numpy as np
from PIL import Image

from segstudio.core.errors import MaskError

from .io import atomic_write_bytes
from .labels import voc_palette

IGNORE_VALUE = 255
_PALETTE = voc_palette(256)
_PALETTE_BYTES = _PALETTE.tobytes()


class SegStudioWarning(UserWarning):
    """Data that is read, but probably not as its author meant (the CLI prints it as ``warning: ...``)."""


def ignore_convention_warning(ids: np.ndarray, path) -> str | None:
    """The warning text when ignore (-1) covers more than half of a mask's non-background pixels.

    ``ids`` are class ids as :func:`read_label_mask` returns them (-1 = ignore).  A palette mask holding
    only 0 and 255 is the typical case: its 255 is "ignore", so an all-background prediction scores
    perfectly on it.  None when the mask is fine.
    """
    n_ignore = int(np.count_nonzero(ids == -1))
    if not n_ignore:
        return None
    n_labelled = int(np.count_nonzero(ids))
    if 2 * n_ignore <= n_labelled:
        return None
    what = ("its only non-zero value is 255" if n_ignore == n_labelled else
            f"255 covers {100 * n_ignore / n_labelled:.0f}% of its labelled (non-zero) pixels")
    return (f"{os.fspath(path)}: {what}, and 255 in a palette mask means 'ignore' (the VOC convention: "
            f"not scored, not trained on), so these pixels count for nothing. If 255 marks the foreground, "
            f"save the mask as grayscale (mode L), where 0/255 with 2 classes means background/foreground.")


def _fmt_values(values, limit: int = 8) -> str:
    values = [int(v) for v in values]
    shown = ", ".join(map(str, values[:limit]))
    return shown + (f", ... ({len(values)} values)" if len(values) > limit else "")


def _check_ids(arr: np.ndarray, num_classes: int, path, *, palette: bool) -> np.ndarray:
    """int64 ids from stored values: 255 -> -1 in palette masks; out-of-range values -> MaskError."""
    hi = int(arr.max()) if arr.size else 0
    lo = int(arr.min()) if arr.size else 0
    if lo >= 0 and hi < num_classes:  # the common case: one pass each for min and max, no histogram
        return arr.astype(np.int64)
    out = arr.astype(np.int64)
    if palette and hi == IGNORE_VALUE:
        ignore = arr == IGNORE_VALUE
        out[ignore] = -1
        if lo >= 0 and int(np.max(arr, where=~ignore, initial=0)) < num_classes:
            return out
    elif not palette and num_classes == 2 and hi == 255 and lo >= 0:
        fg = arr == 255
        if np.count_nonzero(fg) + np.count_nonzero(arr == 0) == arr.size:
            out[fg] = 1  # binary 0/255 mask: 255 is the foreground class
            return out
    values = np.unique(arr)
    bad = values[((values >= num_classes) & (values != IGNORE_VALUE)) if palette else
                 ((values >= num_classes) | (values < 0))]
    kind = "palette index" if palette else "value"
    raise MaskError(
        f"mask {kind}(s) {_fmt_values(bad)} outside the {num_classes} classes (0..{num_classes - 1}"
        f"{', 255 = ignore' if palette else ''})",
        path,
    )


def _colors_to_ids(rgb: np.ndarray, num_classes: int, path) -> np.ndarray:
    """Class ids of an RGB mask: palette colours of the label set first (the grey entries 7, 56, 63 are
    classes); a colourless mask with other colours is read as grey values."""
    pal = _PALETTE.astype(np.int64)
    pal_codes = (pal[:, 0] << 16) | (pal[:, 1] << 8) | pal[:, 2]
    ids = np.full(256, -2, dtype=np.int64)
    ids[:num_classes] = np.arange(num_classes)
    ids[IGNORE_VALUE] = -1
    keep = ids != -2
    pal_codes, ids = pal_codes[keep], ids[keep]
    order = np.argsort(pal_codes)
    pal_codes, ids = pal_codes[order], ids[order]
    codes = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    pos = np.clip(np.searchsorted(pal_codes, codes), 0, len(pal_codes) - 1)
    found = pal_codes[pos] == codes
    if not found.all():
        if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
            return _check_ids(np.ascontiguousarray(rgb[..., 0]), num_classes, path, palette=False)
        bad = np.unique(codes[~found])
        shown = ", ".join(f"({c >> 16}, {(c >> 8) & 255}, {c & 255})" for c in bad[:6].tolist())
        more = f", ... ({bad.size} colours)" if bad.size > 6 else ""
        raise MaskError(f"colour(s) {shown}{more} are not VOC palette colours of the {num_classes} classes", path)
    return ids[pos]


def read_label_mask(path, num_classes: int, *, expected_size: tuple[int, int] | None = None) -> np.ndarray:
    """Read a label mask as int64 HxW class ids (-1 = ignore) following the mask conventions.

    Emits a :class:`SegStudioWarning` when ignore covers more than half of the labelled pixels
    (:func:`ignore_convention_warning`).  ``expected_size`` is the (height, width) of the image the mask belongs to; a different size is a
    MaskError.
    """
    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode == "P":
                arr = np.asarray(im)
                out = _check_ids(arr, num_classes, path, palette=True)
            elif mode in ("RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "PA"):
                out = _colors_to_ids(np.asarray(im.convert("RGB")), num_classes, path)
            elif mode in ("LA", "La"):
                out = _check_ids(np.asarray(im.getchannel(0)), num_classes, path, palette=False)
            elif mode == "1":
                out = _check_ids(np.asarray(im, dtype=np.uint8), num_classes, path, palette=False)
            else:  # L, I;16*, I, F
                arr = np.asarray(im)
                if arr.dtype.kind == "f":
                    if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
                        raise MaskError("floating-point mask with non-integer values", path)
                    arr = arr.astype(np.int64)
                out = _check_ids(arr, num_classes, path, palette=False)
    except MaskError:
        raise
    except FileNotFoundError as e:
        raise MaskError("mask file not found", path) from e
    except Image.DecompressionBombError as e:
        from .images import bomb_pixels, too_large_reason

        raise MaskError(too_large_reason(f"mask {bomb_pixels(e)}"), path) from None
    except Exception as e:
        raise MaskError(f"unreadable mask ({type(e).__name__}: {e})", path) from e
    if out.ndim != 2:
        raise MaskError(f"mask must be 2-D, found shape {out.shape}", path)
    if expected_size is not None and tuple(out.shape) != tuple(expected_size):
        raise MaskError(
            f"mask size {out.shape[1]}x{out.shape[0]} differs from the image's {expected_size[1]}x{expected_size[0]}",
            path,
        )
    message = ignore_convention_warning(out, path) if out.min(initial=0) < 0 else None
    if message:
        warnings.warn(SegStudioWarning(message), stacklevel=2)
    return out


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


_PNG_PLTE = _png_chunk(b"PLTE", _PALETTE_BYTES)


_ZERO_CHUNK = 1 << 16
_ADLER_MOD = 65521


@functools.lru_cache(maxsize=64)
def _deflated_zeros(n: int) -> bytes:
    """Raw deflate blocks (byte-aligned, not final, no back-reference before their start) for n zeros."""
    z = zlib.compressobj(1, zlib.DEFLATED, -15, 9, zlib.Z_RLE)
    return z.compress(bytes(n)) + z.flush(zlib.Z_SYNC_FLUSH)


def _zero_run(n: int, parts: list, adler: int) -> int:
    """Append the deflate data of n zero bytes to ``parts``; returns the updated adler32."""
    full, rest = divmod(n, _ZERO_CHUNK)
    if full:
        parts.append(_deflated_zeros(_ZERO_CHUNK) * full)
    if rest:
        parts.append(_deflated_zeros(rest) if rest % 4096 == 0 else _deflate_raw(bytes(rest)))
    a, b = adler & 0xFFFF, adler >> 16
    return (((b + n * a) % _ADLER_MOD) << 16) | a  # zeros leave a unchanged and add n * a to b


def _deflate_raw(data) -> bytes:
    z = zlib.compressobj(1, zlib.DEFLATED, -15, 9, zlib.Z_RLE)
    return z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)


def _png_idat(label: np.ndarray) -> bytes:
    """zlib stream of the unfiltered rows.  The all-zero rows above and below the labelled band (most of
    a typical mask) are emitted from cached deflate blocks instead of being compressed every time."""
    h, w = label.shape
    rows_used = np.flatnonzero(label.any(axis=1))
    y0, y1 = (int(rows_used[0]), int(rows_used[-1]) + 1) if rows_used.size else (h, h)
    parts: list = []
    adler = 1
    if y0:
        adler = _zero_run(y0 * (w + 1), parts, adler)
    if y1 > y0:
        band = np.zeros((y1 - y0, w + 1), np.uint8)  # column 0: filter type "none"
        band[:, 1:] = label[y0:y1]
        adler = zlib.adler32(band, adler)
        parts.append(_deflate_raw(band))
    if h - y1:
        adler = _zero_run((h - y1) * (w + 1), parts, adler)
    parts.append(b"\x03\x00")  # an empty final block
    return b"\x78\x01" + b"".join(parts) + struct.pack(">I", adler)


def label_png_bytes(label: np.ndarray, *, path=None) -> bytes:
    """Encode a label array as an 8-bit palette PNG (VOC palette, -1 -> 255): imgviz.lblsave's pixels and
    palette, written directly (rows unfiltered, zlib level 1 run-length strategy, zero rows from a cache)."""
    label = np.asarray(label)
    if label.ndim != 2 or 0 in label.shape:
        raise MaskError(f"label must be a non-empty 2-D array, found shape {label.shape}", path)
    if label.dtype != np.uint8:
        if label.min() < -1 or label.max() > 254:
            raise MaskError(
                f"label values {int(label.min())}..{int(label.max())} do not fit a palette PNG (0..254, -1)", path
            )
        label = np.where(label < 0, IGNORE_VALUE, label).astype(np.uint8)
    h, w = label.shape
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)  # 8-bit, colour type 3 (palette)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _PNG_PLTE + _png_chunk(b"IDAT", _png_idat(label))
            + _png_chunk(b"IEND", b""))


def write_label_png(path, label: np.ndarray) -> None:
    """Write a class/instance label array as a VOC-palette PNG (atomic); -1 (ignore) is stored as 255."""
    data = label_png_bytes(label, path=path)
    try:
        atomic_write_bytes(path, data)
    except OSError as e:
        raise MaskError(f"cannot write ({e.strerror or e})", path) from e


def label_to_color(label: np.ndarray, palette=None) -> np.ndarray:
    """HxWx3 uint8 colours of a label array (-1 -> the palette's colour 255)."""
    pal = voc_palette(256) if palette is None else np.asarray(palette, dtype=np.uint8)
    label = np.asarray(label)
    idx = np.where(label < 0, len(pal) - 1, label) % len(pal)
    return pal[idx]
