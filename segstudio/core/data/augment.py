"""Augmentation of an image and its mask together with torchvision.transforms.v2.

Every random parameter is drawn from one ``torch.Generator`` and applied with
``torchvision.transforms.v2.functional`` on ``tv_tensors.Image`` / ``tv_tensors.Mask``, so:

* geometry (flips, rotation, shift, scale, shear, elastic) moves image and mask identically; masks use
  nearest sampling and areas brought in from outside the image become ignore (-1);
* photometric changes (brightness, contrast, gamma, blur, noise) touch the image only;
* the same seed gives the same augmentations (tests, reproducible runs).

Settings are an :class:`AugmentConfig` (plain dataclass; ``to_dict``/``from_dict`` for the training config).
Presets: ``none``, ``light``, ``strong``.  Both live in :mod:`segstudio.core.data.augment_config` (no torch, no
torchvision: the training form lists the presets before the GUI's first frame).
"""
from __future__ import annotations

import math
import os
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as TF
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as F

from segstudio.core.data.augment_config import PRESETS, AugmentConfig, resolve_augment
from segstudio.core.data.transforms import fit_to_size

__all__ = ["PRESETS", "Augment", "AugmentConfig", "build_transforms"]


def _uniform(g, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def _log_uniform(g, lo: float, hi: float) -> float:
    return math.exp(_uniform(g, math.log(lo), math.log(hi)))


def _chance(g, p: float) -> bool:
    return p > 0 and float(torch.rand((), generator=g)) < p


class Augment:
    """``callable(image, mask) -> (image, mask)`` on tensors: image float C x H x W in [0, 1], mask int64 H x W.

    With ``img_size`` the pair is first fitted to that size (``resize_mode``) when it is not already.
    ``seed`` makes the sequence of augmentations reproducible; inside DataLoader workers the generator is
    re-seeded from the worker's torch seed (so workers and epochs differ, yet runs with the same global seed
    repeat).  Without a seed the global torch RNG is used.
    """

    def __init__(self, config: AugmentConfig, img_size=None, seed: Optional[int] = None,
                 resize_mode: str = "letterbox", pad_value: float = 0.0, ignore_index: int = -1):
        config.validate()
        self.config = config
        self.img_size = img_size
        self.resize_mode = resize_mode
        self.pad_value = float(pad_value)
        self.ignore_index = int(ignore_index)
        self.seed = seed
        self.generator = torch.Generator().manual_seed(int(seed)) if seed is not None else None
        self._worker_key = None

    def __repr__(self) -> str:
        active = {k: v for k, v in self.config.to_dict().items() if k.endswith("_p") and v > 0}
        return f"Augment(img_size={self.img_size}, {active or 'identity'})"

    def _gen(self):
        if self.generator is None:
            return None
        info = torch.utils.data.get_worker_info()
        if info is not None:
            key = (os.getpid(), info.id)
            if key != self._worker_key:
                self._worker_key = key
                self.generator.manual_seed(torch.initial_seed() % (2**63))
        return self.generator

    def __call__(self, image: torch.Tensor, mask: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        if self.img_size is not None:
            size = self.img_size if isinstance(self.img_size, (tuple, list)) else (self.img_size, self.img_size)
            if tuple(image.shape[-2:]) != tuple(size):
                image, mask, _ = fit_to_size(image, size, mask, mode=self.resize_mode, mask_pad=self.ignore_index)
        c, g = self.config, self._gen()
        img = tv_tensors.Image(image)
        msk = tv_tensors.Mask(mask[None]) if mask is not None else None
        img, msk = self._geometry(img, msk, c, g)
        img = self._photometric(img, c, g)
        out_img = img.as_subclass(torch.Tensor).contiguous()
        out_mask = msk.as_subclass(torch.Tensor)[0].contiguous() if msk is not None else None
        return out_img, out_mask

    # geometry: identical for image and mask ---------------------------------------------------------------
    def _geometry(self, img, msk, c: AugmentConfig, g):
        both = [img] if msk is None else [img, msk]
        if _chance(g, c.hflip_p):
            both = [F.horizontal_flip(t) for t in both]
        if _chance(g, c.vflip_p):
            both = [F.vertical_flip(t) for t in both]
        h, w = int(img.shape[-2]), int(img.shape[-1])
        angle = _uniform(g, -c.rotate_deg, c.rotate_deg) if _chance(g, c.rotate_p) else 0.0
        tx = ty = 0.0
        if _chance(g, c.shift_p):
            tx, ty = _uniform(g, -c.shift, c.shift) * w, _uniform(g, -c.shift, c.shift) * h
        scale = _log_uniform(g, c.scale_min, c.scale_max) if _chance(g, c.scale_p) else 1.0
        shear = [0.0, 0.0]
        if _chance(g, c.shear_p):
            shear = [_uniform(g, -c.shear_deg, c.shear_deg), _uniform(g, -c.shear_deg, c.shear_deg)]
        if angle or tx or ty or scale != 1.0 or any(shear):
            both = [
                F.affine(t, angle=angle, translate=[round(tx), round(ty)], scale=scale, shear=shear,
                         interpolation=self._interp(t), fill=self._fill(t))
                for t in both
            ]
        if _chance(g, c.elastic_p) and c.elastic_alpha > 0:
            disp = self._displacement(h, w, c.elastic_alpha, max(c.elastic_sigma, 1.0), g)
            both = [F.elastic(t, disp, interpolation=self._interp(t), fill=self._fill(t)) for t in both]
        return both[0], (both[1] if msk is not None else None)

    def _interp(self, t):
        return F.InterpolationMode.NEAREST if isinstance(t, tv_tensors.Mask) else F.InterpolationMode.BILINEAR

    def _fill(self, t):
        return float(self.ignore_index) if isinstance(t, tv_tensors.Mask) else self.pad_value

    @staticmethod
    def _displacement(h: int, w: int, alpha: float, sigma: float, g) -> torch.Tensor:
        """Smooth random field (1 x H x W x 2, normalized grid units): coarse noise upsampled bicubically."""
        gh, gw = max(2, math.ceil(h / sigma) + 1), max(2, math.ceil(w / sigma) + 1)
        coarse = torch.rand((1, 2, gh, gw), generator=g) * 2 - 1
        field = TF.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True) * alpha
        field[:, 0] *= 2.0 / w  # pixels -> normalized coordinates
        field[:, 1] *= 2.0 / h
        return field.permute(0, 2, 3, 1).contiguous()

    # photometric: image only --------------------------------------------------------------------------------
    def _photometric(self, img, c: AugmentConfig, g):
        if _chance(g, c.brightness_p):
            img = F.adjust_brightness(img, _uniform(g, 1 - c.brightness, 1 + c.brightness))
        if _chance(g, c.contrast_p):
            f = _uniform(g, 1 - c.contrast, 1 + c.contrast)
            if img.shape[0] in (1, 3):
                img = F.adjust_contrast(img, f)
            else:  # any channel count: blend with the mean
                img = tv_tensors.Image((img.mean() + f * (img - img.mean())).clamp(0, 1))
        if _chance(g, c.gamma_p):
            img = F.adjust_gamma(img, _log_uniform(g, c.gamma_min, c.gamma_max))
        if _chance(g, c.blur_p) and c.blur_sigma_max > 0:
            s = max(_uniform(g, c.blur_sigma_min, c.blur_sigma_max), 1e-3)
            k = 2 * math.ceil(3 * s) + 1
            img = F.gaussian_blur(img, kernel_size=[k, k], sigma=[s, s])
        if _chance(g, c.noise_p) and c.noise_std > 0:
            std = _uniform(g, 0.0, c.noise_std)
            noise = torch.randn(img.shape, generator=g, dtype=img.dtype) * std
            img = tv_tensors.Image((img + noise).clamp_(0, 1))
        return img


def build_transforms(preset: Union[str, dict, AugmentConfig] = "light", img_size=256, *,
                     seed: Optional[int] = None, resize_mode: str = "letterbox", **overrides) -> Augment:
    """The augmentation callable for a preset name (none | light | strong), a settings dict or an
    :class:`AugmentConfig`, with per-setting ``overrides`` (e.g. ``rotate_p=0.5``).

    Raises :class:`ConfigError` for an unknown preset or setting.  ``preset="none"`` only fits the size.
    """
    return Augment(resolve_augment(preset, **overrides), img_size=img_size, seed=seed, resize_mode=resize_mode)
