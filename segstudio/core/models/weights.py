"""Local pretrained encoder weights: find, load, adapt the first conv.  Never downloads anything.

``encoder_weights`` option of the pretrained-encoder models:

- ``None`` / ``"none"``: random initialisation.
- ``"imagenet"``: the torchvision ImageNet file if it is in the torch hub cache,
  ``$TORCH_HOME/hub/checkpoints/<file>`` (``torch.hub.get_dir()``); absent -> a logged warning and random
  init (training goes on).
- a path to a ``.pth`` file (a torchvision state dict, optionally wrapped in ``{"state_dict": ...}``);
  a missing file -> warning and random init; a file that is not a state dict or does not fit the encoder ->
  ``CheckpointError`` naming it.

With ``in_channels != 3`` the first conv's pretrained weights are adapted: 1 channel sums the RGB kernels;
other counts repeat them cyclically scaled by 3 / in_channels.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Optional

import torch
from torch import nn

from segstudio.core.errors import CheckpointError

log = logging.getLogger("segstudio.models")

#: torchvision ImageNet weight file names (the names torch.hub caches them under), preferred first
TORCHVISION_FILES = {
    "vgg16": ("vgg16-397923af.pth",),
    "resnet18": ("resnet18-f37072fd.pth",),
    "resnet34": ("resnet34-b627a593.pth",),
    "resnet50": ("resnet50-11ad3fa6.pth", "resnet50-0676ba61.pth"),
    "resnet101": ("resnet101-cd907fc2.pth", "resnet101-63fe2227.pth"),
}


def hub_checkpoint_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def find_encoder_weights(encoder_weights, arch: str) -> tuple[Optional[str], Optional[str]]:
    """``(path, None)``: load this file; ``(None, None)``: random initialisation was asked for;
    ``(None, why)``: weights were requested but not found (``why`` says where they were looked for)."""
    if encoder_weights in (None, False, "", "none", "None"):
        return None, None
    if encoder_weights == "imagenet":
        names = TORCHVISION_FILES.get(arch, ())
        for name in names:
            path = hub_checkpoint_dir() / name
            if path.is_file():
                return str(path), None
        where = hub_checkpoint_dir() / (names[0] if names else f"<{arch} weights>.pth")
        return None, (f"{arch} ImageNet weights not found at {where} (segstudio never downloads): "
                      "random initialisation")
    path = Path(os.fspath(encoder_weights)).expanduser()
    if not path.is_file():
        return None, f"{path}: encoder weight file not found: random initialisation"
    return str(path), None


def adapt_first_conv(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """Adapt a pretrained (out, 3, k, k) kernel to ``in_channels`` inputs."""
    if weight.shape[1] == in_channels:
        return weight
    if in_channels == 1:
        return weight.sum(1, keepdim=True)
    idx = torch.arange(in_channels) % weight.shape[1]
    return weight[:, idx] * (weight.shape[1] / in_channels)


def load_encoder_weights(encoder: nn.Module, path: str, *, first_conv: str, prefix: str = "",
                         in_channels: int = 3) -> None:
    """Load a torchvision state dict into ``encoder`` (keys starting with ``prefix``, prefix removed).

    Keys the encoder does not have (classifier, fc) are skipped; every encoder parameter must be present.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt file, pickle refused, ...
        raise CheckpointError(f"cannot read encoder weights: {type(exc).__name__}: {exc}", path) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError("not a state dict of tensors", path)
    own = encoder.state_dict()
    picked = {}
    for key, value in state.items():
        if prefix and not key.startswith(prefix):
            continue
        k = key[len(prefix):]
        if k in own:
            if k == f"{first_conv}.weight":
                value = adapt_first_conv(value, in_channels)
            if value.shape != own[k].shape:
                raise CheckpointError(f"{key}: shape {tuple(value.shape)} does not fit the encoder's "
                                      f"{tuple(own[k].shape)}", path)
            picked[k] = value
    missing = [k for k in own if k not in picked and not k.endswith("num_batches_tracked")]
    if missing:
        raise CheckpointError(f"{len(missing)} encoder tensors missing from the file (e.g. {missing[:3]}); "
                              "is it the right architecture?", path)
    encoder.load_state_dict(picked, strict=False)
    log.info("loaded encoder weights from %s", path)
