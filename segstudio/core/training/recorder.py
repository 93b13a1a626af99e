"""Everything a run leaves on disk, written through its :class:`RunFolder`: settings and split at the start,
metrics.csv and curves.png after every epoch, checkpoints, and status.json at the end.

Each writer returns the event that announces the file, so the engine yields it *after* the file is complete.
In a distributed run only rank 0 writes; every process calls the writers (a resumable checkpoint gathers all
processes' generator states) and gets the same events.
"""
from __future__ import annotations

from typing import Optional

from segstudio.core.checkpoint import FORMAT, FORMAT_VERSION, plain, save_checkpoint
from segstudio.core.training.config import TrainConfig
from segstudio.core.training.events import CheckpointSaved, Failed, Finished
from segstudio.core.training.parts import Parts, augment_generator
from segstudio.core.training.report import history_row
from segstudio.core.training.rng import rng_state
from segstudio.core.training.run_folder import FAILED, RunFolder
from segstudio.core.training.stopping import StopPolicy


class RunRecorder:
    def __init__(self, folder: RunFolder, parts: Parts, stop: StopPolicy):
        self.folder = folder
        self.parts = parts
        self.stop = stop
        self.history: list[dict] = []      # per epoch: {"row": metrics.csv row, "metrics": EpochEnd.metrics}
        self.best_metrics: dict = {}
        self.main = parts.dist.is_main     # the process that writes
        self.has_best = False              # best.pt exists (rank 0's folder; known to every process)

    def saved_config(self) -> TrainConfig:
        """The config as written to config.json and the checkpoints: ``threads`` = the count actually used,
        ``world_size`` = the number of processes."""
        return self.parts.cfg.replace(threads=self.parts.threads, world_size=self.parts.dist.world_size)

    def restore(self, ckpt: dict) -> None:
        self.history = [dict(r) for r in ckpt.get("history", [])]
        self.best_metrics = dict(ckpt.get("best_metrics", {}))

    def start(self) -> None:
        cfg = self.parts.cfg
        how = {"k_folds": cfg.k_folds, "fold": cfg.fold} if cfg.k_folds else {"val_fraction": cfg.val_fraction}
        if self.main:
            self.has_best = self.folder.best.exists()
            self.folder.create(self.saved_config(), self.parts.split[0], self.parts.split[1], seed=cfg.seed,
                               **how)
        self.has_best = self.parts.dist.broadcast(self.has_best)

    # ------------------------------------------------------------------ epochs
    def add_epoch(self, epoch: int, train_loss: float, val_loss: float, metrics: dict, lr: float,
                  seconds: float) -> None:
        row = history_row(epoch, train_loss, val_loss, metrics, lr, seconds)
        self.history.append({"row": row, "metrics": metrics})
        if self.main:
            self.folder.write_history([h["row"] for h in self.history])

    def last_metrics(self) -> dict:
        return self.history[-1]["metrics"] if self.history else {}

    # ------------------------------------------------------------------ checkpoints
    def save(self, kind: str, epoch: int, metrics: dict, progress: Optional[dict] = None) -> CheckpointSaved:
        """Write ``best.pt`` (weights only), ``last.pt`` or the periodic ``epoch_NNN.pt`` (resumable)."""
        path = {"best": self.folder.best, "last": self.folder.last}.get(kind) or self.folder.periodic(epoch)
        if self.main or kind != "best":     # every process builds a resumable payload: it gathers
            payload = self.payload(epoch, metrics, kind != "best", progress)
        if self.main:
            save_checkpoint(payload, path)
        if kind == "best":
            self.has_best = True
        return CheckpointSaved(str(path), kind, epoch)

    def payload(self, epoch: int, metrics: dict, resume_state: bool, progress: Optional[dict] = None) -> dict:
        parts = self.parts
        cfg = parts.cfg
        sd = _cpu(parts.eval_model.state_dict())   # the moving average when the run keeps one
        p = {"format": FORMAT, "format_version": FORMAT_VERSION,
             "model": {"name": cfg.model, "in_channels": parts.in_channels, "num_classes": parts.num_classes,
                       "kwargs": dict(parts.model_kwargs)},
             "state_dict": sd, "class_names": list(parts.class_names), "img_size": cfg.img_size,
             "resize_mode": cfg.resize_mode, "train_scale": list(parts.train_scale),
             "epoch": epoch, "metrics": plain(metrics), "config": self.saved_config().to_dict()}
        if resume_state:
            rng = rng_state()
            gen = augment_generator(parts)
            rng["augment"] = gen.get_state() if gen is not None else None
            ranks = parts.dist.gather(rng)
            if parts.dist.enabled:
                p["rng_ranks"] = ranks     # each process's generators, by rank (exact resume under torchrun)
            p.update({"optimizer": parts.optimizer.state_dict(), "scheduler": parts.schedule.state_dict(),
                      "scaler": parts.scaler.state_dict() if parts.scaler.is_enabled() else {},
                      "rng": ranks[0], "early_stop": dict(self.stop.early), "history": plain(self.history),
                      "progress": progress, "best_metrics": plain(self.best_metrics),
                      "elapsed_s": self.stop.elapsed()})
            if parts.ema is not None:   # resume needs the trained weights too; "state_dict" is the average
                p["train_state_dict"] = _cpu(parts.model.state_dict())
                p["ema_updates"] = parts.ema.updates
        return p

    # ------------------------------------------------------------------ the end
    def finished(self, reason: str, epochs_done: int) -> Finished:
        ev = Finished(best_miou=self.stop.best_miou, run_dir=str(self.folder.path), reason=reason,
                      epochs_done=epochs_done, best_epoch=self.stop.best_epoch)
        if self.main:
            self.folder.write_status(reason, epochs_done=epochs_done, best_miou=ev.best_miou,
                                     best_epoch=ev.best_epoch)
        return ev

    def failed(self, message: str, advice: str = "") -> Failed:
        if self.main and self.folder.path.is_dir():
            self.folder.write_status(FAILED, message=message)
        return Failed(message=message, advice=advice, run_dir=str(self.folder.path))


def _cpu(state: dict) -> dict:
    return {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
