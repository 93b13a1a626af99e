"""Readers of the COCO, YOLO-seg and nnU-Net layouts: every export can be read back by our own code.

Each reader checks the dataset's metadata when called and returns a :class:`ReadDataset`; iterating it
decodes one image at a time into a :class:`ReadItem`::

    ds = read_coco("out/coco")          # or read_yolo_seg(...), read_nnunet_raw(...)
    ds.classes                          # {mask value: class name}
    for item in ds:
        item.name, item.image, item.label, item.instances

* ``label`` is an int64 HxW class map.  COCO: pixels of no annotation are 0 and every annotation is
  painted with its ``category_id`` in file order (later ones win, as labelme paints shapes).  YOLO: 0 = no
  object, class index k is painted as k + 1 (segstudio's class ids: the YOLO export writes id - 1), in line
  order.  nnU-Net: the label PNG's values, with the ``ignore`` label read as -1.  COCO and YOLO have no
  ignore label.
* ``instances`` (COCO, YOLO): one :class:`ReadInstance` per annotation / line with its own mask; None for
  nnU-Net, which has none.
* Polygons are rasterized by the annotation core's ``shape_to_mask`` (labelme's PIL polygon, outline
  included) -- what the exporters rasterize -- and COCO RLE (``counts`` as a list, or pycocotools'
  compressed string) is decoded here (column-major runs, starting with a run of zeros).
* Images are decoded by the annotation core's ``load_image``; EXIF orientation is applied for COCO and YOLO
  (as Ultralytics, reading with OpenCV, does) and not for nnU-Net (pixels as stored).  Our exports write
  no EXIF rotation (a rotated image is re-encoded upright), so this only matters for other tools' data.

Malformed input raises :class:`~segstudio.core.errors.DatasetError` naming the file (annotations.json,
data.yaml, dataset.json, a label file, an image) and the problem.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import numpy as np
import yaml
from PIL import Image

from segstudio.core.annotation import load_image, shape_to_mask
from segstudio.core.errors import AnnotationError, DatasetError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


@dataclass
class ReadInstance:
    """One object: its class (the value it has in ``ReadItem.label``) and its own mask."""

    class_id: int
    mask: np.ndarray  # bool HxW
    iscrowd: bool = False


@dataclass
class ReadItem:
    name: str  # the image file's stem (nnU-Net: the case id)
    image: np.ndarray  # HxW or HxWxC
    label: np.ndarray  # int64 HxW class map, -1 = ignore (nnU-Net)
    instances: Optional[list[ReadInstance]]


class ReadDataset:
    """A checked dataset: ``classes`` and ``names`` at once, items decoded one by one when iterated."""

    def __init__(self, fmt: str, root: Path, classes: dict[int, str],
                 loaders: list[tuple[str, Callable[[], ReadItem]]]):
        self.format, self.root, self.classes = fmt, root, classes
        self._loaders = loaders

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self._loaders]

    def __len__(self) -> int:
        return len(self._loaders)

    def __iter__(self) -> Iterator[ReadItem]:
        for _name, load in self._loaders:
            yield load()


# ---------------------------------------------------------------------------------------------- helpers
def _folder(root) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise DatasetError("dataset folder not found", root)
    return root


def _load_json(path: Path) -> Any:
    if not path.is_file():
        raise DatasetError("file not found", path)
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise DatasetError(f"not UTF-8 text (byte {exc.start})", path) from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f"broken JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", path) from None
    except (OSError, RecursionError) as exc:
        raise DatasetError(f"cannot read ({type(exc).__name__}: {exc})", path) from None


def _image(path: Path, *, orient: bool) -> np.ndarray:
    if not path.is_file():
        raise DatasetError("image not found", path)
    try:
        return load_image(path, exif_orientation_applies=orient)
    except AnnotationError as exc:
        raise DatasetError(exc.reason, path) from None


def _is_int(v) -> bool:
    return type(v) is int


def _polygon_mask(flat, shape: tuple[int, int]) -> np.ndarray:
    return shape_to_mask(shape, np.asarray(flat, np.float64).reshape(-1, 2).tolist(), "polygon")


# ------------------------------------------------------------------------------------------------- COCO
def rle_counts_from_string(s: str) -> list[int]:
    """pycocotools' compressed RLE: 5 bits per character (offset 48), bit 0x20 = more characters follow,
    bit 0x10 of the last one = negative; from the third run on, a run is stored as the difference to the
    run two places before."""
    counts: list[int] = []
    p = 0
    while p < len(s):
        x = k = 0
        more = True
        while more:
            if p >= len(s):
                raise ValueError("compressed RLE ends in the middle of a run")
            c = ord(s[p]) - 48
            if not 0 <= c < 64:
                raise ValueError(f"character {s[p]!r} is not in compressed RLE")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_decode(counts, height: int, width: int) -> np.ndarray:
    """bool HxW mask of COCO RLE runs (column-major, the first run counts zeros)."""
    runs = np.asarray(counts, dtype=np.int64)
    if runs.ndim != 1 or (runs < 0).any():
        raise ValueError("RLE runs must be non-negative integers")
    if int(runs.sum()) != height * width:
        raise ValueError(f"RLE runs cover {int(runs.sum())} pixels, the image has {height * width}")
    values = np.zeros(len(runs), bool)
    values[1::2] = True
    flat = np.repeat(values, runs)
    return flat.reshape(width, height).T.copy()


def _segmentation_mask(seg, shape: tuple[int, int], where: str) -> np.ndarray:
    h, w = shape
    if isinstance(seg, dict):  # RLE
        size, counts = seg.get("size"), seg.get("counts")
        if not (isinstance(size, list) and len(size) == 2 and all(_is_int(v) for v in size)):
            raise ValueError(f"{where}: RLE size must be [height, width]")
        if tuple(size) != (h, w):
            raise ValueError(f"{where}: RLE size {size[1]}x{size[0]} differs from the image's {w}x{h}")
        if isinstance(counts, str):
            counts = rle_counts_from_string(counts)
        elif not (isinstance(counts, list) and all(_is_int(v) for v in counts)):
            raise ValueError(f"{where}: RLE counts must be a list of integers or a compressed string")
        try:
            return rle_decode(counts, h, w)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    if not isinstance(seg, list):
        raise ValueError(f"{where}: segmentation must be a list of polygons or an RLE object")
    mask = np.zeros(shape, bool)
    for i, poly in enumerate(seg):
        if not (isinstance(poly, list) and all(type(v) in (int, float) for v in poly)):
            raise ValueError(f"{where}: polygon {i} is not a list of numbers")
        if len(poly) < 6 or len(poly) % 2:
            raise ValueError(f"{where}: polygon {i} has {len(poly)} coordinates (needs an even number >= 6)")
        if not all(math.isfinite(v) for v in poly):
            raise ValueError(f"{where}: polygon {i} has a non-finite coordinate")
        mask |= _polygon_mask(poly, shape)
    return mask


def _coco_tables(data, path: Path):
    if not isinstance(data, dict):
        raise DatasetError("not a COCO file (top level is not an object)", path)
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DatasetError(f"'{key}' missing or not a list", path)
    classes: dict[int, str] = {}
    for i, cat in enumerate(data["categories"]):
        if not (isinstance(cat, dict) and _is_int(cat.get("id")) and isinstance(cat.get("name"), str)):
            raise DatasetError(f"categories[{i}] needs an integer id and a name", path)
        if cat["id"] < 0 or cat["id"] in classes:
            raise DatasetError(f"categories[{i}]: id {cat['id']} is negative or used twice", path)
        classes[cat["id"]] = cat["name"]
    images: dict[int, dict] = {}
    for i, im in enumerate(data["images"]):
        ok = isinstance(im, dict) and _is_int(im.get("id")) and isinstance(im.get("file_name"), str)
        if not ok or not all(_is_int(im.get(k)) and im[k] > 0 for k in ("height", "width")):
            raise DatasetError(f"images[{i}] needs an integer id, a file_name and positive height/width", path)
        if im["id"] in images:
            raise DatasetError(f"images[{i}]: id {im['id']} is used twice", path)
        images[im["id"]] = im
    by_image: dict[int, list[dict]] = {k: [] for k in images}
    for i, a in enumerate(data["annotations"]):
        if not isinstance(a, dict):
            raise DatasetError(f"annotations[{i}] is not an object", path)
        where = f"annotation {a.get('id', i)}"
        if not _is_int(a.get("image_id")) or a["image_id"] not in images:
            raise DatasetError(f"{where}: image_id {a.get('image_id')!r} is not in images", path)
        if not _is_int(a.get("category_id")) or a["category_id"] not in classes:
            raise DatasetError(f"{where}: category_id {a.get('category_id')!r} is not in categories", path)
        if a.get("iscrowd", 0) not in (0, 1):
            raise DatasetError(f"{where}: iscrowd must be 0 or 1", path)
        if "segmentation" not in a:
            raise DatasetError(f"{where}: no segmentation", path)
        by_image[a["image_id"]].append(a)
    classes.setdefault(0, "_background_")
    return classes, list(images.values()), by_image


def _coco_item(root: Path, ann_path: Path, im: dict, anns: list[dict]) -> ReadItem:
    image_path = root / im["file_name"]
    image = _image(image_path, orient=True)
    shape = (im["height"], im["width"])
    if image.shape[:2] != shape:
        raise DatasetError(f"image is {image.shape[1]}x{image.shape[0]}, annotations.json says "
                           f"{shape[1]}x{shape[0]} (image id {im['id']})", image_path)
    label = np.zeros(shape, np.int64)
    instances = []
    for a in anns:
        try:
            mask = _segmentation_mask(a["segmentation"], shape, f"annotation {a.get('id')}")
        except ValueError as exc:
            raise DatasetError(str(exc), ann_path) from None
        label[mask] = a["category_id"]
        instances.append(ReadInstance(a["category_id"], mask, bool(a.get("iscrowd", 0))))
    return ReadItem(Path(im["file_name"]).stem, image, label, instances)


def read_coco(root, annotations: str = "annotations.json") -> ReadDataset:
    """A COCO instance-segmentation folder: ``root/annotations.json`` with ``file_name`` relative to root."""
    root = _folder(root)
    path = root / annotations
    classes, images, by_image = _coco_tables(_load_json(path), path)
    loaders = [(Path(im["file_name"]).stem,
                (lambda im=im: _coco_item(root, path, im, by_image[im["id"]]))) for im in images]
    return ReadDataset("coco", root, dict(sorted(classes.items())), loaders)


# ------------------------------------------------------------------------------------------------- YOLO
def _yolo_names(meta, path: Path) -> list[str]:
    names = meta.get("names")
    if isinstance(names, list):
        names = dict(enumerate(names))
    if not isinstance(names, dict) or not names:
        raise DatasetError("'names' missing (a list or a {index: name} mapping)", path)
    if not all(_is_int(k) for k in names) or sorted(names) != list(range(len(names))) or \
            not all(isinstance(v, str) for v in names.values()):
        raise DatasetError("'names' must map 0..n-1 to class names", path)
    if "nc" in meta and meta["nc"] != len(names):
        raise DatasetError(f"nc is {meta['nc']!r} but names lists {len(names)} classes", path)
    return [names[i] for i in range(len(names))]


def _yolo_image_dirs(meta, yaml_path: Path) -> list[Path]:
    base = yaml_path.parent
    if meta.get("path"):  # Ultralytics resolves a relative 'path' against its datasets_dir; we use the YAML's
        base = base / str(meta["path"])
    dirs: list[Path] = []
    for split in ("train", "val", "test"):
        entries = meta.get(split)
        if entries is None:
            continue
        for entry in entries if isinstance(entries, list) else [entries]:
            if not isinstance(entry, str):
                raise DatasetError(f"'{split}' must be a folder or a list of folders", yaml_path)
            folder = base / entry
            if not folder.is_dir():
                what = "image list files are not supported" if folder.is_file() else "folder not found"
                raise DatasetError(f"'{split}': {entry}: {what}", yaml_path)
            if folder.resolve() not in [d.resolve() for d in dirs]:
                dirs.append(folder)
    if not dirs:
        raise DatasetError("no 'train' or 'val' folder", yaml_path)
    return dirs


def yolo_label_path(image: Path) -> Path:
    """Ultralytics' rule: the last ``/images/`` of the path becomes ``/labels/``, the suffix ``.txt``."""
    s = str(image)
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    if sa in s:
        s = sb.join(s.rsplit(sa, 1))
    return Path(s).with_suffix(".txt")


def _yolo_lines(path: Path, nc: int) -> list[tuple[int, np.ndarray]]:
    """(class index, Nx2 normalized points) per line of a YOLO-seg label file."""
    if not path.is_file():
        return []  # no label file: an image without objects (Ultralytics' background image)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read ({type(exc).__name__}: {exc})", path) from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        try:
            values = [float(t) for t in tokens]
        except ValueError:
            raise DatasetError(f"line {n}: not a list of numbers", path) from None
        cls = values[0]
        if not cls.is_integer() or not 0 <= cls < nc:
            raise DatasetError(f"line {n}: class {tokens[0]} is not an index 0..{nc - 1}", path)
        coords = values[1:]
        if len(coords) == 4:
            raise DatasetError(f"line {n}: a box (4 values), not a polygon: YOLO-seg needs >= 3 points", path)
        if len(coords) < 6 or len(coords) % 2:
            raise DatasetError(f"line {n}: {len(coords)} coordinates (needs an even number >= 6)", path)
        xy = np.asarray(coords, np.float64).reshape(-1, 2)
        if not (np.isfinite(xy).all() and (xy >= 0).all() and (xy <= 1).all()):
            raise DatasetError(f"line {n}: coordinates must be normalized to [0, 1]", path)
        out.append((int(cls), xy))
    return out


def _yolo_item(image_path: Path, nc: int) -> ReadItem:
    lines = _yolo_lines(yolo_label_path(image_path), nc)
    image = _image(image_path, orient=True)
    h, w = image.shape[:2]
    label = np.zeros((h, w), np.int64)
    instances = []
    for cls, xy in lines:
        mask = _polygon_mask(xy * [w, h], (h, w))
        label[mask] = cls + 1
        instances.append(ReadInstance(cls + 1, mask))
    return ReadItem(image_path.stem, image, label, instances)


def read_yolo_seg(root, data_yaml: str = "data.yaml") -> ReadDataset:
    """An Ultralytics segmentation dataset: ``data.yaml`` (names, train/val folders) and ``labels/``."""
    root = _folder(root)
    path = root / data_yaml
    if not path.is_file():
        raise DatasetError("file not found", path)
    try:
        meta = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        raise DatasetError(f"not readable YAML ({type(exc).__name__}: {str(exc).splitlines()[0]})", path) from None
    if not isinstance(meta, dict):
        raise DatasetError("not a YOLO data.yaml (top level is not a mapping)", path)
    names = _yolo_names(meta, path)
    images = []
    for folder in _yolo_image_dirs(meta, path):
        images += sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
    loaders = [(p.stem, (lambda p=p: _yolo_item(p, len(names)))) for p in images]
    return ReadDataset("yolo", root, {0: "_background_", **{i + 1: n for i, n in enumerate(names)}}, loaders)


# ---------------------------------------------------------------------------------------------- nnU-Net
def _nnunet_meta(data, path: Path):
    if not isinstance(data, dict):
        raise DatasetError("not an nnU-Net dataset.json (top level is not an object)", path)
    labels, channels, ending = data.get("labels"), data.get("channel_names"), data.get("file_ending")
    if not isinstance(labels, dict) or not labels:
        raise DatasetError("'labels' missing or not an object", path)
    if not isinstance(channels, dict) or not channels:
        raise DatasetError("'channel_names' missing or not an object", path)
    if not isinstance(ending, str) or not ending.startswith("."):
        raise DatasetError("'file_ending' missing (e.g. \".png\")", path)
    for name, value in labels.items():
        if isinstance(value, (list, tuple)):
            raise DatasetError(f"label {name!r}: region-based labels are not supported", path)
        if not _is_int(value) or value < 0:
            raise DatasetError(f"label {name!r}: value must be an integer >= 0, found {value!r}", path)
    if labels.get("background") != 0:
        raise DatasetError("'labels' must map \"background\" to 0", path)
    ignore = labels.get("ignore")
    classes = {v: k for k, v in labels.items() if k != "ignore"}
    if len(classes) != len(labels) - (ignore is not None):
        raise DatasetError("two labels share one value", path)
    if ignore is not None and ignore <= max(classes):
        raise DatasetError(f"the ignore label ({ignore}) must be above every class", path)
    n_training = data.get("numTraining")
    if not _is_int(n_training) or n_training < 0:
        raise DatasetError(f"'numTraining' must be a count, found {n_training!r}", path)
    return dict(sorted(classes.items())), ignore, len(channels), ending, n_training


def _nnunet_item(root: Path, case: str, classes: dict, ignore, n_channels: int, ending: str) -> ReadItem:
    label_path = root / "labelsTr" / f"{case}{ending}"
    files = []
    while (root / "imagesTr" / f"{case}_{len(files):04d}{ending}").is_file():
        files.append(root / "imagesTr" / f"{case}_{len(files):04d}{ending}")
    if not files:
        raise DatasetError("image not found", root / "imagesTr" / f"{case}_0000{ending}")
    arrays = [_image(f, orient=False) for f in files]
    got = sum(a.shape[2] if a.ndim == 3 else 1 for a in arrays)
    if got != n_channels:
        raise DatasetError(f"case {case} has {got} channel(s), dataset.json declares {n_channels}", files[0])
    if len({a.shape[:2] for a in arrays}) > 1:
        raise DatasetError(f"the image files of case {case} differ in size", files[0])
    image = arrays[0] if len(arrays) == 1 else np.concatenate(
        [a if a.ndim == 3 else a[..., None] for a in arrays], axis=2)
    try:
        with Image.open(label_path) as im:
            lbl = np.asarray(im).astype(np.int64)
    except Exception as exc:  # noqa: BLE001 - PIL raises many types
        raise DatasetError(f"unreadable label image ({type(exc).__name__}: {exc})", label_path) from None
    if lbl.ndim != 2:
        raise DatasetError(f"label must be one channel, found shape {lbl.shape}", label_path)
    if lbl.shape != image.shape[:2]:
        raise DatasetError(f"label is {lbl.shape[1]}x{lbl.shape[0]}, its image {image.shape[1]}x{image.shape[0]}",
                           label_path)
    allowed = set(classes) | ({ignore} if ignore is not None else set())
    bad = sorted(set(np.unique(lbl).tolist()) - allowed)
    if bad:
        raise DatasetError(f"values {bad[:8]} are not labels of dataset.json", label_path)
    if ignore is not None:
        lbl[lbl == ignore] = -1
    return ReadItem(case, image, lbl, None)


def read_nnunet_raw(root) -> ReadDataset:
    """An nnU-Net v2 raw dataset folder (``dataset.json``, ``imagesTr/<case>_XXXX``, ``labelsTr/<case>``)."""
    root = _folder(root)
    path = root / "dataset.json"
    classes, ignore, n_channels, ending, n_training = _nnunet_meta(_load_json(path), path)
    labels_dir = root / "labelsTr"
    if not labels_dir.is_dir():
        raise DatasetError("labelsTr folder not found", labels_dir)
    cases = sorted(p.name[: -len(ending)] for p in labels_dir.iterdir() if p.name.endswith(ending) and p.is_file())
    if n_training != len(cases):
        raise DatasetError(f"numTraining is {n_training} but labelsTr holds {len(cases)} case(s)", path)
    loaders = [(c, (lambda c=c: _nnunet_item(root, c, classes, ignore, n_channels, ending))) for c in cases]
    return ReadDataset("nnunet", root, classes, loaders)


__all__ = ["ReadDataset", "ReadItem", "ReadInstance", "read_coco", "read_yolo_seg", "read_nnunet_raw",
           "rle_decode", "rle_counts_from_string", "yolo_label_path"]
