"""The model registry and ``build_model``."""
from __future__ import annotations

import inspect

from torch import nn

from segstudio.core.errors import ConfigError
from segstudio.core.registry import Registry

#: name -> factory(in_channels, num_classes, **kwargs) -> SegModel
MODELS: Registry = Registry("model")


def build_model(name: str, in_channels: int = 3, num_classes: int = 2, **kwargs) -> nn.Module:
    """Build a registered model, or ``smp:<arch>:<encoder>`` from segmentation-models-pytorch.

    Unknown names raise ``UnknownNameError`` (listing the known ones); bad options raise ``ConfigError``.
    """
    if isinstance(name, str) and name.startswith("smp:"):
        from segstudio.core.models.smp_models import build_smp

        return build_smp(name, in_channels, num_classes, **kwargs)
    factory = MODELS.get(name)
    try:
        inspect.signature(factory).bind(in_channels, num_classes, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"model {name!r}: bad options {sorted(kwargs)}: {exc}") from None
    try:
        return factory(in_channels, num_classes, **kwargs)
    except TypeError as exc:  # an option passed on through **kw that the class does not take
        if "keyword argument" not in str(exc):
            raise
        raise ConfigError(f"model {name!r}: bad options {sorted(kwargs)}: {exc}") from None
