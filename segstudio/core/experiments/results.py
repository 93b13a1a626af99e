"""The results of an experiment folder: every run's training history and held-out scores, aggregated.

:func:`load_results` reads ``EXP/queue.json`` (the runs, their grid values and status), each run's
``metrics.csv`` (:meth:`RunFolder.history`) and ``heldout.json`` (:mod:`.evaluate`).  Then:

* :meth:`ExperimentResults.table` groups the runs by grid values (default: every axis but ``seed`` and
  ``fold``) and gives, per group and held-out metric, the mean and the sample standard deviation (ddof=1) over
  the runs that have the metric, with their count ``n``; a group of one run has no std (nan, shown blank).
* :meth:`ExperimentResults.wilcoxon` compares two runs or two groups image by image (paired two-sided Wilcoxon
  signed-rank test, :mod:`.stats`) on a per-image metric, over the held-out images both have.  A group's value
  of an image is the mean over the group's runs that scored it: its seeds (same held-out images) or, for a
  k-fold plan, the one fold whose held-out part holds the image, so a k-fold group pairs over the union of the
  folds' held-out images.  Images where either side's value is undefined (nan, e.g. an HD95) are left out.

Per-image metrics (``metric=``): ``dice`` / ``iou`` = the foreground Dice / IoU of the image (docs/metrics.md:
mean over the foreground classes present; 1.0 when there is no foreground in either mask), ``miou``, ``mdice``,
``mpa``, ``mprecision``, ``mrecall``, ``accuracy``, ``hd95`` (the image's mean foreground HD95), and per class
``iou_<class>``, ``dice_<class>``, ``hd95_<class>``.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from segstudio.core.errors import ConfigError
from segstudio.core.experiments.stats import WilcoxonResult, wilcoxon as wilcoxon_test

NOT_GROUPED = ("seed", "fold")
PRIMARY_METRIC = "dice"
#: held-out summary metrics of the results table, in column order (per-class IoU is inserted after mRecall)
SUMMARY_METRICS = (("miou", "mIoU"), ("mdice", "mDice"), ("fg_dice", "Dice (fg)"), ("mpa", "mPA"),
                   ("mprecision", "mPrecision"), ("mrecall", "mRecall"))
TAIL_METRICS = (("hd95", "HD95"), ("ap50", "AP50"), ("ap70", "AP70"), ("ap90", "AP90"))
LOWER_IS_BETTER = frozenset({"hd95"})
_IMAGE_ALIASES = {"dice": "fg_dice", "iou": "fg_iou", "hd95": "hd95_mean"}
_IMAGE_SCALARS = ("miou", "mdice", "mpa", "mprecision", "mrecall", "accuracy", "fg_iou", "fg_dice", "hd95_mean")


def _num(v) -> float:
    try:
        return math.nan if v is None else float(v)
    except (TypeError, ValueError):
        return math.nan


@dataclass
class RunResult:
    """One queue entry: ``history`` = metrics.csv rows ([] before the first epoch), ``heldout`` = heldout.json
    (None until evaluated); ``problem`` = why a file could not be read (never raised)."""

    id: str
    params: dict
    status: str
    run_dir: Path
    history: list = field(default_factory=list)
    heldout: Optional[dict] = None
    error: Optional[str] = None
    problem: Optional[str] = None

    @property
    def summary(self) -> dict:
        """The held-out summary, nan for null ({} when not evaluated)."""
        return {k: _num(v) for k, v in ((self.heldout or {}).get("summary") or {}).items()}

    @property
    def epochs(self) -> int:
        return len(self.history)

    @property
    def best_val_miou(self) -> float:
        values = [_num(r.get("miou")) for r in self.history]
        values = [v for v in values if math.isfinite(v)]
        return max(values) if values else math.nan

    def image_values(self, metric: str, class_names: Sequence[str]) -> dict:
        """Image name -> the per-image ``metric`` (see the module docstring)."""
        key = _IMAGE_ALIASES.get(metric, metric)
        out = {}
        for row in (self.heldout or {}).get("images") or []:
            if key in _IMAGE_SCALARS:
                value = _num(row.get(key))
            else:
                prefix, _, cls = key.partition("_")
                idx = list(class_names).index(cls)
                value = _num((row.get(prefix) or [None] * len(class_names))[idx])
            out[str(row.get("name"))] = value
        return out


@dataclass
class GroupRow:
    """One line of the results table: ``key`` (the group's label), its grid values, the runs in it, and per
    metric the mean, the std (ddof=1; nan for fewer than 2 values) and ``n`` (runs with a value)."""

    key: str
    params: dict
    runs: list
    mean: dict
    std: dict
    n: dict

    @property
    def n_runs(self) -> int:
        return len(self.runs)


class ExperimentResults:
    def __init__(self, exp_dir: Path, runs: list):
        self.dir = Path(exp_dir)
        self.runs: list[RunResult] = runs
        self.class_names: list = next((list(r.heldout["classes"]) for r in runs
                                       if r.heldout and r.heldout.get("classes")), [])

    @cached_property
    def name(self) -> str:
        """The plan's ``name:`` (from the folder's plan.yaml, read once), else the folder's name."""
        import yaml

        try:
            doc = yaml.safe_load((self.dir / "plan.yaml").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            doc = None
        name = doc.get("name") if isinstance(doc, dict) else None
        return str(name) if isinstance(name, (str, int, float)) and str(name).strip() else self.dir.name

    def run(self, run_id: str) -> RunResult:
        for r in self.runs:
            if r.id == run_id:
                return r
        raise ConfigError(f"no run {run_id!r}; runs: {', '.join(r.id for r in self.runs)}", self.dir)

    # ------------------------------------------------------------------------------------- metrics
    def metrics(self) -> list[tuple[str, str]]:
        """(key, column label) of the table's held-out metrics, per-class IoU of every class included."""
        per_class = [(f"iou_{c}", f"IoU {c}") for c in self.class_names]
        return list(SUMMARY_METRICS) + per_class + list(TAIL_METRICS)

    def image_metrics(self) -> list[str]:
        names = ["dice", "iou", "miou", "mdice", "mpa", "mprecision", "mrecall", "accuracy", "hd95"]
        for c in self.class_names:
            names += [f"iou_{c}", f"dice_{c}"]
        return names + [f"hd95_{c}" for c in self.class_names[1:]]

    def _check_image_metric(self, metric: str) -> None:
        known = self.image_metrics()
        if metric not in known and metric not in _IMAGE_SCALARS:
            raise ConfigError(f"unknown per-image metric {metric!r}; known: {', '.join(known)}", self.dir)

    # -------------------------------------------------------------------------------------- groups
    def axes(self) -> list[str]:
        """The grid axes, in the order the runs' params name them."""
        out = []
        for r in self.runs:
            for k in r.params:
                if k not in out:
                    out.append(k)
        return out

    def default_group_by(self) -> list[str]:
        return [a for a in self.axes() if a not in NOT_GROUPED]

    def group_key(self, run: RunResult, group_by: Sequence[str]) -> str:
        """The group's label: its values of the ``group_by`` axes that differ between runs, joined by '-'
        ("all" when none differs)."""
        varying = [a for a in group_by if len({json.dumps(r.params.get(a), sort_keys=True) for r in self.runs}) > 1]
        parts = [_label(run.params.get(a)) for a in varying]
        return "-".join(parts) if parts else "all"

    def groups(self, group_by: Optional[Sequence[str]] = None) -> dict:
        """Group label -> its runs (in queue order)."""
        group_by = self.default_group_by() if group_by is None else list(group_by)
        unknown = [a for a in group_by if a not in self.axes()]
        if unknown:
            raise ConfigError(f"unknown grid axis {unknown[0]!r}; axes: {', '.join(self.axes())}", self.dir)
        out: dict = {}
        for r in self.runs:
            out.setdefault(self.group_key(r, group_by), []).append(r)
        return out

    def table(self, group_by: Optional[Sequence[str]] = None) -> list[GroupRow]:
        """Mean ± std of every held-out metric per group (runs without held-out scores are left out of n)."""
        group_by = self.default_group_by() if group_by is None else list(group_by)
        rows = []
        for key, runs in self.groups(group_by).items():
            mean, std, n = {}, {}, {}
            for metric, _ in self.metrics():
                values = [v for v in (r.summary.get(metric, math.nan) for r in runs) if math.isfinite(v)]
                n[metric] = len(values)
                mean[metric] = float(np.mean(values)) if values else math.nan
                std[metric] = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
            rows.append(GroupRow(key, {a: runs[0].params.get(a) for a in group_by}, [r.id for r in runs],
                                 mean, std, n))
        return rows

    # ------------------------------------------------------------------------------------ wilcoxon
    def image_values(self, ref: str, metric: str = PRIMARY_METRIC, group_by=None) -> dict:
        """Image -> value of ``metric`` for a run id or a group label (a group: the mean over its runs)."""
        self._check_image_metric(metric)
        ids = {r.id for r in self.runs}
        if ref in ids:
            runs = [self.run(ref)]
        else:
            groups = self.groups(group_by)
            if ref not in groups:
                raise ConfigError(f"{ref!r} is neither a run nor a group; runs: {', '.join(sorted(ids))}; "
                                  f"groups: {', '.join(groups)}", self.dir)
            runs = groups[ref]
        scored = [r for r in runs if r.heldout]
        if not scored:
            raise ConfigError(f"{ref}: no held-out scores yet (status: {', '.join(sorted({r.status for r in runs}))})",
                              self.dir)
        collected: dict = {}
        for r in scored:
            for name, v in r.image_values(metric, self.class_names).items():
                collected.setdefault(name, []).append(v)
        return {name: (float(np.mean(v)) if all(math.isfinite(x) for x in v) else math.nan)
                for name, v in collected.items()}

    def compare(self, a: str, b: str, metric: str = PRIMARY_METRIC, group_by=None) -> dict:
        """The paired test of ``a`` against ``b`` with what a report shows: ``result`` (WilcoxonResult),
        ``n_pairs``, ``mean_a``, ``mean_b`` (over the paired images), ``a_better`` / ``b_better`` (images)."""
        va, vb = self.image_values(a, metric, group_by), self.image_values(b, metric, group_by)
        names = [n for n in va if n in vb and math.isfinite(va[n]) and math.isfinite(vb[n])]
        if not names:
            raise ConfigError(f"{a} and {b} have no held-out image in common with a {metric} for both", self.dir)
        x, y = np.array([va[n] for n in names]), np.array([vb[n] for n in names])
        res: WilcoxonResult = wilcoxon_test(x, y)
        sign = -1 if metric.split("_")[0] == "hd95" else 1
        return {"a": a, "b": b, "metric": metric, "result": res, "n_pairs": len(names),
                "mean_a": float(x.mean()), "mean_b": float(y.mean()),
                "a_better": int(np.sum(sign * (x - y) > 0)), "b_better": int(np.sum(sign * (y - x) > 0))}

    def wilcoxon(self, a: str, b: str, metric: str = PRIMARY_METRIC, group_by=None) -> tuple[float, float, int]:
        """(statistic, two-sided p-value, number of paired images) of ``a`` vs ``b`` (run ids or group labels)."""
        c = self.compare(a, b, metric, group_by)
        return c["result"].statistic, c["result"].pvalue, c["n_pairs"]

    def pairwise(self, metric: str = PRIMARY_METRIC, group_by=None) -> list[dict]:
        """:meth:`compare` for every pair of groups with held-out scores (of runs when there is one group);
        a pair that cannot be tested gets ``error`` instead of ``result``."""
        groups = self.groups(group_by)
        refs = [k for k, runs in groups.items() if any(r.heldout for r in runs)]
        if len(refs) < 2:
            refs = [r.id for r in self.runs if r.heldout]
        out = []
        for i, a in enumerate(refs):
            for b in refs[i + 1:]:
                try:
                    out.append(self.compare(a, b, metric, group_by))
                except ConfigError as exc:
                    out.append({"a": a, "b": b, "metric": metric, "error": exc.reason})
        return out


def _label(value) -> str:
    if isinstance(value, dict):
        return str(value.get("name") or ",".join(f"{k}={v}" for k, v in value.items()))
    return str(value)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read: {exc}", path) from None


def load_results(exp_dir) -> ExperimentResults:
    """Read an experiment folder (see the module docstring); raises ConfigError when it is not one."""
    from segstudio.core.training.run_folder import RunFolder

    exp = Path(exp_dir)
    doc = _read_json(exp / "queue.json")
    if not isinstance(doc, dict) or not isinstance(doc.get("entries"), list):
        raise ConfigError("not an experiment folder (no readable queue.json with entries)", exp)
    runs = []
    for i, e in enumerate(doc["entries"]):
        if not isinstance(e, dict) or not e.get("id") or not isinstance(e.get("params") or {}, dict):
            raise ConfigError(f"entry {i + 1} of the queue has no id or malformed params", exp / "queue.json")
        run_dir = exp / str(e.get("run") or f"runs/{e['id']}")
        r = RunResult(id=str(e["id"]), params=dict(e.get("params") or {}), status=str(e.get("status", "")),
                      run_dir=run_dir, error=e.get("error"))
        try:
            r.history = RunFolder(run_dir).history()
        except ConfigError as exc:
            r.problem = str(exc)
        try:
            held = _read_json(run_dir / "heldout.json")
            r.heldout = held if isinstance(held, dict) and held.get("images") is not None else None
        except ConfigError as exc:
            r.problem = str(exc)
        runs.append(r)
    return ExperimentResults(exp, runs)
