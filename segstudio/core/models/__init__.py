"""Segmentation models: the U-Net family, pretrained-encoder U-Nets and segmentation-models-pytorch.

``build_model(name, in_channels=3, num_classes=2, **kwargs)``; see docs/models.md.
"""
from segstudio.core.models.base import SegModel, count_parameters, final_output
from segstudio.core.models.registry import MODELS, build_model
from segstudio.core.models import unet as _unet  # noqa: F401  (registers unet, attention_unet, cbam_unet)

__all__ = ["MODELS", "SegModel", "build_model", "count_parameters", "final_output"]
