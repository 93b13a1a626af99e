"""import-masks / import-voc: labelme projects from mask datasets, read back by our loaders."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.cli import main
from segstudio.core.annotation import LabelSet, annotation_to_label, load_annotation, read_label_mask
from segstudio.core.errors import DatasetError
from segstudio.core.export import convert, import_masks, import_voc


def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def masks_export(sample_project_ro, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("exp") / "masks"
    assert convert(sample_project_ro, None, out, "masks").ok
    return out


def _class_map(json_path: Path, label_set: LabelSet) -> np.ndarray:
    return annotation_to_label(load_annotation(json_path), label_set)[0]


def test_import_masks_mask_mode_round_trips_exactly(masks_export, tmp_path):
    before = _digest(masks_export)
    ls = LabelSet.from_file(masks_export / "classes.txt")
    rep = import_masks(masks_export / "images", masks_export / "masks", masks_export / "classes.txt",
                       tmp_path / "proj", shape="mask")
    assert rep.ok and rep.n_ok == 24
    assert _digest(masks_export) == before  # the source is only read
    proj = tmp_path / "proj"
    assert LabelSet.from_file(proj / "labels.txt").names == ls.names
    for mask in sorted((masks_export / "masks").glob("*.png")):
        ann = load_annotation(proj / f"{mask.stem}.json")  # also checks the copied image's size
        assert (proj / ann.image_path).is_file() and ann.image_path == f"{mask.stem}.png"
        np.testing.assert_array_equal(_class_map(proj / f"{mask.stem}.json", ls), read_label_mask(mask, ls.num_classes))


def test_import_masks_polygons_then_convert_back(masks_export, tmp_path):
    ls = LabelSet.from_file(masks_export / "classes.txt")
    rep = import_masks(masks_export / "images", masks_export / "masks", masks_export / "classes.txt",
                       tmp_path / "proj")
    assert rep.ok
    assert all(s.shape_type == "polygon" for p in (tmp_path / "proj").glob("*.json")
               for s in load_annotation(p).shapes)
    assert convert(tmp_path / "proj", None, tmp_path / "again", "masks").ok
    for mask in sorted((masks_export / "masks").glob("*.png")):
        a = read_label_mask(mask, ls.num_classes)
        b = read_label_mask(tmp_path / "again" / "masks" / mask.name, ls.num_classes)
        for c in range(1, ls.num_classes):
            union = ((a == c) | (b == c)).sum()
            if union:
                assert ((a == c) & (b == c)).sum() / union > 0.95, (mask.name, c)


def test_import_masks_reference_images(masks_export, tmp_path):
    rep = import_masks(masks_export / "images", masks_export / "masks", masks_export / "classes.txt",
                       tmp_path / "proj", copy_images=False)
    assert rep.ok
    assert not list((tmp_path / "proj").glob("*.png"))
    ann = load_annotation(tmp_path / "proj" / "img_000.json")
    assert not Path(ann.image_path).is_absolute()
    assert (tmp_path / "proj" / ann.image_path).resolve() == (masks_export / "images" / "img_000.png").resolve()


def _bad_dataset(masks_export: Path, root: Path) -> Path:
    shutil.copytree(masks_export, root)
    (root / "masks" / "img_001.png").unlink()  # image without mask
    (root / "images" / "img_002.png").unlink()  # mask without image
    Image.fromarray(np.full((256, 256), 9, np.uint8)).save(root / "masks" / "img_003.png")  # class 9 of 4
    Image.fromarray(np.zeros((10, 12), np.uint8)).save(root / "masks" / "img_004.png")  # wrong size
    return root


def test_import_masks_bad_pairs_are_named(masks_export, tmp_path):
    src = _bad_dataset(masks_export, tmp_path / "ds")
    before = _digest(src)
    rep = import_masks(src / "images", src / "masks", src / "classes.txt", tmp_path / "proj")
    assert rep.n_ok == 20
    reasons = {Path(p).name: r for p, r in rep.failures}
    assert set(reasons) == {"img_001.png", "img_002.png", "img_003.png", "img_004.png"}
    assert "no mask" in reasons["img_001.png"] and "no image" in reasons["img_002.png"]
    assert "9" in reasons["img_003.png"] and "12x10" in reasons["img_004.png"]
    assert not (tmp_path / "proj" / "img_003.json").exists() and not (tmp_path / "proj" / "img_003.png").exists()
    assert _digest(src) == before


def test_import_two_workers_write_what_one_writes(masks_export, tmp_path):
    src = _bad_dataset(masks_export, tmp_path / "ds")
    reports = [import_masks(src / "images", src / "masks", src / "classes.txt", tmp_path / f"w{w}", workers=w)
               for w in (1, 2)]
    assert reports[0].n_ok == reports[1].n_ok == 20
    assert reports[0].failures == reports[1].failures
    assert _digest(tmp_path / "w1") == _digest(tmp_path / "w2")


def test_import_never_overwrites(masks_export, tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "img_005.json").write_text("my work")
    rep = import_masks(masks_export / "images", masks_export / "masks", masks_export / "classes.txt", proj)
    assert rep.n_ok == 23 and [Path(p).name for p, _ in rep.failures] == ["img_005.json"]
    assert (proj / "img_005.json").read_text() == "my work"
    assert not (proj / "img_005.png").exists()
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(DatasetError, match="cannot write the output"):
        import_masks(masks_export / "images", masks_export / "masks", masks_export / "classes.txt",
                     tmp_path / "a_file" / "proj")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "labels.txt").write_text("_background_\nsomething\n")
    with pytest.raises(DatasetError, match="labels.txt"):
        import_masks(masks_export / "images", masks_export / "masks", masks_export / "classes.txt",
                     tmp_path / "other")


def test_import_voc_round_trip(sample_project_ro, tmp_path):
    assert convert(sample_project_ro, None, tmp_path / "voc", "voc", options={"viz": False}).ok
    rep = import_voc(tmp_path / "voc", tmp_path / "proj", shape="mask")
    assert rep.ok and rep.n_ok == 24
    ls = LabelSet.from_file(tmp_path / "voc" / "class_names.txt")
    for png in sorted((tmp_path / "voc" / "SegmentationClass").glob("*.png")):
        assert (tmp_path / "proj" / f"{png.stem}.jpg").is_file()
        np.testing.assert_array_equal(_class_map(tmp_path / "proj" / f"{png.stem}.json", ls),
                                      read_label_mask(png, ls.num_classes))


def test_import_voc_default_classes_and_missing_parts(tmp_path):
    root = tmp_path / "VOC"
    (root / "JPEGImages").mkdir(parents=True)
    (root / "SegmentationClass").mkdir()
    img = np.zeros((20, 30, 3), np.uint8)
    lbl = np.zeros((20, 30), np.uint8)
    lbl[5:15, 5:12] = 15  # person
    lbl[4, :] = 255  # VOC boundary: ignore
    Image.fromarray(img).save(root / "JPEGImages" / "a.jpg")
    Image.fromarray(img).save(root / "JPEGImages" / "no_segmentation.jpg")
    p = Image.fromarray(lbl, mode="L")
    p.putpalette([i % 256 for i in range(768)])
    p.save(root / "SegmentationClass" / "a.png")
    p.save(root / "SegmentationClass" / "orphan.png")
    rep = import_voc(root, tmp_path / "proj")
    assert rep.n_ok == 1 and [Path(x).name for x, _ in rep.failures] == ["orphan.png"]
    labels = LabelSet.from_file(tmp_path / "proj" / "labels.txt")
    assert labels.names[15] == "person" and labels.num_classes == 21
    cls = _class_map(tmp_path / "proj" / "a.json", labels)
    assert (cls == 15).sum() >= 60 and (cls[4] == -1).all()
    with pytest.raises(DatasetError, match="JPEGImages folder not found"):
        import_voc(tmp_path / "proj", tmp_path / "x")


@pytest.mark.shared_data
def test_import_voc_labelme_examples(shared_data, tmp_path):
    voc = shared_data / "labelme_examples" / "instance_segmentation" / "data_dataset_voc"
    rep = import_voc(voc, tmp_path / "proj", shape="mask")
    assert rep.ok and rep.n_ok == 3
    ls = LabelSet.from_file(voc / "class_names.txt")
    for png in sorted((voc / "SegmentationClass").glob("*.png")):
        np.testing.assert_array_equal(_class_map(tmp_path / "proj" / f"{png.stem}.json", ls),
                                      read_label_mask(png, ls.num_classes))


@pytest.mark.shared_data
def test_import_binary_masks_from_ph2(shared_data, tmp_path):
    """0/255 masks of a 2-class dataset: 255 is the lesion (the mask conventions)."""
    ph2 = shared_data / "ph2"
    stems = sorted(p.stem for p in (ph2 / "masks").glob("*.png"))[:2]
    for sub in ("images", "masks"):
        (tmp_path / sub).mkdir()
        for s in stems:
            f = next((ph2 / sub).glob(f"{s}.*"))
            (tmp_path / sub / f.name).symlink_to(f)
    rep = import_masks(tmp_path / "images", tmp_path / "masks", ph2 / "classes.txt", tmp_path / "proj")
    assert rep.ok and rep.n_ok == 2
    ls = LabelSet.from_file(ph2 / "classes.txt")
    for s in stems:
        want = read_label_mask(next((ph2 / "masks").glob(f"{s}.*")), ls.num_classes)
        got = _class_map(tmp_path / "proj" / f"{s}.json", ls)
        assert ((got == 1) & (want == 1)).sum() / ((got == 1) | (want == 1)).sum() > 0.98


def test_exports_open_as_datasets(sample_project_ro, masks_export, tmp_path):
    data = pytest.importorskip("segstudio.core.data")
    assert convert(sample_project_ro, None, tmp_path / "voc", "voc", options={"viz": False}).ok
    ls = LabelSet.from_file(sample_project_ro / "labels.txt")
    for root, kind in ((masks_export, "masks"), (tmp_path / "voc", "voc")):
        ds = data.open_dataset(root)
        assert len(ds) == 24, kind
        item = ds[0]
        want = _class_map(sample_project_ro / f"{item['name']}.json", ls)
        np.testing.assert_array_equal(np.asarray(item["mask"]), want)
        assert tuple(item["image"].shape[-2:]) == want.shape


# ---------------------------------------------------------------------------------------------------- CLI
def test_cli_import_masks(masks_export, tmp_path, capsys):
    rc = main(["import-masks", "--images", str(masks_export / "images"), "--masks", str(masks_export / "masks"),
               "--classes", str(masks_export / "classes.txt"), "--out", str(tmp_path / "p"), "-q"])
    out = capsys.readouterr().out
    assert rc == 0 and "converted 24 file(s) to labelme, 0 failed" in out
    assert len(list((tmp_path / "p").glob("*.json"))) == 24


def test_cli_import_bad_files_exit_1(masks_export, tmp_path, capsys):
    src = _bad_dataset(masks_export, tmp_path / "ds")
    rc = main(["import-masks", "--images", str(src / "images"), "--masks", str(src / "masks"),
               "--classes", str(src / "classes.txt"), "--out", str(tmp_path / "p"), "--shape", "mask", "-q",
               "--workers", "2"])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("failed: ") == 4 and "Traceback" not in err


def test_cli_import_voc_missing_folder(tmp_path, capsys):
    rc = main(["import-voc", str(tmp_path / "nothing"), "--out", str(tmp_path / "p")])
    assert rc == 2 and capsys.readouterr().err.startswith("error: ")
