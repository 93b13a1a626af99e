"""An experiment's data: the dataset's image/mask pairs, its held-out split, and each run's training folder.

* :func:`read_pairs` lists an ``images/`` + ``masks/`` + ``classes.txt`` folder (files paired by stem, as
  ``segstudio train`` reads it) without decoding anything.  A labelme project (JSON beside the images) is read
  too (its annotated images; the JSONs validated); :func:`materialize` then rasterizes its annotations once into
  a mask folder of the experiment (``EXP/data/source``), which the runs train on and are scored against.
* :func:`make_split` draws the experiment's one split: every N-th image held out (``holdout_every``), a seeded
  fraction stratified by class presence (``holdout_fraction``, :func:`segstudio.core.data.split_indices`), or
  K stratified folds (``folds``: each fold is held out once and the run trains on the others).
* :func:`link_train_folder` builds the folder a run trains on: symlinks to its training images, their masks and
  the class list, so ``segstudio train`` never sees the held-out images and the data folder is never written.
  Where the file system refuses symlinks (Windows without the privilege) the files are hard-linked, else copied.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from segstudio.core.errors import SegStudioError

#: class-list file names a mask folder may carry (the first present one is used and linked)
CLASS_FILES = ("classes.txt", "labels.txt")


@dataclass(frozen=True)
class Pairs:
    """The image/mask pairs of a dataset folder (sorted by image name) and its class names."""

    root: Path
    images: List[Path]
    masks: List[Path]
    class_names: List[str]
    class_file: Optional[Path]
    labelme: object = None      # the labelme dataset (masks still to be rasterized: :func:`materialize`)

    @property
    def names(self) -> List[str]:
        return [p.name for p in self.images]

    def mask_of(self, image_name: str) -> Path:
        return self.masks[self.names.index(image_name)]


def read_pairs(root: Path) -> Pairs:
    """The pairs of ``root`` (images/ + masks/ + classes.txt); :class:`SegStudioError` naming ``root`` when it is
    not such a folder or its files do not pair up."""
    from segstudio.core.data.datasets import masks_dataset

    from segstudio.core.data.datasets import detect_kind

    root = Path(root)
    if not root.exists():
        raise SegStudioError("data folder not found", root)
    if not ((root / "images").is_dir() and (root / "masks").is_dir()):
        if detect_kind(root) == "labelme":
            return _labelme_pairs(root)
        raise SegStudioError("an experiment needs an images/ + masks/ + classes.txt folder or a labelme project",
                             root)
    ds = masks_dataset(root)   # pairs by stem, reads classes.txt; decodes nothing
    class_file = next((root / n for n in CLASS_FILES if (root / n).is_file()), None)
    if class_file is None:  # pragma: no cover - masks_dataset already refused it
        raise SegStudioError("no classes.txt", root)
    records = sorted((ds.record(i) for i in range(len(ds))), key=lambda r: Path(r["image"]).name)
    return Pairs(root, [Path(r["image"]) for r in records], [Path(r["mask"]) for r in records],
                 [str(n) for n in ds.label_set.names], class_file)


def _labelme_pairs(root: Path) -> Pairs:
    from segstudio.core.data.labelme import labelme_dataset

    ds = labelme_dataset(root)   # validates every JSON; class names from labels.txt, else the labels used
    records = [ds.record(i) for i in range(len(ds))]
    images = [Path(r["image"]) if r["image"] is not None else Path(r["json"]).with_suffix(".png") for r in records]
    order = sorted(range(len(records)), key=lambda i: images[i].name)
    names = [images[i].name for i in order]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SegStudioError(f"several annotated images share a file name: {', '.join(dup[:5])}", root)
    return Pairs(root, [images[i] for i in order], [], [str(n) for n in ds.label_set.names], None,
                 labelme=(ds, order))


def materialize(pairs: Pairs, dest: Path) -> Pairs:
    """A labelme project's pairs as a mask folder ``dest`` (images linked, or written when embedded in the
    JSON; annotations rasterized to class-id PNGs; classes.txt); a mask folder's pairs are returned as they are."""
    if pairs.labelme is None:
        return pairs
    from PIL import Image

    from segstudio.core.annotation.io import atomic_write_bytes, atomic_write_text
    from segstudio.core.annotation.masks import label_png_bytes

    ds, order = pairs.labelme
    (dest / "images").mkdir(parents=True, exist_ok=True)
    (dest / "masks").mkdir(parents=True, exist_ok=True)
    atomic_write_text(dest / "classes.txt", "".join(n + "\n" for n in pairs.class_names))
    for i, image in zip(order, pairs.images):
        atomic_write_bytes(dest / "masks" / f"{image.stem}.png", label_png_bytes(ds.label_mask(i)))
        if image.is_file():
            _link(image, dest / "images" / image.name)
        else:   # the image is embedded in the JSON
            Image.fromarray(ds.load_raw(i)[0]).save(dest / "images" / image.name)
    return read_pairs(dest)


def split_sizes(n: int, split: dict) -> List[int]:
    """The held-out count of each split part (one for a hold-out split, one per fold): cheap, no file read."""
    if "holdout_every" in split:
        return [len(range(0, n, split["holdout_every"]))]
    if "holdout_fraction" in split:
        held = round(n * split["holdout_fraction"])
        return [min(max(held, 1), n - 1) if n >= 2 else 0]
    k = split["folds"]
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _presence(mask: Path, num_classes: int) -> tuple:
    import numpy as np

    from segstudio.core.annotation.masks import read_label_mask

    values = np.unique(np.asarray(read_label_mask(mask, num_classes)))
    return tuple(int(v) for v in values if v > 0)


def make_split(pairs: Pairs, split: dict) -> dict:
    """The experiment's split as split.json holds it (image file names):
    ``{"kind": "holdout", "holdout": [...], "train": [...], ...}`` or ``{"kind": "folds", "folds": [[...], ...]}``.
    Same folder and settings -> same split."""
    from segstudio.core.data.splits import split_indices

    names = pairs.names
    if "holdout_every" in split:
        held = set(names[::split["holdout_every"]])
        return {"kind": "holdout", "holdout_every": split["holdout_every"],
                "holdout": [n for n in names if n in held], "train": [n for n in names if n not in held]}
    seed = int(split.get("seed", 0))
    stratified = bool(split.get("stratified", True))
    k = len(pairs.class_names)
    signatures = [_presence(m, k) if stratified else () for m in pairs.masks]
    if "holdout_fraction" in split:
        train, held = split_indices(None, val_fraction=split["holdout_fraction"], seed=seed, signatures=signatures)
        return {"kind": "holdout", "holdout_fraction": split["holdout_fraction"], "stratified": stratified,
                "seed": seed, "holdout": [names[i] for i in held], "train": [names[i] for i in train]}
    folds = [split_indices(None, seed=seed, k_folds=split["folds"], fold=f, signatures=signatures)[1]
             for f in range(split["folds"])]
    return {"kind": "folds", "stratified": stratified, "seed": seed, "folds": [[names[i] for i in f] for f in folds]}


def held_out(split: dict, fold: Optional[int]) -> List[str]:
    """The image names a run is scored on: the hold-out list, or fold ``fold``."""
    return list(split["folds"][fold]) if fold is not None else list(split["holdout"])


def training_names(split: dict, fold: Optional[int]) -> List[str]:
    """The image names a run trains on (its own validation split is drawn from them by ``segstudio train``)."""
    if fold is None:
        return list(split["train"])
    return [n for i, f in enumerate(split["folds"]) if i != fold for n in f]


def train_folder_name(fold: Optional[int]) -> str:
    return "train" if fold is None else f"train-fold{fold}"


def link_train_folder(pairs: Pairs, names: List[str], folder: Path) -> Path:
    """``folder`` with ``images/``, ``masks/`` and the class list linked from ``pairs`` for ``names`` only.

    An existing folder is brought to exactly that content (links of images not in ``names`` are removed), so a
    folder left by an interrupted experiment can never leak a held-out image into training."""
    folder = Path(folder)
    wanted = {"images": {}, "masks": {}}
    by_name = dict(zip(pairs.names, zip(pairs.images, pairs.masks)))
    for n in names:
        image, mask = by_name[n]
        wanted["images"][image.name] = image
        wanted["masks"][mask.name] = mask
    for sub, files in wanted.items():
        d = folder / sub
        d.mkdir(parents=True, exist_ok=True)
        for p in d.iterdir():
            if p.name not in files:
                p.unlink()
        for name, src in files.items():
            _link(src, d / name)
    _link(pairs.class_file, folder / pairs.class_file.name)
    return folder


def _link(src: Path, dst: Path) -> None:
    src = Path(src).resolve()
    if dst.is_symlink() or dst.exists():
        try:
            if dst.resolve() == src or (dst.stat().st_ino == src.stat().st_ino and not dst.is_symlink()):
                return
        except OSError:
            pass
        dst.unlink()
    try:
        os.symlink(src, dst)
    except OSError:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
