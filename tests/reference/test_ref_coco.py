"""pycocotools 2.0.11 reads our COCO export (issue 13 "Exports read by their own tools", issue 16.1)."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

OUTSIDE_BAND = {"ph2": 1, "busi": 16, "labelme_example": 77}


def boundary_band(cls: np.ndarray, width: int = 1) -> np.ndarray:
    """Pixels whose 3x3 neighbourhood holds more than one class: the 1-px band on both sides of every
    outline, where two polygon rasterizers may disagree.  Outside the image counts as another class: an
    outline along the image's last row or column is a band too."""
    c = cv2.copyMakeBorder((cls + 2).astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)  # -1 -> 1
    k = np.ones((2 * width + 1,) * 2, np.uint8)
    return (cv2.dilate(c, k) != cv2.erode(c, k))[1:-1, 1:-1]


@pytest.mark.shared_data
@pytest.mark.parametrize("dataset", ["ph2", "busi", "labelme_example"])
def test_pycocotools_reads_our_coco_export(dataset, export_of, class_maps, run_reference):
    out = export_of(dataset, "coco")
    data = json.loads((out / "annotations.json").read_text())
    res = run_reference({"kind": "coco", "annotations": str(out / "annotations.json"), "out": True})
    assert res["n_images"] == len(data["images"]) == len(class_maps(dataset))

    ids = [a["id"] for a in data["annotations"]]
    assert len(set(ids)) == len(ids) and min(ids) == 1  # unique, from 1 (0 is "unmatched" to COCOeval)
    assert len({im["id"] for im in data["images"]}) == len(data["images"])
    # ground truth scored against itself: AP, AP50, AP75 = 1.0 (0.984 / 0.994 / 0.949 with ids from 0)
    assert res["stats"][:3] == [1.0, 1.0, 1.0], res["stats"]

    worst_area, worst_far = 0.0, 0.0
    for a, ref in zip(data["annotations"], res["anns"]):
        assert ref["id"] == a["id"]
        if isinstance(a["segmentation"], dict):  # RLE: pycocotools' area/toBbox are ours exactly
            assert (ref["area"], ref["bbox"]) == (a["area"], a["bbox"])
        else:  # polygons: pycocotools rasterizes its own way: its box lies inside ours (labelme's PIL polygon
            # also paints the outline and 1-px spikes that pycocotools leaves out: PH2 IMD022, a one-vertex
            # spike, 2 rows), the near edges equal to a pixel
            x0, y0, w, h = a["bbox"]
            rx0, ry0, rw, rh = ref["bbox"]
            assert abs(rx0 - x0) <= 1 and abs(ry0 - y0) <= 1, (a["id"], ref, a["bbox"])
            assert rx0 + rw <= x0 + w + 1 and ry0 + rh <= y0 + h + 1, (a["id"], ref, a["bbox"])
            worst_far = max(worst_far, x0 + w - rx0 - rw, y0 + h - ry0 - rh)
            worst_area = max(worst_area, abs(ref["area"] - a["area"]) / a["area"])
    assert worst_area < 0.15, worst_area

    maps = class_maps(dataset)
    worst_band, outside, outside2 = 0, 0, 0
    for im in data["images"]:
        stem = im["file_name"].split("/")[-1].rsplit(".", 1)[0]
        ours = maps[stem]
        coco = np.asarray(Image.open(f"{res['out']}/{im['id']}.png")).astype(np.int64)
        differ = (coco != ours) & (ours != -1)  # ignored pixels have no COCO annotation
        band = boundary_band(ours)
        outside += int((differ & ~band).sum())
        outside2 += int((differ & ~boundary_band(ours, 2)).sum())
        worst_band = max(worst_band, int((differ & band).sum()))
    print(f"{dataset}: annToMask composed vs VOC class map: {outside} px differ outside the 1-px band ({outside2} outside 2 px), "
          f"worst image {worst_band} px on it; worst polygon area difference {worst_area:.2%}, box far edge {worst_far} px")
    # measured: ph2 1 px, busi 16, labelme example 77 (70 of them more than 2 px from an outline): pixels
    # pycocotools' rasterizer leaves out of thin polygon parts that labelme's PIL polygon paints
    assert outside <= OUTSIDE_BAND[dataset], "see the print above"
