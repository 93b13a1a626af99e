"""Every export format end to end, read back with our own readers."""
from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from PIL import Image

from segstudio.core.annotation import (
    LabelSet,
    annotation_to_label,
    load_annotation,
    read_label_mask,
)
from segstudio.core.errors import ConfigError, UnknownNameError
from segstudio.core.export import EXPORTERS, convert
from segstudio.core.export.geometry import group_instances, instance_mask
from segstudio.core.export.readers import read_coco, read_nnunet_raw, read_yolo_seg


PROJECTS = ["sample_project_ro", "edge_project", "labelme_example"]


@pytest.fixture
def labelme_example(shared_data):
    """labelme's instance-segmentation example folder (JPEG images, groups, __ignore__); labels one level up."""
    return shared_data / "labelme_examples" / "instance_segmentation" / "data_annotated"


def _labels(src):
    return src / "labels.txt" if (src / "labels.txt").is_file() else src.parent / "labels.txt"


def _expected(src, stem, label_set):
    return annotation_to_label(load_annotation(src / f"{stem}.json"), label_set)


def _json_stems(src):
    return sorted(p.stem for p in src.glob("*.json") if p.name != "segstudio.json")


def test_registry_lists_the_five_formats():
    assert set(EXPORTERS.names()) >= {"voc", "coco", "yolo", "nnunet", "masks"}
    with pytest.raises(UnknownNameError) as e:
        EXPORTERS.get("tiff-stack")
    assert "voc" in str(e.value) and "nnunet" in str(e.value)


@pytest.mark.parametrize("project", PROJECTS)
def test_masks_export_reads_back(project, request, tmp_path):
    src = request.getfixturevalue(project)
    ls = LabelSet.from_file(_labels(src))
    rep = convert(src, _labels(src), tmp_path / "out", "masks")
    assert rep.ok and rep.n_ok == len(_json_stems(src))
    assert LabelSet.from_file(tmp_path / "out" / "classes.txt").names == ls.names
    for stem in _json_stems(src):
        cls, _ = _expected(src, stem, ls)
        got = read_label_mask(tmp_path / "out" / "masks" / f"{stem}.png", ls.num_classes)
        np.testing.assert_array_equal(got, cls)
        img = next((tmp_path / "out" / "images").glob(f"{stem}.*"))
        assert Image.open(img).size == (cls.shape[1], cls.shape[0])
    if project == "edge_project":  # the ignore shape survives as 255 / -1
        assert (read_label_mask(tmp_path / "out" / "masks" / "a_rgb.png", ls.num_classes) == -1).any()


def test_masks_only_option_writes_no_images(sample_project_ro, tmp_path):
    rep = convert(sample_project_ro, None, tmp_path / "out", "masks", options={"images": False})
    assert rep.ok and not (tmp_path / "out" / "images").exists()
    assert len(list((tmp_path / "out" / "masks").glob("*.png"))) == rep.n_ok


def test_unknown_option_is_refused(sample_project_ro, tmp_path):
    with pytest.raises(ConfigError, match="viz"):
        convert(sample_project_ro, None, tmp_path / "out", "masks", options={"viz": False})


@pytest.mark.parametrize("project", PROJECTS)
def test_voc_export_reads_back(project, request, tmp_path):
    src = request.getfixturevalue(project)
    ls = LabelSet.from_file(_labels(src))
    out = tmp_path / "voc"
    assert convert(src, _labels(src), out, "voc").ok
    assert (out / "class_names.txt").read_text() == "\n".join(ls.names)
    for stem in _json_stems(src):
        cls, ins = _expected(src, stem, ls)
        np.testing.assert_array_equal(read_label_mask(out / "SegmentationClass" / f"{stem}.png", ls.num_classes), cls)
        np.testing.assert_array_equal(np.load(out / "SegmentationClassNpy" / f"{stem}.npy"), cls)
        ins = np.where(cls == -1, 0, ins)
        np.testing.assert_array_equal(np.load(out / "SegmentationObjectNpy" / f"{stem}.npy"), ins)
        np.testing.assert_array_equal(np.asarray(Image.open(out / "SegmentationObject" / f"{stem}.png")), ins)
        jpg = Image.open(out / "JPEGImages" / f"{stem}.jpg")
        assert jpg.format == "JPEG" and jpg.size == (cls.shape[1], cls.shape[0])
        assert (out / "SegmentationClassVisualization" / f"{stem}.jpg").is_file()


def test_voc_without_viz(sample_project_ro, tmp_path):
    assert convert(sample_project_ro, None, tmp_path / "voc", "voc", options={"viz": False}).ok
    assert not (tmp_path / "voc" / "SegmentationClassVisualization").exists()


@pytest.mark.parametrize("project", PROJECTS)
def test_coco_export_reads_back(project, request, tmp_path):
    src = request.getfixturevalue(project)
    ls = LabelSet.from_file(_labels(src))
    out = tmp_path / "coco"
    assert convert(src, _labels(src), out, "coco").ok
    data = json.loads((out / "annotations.json").read_text())
    assert [c["name"] for c in data["categories"]] == ls.names
    assert [c["id"] for c in data["categories"]] == list(range(ls.num_classes))
    assert [im["id"] for im in data["images"]] == list(range(len(_json_stems(src))))
    # from 1: pycocotools' evaluator reads a matched ground-truth id 0 as "unmatched"
    assert [a["id"] for a in data["annotations"]] == list(range(1, len(data["annotations"]) + 1))
    by_image = {im["id"]: im for im in data["images"]}
    read = {item.name: item for item in read_coco(out)}  # our reader: polygons rasterized, images decoded
    assert sorted(read) == _json_stems(src)
    for im in data["images"]:
        stem = im["file_name"].split("/")[-1].rsplit(".", 1)[0]
        assert (out / im["file_name"]).is_file()
        ann = load_annotation(src / f"{stem}.json")
        insts = group_instances(ann, ls.label_name_to_value)
        anns = [a for a in data["annotations"] if a["image_id"] == im["id"]]
        assert len(anns) == len(insts) == len(read[stem].instances)
        assert read[stem].image.shape[:2] == (im["height"], im["width"])
        for inst, a, got in zip(insts, anns, read[stem].instances):
            mask = instance_mask(inst, (im["height"], im["width"]))
            assert a["category_id"] == inst.class_id and a["iscrowd"] == 0
            assert a["area"] == float(mask.sum())
            ys, xs = np.nonzero(mask)
            assert a["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
            assert got.class_id == inst.class_id
            outlines = all(s.shape_type in ("polygon", "rectangle", "circle") for s in inst.shapes)
            if outlines:
                assert all(len(poly) >= 6 and len(poly) % 2 == 0 for poly in a["segmentation"])
            else:  # mask, line, linestrip, point: RLE of the exact instance mask
                assert a["segmentation"]["size"] == [im["height"], im["width"]]
                assert sum(a["segmentation"]["counts"]) == im["height"] * im["width"]
            if all(s.shape_type == "polygon" for s in inst.shapes) or not outlines:  # rasterizes back exactly
                np.testing.assert_array_equal(got.mask, mask)
            else:  # rectangles, circles as outlines: close to their mask
                assert (got.mask & mask).sum() / (got.mask | mask).sum() > 0.6, (stem, inst.label)
        assert by_image[im["id"]]["width"] == ann.image_width
    assert not any(a["category_id"] < 0 for a in data["annotations"])  # __ignore__ is left out


@pytest.mark.parametrize("project", PROJECTS)
def test_yolo_export_reads_back(project, request, tmp_path):
    src = request.getfixturevalue(project)
    ls = LabelSet.from_file(_labels(src))
    out = tmp_path / "yolo"
    assert convert(src, _labels(src), out, "yolo").ok
    meta = yaml.safe_load((out / "data.yaml").read_text())
    assert meta["names"] == {i - 1: n for i, n in enumerate(ls.names) if i} and meta["train"] == "images"
    read = {item.name: item for item in read_yolo_seg(out)}  # our reader: data.yaml, labels/, images/
    assert sorted(read) == _json_stems(src)
    assert read_yolo_seg(out).classes == {i: n for i, n in enumerate(ls.names)}
    for stem in _json_stems(src):
        ann = load_annotation(src / f"{stem}.json")
        h, w = ann.image_height, ann.image_width
        assert read[stem].image.shape[:2] == (h, w)
        lines = (out / "labels" / f"{stem}.txt").read_text().splitlines()
        insts = [i for i in group_instances(ann, ls.label_name_to_value) if i.class_id > 0]
        assert len(lines) == len(insts) == len(read[stem].instances)
        for inst, got in zip(insts, read[stem].instances):
            mask = got.mask
            assert got.class_id == inst.class_id
            want = instance_mask(inst, (h, w))
            iou = (mask & want).sum() / (mask | want).sum()
            if all(s.shape_type == "polygon" for s in inst.shapes):
                # the same polygon(s) rasterized again: normalization only moves border pixels
                assert iou > 0.95, (stem, inst.label, iou)
            else:  # rectangles, circles, lines, points, masks become outlines: close to their mask
                assert iou > 0.6, (stem, inst.label, iou)


def test_yolo_split_is_seeded_and_complete(sample_project_ro, tmp_path):
    out = tmp_path / "yolo"
    assert convert(sample_project_ro, None, out, "yolo", options={"val_fraction": 0.25, "seed": 3}).ok
    train = sorted(p.stem for p in (out / "labels" / "train").glob("*.txt"))
    val = sorted(p.stem for p in (out / "labels" / "val").glob("*.txt"))
    assert len(val) == 6 and len(train) == 18 and not set(train) & set(val)
    assert sorted(p.stem for p in (out / "images" / "val").iterdir()) == val
    meta = yaml.safe_load((out / "data.yaml").read_text())
    assert (meta["train"], meta["val"]) == ("images/train", "images/val")
    out2 = tmp_path / "yolo2"
    convert(sample_project_ro, None, out2, "yolo", options={"val_fraction": 0.25, "seed": 3})
    assert sorted(p.stem for p in (out2 / "labels" / "val").glob("*.txt")) == val


def test_yolo_bad_fraction(sample_project_ro, tmp_path):
    with pytest.raises(ConfigError, match="val_fraction"):
        convert(sample_project_ro, None, tmp_path / "y", "yolo", options={"val_fraction": 1.5})


@pytest.mark.parametrize("project", PROJECTS)
def test_nnunet_export_reads_back(project, request, tmp_path):
    src = request.getfixturevalue(project)
    ls = LabelSet.from_file(_labels(src))
    out = tmp_path / "Dataset001_Test"
    assert convert(src, _labels(src), out, "nnunet").ok
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["file_ending"] == ".png" and meta["numTraining"] == len(_json_stems(src))
    assert meta["name"] == "Dataset001_Test"
    labels = dict(meta["labels"])
    ignore = labels.pop("ignore", None)
    assert labels == {("background" if i == 0 else n): i for i, n in enumerate(ls.names)}
    n_channels = len(meta["channel_names"])
    read = {item.name: item for item in read_nnunet_raw(out)}  # our reader: ignore value back to -1
    assert sorted(read) == _json_stems(src)
    for stem in _json_stems(src):
        cls, _ = _expected(src, stem, ls)
        lbl = np.asarray(Image.open(out / "labelsTr" / f"{stem}.png"))
        assert lbl.dtype == np.uint8
        np.testing.assert_array_equal(lbl, np.where(cls < 0, ls.num_classes, cls))
        np.testing.assert_array_equal(read[stem].label, cls)
        img = read[stem].image
        assert img.shape[:2] == cls.shape and (img.shape[2] if img.ndim == 3 else 1) == n_channels
    if project == "edge_project":  # grey + RGB cases: all made RGB; the ignore shape declares "ignore"
        assert n_channels == 3 and ignore == ls.num_classes
    elif project == "labelme_example":  # RGB JPEGs with __ignore__ shapes
        assert ignore == ls.num_classes and meta["channel_names"] == {"0": "R", "1": "G", "2": "B"}
    else:
        assert ignore is None and meta["channel_names"] == {"0": "R", "1": "G", "2": "B"}
