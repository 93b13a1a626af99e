"""labelme-compatible annotation core: document model, JSON IO, label set, rasterization, mask IO.

Qt-free.  See docs/annotation.md.
"""
from .document import BACKGROUND_LABEL, IGNORE_LABEL, SHAPE_TYPES, Annotation, Shape
from .images import probe_image_size
from .io import (
    annotation_image,
    annotation_to_json,
    atomic_write_bytes,
    atomic_write_text,
    load_annotation,
    load_image,
    parse_annotation,
    resolve_image_path,
    save_annotation,
)
from .labels import LabelSet, UnknownLabelError, voc_palette
from .masks import label_png_bytes, label_to_color, read_label_mask, write_label_png
from .rasterize import annotation_to_class_u8, annotation_to_label, shape_to_mask, shapes_to_label

__all__ = [
    "SHAPE_TYPES", "IGNORE_LABEL", "BACKGROUND_LABEL", "Shape", "Annotation",
    "load_annotation", "save_annotation", "parse_annotation", "annotation_to_json", "load_image",
    "annotation_image", "resolve_image_path", "probe_image_size", "atomic_write_bytes", "atomic_write_text",
    "LabelSet", "UnknownLabelError", "voc_palette",
    "shape_to_mask", "shapes_to_label", "annotation_to_label", "annotation_to_class_u8",
    "read_label_mask", "write_label_png", "label_png_bytes", "label_to_color",
]
