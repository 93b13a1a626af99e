"""Augmentation settings (:class:`AugmentConfig`) and the presets ``none``, ``light``, ``strong``.

Plain Python: no torch, no torchvision (~2 s to import), so the GUI's training form can list the presets before
its first frame.  The augmentation itself is :mod:`segstudio.core.data.augment`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

from segstudio.core.errors import ConfigError


@dataclass
class AugmentConfig:
    """Probabilities (``*_p``, 0..1) and magnitudes of each augmentation."""

    hflip_p: float = 0.0
    vflip_p: float = 0.0
    rotate_p: float = 0.0
    rotate_deg: float = 40.0  # angle uniform in [-rotate_deg, rotate_deg]
    shift_p: float = 0.0
    shift: float = 0.1  # translation uniform in [-shift, shift] x image size
    scale_p: float = 0.0
    scale_min: float = 0.8  # zoom factor log-uniform in [scale_min, scale_max]
    scale_max: float = 1.25
    shear_p: float = 0.0
    shear_deg: float = 10.0
    elastic_p: float = 0.0
    elastic_alpha: float = 4.0  # displacement amplitude in pixels (keep well below elastic_sigma / 2)
    elastic_sigma: float = 24.0  # smoothness: spacing of the random displacement grid in pixels
    brightness_p: float = 0.0
    brightness: float = 0.2  # factor uniform in [1 - b, 1 + b]
    contrast_p: float = 0.0
    contrast: float = 0.2
    gamma_p: float = 0.0
    gamma_min: float = 0.7  # gamma log-uniform in [gamma_min, gamma_max]
    gamma_max: float = 1.5
    blur_p: float = 0.0
    blur_sigma_min: float = 0.1
    blur_sigma_max: float = 1.5
    noise_p: float = 0.0
    noise_std: float = 0.03  # std uniform in [0, noise_std] (image in [0, 1])

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "AugmentConfig":
        return cls().updated(**d)

    def updated(self, **overrides) -> "AugmentConfig":
        known = {f.name for f in fields(self)}
        bad = sorted(set(overrides) - known)
        if bad:
            raise ConfigError(f"unknown augmentation setting(s) {', '.join(bad)}; known: {', '.join(sorted(known))}")
        out = replace(self, **{k: float(v) for k, v in overrides.items()})
        out.validate()
        return out

    def validate(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not math.isfinite(v):
                raise ConfigError(f"augmentation setting {f.name} must be finite, got {v}")
            if f.name.endswith("_p") and not 0.0 <= v <= 1.0:
                raise ConfigError(f"augmentation probability {f.name} must be in [0, 1], got {v}")
            if not f.name.endswith("_p") and v < 0:
                raise ConfigError(f"augmentation setting {f.name} must be >= 0, got {v}")
        for lo, hi in (("scale_min", "scale_max"), ("gamma_min", "gamma_max"), ("blur_sigma_min", "blur_sigma_max")):
            if getattr(self, lo) > getattr(self, hi) or (lo != "blur_sigma_min" and getattr(self, lo) <= 0):
                raise ConfigError(f"augmentation range {lo}..{hi} is invalid: {getattr(self, lo)}..{getattr(self, hi)}")
        if self.brightness >= 1 or self.contrast >= 1:
            raise ConfigError("augmentation brightness and contrast must be < 1")


PRESETS = {
    "none": AugmentConfig(),
    "light": AugmentConfig(
        hflip_p=0.5, rotate_p=0.3, rotate_deg=15, shift_p=0.3, shift=0.05, scale_p=0.3, scale_min=0.9,
        scale_max=1.1, brightness_p=0.3, brightness=0.1, contrast_p=0.3, contrast=0.1,
    ),
    "strong": AugmentConfig(
        hflip_p=0.5, vflip_p=0.5, rotate_p=0.5, rotate_deg=40, shift_p=0.5, shift=0.1, scale_p=0.5,
        scale_min=0.8, scale_max=1.25, shear_p=0.3, shear_deg=10, elastic_p=0.2, brightness_p=0.5,
        brightness=0.2, contrast_p=0.5, contrast=0.2, gamma_p=0.3, blur_p=0.2, noise_p=0.2,
    ),
}


def resolve_augment(preset="light", **overrides) -> AugmentConfig:
    """The settings of a preset name (none | light | strong), a settings dict or an :class:`AugmentConfig`, with
    per-setting ``overrides`` (e.g. ``rotate_p=0.5``).  Raises :class:`ConfigError` for an unknown preset or
    setting."""
    if isinstance(preset, AugmentConfig):
        cfg = preset
    elif isinstance(preset, dict):
        cfg = AugmentConfig.from_dict(preset)
    elif preset in PRESETS:
        cfg = PRESETS[preset]
    else:
        raise ConfigError(f"unknown augmentation preset {preset!r}; known: {', '.join(PRESETS)}")
    return cfg.updated(**overrides)


def trained_flips(augment, overrides=None) -> tuple:
    """The mirror axes a model was trained with (``"h"``: left-right, ``"v"``: up-down), from a run config's
    ``augment`` (see :func:`resolve_augment`) and ``augment_overrides``.  Test-time augmentation mirrors only
    along these (as nnU-Net does): an ultrasound model trained without up-down flips is wrong on up-down
    flipped images.  Settings that cannot be read give both axes (the old behaviour)."""
    try:
        cfg = resolve_augment(augment, **dict(overrides or {}))
    except (TypeError, ValueError, ConfigError):
        return ("h", "v")
    return tuple(axis for axis, p in (("h", cfg.hflip_p), ("v", cfg.vflip_p)) if p > 0)
