"""Optimizers and learning-rate schedules (cosine / step / plateau / constant, each with linear warmup).

The schedule is a small class of our own rather than a chain of ``torch.optim.lr_scheduler`` objects: its
whole state is a handful of numbers (``state_dict`` is plain data for the checkpoint), warmup composes with
every decay the same way, and "plateau" can react to val mIoU at epoch ends while warmup advances per step.
"""
from __future__ import annotations

import math
from typing import Iterable

import torch

from segstudio.core.errors import ConfigError
from segstudio.core.registry import Registry

OPTIMIZERS: Registry = Registry("optimizer")


@OPTIMIZERS.register("adam")
def _adam(params, cfg):
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


@OPTIMIZERS.register("adamw")
def _adamw(params, cfg):
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


@OPTIMIZERS.register("sgd")
def _sgd(params, cfg):
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                           nesterov=cfg.momentum > 0)


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg) -> torch.optim.Optimizer:
    """The optimizer named by ``cfg.optimizer`` over ``params`` (all of the model's, frozen ones included)."""
    return OPTIMIZERS.get(cfg.optimizer)(list(params), cfg)


class LRSchedule:
    """Sets ``lr`` of every param group before each optimizer step.

    lr(step) = base_lr * warmup(step) * decay, where warmup rises linearly from 1/100 to 1 over
    ``warmup_steps`` steps and decay is

    * cosine: from 1 down to min_lr/base_lr over the steps after warmup,
    * step: gamma ** (completed_epochs // step_size),
    * plateau: multiplied by gamma each time val mIoU has not improved for ``plateau_patience`` epochs
      (never below min_lr),
    * constant: 1.

    With a time budget, cosine progress is max(step fraction, ``time_fraction``).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, cfg, steps_per_epoch: int):
        if cfg.scheduler not in ("cosine", "step", "plateau", "constant"):
            raise ConfigError(f"scheduler: unknown {cfg.scheduler!r}; known: cosine, constant, plateau, step")
        self.optimizer = optimizer
        self.kind = cfg.scheduler
        self.base_lr = float(cfg.lr)
        self.min_lr = min(float(cfg.min_lr), self.base_lr)
        self.gamma = float(cfg.gamma)
        self.step_size = int(cfg.step_size)
        self.plateau_patience = int(cfg.plateau_patience)
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        self.total_steps = self.steps_per_epoch * int(cfg.epochs)
        self.warmup_steps = int(round(float(cfg.warmup_epochs) * self.steps_per_epoch))
        # state
        self.step_count = 0
        self.epochs_done = 0
        self.plateau_factor = 1.0
        self.plateau_best = -math.inf
        self.plateau_bad = 0
        #: with a time budget the engine sets this to elapsed/budget: cosine then follows whichever of
        #: steps and time is further along, so the lr has annealed when the budget runs out
        self.time_fraction = 0.0
        self.apply()

    # -- lr ---------------------------------------------------------------------------------------------
    def lr_at(self, step: int) -> float:
        warm = 1.0
        if self.warmup_steps > 0 and step < self.warmup_steps:
            warm = 0.01 + 0.99 * step / self.warmup_steps
        if self.kind == "cosine":
            span = max(1, self.total_steps - self.warmup_steps)
            t = min(max(step - self.warmup_steps, 0) / span, 1.0)
            t = max(t, min(self.time_fraction, 1.0))
            lr = self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * t))
        elif self.kind == "step":
            lr = self.base_lr * self.gamma ** (self.epochs_done // self.step_size)
        elif self.kind == "plateau":
            lr = max(self.base_lr * self.plateau_factor, self.min_lr)
        else:
            lr = self.base_lr
        return lr * warm

    def apply(self) -> float:
        lr = self.lr_at(self.step_count)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    # -- events -----------------------------------------------------------------------------------------
    def step(self) -> None:
        """After an optimizer step: advance and set the next step's lr."""
        self.step_count += 1
        self.apply()

    def epoch_end(self, val_miou: float) -> None:
        self.epochs_done += 1
        if self.kind == "plateau":
            if val_miou > self.plateau_best + 1e-4:
                self.plateau_best, self.plateau_bad = val_miou, 0
            else:
                self.plateau_bad += 1
                if self.plateau_bad > self.plateau_patience:
                    self.plateau_factor *= self.gamma
                    self.plateau_bad = 0
        self.apply()

    # -- state ------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"kind": self.kind, "step_count": self.step_count, "epochs_done": self.epochs_done,
                "plateau_factor": self.plateau_factor, "plateau_best": self.plateau_best,
                "plateau_bad": self.plateau_bad, "time_fraction": self.time_fraction}

    def load_state_dict(self, state: dict) -> None:
        self.step_count = int(state["step_count"])
        self.epochs_done = int(state["epochs_done"])
        self.plateau_factor = float(state["plateau_factor"])
        self.plateau_best = float(state["plateau_best"])
        self.plateau_bad = int(state["plateau_bad"])
        self.time_fraction = float(state.get("time_fraction", 0.0))
        self.apply()
