"""The in-memory form of a DICOM or NIfTI file: a stack of 2-D slices plus display windows and geometry.

A :class:`MedicalVolume` holds ``data`` as S x H x W (grayscale) or S x H x W x 3 (RGB) with one of the
dtypes the rest of segstudio handles: uint8, uint16, int16 (e.g. CT in Hounsfield units) or float32.
``slice(k)`` is the HxW(x3) image of slice ``k`` -- what the canvas shows, what training reads and what the
predictor predicts.  Decoded volumes are kept in a small cache keyed by (path, mtime, size), so a dataset
reading slice after slice decodes a ``.nii.gz`` once.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from segstudio.core.errors import AnnotationError

#: CT windows every radiology viewer offers (level, width in HU)
CT_PRESETS = (("Soft tissue", 40.0, 400.0), ("Lung", -600.0, 1500.0), ("Bone", 400.0, 1800.0),
              ("Brain", 40.0, 80.0), ("Liver", 60.0, 160.0))


class MedicalError(AnnotationError):
    """A DICOM / NIfTI file that cannot be used; ``str()`` is ``<file>: <reason>``."""


def standard_presets(modality: str) -> list[tuple[str, float, float]]:
    return list(CT_PRESETS) if modality.upper() == "CT" else []


def fit_dtype(arr: np.ndarray) -> np.ndarray:
    """Keep uint8 / uint16 / int16; integral values that fit int16 become int16; anything else float32."""
    arr = np.asarray(arr)
    if arr.dtype in (np.uint8, np.uint16, np.int16):
        return np.ascontiguousarray(arr)
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8)
    if arr.size and np.issubdtype(arr.dtype, np.number) and np.all(np.isfinite(arr)):
        lo, hi = float(arr.min()), float(arr.max())
        integral = np.issubdtype(arr.dtype, np.integer) or bool(np.all(np.mod(arr, 1) == 0))
        if integral and lo >= 0 and hi <= 65535:
            return arr.astype(np.uint16)
        if integral and lo >= -32768 and hi <= 32767:
            return arr.astype(np.int16)
    return np.ascontiguousarray(arr, dtype=np.float32)


@dataclass
class MedicalVolume:
    path: Path
    kind: str                                  # "dicom" | "nifti"
    data: np.ndarray                           # S x H x W [x 3]
    windows: list = field(default_factory=list)  # [(name, level, width)]: the file's first, then standard ones
    initial_window: Optional[tuple] = None     # (level, width) from the file, None: the image's default
    affine: Optional[np.ndarray] = None        # NIfTI: 4x4 voxel -> world of the source
    description: str = ""

    @property
    def n_slices(self) -> int:
        return int(self.data.shape[0])

    @property
    def is_volume(self) -> bool:
        """More than one slice: the slices are annotated one JSON each (see core/medical/slices.py)."""
        return self.n_slices > 1

    @property
    def slice_shape(self) -> tuple[int, int]:
        return int(self.data.shape[1]), int(self.data.shape[2])

    def slice(self, index: Optional[int]) -> np.ndarray:
        """The image of slice ``index`` (None: the only slice of a one-slice file)."""
        if index is None:
            if self.is_volume:
                raise MedicalError(f"a volume of {self.n_slices} slices: open one slice (its JSON names it)",
                                   self.path)
            index = 0
        try:
            index = int(index)
        except (TypeError, ValueError):
            raise MedicalError(f"slice index {index!r} is not a number", self.path) from None
        if not 0 <= index < self.n_slices:
            raise MedicalError(f"slice {index} does not exist (the file has {self.n_slices})", self.path)
        return np.ascontiguousarray(self.data[index])


# ------------------------------------------------------------------------------------------------ caching
_CACHE: "OrderedDict[tuple, MedicalVolume]" = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_BYTES = 512 * 2**20


def _key(path: Path) -> tuple:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise MedicalError("image not found", path) from None
    return (str(path.resolve()), st.st_mtime_ns, st.st_size)


def open_volume(path) -> MedicalVolume:
    """The decoded volume of a DICOM or NIfTI file (cached); :class:`MedicalError` names the file."""
    from segstudio.core.medical.formats import medical_kind

    path = Path(path)
    kind = medical_kind(path)
    if kind is None:
        raise MedicalError("not a DICOM (.dcm) or NIfTI (.nii, .nii.gz) file", path)
    key = _key(path)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    if kind == "dicom":
        from segstudio.core.medical.dicom import read_dicom

        volume = read_dicom(path)
    else:
        from segstudio.core.medical.nifti import read_nifti

        volume = read_nifti(path)
    with _CACHE_LOCK:
        _CACHE[key] = volume
        total = sum(v.data.nbytes for v in _CACHE.values())
        while total > CACHE_BYTES and len(_CACHE) > 1:
            _, old = _CACHE.popitem(last=False)
            total -= old.data.nbytes
    return volume


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()
