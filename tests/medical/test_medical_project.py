"""DICOM / NIfTI in a project: one entry per slice, slice JSONs, training datasets, exports, de-identification."""
import base64
import json

import numpy as np
import pytest

from segstudio.core.annotation import Annotation, Shape, load_annotation, save_annotation
from segstudio.core.data.labelme import labelme_dataset
from segstudio.core.medical import read_slice, slice_stem
from segstudio.core.project import Project, open_path

PATIENT = (b"CompressedSamples^CT1", b"1CT1", "CompressedSamples^CT1", "1CT1")


def _slice_json(folder, volume: str, index, shapes, stem=None):
    """A labelme JSON for slice ``index`` (None: a one-slice file) as the annotation window writes it."""
    image = read_slice(folder / volume, index)
    ann = Annotation(shapes=shapes, image_path=volume, image_height=image.shape[0], image_width=image.shape[1],
                     extra={} if index is None else {"imageSlice": index})
    path = folder / f"{stem}.json"
    save_annotation(ann, path)
    return path


def _square(x0, y0, x1, y1, label="lesion"):
    return Shape(label=label, points=[[x0, y0], [x1, y1]], shape_type="rectangle")


def test_project_lists_one_entry_per_slice(medical_folder):
    project = Project(medical_folder)
    stems = [e.stem for e in project.images]
    assert "ct" in stems
    assert [s for s in stems if s.startswith("head_z")] == [f"head_z{k:03d}" for k in range(25)]
    assert [s for s in stems if s.startswith("dose_f")] == [f"dose_f{k:03d}" for k in range(15)]
    entry = project.entry_for("head_z012")
    assert entry.image_path.name == "head.nii" and entry.json_path.name == "head_z012.json" and entry.slice == 12
    assert project.entry_for("ct").slice is None
    # a slice JSON on disk does not add a second entry
    _slice_json(medical_folder, "head.nii", 12, [_square(3, 4, 10, 12)], "head_z012")
    project.rescan()
    assert [e.stem for e in project.images].count("head_z012") == 1
    assert project.status(project.entry_for("head_z012")) == "annotated"
    assert open_path(medical_folder / "head.nii")[1].stem == "head_z000"


def test_slice_naming():
    assert slice_stem("a/scan.nii.gz", 12, 300) == "scan_z012"
    assert slice_stem("scan.nii.gz", 12, 3000) == "scan_z0012"
    assert slice_stem("cine.dcm", 3, 10) == "cine_f003"


def test_training_reads_the_slice_pixels(medical_folder):
    _slice_json(medical_folder, "head.nii", 12, [_square(3, 4, 10, 12)], "head_z012")
    _slice_json(medical_folder, "head.nii", 20, [], "head_z020")
    _slice_json(medical_folder, "ct.dcm", None, [_square(20, 20, 60, 50)], "ct")
    ds = labelme_dataset(medical_folder)
    assert sorted(ds.names) == ["ct", "head_z012", "head_z020"]
    for i, name in enumerate(ds.names):
        image, mask = ds.load_raw(i)
        if name == "ct":
            expected = read_slice(medical_folder / "ct.dcm")
        else:
            expected = read_slice(medical_folder / "head.nii", int(name[-3:]))
        assert np.array_equal(image, expected)
        assert mask.shape == expected.shape[:2]
    i = ds.names.index("head_z012")
    assert ds.load_raw(i)[1][4:13, 3:11].min() == 1


def test_embedded_image_data_is_deidentified(medical_folder):
    path = _slice_json(medical_folder, "ct.dcm", None, [_square(20, 20, 60, 50)], "ct")
    ann = load_annotation(path)
    save_annotation(ann, path, with_image_data=True)
    text = path.read_text()
    raw = json.loads(text)
    png = base64.b64decode(raw["imageData"])
    assert png.startswith(b"\x89PNG")
    for secret in PATIENT:
        assert (secret not in png) if isinstance(secret, bytes) else (secret not in text)
    # the file stays the source of the pixels (imageData is only a display rendering)
    from segstudio.core.annotation.io import annotation_image

    assert np.array_equal(annotation_image(load_annotation(path), path), read_slice(medical_folder / "ct.dcm"))


@pytest.mark.parametrize("fmt", ["masks", "voc", "coco"])
def test_dicom_images_export_as_deidentified_png(medical_folder, tmp_path, fmt):
    from segstudio.core.export import convert

    _slice_json(medical_folder, "ct.dcm", None, [_square(20, 20, 60, 50)], "ct")
    _slice_json(medical_folder, "dose.dcm", 4, [_square(1, 1, 5, 5)], "dose_f004")
    out = tmp_path / fmt
    report = convert(medical_folder, medical_folder / "labels.txt", out, fmt)
    assert report.n_ok == 2, report.failures
    written = [p for p in out.rglob("*") if p.is_file()]
    assert not any(p.suffix == ".dcm" for p in written)
    assert any(p.suffix in (".png", ".jpg") and p.stem == "ct" for p in written), written  # coco: JPEG
    for p in written:
        data = p.read_bytes()
        for secret in PATIENT[:2]:
            assert secret not in data, (p, secret)


def test_nifti_label_volume_is_aligned_with_the_source_affine(medical_folder, tmp_path):
    import nibabel as nib

    from segstudio.core.export import convert

    _slice_json(medical_folder, "head.nii", 12, [_square(3, 4, 10, 12)], "head_z012")
    _slice_json(medical_folder, "head.nii", 3, [_square(0, 0, 2, 2)], "head_z003")
    _slice_json(medical_folder, "ct.dcm", None, [_square(20, 20, 60, 50)], "ct")
    out = tmp_path / "nifti"
    report = convert(medical_folder, medical_folder / "labels.txt", out, "nifti")
    assert report.n_ok == 2
    assert len(report.failures) == 1 and "ct.json" in str(report.failures[0][0]) + report.failures[0][1]
    src = nib.load(str(medical_folder / "head.nii"))
    lab = nib.load(str(out / "head_labels.nii.gz"))
    assert lab.shape == src.shape[:3]
    assert np.allclose(lab.affine, src.affine)
    data = np.asanyarray(lab.dataobj)
    assert set(np.unique(data)) == {0, 1}
    assert data[:, :, [k for k in range(25) if k not in (3, 12)]].max() == 0
    # image pixel (row r, column c) of slice k is voxel (c, J-1-r, k): the rectangle x 3..10, y 4..12
    J = src.shape[1]
    assert data[3, J - 1 - 4, 12] == 1 and data[10, J - 1 - 12, 12] == 1
    assert data[11, J - 1 - 4, 12] == 0 and data[3, J - 1 - 13, 12] == 0
    assert (out / "classes.txt").read_text() == "_background_\nlesion\n"


def test_prediction_reads_each_slice(medical_folder, tmp_path):
    """The Review dock's prediction (core/review predict_entries) predicts every slice from its own pixels."""
    from inference_helpers import make_checkpoint, threshold_registered

    from segstudio.core.inference import Predictor
    from segstudio.core.review.project import predict_entries, read_prediction

    with threshold_registered("test_medical_threshold"):
        ckpt = make_checkpoint(tmp_path / "best.pt", "test_medical_threshold", class_names=("_background_", "lesion"))
        project = Project(medical_folder)
        entries = [project.entry_for(s) for s in ("head_z005", "head_z012", "ct")]
        report = predict_entries(ckpt, project, entries, device="cpu")
        assert report.n_ok == 3, report.failures
        predictor = Predictor.from_checkpoint(ckpt, device="cpu")
        for entry, image in zip(entries, (read_slice(medical_folder / "head.nii", 5),
                                          read_slice(medical_folder / "head.nii", 12),
                                          read_slice(medical_folder / "ct.dcm"))):
            assert np.array_equal(read_prediction(project, entry), predictor.predict(image).label)
    # the two slices really differ, so a mix-up of slices would be seen
    assert not np.array_equal(read_prediction(project, entries[0]), read_prediction(project, entries[1]))


def test_predict_cli_predicts_every_slice_of_a_folder(medical_folder, tmp_path, capsys):
    """`segstudio predict` on a folder with DICOM / NIfTI files: one mask per slice, named like its JSON."""
    from inference_helpers import make_checkpoint, threshold_registered

    from segstudio.cli import main
    from segstudio.core.annotation.masks import read_label_mask
    from segstudio.core.inference import Predictor

    with threshold_registered("test_medical_threshold"):
        ckpt = make_checkpoint(tmp_path / "best.pt", "test_medical_threshold", class_names=("_background_", "lesion"))
        out = tmp_path / "pred"
        assert main(["predict", "--weights", str(ckpt), "--images", str(medical_folder), "--out", str(out),
                     "--quiet"]) == 0
        stems = sorted(p.stem for p in out.glob("*.png"))
        assert stems == sorted(["ct"] + [f"head_z{k:03d}" for k in range(25)] + [f"dose_f{k:03d}" for k in range(15)])
        predictor = Predictor.from_checkpoint(ckpt, device="cpu")
        for stem, image in (("head_z007", read_slice(medical_folder / "head.nii", 7)),
                            ("dose_f009", read_slice(medical_folder / "dose.dcm", 9)),
                            ("ct", read_slice(medical_folder / "ct.dcm"))):
            assert np.array_equal(read_label_mask(out / f"{stem}.png", 2), predictor.predict(image).label)
