"""Checkpoint files: write them atomically in the format of docs/architecture.md, load them safely.

Loading always uses ``torch.load(weights_only=True)``: a file whose unpickling would import or call arbitrary
code (a pickle with a custom ``__reduce__``, a pickled model object) is refused with :class:`CheckpointError`
and nothing in it runs.
"""
from __future__ import annotations

import os
import pickle
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from segstudio.core.errors import CheckpointError

FORMAT = "segstudio-checkpoint"
FORMAT_VERSION = 1
REQUIRED_KEYS = ("model", "state_dict", "class_names", "img_size", "resize_mode", "epoch", "metrics", "config")
RESUME_KEYS = ("optimizer", "scheduler", "scaler", "rng", "early_stop")


def save_checkpoint(payload: dict, path) -> Path:
    """``torch.save`` to a temporary file beside ``path`` then rename: a crash never leaves a torn file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_checkpoint(path, map_location="cpu") -> dict:
    """Load and validate a segstudio checkpoint; raise :class:`CheckpointError` with the reason."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError("checkpoint not found" if not p.exists() else "not a file", p)
    try:
        ckpt = torch.load(p, map_location=map_location, weights_only=True)
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


# ---------------------------------------------------------------------------- RNG state as plain data
def rng_state() -> dict:
    """Python, NumPy and torch (CPU + CUDA) generator states as plain data (weights_only-loadable)."""
    py = random.getstate()
    np_state = np.random.get_state()
    state = {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), int(np_state[2]),
                  int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state(),
        "cuda": [s for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else [],
    }
    return state


def set_rng_state(state: dict) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state((n[0], n[1].numpy().astype(np.uint32), n[2], n[3], n[4]))
    torch.set_rng_state(state["torch"].cpu() if hasattr(state["torch"], "cpu") else state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        cuda_states = list(state["cuda"])
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.cpu() for s in cuda_states])
