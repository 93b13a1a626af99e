"""Helpers for the inference tests (a unique module name, imported by name).

A fixed-weight 1x1-conv model whose labels are known exactly.
"""
import contextlib

import numpy as np
import torch
from torch import nn

from segstudio.core.models import MODELS


class Pointwise(nn.Module):
    """A 1x1 convolution with every weight zero (all logits 0); subclasses set the weights that make their labels
    known exactly (``self.conv``, under ``torch.no_grad()``)."""

    def __init__(self, in_channels=3, num_classes=2):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, num_classes, 1)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.bias.zero_()

    def forward(self, x):
        return self.conv(x)


class Threshold(Pointwise):
    """logit(class 1) = 10 * (R - 0.5); class 0 = 0: label = R > 0.5 (pointwise, flip-equivariant)."""

    def __init__(self, in_channels=3, num_classes=2):
        super().__init__(in_channels, num_classes)
        with torch.no_grad():
            self.conv.weight[1, 0, 0, 0] = 10.0
            self.conv.bias[1] = -5.0


class TwoClassThreshold(Threshold):
    """Three classes: label 0 where R < 0.5, else 2 where G > 0.5, else 1 (pointwise, flip-equivariant)."""

    def __init__(self, in_channels=3, num_classes=3):
        super().__init__(in_channels, num_classes)
        with torch.no_grad():
            self.conv.weight[2, 0, 0, 0] = 10.0
            self.conv.weight[2, 1, 0, 0] = 20.0
            self.conv.bias[2] = -15.0


@contextlib.contextmanager
def threshold_registered(name="test_threshold", module=Threshold):
    """``module`` in the model registry as ``name`` for the duration (never left behind for other tests)."""
    MODELS.entries[name] = lambda in_channels=3, num_classes=2: module(in_channels, num_classes)
    try:
        yield
    finally:
        MODELS.entries.pop(name, None)


def expected_label(img_u8: np.ndarray) -> np.ndarray:
    return (img_u8[..., 0].astype(np.float64) / 255 > 0.5).astype(np.int64)


def random_image(h, w, seed=0):
    """uint8 RGB noise without the ambiguous values 127/128 of the threshold."""
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    img[..., 0] = np.where(np.abs(img[..., 0].astype(int) - 127.5) < 8, 40, img[..., 0])
    return img


def make_checkpoint(path, model_name="test_threshold", model=None, kwargs=None, class_names=("_background_", "fg"),
                    img_size=64, resize_mode="letterbox", in_channels=3):
    from segstudio.core.models import build_model

    kwargs = dict(kwargs or {})
    model = model or build_model(model_name, in_channels=in_channels, num_classes=len(class_names), **kwargs)
    torch.save({"format": "segstudio-checkpoint", "format_version": 1,
                "model": {"name": model_name, "in_channels": in_channels, "num_classes": len(class_names),
                          "kwargs": kwargs},
                "state_dict": model.state_dict(), "class_names": list(class_names), "img_size": img_size,
                "resize_mode": resize_mode, "epoch": 1, "metrics": {"miou": 0.5}, "config": {}}, path)
    return path
