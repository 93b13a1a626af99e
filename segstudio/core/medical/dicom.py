"""DICOM files (pydicom) -> :class:`~segstudio.core.medical.volume.MedicalVolume`.

What is read, in the order applied:

* the pixel data, all frames (``NumberOfFrames``; a single-frame file is a volume of one slice); colour
  (``RGB``, ``YBR_*``) comes back as RGB (pydicom's colour conversion), grayscale as ``MONOCHROME1/2``;
* the modality LUT: ``RescaleSlope`` / ``RescaleIntercept`` (or a Modality LUT Sequence), top level or in the
  shared functional groups of an enhanced multi-frame file -- so CT slices are in Hounsfield units;
* ``MONOCHROME1`` (white = low values) is inverted within the value range the bits allow, so that everything
  downstream (display, training, prediction) sees bright = high, as for ``MONOCHROME2``;
* the initial display window: the file's ``WindowCenter`` / ``WindowWidth`` (every pair is a preset, named
  by ``WindowCenterWidthExplanation``), else its VOI LUT Sequence (the window spanning the LUT's input
  range: the canvas's window is linear), else the image's percentile window.

Errors name the file: not DICOM, no pixel data, truncated pixel data, and a compressed transfer syntax with
no decoder installed (JPEG 2000 / JPEG-LS / 12-bit JPEG need pylibjpeg or GDCM, which segstudio does not
depend on).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from segstudio.core.medical.volume import MedicalError, MedicalVolume, fit_dtype, standard_presets

#: DICOM fields that identify a patient; never copied anywhere by segstudio (tests check the exports)
PATIENT_FIELDS = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientAddress",
                  "OtherPatientIDs", "InstitutionName", "ReferringPhysicianName", "AccessionNumber")


def _dcmread(path: Path, *, pixels: bool):
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        return pydicom.dcmread(str(path), stop_before_pixels=not pixels)
    except InvalidDicomError:
        raise MedicalError("not a DICOM file (no DICM preamble)", path) from None
    except FileNotFoundError:
        raise MedicalError("file not found", path) from None
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MedicalError(f"broken DICOM file ({type(exc).__name__}: {_short(exc)})", path) from None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] + ("..." if len(text) > 200 else "")


def _transfer_syntax(ds) -> str:
    uid = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    return f"{uid.name} ({uid})" if uid is not None else "unknown transfer syntax"


def _pixels(ds, path: Path) -> np.ndarray:
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise MedicalError("no pixel data: the file ends before any image data (truncated) or is not an "
                          "image", path)
    uid = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    try:
        arr = ds.pixel_array
    except (NotImplementedError, RuntimeError) as exc:
        if uid is not None and uid.is_compressed:
            raise MedicalError(f"pixel data compressed with {_transfer_syntax(ds)} and no decoder for it is "
                               f"installed (e.g. pip install pylibjpeg pylibjpeg-openjpeg pylibjpeg-libjpeg)",
                               path) from None
        raise MedicalError(f"cannot decode the pixel data ({_short(exc)})", path) from None
    except (ValueError, EOFError, OSError, KeyError, AttributeError, TypeError) as exc:
        text = _short(exc)
        low = text.lower()
        if "less than expected" in low or "truncat" in low or "length" in low or isinstance(exc, EOFError):
            raise MedicalError(f"truncated pixel data ({text})", path) from None
        raise MedicalError(f"cannot decode the pixel data ({text})", path) from None
    return np.asarray(arr)


def _modality(ds):
    """The dataset holding the modality LUT: the file itself, else an enhanced file's shared groups."""
    if "RescaleSlope" in ds or "RescaleIntercept" in ds or "ModalityLUTSequence" in ds:
        return ds
    try:
        return ds.SharedFunctionalGroupsSequence[0].PixelValueTransformationSequence[0]
    except (AttributeError, IndexError, KeyError):
        return None


def _rescaled(arr: np.ndarray, ds, path: Path) -> np.ndarray:
    src = _modality(ds)
    if src is None:
        return arr
    if "ModalityLUTSequence" in src:
        from pydicom.pixels import apply_modality_lut

        return np.asarray(apply_modality_lut(arr, ds))
    slope = float(src.get("RescaleSlope", 1) or 1)
    intercept = float(src.get("RescaleIntercept", 0) or 0)
    if slope == 1.0 and intercept == 0.0:
        return arr
    return arr.astype(np.float64) * slope + intercept


def _value_range(ds, arr: np.ndarray) -> tuple[float, float]:
    """The range the stored bits allow, through the rescale (for MONOCHROME1 inversion)."""
    bits = int(ds.get("BitsStored", 0) or 0)
    if bits <= 0:
        return float(np.min(arr)), float(np.max(arr))
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    src = _modality(ds)
    if src is not None and "ModalityLUTSequence" not in src:
        slope = float(src.get("RescaleSlope", 1) or 1)
        intercept = float(src.get("RescaleIntercept", 0) or 0)
        lo, hi = sorted((lo * slope + intercept, hi * slope + intercept))
    return float(lo), float(hi)


def _windows(ds) -> list[tuple[str, float, float]]:
    """(name, level, width) of the file's windows: WindowCenter/Width pairs, else the VOI LUT's input range."""
    out = []
    centers, widths = ds.get("WindowCenter"), ds.get("WindowWidth")
    if centers is not None and widths is not None:
        centers = list(centers) if not isinstance(centers, (int, float, str)) and hasattr(centers, "__iter__") else [centers]
        widths = list(widths) if not isinstance(widths, (int, float, str)) and hasattr(widths, "__iter__") else [widths]
        names = ds.get("WindowCenterWidthExplanation")
        names = [names] if isinstance(names, str) else list(names or [])
        for i, (c, w) in enumerate(zip(centers, widths)):
            try:
                c, w = float(c), float(w)
            except (TypeError, ValueError):
                continue
            if w > 0:
                name = str(names[i]) if i < len(names) and str(names[i]).strip() else f"File window {i + 1}"
                out.append((name, c, w))
    if not out and "VOILUTSequence" in ds:
        try:
            item = ds.VOILUTSequence[0]
            n, first = int(item.LUTDescriptor[0]) or 65536, float(item.LUTDescriptor[1])
            name = str(item.get("LUTExplanation") or "File VOI LUT")
            out.append((name, first + n / 2.0, float(n)))
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            pass
    return out


def read_dicom(path) -> MedicalVolume:
    """Decode a DICOM file (every frame) into a :class:`MedicalVolume` (slices along the frame axis)."""
    path = Path(path)
    ds = _dcmread(path, pixels=True)
    arr = _pixels(ds, path)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if frames == 1 or (samples > 1 and arr.ndim == 3):
        arr = arr[None]
    colour = samples > 1
    if not colour:
        arr = _rescaled(arr, ds, path)
    windows = [] if colour else _windows(ds)
    if photometric == "MONOCHROME1":
        lo, hi = _value_range(ds, arr)
        arr = (lo + hi) - arr.astype(np.float64)
        windows = [(name, lo + hi - c, w) for name, c, w in windows]
    data = fit_dtype(arr)
    modality = str(ds.get("Modality", "") or "")
    presets = windows + ([] if colour else standard_presets(modality))
    return MedicalVolume(path=path, kind="dicom", data=data, windows=presets,
                         initial_window=windows[0][1:] if windows else None, affine=None,
                         description=f"DICOM {modality or '?'} {photometric}, {data.shape[0]} frame(s), "
                                     f"{_transfer_syntax(ds)}")


def dicom_header(path) -> tuple[int, int, int]:
    """(frames, rows, columns) from the header only (no pixel decoding): for listing slices."""
    path = Path(path)
    ds = _dcmread(path, pixels=False)
    try:
        return int(ds.get("NumberOfFrames", 1) or 1), int(ds.Rows), int(ds.Columns)
    except AttributeError:
        raise MedicalError("DICOM file without Rows/Columns (not an image)", path) from None
