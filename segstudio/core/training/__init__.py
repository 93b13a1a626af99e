"""Training: configuration, the event-generator engine, checkpoints and run reports.

``train(TrainConfig(...))`` yields events; ``load_checkpoint(path)`` reads checkpoints safely.
See docs/training.md.
"""
from segstudio.core.training.checkpoints import load_checkpoint, save_checkpoint
from segstudio.core.training.config import TrainConfig
from segstudio.core.training.engine import resolve_device, train
from segstudio.core.training.events import (BatchEnd, CheckpointSaved, EpochEnd, Event, Failed, Finished, Log,
                                            Started)

__all__ = ["TrainConfig", "train", "load_checkpoint", "save_checkpoint", "resolve_device", "Started", "BatchEnd",
           "EpochEnd", "CheckpointSaved", "Finished", "Failed", "Log", "Event"]
