"""Training configuration: one dataclass, saved as JSON and YAML in the run folder.

``TrainConfig.from_file`` reads either format; an unknown key or a value of the wrong type raises
:class:`ConfigError` naming the file and the key, so a typo never silently falls back to a default.
The defaults are chosen for a small medical dataset (tens to a few hundred images) trained on a CPU.
"""
from __future__ import annotations

import dataclasses
import inspect
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Optional

import yaml

from segstudio.core.device import DEVICES
from segstudio.core.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULERS = ("cosine", "step", "plateau", "constant")
AMP_MODES = ("auto", "off", "bf16", "fp16")
RESIZE_MODES = ("letterbox", "resize")

#: training defaults for model options a user did not set, applied only to models whose factory names the
#: option: base 8 (widths 8..128, ~0.45 M parameters for ``unet``) is the CPU-friendly width of the U-Net
#: family; pretrained-encoder and smp models have no ``base`` and keep their own defaults
CPU_MODEL_DEFAULTS = {"base": 8}


@dataclass
class TrainConfig:
    """Everything a training run needs.  ``data`` and ``out`` are required; the rest has CPU-friendly defaults."""

    data: str = ""                       # labelme folder, images/+masks/ folder, or VOC folder
    out: str = ""                        # run folder (best.pt, last.pt, metrics.csv, curves.png, config.*)
    labels: Optional[str] = None         # labels.txt / classes.txt; None -> found by the data module
    # model
    model: str = "unet"
    model_kwargs: dict = field(default_factory=dict)  # {} = the model's defaults + CPU_MODEL_DEFAULTS
    in_channels: Optional[int] = None    # None: 1 for grayscale datasets, else 3
    # data
    img_size: int = 128
    resize_mode: str = "letterbox"
    val_fraction: float = 0.1            # 9:1 hold-out split (ignored with k_folds)
    k_folds: Optional[int] = None        # k-fold cross-validation: fold ``fold`` (0-based) of k is validation
    fold: int = 0
    augment: str = "light"               # data module's transform preset
    augment_overrides: dict = field(default_factory=dict)
    cache_images: bool = True            # keep decoded, resized images in memory (fast epochs on CPU)
    num_workers: int = 0
    # optimisation
    epochs: int = 60
    batch_size: int = 4
    loss: str = "dice_ce"
    class_weights: Optional[list] = None
    optimizer: str = "adamw"
    lr: float = 2e-3
    weight_decay: float = 1e-4
    momentum: float = 0.9                # SGD only
    scheduler: str = "cosine"
    warmup_epochs: float = 1.0           # linear warmup from lr/100, counted in optimizer steps
    min_lr: float = 1e-5                 # floor of cosine; lower bound for plateau
    step_size: int = 20                  # "step": epochs between decays
    gamma: float = 0.1                   # "step" / "plateau" decay factor
    plateau_patience: int = 5            # "plateau": epochs without val mIoU gain before decaying
    grad_clip: Optional[float] = None    # max global grad norm
    freeze_epochs: int = 0               # epochs with model.encoder_parameters() frozen
    ema_decay: float = 0.0               # validate and save an EMA of the weights (decay per step); 0 = off
    # stopping and checkpoints
    patience: int = 20                   # early stopping on val mIoU; 0 = off
    checkpoint_every: int = 0            # also keep epoch_NNN.pt every N epochs; 0 = off
    max_minutes: Optional[float] = None  # time budget: stop cleanly after the batch that exceeds it
    resume: Optional[str] = None         # a last.pt / epoch_NNN.pt to continue from
    # runtime
    seed: int = 0
    device: str = "auto"
    deterministic: Optional[bool] = None  # deterministic algorithms (warn_only); None = on the CPU only
    threads: Optional[int] = None        # torch CPU threads while training; None = as the caller set them
    world_size: Optional[int] = None     # recorded: processes of the run (torchrun); set by the engine
    amp: str = "auto"                    # autocast: see segstudio.core.device.autocast_dtype (CPU: bf16 if native)
    channels_last: bool = True           # memory format of model and batches (CUDA and CPU)

    # ------------------------------------------------------------------ validation
    def validate(self, path: "Optional[str | os.PathLike[str]]" = None) -> "TrainConfig":
        """Check types and ranges; raise :class:`ConfigError` naming the first bad key."""
        hints = _field_types()
        for f in fields(self):
            _check_type(f.name, getattr(self, f.name), hints[f.name], path)

        def bad(key: str, why: str):
            raise ConfigError(f"{key}: {why}", path)

        for key, allowed in (("optimizer", OPTIMIZERS), ("scheduler", SCHEDULERS), ("amp", AMP_MODES),
                             ("device", DEVICES), ("resize_mode", RESIZE_MODES)):
            if getattr(self, key) not in allowed:
                bad(key, f"{getattr(self, key)!r} is not one of {', '.join(allowed)}")
        for key in ("epochs", "batch_size", "img_size", "step_size"):
            if getattr(self, key) < 1:
                bad(key, f"must be >= 1 (got {getattr(self, key)})")
        for key in ("num_workers", "freeze_epochs", "patience", "checkpoint_every", "plateau_patience", "fold"):
            if getattr(self, key) < 0:
                bad(key, f"must be >= 0 (got {getattr(self, key)})")
        if self.img_size % 32:
            bad("img_size", f"must be a multiple of 32 (got {self.img_size})")
        if not 0.0 < self.val_fraction < 1.0:
            bad("val_fraction", f"must be between 0 and 1 (got {self.val_fraction})")
        if self.k_folds is not None:
            if self.k_folds < 2:
                bad("k_folds", f"must be >= 2 (got {self.k_folds}); leave it empty for a hold-out split")
            if self.fold >= self.k_folds:
                bad("fold", f"must be in 0..{self.k_folds - 1} for k_folds={self.k_folds} (got {self.fold})")
        elif self.fold:
            bad("fold", f"is {self.fold} but k_folds is not set (e.g. --set k_folds=5)")
        if self.threads is not None and self.threads < 1:
            bad("threads", f"must be >= 1 (got {self.threads})")
        if self.world_size is not None and self.world_size < 1:
            bad("world_size", f"must be >= 1 (got {self.world_size})")
        if self.lr <= 0:
            bad("lr", f"must be > 0 (got {self.lr})")
        if not 0.0 <= self.ema_decay < 1.0:
            bad("ema_decay", f"must be in [0, 1): 0 = off, e.g. 0.99 (got {self.ema_decay})")
        if self.weight_decay < 0 or self.warmup_epochs < 0 or self.min_lr < 0:
            bad("weight_decay/warmup_epochs/min_lr", "must be >= 0")
        if not 0.0 < self.gamma <= 1.0:
            bad("gamma", f"must be in (0, 1] (got {self.gamma})")
        if self.max_minutes is not None and self.max_minutes <= 0:
            bad("max_minutes", f"must be > 0 (got {self.max_minutes})")
        if self.grad_clip is not None and self.grad_clip <= 0:
            bad("grad_clip", f"must be > 0 (got {self.grad_clip})")
        return self

    # ------------------------------------------------------------------ IO
    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self, path=None) -> str:
        text = json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"
        if path is not None:
            _atomic_write(Path(path), text)
        return text

    def to_yaml(self, path=None) -> str:
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False)
        if path is not None:
            _atomic_write(Path(path), text)
        return text

    @classmethod
    def from_dict(cls, data: dict, path=None) -> "TrainConfig":
        if not isinstance(data, dict):
            raise ConfigError("a config must be a mapping of keys to values", path)
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ConfigError(f"unknown key {key!r}; known keys: {', '.join(sorted(known))}", path)
        values = dict(data)
        # YAML/JSON have no int/float distinction the user cares about: 1 is a fine learning rate
        hints = _field_types()
        for key, value in values.items():
            if hints[key] in ("float", "Optional[float]") and isinstance(value, int) and not isinstance(value, bool):
                values[key] = float(value)
        return cls(**values).validate(path)

    @classmethod
    def from_file(cls, path) -> "TrainConfig":
        """Read a ``.json``, ``.yaml`` or ``.yml`` config; raise :class:`ConfigError` on any problem."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read config: {exc.strerror or exc}", p) from None
        try:
            if p.suffix.lower() == ".json":
                data = json.loads(text)
            else:
                data = yaml.safe_load(text)   # never yaml.load: tags like !!python/object would run code
        except yaml.constructor.ConstructorError as exc:
            tag = f" {exc.problem.split('tag ')[-1]}" if exc.problem and "tag " in exc.problem else ""
            raise ConfigError(f"refused: the YAML tag{tag} would construct a Python object (line "
                              f"{exc.problem_mark.line + 1 if exc.problem_mark else '?'}); a config holds plain "
                              "values only, and nothing in this file was run", p) from None
        except (ValueError, yaml.YAMLError) as exc:
            raise ConfigError(f"not valid {'JSON' if p.suffix.lower() == '.json' else 'YAML'}: {exc}", p) from None
        return cls.from_dict(data if data is not None else {}, p)

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


def effective_model_kwargs(model: str, model_kwargs: dict) -> dict:
    """The options the model is built with: ``model_kwargs`` plus :data:`CPU_MODEL_DEFAULTS` for the options
    the model's factory names and the user did not set (``unet`` -> base 8; ``resnet_unet``, ``smp:...``:
    nothing added).  Saved in the checkpoint, so the predictor rebuilds the same network."""
    from segstudio.core.models import MODELS

    out = dict(model_kwargs)
    if not isinstance(model, str) or model.startswith("smp:") or model not in MODELS:
        return out
    try:
        params = inspect.signature(MODELS.get(model)).parameters
    except (TypeError, ValueError):  # pragma: no cover - a builtin / C factory without a signature
        return out
    for key, value in CPU_MODEL_DEFAULTS.items():
        if key in params and key not in out:
            out[key] = value
    return out


def _field_types() -> dict[str, str]:
    return {f.name: str(f.type) for f in fields(TrainConfig)}


_PY_TYPES = {"str": (str,), "int": (int,), "float": (float, int), "bool": (bool,), "dict": (dict,),
             "list": (list,)}


def _check_type(key: str, value: Any, hint: str, path) -> None:
    optional = hint.startswith("Optional[")
    base = hint[len("Optional["):-1] if optional else hint
    if value is None:
        if optional:
            return
        raise ConfigError(f"{key}: must not be empty (expected {base})", path)
    ok_types = _PY_TYPES[base]
    if isinstance(value, bool) and base != "bool":
        ok = False
    else:
        ok = isinstance(value, ok_types)
    if not ok:
        raise ConfigError(f"{key}: expected {base}, got {type(value).__name__} {value!r}", path)


def _atomic_write(path: Path, text: str) -> None:
    from segstudio.core.annotation.io import atomic_write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
