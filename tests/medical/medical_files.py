"""The DICOM / NIfTI files pydicom and nibabel ship with their packages (a unique module name, imported by name)."""
from pathlib import Path

import pytest


def dicom_file(name: str) -> Path:
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)   # the bundled files only: never a download
    if path is None:
        pytest.skip(f"{name} is not bundled with this pydicom")
    return Path(path)


def nifti_file(name: str) -> Path:
    from nibabel.testing import data_path

    return Path(data_path) / name
