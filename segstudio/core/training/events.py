"""Typed events yielded by :func:`segstudio.core.training.train`.

The CLI, the tests and the GUI's worker thread consume the same stream.  Every event is a small frozen
dataclass of plain Python values (no tensors), so it can cross a thread boundary or be logged as is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Started:
    config: Any               # the validated TrainConfig
    n_train: int
    n_val: int
    device: str               # "cpu", "cuda", "cuda:0", ...
    class_names: tuple = ()
    start_epoch: int = 1      # > 1 when resuming
    run_dir: str = ""
    threads: int = 0          # torch CPU threads the run uses (torch.get_num_threads() at setup)


@dataclass(frozen=True)
class BatchEnd:
    epoch: int                # 1-based
    batch: int                # 1-based within the epoch
    n_batches: int
    loss: float
    images_per_s: float       # training throughput since the start of this epoch


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    train_loss: float
    val_loss: float
    metrics: dict             # {"miou", "mdice", "pixel_acc", "iou": {class: v}, "dice": {class: v}}
    lr: float
    seconds: float            # wall time of the whole epoch (train + validation)
    train_seconds: float = 0.0
    best: bool = False        # this epoch set a new best val mIoU (best.pt was written)


@dataclass(frozen=True)
class CheckpointSaved:
    path: str
    kind: str                 # "best" | "last" | "periodic"
    epoch: int = 0


@dataclass(frozen=True)
class Log:
    message: str
    level: str = "info"       # "info" | "warning"


@dataclass(frozen=True)
class Finished:
    best_miou: float
    run_dir: str
    reason: str               # "completed" | "early_stop" | "time_budget" | "cancelled"
    epochs_done: int = 0
    best_epoch: int = 0


@dataclass(frozen=True)
class Failed:
    message: str
    advice: str = ""
    run_dir: str = ""


Event = Started | BatchEnd | EpochEnd | CheckpointSaved | Log | Finished | Failed

REASONS = ("completed", "early_stop", "time_budget", "cancelled")

__all__ = ["Started", "BatchEnd", "EpochEnd", "CheckpointSaved", "Log", "Finished", "Failed", "Event",
           "REASONS"]
