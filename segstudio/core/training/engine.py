"""The training loop as a generator of typed events (see :mod:`segstudio.core.training.events`).

``train(config, cancel=None)`` opens the data, builds model/loss/optimizer/schedule, then yields
``Started``, a ``BatchEnd`` per optimizer step, per epoch an ``EpochEnd`` and ``CheckpointSaved`` events,
and ends with exactly one ``Finished`` (or ``Failed`` for CUDA out-of-memory / a diverging loss).
Configuration and data problems raise :class:`SegStudioError` subclasses before ``Started``.

The generator keeps no module-level state; the GUI runs it in a worker thread.  It seeds the global
python/numpy/torch RNGs from ``config.seed`` (models with dropout use torch's), and while it runs it turns
``torch.use_deterministic_algorithms`` on (by default on the CPU only; restored afterwards).
``torch.set_num_threads`` is left to the caller unless ``config.threads`` is set (restored afterwards); the
count used is recorded in config.json and the checkpoints.  Checkpoints are written *before* the event that
announces them, so a consumer that stops iterating after any event finds consistent files on disk.

The parts: :mod:`parts` builds data, model and optimizer from the config; :mod:`step` holds the optimizer step
and the validation pass; :class:`StopPolicy` (:mod:`stopping`) decides when to stop (early stopping, time
budget, last epoch); :class:`RunRecorder` (:mod:`recorder`) writes the run folder.  This module is the loop.

Under ``torchrun`` with several processes (:mod:`distributed`) every process runs this loop on its share of
the data; rank 0 writes the files and yields the events (the others yield only ``Finished``/``Failed``), and
every decision that could differ between processes (cancel, time budget, the stop reason) is agreed on.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Union

import torch

from segstudio.core.checkpoint import is_resumable, load_checkpoint
from segstudio.core.device import resolve_device
from segstudio.core.errors import CheckpointError, ConfigError
from segstudio.core.threads import torch_threads
from segstudio.core.training.config import TrainConfig
from segstudio.core.training.distributed import Dist, setup
from segstudio.core.training.events import BatchEnd, EpochEnd, Failed, Finished, Log, Started
from segstudio.core.training.parts import Parts, build_parts, restore_parts
from segstudio.core.training.recorder import RunRecorder
from segstudio.core.training.run_folder import RunFolder
from segstudio.core.training.step import epoch_order, loader, set_frozen, train_step, validate
from segstudio.core.training.stopping import StopPolicy

CancelArg = Union[Callable[[], bool], threading.Event, None]
OOM_ADVICE = ("CUDA ran out of memory: lower the batch size (now {bs}) or the image size (now {size}), "
              "or train on the CPU with --device cpu")

__all__ = ["train", "resolve_device", "use_deterministic", "OOM_ADVICE"]


def _cancel_fn(cancel: CancelArg) -> Callable[[], bool]:
    if cancel is None:
        return lambda: False
    if isinstance(cancel, threading.Event) or hasattr(cancel, "is_set"):
        return cancel.is_set
    return cancel


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


def train(config: Union[TrainConfig, dict], *, cancel: CancelArg = None) -> Iterator:
    """Run a training; yield events.  ``cancel`` (callable or ``threading.Event``) is polled between
    batches: the run then saves ``last.pt`` (resumable mid-epoch) and yields ``Finished(reason="cancelled")``."""
    cfg = TrainConfig.from_dict(config) if isinstance(config, dict) else config.validate()
    if not cfg.data:
        raise ConfigError("data: no dataset folder given")
    if not cfg.out:
        raise ConfigError("out: no run folder given")
    stop = StopPolicy(cfg.patience, cfg.max_minutes)
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    dist = setup(resolve_device(cfg.device))    # torchrun's process group, else the single process
    try:
        with torch_threads(cfg.threads):   # core/threads.py: None leaves the caller's count
            if use_deterministic(cfg.deterministic, resolve_device(cfg.device)):
                torch.use_deterministic_algorithms(True, warn_only=True)
            events = _session(cfg, stop, _cancel_fn(cancel), dist)
            try:
                for ev in events:   # rank 0 says everything; the other processes only how the run ended
                    if dist.is_main or isinstance(ev, (Finished, Failed)):
                        yield ev
            finally:
                events.close()
    finally:
        torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)
        dist.close()


def use_deterministic(setting: Optional[bool], device: torch.device) -> bool:
    """Whether a run turns on ``torch.use_deterministic_algorithms(True, warn_only=True)``.

    ``None`` (the default): on the CPU only.  On CUDA it would force deterministic cuDNN convolutions (slower)
    and warn on every op without a deterministic CUDA kernel (``bincount``, ``nll_loss2d``, bilinear
    up-sampling's backward), for results that still are not bit-exact; ``True`` asks for it anyway.
    """
    if setting is None:
        return device.type == "cpu"
    return bool(setting)


@dataclass
class _Loop:
    """One session of a run: its parts, when to stop, what to write."""

    parts: Parts
    stop: StopPolicy
    rec: RunRecorder
    cancel: Callable[[], bool]

    @property
    def dist(self) -> Dist:
        return self.parts.dist

    @property
    def cfg(self) -> TrainConfig:
        return self.parts.cfg


def _session(cfg: TrainConfig, stop: StopPolicy, cancel: Callable[[], bool], dist: Dist):
    """Build (and restore) the run, write its folder, then run it; an exception after that is recorded in
    status.json ("failed") before it propagates."""
    resume = load_checkpoint(cfg.resume) if cfg.resume else None
    if resume is not None and not is_resumable(resume):
        raise CheckpointError(f"cannot resume from this checkpoint: it holds weights only (use {RunFolder.LAST} "
                              "or a periodic epoch_NNN.pt)", cfg.resume)
    parts = build_parts(cfg, resume, dist)
    loop = _Loop(parts, stop, RunRecorder(RunFolder(cfg.out), parts, stop), cancel)
    start_epoch, progress = _restore(loop, resume) if resume is not None else (1, None)
    loop.rec.start()
    try:
        yield from _started(loop, start_epoch, progress)
    except Exception as exc:  # noqa: BLE001 - recorded, then re-raised
        loop.rec.failed(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise


def _restore(loop: _Loop, resume: dict) -> tuple[int, Optional[dict]]:
    """Load a resumable checkpoint into the run; ``(first epoch, position inside it or None)``."""
    parts, stop = loop.parts, loop.stop
    restore_parts(parts, resume)
    stop.restore(resume)
    loop.rec.restore(resume)
    progress = dict(resume["progress"]) if resume.get("progress") else None
    saved_world = int((resume.get("config") or {}).get("world_size") or 1)
    if progress and saved_world != loop.dist.world_size:
        # another number of processes: continue after the same number of the epoch's images
        done = int(progress["batch"]) * loop.cfg.batch_size * saved_world
        progress["batch"] = done // (loop.cfg.batch_size * loop.dist.world_size)
    start_epoch = progress["epoch"] if progress else int(resume["epoch"]) + 1
    if stop.budget_s is not None and parts.schedule.kind == "cosine":
        # a changed budget: the cosine follows the run's total time over the new budget
        parts.schedule.time_fraction = stop.elapsed() / stop.budget_s
        parts.schedule.apply()
    return start_epoch, progress


def _started(loop: _Loop, start_epoch: int, progress: Optional[dict]):
    """Started, the warnings, the resume note, the image cache, then the epochs."""
    parts, cfg, stop = loop.parts, loop.cfg, loop.stop
    yield Started(config=cfg, n_train=len(parts.train_ds), n_val=len(parts.val_ds), device=str(parts.device),
                  class_names=tuple(parts.class_names), start_epoch=start_epoch,
                  run_dir=str(loop.rec.folder.path), threads=parts.threads)
    for msg in parts.warnings:
        yield Log(msg, "warning")
    if cfg.resume:
        yield Log(f"resumed from {cfg.resume} at epoch {start_epoch}"
                  + (f", batch {progress['batch'] + 1}" if progress else "")
                  + (f", {stop.elapsed_before / 60:.1f} of {cfg.max_minutes:g} min used" if stop.budget_s else ""))
        if loop.dist.broadcast(stop.out_of_time()):
            yield Log(f"the time budget of {cfg.max_minutes:g} min was used up before this resume "
                      f"({stop.elapsed_before / 60:.1f} min trained): give a larger max_minutes (--max-minutes) "
                      "to train longer", "warning")
            yield loop.rec.finished("time_budget", start_epoch - 1)
            return
    if cfg.cache_images:
        yield Log(f"decoding and caching {len(parts.train_ds) + len(parts.val_ds)} images at {cfg.img_size} px")
        filled = all(ds.fill_cache(loop.cancel) for ds in (parts.train_ds, parts.val_ds))
        if loop.dist.any(not filled):
            yield loop.rec.finished("cancelled", start_epoch - 1)
            return
    try:
        yield from _epochs(loop, start_epoch, progress)
    except Exception as exc:  # noqa: BLE001 - only CUDA out-of-memory becomes an event; the rest propagates
        if not _is_oom(exc):
            raise
        if parts.device.type == "cuda":
            torch.cuda.empty_cache()
        yield loop.rec.failed(str(exc).splitlines()[0] if str(exc) else "CUDA out of memory",
                              OOM_ADVICE.format(bs=cfg.batch_size, size=cfg.img_size))


def _epochs(loop: _Loop, start_epoch: int, progress: Optional[dict]):
    cfg = loop.cfg
    for epoch in range(start_epoch, cfg.epochs + 1):
        t_epoch = time.monotonic()
        resume_at = progress if progress and progress["epoch"] == epoch else None
        progress = None
        done = yield from _train_epoch(loop, epoch, resume_at)
        if done is None:   # the loss diverged: Failed was yielded
            return
        if done.stop is not None:
            position = {"epoch": epoch, "batch": done.batches, "loss_sum": done.loss_sum, "seen": done.seen,
                        "train_seconds": done.train_seconds}
            yield from _finish(loop, done.stop, epoch - 1, position)
            return
        if (yield from _end_epoch(loop, epoch, done, t_epoch)):
            return
    # resumed a run that had already completed all its epochs
    yield loop.rec.finished("completed", cfg.epochs)


@dataclass
class _EpochTraining:
    loss_sum: float
    seen: int
    batches: int                  # batches of the epoch done (earlier sessions included)
    train_seconds: float
    stop: Optional[str] = None    # "cancelled" | "time_budget": stopped inside the epoch


def _train_epoch(loop: _Loop, epoch: int, resume_at: Optional[dict]):
    """The training batches of ``epoch`` (from ``resume_at``'s position); None when the loss diverged."""
    parts, cfg = loop.parts, loop.cfg
    set_frozen(parts, epoch)
    parts.model.train()
    order = epoch_order(parts, epoch)
    start_batch, loss_sum, seen, train_s_before = 0, 0.0, 0, 0.0
    if resume_at is not None:
        start_batch = int(resume_at["batch"])
        loss_sum, seen = float(resume_at["loss_sum"]), int(resume_at["seen"])
        train_s_before = float(resume_at["train_seconds"])
        order = order[start_batch * cfg.batch_size:]
    n_batches = parts.steps_per_epoch
    batch_i, stop_reason, seen_here = start_batch, None, 0
    t_train = time.monotonic()
    batches = iter(loader(parts, parts.train_ds, order, True, epoch))
    while True:
        # poll before fetching: a cancelled run's saved RNG state is then exactly "before batch k+1"
        if loop.dist.any(loop.cancel()):
            stop_reason = "cancelled"
            break
        batch = next(batches, None)
        if batch is None:
            break
        lv, bs, _fraction = train_step(parts, batch, loop.stop.time_fraction)   # bs: all processes' images
        if not math.isfinite(lv):
            yield loop.rec.failed(f"the training loss became {lv} at epoch {epoch}, batch {batch_i + 1}",
                                  "lower the learning rate (--lr) or use another loss")
            return None
        batch_i += 1
        loss_sum += lv * bs
        seen += bs
        seen_here += bs
        yield BatchEnd(epoch=epoch, batch=batch_i, n_batches=n_batches, loss=lv,
                       images_per_s=seen_here / max(time.monotonic() - t_train, 1e-9))
        if loop.dist.any(loop.stop.out_of_time()) and batch_i < n_batches:
            stop_reason = "time_budget"
            break
    return _EpochTraining(loss_sum, seen, batch_i, train_s_before + time.monotonic() - t_train, stop_reason)


def _end_epoch(loop: _Loop, epoch: int, done: _EpochTraining, t_epoch: float):
    """Validate, record, checkpoint, yield EpochEnd and its checkpoints; True when the run stops here."""
    parts, cfg, rec = loop.parts, loop.cfg, loop.rec
    train_loss = done.loss_sum / max(done.seen, 1)
    val_loss, metrics = validate(parts)
    miou = metrics["miou"]
    improved = loop.stop.record(epoch, miou)
    if improved:
        rec.best_metrics = metrics
    lr = parts.schedule.lr
    parts.schedule.epoch_end(miou if math.isfinite(miou) else 0.0)
    seconds = time.monotonic() - t_epoch
    rec.add_epoch(epoch, train_loss, val_loss, metrics, lr, seconds)
    saved = []
    if improved:
        saved.append(rec.save("best", epoch, metrics))
    if cfg.checkpoint_every and epoch % cfg.checkpoint_every == 0:
        saved.append(rec.save("periodic", epoch, metrics))
    saved.append(rec.save("last", epoch, metrics))
    yield EpochEnd(epoch=epoch, train_loss=train_loss, val_loss=val_loss, metrics=metrics, lr=lr,
                   seconds=seconds, train_seconds=done.train_seconds, best=improved)
    yield from saved
    reason = loop.dist.broadcast(loop.stop.after_epoch(epoch, cfg.epochs))   # rank 0's clock decides
    if reason == "time_budget" and not rec.has_best:
        yield from _finish(loop, reason, epoch)
        return True
    if reason is not None:
        yield rec.finished(reason, epoch)
        return True
    if loop.dist.any(loop.cancel()):
        yield rec.finished("cancelled", epoch)
        return True
    return False


def _finish(loop: _Loop, reason: str, epoch_done: int, position: Optional[dict] = None):
    """Save last.pt (and best.pt when none exists yet), yield the checkpoint events and Finished."""
    rec = loop.rec
    if not rec.has_best and reason == "time_budget":
        _val_loss, metrics = validate(loop.parts)
        saved = rec.save("best", epoch_done, metrics)
        rec.best_metrics = metrics
        loop.stop.note_best(metrics["miou"])
        yield saved
    yield rec.save("last", epoch_done, rec.last_metrics(), position)
    yield rec.finished(reason, epoch_done)
