"""The processes of an experiment queue: the `segstudio train` command line, its own process group, a clean stop
(SIGINT: the run saves last.pt), liveness of a pid (a zombie is not alive), the orphan a dead runner left, and
``queue.lock`` (one runner per experiment folder)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

from segstudio.core.errors import SegStudioError

POLL_S = 0.5        # how often a running run's metrics.csv, the cancel flag and a stopping process are looked at
STOP_GRACE_S = 120  # after SIGINT, how long a run may take to save last.pt before it is killed


class QueueBusy(SegStudioError):
    """Another live process runs this experiment's queue."""


def train_command(*args: str) -> List[str]:
    """``segstudio train ARGS`` as this installation runs it: the bundle's executable is segstudio itself, else
    this Python with ``-m segstudio`` (segstudio.version.self_command's rule; the core does not import
    segstudio.version, whose version lines import Qt)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "train", *args]
    return [sys.executable, "-m", "segstudio", "train", *args]


def own_group() -> dict:
    """Popen options: the run gets its own process group, so a Ctrl-C in the terminal reaches the queue (which
    stops the run cleanly) and not the run behind its back."""
    if os.name == "nt":  # pragma: no cover - Windows
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def interrupt(proc, grace: float = STOP_GRACE_S) -> None:
    """Stop a run as Ctrl-C would (it saves last.pt after the current batch); kill it after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    if os.name == "nt":  # pragma: no cover - no SIGINT to another process group on Windows: last.pt of the last epoch
        proc.terminate()
    else:
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (on Linux a zombie, exited but not reaped, does not)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # pragma: no cover - Windows: os.kill would terminate the process
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)   # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259   # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:   # Linux: a zombie (exited, not yet reaped by its new parent) is not alive
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def stop_orphan(pid: Optional[int], run_dir: Path) -> None:
    """A run whose queue process died may still be training (its own process group): stop it cleanly before the
    entry is continued (Linux: only a process whose command line names this run folder)."""
    if not pid or not alive(pid):
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace")
    except OSError:
        return
    if str(run_dir) not in cmdline:
        return
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + STOP_GRACE_S
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(POLL_S)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)


class QueueLock:
    """``queue.lock`` for the duration of a run(): {"pid", "host"}; a lock whose process is gone is taken over."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    held = json.loads(self.path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    held = {}
                pid = int(held.get("pid") or 0)
                if held.get("host") not in (None, me["host"]):
                    raise QueueBusy(f"the queue is being run by process {pid} on {held['host']}; delete "
                                    f"{self.path.name} if that machine no longer runs it", self.path.parent) from None
                if pid != os.getpid() and alive(pid):
                    raise QueueBusy(f"the queue is being run by process {pid}; wait for it or stop it first",
                                    self.path.parent) from None
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(me, fh)
            return self
        raise QueueBusy("cannot take queue.lock", self.path.parent)

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)
        return False
