"""From a TrainConfig to the parts a training step needs: data, model, loss, optimizer, schedule, AMP.

:func:`build_parts` seeds the global generators, then builds everything in a fixed order (the order draws
from torch's generator: changing it changes the initial weights).  :func:`restore_parts` loads a resumable
checkpoint's model, optimizer, schedule, scaler and generator states into them.

In a distributed run (:mod:`distributed`) every process builds the same model from the same seed; the model
gets synchronised batch norm, the training module is ``DistributedDataParallel`` (``Parts.ddp``, built by
:func:`step.set_frozen`), each process draws its own augmentation and its own share of the training order.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import torch

from segstudio.core.device import autocast_dtype, resolve_device
from segstudio.core.errors import CheckpointError, ConfigError
from segstudio.core.training.config import TrainConfig, effective_model_kwargs
from segstudio.core.training.distributed import SINGLE, Dist, has_batchnorm, seed_rank, sync_batchnorm
from segstudio.core.training.ema import WeightEMA
from segstudio.core.training.rng import set_rng_state
from segstudio.core.training.schedule import LRSchedule, build_optimizer


@dataclass
class Parts:
    """Everything one training step and a validation pass use (built once per session)."""

    cfg: TrainConfig
    device: torch.device
    train_ds: Any
    val_ds: Any
    class_names: list
    in_channels: int
    split: tuple                    # (train names, val names)
    train_scale: list               # [sy, sx] native -> model pixels (median)
    model_kwargs: dict
    model: torch.nn.Module
    threads: int                    # torch CPU threads used
    channels_last: bool
    loss_fn: torch.nn.Module
    encoder_params: list
    optimizer: torch.optim.Optimizer
    drop_last: bool
    steps_per_epoch: int
    schedule: LRSchedule
    amp_dtype: Optional[torch.dtype]
    scaler: torch.amp.GradScaler
    warnings: list = field(default_factory=list)   # said as Log warnings right after Started
    dist: Dist = field(default_factory=Dist)        # this process's place in a distributed run
    ddp: Optional[torch.nn.Module] = None           # the module trained through (DDP(model) or model)
    ddp_frozen: Optional[bool] = None               # the frozen state ``ddp`` was built for
    ema: Optional[WeightEMA] = None                 # the weights' moving average (cfg.ema_decay > 0)

    @property
    def eval_model(self) -> torch.nn.Module:
        """The weights that are validated and saved as the model: the moving average when there is one."""
        return self.ema.module if self.ema is not None else self.model

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def build_parts(cfg: TrainConfig, resume: Optional[dict], dist: Dist = SINGLE) -> Parts:
    """Seed, open the data, build model/loss/optimizer/schedule/scaler for ``cfg`` (not yet restored)."""
    from segstudio.core.losses import build_loss
    from segstudio.core.models import build_model
    from segstudio.core.training.data_setup import build_datasets, training_scale

    device = dist.device(resolve_device(cfg.device))
    cuda = device.type == "cuda"
    random.seed(cfg.seed)
    np.random.seed(cfg.seed % 2**32)
    torch.manual_seed(cfg.seed)
    _base, train_ds, val_ds, class_names, in_channels, split = build_datasets(cfg)
    train_scale = training_scale(train_ds)
    if resume is not None:
        names = list(resume["class_names"])
        if names != class_names:
            raise CheckpointError(f"the checkpoint's classes {names} differ from the dataset's {class_names}",
                                  cfg.resume)
    model_kwargs = effective_model_kwargs(cfg.model, cfg.model_kwargs)
    model = build_model(cfg.model, in_channels=in_channels, num_classes=len(class_names), **model_kwargs)
    threads = torch.get_num_threads()
    channels_last = cfg.channels_last   # faster on the CPU too (oneDNN): 1.40x here, BENCHMARKS.md
    if dist.enabled and has_batchnorm(model):
        model = sync_batchnorm(model, device)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    loss_fn = build_loss(cfg.loss, len(class_names), ignore_index=-1, class_weights=cfg.class_weights).to(device)
    encoder_params = list(model.encoder_parameters()) if hasattr(model, "encoder_parameters") else []
    warnings = []
    if cfg.freeze_epochs and not encoder_params:
        warnings.append(f"model {cfg.model!r} has no separate encoder: freeze_epochs={cfg.freeze_epochs} "
                        "has no effect")
    weights_warning = getattr(model, "encoder_weights_warning", None)
    if weights_warning and resume is None:  # resuming overwrites the encoder with the checkpoint's weights
        warnings.append(weights_warning)
    optimizer = build_optimizer(model.parameters(), cfg)
    n_train = len(train_ds) // dist.world_size     # each process's share (DistributedSampler, drop_last)
    if n_train < 1:
        raise ConfigError(f"training with {dist.world_size} processes needs at least {dist.world_size} "
                          f"training images (found {len(train_ds)})", cfg.data)
    drop_last = n_train > cfg.batch_size
    steps_per_epoch = n_train // cfg.batch_size if drop_last else 1
    schedule = LRSchedule(optimizer, cfg, steps_per_epoch)
    amp_dtype = autocast_dtype(cfg.amp, device)
    scaler = torch.amp.GradScaler("cuda", enabled=cuda and amp_dtype == torch.float16)
    seed_rank(cfg.seed, dist.rank, getattr(train_ds.transform, "generator", None))
    ema = WeightEMA(model, cfg.ema_decay) if cfg.ema_decay else None
    return Parts(cfg=cfg, device=device, train_ds=train_ds, val_ds=val_ds, class_names=class_names,
                 in_channels=in_channels, split=split, train_scale=train_scale, model_kwargs=model_kwargs,
                 model=model, threads=threads, channels_last=channels_last, loss_fn=loss_fn,
                 encoder_params=encoder_params, optimizer=optimizer, drop_last=drop_last,
                 steps_per_epoch=steps_per_epoch, schedule=schedule, amp_dtype=amp_dtype, scaler=scaler,
                 warnings=warnings, dist=dist, ema=ema)


def restore_parts(parts: Parts, ckpt: dict) -> None:
    """Weights, optimizer, schedule, scaler and generator states of a resumable checkpoint."""
    cfg = parts.cfg
    try:
        # an EMA run saves the average as "state_dict" (what predict loads) and the trained weights beside it
        parts.model.load_state_dict(ckpt.get("train_state_dict", ckpt["state_dict"]))
        if parts.ema is not None:
            if "train_state_dict" in ckpt:
                parts.ema.load_state_dict(ckpt["state_dict"], ckpt.get("ema_updates", 0))
            else:   # the run had no average so far: it starts from the restored weights
                parts.ema.load_state_dict(parts.model.state_dict(), 0)
        parts.optimizer.load_state_dict(ckpt["optimizer"])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"checkpoint does not fit model {cfg.model!r} with these settings "
                              f"({str(exc).splitlines()[0]})", cfg.resume) from None
    parts.schedule.load_state_dict(ckpt["scheduler"])
    if ckpt.get("scaler"):
        parts.scaler.load_state_dict(ckpt["scaler"])
    rng = _rank_rng(parts, ckpt)
    if rng is None:
        return
    set_rng_state(rng)
    aug = rng.get("augment")
    if aug is not None and augment_generator(parts) is not None:
        augment_generator(parts).set_state(aug)


def _rank_rng(parts: Parts, ckpt: dict) -> Optional[dict]:
    """This process's generator states in ``ckpt`` (``rng_ranks[rank]`` of a distributed run's checkpoint);
    None for a rank > 0 when the checkpoint was written by another number of processes (it keeps its own
    fresh streams; a warning says the resume is then not exact)."""
    dist = parts.dist
    saved = int((ckpt.get("config") or {}).get("world_size") or 1)
    if saved != dist.world_size:
        parts.warnings.append(f"the checkpoint was written by {saved} process(es), this run has "
                              f"{dist.world_size}: training continues, but not exactly as it would have")
    ranks = ckpt.get("rng_ranks")
    if ranks and len(ranks) == dist.world_size:
        return ranks[dist.rank]
    return ckpt["rng"] if dist.rank == 0 else None


def augment_generator(parts: Parts) -> Optional[torch.Generator]:
    """The training augmentation's own generator (its state is part of the resume state)."""
    return getattr(parts.train_ds.transform, "generator", None)
