"""Our own readers of COCO, YOLO-seg and nnU-Net exports: round trips of the sample project, RLE, bad input."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from PIL import Image

from segstudio.core.annotation import LabelSet, annotation_to_label, load_annotation, load_image
from segstudio.core.errors import DatasetError
from segstudio.core.export import convert
from segstudio.core.export.geometry import group_instances, instance_mask
from segstudio.core.export.readers import (
    read_coco,
    read_nnunet_raw,
    read_yolo_seg,
    rle_counts_from_string,
    rle_decode,
)


@pytest.fixture(scope="module")
def exports(sample_project_ro, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("exports")
    out = {}
    for fmt in ("coco", "yolo", "nnunet"):
        out[fmt] = root / fmt
        assert convert(sample_project_ro, None, out[fmt], fmt).ok
    return out


def _expected(src: Path, name: str):
    ls = LabelSet.from_file(src / "labels.txt")
    ann = load_annotation(src / f"{name}.json")
    return ann, ls, annotation_to_label(ann, ls)[0]


def _names(src: Path) -> list[str]:
    return sorted(p.stem for p in src.glob("img_*.json"))


# ------------------------------------------------------------------------------------------- round trips
def test_coco_reads_back_exactly(exports, sample_project_ro):
    ds = read_coco(exports["coco"])
    assert ds.classes == {0: "_background_", 1: "lesion", 2: "cyst"}
    assert ds.names == _names(sample_project_ro) and len(ds) == 24
    for item in ds:
        ann, ls, cls = _expected(sample_project_ro, item.name)
        assert item.label.dtype == np.int64
        np.testing.assert_array_equal(item.label, cls)  # polygons as annotated: the same rasterization
        insts = group_instances(ann, ls.label_name_to_value)
        assert [i.class_id for i in item.instances] == [i.class_id for i in insts]
        for got, want in zip(item.instances, insts):
            np.testing.assert_array_equal(got.mask, instance_mask(want, cls.shape))
        assert item.image.shape == (*cls.shape, 3)  # re-encoded as JPEG: same size, not the same bytes


def test_yolo_reads_back_exactly(exports, sample_project_ro):
    """Coordinates are written so that their float64 and float32 read-back keeps each vertex's integer part
    (what PIL and Ultralytics rasterize from), so the sample's polygons (vertices with one decimal) read
    back to the class map exactly (with fixed 6 decimals edges moved by a pixel: IoU 0.991)."""
    ds = read_yolo_seg(exports["yolo"])
    assert ds.classes == {0: "_background_", 1: "lesion", 2: "cyst"}
    assert ds.names == _names(sample_project_ro)
    for item in ds:
        ann, ls, cls = _expected(sample_project_ro, item.name)
        insts = group_instances(ann, ls.label_name_to_value)
        assert [i.class_id for i in item.instances] == [i.class_id for i in insts]
        for got, want in zip(item.instances, insts):
            np.testing.assert_array_equal(got.mask, instance_mask(want, cls.shape), err_msg=item.name)
        np.testing.assert_array_equal(item.label, cls, err_msg=item.name)
        png = load_image(sample_project_ro / f"{item.name}.png")
        np.testing.assert_array_equal(item.image, png)  # the PNG was copied byte for byte


def test_yolo_coordinates_keep_the_integer_part():
    """0.216931 x 567 = 122.99988: the vertex x = 123 would move a pixel; one more unit in the 6th decimal
    (or more decimals) keeps it, in float64 and in Ultralytics' float32 arithmetic."""
    from segstudio.core.export.yolo import format_line, normalized_coordinates

    assert format_line(0, [123, 45, 566, 0, 567, 300], 567, 301).split()[1] == "0.216932"
    rng = np.random.default_rng(0)
    for size in (567, 999, 1023, 4000, 7777):
        pixels = np.concatenate([np.arange(size + 1.0), rng.uniform(0, size, 2000),
                                 np.arange(1, size) - 1e-7, np.arange(size) + 0.5])
        text = normalized_coordinates(pixels, size)
        q64 = np.asarray(text, np.float64) * size
        q32 = np.asarray(text, np.float32) * np.float32(size)
        np.testing.assert_array_equal(np.floor(q64), np.floor(pixels))
        np.testing.assert_array_equal(np.floor(q32), np.floor(pixels))
        assert max(len(t) for t in text) <= 14 and np.asarray(text, float).max() <= 1.0
        assert np.abs(np.asarray(text, float) * size - pixels).max() < 0.01


def test_nnunet_reads_back_exactly(exports, sample_project_ro):
    ds = read_nnunet_raw(exports["nnunet"])
    assert ds.classes == {0: "background", 1: "lesion", 2: "cyst"} and ds.names == _names(sample_project_ro)
    for item in ds:
        _ann, _ls, cls = _expected(sample_project_ro, item.name)
        np.testing.assert_array_equal(item.label, cls)
        assert item.instances is None
        np.testing.assert_array_equal(item.image, load_image(sample_project_ro / f"{item.name}.png"))


def test_nnunet_ignore_label_reads_as_minus_one(edge_project, tmp_path):
    assert convert(edge_project, None, tmp_path / "nn", "nnunet").ok
    ls = LabelSet.from_file(edge_project / "labels.txt")
    seen_ignore = False
    for item in read_nnunet_raw(tmp_path / "nn"):
        cls = annotation_to_label(load_annotation(edge_project / f"{item.name}.json"), ls)[0]
        np.testing.assert_array_equal(item.label, cls)
        seen_ignore |= bool((item.label == -1).any())
        assert item.image.ndim == 3  # grey + RGB mix: every case written as RGB
    assert seen_ignore


# ------------------------------------------------------------------------------------------------- RLE
def _encode_string(counts: list[int]) -> str:
    """pycocotools' rleToString, written from its definition, for the round trip below."""
    out = []
    for i, x in enumerate(counts):
        if i > 2:
            x -= counts[i - 2]
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def _counts(mask: np.ndarray) -> list[int]:
    flat = mask.T.ravel().astype(np.int8)  # column-major
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flat, [2]])) != 0)
    runs = np.diff(np.concatenate([[0], edges]))
    return ([0] if flat[0] else []) + runs[runs > 0].tolist() if flat.size else []


def test_rle_known_vectors():
    assert rle_counts_from_string("122O") == [1, 2, 2, 1]  # "O": a negative delta (-1) to the run 2 back
    np.testing.assert_array_equal(rle_decode([1, 2, 2, 1], 2, 3), [[0, 1, 0], [1, 0, 1]])
    assert rle_counts_from_string("Z11") == [42, 1]  # 42 needs two characters
    assert rle_decode([42, 1], 1, 43)[0].nonzero()[0].tolist() == [42]
    with pytest.raises(ValueError, match="cover"):
        rle_decode([1, 2], 2, 3)


def test_rle_string_round_trip():
    rng = np.random.default_rng(0)
    mask = cv2.dilate((rng.random((37, 53)) > 0.97).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    mask[:, :3] = True  # starts with a run of ones: counts begin with 0
    counts = _counts(mask)
    assert sum(counts) == mask.size and counts[0] == 0
    assert rle_counts_from_string(_encode_string(counts)) == counts
    np.testing.assert_array_equal(rle_decode(counts, 37, 53), mask)


def test_coco_rle_and_crowd(exports, tmp_path):
    root = tmp_path / "coco"
    shutil.copytree(exports["coco"], root)
    data = json.loads((root / "annotations.json").read_text())
    first = data["annotations"][0]
    im = next(i for i in data["images"] if i["id"] == first["image_id"])
    mask = np.zeros((im["height"], im["width"]), bool)
    mask[10:20, 30:45] = True
    data["annotations"].append({"id": 999, "image_id": im["id"], "category_id": 2, "iscrowd": 1, "area": 150,
                                "bbox": [30, 10, 15, 10],
                                "segmentation": {"size": [im["height"], im["width"]],
                                                 "counts": _encode_string(_counts(mask))}})
    first["segmentation"] = {"size": [im["height"], im["width"]], "counts": _counts(mask)}
    (root / "annotations.json").write_text(json.dumps(data))
    item = next(it for it in read_coco(root) if it.name == Path(im["file_name"]).stem)
    np.testing.assert_array_equal(item.instances[0].mask, mask)  # uncompressed counts
    assert item.instances[-1].iscrowd and (item.instances[-1].mask == mask).all()  # compressed string
    assert (item.label[mask] == 2).all()  # painted last


# ------------------------------------------------------------------------------------------ bad input
def _edit_json(path: Path, fn) -> None:
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


COCO_CASES = [
    ("broken", lambda r: (r / "annotations.json").write_text("{"), "annotations.json", "broken JSON"),
    ("no categories", lambda r: _edit_json(r / "annotations.json", lambda d: d.pop("categories")),
     "annotations.json", "'categories' missing"),
    ("unknown category", lambda r: _edit_json(r / "annotations.json",
                                              lambda d: d["annotations"][0].update(category_id=77)),
     "annotations.json", "category_id 77 is not in categories"),
    ("odd polygon", lambda r: _edit_json(r / "annotations.json",
                                         lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3, 4, 5]])),
     "annotations.json", "annotation 1: polygon 0 has 5 coordinates"),
    ("short RLE", lambda r: _edit_json(r / "annotations.json", lambda d: d["annotations"][0].update(
        segmentation={"size": [256, 256], "counts": [5, 5]})), "annotations.json", "RLE runs cover 10 pixels"),
    ("missing image", lambda r: (r / "JPEGImages" / "img_000.jpg").unlink(), "JPEGImages/img_000.jpg",
     "image not found"),
    ("wrong size", lambda r: _edit_json(r / "annotations.json", lambda d: d["images"][0].update(height=99)),
     "JPEGImages/img_000.jpg", "annotations.json says 256x99"),
]


def _write_label(root: Path, text: str) -> None:
    (root / "labels" / "img_000.txt").write_text(text)


YOLO_CASES = [
    ("no yaml", lambda r: (r / "data.yaml").unlink(), "data.yaml", "file not found"),
    ("no names", lambda r: (r / "data.yaml").write_text(yaml.safe_dump({"train": "images"})), "data.yaml",
     "'names' missing"),
    ("nc differs", lambda r: (r / "data.yaml").write_text(yaml.safe_dump(
        {"train": "images", "nc": 3, "names": {0: "a", 1: "b"}})), "data.yaml", "nc is 3"),
    ("no folder", lambda r: (r / "data.yaml").write_text(yaml.safe_dump(
        {"train": "nowhere", "names": ["a", "b"]})), "data.yaml", "nowhere: folder not found"),
    ("class", lambda r: _write_label(r, "5 0.1 0.1 0.2 0.1 0.2 0.2\n"), "labels/img_000.txt",
     "line 1: class 5 is not an index 0..1"),
    ("odd", lambda r: _write_label(r, "0 0.1 0.1 0.2 0.1 0.3\n"), "labels/img_000.txt", "line 1: 5 coordinates"),
    ("outside", lambda r: _write_label(r, "1 0.1 0.1 1.2 0.1 0.2 0.2\n"), "labels/img_000.txt",
     "line 1: coordinates must be normalized"),
    ("box", lambda r: _write_label(r, "\n0 0.5 0.5 0.2 0.2\n"), "labels/img_000.txt", "line 2: a box"),
    ("text", lambda r: _write_label(r, "0 a b c d e f\n"), "labels/img_000.txt", "line 1: not a list of numbers"),
    ("image", lambda r: (r / "images" / "img_000.png").write_bytes(b"not a png"), "images/img_000.png",
     "not a recognised image format"),
]


def test_yolo_missing_label_file_is_a_background_image(exports, tmp_path):
    root = tmp_path / "yolo"
    shutil.copytree(exports["yolo"], root)
    (root / "labels" / "img_000.txt").unlink()
    item = next(iter(read_yolo_seg(root)))
    assert item.name == "img_000" and item.instances == [] and not item.label.any()


def _save_label(root: Path, arr) -> None:
    Image.fromarray(np.asarray(arr, np.uint8), mode="L").save(root / "labelsTr" / "img_000.png")


NNUNET_CASES = [
    ("no json", lambda r: (r / "dataset.json").unlink(), "dataset.json", "file not found"),
    ("regions", lambda r: _edit_json(r / "dataset.json", lambda d: d["labels"].update(lesion=[1, 2])),
     "dataset.json", "region-based labels are not supported"),
    ("no background", lambda r: _edit_json(r / "dataset.json", lambda d: d["labels"].pop("background")),
     "dataset.json", "\"background\" to 0"),
    ("count", lambda r: _edit_json(r / "dataset.json", lambda d: d.update(numTraining=3)), "dataset.json",
     "numTraining is 3 but labelsTr holds 24"),
    ("value", lambda r: _save_label(r, np.full((256, 256), 7)), "labelsTr/img_000.png", "values [7] are not labels"),
    ("size", lambda r: _save_label(r, np.zeros((20, 256))), "labelsTr/img_000.png", "label is 256x20"),
    ("channels", lambda r: _edit_json(r / "dataset.json", lambda d: d.update(channel_names={"0": "grey"})),
     "imagesTr/img_000_0000.png", "3 channel(s), dataset.json declares 1"),
    ("no image", lambda r: (r / "imagesTr" / "img_000_0000.png").unlink(), "imagesTr/img_000_0000.png",
     "image not found"),
]


# (format, folder name, reader, cases): each case breaks a copy of the export and names the file and words
MALFORMED = [(fmt, folder, reader, case) for fmt, folder, reader, cases in (
    ("coco", "coco", read_coco, COCO_CASES),
    ("yolo", "yolo", read_yolo_seg, YOLO_CASES),
    ("nnunet", "Dataset001_Bad", read_nnunet_raw, NNUNET_CASES),
) for case in cases]


@pytest.mark.parametrize("fmt,folder,reader,case", MALFORMED, ids=[f"{m[0]}-{m[3][0]}" for m in MALFORMED])
def test_reader_names_the_malformed_file(exports, tmp_path, fmt, folder, reader, case):
    _, break_it, where, words = case
    root = tmp_path / folder
    shutil.copytree(exports[fmt], root)
    break_it(root)
    with pytest.raises(DatasetError) as info:
        list(reader(root))
    assert info.value.path == str(root / where) and words in info.value.reason, str(info.value)


def test_missing_folder_is_named(tmp_path):
    for reader in (read_coco, read_yolo_seg, read_nnunet_raw):
        with pytest.raises(DatasetError, match="dataset folder not found"):
            reader(tmp_path / "nothing")
