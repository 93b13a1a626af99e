"""Experiment plans: a YAML file naming one dataset, one held-out split, shared training settings and a grid over
model x loss x augmentation x seed (x fold).  docs/experiments.md documents every key.

:func:`load_plan` reads and checks the whole plan before anything trains: unknown keys, models, losses and
augmentation presets or settings (the known ones listed), a missing or malformed data folder, a dataset too
small for the split, an empty grid and two grid entries that would make the same run all raise
:class:`PlanError` (``<plan file>: <reason>``).  :meth:`ExperimentPlan.runs` expands the grid into
:class:`RunSpec` s: a readable, file-system-safe id, the grid values (``params``) and the ``segstudio train``
arguments of that run (the runner adds ``--data``, ``--out`` and ``--device``).
"""
from __future__ import annotations

import inspect
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional

import yaml

from segstudio.core.errors import SegStudioError
from segstudio.core.experiments.data import Pairs, read_pairs, split_sizes


class PlanError(SegStudioError):
    """A plan file is invalid, or an experiment folder belongs to another plan."""


TOP_KEYS = ("name", "data", "split", "train", "device", "grid")
GRID_AXES = ("model", "loss", "augment", "seed")
SPLIT_KINDS = ("holdout_every", "holdout_fraction", "folds")
#: plan-friendly names of TrainConfig fields in ``train:``
TRAIN_ALIASES = {"minutes": "max_minutes", "early_stopping": "patience"}
#: TrainConfig fields a plan may not set in ``train:``, and where they belong instead
TRAIN_RESERVED = {
    "data": "the plan's top-level data", "labels": "the data folder's classes.txt",
    "out": "the experiment folder (--out)", "resume": "the queue (it resumes interrupted runs itself)",
    "model": "grid.model", "loss": "grid.loss", "augment": "grid.augment",
    "augment_overrides": "grid.augment (a mapping of settings)", "seed": "grid.seed",
    "device": "the plan's top-level device (or --device)", "k_folds": "split: {folds: K}",
    "fold": "split: {folds: K}",
}
#: ``train.config``: how ``segstudio train`` fills the settings a plan does not give
CONFIG_MODES = ("defaults", "auto")
_SAFE = re.compile(r"[^A-Za-z0-9_.+=]+")


@dataclass(frozen=True)
class Choice:
    """One grid value of the model or augment axis: its label (in run ids and tables), name and options."""

    label: str
    name: str
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RunSpec:
    """One run of the grid: ``id`` (e.g. ``cbam_unet-dice_focal-light-s1``), ``params`` (the grid values),
    ``train_args`` (``segstudio train`` arguments without --data/--out/--device) and the fold (None: hold-out)."""

    id: str
    params: dict
    train_args: List[str]
    fold: Optional[int] = None


@dataclass
class ExperimentPlan:
    path: Path
    name: str
    data: Path
    split: dict
    train: dict                 # TrainConfig fields (aliases resolved), without ``config``
    config_mode: str
    device: str
    models: List[Choice]
    losses: List[str]
    augments: List[Choice]
    seeds: List[int]
    pairs: Pairs
    text: str = ""

    @property
    def class_names(self) -> List[str]:
        return self.pairs.class_names

    def default_dir(self) -> Path:
        """Where the experiment folder goes without --out: ``<plan folder>/<name>``."""
        return self.path.parent / self.name

    def folds(self) -> List[Optional[int]]:
        return list(range(self.split["folds"])) if "folds" in self.split else [None]

    def runs(self) -> List[RunSpec]:
        """Every run, in grid order (model, loss, augment, seed, fold)."""
        out = []
        for model, loss, aug, seed, fold in itertools.product(self.models, self.losses, self.augments, self.seeds,
                                                              self.folds()):
            params = {"model": model.label, "loss": loss, "augment": aug.label, "seed": seed}
            run_id = f"{model.label}-{_SAFE.sub('_', loss)}-{aug.label}-s{seed}"   # labels are safe already
            if fold is not None:
                params["fold"] = fold
                run_id += f"-f{fold}"
            out.append(RunSpec(run_id, params, self._train_args(model, loss, aug, seed), fold))
        return out

    def _train_args(self, model: Choice, loss: str, aug: Choice, seed: int) -> List[str]:
        args = ["--config", self.config_mode, "--model", model.name, "--loss", loss, "--augment", aug.name,
                "--seed", str(seed)]
        kwargs = {**self.train.get("model_kwargs", {}), **model.options}
        settings = {k: v for k, v in self.train.items() if k != "model_kwargs"}
        if kwargs:
            settings["model_kwargs"] = kwargs
        if aug.options:
            settings["augment_overrides"] = aug.options
        if settings.get("max_minutes") is not None:
            args += ["--max-minutes", f"{settings.pop('max_minutes'):g}"]
        for key, value in settings.items():
            args += ["--set", f"{key}={json.dumps(value)}"]     # JSON is YAML: --set reads it back exactly
        return args + ["-q"]

    def canonical(self) -> dict:
        """The plan as it decides the runs (data resolved; the device left out: a queue may resume elsewhere)."""
        return {"name": self.name, "data": str(self.data), "split": self.split,
                "train": {**self.train, "config": self.config_mode},
                "grid": {"model": [c.__dict__ for c in self.models], "loss": list(self.losses),
                         "augment": [c.__dict__ for c in self.augments], "seed": list(self.seeds)}}


def load_plan(path) -> ExperimentPlan:
    """Read and check a plan file (YAML); :class:`PlanError` ``<file>: <reason>`` for anything wrong."""
    path = Path(path).resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError("plan file not found", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"cannot read the plan: {getattr(exc, 'strerror', None) or exc}", path) from None
    try:
        doc = yaml.safe_load(text)   # never yaml.load: a tag must not construct Python objects
    except yaml.YAMLError as exc:
        raise PlanError(f"not valid YAML: {str(exc).splitlines()[0]}", path) from None
    return parse_plan(doc, path, text)


def parse_plan(doc: Any, path: Path, text: str = "") -> ExperimentPlan:
    """An :class:`ExperimentPlan` from the parsed YAML ``doc`` of the plan file ``path``."""
    path = Path(path)

    def bad(reason: str):
        raise PlanError(reason, path)

    if not isinstance(doc, dict):
        bad("a plan is a mapping with the keys " + ", ".join(TOP_KEYS))
    unknown = sorted(str(k) for k in doc if k not in TOP_KEYS)
    if unknown:
        bad(f"unknown key(s) {', '.join(unknown)}; known keys: {', '.join(TOP_KEYS)}")
    name = doc.get("name", path.stem)
    if not isinstance(name, str) or not name.strip() or _SAFE.sub("_", name) != name or name in (".", ".."):
        bad(f"name: {name!r} must be a non-empty folder name (letters, digits, _ . + = only)")
    if not isinstance(doc.get("data"), str) or not doc["data"].strip():
        bad("data: the dataset folder is missing (a path, relative to the plan file)")
    data = (path.parent / Path(doc["data"]).expanduser()).resolve()
    try:
        pairs = read_pairs(data)
    except SegStudioError as exc:
        bad(f"data: {exc}")
    split = _parse_split(doc.get("split"), bad)
    _check_split_size(split, pairs, bad)
    train, mode = _parse_train(doc.get("train", {}), path, bad)
    device = doc.get("device", "auto")
    from segstudio.core.device import DEVICES

    if device not in DEVICES:
        bad(f"device: {device!r} is not one of {', '.join(DEVICES)}")
    grid = doc.get("grid")
    if not isinstance(grid, dict) or not grid:
        bad(f"grid: missing or empty; give lists for {', '.join(GRID_AXES)}")
    unknown = sorted(str(k) for k in grid if k not in GRID_AXES)
    if unknown:
        bad(f"grid: unknown axis {', '.join(unknown)}; known: {', '.join(GRID_AXES)}")
    axes = {}
    for axis, default in (("model", ["unet"]), ("loss", ["dice_ce"]), ("augment", ["light"]), ("seed", [0])):
        values = grid.get(axis, default)
        values = values if isinstance(values, list) else [values]
        if not values:
            bad(f"grid.{axis} is empty: the grid has no runs")
        axes[axis] = values
    plan = ExperimentPlan(
        path=path, name=name, data=data, split=split, train=train, config_mode=mode, device=device,
        models=[_model_choice(v, len(pairs.class_names), bad) for v in axes["model"]],
        losses=[_loss_name(v, bad) for v in axes["loss"]],
        augments=[_augment_choice(v, bad) for v in axes["augment"]],
        seeds=[_seed(v, bad) for v in axes["seed"]], pairs=pairs, text=text)
    ids = [r.id for r in plan.runs()]
    dups = sorted({i for i in ids if ids.count(i) > 1})
    if dups:
        bad(f"grid: duplicate runs {', '.join(dups)} (the same value twice on an axis, or two mappings with the "
            "same label: give them distinct `label:`s)")
    return plan


def _parse_split(split, bad) -> dict:
    hint = "give {holdout_every: N}, {holdout_fraction: F, stratified: true, seed: S} or {folds: K, seed: S}"
    if not isinstance(split, dict):
        bad(f"split: missing; {hint}")
    kinds = [k for k in SPLIT_KINDS if k in split]
    if len(kinds) != 1:
        bad(f"split: needs exactly one of {', '.join(SPLIT_KINDS)}; {hint}")
    kind = kinds[0]
    allowed = {"holdout_every": {"holdout_every"}, "holdout_fraction": {"holdout_fraction", "stratified", "seed"},
               "folds": {"folds", "stratified", "seed"}}[kind]
    unknown = sorted(str(k) for k in split if k not in allowed)
    if unknown:
        bad(f"split: unknown key(s) {', '.join(unknown)} for {kind}; known: {', '.join(sorted(allowed))}")
    value = split[kind]
    if kind == "holdout_fraction":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            bad(f"split.holdout_fraction: must be a number between 0 and 1 (got {value!r})")
    elif isinstance(value, bool) or not isinstance(value, int) or value < 2:
        bad(f"split.{kind}: must be a whole number >= 2 (got {value!r})")
    if "seed" in split and (isinstance(split["seed"], bool) or not isinstance(split["seed"], int)):
        bad(f"split.seed: must be a whole number (got {split['seed']!r})")
    if "stratified" in split and not isinstance(split["stratified"], bool):
        bad(f"split.stratified: must be true or false (got {split['stratified']!r})")
    out = {kind: float(value) if kind == "holdout_fraction" else value}
    if kind != "holdout_every":
        out.update(stratified=split.get("stratified", True), seed=split.get("seed", 0))
    return out


def _check_split_size(split: dict, pairs: Pairs, bad) -> None:
    n = len(pairs.images)
    if "folds" in split and split["folds"] > n:
        bad(f"split: {split['folds']} folds need at least {split['folds']} images; {pairs.root} has {n}")
    held = max(split_sizes(n, split))
    if n - held < 2:
        bad(f"split: leaves {n - held} training image(s) of {n} in {pairs.root}; a run needs at least 2 (one to "
            "train on, one to validate on)")
    if min(split_sizes(n, split)) < 1:
        bad(f"split: holds out no image of the {n} in {pairs.root}")


def _parse_train(train, path: Path, bad) -> tuple:
    from segstudio.core.errors import ConfigError
    from segstudio.core.training.config import TrainConfig

    if train is None:
        train = {}
    if not isinstance(train, dict):
        bad("train: must be a mapping of `segstudio train` settings (e.g. {minutes: 2, img_size: 128})")
    out, mode = {}, "defaults"
    for key, value in train.items():
        if key == "config":
            if value not in CONFIG_MODES:
                bad(f"train.config: {value!r} is not one of {', '.join(CONFIG_MODES)}")
            mode = value
            continue
        field_name = TRAIN_ALIASES.get(key, key)
        if field_name in TRAIN_RESERVED:
            bad(f"train.{key}: set by {TRAIN_RESERVED[field_name]}, not in train:")
        if field_name in out:
            bad(f"train: {key} is given twice (as {field_name} and as its short name)")
        out[field_name] = value
    try:
        TrainConfig.from_dict({**out, "data": "-", "out": "-"})
    except ConfigError as exc:
        known = sorted(set(TRAIN_ALIASES) | {"config"} | (set(TrainConfig.__dataclass_fields__) - set(TRAIN_RESERVED)))
        reason = exc.reason
        if reason.startswith("unknown key"):
            reason = reason.split(";")[0] + f"; known: {', '.join(known)}"
        bad(f"train: {reason}")
    if "model_kwargs" in out and not isinstance(out["model_kwargs"], dict):  # pragma: no cover - from_dict checks
        bad("train.model_kwargs: must be a mapping")
    return out, mode


def _label(value, bad, axis: str) -> str:
    if not isinstance(value, str) or not value or _SAFE.sub("_", value) != value or "-" in value:
        bad(f"grid.{axis}: label {value!r} must be letters, digits, _ . + = only (no spaces or '-')")
    return value


def _model_choice(entry, num_classes: int, bad) -> Choice:
    from segstudio.core.models import MODELS

    if isinstance(entry, str):
        name, options, label = entry, {}, None
    elif isinstance(entry, dict):
        options = dict(entry)
        name, label = options.pop("name", None), options.pop("label", None)
        if not isinstance(name, str):
            bad(f"grid.model: a mapping entry needs `name:` (a model name), got {entry!r}")
    else:
        bad(f"grid.model: {entry!r} is neither a model name nor a mapping with `name:`")
    if not name.startswith("smp:") and name not in MODELS:
        bad(f"grid.model: unknown model {name!r}; known: {', '.join(MODELS.names())}")
    _check_model(name, options, num_classes, bad)
    if label is None:
        label = _SAFE.sub("_", "_".join([name] + [_short(v) for v in options.values()]))
    return Choice(_label(label, bad, "model"), name, options)


def _short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return _SAFE.sub("_", text).strip("_") or "x"


def _check_model(name: str, options: dict, num_classes: int, bad) -> None:
    """Build the model once with these options (no weights are downloaded; the CPU, a second at most)."""
    from segstudio.core.errors import ConfigError
    from segstudio.core.models import MODELS, build_model

    kwargs = dict(options)
    if not name.startswith("smp:") and "encoder_weights" not in kwargs:
        try:
            takes = "encoder_weights" in inspect.signature(MODELS.get(name)).parameters
        except (TypeError, ValueError):  # pragma: no cover
            takes = False
        if takes:
            kwargs["encoder_weights"] = None   # checking the options only: never look for weights here
    try:
        build_model(name, 3, num_classes, **kwargs)
    except (ConfigError, SegStudioError) as exc:
        bad(f"grid.model {name!r}: {getattr(exc, 'reason', exc)}")
    except (TypeError, ValueError) as exc:
        bad(f"grid.model {name!r}: bad options {sorted(options)}: {exc}")


def _loss_name(entry, bad) -> str:
    from segstudio.core.losses import LOSSES

    if not isinstance(entry, str):
        bad(f"grid.loss: {entry!r} is not a loss name; known: {', '.join(LOSSES.names())}")
    if entry not in LOSSES:
        bad(f"grid.loss: unknown loss {entry!r}; known: {', '.join(LOSSES.names())}")
    return entry


def _augment_choice(entry, bad) -> Choice:
    from segstudio.core.data.augment_config import PRESETS
    from segstudio.core.errors import ConfigError

    if isinstance(entry, str):
        if entry not in PRESETS:
            bad(f"grid.augment: unknown preset {entry!r}; known: {', '.join(PRESETS)} (or a mapping of settings)")
        return Choice(entry, entry, {})
    if not isinstance(entry, dict):
        bad(f"grid.augment: {entry!r} is neither a preset name nor a mapping of settings")
    options = dict(entry)
    preset, label = options.pop("preset", "none"), options.pop("label", None)
    if preset not in PRESETS:
        bad(f"grid.augment: unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    for k, v in options.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            bad(f"grid.augment: setting {k} must be a number (got {v!r})")
    try:
        PRESETS[preset].updated(**options)
    except ConfigError as exc:
        bad(f"grid.augment: {exc.reason}")
    if label is None:
        label = _SAFE.sub("_", preset + "".join(f"+{k}{v:g}" for k, v in sorted(options.items())))
    return Choice(_label(label, bad, "augment"), preset, {k: float(v) for k, v in options.items()})


def _seed(entry, bad) -> int:
    if isinstance(entry, bool) or not isinstance(entry, int) or entry < 0:
        bad(f"grid.seed: {entry!r} is not a whole number >= 0")
    return entry
