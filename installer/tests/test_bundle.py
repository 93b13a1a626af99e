"""Smoke test of the built bundle (`make installer`, then `make installer-test`): every run starts with an empty
environment (`env -i`, HOME in a temporary folder: no .venv, no PATH, no PYTHONPATH) as on a clean machine.

Not collected by `make test` (testpaths = tests/); marked slow.  Without dist/segstudio it skips, unless
SEGSTUDIO_REQUIRE_BUNDLE=1 (set by `make installer-test`), where it fails.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = Path(os.environ.get("SEGSTUDIO_BUNDLE", ROOT / "dist" / "segstudio" / "segstudio"))


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    if not BUNDLE.is_file():
        msg = f"{BUNDLE}: no bundle (run `make installer` first)"
        if os.environ.get("SEGSTUDIO_REQUIRE_BUNDLE") == "1":
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return tmp_path_factory.mktemp("clean-home")


def run(home: Path, *args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
    """``env -i HOME=<home> [env...] segstudio ARGS`` in ``home``."""
    cmd = ["env", "-i", f"HOME={home}", *(f"{k}={v}" for k, v in env.items()), str(BUNDLE), *args]
    r = subprocess.run(cmd, cwd=home, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def test_version(home):
    r = run(home, "--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("segstudio ") and "(bundle, Python 3.11" in r.stdout


@pytest.fixture(scope="module")
def project(home) -> Path:
    """`segstudio sample proj -n 8`, run by the bundle."""
    r = run(home, "sample", "proj", "-n", "8")
    assert r.returncode == 0, r.stderr
    return home / "proj"


def test_sample_convert_train_predict(home, project):
    assert (project / "labels.txt").is_file() and len(list(project.glob("img_*.json"))) == 8

    r = run(home, "convert", "proj", "--labels", "proj/labels.txt", "--out", "voc", "--format", "voc", "-q")
    assert r.returncode == 0, r.stderr
    assert len(list((home / "voc" / "SegmentationClass").glob("*.png"))) == 8

    r = run(home, "train", "--data", "proj", "--out", "run", "--epochs", "1", "--img-size", "64",
            "--batch-size", "4", "--device", "cpu")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert (home / "run" / "best.pt").is_file()

    r = run(home, "predict", "--weights", "run/best.pt", "--images", "proj", "--out", "pred", "--quiet")
    assert r.returncode == 0, r.stderr
    assert len(list((home / "pred").rglob("*.png"))) >= 8


def test_doctor_in_the_bundle(home):
    r = run(home, "doctor", "--json", QT_QPA_PLATFORM="offscreen")
    report = json.loads(r.stdout)
    assert report["install"] == "bundle"
    assert report["torch_cuda_build"] == "none (CPU build)" or os.environ.get("SEGSTUDIO_BUNDLE_FLAVOR") == "cuda"
    assert report["qt_platform_plugin"] == "offscreen"
    assert report["problems"] == [], report["problems"]
    r = run(home, "plugins")
    assert r.returncode == 0 and "unet" in r.stdout


def test_gui_opens_offscreen_and_closes_after_a_frame(home, project):
    r = run(home, "gui", "proj", QT_QPA_PLATFORM="offscreen", SEGSTUDIO_QUIT_AFTER_FIRST_FRAME="1",
            SEGSTUDIO_REPORT_FIRST_FRAME="1", timeout=300)
    assert r.returncode == 0, r.stderr
    assert "segstudio: first frame after" in r.stderr
    log = home / ".local" / "state" / "segstudio" / "log" / "segstudio.log"
    assert "started: segstudio" in log.read_text()
