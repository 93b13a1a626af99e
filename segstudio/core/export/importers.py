"""Importers: make a labelme project (JSON beside each image) from a mask dataset or a VOC folder.

Masks are read with the annotation core's ``read_label_mask`` (segstudio's mask conventions) and traced
into shapes with ``mask_to_shapes`` (polygons, or labelme ``mask`` shapes with ``shape="mask"``).
The source folders are only read.  The output folder may already hold a project: an existing file is
never overwritten (that image is reported as failed), and an existing ``labels.txt`` must list the same
classes.
"""
from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from typing import Any, Iterable, Optional

from segstudio.core.annotation import Annotation, LabelSet, probe_image_size, read_label_mask, save_annotation
from segstudio.core.annotation.io import atomic_write
from segstudio.core.annotation.mask_to_shapes import DEFAULT_MIN_AREA, DEFAULT_TOLERANCE, mask_to_shapes
from segstudio.core.errors import AnnotationError, ConfigError, DatasetError, MaskError
from segstudio.core.export.base import ConvertReport
from segstudio.core.export.runner import describe_failure, output_errors, run_tasks
from segstudio.core.progress import CancelFn, ProgressFn

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
MASK_EXTS = (".png", ".bmp", ".tif", ".tiff", ".gif")
SHAPE_MODES = ("polygon", "mask")

#: the 21 Pascal VOC classes, used when a VOC folder has no class_names.txt
VOC_CLASSES = (
    "_background_", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)


def _files_by_stem(folder: Path, exts: tuple[str, ...], what: str) -> tuple[dict[str, Path], list[tuple[str, str]]]:
    found: dict[str, Path] = {}
    dupes: list[tuple[str, str]] = []
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in exts:
            if p.stem in found:
                dupes.append((str(p), f"another {what} has the same name stem ({found[p.stem].name}); skipped"))
                continue
            found[p.stem] = p
    return found, dupes


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) of an image as labelme shows it (the core's ``probe_image_size``: EXIF orientation
    applied where labelme applies it; Pillow already reports TIFF sizes oriented), from its header."""
    try:
        return probe_image_size(path)
    except AnnotationError as exc:
        raise DatasetError(exc.reason, path) from None


def _simplification(shape: str, tolerance: Optional[float], min_area: Optional[int]) -> tuple[float, int]:
    """Checked (tolerance, min_area) for ``mask_to_shapes``; None takes the default."""
    if shape not in SHAPE_MODES:
        raise DatasetError(f"unknown shape mode {shape!r}; known: {', '.join(SHAPE_MODES)}")
    if shape == "mask" and (tolerance is not None or min_area is not None):
        raise ConfigError("tolerance and min_area apply to polygon shapes; mask shapes are exact")
    tol = DEFAULT_TOLERANCE if tolerance is None else tolerance
    area = DEFAULT_MIN_AREA if min_area is None else min_area
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not math.isfinite(tol) or tol < 0:
        raise ConfigError(f"tolerance must be a number of pixels >= 0 (got {tolerance!r})")
    if isinstance(area, bool) or not isinstance(area, int) or area < 0:
        raise ConfigError(f"min_area must be a whole number of pixels >= 0 (got {min_area!r})")
    return float(tol), int(area)


def _check_folder(path, what: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"{what} folder not found", path)
    return path


def _check_out(out: Path, sources: Iterable[Path]) -> Path:
    out = Path(out).absolute()
    for src in sources:
        s = Path(src).resolve()
        if out.resolve() == s or s in out.resolve().parents:
            raise DatasetError(f"the output folder must be outside the source folder {src}", out)
    if out.exists() and not out.is_dir():
        raise DatasetError("output exists and is not a folder", out)
    return out


def _write_labels(out: Path, label_set: LabelSet) -> None:
    path = out / "labels.txt"
    if path.exists():
        existing = LabelSet.from_file(path)
        if list(existing.names) != list(label_set.names):
            raise DatasetError(
                f"labels.txt lists {', '.join(existing.names)}, the import has {', '.join(label_set.names)}; "
                "import into a new folder", path)
        return
    # __ignore__ first, as labelme's converters expect (ignored mask pixels become __ignore__ shapes)
    LabelSet(label_set.names, has_ignore=True).to_file(path)


def import_pairs(
    pairs: list[tuple[Path, Path]],
    label_set: LabelSet,
    out,
    *,
    shape: str = "polygon",
    copy_images: bool = True,
    failures: Optional[list[tuple[str, str]]] = None,
    workers: int = 1,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
    tolerance: Optional[float] = None,
    min_area: Optional[int] = None,
) -> ConvertReport:
    """Write ``out/<image name>`` and ``out/<stem>.json`` for each (image, mask) pair.

    ``tolerance`` (pixels, default 1.0) and ``min_area`` (pixels, default 4) are ``mask_to_shapes``'s
    polygon simplification and smallest region; they are refused with ``shape="mask"`` (exact).
    """
    tolerance, min_area = _simplification(shape, tolerance, min_area)
    out = Path(out)
    failures = list(failures or [])
    with output_errors(out):
        out.mkdir(parents=True, exist_ok=True)
        _write_labels(out, label_set)
    state = (label_set, out, shape, copy_images, tolerance, min_area)
    results = run_tasks(_import_task, state, pairs, workers=workers, progress=progress, cancel=cancel)
    failures += [payload for _i, ok, payload in results if not ok]
    return ConvertReport(n_ok=sum(ok for _i, ok, _p in results), failures=failures, out=out, fmt="labelme")


def _import_task(state, index: int, pair: tuple[Path, Path]) -> tuple[int, bool, Any]:
    """One pair, for run_tasks: never raises; a failure is (mask path, reason)."""
    label_set, out, shape, copy_images, tolerance, min_area = state
    image, mask = pair
    try:
        _import_one(image, mask, label_set, out, shape, copy_images, tolerance, min_area)
        return index, True, None
    except Exception as exc:  # noqa: BLE001 - reported per file
        return index, False, describe_failure(exc, mask)


def _import_one(image: Path, mask: Path, label_set: LabelSet, out: Path, shape: str, copy_images: bool,
                tolerance: float, min_area: int) -> None:
    json_path = out / f"{image.stem}.json"
    dst_image = out / image.name
    if json_path.exists():
        raise DatasetError("exists in the output folder; not overwritten", json_path)
    if copy_images and dst_image.exists():
        raise DatasetError("exists in the output folder; not overwritten", dst_image)
    h, w = image_size(image)
    label = read_label_mask(mask, label_set.num_classes)
    if label.shape != (h, w):
        raise MaskError(f"mask is {label.shape[1]}x{label.shape[0]} but its image {image.name} is {w}x{h}", mask)
    shapes = mask_to_shapes(label, label_set, mode=shape, tolerance=tolerance, min_area=min_area)
    if copy_images:
        image_path = image.name
    else:
        image_path = Path(os.path.relpath(image.absolute(), out.absolute())).as_posix()
    ann = Annotation(shapes=shapes, image_path=image_path, image_height=h, image_width=w)
    if copy_images:
        with open(image, "rb") as src:
            atomic_write(dst_image, lambda f: shutil.copyfileobj(src, f))
    try:
        save_annotation(ann, json_path)
    except BaseException:
        if copy_images:
            dst_image.unlink(missing_ok=True)  # the copy we just made, nothing of the user's
        raise


def import_masks(images, masks, classes, out, shape: str = "polygon", *, copy_images: bool = True,
                 workers: int = 1, progress: Optional[ProgressFn] = None, cancel: Optional[CancelFn] = None,
                 tolerance: Optional[float] = None, min_area: Optional[int] = None) -> ConvertReport:
    """labelme project in ``out`` from ``images/`` + ``masks/`` (paired by file stem) and ``classes``.

    ``classes``: classes.txt / labels.txt path or LabelSet.  Every image needs a mask; images without one,
    masks without an image and unreadable or mismatched masks are reported as failures.
    ``tolerance``/``min_area``: polygon simplification (see :func:`import_pairs`).
    """
    _simplification(shape, tolerance, min_area)  # refuse bad values before reading any folder
    images, masks = _check_folder(images, "images"), _check_folder(masks, "masks")
    if isinstance(classes, LabelSet):
        label_set = classes
    else:
        if classes is None or not Path(classes).is_file():
            raise DatasetError("classes file not found", classes)
        label_set = LabelSet.from_file(classes)
    out = _check_out(out, (images, masks))
    img_by_stem, failures = _files_by_stem(images, IMAGE_EXTS, "image")
    mask_by_stem, mask_dupes = _files_by_stem(masks, MASK_EXTS, "mask")
    failures += mask_dupes
    if not img_by_stem:
        raise DatasetError(f"no images ({', '.join(IMAGE_EXTS)}) in this folder", images)
    pairs = []
    for stem, img in img_by_stem.items():
        if stem in mask_by_stem:
            pairs.append((img, mask_by_stem[stem]))
        else:
            failures.append((str(img), f"no mask named {stem}.* in {masks}"))
    for stem, m in mask_by_stem.items():
        if stem not in img_by_stem:
            failures.append((str(m), f"no image named {stem}.* in {images}"))
    return import_pairs(pairs, label_set, out, shape=shape, copy_images=copy_images, failures=failures,
                        workers=workers, progress=progress, cancel=cancel, tolerance=tolerance, min_area=min_area)


def import_voc(voc_root, out, shape: str = "polygon", *, copy_images: bool = True, workers: int = 1,
               progress: Optional[ProgressFn] = None, cancel: Optional[CancelFn] = None,
               tolerance: Optional[float] = None, min_area: Optional[int] = None) -> ConvertReport:
    """labelme project from a VOC folder: every ``SegmentationClass/<stem>.png`` with its ``JPEGImages`` image.

    Classes come from ``class_names.txt`` (labelme2voc writes it) or are the 21 standard VOC classes.
    Images without a class mask are not imported (most VOC images have none) and are not failures.
    ``tolerance``/``min_area``: polygon simplification (see :func:`import_pairs`).
    """
    _simplification(shape, tolerance, min_area)
    root = _check_folder(voc_root, "VOC")
    images = _check_folder(root / "JPEGImages", "VOC JPEGImages")
    masks = _check_folder(root / "SegmentationClass", "VOC SegmentationClass")
    names_file = root / "class_names.txt"
    label_set = LabelSet.from_file(names_file) if names_file.is_file() else LabelSet.from_names(list(VOC_CLASSES))
    out = _check_out(out, (root,))
    img_by_stem, failures = _files_by_stem(images, IMAGE_EXTS, "image")
    mask_by_stem, mask_dupes = _files_by_stem(masks, MASK_EXTS, "mask")
    failures += mask_dupes
    if not mask_by_stem:
        raise DatasetError("no class masks in this folder", masks)
    pairs = []
    for stem, m in mask_by_stem.items():
        if stem in img_by_stem:
            pairs.append((img_by_stem[stem], m))
        else:
            failures.append((str(m), f"no image named {stem}.* in {images}"))
    return import_pairs(pairs, label_set, out, shape=shape, copy_images=copy_images, failures=failures,
                        workers=workers, progress=progress, cancel=cancel, tolerance=tolerance, min_area=min_area)


__all__ = ["import_masks", "import_voc", "import_pairs", "VOC_CLASSES"]
