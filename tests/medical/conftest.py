"""Fixtures of the DICOM / NIfTI tests: the files pydicom and nibabel ship with their packages (no download)."""
import shutil
from pathlib import Path

import pytest

pydicom = pytest.importorskip("pydicom")
nibabel = pytest.importorskip("nibabel")

from medical_files import dicom_file, nifti_file  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_volume_cache():
    from segstudio.core.medical import clear_cache

    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def medical_folder(tmp_path) -> Path:
    """A project folder: CT_small.dcm (one slice), anatomical.nii (25 slices), rtdose.dcm (15 frames)."""
    folder = tmp_path / "scans"
    folder.mkdir()
    shutil.copy(dicom_file("CT_small.dcm"), folder / "ct.dcm")
    shutil.copy(nifti_file("anatomical.nii"), folder / "head.nii")
    shutil.copy(dicom_file("rtdose.dcm"), folder / "dose.dcm")
    (folder / "labels.txt").write_text("_background_\nlesion\n")
    return folder
