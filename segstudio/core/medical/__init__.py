"""DICOM and NIfTI images (pydicom, nibabel; Qt-free): reading slices, their naming, display windows, and
exporting label volumes.  See docs/annotation.md ("DICOM and NIfTI") and docs/architecture.md."""
from segstudio.core.medical.formats import (
    MEDICAL_SUFFIXES, SLICE_KEY, display_png_bytes, header_info, is_medical_path, medical_kind, medical_stem,
    probe_slice_size, read_slice, slice_stem,
)
from segstudio.core.medical.volume import MedicalError, MedicalVolume, clear_cache, open_volume

__all__ = [
    "MEDICAL_SUFFIXES", "SLICE_KEY", "MedicalError", "MedicalVolume", "clear_cache", "display_png_bytes",
    "header_info", "is_medical_path", "medical_kind", "medical_stem", "open_volume", "probe_slice_size",
    "read_slice", "slice_stem",
]
