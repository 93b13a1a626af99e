"""The one device policy of training and prediction: ``"auto"`` is CUDA when available, else the CPU."""
from __future__ import annotations

from typing import TYPE_CHECKING

from segstudio.core.errors import ConfigError

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device="auto") -> "torch.device":
    """"auto" -> CUDA when available, else CPU; "cuda" without CUDA raises :class:`ConfigError`.  torch is
    imported here, not at module load: TrainConfig (and so the GUI's first frame) only needs DEVICES."""
    import torch

    if isinstance(device, torch.device):
        return device
    name = str(device or "auto")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r} requested but CUDA is not available (use --device cpu or auto)")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise ConfigError(f"unknown device {name!r}; known: {', '.join(DEVICES)}")
