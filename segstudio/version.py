"""What this segstudio is and where it keeps its files: version, install kind, library versions, user folders.

Qt-free and torch-free at import time (the CLI's ``--version`` must answer at once); the functions that
need torch or PySide6 import them when called and say "not installed" instead of failing.
"""
from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path

from segstudio import __version__

APP_NAME = "segstudio"
LICENSE = "MIT"


def is_frozen() -> bool:
    """True inside the PyInstaller bundle (``installer/segstudio.spec``)."""
    return bool(getattr(sys, "frozen", False))


def install_kind() -> str:
    """``bundle``, ``source checkout`` (editable / run from the repository) or ``pip``."""
    if is_frozen():
        return "bundle"
    package_dir = Path(__file__).resolve().parent
    if (package_dir.parent / "pyproject.toml").is_file():
        return "source checkout"
    return "pip"


def self_command(*args: str) -> list[str]:
    """The argv that runs this segstudio again with ``args`` (the bundle's executable is segstudio itself)."""
    if is_frozen():
        return [sys.executable, *args]
    return [sys.executable, "-m", "segstudio", *args]


def version_line() -> str:
    """``segstudio 0.1.0 (source checkout, Python 3.11.2)``: what ``segstudio --version`` prints."""
    return f"{APP_NAME} {__version__} ({install_kind()}, Python {platform.python_version()})"


def _dist_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def torch_info() -> dict:
    """torch version, its CUDA build, CUDA / MPS availability and the device names."""
    try:
        import torch
    except Exception as exc:  # a broken torch install is exactly what doctor must report
        return {"torch": f"not importable ({type(exc).__name__}: {exc})", "cuda_available": False,
                "cuda_devices": [], "mps_available": False}
    info = {"torch": torch.__version__, "torch_cuda_build": torch.version.cuda or "none (CPU build)",
            "cudnn": None, "cuda_available": False, "cuda_devices": [], "mps_available": False}
    try:
        info["cuda_available"] = bool(torch.cuda.is_available())
        if info["cuda_available"]:
            info["cuda_devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception as exc:
        info["cuda_error"] = f"{type(exc).__name__}: {exc}"
    try:
        info["cudnn"] = str(torch.backends.cudnn.version()) if torch.backends.cudnn.is_available() else None
    except Exception:  # cuDNN missing or broken: not needed on the CPU
        info["cudnn"] = None
    mps = getattr(torch.backends, "mps", None)
    info["mps_available"] = bool(mps is not None and mps.is_available())
    return info


def qt_versions() -> dict:
    """PySide6 and Qt versions (no QApplication is created)."""
    try:
        import PySide6
        from PySide6 import QtCore
    except Exception as exc:
        return {"pyside6": f"not importable ({type(exc).__name__}: {exc})", "qt": None}
    return {"pyside6": PySide6.__version__, "qt": QtCore.qVersion()}


def library_versions() -> dict:
    """name -> version of the libraries a bug report needs (None when not installed)."""
    names = ("numpy", "torchvision", "segmentation-models-pytorch", "opencv-python-headless", "pyqtgraph",
             "pillow", "scipy")
    out = {n: _dist_version(n) for n in names}
    if is_frozen():  # the bundle has no dist-info for every package: ask the modules
        for name, module in (("numpy", "numpy"), ("torchvision", "torchvision"), ("scipy", "scipy"),
                             ("opencv-python-headless", "cv2"), ("pyqtgraph", "pyqtgraph")):
            if out.get(name) is None:
                try:
                    out[name] = getattr(__import__(module), "__version__", None)
                except Exception:
                    out[name] = None
    return out


# ---------------------------------------------------------------------------------------------- user folders
def _home() -> Path:
    return Path.home()


def config_dir() -> Path:
    """Where Qt keeps segstudio's settings (QSettings' user scope, organisation "segstudio").

    Linux: ``$XDG_CONFIG_HOME/segstudio`` (``~/.config/segstudio``); macOS: ``~/Library/Preferences``;
    Windows: ``%APPDATA%/segstudio`` (QSettings itself uses the registry there; this folder holds files).
    """
    if sys.platform == "darwin":
        return _home() / "Library" / "Preferences"
    if os.name == "nt":
        return Path(os.environ.get("APPDATA", _home() / "AppData" / "Roaming")) / APP_NAME
    return Path(os.environ.get("XDG_CONFIG_HOME") or _home() / ".config") / APP_NAME


def log_dir() -> Path:
    """The user log folder (``SEGSTUDIO_LOG_DIR`` overrides): Linux ``$XDG_STATE_HOME/segstudio/log``
    (``~/.local/state/segstudio/log``), macOS ``~/Library/Logs/segstudio``, Windows
    ``%LOCALAPPDATA%/segstudio/logs``."""
    override = os.environ.get("SEGSTUDIO_LOG_DIR")
    if override:
        return Path(override)
    if sys.platform == "darwin":
        return _home() / "Library" / "Logs" / APP_NAME
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA", _home() / "AppData" / "Local")) / APP_NAME / "logs"
    return Path(os.environ.get("XDG_STATE_HOME") or _home() / ".local" / "state") / APP_NAME / "log"
