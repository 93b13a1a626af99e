"""Training: configuration, the event-generator engine, the run folder and its reports.

``train(TrainConfig(...))`` yields events; :class:`RunFolder` names, lists, reads and resumes runs;
``load_checkpoint(path)`` (from :mod:`segstudio.core.checkpoint`) reads checkpoints safely.
See docs/training.md.
"""
from segstudio.core.lazy import lazy_exports

#: name -> module it comes from.  Imported on first use (PEP 562): the checkpoint and engine modules import
#: torch (~2 s), which the GUI must not pay before its first frame just to list runs (issue 10)
_EXPORTS = {
    "load_checkpoint": "segstudio.core.checkpoint", "save_checkpoint": "segstudio.core.checkpoint",
    "TrainConfig": "segstudio.core.training.config",
    "resolve_device": "segstudio.core.training.engine", "train": "segstudio.core.training.engine",
    **{n: "segstudio.core.training.events" for n in ("BatchEnd", "CheckpointSaved", "EpochEnd", "Event", "Failed",
                                                     "Finished", "Log", "Started")},
    **{n: "segstudio.core.training.run_folder" for n in ("ResumePoint", "RunFolder", "RunSummary", "list_runs",
                                                         "resume_point")},
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


__all__ = ["TrainConfig", "train", "load_checkpoint", "save_checkpoint", "resolve_device", "Started", "BatchEnd",
           "EpochEnd", "CheckpointSaved", "Finished", "Failed", "Log", "Event", "RunFolder", "RunSummary",
           "ResumePoint", "list_runs", "resume_point"]
