"""COCO instance-segmentation export with the semantics of labelme's ``labelme2coco.py`` example.

Layout::

    OUT/annotations.json     info, licenses, type "instances", images, annotations, categories
    OUT/JPEGImages/<stem>.jpg

* categories: every class of the label set, ``id`` = class id (``_background_`` is category 0, as in
  labelme2coco; ``__ignore__`` is not a category);
* images: ``id`` = index in name order, ``file_name`` = ``JPEGImages/<stem>.jpg``;
* one annotation per instance (shapes sharing label and group_id), in order of first appearance, ``id``
  numbered from 1 (pycocotools' evaluator takes id 0 for "unmatched": a ground-truth id 0 can never be
  matched, so the set scored against itself would give AP < 1);
  ``segmentation`` = the list of the instance's shape outlines (polygon points as annotated; rectangles as
  4 corners; circles as labelme2coco's polygon) or, for an instance with a mask, line, linestrip or point
  shape (which have no outline of their own), the uncompressed RLE of its exact mask
  (``{"size": [h, w], "counts": [...]}``, column-major, the first run counting zeros);
  ``area`` = pixel count of the instance mask, ``bbox`` = [x, y, w, h] of that mask (what pycocotools'
  ``area``/``toBbox`` give), ``iscrowd`` = 0.  Shapes labelled ``__ignore__`` are left out.
"""
from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np

from segstudio.core.annotation import atomic_write_text
from segstudio.core.export.base import EXPORTERS, Exporter, Item
from segstudio.core.export.geometry import bbox_of, group_instances, instance_mask, shape_polygons
from segstudio.core.export.images import export_image


OUTLINE_TYPES = ("polygon", "rectangle", "circle", "oriented_rectangle")


def rle_encode(mask: np.ndarray) -> dict:
    """Uncompressed COCO RLE of a bool HxW mask: runs over the column-major pixels, zeros first."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts.insert(0, 0)
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


@EXPORTERS.register("coco")
class CocoExporter(Exporter):
    name = "coco"
    OPTIONS = {}

    def prepare(self, json_files: list[Path]) -> None:
        (self.out / "JPEGImages").mkdir(parents=True, exist_ok=True)

    def export_item(self, item: Item) -> dict:
        img_file = export_image(item.ann, item.json_path, self.out / "JPEGImages" / item.stem,
                                formats=("JPEG",), modes=("L", "RGB"), fallback="JPEG")
        shape = item.shape
        anns = []
        for inst in group_instances(item.ann, self.label_set.label_name_to_value):
            mask = instance_mask(inst, shape)
            if all((s.shape_type or "polygon") in OUTLINE_TYPES for s in inst.shapes):
                segmentation = [poly for s in inst.shapes for poly in shape_polygons(s, shape)]
            else:  # mask / line / point shapes: their exact pixels
                segmentation = rle_encode(mask)
            anns.append({
                "category_id": inst.class_id,
                "segmentation": segmentation,
                "area": float(mask.sum()),
                "bbox": bbox_of(mask),
                "iscrowd": 0,
            })
        return {
            "file_name": f"JPEGImages/{img_file.name}",
            "height": shape[0],
            "width": shape[1],
            "annotations": anns,
        }

    def finish(self, records) -> None:
        now = datetime.datetime.now()
        data = {
            "info": {"description": None, "url": None, "version": None, "year": now.year,
                     "contributor": None, "date_created": now.strftime("%Y-%m-%d %H:%M:%S.%f")},
            "licenses": [{"url": None, "id": 0, "name": None}],
            "type": "instances",
            "images": [],
            "annotations": [],
            "categories": [{"supercategory": None, "id": i, "name": n} for i, n in enumerate(self.label_set.names)],
        }
        for image_id, (_info, rec) in enumerate(records):
            data["images"].append({"license": 0, "url": None, "file_name": rec["file_name"],
                                   "height": rec["height"], "width": rec["width"],
                                   "date_captured": None, "id": image_id})
            for a in rec["annotations"]:
                data["annotations"].append({"id": len(data["annotations"]) + 1, "image_id": image_id, **a})
        atomic_write_text(self.out / "annotations.json", json.dumps(data))
