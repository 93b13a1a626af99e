"""nnU-Net v2 raw dataset export (2D natural images, read by nnU-Net's ``NaturalImage2DIO``).

Layout (OUT is the ``DatasetXXX_Name`` folder)::

    OUT/dataset.json               channel_names, labels {name: id}, numTraining, file_ending ".png", name
    OUT/imagesTr/<stem>_0000.png   the image: grey (1 channel) or RGB (3 channels in the one file)
    OUT/labelsTr/<stem>.png        8-bit grey PNG of class ids 0..n-1

``_background_`` is written as nnU-Net's required ``background`` label.  Ignored pixels (``__ignore__``
shapes) get the value n (one above the last class) and ``labels`` gets ``"ignore": n`` — nnU-Net's
ignore label must be the highest — only when some file has ignored pixels.  When a dataset mixes grey and
RGB images, the grey ones are rewritten as RGB so every case has the same channels.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from segstudio.core.annotation import atomic_write_text
from segstudio.core.errors import DatasetError
from segstudio.core.export.base import EXPORTERS, Exporter, Item
from segstudio.core.export.images import export_image, save_array


@EXPORTERS.register("nnunet")
class NnunetExporter(Exporter):
    name = "nnunet"
    OPTIONS = {"name": ("", "dataset name in dataset.json (default: the output folder's name)")}

    def prepare(self, json_files: list[Path]) -> None:
        if self.label_set.num_classes > 254:
            raise DatasetError(f"nnU-Net PNG labels hold at most 254 classes ({self.label_set.num_classes} given)")
        for sub in ("imagesTr", "labelsTr"):
            (self.out / sub).mkdir(parents=True, exist_ok=True)

    def export_item(self, item: Item) -> dict:
        img_file = export_image(item.ann, item.json_path, self.out / "imagesTr" / f"{item.stem}_0000",
                                formats=("PNG",), modes=("L", "RGB"), fallback="PNG")
        with Image.open(img_file) as im:
            channels = 3 if im.mode == "RGB" else 1
            mode = im.mode
        if mode not in ("L", "RGB"):  # e.g. a 16-bit grey source written as I;16: nnU-Net reads it fine
            channels = 1
        lbl = item.class_u8
        ignored = lbl == 255
        has_ignore = bool(ignored.any())
        if has_ignore:
            lbl = np.where(ignored, self.label_set.num_classes, lbl).astype(np.uint8)
        Image.fromarray(lbl, mode="L").save(self.out / "labelsTr" / f"{item.stem}.png")
        return {"channels": channels, "has_ignore": has_ignore, "image": img_file.name}

    def finish(self, records) -> None:
        channels = {rec["channels"] for _info, rec in records}
        if channels == {1, 3}:  # mixed: make every case RGB
            for _info, rec in records:
                if rec["channels"] == 1:
                    path = self.out / "imagesTr" / rec["image"]
                    with Image.open(path) as im:
                        arr = np.asarray(im)
                    save_array(np.repeat(arr[..., None], 3, axis=2), path, "PNG")
            channels = {3}
        if 3 in channels:
            channel_names = {"0": "R", "1": "G", "2": "B"}
        else:
            channel_names = {"0": "grey"}
        labels = {("background" if i == 0 else n): i for i, n in enumerate(self.label_set.names)}
        if any(rec["has_ignore"] for _info, rec in records):
            labels["ignore"] = self.label_set.num_classes
        data = {
            "channel_names": channel_names,
            "labels": labels,
            "numTraining": len(records),
            "file_ending": ".png",
            "name": self.options["name"] or self.out.name,
        }
        atomic_write_text(self.out / "dataset.json", json.dumps(data, indent=4))
