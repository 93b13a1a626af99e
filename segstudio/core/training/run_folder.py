"""The run folder: the one place that knows its file names, how runs are named, listed, read and resumed.

A run folder holds ``best.pt`` (best val mIoU, weights only), ``last.pt`` (resumable, after every epoch and at
a stop), ``epoch_NNN.pt`` (periodic, resumable), ``metrics.csv`` (one row per epoch), ``curves.png``,
``config.json`` + ``config.yaml`` (the settings), ``split.json`` (train/val names) and ``status.json`` (the
run's state: ``running`` while it trains, then the reason it finished, or ``failed``).

The engine writes these files through :class:`RunFolder`; ``segstudio train``, the demo and the GUI's runs
list and Resume read them through it.  Reading a summary never unpickles a checkpoint.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Optional

from segstudio.core.annotation.io import atomic_write_text
from segstudio.core.errors import CheckpointError, ConfigError
from segstudio.core.training.config import TrainConfig

#: the prefix of a run folder's name: when the run was started
STAMP = "%Y%m%d-%H%M%S"
#: the metrics.csv column of the validation mean IoU (written by :func:`report.history_row`)
MIOU = "miou"
#: ``status.json`` states besides the Finished reasons (completed, early_stop, time_budget, cancelled)
RUNNING, FAILED = "running", "failed"


@dataclass
class RunSummary:
    """What the runs list shows of one run (from its config, metrics.csv and status.json)."""

    path: Path
    date: datetime                      # when the run started
    config: dict = field(default_factory=dict)
    epochs_done: int = 0
    best_miou: Optional[float] = None
    best_epoch: Optional[int] = None
    status: str = ""                    # status.json's state ("" when the run never wrote one)
    problem: str = ""                   # "<file>: <reason>" when a file could not be read
    checkpoint: Optional[Path] = None   # best.pt, else last.pt, else None
    resumable: bool = False             # last.pt exists


@dataclass(frozen=True)
class ResumePoint:
    """Where a run continues: its config (``resume`` and ``out`` set) and the checkpoint it continues from."""

    config: TrainConfig
    checkpoint: Path


class RunFolder:
    """One training run's folder (it need not exist yet)."""

    BEST, LAST, METRICS, CURVES = "best.pt", "last.pt", "metrics.csv", "curves.png"
    CONFIG, CONFIG_YAML, SPLIT, STATUS = "config.json", "config.yaml", "split.json", "status.json"

    def __init__(self, path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    # ------------------------------------------------------------------ names
    @classmethod
    def new(cls, runs_dir, model: str, *, now: Optional[datetime] = None) -> "RunFolder":
        """A fresh, not yet existing folder ``runs_dir/YYYYmmdd-HHMMSS-<model>`` (``-2``, ``-3``... when taken)."""
        stamp = (now or datetime.now()).strftime(STAMP)
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in model)
        base = Path(runs_dir) / f"{stamp}-{safe}"
        path, n = base, 2
        while path.exists():
            path = base.with_name(f"{base.name}-{n}")
            n += 1
        return cls(path)

    @property
    def best(self) -> Path:
        return self.path / self.BEST

    @property
    def last(self) -> Path:
        return self.path / self.LAST

    def periodic(self, epoch: int) -> Path:
        return self.path / f"epoch_{epoch:03d}.pt"

    @property
    def metrics_csv(self) -> Path:
        return self.path / self.METRICS

    @property
    def curves_png(self) -> Path:
        return self.path / self.CURVES

    @property
    def config_json(self) -> Path:
        return self.path / self.CONFIG

    @property
    def config_yaml(self) -> Path:
        return self.path / self.CONFIG_YAML

    @property
    def split_json(self) -> Path:
        return self.path / self.SPLIT

    @property
    def status_json(self) -> Path:
        return self.path / self.STATUS

    def checkpoint(self) -> Optional[Path]:
        """The checkpoint to predict with: ``best.pt``, else ``last.pt``, else None."""
        return next((p for p in (self.best, self.last) if p.is_file()), None)

    def is_run(self) -> bool:
        """A folder with a config or a checkpoint of the engine."""
        return self.path.is_dir() and any(p.exists() for p in (self.config_json, self.config_yaml, self.best,
                                                                 self.last))

    # ------------------------------------------------------------------ writing (the engine)
    def create(self, config: TrainConfig, train_names, val_names, *, seed: int, **how) -> None:
        """Make the folder; write config.json/config.yaml, split.json and status.json (``running``)."""
        from segstudio.core.data import save_split

        self.path.mkdir(parents=True, exist_ok=True)
        config.to_json(self.config_json)
        config.to_yaml(self.config_yaml)
        save_split(self.split_json, train_names, val_names, seed=seed, **how)
        self.write_status(RUNNING)

    def write_history(self, rows, colors=None) -> None:
        """metrics.csv and curves.png from the per-epoch rows of :func:`report.history_row` (``colors``: class
        name -> (r, g, b); default :func:`report.class_colors` of the run's data folder: its custom colours, else
        the VOC palette by class id, as the app draws the classes)."""
        from segstudio.core.training.report import draw_curves, write_metrics_csv

        write_metrics_csv(rows, self.metrics_csv)
        if colors is None:   # the classes in the colours the app shows them in (custom ones of the project)
            from segstudio.core.training.report import class_colors

            names = [k[4:] for k in (rows[0] if rows else {}) if k.startswith("iou_")]
            try:
                data = self.read_config_dict().get("data")
            except ConfigError:
                data = None
            colors = class_colors(names, data)
        draw_curves(rows, self.curves_png, colors=colors)

    def write_status(self, state: str, **details) -> None:
        """``status.json``: ``{"state": ..., **details}`` (atomic)."""
        data = {"state": state, **{k: _json_number(v) for k, v in details.items()}}
        atomic_write_text(self.status_json, json.dumps(data, indent=2) + "\n")

    # ------------------------------------------------------------------ reading
    def started(self) -> datetime:
        """When the run started: its folder-name stamp, else the config file's time, else the folder's.

        Not the folder's modification time when there is a better source: every checkpoint the engine writes
        changes that, so a long run would look newer than one started after it."""
        try:
            return datetime.strptime(self.path.name[:len("20260101-120000")], STAMP)
        except ValueError:
            pass
        for p in (self.config_json, self.config_yaml):
            try:
                return datetime.fromtimestamp(p.stat().st_mtime)
            except OSError:
                continue
        return datetime.fromtimestamp(self.path.stat().st_mtime)

    def read_config(self) -> TrainConfig:
        """The run's settings (config.json, else config.yaml); ConfigError when missing or invalid."""
        for p in (self.config_json, self.config_yaml):
            if p.is_file():
                return TrainConfig.from_file(p)
        raise ConfigError("no config.json or config.yaml in the run folder", self.path)

    def read_config_dict(self) -> dict:
        """The settings as written, without validation (a list shows even an outdated config)."""
        p = self.config_json if self.config_json.is_file() else self.config_yaml
        if not p.is_file():
            return {}
        try:
            text = p.read_text(encoding="utf-8")
            if p.suffix == ".json":
                data = json.loads(text)
            else:
                import yaml

                try:
                    data = yaml.safe_load(text) or {}
                except yaml.YAMLError as exc:
                    raise ValueError(str(exc).splitlines()[0]) from None
        except (OSError, ValueError) as exc:
            raise ConfigError(str(exc), p) from None
        if not isinstance(data, dict):
            raise ConfigError("not a mapping of settings", p)
        return data

    def history(self) -> list[dict]:
        """metrics.csv as rows of floats (``epoch`` an int; empty cells left out); [] when absent."""
        p = self.metrics_csv
        if not p.is_file():
            return []
        try:
            with open(p, newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
        except (OSError, csv.Error, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the metrics: {exc}", p) from None
        out = []
        for row in rows:
            values = {}
            for key, text in row.items():
                if key is None or text in (None, ""):
                    continue
                try:
                    values[key] = float(text)
                except ValueError:
                    continue
            if "epoch" in values:
                values["epoch"] = int(values["epoch"])
            out.append(values)
        return out

    def best_metric(self, history: Optional[list] = None) -> tuple[Optional[float], Optional[int]]:
        """``(best val mIoU, its epoch)`` from metrics.csv (``(None, None)`` before the first epoch)."""
        best, epoch = None, None
        for row in self.history() if history is None else history:
            v = row.get(MIOU)
            if v is not None and math.isfinite(v) and (best is None or v > best):
                best, epoch = v, row.get("epoch")
        return best, epoch

    def status(self) -> dict:
        """status.json (``{}`` when absent or unreadable)."""
        try:
            data = json.loads(self.status_json.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def summary(self) -> RunSummary:
        """What the runs list shows; problems (unreadable files) go to ``problem``, never raised."""
        info = RunSummary(path=self.path, date=self.started(), checkpoint=self.checkpoint(),
                          resumable=self.last.is_file(), status=str(self.status().get("state", "")))
        try:
            info.config = self.read_config_dict()
        except ConfigError as exc:
            info.problem = str(exc)
        try:
            history = self.history()
        except ConfigError as exc:
            info.problem, history = str(exc), []
        info.epochs_done = len(history)
        info.best_miou, info.best_epoch = self.best_metric(history)
        return info

    # ------------------------------------------------------------------ resuming
    def resume(self, checkpoint=None) -> ResumePoint:
        """Continue this run from ``checkpoint`` (default its ``last.pt``) with the settings saved in it.

        Raises CheckpointError when there is no such file or it holds weights only (``best.pt``)."""
        from segstudio.core.checkpoint import is_resumable, load_checkpoint

        ckpt_path = Path(checkpoint) if checkpoint is not None else self.last
        if checkpoint is None and not ckpt_path.is_file():
            raise CheckpointError("no last.pt to resume from (the run never finished an epoch)", ckpt_path)
        ckpt = load_checkpoint(ckpt_path, mmap=True)   # the settings only: tensors stay on disk
        if not is_resumable(ckpt):
            raise CheckpointError(f"cannot resume from this checkpoint: it holds weights only (use {self.LAST} "
                                  "or a periodic epoch_NNN.pt)", ckpt_path)
        config = TrainConfig.from_dict(ckpt["config"], ckpt_path)
        config = config.replace(out=str(self.path), resume=str(ckpt_path)).validate(ckpt_path)
        return ResumePoint(config, ckpt_path)


def resume_point(path) -> ResumePoint:
    """:meth:`RunFolder.resume` for a run folder (from its last.pt) or a checkpoint file (from that file)."""
    path = Path(path)
    if path.is_dir():
        return RunFolder(path).resume()
    return RunFolder(path.parent).resume(path)


def list_runs(runs_dir) -> list[RunSummary]:
    """The runs under ``runs_dir`` (folders with a config or a checkpoint), newest start first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    runs = [RunFolder(p).summary() for p in runs_dir.iterdir() if RunFolder(p).is_run()]
    runs.sort(key=lambda r: (r.date, r.path.name), reverse=True)
    return runs


def default_runs_dir(data) -> Path:
    """Where ``segstudio train`` puts a run when no ``--out`` is given: the project's runs folder when ``data``
    is a project the app opens (labelme JSON at its root), else ``./runs``."""
    data = Path(data)
    if data.is_dir() and any(p.suffix.lower() == ".json" for p in data.iterdir() if p.is_file()):
        from segstudio.core.project import Project

        return Project(data).runs_dir
    return Path("runs")


def _json_number(v):
    return None if isinstance(v, float) and not math.isfinite(v) else v
