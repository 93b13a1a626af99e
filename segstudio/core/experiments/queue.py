"""The experiment queue: the runs of a plan, trained one after another, each ``segstudio train`` in a subprocess.

The experiment folder (docs/experiments.md, "Folder layout") holds ``queue.json`` (written atomically after every
change), ``plan.yaml`` (the plan as it was run), ``split.json``, ``data/`` (each run's training folder of links:
the held-out images are not in it), ``runs/<id>/`` (ordinary run folders) and ``logs/<id>.out|.err`` (each
run's output).

* A run is a subprocess (:func:`train_command`), so a crash marks that run ``failed`` (with the
  last lines it wrote to stderr) and the queue goes on with the next one.
* While it trains, its ``metrics.csv`` is read to report :class:`RunProgress`; once it finishes, best.pt is
  scored on the held-out images (:func:`segstudio.core.experiments.evaluate.evaluate_run`, ``heldout.json``).
* ``cancel`` stops the subprocess cleanly (SIGINT: it saves ``last.pt`` after the current batch); the entry goes
  back to ``pending`` with its partial run kept, and the next :meth:`ExperimentQueue.run` continues it from its
  checkpoint (``segstudio train --resume``).  An entry found ``running`` while no process holds the queue (the
  machine restarted, the runner was killed) is continued the same way.
* ``queue.lock`` holds the pid of the process running the queue: a second runner is refused while it lives.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, List, Optional

import yaml

from segstudio.core.annotation.io import atomic_write_text
from segstudio.core.errors import Cancelled, SegStudioError
from segstudio.core.experiments import data as expdata
from segstudio.core.experiments.plan import ExperimentPlan, PlanError
from segstudio.core.experiments.process import QueueBusy  # noqa: F401 - raised by run(); importable from here
from segstudio.core.experiments.process import POLL_S, QueueLock, interrupt, own_group, stop_orphan, train_command

QUEUE_FORMAT = "segstudio-experiment-queue"
PENDING, RUNNING, DONE, FAILED, CANCELLED = "pending", "running", "done", "failed", "cancelled"
STATUSES = (PENDING, RUNNING, DONE, FAILED, CANCELLED)
#: status.json states of a run that trained to its end (engine Finished reasons besides "cancelled")
TRAINED = ("completed", "early_stop", "time_budget")
ERROR_LINES = 6     # stderr lines kept in a failed entry's error


@dataclass
class QueueEntry:
    id: str
    params: dict
    status: str
    run_dir: Path
    error: Optional[str] = None
    started: Optional[str] = None
    finished: Optional[str] = None
    fold: Optional[int] = None
    args: List[str] = field(default_factory=list)
    pid: Optional[int] = None

    def to_dict(self, root: Path) -> dict:
        return {"id": self.id, "params": self.params, "status": self.status,
                "run": self.run_dir.relative_to(root).as_posix(), "error": self.error, "started": self.started,
                "finished": self.finished, "fold": self.fold, "args": self.args, "pid": self.pid}

    @classmethod
    def from_dict(cls, d: dict, root: Path) -> "QueueEntry":
        return cls(id=str(d["id"]), params=dict(d.get("params") or {}), status=str(d.get("status", PENDING)),
                   run_dir=root / str(d.get("run") or f"runs/{d['id']}"), error=d.get("error"),
                   started=d.get("started"), finished=d.get("finished"), fold=d.get("fold"),
                   args=[str(a) for a in d.get("args") or []], pid=d.get("pid"))


# ---------------------------------------------------------------------------------------------------- events
@dataclass
class RunStarted:
    id: str
    index: int      # 0-based position among the runs this call works through
    total: int


@dataclass
class RunProgress:
    id: str
    epoch: int
    epochs: int
    metrics: dict   # the metrics.csv row of that epoch


@dataclass
class RunEvaluating:
    id: str
    n_images: int   # held-out images best.pt is being scored on


@dataclass
class RunFinished:
    id: str
    status: str     # done | failed | cancelled (the entry itself goes back to pending when cancelled)
    error: Optional[str]


@dataclass
class QueueFinished:
    done: int       # entries done, failed, and left unfinished by a cancel (0 when not cancelled)
    failed: int
    cancelled: int


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


class ExperimentQueue:
    QUEUE, PLAN, SPLIT, LOCK = "queue.json", "plan.yaml", "split.json", "queue.lock"

    def __init__(self, exp_dir: Path, doc: dict):
        self.dir = Path(exp_dir)
        self.doc = doc
        self.entries: List[QueueEntry] = [QueueEntry.from_dict(e, self.dir) for e in doc["entries"]]

    # ------------------------------------------------------------------------------------------ making, opening
    @classmethod
    def create(cls, plan: ExperimentPlan, exp_dir) -> "ExperimentQueue":
        """The queue of ``plan`` in ``exp_dir``: a new one, or the one already there when it was made by the same
        plan.  A different plan's folder is refused (:class:`PlanError` saying what changed), as is a folder that
        holds other files."""
        exp_dir = Path(exp_dir)
        if (exp_dir / cls.QUEUE).is_file():
            queue = cls.open(exp_dir)
            changes = _differences(queue.doc.get("plan", {}), plan.canonical())
            if changes:
                raise PlanError(f"this experiment folder was made by another version of the plan ({'; '.join(changes)}"
                                f"); run the changed plan into a new folder (--out) or delete {exp_dir}", plan.path)
            return queue
        if exp_dir.exists() and any(exp_dir.iterdir()):
            raise PlanError("not an experiment folder (no queue.json) and not empty: choose another --out", exp_dir)
        made = not exp_dir.exists()
        exp_dir.mkdir(parents=True, exist_ok=True)
        try:
            pairs = expdata.materialize(plan.pairs, exp_dir / "data" / "source")   # labelme: rasterized once
            split = expdata.make_split(pairs, plan.split)
        except BaseException:   # e.g. an unreadable mask: leave no half-made folder that a retry would refuse
            shutil.rmtree(exp_dir if made else exp_dir / "data", ignore_errors=True)
            raise
        atomic_write_text(exp_dir / cls.SPLIT, json.dumps(split, indent=1) + "\n")
        atomic_write_text(exp_dir / cls.PLAN, plan.text or yaml.safe_dump(plan.canonical(), sort_keys=False))
        entries = [QueueEntry(r.id, r.params, PENDING, exp_dir / "runs" / r.id, fold=r.fold, args=r.train_args)
                   for r in plan.runs()]
        doc = {"format": QUEUE_FORMAT, "version": 1, "plan": plan.canonical(), "plan_file": str(plan.path),
               "name": plan.name, "data": str(plan.data), "source": str(pairs.root), "device": plan.device,
               "class_names": plan.class_names, "entries": []}
        queue = cls(exp_dir, doc)
        queue.entries = entries
        queue.save()
        return queue

    @classmethod
    def open(cls, exp_dir) -> "ExperimentQueue":
        exp_dir = Path(exp_dir)
        path = exp_dir / cls.QUEUE
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SegStudioError("not an experiment folder (no queue.json)", exp_dir) from None
        except (OSError, ValueError) as exc:
            raise SegStudioError(f"unreadable queue ({exc})", path) from None
        if not isinstance(doc, dict) or doc.get("format") != QUEUE_FORMAT or not isinstance(doc.get("entries"), list):
            raise SegStudioError("not an experiment queue", path)
        return cls(exp_dir, doc)

    def reload(self) -> None:
        """Read queue.json again (another process may be running the queue)."""
        fresh = self.open(self.dir)
        self.doc, self.entries = fresh.doc, fresh.entries

    def save(self) -> None:
        self.doc["entries"] = [e.to_dict(self.dir) for e in self.entries]
        atomic_write_text(self.dir / self.QUEUE, json.dumps(self.doc, indent=1) + "\n")

    @property
    def split(self) -> dict:
        return json.loads((self.dir / self.SPLIT).read_text(encoding="utf-8"))

    @property
    def device(self) -> str:
        return str(self.doc.get("device", "auto"))

    def unfinished(self, retry_failed: bool = False) -> List[QueueEntry]:
        """The entries a :meth:`run` works through (pending, interrupted, cancelled; failed ones on request)."""
        todo = (PENDING, RUNNING, CANCELLED) + ((FAILED,) if retry_failed else ())
        return [e for e in self.entries if e.status in todo]

    # ------------------------------------------------------------------------------------------ running
    def run(self, on_event: Optional[Callable] = None, cancel: Optional[Callable[[], bool]] = None, *,
            device: Optional[str] = None, retry_failed: bool = False) -> QueueFinished:
        """Train and evaluate every unfinished entry, one after another; returns (and emits) QueueFinished."""
        emit = on_event or (lambda ev: None)
        stop = cancel or (lambda: False)
        device = device or self.device
        with QueueLock(self.dir / self.LOCK):
            pairs = expdata.read_pairs(Path(self.doc.get("source") or self.doc["data"]))
            split = self.split
            parts = split["folds"] if "folds" in split else [split["holdout"], split["train"]]
            missing = sorted({n for part in parts for n in part} - set(pairs.names))
            if missing:
                raise SegStudioError(f"images of split.json are gone from the data folder: {', '.join(missing[:5])}",
                                     pairs.root)
            todo = self.unfinished(retry_failed)
            stopped = False
            for index, entry in enumerate(todo):
                if stop():
                    stopped = True
                    break
                emit(RunStarted(entry.id, index, len(todo)))
                status = self._run_entry(entry, emit, stop, device, pairs, split)
                emit(RunFinished(entry.id, status, entry.error))
                if status == CANCELLED:
                    stopped = True
                    break
        left = len(self.unfinished()) if stopped else 0
        ev = QueueFinished(sum(e.status == DONE for e in self.entries), sum(e.status == FAILED for e in self.entries),
                           left)
        emit(ev)
        return ev

    def _set(self, entry: QueueEntry, status: str, error: Optional[str] = None) -> None:
        entry.status, entry.error = status, error
        if status in (DONE, FAILED):
            entry.finished = _now()
        if status != RUNNING:
            entry.pid = None
        self.save()

    def _run_entry(self, entry: QueueEntry, emit, stop, device: str, pairs, split) -> str:
        stop_orphan(entry.pid, entry.run_dir)
        entry.started, entry.finished = entry.started or _now(), None
        self._set(entry, RUNNING)
        from segstudio.core.training.run_folder import RunFolder

        folder = RunFolder(entry.run_dir)
        if not (folder.status().get("state") in TRAINED and folder.best.is_file()):
            outcome = self._train(entry, folder, emit, stop, device, pairs, split)
            if outcome != DONE:
                return outcome
        if not folder.best.is_file():
            self._set(entry, FAILED, f"{folder.path}: the run finished without a best.pt (no validated epoch)")
            return FAILED
        return self._evaluate(entry, emit, stop, device, pairs, split)

    def _train(self, entry: QueueEntry, folder, emit, stop, device: str, pairs, split) -> str:
        train_dir = self.dir / "data" / expdata.train_folder_name(entry.fold)
        expdata.link_train_folder(pairs, expdata.training_names(split, entry.fold), train_dir)
        if folder.last.is_file():      # an interrupted run continues from its checkpoint, with its own settings
            cmd = train_command("--resume", str(folder.path), "--data", str(train_dir), "--device", device, "-q")
        else:
            if folder.path.exists():   # started but never saved a checkpoint: start it again
                shutil.rmtree(folder.path)
            cmd = train_command("--data", str(train_dir), "--out", str(folder.path), "--device", device,
                               *entry.args)
        logs = self.dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        err_path = logs / f"{entry.id}.err"
        err_from = err_path.stat().st_size if err_path.exists() else 0
        with open(logs / f"{entry.id}.out", "ab") as out, open(err_path, "ab") as err:
            stamp = f"\n### {_now()} $ {subprocess.list2cmdline(cmd)}\n".encode()
            out.write(stamp)
            out.flush()
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, **own_group())
            entry.pid = proc.pid
            self.save()
            try:
                cancelled = self._watch(proc, entry, folder, emit, stop)
            except BaseException:   # never leave a run training on behind a failing queue
                interrupt(proc)
                raise
        if cancelled:
            self._set(entry, PENDING)      # resumable: the next run() continues it from last.pt
            return CANCELLED
        rc = proc.returncode
        if rc == 0:
            return DONE
        why = f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}"
        self._set(entry, FAILED, f"segstudio train failed ({why}): {_tail(err_path, err_from)}".rstrip(": "))
        return FAILED

    def _watch(self, proc, entry: QueueEntry, folder, emit, stop) -> bool:
        """Wait for ``proc``, reporting each new epoch; True when ``stop()`` cancelled it."""
        seen, epochs = 0, None
        while True:
            try:
                proc.wait(timeout=POLL_S)
                done = True
            except subprocess.TimeoutExpired:
                done = False
            if not done and stop():
                interrupt(proc)
                return True
            try:
                rows = folder.history()
            except SegStudioError:
                rows = []
            if len(rows) > seen:
                if epochs is None:
                    try:
                        epochs = int(folder.read_config_dict().get("epochs") or 0)
                    except SegStudioError:
                        epochs = 0
                for row in rows[seen:]:
                    emit(RunProgress(entry.id, int(row.get("epoch", 0)), epochs, row))
                seen = len(rows)
            if done:
                return False

    def _evaluate(self, entry: QueueEntry, emit, stop, device: str, pairs, split) -> str:
        from segstudio.core.device import resolve_device
        from segstudio.core.experiments.evaluate import evaluate_run

        names = expdata.held_out(split, entry.fold)
        emit(RunEvaluating(entry.id, len(names)))
        try:
            evaluate_run(entry.run_dir, [pairs.root / "images" / n for n in names], [pairs.mask_of(n) for n in names],
                         list(pairs.class_names), device=resolve_device(device).type, cancel=stop)
        except Cancelled:
            self._set(entry, PENDING)     # trained: the next run() only scores it
            return CANCELLED
        except SegStudioError as exc:
            self._set(entry, FAILED, f"evaluation: {exc}")
            return FAILED
        except Exception as exc:  # noqa: BLE001 - one run's failure must not stop the queue; the trace is logged
            with open(self.dir / "logs" / f"{entry.id}.err", "a", encoding="utf-8") as fh:
                fh.write(traceback.format_exc())
            self._set(entry, FAILED, f"evaluation failed: {type(exc).__name__}: {exc} (logs/{entry.id}.err)")
            return FAILED
        if stop() and not (entry.run_dir / "heldout.json").is_file():
            self._set(entry, PENDING)
            return CANCELLED
        self._set(entry, DONE)
        return DONE


# ---------------------------------------------------------------------------------------------------- helpers
def _differences(old: dict, new: dict, prefix: str = "") -> List[str]:
    """``key: old -> new`` for each value that differs between two canonical plans."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, name + ".")
        elif a != b:
            out.append(f"{name}: {json.dumps(a)} -> {json.dumps(b)}")
    return out


def _tail(path: Path, start: int) -> str:
    """The last lines written to ``path`` since byte ``start`` (progress-bar redraws dropped)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [ln.rsplit("\r", 1)[-1].strip() for ln in text.splitlines()]
    return "\n".join([ln for ln in lines if ln][-ERROR_LINES:])
