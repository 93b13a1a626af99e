"""ultralytics 8.4.190 verifies and loads our YOLO-seg export, nnunetv2 2.8.1 verifies our nnU-Net export
(issue 13 "Exports read by their own tools", issue 16.3 and 16.5)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from segstudio.core.annotation import LabelSet, load_annotation, shape_to_mask
from segstudio.core.export.geometry import group_instances, instance_mask, shape_polygons


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0


def _band(cls: np.ndarray) -> np.ndarray:
    c = cv2.copyMakeBorder((cls + 2).astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    k = np.ones((3, 3), np.uint8)
    return (cv2.dilate(c, k) != cv2.erode(c, k))[1:-1, 1:-1]


@pytest.mark.shared_data
@pytest.mark.parametrize("dataset", ["ph2", "busi"])
def test_ultralytics_verifies_and_loads_our_yolo_export(dataset, export_of, class_maps, dataset_source,
                                                        run_reference):
    """Every file passes Ultralytics' verify_image_label; its float32 coordinates floor to the annotated
    vertices, so labelme's rasterization of them is the class map exactly (all 518 BUSI files: IoU 1.0;
    with 6 fixed decimals 187 were below 0.98, min 0.912).  Ultralytics' own polygon2mask (cv2.fillPoly)
    differs from labelme's PIL polygon only on the 1-px outline band.  Its dataset loader builds masks."""
    out = export_of(dataset, "yolo")
    src, labels = dataset_source[dataset]
    ls = LabelSet.from_file(labels)
    maps = class_maps(dataset)
    res = run_reference({"kind": "yolo", "root": str(out), "out": True, "dataset_items": 8})
    assert res["names"] == {str(i - 1): n for i, n in enumerate(ls.names) if i}
    assert sorted(res["files"]) == sorted(maps) and res["dataset_len"] == len(maps)
    n_instances, worst_cv2 = 0, 1.0
    for stem, rec in res["files"].items():
        assert (rec["corrupt"], rec["found"], rec["msg"]) == (0, 1, ""), (stem, rec)
        ann = load_annotation(src / f"{stem}.json")
        h, w = ann.image_height, ann.image_width
        insts = [i for i in group_instances(ann, ls.label_name_to_value) if i.class_id > 0]
        assert rec["classes"] == [i.class_id - 1 for i in insts] and rec["max_coordinate"] <= 1.0
        n_instances += len(insts)
        painted = np.zeros((h, w), np.int64)
        for inst, seg in zip(insts, rec["segments"]):
            seg = np.asarray(seg)
            original = np.asarray(shape_polygons(inst.shapes[0], (h, w))[0]).reshape(-1, 2)
            np.testing.assert_array_equal(np.floor(seg), np.floor(original), err_msg=stem)  # every vertex
            painted[shape_to_mask((h, w), seg.tolist(), "polygon")] = inst.class_id
        ours = maps[stem]
        np.testing.assert_array_equal(painted, np.where(ours < 0, 0, ours), err_msg=stem)
        theirs = np.asarray(Image.open(f"{res['out']}/{stem}.png")).astype(np.int64)
        assert not ((theirs != ours) & ~_band(ours)).any(), stem  # cv2 vs PIL: the outline band only
        worst_cv2 = min([worst_cv2] + [_iou(theirs == c, ours == c) for c in range(1, ls.num_classes)
                                       if (ours == c).any()])
    assert res["dataset_labels"] == n_instances
    print(f"{dataset}: {len(maps)} files verified; Ultralytics' polygon2mask vs labelme rasterization: "
          f"worst class IoU {worst_cv2:.4f}")
    assert worst_cv2 >= 0.98
    for item in res["items"]:  # the loader's letterboxed 640x640 masks against ours, letterboxed alike
        ours = np.where(maps[item["stem"]] < 0, 0, maps[item["stem"]]).astype(np.uint8)
        (rh, rw), (pw, ph) = item["ratio_pad"]
        small = cv2.resize(ours, (round(ours.shape[1] * rw), round(ours.shape[0] * rh)),
                           interpolation=cv2.INTER_NEAREST)
        theirs = np.asarray(Image.open(f"{res['out']}/ds_{item['stem']}.png"))
        box = np.zeros_like(theirs)
        box[int(ph):int(ph) + small.shape[0], int(pw):int(pw) + small.shape[1]] = small
        for c in np.unique(ours)[1:]:  # resampled outlines, nearest-neighbour resize: small lesions lose most
            assert _iou(theirs == c, box == c) > 0.8, (item, c)  # (BUSI benign_1, 1273 px: 0.883)


@pytest.mark.shared_data
def test_multi_part_instance_bridges(export_of, dataset_source, run_reference):
    """A YOLO line is one polygon, so an instance of several parts is joined by bridges walked there and back
    (zero area), yet every rasterizer paints the pixels of a bridge line.  The shortest bridges (minimum
    spanning tree over closest vertices) keep that to: labelme example 2011_000006 'sofa' (4 parts) 271 px
    with Ultralytics' polygon2mask (721 px before), 101 px with labelme's rasterization (237 before);
    2011_000003 'person' (2 parts) 15 and 15 px (207 and 70 before)."""
    out = export_of("labelme_example", "yolo")
    src, labels = dataset_source["labelme_example"]
    ls = LabelSet.from_file(labels)
    res = run_reference({"kind": "yolo", "root": str(out), "out": True, "dataset_items": 0})
    extra = {}
    for stem, rec in res["files"].items():
        assert (rec["corrupt"], rec["msg"]) == (0, ""), (stem, rec)
        ann = load_annotation(src / f"{stem}.json")
        h, w = ann.image_height, ann.image_width
        insts = [i for i in group_instances(ann, ls.label_name_to_value) if i.class_id > 0]
        for inst, seg in zip(insts, rec["segments"]):
            if len(inst.shapes) < 2:
                continue
            union = instance_mask(inst, (h, w))
            pil = shape_to_mask((h, w), np.asarray(seg).tolist(), "polygon")
            parts = np.zeros((h, w), np.uint8)
            for p in (p for s in inst.shapes for p in shape_polygons(s, (h, w))):
                cv2.fillPoly(parts, [np.asarray(p).reshape(-1, 2).astype(np.int32)], 1)
            merged = np.zeros((h, w), np.uint8)
            cv2.fillPoly(merged, [np.asarray(seg).astype(np.int32)], 1)  # Ultralytics' polygon2mask
            assert not (union & ~pil).any()  # nothing of the parts is lost
            extra[stem, inst.label] = (int((merged & ~parts).sum()), int((pil & ~union).sum()))
    print("bridge pixels (polygon2mask, labelme rasterization):", extra)
    assert extra == {("2011_000006", "sofa"): (271, 101), ("2011_000003", "person"): (15, 15)}


NNUNET_DATASETS = ["ph2", "busi", "labelme_example"]


@pytest.fixture(scope="module")
def nnunet_verdicts(export_of, run_reference) -> dict:
    """verify_dataset_integrity on the three exports, in one reference process."""
    roots = {d: str(export_of(d, "nnunet")) for d in NNUNET_DATASETS}
    results = run_reference({"kind": "nnunet", "roots": list(roots.values())})["results"]
    return {d: results[root] for d, root in roots.items()}


@pytest.mark.shared_data
@pytest.mark.parametrize("dataset", NNUNET_DATASETS)
def test_nnunet_verify_dataset_integrity(dataset, nnunet_verdicts):
    """nnunetv2's verify_dataset_integrity on our export (BUSI: 3 classes; the labelme example has ignore)."""
    assert nnunet_verdicts[dataset] == "ok"


def test_ultralytics_verifies_every_shape_type_in_a_split_export(edge_source, tmp_path, run_reference):
    """Rectangles, circles, lines, points, masks and a multi-part instance, split into train and val: every
    file verified, classes as ours; polygon, rectangle and circle vertices read back to their integer parts
    (image b is 567 x 301: 123 / 567 = 0.216931 would have read back as 122.99988)."""
    from segstudio.core.export import convert

    out = tmp_path / "yolo"
    assert convert(edge_source, edge_source / "labels.txt", out, "yolo", options={"val_fraction": 0.5}).ok
    res = run_reference({"kind": "yolo", "root": str(out), "out": True, "dataset_items": 1})
    assert [f.rsplit("/", 2)[-2:] for f in res["folders"]] == [["images", "train"], ["images", "val"]]
    ls = LabelSet.from_file(edge_source / "labels.txt")
    assert sorted(res["files"]) == ["a", "b"] and res["names"] == {"0": "cat", "1": "dog"}
    for stem, rec in res["files"].items():
        assert (rec["corrupt"], rec["found"], rec["msg"]) == (0, 1, ""), (stem, rec)
        ann = load_annotation(edge_source / f"{stem}.json")
        h, w = ann.image_height, ann.image_width
        insts = [i for i in group_instances(ann, ls.label_name_to_value) if i.class_id > 0]
        assert rec["classes"] == [i.class_id - 1 for i in insts]
        for inst, seg in zip(insts, rec["segments"]):
            if len(inst.shapes) == 1 and inst.shapes[0].shape_type in ("polygon", "rectangle", "circle"):
                original = np.asarray(shape_polygons(inst.shapes[0], (h, w))[0]).reshape(-1, 2)
                np.testing.assert_array_equal(np.floor(seg), np.floor(original), err_msg=f"{stem} {inst.label}")
    assert res["items"] and res["items"][0]["n_masks"] >= 1
