"""U-Net++ (Zhou et al. 2018): nested dense skip pathways, optional deep supervision (``unetpp``).

Node X[i][j] (level i = 0..depth, j = 0..depth-i): X[i][0] is the encoder's double conv; for j >= 1
X[i][j] = DoubleConv(cat(X[i][0], ..., X[i][j-1], up(X[i+1][j-1]))) with bilinear x2 up-sampling.
Widths are ``base * 2**i``.

Deep supervision (``deep_supervision=True``): one 1x1 head on each of X[0][1..depth].  In training mode the
model returns the **list** of the ``depth`` logits (shallow to deep; every loss of segstudio.core.losses
averages a list); in eval mode it returns their **mean** (a plain tensor).  Without deep supervision there is
one head on X[0][depth].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segstudio.core.errors import ConfigError
from segstudio.core.models.base import SegModel, check_positive
from segstudio.core.models.blocks import DoubleConv
from segstudio.core.models.registry import MODELS


class UNetPlusPlus(SegModel):
    def __init__(self, in_channels=3, num_classes=2, *, base: int = 16, depth: int = 4,
                 deep_supervision: bool = False, pad_mode: str = "reflect", normalize: str = "none"):
        super().__init__(in_channels, num_classes, normalize=normalize, pad_mode=pad_mode)
        base = check_positive("base", base)
        depth = check_positive("depth", depth)
        if depth > 6:
            raise ConfigError(f"depth must be between 1 and 6, got {depth}")
        self.depth = depth
        self.divisor = 2**depth
        self.deep_supervision = bool(deep_supervision)
        w = [base * 2**i for i in range(depth + 1)]
        self.pool = nn.MaxPool2d(2)
        nodes = {}
        for i in range(depth + 1):
            nodes[f"{i}_0"] = DoubleConv(in_channels if i == 0 else w[i - 1], w[i])
        for j in range(1, depth + 1):
            for i in range(depth + 1 - j):
                nodes[f"{i}_{j}"] = DoubleConv(w[i] * j + w[i + 1], w[i])
        self.nodes = nn.ModuleDict(nodes)
        n_heads = depth if self.deep_supervision else 1
        self.heads = nn.ModuleList(nn.Conv2d(w[0], num_classes, 1) for _ in range(n_heads))

    def forward_padded(self, x: torch.Tensor):
        X: dict = {}
        X[(0, 0)] = self.nodes["0_0"](x)
        for i in range(1, self.depth + 1):
            X[(i, 0)] = self.nodes[f"{i}_0"](self.pool(X[(i - 1, 0)]))
        for j in range(1, self.depth + 1):
            for i in range(self.depth + 1 - j):
                up = F.interpolate(X[(i + 1, j - 1)], scale_factor=2, mode="bilinear", align_corners=False)
                X[(i, j)] = self.nodes[f"{i}_{j}"](torch.cat([X[(i, k)] for k in range(j)] + [up], 1))
        if not self.deep_supervision:
            return self.heads[0](X[(0, self.depth)])
        outs = [head(X[(0, j + 1)]) for j, head in enumerate(self.heads)]
        if self.training:
            return outs
        return torch.stack(outs, 0).mean(0)


@MODELS.register("unetpp")
def unetpp(in_channels=3, num_classes=2, *, base=16, depth=4, deep_supervision=False, **kw) -> UNetPlusPlus:
    """U-Net++: nested dense skips; deep_supervision=True returns a list in train mode, the mean in eval."""
    return UNetPlusPlus(in_channels, num_classes, base=base, depth=depth, deep_supervision=deep_supervision, **kw)
