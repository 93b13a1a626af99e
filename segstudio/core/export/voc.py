"""Pascal-VOC-style export, file for file what labelme's ``labelme2voc.py`` examples write.

Layout::

    OUT/class_names.txt                     class names, one a line (no __ignore__), no final newline
    OUT/JPEGImages/<stem>.jpg
    OUT/SegmentationClass/<stem>.png        palette PNG of class ids, ignore = 255
    OUT/SegmentationClassNpy/<stem>.npy     int32 class ids, ignore = -1
    OUT/SegmentationObject/<stem>.png       palette PNG of instance ids (ignored pixels are 0)
    OUT/SegmentationObjectNpy/<stem>.npy    int32 instance ids
    OUT/SegmentationClassVisualization/<stem>.jpg   class colours over the grey image (option ``viz``)
    OUT/SegmentationObjectVisualization/<stem>.jpg  instance colours over the grey image (option ``viz``)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from segstudio.core.annotation import atomic_write_text, label_png_bytes, label_to_color, voc_palette
from segstudio.core.export.base import EXPORTERS, Exporter, Item
from segstudio.core.export.images import export_image, image_array, save_array, to_8bit

FOLDERS = (
    "JPEGImages",
    "SegmentationClass",
    "SegmentationClassNpy",
    "SegmentationObject",
    "SegmentationObjectNpy",
)
VIZ_FOLDERS = ("SegmentationClassVisualization", "SegmentationObjectVisualization")


def visualize(image: np.ndarray, cls: np.ndarray, colors: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Class colours blended over the grey version of ``image``; background and ignore stay grey."""
    img = to_8bit(image)
    gray = img if img.ndim == 2 else (img[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))
    gray3 = np.repeat(np.asarray(gray, np.float32)[..., None], 3, axis=2)
    color = label_to_color(np.where(cls < 0, 0, cls), colors).astype(np.float32)
    fg = (cls > 0)[..., None]
    out = np.where(fg, (1 - alpha) * gray3 + alpha * color, gray3)
    return out.round().clip(0, 255).astype(np.uint8)


@EXPORTERS.register("voc")
class VocExporter(Exporter):
    name = "voc"
    OPTIONS = {"viz": (True, "write Segmentation{Class,Object}Visualization/ (colours over the grey image)")}

    def prepare(self, json_files: list[Path]) -> None:
        for sub in FOLDERS + (VIZ_FOLDERS if self.options["viz"] else ()):
            (self.out / sub).mkdir(parents=True, exist_ok=True)
        # labelme2voc's file: no __ignore__, no final newline
        atomic_write_text(self.out / "class_names.txt", "\n".join(self.label_set.names))

    def export_item(self, item: Item) -> dict:
        out, stem = self.out, item.stem
        export_image(item.ann, item.json_path, out / "JPEGImages" / stem, formats=("JPEG",),
                     modes=("L", "RGB"), fallback="JPEG")
        cls = item.cls.astype(np.int32, copy=False)
        ins = item.ins.astype(np.int32, copy=True)
        ins[cls == -1] = 0  # labelme2voc: ignored pixels belong to no object
        (out / "SegmentationClass" / f"{stem}.png").write_bytes(label_png_bytes(cls))
        np.save(out / "SegmentationClassNpy" / f"{stem}.npy", cls)
        (out / "SegmentationObject" / f"{stem}.png").write_bytes(label_png_bytes(ins))
        np.save(out / "SegmentationObjectNpy" / f"{stem}.npy", ins)
        if self.options["viz"]:
            image = image_array(item.ann, item.json_path)
            save_array(visualize(image, cls, self.label_set.colors()),
                       out / VIZ_FOLDERS[0] / f"{stem}.jpg", "JPEG", quality=90)
            save_array(visualize(image, ins, voc_palette(256)), out / VIZ_FOLDERS[1] / f"{stem}.jpg", "JPEG", quality=90)
        return {"n_instances": int(ins.max()) if ins.size else 0}
