"""Mask-dataset export: the ``images/`` + ``masks/`` + ``classes.txt`` layout segstudio's loaders read.

Layout::

    OUT/classes.txt          class names, line i = class id i (``_background_`` first, no ``__ignore__``)
    OUT/images/<stem>.<ext>  the image (source bytes copied when possible)
    OUT/masks/<stem>.png     palette PNG of class ids, ignored pixels = 255 (the VOC convention)

Option ``images=False`` writes only ``masks/`` and ``classes.txt`` (label PNGs for an existing image set).
"""
from __future__ import annotations

from pathlib import Path

from segstudio.core.annotation import atomic_write_text, label_png_bytes
from segstudio.core.errors import DatasetError
from segstudio.core.export.base import EXPORTERS, Exporter, Item
from segstudio.core.export.images import export_image


@EXPORTERS.register("masks")
class MasksExporter(Exporter):
    name = "masks"
    OPTIONS = {"images": (True, "also write images/ (False: masks/ and classes.txt only)")}

    def prepare(self, json_files: list[Path]) -> None:
        if self.label_set.num_classes > 255:
            raise DatasetError(f"palette PNG masks hold at most 255 classes ({self.label_set.num_classes} given)")
        (self.out / "masks").mkdir(parents=True, exist_ok=True)
        if self.options["images"]:
            (self.out / "images").mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.out / "classes.txt", "".join(n + "\n" for n in self.label_set.names))

    def export_item(self, item: Item) -> dict:
        if self.options["images"]:
            export_image(item.ann, item.json_path, self.out / "images" / item.stem)
        (self.out / "masks" / f"{item.stem}.png").write_bytes(label_png_bytes(item.class_u8))
        return {}
