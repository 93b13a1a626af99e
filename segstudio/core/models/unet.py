"""U-Net (Ronneberger et al. 2015) and its attention variants: ``unet``, ``attention_unet``, ``cbam_unet``.

One configurable class: widths ``base * 2**i`` for i = 0..depth, double conv blocks (conv-BN-ReLU x2),
max-pool down-sampling, "bilinear" (interpolation + 1x1 conv) or "transposed" up-sampling, concatenated
skips.  ``attention="gate"`` adds Oktay attention gates on the skips, ``attention="cbam"`` a CBAM module at
the end of every double conv block.
"""
from __future__ import annotations

import torch
from torch import nn

from segstudio.core.errors import ConfigError
from segstudio.core.models.base import SegModel, check_positive
from segstudio.core.models.blocks import AttentionGate, DoubleConv, Up, upsample_to
from segstudio.core.models.registry import MODELS

UP_MODES = ("bilinear", "transposed")
ATTENTIONS = ("none", "gate", "cbam")


class UNet(SegModel):
    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 2,
        *,
        base: int = 16,
        depth: int = 4,
        upsample: str = "bilinear",
        attention: str = "none",
        pad_mode: str = "reflect",
        normalize: str = "none",
    ):
        super().__init__(in_channels, num_classes, normalize=normalize, pad_mode=pad_mode)
        base = check_positive("base", base)
        depth = check_positive("depth", depth)
        if depth > 7:
            raise ConfigError(f"depth must be between 1 and 7, got {depth}")
        if upsample not in UP_MODES:
            raise ConfigError(f"upsample must be one of {', '.join(UP_MODES)}, got {upsample!r}")
        if attention not in ATTENTIONS:
            raise ConfigError(f"attention must be one of {', '.join(ATTENTIONS)}, got {attention!r}")
        self.divisor = 2**depth
        cbam = attention == "cbam"
        widths = [base * 2**i for i in range(depth + 1)]
        self.inc = DoubleConv(in_channels, widths[0], cbam=cbam)
        self.pool = nn.MaxPool2d(2)
        self.downs = nn.ModuleList(DoubleConv(widths[i], widths[i + 1], cbam=cbam) for i in range(depth))
        self.ups = nn.ModuleList(Up(widths[i + 1], widths[i], upsample) for i in reversed(range(depth)))
        self.gates = (
            nn.ModuleList(AttentionGate(widths[i], widths[i], max(1, widths[i] // 2)) for i in reversed(range(depth)))
            if attention == "gate"
            else None
        )
        self.dec = nn.ModuleList(DoubleConv(2 * widths[i], widths[i], cbam=cbam) for i in reversed(range(depth)))
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(self.pool(skips[-1])))
        y = skips.pop()
        for i, (up, conv) in enumerate(zip(self.ups, self.dec)):
            skip = skips.pop()
            y = upsample_to(up(y), skip)
            if self.gates is not None:
                skip = self.gates[i](y, skip)
            y = conv(torch.cat([skip, y], 1))
        return self.head(y)


@MODELS.register("unet")
def unet(in_channels=3, num_classes=2, *, base=16, depth=4, upsample="bilinear", **kw) -> UNet:
    """U-Net: double conv blocks, widths base*2^i (default base=16, depth=4), bilinear or transposed up."""
    return UNet(in_channels, num_classes, base=base, depth=depth, upsample=upsample, attention="none", **kw)


@MODELS.register("attention_unet")
def attention_unet(in_channels=3, num_classes=2, *, base=16, depth=4, upsample="bilinear", **kw) -> UNet:
    """Attention U-Net (Oktay et al. 2018): additive attention gates on every skip connection."""
    return UNet(in_channels, num_classes, base=base, depth=depth, upsample=upsample, attention="gate", **kw)


@MODELS.register("cbam_unet")
def cbam_unet(in_channels=3, num_classes=2, *, base=16, depth=4, upsample="bilinear", **kw) -> UNet:
    """U-Net with CBAM channel (reduction 16) + spatial (kernel 7) attention after every double conv."""
    return UNet(in_channels, num_classes, base=base, depth=depth, upsample=upsample, attention="cbam", **kw)
