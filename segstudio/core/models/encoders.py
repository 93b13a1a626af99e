"""U-Nets on torchvision encoders: ``vgg16_unet`` and ``resnet_unet`` (ResNet-18/34/50, optional dual attention).

Both normalize the [0, 1] input with ImageNet mean/std inside the model (as their pretrained encoders
expect), load encoder weights only from local files (see ``weights.py``), and expose
``encoder_parameters()`` for frozen-encoder training (the "freeze then unfreeze" workflow of
bubbliiiing/unet-pytorch).
"""
from __future__ import annotations

import torch
from torch import nn

from segstudio.core.errors import ConfigError
from segstudio.core.models.base import SegModel, channels_list
from segstudio.core.models.blocks import CBAM, DoubleConv, upsample_to
from segstudio.core.models.registry import MODELS
from segstudio.core.models.weights import load_encoder_weights

#: the ResNet encoders (torchvision builder names).  torchvision is imported only when a model is built: at module
#: load it costs ~2 s (it pulls in torch._dynamo), which the GUI's start-up must not pay (issue 10)
RESNETS = ("resnet18", "resnet34", "resnet50")


def _tvm():
    from torchvision import models

    return models


ATTENTIONS = ("none", "dual")


def _replace_first_conv(conv: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    if in_channels == conv.in_channels:
        return conv
    return nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                     bias=conv.bias is not None)


class VGG16UNet(SegModel):
    """VGG16 (no BN) encoder, 5 feature levels (64, 128, 256, 512, 512 channels at 1, 1/2 .. 1/16), decoder
    as in bubbliiiing/unet-pytorch (bilinear x2, concat, two 3x3 convs to 512/256/128/64) with BN added."""

    divisor = 16
    STAGES = ((0, 4), (4, 9), (9, 16), (16, 23), (23, 30))

    def __init__(self, in_channels=3, num_classes=2, *, encoder_weights="imagenet", pad_mode="reflect"):
        super().__init__(in_channels, num_classes, normalize="imagenet", pad_mode=pad_mode)
        # only the conv layers: building torchvision's vgg16() would also initialise its 120 M-parameter
        # classifier (seconds of CPU); init as torchvision's VGG does
        tvm = _tvm()
        features = tvm.vgg.make_layers(tvm.vgg.cfgs["D"], batch_norm=False)[:30]
        features[0] = _replace_first_conv(features[0], in_channels)
        for m in features.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
        self.encoder = features
        path = self.resolve_weights(encoder_weights, "vgg16")
        if path:
            load_encoder_weights(self.encoder, path, first_conv="0", prefix="features.", in_channels=in_channels)
            self.encoder_weights_loaded = path
        enc = (64, 128, 256, 512, 512)
        dec = (64, 128, 256, 512)
        self.dec = nn.ModuleList(DoubleConv(enc[i] + (enc[i + 1] if i == 3 else dec[i + 1]), dec[i]) for i in range(4))
        self.head = nn.Conv2d(dec[0], num_classes, 1)

    def encoder_parameters(self):
        return self.encoder.parameters()

    def forward_padded(self, x):
        feats = []
        for a, b in self.STAGES:
            x = self.encoder[a:b](x)
            feats.append(x)
        y = feats[4]
        for i in reversed(range(4)):
            y = self.dec[i](torch.cat([feats[i], upsample_to(y, feats[i])], 1))
        return self.head(y)


class ResNetUNet(SegModel):
    """ResNet encoder (features at 1/2 .. 1/32), U-Net decoder with ``decoder_channels`` (5 values, the last
    at full resolution).  ``attention="dual"``: CBAM-style channel attention (reduction 16) followed by
    spatial attention (7x7) on each of the five encoder feature maps before they are used."""

    divisor = 32

    def __init__(self, in_channels=3, num_classes=2, *, encoder="resnet34", encoder_weights="imagenet",
                 attention="none", decoder_channels=(256, 128, 64, 32, 16), pad_mode="reflect"):
        super().__init__(in_channels, num_classes, normalize="imagenet", pad_mode=pad_mode)
        if encoder not in RESNETS:
            raise ConfigError(f"encoder must be one of {', '.join(RESNETS)}, got {encoder!r}")
        if attention not in ATTENTIONS:
            raise ConfigError(f"attention must be one of {', '.join(ATTENTIONS)}, got {attention!r}")
        dch = channels_list(decoder_channels, "decoder_channels")
        if len(dch) != 5:
            raise ConfigError(f"decoder_channels needs 5 values, got {list(decoder_channels)}")
        net = getattr(_tvm(), encoder)(weights=None)
        net.conv1 = _replace_first_conv(net.conv1, in_channels)
        net.fc = nn.Identity()
        self.encoder = net
        self.encoder_name = encoder
        path = self.resolve_weights(encoder_weights, encoder)
        if path:
            load_encoder_weights(self.encoder, path, first_conv="conv1", in_channels=in_channels)
            self.encoder_weights_loaded = path
        mult = 4 if encoder == "resnet50" else 1
        enc = [64, 64 * mult, 128 * mult, 256 * mult, 512 * mult]
        self.attn = nn.ModuleList(CBAM(c, 16, 7) for c in enc) if attention == "dual" else None
        self.dec = nn.ModuleList([
            DoubleConv(enc[4] + enc[3], dch[0]),
            DoubleConv(dch[0] + enc[2], dch[1]),
            DoubleConv(dch[1] + enc[1], dch[2]),
            DoubleConv(dch[2] + enc[0], dch[3]),
            DoubleConv(dch[3], dch[4]),
        ])
        self.head = nn.Conv2d(dch[4], num_classes, 1)

    def encoder_parameters(self):
        return self.encoder.parameters()

    def forward_padded(self, x):
        e = self.encoder
        f0 = e.relu(e.bn1(e.conv1(x)))
        f1 = e.layer1(e.maxpool(f0))
        f2 = e.layer2(f1)
        f3 = e.layer3(f2)
        f4 = e.layer4(f3)
        feats = [f0, f1, f2, f3, f4]
        if self.attn is not None:
            feats = [a(f) for a, f in zip(self.attn, feats)]
        y = feats[4]
        for i, skip in enumerate(reversed(feats[:4])):
            y = self.dec[i](torch.cat([upsample_to(y, skip), skip], 1))
        y = nn.functional.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(self.dec[4](y))


@MODELS.register("vgg16_unet")
def vgg16_unet(in_channels=3, num_classes=2, *, encoder_weights="imagenet", **kw) -> VGG16UNet:
    """U-Net with a torchvision VGG16 encoder (bubbliiiing/unet-pytorch layout); ImageNet weights if cached."""
    return VGG16UNet(in_channels, num_classes, encoder_weights=encoder_weights, **kw)


@MODELS.register("resnet_unet")
def resnet_unet(in_channels=3, num_classes=2, *, encoder="resnet34", encoder_weights="imagenet",
                attention="none", **kw) -> ResNetUNet:
    """U-Net with a torchvision ResNet-18/34/50 encoder; attention="dual" adds channel+spatial attention."""
    return ResNetUNet(in_channels, num_classes, encoder=encoder, encoder_weights=encoder_weights,
                      attention=attention, **kw)
