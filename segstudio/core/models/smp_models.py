"""segmentation-models-pytorch architectures as ``smp:<arch>:<encoder>`` (e.g. ``smp:Unet:resnet18``).

smp builds the network with ``encoder_weights=None`` (it never downloads); ``encoder_weights`` may be a
local file (a state dict of the smp/torchvision encoder) or ``"imagenet"``, which looks for the torchvision
file in the torch hub cache for encoders torchvision also has (resnet18/34/50/101, vgg16); otherwise the
encoder is randomly initialised with a logged warning.  The input is ImageNet-normalized inside the model
and padded to a multiple of 32 (the smp encoders' output stride).  Other keyword options go to the smp
class (e.g. ``encoder_depth``, ``decoder_channels``); an option the class does not name is refused with
``ConfigError`` (smp would silently ignore it), except for timm ``tu-`` encoders, which receive them.
"""
from __future__ import annotations

import inspect

from torch import nn

from segstudio.core.errors import ConfigError, UnknownNameError
from segstudio.core.models.base import SegModel
from segstudio.core.models.weights import load_encoder_weights

DEFAULT_ENCODER = "resnet34"


def smp_architectures() -> list[str]:
    """smp architecture class names (e.g. Unet, UnetPlusPlus, FPN, DeepLabV3Plus)."""
    import segmentation_models_pytorch as smp

    return sorted(cls.__name__ for cls in smp.MODEL_ARCHITECTURES_MAPPING.values())


def smp_encoders() -> list[str]:
    from segmentation_models_pytorch.encoders import encoders

    return sorted(encoders)


def parse_smp_name(name: str) -> tuple[str, str]:
    parts = name.split(":")
    if parts[0] != "smp" or len(parts) not in (2, 3) or not parts[1]:
        raise ConfigError(f"smp model names look like smp:<arch>:<encoder> (e.g. smp:Unet:resnet18), got {name!r}")
    archs = {a.lower(): a for a in smp_architectures()}
    arch = archs.get(parts[1].lower())
    if arch is None:
        raise UnknownNameError("smp architecture", parts[1], archs.values())
    encoder = parts[2] if len(parts) == 3 and parts[2] else DEFAULT_ENCODER
    if encoder not in smp_encoders():
        raise UnknownNameError("smp encoder", encoder, smp_encoders())
    return arch, encoder


class SMPModel(SegModel):
    divisor = 32

    def __init__(self, arch: str, encoder: str, in_channels: int = 3, num_classes: int = 2, *,
                 encoder_weights=None, pad_mode: str = "reflect", **smp_kwargs):
        super().__init__(in_channels, num_classes, normalize="imagenet", pad_mode=pad_mode)
        import segmentation_models_pytorch as smp

        self.arch, self.encoder_name = arch, encoder
        cls = smp.MODEL_ARCHITECTURES_MAPPING[arch.lower()]
        try:
            inspect.signature(cls).bind(encoder_name=encoder, encoder_weights=None, in_channels=in_channels,
                                        classes=num_classes, **smp_kwargs)
        except TypeError as exc:
            raise ConfigError(f"smp:{arch}:{encoder}: bad options {sorted(smp_kwargs)}: {exc}") from None
        # smp classes take **kwargs but pass them on to timm ("tu-") encoders only: anything else would be
        # silently ignored (e.g. a U-Net's ``base``)
        named = {n for n, p in inspect.signature(cls).parameters.items() if p.kind is not p.VAR_KEYWORD}
        unknown = sorted(k for k in smp_kwargs if k not in named)
        if unknown and not encoder.startswith("tu-"):
            raise ConfigError(f"smp:{arch}:{encoder}: bad options {unknown} (smp would ignore them); known: "
                              f"{', '.join(sorted(named - {'encoder_name', 'encoder_weights', 'in_channels', 'classes'}))}")
        try:
            self.net = cls(encoder_name=encoder, encoder_weights=None, in_channels=in_channels,
                           classes=num_classes, **smp_kwargs)
        except (ValueError, KeyError, AssertionError, AttributeError) as exc:
            raise ConfigError(f"smp:{arch}:{encoder} cannot be built: {exc}") from None
        self.divisor = max(32, int(getattr(self.net.encoder, "output_stride", 32) or 32))
        path = self.resolve_weights(encoder_weights, encoder)
        if path:
            first = next(n for n, m in self.net.encoder.named_modules() if isinstance(m, nn.Conv2d))
            load_encoder_weights(self.net.encoder, path, first_conv=first, in_channels=in_channels)
            self.encoder_weights_loaded = path

    def encoder_parameters(self):
        return self.net.encoder.parameters()

    def forward_padded(self, x):
        return self.net(x)


def build_smp(name: str, in_channels: int = 3, num_classes: int = 2, **kwargs) -> SMPModel:
    arch, encoder = parse_smp_name(name)
    return SMPModel(arch, encoder, in_channels, num_classes, **kwargs)
