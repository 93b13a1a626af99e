"""The one device policy of training and prediction: ``"auto"`` is CUDA when available, else the CPU; the
autocast dtype training uses on it (:func:`autocast_dtype`)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

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


def cpu_bf16_supported() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX through oneDNN): there bfloat16
    autocast trains about 1.4x faster than float32; elsewhere it is emulated and slower."""
    import torch

    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - a torch build without the query
        return False


def autocast_dtype(mode: str, device: "torch.device") -> "Optional[torch.dtype]":
    """The autocast dtype of training for the config's ``amp`` mode on ``device`` (None: float32).

    CUDA: ``auto`` = bfloat16 where supported, else float16 (with a GradScaler); ``bf16``/``fp16`` as named.
    CPU: ``auto`` and ``bf16`` = bfloat16 where the CPU computes it natively (:func:`cpu_bf16_supported`),
    else float32; ``fp16`` = float32 (float16 autocast on the CPU is slower than float32)."""
    import torch

    if mode == "off":
        return None
    if device.type == "cuda":
        if mode == "bf16" or (mode == "auto" and torch.cuda.is_bf16_supported()):
            return torch.bfloat16
        return torch.float16
    if device.type == "cpu" and mode in ("auto", "bf16") and cpu_bf16_supported():
        return torch.bfloat16
    return None


def dtype_name(dtype: "Optional[torch.dtype]") -> Optional[str]:
    """``"bfloat16"`` for ``torch.bfloat16``; None for None (float32, no autocast)."""
    return str(dtype).replace("torch.", "") if dtype is not None else None
