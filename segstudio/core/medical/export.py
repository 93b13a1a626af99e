"""Label volumes of NIfTI images: the slice annotations of a volume stacked into one NIfTI label file.

``segstudio convert SRC --labels labels.txt --out OUT --format nifti`` (or File ▸ Export dataset) writes

    OUT/classes.txt                    class names, line i = class id i
    OUT/<stem>_labels.nii.gz           uint8 class ids per voxel (0 background, 255 ignore), one per source volume

with the **source volume's affine** (and its qform/sform codes and zooms), on the voxel grid of its first three
axes: slice ``k``'s annotation lands on voxels ``[:, :, k]`` through the reader's own mapping
(:func:`~segstudio.core.medical.nifti.slice_to_voxels`), so the labels overlay the image in any NIfTI
viewer.  Slices without an annotation are background.  Only annotations of NIfTI images can be exported this
way; any other JSON (a PNG, a DICOM) is reported as a failure naming it (DICOM images export as PNG with the
other formats, de-identified).
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from segstudio.core.annotation.io import atomic_write_bytes, atomic_write_text, resolve_image_path
from segstudio.core.errors import AnnotationError, DatasetError
from segstudio.core.export.base import EXPORTERS, Exporter, Item
from segstudio.core.medical.formats import SLICE_KEY, medical_kind, medical_stem
from segstudio.core.medical.nifti import slice_to_voxels

IGNORE_VALUE = 255


def label_volume(source, slices: dict) -> bytes:
    """The gzipped NIfTI-1 bytes of a uint8 label volume on ``source``'s voxel grid and affine.

    ``slices``: {slice index: HxW class ids (-1 ignore)} in the image orientation the reader shows.
    """
    import nibabel as nib

    img = nib.load(str(source))
    shape = tuple(int(s) for s in img.shape[:3]) + (1,) * max(0, 3 - len(img.shape))
    data = np.zeros(shape, np.uint8)
    for k, cls in slices.items():
        k = int(k)
        if not 0 <= k < shape[2]:
            raise DatasetError(f"slice {k} outside the volume's {shape[2]} slices", source)
        plane = slice_to_voxels(np.where(np.asarray(cls) < 0, IGNORE_VALUE, cls).astype(np.uint8))
        if plane.shape != shape[:2]:
            raise DatasetError(f"slice {k} annotation is {plane.shape[1]}x{plane.shape[0]}, the volume's slices "
                               f"are {shape[1]}x{shape[0]}", source)
        data[:, :, k] = plane
    header = img.header.copy()
    header.set_data_dtype(np.uint8)
    out = nib.Nifti1Image(data, img.affine, header=header if isinstance(img, nib.Nifti1Image) else None)
    out.header.set_slope_inter(1, 0)
    out.header["cal_min"], out.header["cal_max"] = 0, 0
    if isinstance(img, nib.Nifti1Image):
        out.set_qform(img.get_qform(), code=int(img.header["qform_code"]))
        out.set_sform(img.get_sform(), code=int(img.header["sform_code"]))
    return gzip.compress(out.to_bytes(), compresslevel=6)


@EXPORTERS.register("nifti")
class NiftiLabelsExporter(Exporter):
    """One ``<stem>_labels.nii.gz`` per annotated NIfTI volume, aligned with its affine."""

    name = "nifti"

    def prepare(self, json_files: list[Path]) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.out / "classes.txt", "".join(n + "\n" for n in self.label_set.names))

    def export_item(self, item: Item) -> dict:
        image = resolve_image_path(item.ann.image_path, item.json_path) if item.ann.image_path else None
        if image is None or medical_kind(image) != "nifti":
            raise AnnotationError("not an annotation of a NIfTI image (the nifti format exports label volumes "
                                  "of .nii / .nii.gz files)", item.json_path)
        if not image.is_file():
            raise AnnotationError(f"image {image}: image not found", item.json_path)
        index = item.ann.extra.get(SLICE_KEY, 0)
        return {"volume": str(image), "slice": int(index), "cls": item.cls.astype(np.int16)}

    def finish(self, records) -> None:
        volumes: dict[str, dict] = {}
        for _info, rec in records:
            volumes.setdefault(rec["volume"], {})[rec["slice"]] = rec["cls"]
        for volume, slices in sorted(volumes.items()):
            atomic_write_bytes(self.out / f"{medical_stem(volume)}_labels.nii.gz", label_volume(volume, slices))
