"""Checkpoint files: write them atomically in the format of docs/architecture.md, load them safely.

Training writes checkpoints, inference and the GUI read them: this module belongs to neither, so that
``segstudio.core.inference`` never imports ``segstudio.core.training``.

Loading always uses ``torch.load(weights_only=True)``: a file whose unpickling would import or call arbitrary
code (a pickle with a custom ``__reduce__``, a pickled model object) is refused with :class:`CheckpointError`
and nothing in it runs.
"""
from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch

from segstudio.core.errors import CheckpointError

FORMAT = "segstudio-checkpoint"
FORMAT_VERSION = 1
REQUIRED_KEYS = ("model", "state_dict", "class_names", "img_size", "resize_mode", "epoch", "metrics", "config")
RESUME_KEYS = ("optimizer", "scheduler", "scaler", "rng", "early_stop")


def save_checkpoint(payload: dict, path) -> Path:
    """``torch.save`` to a temporary file beside ``path`` then rename (core.annotation.io.atomic_write): a crash
    never leaves a torn file."""
    from segstudio.core.annotation.io import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: torch.save(payload, f))
    return path


def load_checkpoint(path, map_location="cpu", *, mmap: bool = False) -> dict:
    """Load and validate a segstudio checkpoint; raise :class:`CheckpointError` with the reason.

    ``mmap=True`` maps the tensors instead of reading them (fast when only the plain-data keys are needed,
    e.g. the config of a run to resume)."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError("checkpoint not found" if not p.exists() else "not a file", p)
    try:
        ckpt = torch.load(p, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        text = _clean(str(exc))
        if "weights only" in text.lower() or "weights_only" in text.lower():
            what = _refused_global(text)
            raise CheckpointError(
                "refused: unpickling it would run code" + (f" (it needs {what})" if what else "")
                + "; only plain-data checkpoints saved by segstudio can be opened, and nothing in this file "
                "was executed", p) from None
        raise CheckpointError(f"not a readable checkpoint ({_first_line(text, exc)})", p) from None
    except Exception as exc:  # noqa: BLE001 - any failure of a corrupt file is the file's problem
        raise CheckpointError(f"not a readable checkpoint ({_first_line(_clean(str(exc)), exc)})", p) from None
    validate_checkpoint(ckpt, p)
    return ckpt


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_GLOBAL_PATTERNS = (r"GLOBAL (\S+) was not an allowed global", r"unsupported GLOBAL (\S+)",
                    r"(\S+) must be \S+ to load")


def _clean(text: str) -> str:
    """torch's message without terminal escape codes (bold markers)."""
    return _ANSI.sub("", text).strip()


def _first_line(text: str, exc: BaseException) -> str:
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _refused_global(text: str) -> str:
    """The class/function a refused pickle wanted to import, e.g. ``posix.system`` ('' when not said)."""
    for pattern in _GLOBAL_PATTERNS:
        m = re.search(pattern, text)
        if m:
            return m.group(1).strip("`'\".,")
    return ""


def validate_checkpoint(ckpt: Any, path=None) -> None:
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError("not a segstudio checkpoint (no 'format': 'segstudio-checkpoint' key)", path)
    version = ckpt.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"checkpoint format_version {version!r} is newer than this segstudio "
                              f"understands ({FORMAT_VERSION})", path)
    missing = [k for k in REQUIRED_KEYS if k not in ckpt]
    if missing:
        raise CheckpointError(f"checkpoint lacks {', '.join(missing)}", path)
    model = ckpt["model"]
    if not isinstance(model, dict) or not {"name", "in_channels", "num_classes"} <= set(model):
        raise CheckpointError("checkpoint 'model' must give name, in_channels and num_classes", path)
    if len(ckpt["class_names"]) != model["num_classes"]:
        raise CheckpointError(f"checkpoint has {len(ckpt['class_names'])} class names for "
                              f"{model['num_classes']} classes", path)


def is_resumable(ckpt: dict) -> bool:
    return all(k in ckpt for k in RESUME_KEYS)


def plain(obj):
    """Numbers/strings/lists/dicts only (weights_only-loadable; numpy scalars become floats)."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, (bool, int, float, str)) or obj is None:
        return obj
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)
