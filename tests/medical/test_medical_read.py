"""Reading DICOM and NIfTI files: pixels, rescale, photometric interpretation, windows, frames, slices, errors."""
import gzip
import shutil

import numpy as np
import pydicom
import pytest
from medical_files import dicom_file, nifti_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from segstudio.core.annotation.io import load_image
from segstudio.core.annotation.images import probe_image_size
from segstudio.core.errors import SegStudioError
from segstudio.core.medical import MedicalError, open_volume, read_slice
from segstudio.core.medical.nifti import slice_to_voxels, voxels_to_slice
from segstudio.core.medical.volume import CT_PRESETS


def test_ct_is_read_in_hounsfield_units_with_ct_presets():
    path = dicom_file("CT_small.dcm")
    ds = pydicom.dcmread(path)
    vol = open_volume(path)
    assert vol.n_slices == 1 and vol.data.dtype == np.int16
    expected = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert np.array_equal(vol.slice(None), expected.astype(np.int16))
    assert vol.slice(None).min() < 0                       # air is negative HU: the intercept was applied
    assert vol.initial_window is None                      # the file has no window: the image's default
    assert [w[0] for w in vol.windows] == [p[0] for p in CT_PRESETS]
    assert np.array_equal(load_image(path), vol.slice(None))   # the one loader of the app reads it too
    assert probe_image_size(path) == (128, 128)


def test_the_files_window_is_the_initial_window():
    vol = open_volume(dicom_file("MR_small.dcm"))
    assert vol.initial_window == (600.0, 1600.0)
    assert vol.windows[0][1:] == (600.0, 1600.0)
    assert vol.windows == [vol.windows[0]]                  # MR: no CT presets


def test_monochrome1_is_inverted_with_its_window(tmp_path):
    src = dicom_file("MR_small.dcm")
    ds = pydicom.dcmread(src)
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.save_as(tmp_path / "mono1.dcm")
    normal = open_volume(src).slice(None).astype(np.float64)
    inverted = open_volume(tmp_path / "mono1.dcm")
    lo, hi = -(2 ** 15), 2 ** 15 - 1                        # BitsStored 16, signed
    assert np.array_equal(inverted.slice(None).astype(np.float64), lo + hi - normal)
    assert inverted.initial_window == (lo + hi - 600.0, 1600.0)
    assert np.unravel_index(np.argmax(inverted.slice(None)), normal.shape) == \
        np.unravel_index(np.argmin(normal), normal.shape)


def test_voi_lut_sequence_gives_the_initial_window(tmp_path):
    ds = pydicom.dcmread(dicom_file("MR_small.dcm"))
    del ds.WindowCenter
    del ds.WindowWidth
    item = Dataset()
    item.LUTDescriptor = [256, 100, 16]
    item.add_new(0x00283006, "US", list(range(0, 65536, 256)))   # LUTData
    item.LUTExplanation = "soft"
    ds.VOILUTSequence = Sequence([item])
    ds.save_as(tmp_path / "voi.dcm")
    vol = open_volume(tmp_path / "voi.dcm")
    assert vol.initial_window == (228.0, 256.0)
    assert vol.windows[0] == ("soft", 228.0, 256.0)


def test_rgb_single_and_multi_frame():
    small = dicom_file("SC_rgb_small_odd.dcm")
    vol = open_volume(small)
    assert vol.data.shape == (1, 3, 3, 3) and vol.data.dtype == np.uint8
    assert np.array_equal(vol.slice(None), pydicom.dcmread(small).pixel_array)
    two = open_volume(dicom_file("SC_rgb_rle_2frame.dcm"))
    assert two.n_slices == 2 and two.slice(1).shape == (100, 100, 3)
    assert not np.array_equal(two.slice(0), two.slice(1))


def test_multi_frame_grayscale_is_a_volume_of_frames():
    path = dicom_file("rtdose.dcm")
    vol = open_volume(path)
    frames = pydicom.dcmread(path).pixel_array
    assert vol.n_slices == 15 and vol.slice_shape == (10, 10)
    assert np.array_equal(vol.slice(3), frames[3].astype(vol.data.dtype))
    with pytest.raises(MedicalError, match="volume of 15 slices"):
        load_image(path)                                    # a volume needs its slice named
    assert np.array_equal(load_image(path, slice=14), vol.slice(14))
    with pytest.raises(MedicalError, match="slice 15 does not exist"):
        read_slice(path, 15)


def test_nifti_slices_follow_one_mapping_both_ways():
    import nibabel as nib

    path = nifti_file("anatomical.nii")
    data = np.asanyarray(nib.load(str(path)).dataobj)
    vol = open_volume(path)
    assert vol.n_slices == data.shape[2] and vol.slice_shape == (data.shape[1], data.shape[0])
    k = 12
    assert np.array_equal(vol.slice(k), np.flipud(data[:, :, k].T))
    assert np.array_equal(slice_to_voxels(vol.slice(k)), data[:, :, k])
    assert np.array_equal(voxels_to_slice(slice_to_voxels(vol.slice(k))), vol.slice(k))
    assert np.allclose(vol.affine, nib.load(str(path)).affine)


def test_4d_nifti_shows_its_first_volume_and_the_header_window():
    import nibabel as nib

    path = nifti_file("example4d.nii.gz")
    data = np.asanyarray(nib.load(str(path)).dataobj)
    vol = open_volume(path)
    assert vol.n_slices == data.shape[2]
    assert np.array_equal(vol.slice(5), np.flipud(data[:, :, 5, 0].T))
    assert vol.initial_window is not None


def _error(path) -> str:
    with pytest.raises(SegStudioError) as info:
        open_volume(path)
    assert str(path) in str(info.value)
    return str(info.value)


def test_truncated_dicom_pixel_data_is_a_clear_error():
    assert "truncated pixel data" in _error(dicom_file("MR_truncated.dcm"))


def test_dicom_cut_short_is_a_clear_error(tmp_path):
    cut = tmp_path / "cut.dcm"
    data = dicom_file("CT_small.dcm").read_bytes()
    cut.write_bytes(data[:3000])                      # inside the header
    assert "truncated" in _error(cut)
    cut.write_bytes(data[:-5000])                     # inside the pixel data
    assert "truncated pixel data" in _error(cut)


def test_not_dicom_is_a_clear_error(tmp_path):
    fake = tmp_path / "fake.dcm"
    fake.write_bytes(b"this is not a DICOM file" * 20)
    assert "not a DICOM file" in _error(fake)


def test_compressed_transfer_syntax_without_a_decoder_is_named():
    message = _error(dicom_file("JPEG-lossy.dcm"))
    assert "JPEG Extended" in message and "no decoder" in message


def test_broken_nifti_is_a_clear_error(tmp_path):
    src = nifti_file("example4d.nii.gz")
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(gzip.compress(gzip.decompress(src.read_bytes())[:2000]))
    assert "cut.nii.gz" in _error(cut)
    junk = tmp_path / "junk.nii"
    junk.write_bytes(b"\0" * 100)
    assert "not a readable NIfTI file" in _error(junk)


def test_volumes_are_cached_until_the_file_changes(tmp_path):
    path = tmp_path / "a.nii"
    shutil.copy(nifti_file("anatomical.nii"), path)
    assert open_volume(path) is open_volume(path)
    first = open_volume(path)
    shutil.copy(nifti_file("functional.nii"), path)
    assert open_volume(path) is not first
