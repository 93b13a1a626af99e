"""Segmentation datasets: labelme folders, images/ + masks/ folders and VOC folders.

Every dataset yields ``dict(image=float32 C x H x W in [0, 1], mask=int64 H x W (-1 ignore), name=str)``.
Loading: decode (:func:`~segstudio.core.annotation.io.load_image`: EXIF-oriented, gray / RGB / 16-bit) ->
:func:`~segstudio.core.data.transforms.to_float_chw` -> fit to ``img_size`` (letterbox by default: mask padding
is ignore) -> optional ``transform(image, mask)`` (augmentation).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Callable, Dict, FrozenSet, List, Optional, Sequence, Tuple

import numpy as np
import torch

from segstudio.core.errors import DatasetError, MaskError, SegStudioError
from segstudio.core.data.transforms import RESIZE_MODES, fit_to_size, to_float_chw

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
KINDS = ("labelme", "masks", "voc")
VOC_CLASSES = (
    "_background_", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)


def list_images(folder: Path) -> List[Path]:
    """Image files directly in ``folder`` (sorted, hidden files skipped)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS
                  and not p.name.startswith("."))


def _listing(names: Sequence[str], limit: int = 5) -> str:
    names = list(names)
    more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def as_label_set(labels, root: Optional[Path] = None):
    """``labels`` (LabelSet | path to labels.txt/classes.txt | list of names | None) -> LabelSet or None."""
    from segstudio.core.annotation.labels import LabelSet

    if labels is None or isinstance(labels, LabelSet):
        return labels
    if isinstance(labels, (str, Path)):
        p = Path(labels)
        if not p.is_absolute() and root is not None and not p.exists() and (root / p).exists():
            p = root / p
        return LabelSet.from_file(p)
    return LabelSet.from_names(list(labels))


class SegDataset(torch.utils.data.Dataset):
    """Base of all datasets: a list of records plus the loading pipeline.

    Attributes: ``root``, ``kind``, ``label_set`` (class names by id), ``names`` (one per item),
    ``img_size`` (None: native size), ``resize_mode`` ("letterbox" | "resize"), ``in_channels``,
    ``transform`` (``callable(image, mask) -> (image, mask)`` on tensors or None), ``skipped`` (files that
    are not items, e.g. images without a JSON in a labelme folder).
    Subclasses implement ``_read(record) -> (image ndarray, mask int64 ndarray)`` and
    ``_presence(record) -> frozenset``.
    """

    kind = "base"

    def __init__(self, root, label_set, records: list, *, img_size=None, resize_mode: str = "letterbox",
                 in_channels: int = 3, transform: Optional[Callable] = None, skipped: Sequence[Path] = ()):
        if resize_mode not in RESIZE_MODES:
            raise DatasetError(f"unknown resize mode {resize_mode!r}; known: {', '.join(RESIZE_MODES)}", root)
        self.root = Path(root)
        self.label_set = label_set
        self._records = records
        self._index = list(range(len(records)))
        self.img_size = img_size
        self.resize_mode = resize_mode
        self.in_channels = int(in_channels)
        self.transform = transform
        self.skipped = list(skipped)
        self._presence_cache: Dict[int, FrozenSet[int]] = {}

    # ----------------------------------------------------------------------------------------- queries
    def __len__(self) -> int:
        return len(self._index)

    @property
    def names(self) -> List[str]:
        return [self._records[j]["name"] for j in self._index]

    @property
    def class_names(self) -> List[str]:
        return list(self.label_set.names)

    @property
    def num_classes(self) -> int:
        return self.label_set.num_classes

    def record(self, i: int) -> dict:
        """The item's source files: ``{"name", "image", ...}`` (labelme: "json"; masks/voc: "mask")."""
        return dict(self._records[self._index[i]])

    def classes_present(self, i: int) -> FrozenSet[int]:
        """Foreground class ids in item ``i`` (no 0, no -1): the stratification signature.

        Cheap: labelme reads it from the JSON's shape labels at open time; mask folders read each mask once
        and remember it.
        """
        j = self._index[i]
        if j not in self._presence_cache:
            self._presence_cache[j] = frozenset(self._presence(self._records[j]))
        return self._presence_cache[j]

    def detect_channels(self) -> int:
        """1 when the first item's image is grayscale, else 3 (a hint for a training config's "auto")."""
        if not len(self):
            return self.in_channels
        img, _ = self.load_raw(0)
        return 1 if img.ndim == 2 or img.shape[2] in (1, 2) else 3

    def image_size(self, i: int) -> Tuple[int, int]:
        """``(height, width)`` of item ``i``'s image at its native size (EXIF orientation applied), read from
        the file header when possible, else by decoding it."""
        rec = self._records[self._index[i]]
        path = rec.get("image")
        if path is not None:
            from segstudio.core.annotation.images import probe_image_size

            try:
                return tuple(int(v) for v in probe_image_size(path))
            except Exception:  # noqa: BLE001 - not readable by header: decoding reports the real error
                pass
        img, _ = self.load_raw(i)
        return int(img.shape[0]), int(img.shape[1])

    # ----------------------------------------------------------------------------------------- loading
    def load_raw(self, i: int):
        """``(image ndarray HxW[xC] uint8/uint16, mask int64 HxW)`` at the native size, no preprocessing."""
        rec = self._records[self._index[i]]
        img, mask = self._read(rec)
        if img.shape[:2] != mask.shape:
            raise MaskError(f"mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
                            f"{img.shape[1]}x{img.shape[0]}", rec.get("mask") or rec.get("json"))
        return img, mask

    def __getitem__(self, i: int) -> dict:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        rec = self._records[self._index[i]]
        img, mask = self.load_raw(i)
        try:
            image = to_float_chw(img, self.in_channels)
        except ValueError as exc:
            raise DatasetError(str(exc), rec["image"]) from None
        target = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.int64))
        if self.img_size is not None:
            image, target, _ = fit_to_size(image, self.img_size, target, mode=self.resize_mode)
        if self.transform is not None:
            image, target = self.transform(image, target)
        return {"image": image, "mask": target, "name": rec["name"]}

    def subset(self, indices: Sequence[int], transform: Optional[Callable] = "same") -> "SegDataset":
        """A view on some items (shares caches); ``transform`` replaces the transform unless "same"."""
        view = copy.copy(self)
        view._index = [self._index[i] for i in indices]
        if transform != "same":
            view.transform = transform
        return view

    def with_options(self, **attrs) -> "SegDataset":
        """A copy with some of img_size / resize_mode / in_channels / transform changed (shares caches)."""
        view = copy.copy(self)
        for k, v in attrs.items():
            if k not in ("img_size", "resize_mode", "in_channels", "transform"):
                raise TypeError(f"unknown dataset option {k!r}")
            setattr(view, k, v)
        return view

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r}, {len(self)} items, classes={self.class_names})"

    # ------------------------------------------------------------------------------------ for subclasses
    def _read(self, rec: dict):  # pragma: no cover - abstract
        raise NotImplementedError

    def _presence(self, rec: dict):  # pragma: no cover - abstract
        raise NotImplementedError


class MaskFolderDataset(SegDataset):
    """Image files paired with label-mask PNGs by stem (``images/`` + ``masks/``, or VOC's folders)."""

    kind = "masks"

    def _read(self, rec: dict):
        from segstudio.core.annotation.io import load_image
        from segstudio.core.annotation.masks import read_label_mask

        img = _load_image(rec["image"], load_image)
        mask = read_label_mask(rec["mask"], self.label_set.num_classes)
        return img, np.asarray(mask, dtype=np.int64)

    def _presence(self, rec: dict):
        from segstudio.core.annotation.masks import read_label_mask

        vals = np.unique(read_label_mask(rec["mask"], self.label_set.num_classes))
        return {int(v) for v in vals if v > 0}


class VocDataset(MaskFolderDataset):
    kind = "voc"


def _load_image(path: Path, load_image) -> np.ndarray:
    try:
        return load_image(path)
    except SegStudioError as exc:
        raise DatasetError(exc.reason, path) from None


def _pair(root: Path, images: List[Path], masks: List[Path], *, images_need_masks: bool):
    by_stem_img: Dict[str, Path] = {}
    dup = []
    for p in images:
        if p.stem in by_stem_img:
            dup.append(p.name)
        by_stem_img[p.stem] = p
    if dup:
        raise DatasetError(f"several images share a name (stem): {_listing(dup)}", root)
    by_stem_mask = {p.stem: p for p in masks if p.suffix.lower() in (".png", ".tif", ".tiff", ".bmp")}
    no_image = sorted(set(by_stem_mask) - set(by_stem_img))
    no_mask = sorted(set(by_stem_img) - set(by_stem_mask))
    problems = []
    if no_image:
        problems.append(f"{len(no_image)} mask(s) without an image: {_listing(no_image)}")
    if no_mask and images_need_masks:
        problems.append(f"{len(no_mask)} image(s) without a mask: {_listing(no_mask)}")
    if problems:
        raise DatasetError("unpaired files: " + "; ".join(problems), root)
    stems = sorted(set(by_stem_img) & set(by_stem_mask))
    if not stems:
        raise DatasetError("no image/mask pairs found", root)
    records = [{"name": s, "image": by_stem_img[s], "mask": by_stem_mask[s]} for s in stems]
    skipped = [by_stem_img[s] for s in no_mask]
    return records, skipped


def _first_label_file(*candidates: Path) -> Optional[Path]:
    return next((p for p in candidates if p.is_file()), None)


def masks_dataset(root, labels=None, **options) -> MaskFolderDataset:
    """``root/images`` + ``root/masks`` (paired by stem) + ``root/classes.txt`` (or labels.txt, or ``labels``).

    Every image needs a mask and every mask an image; mask values follow the mask conventions of
    :func:`~segstudio.core.annotation.masks.read_label_mask` (0/255 binary masks are classes 0/1).
    """
    root = Path(root)
    label_set = as_label_set(labels, root)
    if label_set is None:
        f = _first_label_file(root / "classes.txt", root / "labels.txt")
        if f is None:
            raise DatasetError("no classes.txt or labels.txt (class names, one per line) and no labels given", root)
        label_set = as_label_set(f)
    records, skipped = _pair(root, list_images(root / "images"), list_images(root / "masks"), images_need_masks=True)
    return MaskFolderDataset(root, label_set, records, skipped=skipped, **options)


def voc_dataset(root, labels=None, image_set: Optional[str] = None, **options) -> VocDataset:
    """A VOC folder: ``JPEGImages/`` + ``SegmentationClass/`` (palette PNGs, 255 = ignore), class names from
    ``class_names.txt`` / ``labels.txt`` / ``labels`` (else the 21 PASCAL VOC classes).

    ``image_set`` ("train", "val", ...) restricts the items to ``ImageSets/Segmentation/<image_set>.txt``.
    Images without a segmentation are skipped (VOC has many); a segmentation without an image is an error.
    """
    root = Path(root)
    label_set = as_label_set(labels, root)
    if label_set is None:
        f = _first_label_file(root / "class_names.txt", root / "labels.txt")
        label_set = as_label_set(f) if f else as_label_set(list(VOC_CLASSES))
    records, skipped = _pair(root, list_images(root / "JPEGImages"), list_images(root / "SegmentationClass"),
                             images_need_masks=False)
    if image_set is not None:
        lst = root / "ImageSets" / "Segmentation" / f"{image_set}.txt"
        if not lst.is_file():
            raise DatasetError(f"image set {image_set!r} not found ({lst.relative_to(root)})", root)
        wanted = [ln.split()[0] for ln in lst.read_text(encoding="utf-8").splitlines() if ln.strip()]
        have = {r["name"]: r for r in records}
        missing = [w for w in wanted if w not in have]
        if missing:
            raise DatasetError(f"{lst.name} lists items without image+segmentation: {_listing(missing)}", root)
        records = [have[w] for w in wanted]
    return VocDataset(root, label_set, records, skipped=skipped, **options)


def detect_kind(root: Path) -> str:
    """"voc" | "masks" | "labelme" for a dataset folder; :class:`DatasetError` naming the folder otherwise."""
    if not root.exists():
        raise DatasetError("dataset folder not found", root)
    if not root.is_dir():
        raise DatasetError("not a folder (a dataset is a folder)", root)
    if (root / "JPEGImages").is_dir() and (root / "SegmentationClass").is_dir():
        return "voc"
    if (root / "images").is_dir() and (root / "masks").is_dir():
        return "masks"
    if any(p.suffix.lower() == ".json" and p.name != "segstudio.json" for p in root.iterdir()):
        return "labelme"
    n_images = len(list_images(root))
    if n_images:
        raise DatasetError(f"no annotations: {n_images} image(s) but no labelme JSON beside them (annotate some "
                           "first), and no images/ + masks/ or VOC folders", root)
    raise DatasetError(
        "not a dataset: expected labelme JSON files (beside images), images/ + masks/ folders, "
        "or a VOC folder (JPEGImages/ + SegmentationClass/)", root)


def open_dataset(path, labels=None, *, img_size=None, kind: str = "auto", resize_mode: str = "letterbox",
                 in_channels: int = 3, transform: Optional[Callable] = None, **kwargs) -> SegDataset:
    """Open a dataset folder of any kind (``kind="auto"`` detects it).

    ``labels``: LabelSet, labels.txt/classes.txt path or list of names (default: the folder's own file).
    ``img_size``: int or (h, w) to fit every item to (``resize_mode`` "letterbox" keeps the aspect ratio,
    padding the mask with ignore; "resize" stretches); None keeps the native size.
    Extra keyword arguments go to the kind's constructor (``cache_dir`` / ``cache`` for labelme, ignored by the
    other kinds; ``image_set`` for voc).
    """
    root = Path(path)
    if kind == "auto":
        kind = detect_kind(root)
    elif kind not in KINDS:
        raise DatasetError(f"unknown dataset kind {kind!r}; known: auto, {', '.join(KINDS)}", root)
    elif not root.is_dir():
        raise DatasetError("dataset folder not found", root)
    options = dict(img_size=img_size, resize_mode=resize_mode, in_channels=in_channels, transform=transform)
    if kind == "labelme":
        from segstudio.core.data.labelme import labelme_dataset

        return labelme_dataset(root, labels, **options, **kwargs)
    kwargs.pop("cache_dir", None)  # only labelme folders rasterize (mask folders have nothing to cache)
    kwargs.pop("cache", None)
    if kind == "masks":
        return masks_dataset(root, labels, **options, **kwargs)
    return voc_dataset(root, labels, **options, **kwargs)
