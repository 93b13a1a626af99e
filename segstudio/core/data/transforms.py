"""Image preprocessing shared by datasets, training and inference.

* :func:`to_float_chw` turns a decoded image (HxW or HxWxC, uint8/uint16/other) into float32 CxHxW in [0, 1]
  with the model's channel count.
* :func:`letterbox` scales an image (and its mask) to fit a square (or HxW) canvas keeping the aspect ratio and
  pads the rest (image with ``pad_value``, mask with ``mask_pad`` = ignore); :func:`unletterbox` removes the
  padding and scales back to the original size.  :func:`resize_to` is the non-aspect-keeping alternative.

Training and the predictor call the same functions, so what is trained is what is predicted.
The augmentation pipeline (:func:`build_transforms`) lives in :mod:`segstudio.core.data.augment` and is
re-exported here.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as TF

Array = Union[np.ndarray, torch.Tensor]
RESIZE_MODES = ("letterbox", "resize")

_LUMA = (0.299, 0.587, 0.114)


def to_float_chw(image: Array, in_channels: int = 3) -> torch.Tensor:
    """Decoded image -> float32 tensor C x H x W in [0, 1] with ``in_channels`` channels.

    Scaling: uint8 / 255, uint16 / 65535, bool -> 0/1, any other dtype min-max scaled (a constant image gives
    zeros).  Channels: HxW and HxWx1 are grayscale; an alpha channel (HxWx2, HxWx4) is dropped; grayscale is
    repeated to 3 channels, RGB is converted to 1 channel with ITU-R 601 luma weights.  Any other mismatch
    raises ``ValueError``.
    """
    a = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"expected an HxW or HxWxC image, got shape {a.shape}")
    if a.dtype == np.uint8:
        f = a.astype(np.float32) / 255.0
    elif a.dtype == np.uint16:
        f = a.astype(np.float32) / 65535.0
    elif a.dtype == np.bool_:
        f = a.astype(np.float32)
    else:
        f = a.astype(np.float32)
        lo, hi = float(np.nanmin(f)) if f.size else 0.0, float(np.nanmax(f)) if f.size else 0.0
        f = (f - lo) / (hi - lo) if hi > lo else np.zeros_like(f)
        f = np.nan_to_num(f, nan=0.0)
    c = f.shape[2]
    if c in (2, 4):  # gray+alpha, RGBA: drop alpha
        f = f[:, :, : c - 1]
        c -= 1
    if c != in_channels:
        if c == 1 and in_channels == 3:
            f = np.repeat(f, 3, axis=2)
        elif c == 3 and in_channels == 1:
            f = (f * np.asarray(_LUMA, np.float32)).sum(axis=2, keepdims=True)
        else:
            raise ValueError(f"image has {c} channels, the model expects {in_channels}")
    return torch.from_numpy(np.ascontiguousarray(f.transpose(2, 0, 1)))


@dataclass(frozen=True)
class LetterboxMeta:
    """Where the original image sits on the canvas: scaled to new_h x new_w at (top, left)."""

    orig_h: int
    orig_w: int
    new_h: int
    new_w: int
    top: int
    left: int
    size_h: int
    size_w: int

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LetterboxMeta":
        return cls(**{k: int(d[k]) for k in cls.__dataclass_fields__})


def _size_hw(size) -> Tuple[int, int]:
    if isinstance(size, (tuple, list)):
        h, w = int(size[0]), int(size[1])
    else:
        h = w = int(size)
    if h < 1 or w < 1:
        raise ValueError(f"size must be positive, got {size!r}")
    return h, w


def _as_tensor(a: Array) -> Tuple[torch.Tensor, bool]:
    if isinstance(a, torch.Tensor):
        return a, True
    return torch.from_numpy(np.ascontiguousarray(a)), False


def _back(t: torch.Tensor, was_tensor: bool) -> Array:
    return t if was_tensor else t.numpy()


def _resize_float(t: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Bilinear resize of (..., H, W) float data; antialiased when shrinking."""
    if t.shape[-2:] == (h, w):
        return t
    lead = t.shape[:-2]
    x = t.reshape(1, -1, *t.shape[-2:])
    orig_dtype = x.dtype
    if not x.is_floating_point() or x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    shrink = h < x.shape[-2] or w < x.shape[-1]
    y = TF.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=shrink)
    return y.to(orig_dtype).reshape(*lead, h, w)


def _resize_nearest(t: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Nearest (pixel-centre) resize of (..., H, W) integer/bool data; never invents values."""
    if t.shape[-2:] == (h, w):
        return t
    lead = t.shape[:-2]
    x = t.reshape(1, -1, *t.shape[-2:])
    # index arithmetic of 'nearest-exact' done by hand so any dtype (int64, bool) is resized exactly
    iy = ((torch.arange(h, dtype=torch.float64) + 0.5) * (x.shape[-2] / h)).floor().long().clamp_(0, x.shape[-2] - 1)
    ix = ((torch.arange(w, dtype=torch.float64) + 0.5) * (x.shape[-1] / w)).floor().long().clamp_(0, x.shape[-1] - 1)
    y = x.index_select(-2, iy.to(x.device)).index_select(-1, ix.to(x.device))
    return y.reshape(*lead, h, w)


def resize_array(a: Array, h: int, w: int) -> Array:
    """Resize (..., H, W) data: bilinear for floating point, nearest for integers and bools."""
    t, was = _as_tensor(a)
    out = _resize_float(t, h, w) if t.is_floating_point() else _resize_nearest(t, h, w)
    return _back(out, was)


def letterbox(
    image: Array,
    size,
    mask: Optional[Array] = None,
    pad_value: float = 0,
    mask_pad: int = -1,
):
    """Scale ``image`` (C x H x W float) to fit ``size`` keeping the aspect ratio, then pad it centred.

    ``size`` is an int (square canvas) or (h, w).  The image is resized bilinearly (antialiased when
    shrinking) and padded with ``pad_value``; the mask (H x W integers) is resized with nearest sampling and
    padded with ``mask_pad`` (ignore).  Returns ``(image, mask_or_None, LetterboxMeta)``; numpy in gives numpy
    out, tensors give tensors.  An image that already fits exactly is returned unscaled (pure padding), so
    ``unletterbox(letterbox(x))`` is then exact.
    """
    sh, sw = _size_hw(size)
    t, was = _as_tensor(image)
    if t.ndim != 3:
        raise ValueError(f"letterbox expects C x H x W, got shape {tuple(t.shape)}")
    h, w = int(t.shape[-2]), int(t.shape[-1])
    scale = min(sh / h, sw / w)
    nh, nw = min(sh, max(1, round(h * scale))), min(sw, max(1, round(w * scale)))
    top, left = (sh - nh) // 2, (sw - nw) // 2
    meta = LetterboxMeta(h, w, nh, nw, top, left, sh, sw)
    r = _resize_float(t, nh, nw) if t.is_floating_point() else _resize_nearest(t, nh, nw)
    canvas = torch.full((t.shape[0], sh, sw), pad_value, dtype=t.dtype, device=t.device)
    canvas[:, top : top + nh, left : left + nw] = r
    out_mask = None
    if mask is not None:
        m, mwas = _as_tensor(mask)
        if tuple(m.shape[-2:]) != (h, w):
            raise ValueError(f"mask shape {tuple(m.shape)} does not match image {h}x{w}")
        rm = _resize_nearest(m, nh, nw)
        mc = torch.full((*m.shape[:-2], sh, sw), mask_pad, dtype=m.dtype, device=m.device)
        mc[..., top : top + nh, left : left + nw] = rm
        out_mask = _back(mc, mwas)
    return _back(canvas, was), out_mask, meta


def resize_to(image: Array, size, mask: Optional[Array] = None):
    """Stretch ``image`` (and ``mask``, nearest) to ``size`` ignoring the aspect ratio.

    Returns ``(image, mask_or_None, LetterboxMeta)`` whose meta has no padding, so :func:`unletterbox`
    undoes it too.
    """
    sh, sw = _size_hw(size)
    t, was = _as_tensor(image)
    h, w = int(t.shape[-2]), int(t.shape[-1])
    meta = LetterboxMeta(h, w, sh, sw, 0, 0, sh, sw)
    out = _resize_float(t, sh, sw) if t.is_floating_point() else _resize_nearest(t, sh, sw)
    out_mask = None
    if mask is not None:
        m, mwas = _as_tensor(mask)
        out_mask = _back(_resize_nearest(m, sh, sw), mwas)
    return _back(out, was), out_mask, meta


def fit_to_size(image: Array, size, mask: Optional[Array] = None, mode: str = "letterbox", mask_pad: int = -1):
    """:func:`letterbox` (default) or :func:`resize_to` by ``mode`` ("letterbox" | "resize")."""
    if mode == "letterbox":
        return letterbox(image, size, mask, mask_pad=mask_pad)
    if mode == "resize":
        return resize_to(image, size, mask)
    raise ValueError(f"unknown resize mode {mode!r}; known: {', '.join(RESIZE_MODES)}")


def unletterbox(array: Array, meta: LetterboxMeta) -> Array:
    """Undo :func:`letterbox` / :func:`resize_to` on (..., size_h, size_w) data.

    Crops the padding away and resizes to the original size: bilinear for floating point data
    (probabilities, logits), nearest for integer labels.  Returns the input's type (numpy or tensor).
    """
    t, was = _as_tensor(array)
    if tuple(t.shape[-2:]) != (meta.size_h, meta.size_w):
        raise ValueError(f"array is {tuple(t.shape[-2:])}, the letterbox canvas was {meta.size_h}x{meta.size_w}")
    crop = t[..., meta.top : meta.top + meta.new_h, meta.left : meta.left + meta.new_w]
    out = (
        _resize_float(crop, meta.orig_h, meta.orig_w)
        if crop.is_floating_point()
        else _resize_nearest(crop, meta.orig_h, meta.orig_w)
    )
    return _back(out.contiguous(), was)


def __getattr__(name):  # build_transforms & co. live in augment.py (lazy to avoid an import cycle)
    if name in ("build_transforms", "AugmentConfig", "PRESETS", "Augment"):
        from segstudio.core.data import augment

        return getattr(augment, name)
    raise AttributeError(name)
