"""Training: configuration, the event-generator engine, the run folder and its reports.

``train(TrainConfig(...))`` yields events; :class:`RunFolder` names, lists, reads and resumes runs;
``load_checkpoint(path)`` (from :mod:`segstudio.core.checkpoint`) reads checkpoints safely.
See docs/training.md.
"""
from segstudio.core.checkpoint import load_checkpoint, save_checkpoint
from segstudio.core.training.config import TrainConfig
from segstudio.core.training.engine import resolve_device, train
from segstudio.core.training.events import (BatchEnd, CheckpointSaved, EpochEnd, Event, Failed, Finished, Log,
                                            Started)
from segstudio.core.training.run_folder import ResumePoint, RunFolder, RunSummary, list_runs, resume_point

__all__ = ["TrainConfig", "train", "load_checkpoint", "save_checkpoint", "resolve_device", "Started", "BatchEnd",
           "EpochEnd", "CheckpointSaved", "Finished", "Failed", "Log", "Event", "RunFolder", "RunSummary",
           "ResumePoint", "list_runs", "resume_point"]
