"""`segstudio --version` and `segstudio doctor`: what a bug report starts with."""
from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import torch

from segstudio import __version__
from segstudio.cli import main
from segstudio.core import registry

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def user_dirs(tmp_path, monkeypatch):
    """Settings and log folders in tmp_path; the offscreen Qt platform for the probe."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("SEGSTUDIO_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    monkeypatch.setattr(registry, "plugin_errors", [])
    return tmp_path


def test_version_flag(capsys):
    assert main(["--version"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"segstudio {__version__} (") and platform.python_version() in out


def test_version_flag_in_a_real_process_does_not_load_torch():
    code = "import sys; from segstudio.cli import main; main(['--version']); print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"segstudio {__version__} (source checkout, Python {platform.python_version()})",
                                     "False"]


def test_doctor_reports_everything(user_dirs, capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.strip()}
    assert __version__ in lines["segstudio"]
    assert platform.python_version() in lines["Python"]
    assert torch.__version__ in lines["torch"]
    assert "not available" in lines["CUDA"] or "cuda:0" in lines["CUDA"]
    assert "offscreen (QT_QPA_PLATFORM=offscreen)" in out
    assert f"{user_dirs / 'config' / 'segstudio'} (writable)" in out
    assert f"{user_dirs / 'logs'} (writable)" in out
    assert "GiB free in" in out
    assert out.rstrip().endswith("no problems found")
    assert (user_dirs / "config" / "segstudio").is_dir()
    assert list((user_dirs / "config" / "segstudio").iterdir()) == []  # the write test leaves nothing behind


def test_doctor_json(user_dirs, capsys):
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["segstudio"] == __version__ and report["torch"] == torch.__version__
    assert report["qt_platform_plugin"] == "offscreen"
    assert report["plugins"] == {"found": [], "failed": []} or isinstance(report["plugins"]["found"], list)
    assert report["problems"] == []


def test_doctor_names_cuda_devices(user_dirs, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: f"Test GPU {i}")
    main(["doctor"])
    out = capsys.readouterr().out
    assert "devices: cuda:0 Test GPU 0, cuda:1 Test GPU 1" in out


def test_doctor_lists_a_plugin_that_failed_and_exits_1(user_dirs, capsys, monkeypatch):
    broken = metadata.EntryPoint(name="broken", value="segstudio_no_such_plugin:register", group="segstudio.plugins")
    monkeypatch.setattr(registry.metadata, "entry_points", lambda group=None: [broken] if group == broken.group else [])
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "broken = segstudio_no_such_plugin:register" in out
    assert "FAILED: broken: ModuleNotFoundError: No module named 'segstudio_no_such_plugin'" in out
    assert "plugin failed to load: broken" in out


def test_doctor_unwritable_settings_folder(user_dirs, capsys, monkeypatch):
    blocker = user_dirs / "not-a-folder"
    blocker.write_text("a file where the config folder should be")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert f"{blocker / 'segstudio'}: not writable" in out
    assert "1 problem(s):" in out


def test_doctor_when_qt_cannot_start(user_dirs, capsys, monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "no-such-platform")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "Qt platform  FAILED:" in out and "no-such-platform" in out
    assert "Qt cannot start here" in out
