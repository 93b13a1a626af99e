"""Fixtures of the DICOM / NIfTI tests: the files pydicom and nibabel ship with their packages (no download)."""
import shutil
from pathlib import Path

import pytest

pydicom = pytest.importorskip("pydicom")
nibabel = pytest.importorskip("nibabel")


def dicom_file(name: str) -> Path:
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is not bundled with this pydicom")
    return Path(path)


def nifti_file(name: str) -> Path:
    from nibabel.testing import data_path

    return Path(data_path) / name


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
