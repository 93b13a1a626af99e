"""Plan files for the Experiments dock: checked by the core's ``load_plan`` on a worker (it builds each model once
to check its options, imports torch the first time: seconds the window must not wait), written atomically.

:class:`PlanChecker` checks one plan at a time: ``check(path)`` an existing file (Open plan...), ``check(path,
text)`` the form's YAML, written over ``path`` only when it is valid (Save plan...).  It answers with
``checked(path, info)`` (``info``: the parsed YAML mapping and the number of runs) or ``failed(path, message)``
with the core's ``<file>: <reason>``, the same text ``segstudio experiment`` prints; either comes after the
worker ended (a slot may start the next check).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject, Signal

from segstudio.core.errors import SegStudioError
from segstudio.gui.workers import Worker, error_text


def read_yaml(path: Path) -> dict:
    """A plan file's mapping (yaml.safe_load); SegStudioError naming the file when it is not one."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SegStudioError(f"cannot read the plan: {exc}", path) from None
    if not isinstance(data, dict):
        raise SegStudioError("a plan is a YAML mapping (name, data, split, train, grid)", path)
    return data


def load_plan(path: Path):
    from segstudio.core.experiments.plan import load_plan as core_load_plan

    return core_load_plan(path)


def check_and_write(path: Path, text: str) -> object:
    """Write ``text`` to a temporary file beside ``path`` (relative paths in it resolve the same), check it with
    ``load_plan``, then move it over ``path`` (atomic); on a problem nothing is left behind and the message names
    ``path``.  Returns the plan."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix or ".yaml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            plan = load_plan(Path(tmp))
        except SegStudioError as exc:   # the message names the file the user saves, not the temporary one
            where = str(exc).replace(str(Path(tmp).resolve()), str(path)).replace(str(tmp), str(path))
            raise SegStudioError(where.replace(Path(tmp).name, path.name)) from None
        os.replace(tmp, path)
        return plan
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def check_plan(path: Path, text: Optional[str] = None) -> dict:
    """The worker's job: check (and with ``text``, write) the plan; {"raw": mapping, "runs": count}."""
    plan = check_and_write(path, text) if text is not None else load_plan(path)
    return {"raw": read_yaml(path), "runs": len(plan.runs())}


class PlanChecker(QObject):
    """Checks plans with the core's ``load_plan`` on a worker thread, one at a time."""

    checked = Signal(object, object)   # (path, {"raw": mapping, "runs": n})
    failed = Signal(object, str)       # (path, "<file>: <reason>")
    busyChanged = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.worker: Optional[Worker] = None
        self.path: Optional[Path] = None
        self._outcome: Optional[tuple] = None   # (ok, info or message) of the check in progress

    @property
    def busy(self) -> bool:
        return self.worker is not None

    def check(self, path, text: Optional[str] = None) -> bool:
        """Start checking ``path`` (``text``: write it there when valid); False while another check runs."""
        if self.busy:
            return False
        self.path = path = Path(path)
        worker = Worker(lambda emit, cancel: check_plan(path, text), name="experiment-plan", parent=self, nice=5)
        self._outcome = None
        worker.result.connect(lambda info: setattr(self, "_outcome", (True, info)))
        worker.failed.connect(lambda exc: setattr(self, "_outcome", (False, error_text(exc))))
        worker.done.connect(self._done)
        self.worker = worker
        worker.start()
        self.busyChanged.emit(True)
        return True

    def wait(self, ms: int = 60000) -> bool:
        w = self.worker
        return True if w is None else bool(w.wait(ms))

    def _done(self) -> None:
        """The answer comes once the worker has ended, so that a slot may start the next check at once."""
        self.worker = None
        self.busyChanged.emit(False)
        ok, value = self._outcome or (False, "the plan check ended without an answer")
        (self.checked if ok else self.failed).emit(self.path, value)
