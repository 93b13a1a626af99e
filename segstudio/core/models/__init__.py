"""Segmentation models: the U-Net family, pretrained-encoder U-Nets and segmentation-models-pytorch.

``build_model(name, in_channels=3, num_classes=2, **kwargs)``; see docs/models.md.
"""
from segstudio.core.models.base import SegModel, count_parameters, final_output
from segstudio.core.models.registry import MODELS, build_model

# importing the modules registers their models
from segstudio.core.models import unet as _unet  # noqa: F401,E402  unet, attention_unet, cbam_unet
from segstudio.core.models import unetpp as _unetpp  # noqa: F401,E402  unetpp
from segstudio.core.models import encoders as _encoders  # noqa: F401,E402  vgg16_unet, resnet_unet

__all__ = ["MODELS", "SegModel", "build_model", "count_parameters", "final_output"]
