"""Common behaviour of every segstudio model: any input size, input normalization, encoder parameters.

``SegModel.forward(x)`` takes float N x C x H x W in [0, 1] of any H, W:

1. normalizes it (``normalize="imagenet"`` for pretrained encoders: ImageNet mean/std, for 1-channel input
   the mean of the three means/stds; ``"none"`` leaves it as is),
2. pads H and W up to a multiple of ``self.divisor`` (the product of the network's down-samplings), split
   evenly between top/bottom and left/right, with ``pad_mode`` "reflect" (default; falls back to
   "replicate" when the image is too small to reflect) or "zeros",
3. runs ``forward_padded`` and crops the logits back to H x W.

``forward_padded`` may return a list of logits (deep supervision, training mode only); each is cropped.
"""
from __future__ import annotations

from typing import Iterator, List, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from segstudio.core.errors import ConfigError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PAD_MODES = ("reflect", "zeros")
NORMALIZE_MODES = ("none", "imagenet")

Logits = Union[torch.Tensor, List[torch.Tensor]]


def final_output(out: Logits) -> torch.Tensor:
    """The logits to use for prediction/metrics from a model output (the mean of a deep-supervision list)."""
    if isinstance(out, (list, tuple)):
        return torch.stack(list(out), 0).mean(0)
    return out


def _norm_stats(in_channels: int):
    if in_channels == 3:
        return IMAGENET_MEAN, IMAGENET_STD
    m, s = sum(IMAGENET_MEAN) / 3, sum(IMAGENET_STD) / 3
    return (m,) * in_channels, (s,) * in_channels


class SegModel(nn.Module):
    """Base class: subclasses set ``divisor`` and implement ``forward_padded``."""

    divisor: int = 16

    def __init__(self, in_channels: int, num_classes: int, *, normalize: str = "none", pad_mode: str = "reflect"):
        super().__init__()
        if int(in_channels) < 1:
            raise ConfigError(f"in_channels must be >= 1, got {in_channels}")
        if int(num_classes) < 1:
            raise ConfigError(f"num_classes must be >= 1, got {num_classes}")
        if pad_mode not in PAD_MODES:
            raise ConfigError(f"pad_mode must be one of {', '.join(PAD_MODES)}, got {pad_mode!r}")
        if normalize not in NORMALIZE_MODES:
            raise ConfigError(f"normalize must be one of {', '.join(NORMALIZE_MODES)}, got {normalize!r}")
        self.in_channels = int(in_channels)
        self.num_classes = int(num_classes)
        self.pad_mode = pad_mode
        self.normalize = normalize
        if normalize == "imagenet":
            mean, std = _norm_stats(self.in_channels)
            self.register_buffer("norm_mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
            self.register_buffer("norm_std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)
        #: what ``encoder_weights`` resolved to: a file path, or None (random init)
        self.encoder_weights_loaded: str | None = None
        #: why requested encoder weights were not loaded (None when loaded or not requested); the training
        #: engine turns it into a ``Log(..., "warning")`` event
        self.encoder_weights_warning: str | None = None

    def resolve_weights(self, encoder_weights, arch: str) -> str | None:
        """The encoder weight file to load (None: random init), noting in ``encoder_weights_warning`` (and
        on the ``segstudio.models`` logger) when requested weights were not found."""
        from segstudio.core.models.weights import find_encoder_weights, log

        path, why = find_encoder_weights(encoder_weights, arch)
        if why:
            log.warning("%s", why)
            self.encoder_weights_warning = why
        return path

    # -- to override -------------------------------------------------------------------------------------
    def forward_padded(self, x: torch.Tensor) -> Logits:  # pragma: no cover - abstract
        raise NotImplementedError

    def encoder_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of the (pretrained) encoder, for frozen-encoder training; empty for plain U-Nets."""
        return iter(())

    # -- shared ------------------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> Logits:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ConfigError(
                f"model expects N x {self.in_channels} x H x W input, got shape {tuple(x.shape)}"
            )
        if self.normalize == "imagenet":
            x = (x - self.norm_mean) / self.norm_std
        h, w = x.shape[-2:]
        x, (top, left) = pad_to_multiple(x, self.divisor, self.pad_mode)
        out = self.forward_padded(x)
        if isinstance(out, (list, tuple)):
            return [o[..., top : top + h, left : left + w] for o in out]
        return out[..., top : top + h, left : left + w]


def pad_to_multiple(x: torch.Tensor, divisor: int, mode: str = "reflect"):
    """Pad the last two dims up to a multiple of ``divisor``; returns (padded, (top, left))."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % divisor, (-w) % divisor
    if ph == 0 and pw == 0:
        return x, (0, 0)
    top, left = ph // 2, pw // 2
    pads = (left, pw - left, top, ph - top)
    if mode == "zeros":
        return F.pad(x, pads, mode="constant", value=0.0), (top, left)
    # reflect needs pad < size on each side; repeat reflect for tiny inputs, else fall back to replicate
    if max(pads[0], pads[1]) < w and max(pads[2], pads[3]) < h:
        return F.pad(x, pads, mode="reflect"), (top, left)
    return F.pad(x, pads, mode="replicate"), (top, left)


def check_positive(name: str, value, minimum: int = 1) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be an integer, got {value!r}") from None
    if v < minimum or v != value:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return v


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def channels_list(values: Sequence[int], name: str) -> list[int]:
    try:
        out = [int(v) for v in values]
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a list of integers, got {values!r}") from None
    if not out or any(v < 1 for v in out):
        raise ConfigError(f"{name} must be a non-empty list of positive integers, got {values!r}")
    return out
