"""Building blocks shared by the U-Net family: double conv, CBAM, attention gate, up-sampling."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DoubleConv(nn.Module):
    """(3x3 conv -> BatchNorm -> ReLU) x 2, as in Ronneberger et al. (with BN, padding 1)."""

    def __init__(self, in_ch: int, out_ch: int, mid_ch: int | None = None, cbam: bool = False):
        super().__init__()
        mid = mid_ch or out_ch
        self.net = nn.Sequential(
            nn.Conv2d(in_ch, mid, 3, padding=1, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )
        self.cbam = CBAM(out_ch) if cbam else None

    def forward(self, x):
        x = self.net(x)
        return self.cbam(x) if self.cbam is not None else x


class ChannelAttention(nn.Module):
    """CBAM channel attention: sigmoid(MLP(avgpool) + MLP(maxpool)), hidden = max(1, C // reduction)."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1, bias=False),
        )

    def forward(self, x):
        avg = self.mlp(F.adaptive_avg_pool2d(x, 1))
        mx = self.mlp(F.adaptive_max_pool2d(x, 1))
        return x * torch.sigmoid(avg + mx)


class SpatialAttention(nn.Module):
    """CBAM spatial attention: sigmoid(conv_k([mean_c(x), max_c(x)]))."""

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x):
        s = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)
        return x * torch.sigmoid(self.conv(s))


class CBAM(nn.Module):
    """Convolutional Block Attention Module (Woo et al. 2018): channel then spatial attention."""

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7):
        super().__init__()
        self.channel = ChannelAttention(channels, reduction)
        self.spatial = SpatialAttention(kernel_size)

    def forward(self, x):
        return self.spatial(self.channel(x))


class AttentionGate(nn.Module):
    """Additive attention gate of Attention U-Net (Oktay et al. 2018).

    ``g`` is the gating signal (decoder features, already up-sampled to the skip's size), ``x`` the skip.
    Returns ``x * alpha`` with alpha = sigmoid(psi(relu(W_g g + W_x x))) in [0, 1], one value per pixel.
    """

    def __init__(self, g_ch: int, x_ch: int, inter_ch: int | None = None):
        super().__init__()
        inter = inter_ch or max(1, x_ch // 2)
        self.w_g = nn.Sequential(nn.Conv2d(g_ch, inter, 1, bias=False), nn.BatchNorm2d(inter))
        self.w_x = nn.Sequential(nn.Conv2d(x_ch, inter, 1, bias=False), nn.BatchNorm2d(inter))
        self.psi = nn.Sequential(nn.Conv2d(inter, 1, 1), nn.BatchNorm2d(1), nn.Sigmoid())
        self.last_alpha: torch.Tensor | None = None  # for visualisation

    def forward(self, g, x):
        alpha = self.psi(F.relu(self.w_g(g) + self.w_x(x), inplace=True))
        self.last_alpha = alpha.detach()
        return x * alpha


class Up(nn.Module):
    """Up-sample x2 ("bilinear" interpolation + 1x1 conv, or "transposed" conv) to ``out_ch`` channels."""

    def __init__(self, in_ch: int, out_ch: int, mode: str = "bilinear"):
        super().__init__()
        if mode == "transposed":
            self.up = nn.ConvTranspose2d(in_ch, out_ch, 2, stride=2)
        else:
            self.up = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(in_ch, out_ch, 1, bias=False),
            )

    def forward(self, x):
        return self.up(x)


def upsample_to(x, ref):
    """Bilinear resize of ``x`` to ``ref``'s spatial size (no-op when equal)."""
    if x.shape[-2:] == ref.shape[-2:]:
        return x
    return F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)
