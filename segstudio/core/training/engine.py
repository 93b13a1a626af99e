"""The training loop as a generator of typed events (see :mod:`segstudio.core.training.events`).

``train(config, cancel=None)`` opens the data, builds model/loss/optimizer/schedule, then yields
``Started``, a ``BatchEnd`` per optimizer step, per epoch an ``EpochEnd`` and ``CheckpointSaved`` events,
and ends with exactly one ``Finished`` (or ``Failed`` for CUDA out-of-memory / a diverging loss).
Configuration and data problems raise :class:`SegStudioError` subclasses before ``Started``.

The generator keeps no module-level state; the GUI runs it in a worker thread.  It seeds the global
python/numpy/torch RNGs from ``config.seed`` (models with dropout use torch's), and while it runs it turns
``torch.use_deterministic_algorithms`` on (by default on the CPU only; restored afterwards).
``torch.set_num_threads`` is left to the caller unless ``config.threads`` is set (restored afterwards); the
count used is recorded in config.json and the checkpoints.  Checkpoints are written *before* the event that announces them, so a consumer that stops iterating
after any event finds consistent files on disk.
"""
from __future__ import annotations

import math
import random
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, Optional, Union

import numpy as np
import torch
from torch.utils.data import DataLoader

from segstudio.core.errors import CheckpointError, ConfigError
from segstudio.core.training import checkpoints as ck
from segstudio.core.training.config import TrainConfig, effective_model_kwargs
from segstudio.core.training.events import (BatchEnd, CheckpointSaved, EpochEnd, Failed, Finished, Log,
                                            Started)
from segstudio.core.training.report import draw_curves, history_row, write_metrics_csv
from segstudio.core.training.schedule import LRSchedule, build_optimizer

CancelArg = Union[Callable[[], bool], threading.Event, None]
OOM_ADVICE = ("CUDA ran out of memory: lower the batch size (now {bs}) or the image size (now {size}), "
              "or train on the CPU with --device cpu")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device: CUDA was requested but no CUDA GPU is available (use --device cpu or auto)")
    return torch.device(name)


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
    run = _Run(cfg, _cancel_fn(cancel))
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    prev_threads = torch.get_num_threads()
    try:
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        if use_deterministic(cfg.deterministic, resolve_device(cfg.device)):
            torch.use_deterministic_algorithms(True, warn_only=True)
        yield from run.events()
    finally:
        torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)
        if cfg.threads:
            torch.set_num_threads(prev_threads)


def use_deterministic(setting: Optional[bool], device: torch.device) -> bool:
    """Whether a run turns on ``torch.use_deterministic_algorithms(True, warn_only=True)``.

    ``None`` (the default): on the CPU only.  On CUDA it would force deterministic cuDNN convolutions (slower)
    and warn on every op without a deterministic CUDA kernel (``bincount``, ``nll_loss2d``, bilinear
    up-sampling's backward), for results that still are not bit-exact; ``True`` asks for it anyway.
    """
    if setting is None:
        return device.type == "cpu"
    return bool(setting)


class _Run:
    def __init__(self, cfg: TrainConfig, cancel: Callable[[], bool]):
        self.cfg = cfg
        self.cancel = cancel
        self.run_dir = Path(cfg.out)
        self.t0 = time.monotonic()
        self.elapsed_before = 0.0    # seconds of the run spent in earlier sessions (resume)
        self.budget_s = cfg.max_minutes * 60.0 if cfg.max_minutes else None
        self.history: list[dict] = []
        self.early = {"best_miou": -math.inf, "best_epoch": 0, "bad_epochs": 0}
        self.start_epoch = 1
        self.progress: Optional[dict] = None   # mid-epoch resume point
        self.best_metrics: dict = {}

    # ------------------------------------------------------------------ setup
    def setup(self):
        from segstudio.core.losses import build_loss
        from segstudio.core.models import build_model
        from segstudio.core.training.data_setup import build_datasets, training_scale

        cfg = self.cfg
        resume = ck.load_checkpoint(cfg.resume) if cfg.resume else None
        if resume is not None and not ck.is_resumable(resume):
            raise CheckpointError("cannot resume from this checkpoint: it holds weights only (use last.pt or "
                                  "a periodic epoch_NNN.pt)", cfg.resume)
        self.device = resolve_device(cfg.device)
        cuda = self.device.type == "cuda"
        random.seed(cfg.seed)
        np.random.seed(cfg.seed % 2**32)
        torch.manual_seed(cfg.seed)
        (self.base, self.train_ds, self.val_ds, self.class_names, self.in_channels,
         self.split) = build_datasets(cfg)
        self.num_classes = len(self.class_names)
        self.train_scale = training_scale(self.train_ds)
        if resume is not None:
            names = list(resume["class_names"])
            if names != self.class_names:
                raise CheckpointError(f"the checkpoint's classes {names} differ from the dataset's "
                                      f"{self.class_names}", cfg.resume)
        self.model_kwargs = effective_model_kwargs(cfg.model, cfg.model_kwargs)
        self.model = build_model(cfg.model, in_channels=self.in_channels, num_classes=self.num_classes,
                                 **self.model_kwargs)
        self.threads = torch.get_num_threads()
        self.channels_last = cuda and cfg.channels_last
        self.model.to(self.device)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.loss_fn = build_loss(cfg.loss, self.num_classes, ignore_index=-1,
                                  class_weights=cfg.class_weights).to(self.device)
        self.encoder_params = list(self.model.encoder_parameters()) if hasattr(self.model, "encoder_parameters") else []
        self.log_msgs = []
        if cfg.freeze_epochs and not self.encoder_params:
            self.log_msgs.append(f"model {cfg.model!r} has no separate encoder: freeze_epochs={cfg.freeze_epochs} "
                                 "has no effect")
        weights_warning = getattr(self.model, "encoder_weights_warning", None)
        if weights_warning and resume is None:  # resuming overwrites the encoder with the checkpoint's weights
            self.log_msgs.append(weights_warning)
        self.optimizer = build_optimizer(self.model.parameters(), cfg)
        n_train = len(self.train_ds)
        self.drop_last = n_train > cfg.batch_size
        self.steps_per_epoch = n_train // cfg.batch_size if self.drop_last else 1
        self.schedule = LRSchedule(self.optimizer, cfg, self.steps_per_epoch)
        # AMP on CUDA only
        self.amp_dtype = None
        if cuda and cfg.amp != "off":
            if cfg.amp == "bf16" or (cfg.amp == "auto" and torch.cuda.is_bf16_supported()):
                self.amp_dtype = torch.bfloat16
            else:
                self.amp_dtype = torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        if resume is not None:
            self._restore(resume)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        saved = self.saved_config()
        saved.to_json(self.run_dir / "config.json")
        saved.to_yaml(self.run_dir / "config.yaml")
        from segstudio.core.data import save_split

        how = ({"k_folds": cfg.k_folds, "fold": cfg.fold} if cfg.k_folds else {"val_fraction": cfg.val_fraction})
        save_split(self.run_dir / "split.json", self.split[0], self.split[1], seed=cfg.seed, **how)

    def saved_config(self) -> TrainConfig:
        """The config as written to config.json and the checkpoints: ``threads`` = the count actually used."""
        return self.cfg.replace(threads=self.threads)

    def _restore(self, ckpt: dict) -> None:
        try:
            self.model.load_state_dict(ckpt["state_dict"])
            self.optimizer.load_state_dict(ckpt["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise CheckpointError(f"checkpoint does not fit model {self.cfg.model!r} with these settings "
                                  f"({str(exc).splitlines()[0]})", self.cfg.resume) from None
        self.schedule.load_state_dict(ckpt["scheduler"])
        if ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        ck.set_rng_state(ckpt["rng"])
        aug = ckpt["rng"].get("augment")
        if aug is not None and getattr(self.train_ds.transform, "generator", None) is not None:
            self.train_ds.transform.generator.set_state(aug)
        self.early = dict(ckpt["early_stop"])
        self.history = [dict(r) for r in ckpt.get("history", [])]
        self.progress = dict(ckpt["progress"]) if ckpt.get("progress") else None
        self.start_epoch = self.progress["epoch"] if self.progress else int(ckpt["epoch"]) + 1
        self.best_metrics = dict(ckpt.get("best_metrics", {}))
        if "elapsed_s" in ckpt:
            self.elapsed_before = float(ckpt["elapsed_s"])
        else:  # checkpoints before elapsed_s: the time-aware cosine's progress times the old budget
            old_minutes = (ckpt.get("config") or {}).get("max_minutes")
            if old_minutes:
                self.elapsed_before = float(ckpt["scheduler"].get("time_fraction", 0.0)) * old_minutes * 60.0
        if self.budget_s is not None and self.schedule.kind == "cosine":
            # a changed budget: the cosine follows the run's total time over the new budget
            self.schedule.time_fraction = self.elapsed() / self.budget_s
            self.schedule.apply()

    # ------------------------------------------------------------------ checkpoints
    def _payload(self, epoch: int, metrics: dict, resume_state: bool, progress: Optional[dict] = None) -> dict:
        sd = {k: v.detach().to("cpu").contiguous() for k, v in self.model.state_dict().items()}
        model_kwargs = dict(self.model_kwargs)
        p = {"format": ck.FORMAT, "format_version": ck.FORMAT_VERSION,
             "model": {"name": self.cfg.model, "in_channels": self.in_channels, "num_classes": self.num_classes,
                       "kwargs": model_kwargs},
             "state_dict": sd, "class_names": list(self.class_names), "img_size": self.cfg.img_size,
             "resize_mode": self.cfg.resize_mode, "train_scale": list(self.train_scale),
             "epoch": epoch, "metrics": _plain(metrics),
             "config": self.saved_config().to_dict()}
        if resume_state:
            rng = ck.rng_state()
            gen = getattr(self.train_ds.transform, "generator", None)
            rng["augment"] = gen.get_state() if gen is not None else None
            p.update({"optimizer": self.optimizer.state_dict(), "scheduler": self.schedule.state_dict(),
                      "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else {},
                      "rng": rng, "early_stop": dict(self.early), "history": _plain(self.history),
                      "progress": progress, "best_metrics": _plain(self.best_metrics),
                      "elapsed_s": self.elapsed()})
        return p

    def _save(self, name: str, epoch: int, metrics: dict, resume_state: bool, progress=None) -> Path:
        return ck.save_checkpoint(self._payload(epoch, metrics, resume_state, progress), self.run_dir / name)

    # ------------------------------------------------------------------ loops
    def elapsed(self) -> float:
        """Seconds this run has been training, earlier sessions (before a resume) included."""
        return self.elapsed_before + time.monotonic() - self.t0

    def _out_of_time(self) -> bool:
        return self.budget_s is not None and self.elapsed() > self.budget_s

    def _set_frozen(self, epoch: int) -> None:
        frozen = epoch <= self.cfg.freeze_epochs
        for p in self.encoder_params:
            p.requires_grad_(not frozen)

    def _loader(self, ds, order, train: bool, epoch: int = 0) -> DataLoader:
        # own generator: creating the iterator draws worker base seeds from it, not from the global RNG
        gen = torch.Generator().manual_seed(self.cfg.seed * 1009 + epoch)
        return DataLoader(ds, batch_size=self.cfg.batch_size, sampler=order,
                          drop_last=self.drop_last if train else False,
                          num_workers=self.cfg.num_workers, pin_memory=self.device.type == "cuda",
                          generator=gen)

    def _to_device(self, batch):
        x = batch["image"].to(self.device, non_blocking=True)
        y = batch["mask"].to(self.device, non_blocking=True)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y

    def _autocast(self):
        if self.amp_dtype is None:
            return torch.autocast(self.device.type, enabled=False)
        return torch.autocast("cuda", dtype=self.amp_dtype)

    def validate(self):
        from segstudio.core.metrics import ConfusionMatrix
        from segstudio.core.models.base import final_output

        self.model.eval()
        cm = ConfusionMatrix(self.num_classes, ignore_index=-1)
        loss_sum = torch.zeros((), device=self.device, dtype=torch.float64)
        n = 0
        with torch.no_grad():
            for batch in self._loader(self.val_ds, list(range(len(self.val_ds))), False):
                x, y = self._to_device(batch)
                with self._autocast():
                    out = final_output(self.model(x))
                    loss = self.loss_fn(out.float(), y)
                loss_sum += loss.double() * x.shape[0]
                n += x.shape[0]
                cm.update(out.argmax(1), y)
        return float(loss_sum) / max(n, 1), summarize(cm.compute(), self.class_names)

    def events(self):
        cfg = self.cfg
        self.setup()
        yield Started(config=cfg, n_train=len(self.train_ds), n_val=len(self.val_ds), device=str(self.device),
                      class_names=tuple(self.class_names), start_epoch=self.start_epoch, run_dir=str(self.run_dir),
                      threads=self.threads)
        for msg in self.log_msgs:
            yield Log(msg, "warning")
        if cfg.resume:
            yield Log(f"resumed from {cfg.resume} at epoch {self.start_epoch}"
                      + (f", batch {self.progress['batch'] + 1}" if self.progress else "")
                      + (f", {self.elapsed_before / 60:.1f} of {cfg.max_minutes:g} min used" if self.budget_s else ""))
            if self._out_of_time():
                yield Log(f"the time budget of {cfg.max_minutes:g} min was used up before this resume "
                          f"({self.elapsed_before / 60:.1f} min trained): give a larger max_minutes (--max-minutes) "
                          "to train longer", "warning")
                yield self._finished("time_budget", self.start_epoch - 1)
                return
        if cfg.cache_images:
            yield Log(f"decoding and caching {len(self.train_ds) + len(self.val_ds)} images at {cfg.img_size} px")
            for ds in (self.train_ds, self.val_ds):
                if not ds.fill_cache(self.cancel):
                    yield self._finished("cancelled", self.start_epoch - 1)
                    return
        try:
            yield from self._epochs()
        except Exception as exc:  # noqa: BLE001 - only OOM is turned into an event; the rest propagates
            if not _is_oom(exc):
                raise
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            yield Failed(message=str(exc).splitlines()[0] if str(exc) else "CUDA out of memory",
                         advice=OOM_ADVICE.format(bs=cfg.batch_size, size=cfg.img_size), run_dir=str(self.run_dir))

    def _finish(self, reason: str, epoch_done: int, progress=None):
        """Save last.pt (and best.pt when none exists yet), yield the checkpoint events and Finished."""
        if not (self.run_dir / "best.pt").exists() and reason == "time_budget":
            val_loss, metrics = self.validate()
            path = self._save("best.pt", epoch_done, metrics, False)
            self.best_metrics = metrics
            self.early["best_miou"] = max(self.early["best_miou"], metrics["miou"])
            yield CheckpointSaved(str(path), "best", epoch_done)
        path = self._save("last.pt", epoch_done, self.history[-1]["metrics"] if self.history else {}, True, progress)
        yield CheckpointSaved(str(path), "last", epoch_done)
        yield self._finished(reason, epoch_done)

    def _epochs(self):
        cfg = self.cfg
        n_train = len(self.train_ds)
        for epoch in range(self.start_epoch, cfg.epochs + 1):
            t_epoch = time.monotonic()
            self._set_frozen(epoch)
            self.model.train()
            order = torch.randperm(n_train, generator=torch.Generator().manual_seed(cfg.seed * 100003 + epoch)).tolist()
            start_batch, loss_sum, seen, train_s_before = 0, 0.0, 0, 0.0
            if self.progress and self.progress["epoch"] == epoch:
                start_batch = int(self.progress["batch"])
                loss_sum, seen = float(self.progress["loss_sum"]), int(self.progress["seen"])
                train_s_before = float(self.progress["train_seconds"])
                order = order[start_batch * cfg.batch_size:]
            self.progress = None
            n_batches = self.steps_per_epoch
            batch_i = start_batch
            stop_reason = None
            t_train = time.monotonic()
            seen_here = 0
            batches = iter(self._loader(self.train_ds, order, True, epoch))
            while True:
                # poll before fetching: a cancelled run's saved RNG state is then exactly "before batch k+1"
                if self.cancel():
                    stop_reason = "cancelled"
                    break
                batch = next(batches, None)
                if batch is None:
                    break
                x, y = self._to_device(batch)
                with self._autocast():
                    out = self.model(x)
                    loss = self.loss_fn(out, y)
                self.optimizer.zero_grad(set_to_none=True)
                self.scaler.scale(loss).backward()
                if cfg.grad_clip:
                    self.scaler.unscale_(self.optimizer)
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                self.scaler.step(self.optimizer)
                self.scaler.update()
                if self.budget_s is not None:
                    self.schedule.time_fraction = self.elapsed() / self.budget_s
                self.schedule.step()
                lv = loss.item()
                if not math.isfinite(lv):
                    yield Failed(message=f"the training loss became {lv} at epoch {epoch}, batch {batch_i + 1}",
                                 advice="lower the learning rate (--lr) or use another loss", run_dir=str(self.run_dir))
                    return
                bs = x.shape[0]
                batch_i += 1
                loss_sum += lv * bs
                seen += bs
                seen_here += bs
                yield BatchEnd(epoch=epoch, batch=batch_i, n_batches=n_batches, loss=lv,
                               images_per_s=seen_here / max(time.monotonic() - t_train, 1e-9))
                if self._out_of_time() and batch_i < n_batches:
                    stop_reason = "time_budget"
                    break
            if stop_reason is not None:
                progress = {"epoch": epoch, "batch": batch_i, "loss_sum": loss_sum, "seen": seen,
                            "train_seconds": train_s_before + time.monotonic() - t_train}
                yield from self._finish(stop_reason, epoch - 1, progress)
                return
            train_seconds = train_s_before + time.monotonic() - t_train
            train_loss = loss_sum / max(seen, 1)
            val_loss, metrics = self.validate()
            miou = metrics["miou"]
            improved = miou > self.early["best_miou"] + 1e-6
            if improved:
                self.early.update(best_miou=miou, best_epoch=epoch, bad_epochs=0)
                self.best_metrics = metrics
            else:
                self.early["bad_epochs"] += 1
            lr = self.schedule.lr
            self.schedule.epoch_end(miou if math.isfinite(miou) else 0.0)
            seconds = time.monotonic() - t_epoch
            row = history_row(epoch, train_loss, val_loss, metrics, lr, seconds)
            self.history.append({"row": row, "metrics": metrics})
            rows = [h["row"] for h in self.history]
            write_metrics_csv(rows, self.run_dir / "metrics.csv")
            draw_curves(rows, self.run_dir / "curves.png")
            saved = []
            if improved:
                saved.append(CheckpointSaved(str(self._save("best.pt", epoch, metrics, False)), "best", epoch))
            if cfg.checkpoint_every and epoch % cfg.checkpoint_every == 0:
                saved.append(CheckpointSaved(str(self._save(f"epoch_{epoch:03d}.pt", epoch, metrics, True)),
                                             "periodic", epoch))
            saved.append(CheckpointSaved(str(self._save("last.pt", epoch, metrics, True)), "last", epoch))
            yield EpochEnd(epoch=epoch, train_loss=train_loss, val_loss=val_loss, metrics=metrics, lr=lr,
                           seconds=seconds, train_seconds=train_seconds, best=improved)
            yield from saved
            stop = None
            if cfg.patience and self.early["bad_epochs"] >= cfg.patience:
                stop = "early_stop"
            elif self._out_of_time():
                stop = "time_budget"
            elif epoch == cfg.epochs:
                stop = "completed"
            if stop is not None:
                if stop == "time_budget" and not (self.run_dir / "best.pt").exists():
                    yield from self._finish(stop, epoch)
                    return
                yield self._finished(stop, epoch)
                return
            if self.cancel():
                yield self._finished("cancelled", epoch)
                return
        # resumed a run that had already completed all its epochs
        yield self._finished("completed", cfg.epochs)

    def _finished(self, reason: str, epochs_done: int) -> Finished:
        best = self.early["best_miou"]
        return Finished(best_miou=best if math.isfinite(best) else float("nan"), run_dir=str(self.run_dir),
                        reason=reason, epochs_done=epochs_done, best_epoch=self.early["best_epoch"])


def summarize(cm_result: dict, class_names) -> dict:
    """ConfusionMatrix.compute() -> {"miou", "mdice", "pixel_acc", "iou": {class: v}, "dice": {class: v}}."""
    iou = cm_result.get("iou")
    dice = cm_result.get("dice")
    out = {"miou": float(cm_result.get("miou", math.nan)),
           "mdice": float(cm_result.get("mdice", cm_result.get("mean_dice", math.nan))),
           "pixel_acc": float(cm_result.get("pixel_acc", cm_result.get("accuracy", math.nan)))}
    out["iou"] = _per_class(iou, class_names)
    out["dice"] = _per_class(dice, class_names)
    return out


def _per_class(values, class_names) -> dict:
    if values is None:
        return {}
    if isinstance(values, dict):
        return {str(k): float(v) for k, v in values.items()}
    vals = values.tolist() if hasattr(values, "tolist") else list(values)
    return {str(n): float(v) for n, v in zip(class_names, vals)}


def _plain(obj):
    """Numbers/strings/lists/dicts only (weights_only-loadable; numpy scalars become floats)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (bool, int, str)) or obj is None:
        return obj
    if isinstance(obj, float):
        return obj
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)
