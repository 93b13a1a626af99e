"""Shared fixtures. Tests that need ../shared/data or a reference venv (labelme, readers) skip with a clear reason."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SEGSTUDIO_SHARED_DATA", ROOT.parent / "shared" / "data"))
LABELME_PYTHON = Path(os.environ.get("SEGSTUDIO_LABELME_PYTHON", ROOT / ".venv-labelme" / "bin" / "python"))
# pycocotools / ultralytics / nnunetv2: the readers our exports must satisfy (`make readers-ref`)
READERS_PYTHON = Path(os.environ.get("SEGSTUDIO_READERS_PYTHON", ROOT / ".venv-ref" / "bin" / "python"))
# .ci/run sets this: in CI the reference data and labelme must be there, so their absence fails the run
# instead of silently skipping the pixel-exactness and real-data proofs.
REQUIRE_REFERENCES = os.environ.get("SEGSTUDIO_REQUIRE_REFERENCES") == "1"


def _missing(reason: str):
    if REQUIRE_REFERENCES:
        pytest.fail(f"{reason} [SEGSTUDIO_REQUIRE_REFERENCES=1]", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (research datasets); skips when absent."""
    if not SHARED_DATA.is_dir():
        _missing(f"shared research data not found at {SHARED_DATA} (set SEGSTUDIO_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def labelme_python() -> Path:
    """Python of the labelme 6.3.1 reference venv (`make labelme-ref`); skips when absent."""
    if not LABELME_PYTHON.exists():
        _missing(f"labelme reference venv not found at {LABELME_PYTHON} (run `make labelme-ref`)")
    r = subprocess.run([str(LABELME_PYTHON), "-c", "import labelme.utils.shape"], capture_output=True, text=True)
    if r.returncode != 0:
        _missing(f"labelme reference venv is broken: {r.stderr.strip()[-300:]}")
    return LABELME_PYTHON


def reference_env(scratch: Path) -> dict:
    """Environment of a readers-reference subprocess: Ultralytics offline, its settings and matplotlib's
    cache in ``scratch`` (not the user's home)."""
    return {**os.environ, "YOLO_OFFLINE": "1", "YOLO_CONFIG_DIR": str(scratch), "MPLCONFIGDIR": str(scratch)}


@pytest.fixture(scope="session")
def readers_python(tmp_path_factory) -> Path:
    """Python of the readers reference venv (pycocotools, ultralytics, nnunetv2; `make readers-ref`); skips
    when absent.  Only ever run in a subprocess (tests/reference/readers_ref_worker.py)."""
    if not READERS_PYTHON.exists():
        _missing(f"readers reference venv not found at {READERS_PYTHON} (run `make readers-ref`)")
    r = subprocess.run([str(READERS_PYTHON), "-c", "import pycocotools.coco, nnunetv2, ultralytics"],
                       capture_output=True, text=True, env=reference_env(tmp_path_factory.mktemp("readers-ref")))
    if r.returncode != 0:
        _missing(f"readers reference venv is broken: {r.stderr.strip()[-300:]}")
    return READERS_PYTHON


@pytest.fixture(scope="session")
def sample_project_ro(tmp_path_factory) -> Path:
    """The generated sample project, shared by the session: do NOT modify it (use `sample_project`)."""
    from segstudio.core.sample import make_sample_project

    return make_sample_project(tmp_path_factory.mktemp("sample") / "project", n_images=24, seed=0)


@pytest.fixture
def sample_project(sample_project_ro, tmp_path) -> Path:
    """A private, writable copy of the sample project."""
    dst = tmp_path / "project"
    shutil.copytree(sample_project_ro, dst)
    return dst
