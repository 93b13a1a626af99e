"""Fixtures of the fault tests (issue 13): a tiny project, the segstudio CLI in a subprocess, a small tmpfs."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli_env() -> dict:
    """The CLI's environment: one torch thread, offscreen Qt, this checkout importable."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def run_cli(*args, timeout=300, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segstudio", *map(str, args)], capture_output=True, text=True,
                          env=cli_env(), timeout=timeout, cwd=kw.pop("cwd", None), **kw)


@pytest.fixture(scope="session")
def tiny_project_ro(tmp_path_factory) -> Path:
    """8 generated images (lesion + cyst), shared by the session: do not modify."""
    from segstudio.core.sample import make_sample_project

    return make_sample_project(tmp_path_factory.mktemp("faults") / "project", n_images=8, seed=3)


TINY_TRAIN = ["--img-size", "32", "--batch-size", "2", "--val-fraction", "0.25", "--patience", "0", "--threads", "1",
              "--device", "cpu", "--set", "model_kwargs={base: 4, depth: 2}", "-q"]


@pytest.fixture(scope="session")
def tiny_weights(tiny_project_ro, tmp_path_factory) -> Path:
    """best.pt of a 1-epoch tiny U-Net trained on the tiny project by `segstudio train`."""
    out = tmp_path_factory.mktemp("weights") / "run"
    r = run_cli("train", "--data", tiny_project_ro, "--out", out, "--epochs", "1", *TINY_TRAIN)
    assert r.returncode == 0, r.stderr[-2000:]
    return out / "best.pt"


@pytest.fixture(autouse=True)
def isolated_qsettings(tmp_path):
    """QSettings (if a test touches Qt) go to a temp folder, never to the user's settings."""
    try:
        from PySide6.QtCore import QCoreApplication, QSettings
    except ImportError:
        yield
        return
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "settings"))
    QCoreApplication.setOrganizationName("segstudio-tests")
    QCoreApplication.setApplicationName("segstudio-tests")
    yield


@pytest.fixture
def small_tmpfs(tmp_path):
    """small_tmpfs(size="1m") -> a folder on a fresh tmpfs of that size (unmounted at teardown).  Skips with
    the reason when mounting is not permitted (not root, no CAP_SYS_ADMIN, a container without mount)."""
    mounted = []

    def make(size: str = "1m") -> Path:
        d = tmp_path / f"tmpfs-{uuid.uuid4().hex[:6]}"
        d.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(d)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs to simulate a full disk (needs root / CAP_SYS_ADMIN): "
                        f"{(r.stderr or r.stdout).strip()[:200]}")
        mounted.append(d)
        return d

    yield make
    for d in mounted:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


def fill(folder: Path, leave: int = 0) -> None:
    """Fill the file system of ``folder`` until fewer than ``leave`` bytes are free."""
    with open(folder / f".filler-{uuid.uuid4().hex[:6]}", "wb") as f:
        chunk = b"\0" * 65536
        try:
            while True:
                st = os.statvfs(folder)
                free = st.f_bavail * st.f_frsize
                if free <= leave:
                    break
                f.write(chunk[: max(1, min(len(chunk), free - leave))])
                f.flush()
        except OSError:
            pass
