"""Which files are DICOM / NIfTI, how their slices are named, and reading one slice.

Annotation layout (docs/annotation.md, "DICOM and NIfTI"): labelme JSON beside the file, ``imagePath`` naming
the file itself.  A one-slice file (single-frame DICOM, 2-D NIfTI) is annotated as any image: ``scan.dcm`` ->
``scan.json``.  A volume (multi-frame DICOM, 3-D / 4-D NIfTI) has one JSON per annotated slice, named after
the slice, with the slice index (from 0) under the top-level key ``"imageSlice"``:

    scan.nii.gz  slice 12  ->  scan_z012.json   {"imagePath": "scan.nii.gz", "imageSlice": 12, ...}
    cine.dcm     frame 3   ->  cine_f003.json   {"imagePath": "cine.dcm", "imageSlice": 3, ...}

labelme keeps unknown top-level keys, and so does segstudio (``Annotation.extra``).
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Optional

import numpy as np

DICOM_SUFFIXES = (".dcm", ".dicom")
NIFTI_SUFFIXES = (".nii", ".nii.gz")
MEDICAL_SUFFIXES = DICOM_SUFFIXES + NIFTI_SUFFIXES
SLICE_KEY = "imageSlice"


def medical_kind(path) -> Optional[str]:
    """"dicom" | "nifti" by file name, None for anything else."""
    name = str(path).lower()
    if name.endswith(NIFTI_SUFFIXES):
        return "nifti"
    if name.endswith(DICOM_SUFFIXES):
        return "dicom"
    return None


def is_medical_path(path) -> bool:
    return not isinstance(path, (bytes, bytearray, memoryview)) and medical_kind(path) is not None


def medical_stem(path) -> str:
    """``scan.nii.gz`` -> ``scan``; ``scan.dcm`` -> ``scan``."""
    name = Path(path).name
    for suffix in MEDICAL_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def slice_stem(path, index: int, n_slices: int) -> str:
    """The stem of slice ``index``'s JSON: ``<stem>_z012`` (NIfTI) or ``<stem>_f012`` (DICOM frames)."""
    letter = "f" if medical_kind(path) == "dicom" else "z"
    digits = max(3, len(str(max(int(n_slices) - 1, 0))))
    return f"{medical_stem(path)}_{letter}{int(index):0{digits}d}"


def header_info(path) -> tuple[int, int, int]:
    """(slices, height, width) from the header (no pixel decoding)."""
    if medical_kind(path) == "dicom":
        from segstudio.core.medical.dicom import dicom_header

        return dicom_header(path)
    from segstudio.core.medical.nifti import nifti_header

    return nifti_header(path)


def read_slice(path, index: Optional[int] = None) -> np.ndarray:
    """The image of slice ``index`` of a DICOM / NIfTI file (None: the file's only slice)."""
    from segstudio.core.medical.volume import open_volume

    return open_volume(path).slice(index)


def probe_slice_size(path) -> tuple[int, int]:
    """(height, width) of the file's slices, from the header."""
    _, h, w = header_info(path)
    return h, w


def display_png_bytes(path, index: Optional[int] = None) -> bytes:
    """A de-identified PNG of one slice (pixels only: no header field of the file is carried), shown with the
    file's initial window: what a labelme JSON embeds as imageData for a DICOM / NIfTI image."""
    from PIL import Image

    from segstudio.core.imaging import DisplaySettings, to_display
    from segstudio.core.medical.volume import open_volume

    volume = open_volume(path)
    image = volume.slice(index)
    level, width = volume.initial_window or (None, None)
    shown = to_display(image, DisplaySettings(level=level, width=width))
    buf = io.BytesIO()
    Image.fromarray(shown).save(buf, format="PNG")
    return buf.getvalue()


def medical_entries(path) -> list:
    """The project entries of a DICOM / NIfTI file: one for a one-slice file (``<stem>.json``), one per slice
    for a volume (``<stem>_z012.json``, slice index in ``ImageEntry.slice``).  A file whose header cannot be
    read is one entry, so that opening it shows why."""
    from segstudio.core.errors import SegStudioError
    from segstudio.core.project import ImageEntry

    path = Path(path)
    stem = medical_stem(path)
    try:
        n = header_info(path)[0]
    except SegStudioError:
        n = 1
    if n <= 1:
        return [ImageEntry(path, path.with_name(f"{stem}.json"), stem)]
    return [ImageEntry(path, path.with_name(f"{slice_stem(path, k, n)}.json"), slice_stem(path, k, n), k)
            for k in range(n)]
