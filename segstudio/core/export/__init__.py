"""Exporters (voc, coco, yolo, nnunet, masks), importers (mask datasets, VOC), the convert runner and
readers of the COCO, YOLO-seg and nnU-Net layouts.

Formats are registered in ``EXPORTERS`` (a ``Registry("exporter")``); a plugin adds one by subclassing
:class:`Exporter` and decorating it with ``@EXPORTERS.register("name")``.
"""
from segstudio.core.export.base import EXPORTERS, ConvertReport, Exporter, Item, ItemInfo
from segstudio.core.export import coco, masks, nnunet, voc, yolo  # noqa: F401  (register the formats)
from segstudio.core.medical import export as _medical_export  # noqa: F401  (registers "nifti")
from segstudio.core.export.importers import VOC_CLASSES, import_masks, import_voc
from segstudio.core.export.readers import read_coco, read_nnunet_raw, read_yolo_seg
from segstudio.core.export.runner import convert

__all__ = [
    "EXPORTERS",
    "ConvertReport",
    "Exporter",
    "Item",
    "ItemInfo",
    "VOC_CLASSES",
    "convert",
    "import_masks",
    "import_voc",
    "read_coco",
    "read_nnunet_raw",
    "read_yolo_seg",
]
