"""NIfTI-1/2 files (nibabel) -> :class:`~segstudio.core.medical.volume.MedicalVolume`.

Slices are taken along the third voxel axis (``k``) of the data *as stored* (no reorientation, so the
affine of the file stays valid for everything segstudio writes back).  Slice ``k`` is shown with voxel axis
``i`` left to right and ``j`` bottom to top: image pixel (row ``r``, column ``c``) is voxel
``(i=c, j=J-1-r, k)`` -- :func:`slice_to_voxels` / :func:`voxels_to_slice` are the one mapping, used by the
reader and by the NIfTI label export, so an exported mask lies on the voxels it was drawn on.
A 4-D file (e.g. fMRI) shows its first volume (t = 0); 2-D files are one slice.  ``scl_slope`` /
``scl_inter`` are applied (nibabel's data proxy).  The initial window is ``cal_min`` .. ``cal_max`` when the
header sets them, else the image's percentile window.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from segstudio.core.medical.volume import MedicalError, MedicalVolume, fit_dtype


def voxels_to_slice(plane: np.ndarray) -> np.ndarray:
    """An (I, J[, ...]) voxel plane -> the (J, I[, ...]) image shown for it (rows = -j, columns = i)."""
    return np.ascontiguousarray(np.flip(np.swapaxes(plane, 0, 1), 0))


def slice_to_voxels(image: np.ndarray) -> np.ndarray:
    """Inverse of :func:`voxels_to_slice`: an image (rows, columns) -> the (I, J) voxel plane."""
    return np.ascontiguousarray(np.swapaxes(np.flip(image, 0), 0, 1))


def _load(path: Path):
    import nibabel as nib

    try:
        img = nib.load(str(path))
    except FileNotFoundError:
        raise MedicalError("file not found", path) from None
    except Exception as exc:  # nibabel: ImageFileError, HeaderDataError, EOFError, gzip / zlib errors, ...
        raise MedicalError(f"not a readable NIfTI file ({type(exc).__name__}: {exc})", path) from None
    if not hasattr(img, "affine") or "nifti" not in type(img).__name__.lower():
        raise MedicalError(f"not a NIfTI image ({type(img).__name__})", path)
    return img


def read_nifti(path) -> MedicalVolume:
    path = Path(path)
    img = _load(path)
    shape = tuple(int(s) for s in img.shape)
    if len(shape) < 2 or len(shape) > 4 or 0 in shape:
        raise MedicalError(f"cannot show a NIfTI image of shape {shape} (2-D, 3-D or 4-D only)", path)
    try:
        proxy = img.dataobj
        data = np.asanyarray(proxy[..., 0] if len(shape) == 4 else proxy)
    except Exception as exc:  # truncated / corrupt data
        raise MedicalError(f"cannot read the voxel data ({type(exc).__name__}: {exc})", path) from None
    if data.ndim == 2:
        data = data[:, :, None]
    if np.iscomplexobj(data) or data.dtype.fields is not None:
        raise MedicalError(f"voxel type {img.get_data_dtype()} cannot be shown", path)
    stack = np.stack([voxels_to_slice(data[:, :, k]) for k in range(data.shape[2])])
    stack = fit_dtype(stack)
    header = img.header
    windows, initial = [], None
    try:
        lo, hi = float(header["cal_min"]), float(header["cal_max"])
        if hi > lo:
            initial = ((lo + hi) / 2.0, hi - lo)
            windows.append(("File (cal_min..cal_max)", *initial))
    except (KeyError, TypeError, ValueError):
        pass
    return MedicalVolume(path=path, kind="nifti", data=stack, windows=windows, initial_window=initial,
                         affine=np.asarray(img.affine, dtype=np.float64),
                         description=f"NIfTI {'x'.join(map(str, shape))} {img.get_data_dtype()}")


def nifti_header(path) -> tuple[int, int, int]:
    """(slices, rows, columns) from the header only."""
    path = Path(path)
    shape = tuple(int(s) for s in _load(path).shape)
    if len(shape) < 2 or len(shape) > 4 or 0 in shape:
        raise MedicalError(f"cannot show a NIfTI image of shape {shape} (2-D, 3-D or 4-D only)", path)
    return (shape[2] if len(shape) >= 3 else 1), shape[1], shape[0]
