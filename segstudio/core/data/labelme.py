"""labelme folders as datasets: JSON files rasterized on the fly with the project label set, cached.

A labelme folder holds ``*.json`` documents whose ``imagePath`` points at the image (usually beside it;
``../images/x.jpg`` works too) or which embed it (``imageData``).  Images without a JSON are "not annotated"
and skipped (listed in ``dataset.skipped``).  Other JSON files (no ``shapes`` key, e.g. ``segstudio.json``)
are ignored.  Every labelme JSON is validated when the dataset opens, so a broken file or a label that is not
in the label set stops training at once with the files named.

Rasterized class masks are cached by :class:`RasterCache`, keyed by the JSON's path and (mtime, size) and the
label set: editing a JSON invalidates its entry.  The cache lives in memory (LRU, bounded) and optionally in
``cache_dir`` (one ``.npz`` per JSON), which DataLoader workers and later runs share.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import Optional

import numpy as np

from segstudio.core.data.datasets import SegDataset, _listing, _load_image, as_label_set, list_images
from segstudio.core.errors import AnnotationError, DatasetError, SegStudioError


class RasterCache:
    """Class masks of labelme JSONs, keyed by (path, mtime_ns, size, label names)."""

    def __init__(self, cache_dir=None, max_bytes: int = 512 * 2**20):
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.max_bytes = int(max_bytes)
        self._mem: "OrderedDict[str, tuple]" = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0  # rasterizations done

    def __getstate__(self):  # workers get an empty memory cache (the disk cache is shared)
        state = self.__dict__.copy()
        state["_mem"], state["_bytes"] = OrderedDict(), 0
        return state

    @staticmethod
    def stamp(json_path: Path) -> tuple:
        st = os.stat(json_path)
        return (st.st_mtime_ns, st.st_size)

    def _disk_file(self, key: str, names: tuple) -> Path:
        h = hashlib.sha1((key + "\0" + "\n".join(names)).encode("utf-8")).hexdigest()[:24]
        return self.cache_dir / f"{h}.npz"

    def get(self, json_path: Path, label_set, rasterize) -> np.ndarray:
        """The class mask of ``json_path``; ``rasterize()`` makes it on a miss."""
        key = str(Path(json_path).resolve())
        names = tuple(label_set.names)
        stamp = self.stamp(json_path)
        hit = self._mem.get(key)
        if hit is not None and hit[0] == stamp and hit[1] == names:
            self._mem.move_to_end(key)
            self.hits += 1
            return hit[2]
        label = None
        disk = self._disk_file(key, names) if self.cache_dir is not None else None
        if disk is not None and disk.is_file():
            try:
                with np.load(disk) as z:
                    if tuple(int(v) for v in z["stamp"]) == stamp:
                        label = z["label"]
                        self.hits += 1
            except (OSError, ValueError, KeyError):
                label = None  # a broken cache file is just a miss
        if label is None:
            self.misses += 1
            label = np.asarray(rasterize()).astype(np.int16)
            if disk is not None:
                self._write_disk(disk, label, stamp)
        self._put(key, (stamp, names, label))
        return label

    def _write_disk(self, disk: Path, label: np.ndarray, stamp: tuple) -> None:
        try:
            from segstudio.core.annotation.io import atomic_write

            disk.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(disk, lambda f: np.savez_compressed(f, label=label, stamp=np.asarray(stamp, np.int64)))
        except OSError:
            pass  # the cache is an optimisation; a read-only disk must not stop training

    def _put(self, key: str, entry: tuple) -> None:
        old = self._mem.pop(key, None)
        if old is not None:
            self._bytes -= old[2].nbytes
        self._mem[key] = entry
        self._bytes += entry[2].nbytes
        while self._bytes > self.max_bytes and len(self._mem) > 1:
            _, ev = self._mem.popitem(last=False)
            self._bytes -= ev[2].nbytes

    def clear(self) -> None:
        self._mem.clear()
        self._bytes = 0


def _read_labelme_json(path: Path):
    """Parsed + validated Annotation, or None when the file is not a labelme document."""
    from segstudio.core.annotation.io import parse_annotation

    try:
        raw = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AnnotationError(f"broken JSON ({exc})", path) from None
    if not isinstance(raw, dict) or "shapes" not in raw:
        return None
    return parse_annotation(raw, path, check_image=True)


def gather_label_set(annotations):
    """LabelSet of every label used, sorted (``_background_`` first, ``__ignore__`` recognised)."""
    from segstudio.core.annotation.labels import LabelSet

    found = set()
    for ann in annotations:
        found.update(s.label for s in ann.shapes)
    has_ignore = "__ignore__" in found
    names = sorted(found - {"__ignore__", "_background_"})
    return LabelSet(["_background_", *names], has_ignore=has_ignore)


def default_label_file(folder: Path) -> Optional[Path]:
    """labels.txt / classes.txt of the folder, or of its parent when the parent is a dataset root
    (``ph2/labelme`` next to ``ph2/images`` and ``ph2/classes.txt``)."""
    cands = [folder / "labels.txt", folder / "classes.txt"]
    if (folder.parent / "images").is_dir():
        cands += [folder.parent / "labels.txt", folder.parent / "classes.txt"]
    return next((p for p in cands if p.is_file()), None)


class LabelmeDataset(SegDataset):
    kind = "labelme"

    def __init__(self, *args, cache: Optional[RasterCache] = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.cache = cache if cache is not None else RasterCache()

    def _annotation(self, rec: dict):
        from segstudio.core.annotation.io import load_annotation

        return load_annotation(rec["json"], check_image=False)

    def label_mask(self, i: int) -> np.ndarray:
        """The item's rasterized class mask (int16, -1 ignore) from the cache."""
        return self._label(self._records[self._index[i]])

    def _label(self, rec: dict) -> np.ndarray:
        from segstudio.core.annotation.labels import UnknownLabelError
        from segstudio.core.annotation.rasterize import annotation_to_label

        def rasterize():
            ann = self._annotation(rec)
            try:
                return annotation_to_label(ann, self.label_set)[0]
            except UnknownLabelError as exc:
                raise AnnotationError(f"{exc}", rec["json"]) from None

        try:
            return self.cache.get(rec["json"], self.label_set, rasterize)
        except FileNotFoundError:
            raise AnnotationError("file not found (removed since the dataset was opened)", rec["json"]) from None

    def _read(self, rec: dict):
        from segstudio.core.annotation.io import annotation_image, load_image

        if rec["image"] is not None:
            img = _load_image(rec["image"], load_image)
        else:
            try:
                img = annotation_image(self._annotation(rec), rec["json"])
            except SegStudioError as exc:
                raise DatasetError(exc.reason, rec["json"]) from None
        return img, self._label(rec).astype(np.int64)

    def _presence(self, rec: dict):
        return rec["labels"]


def labelme_dataset(folder, label_set=None, *, cache_dir=None, cache: Optional[RasterCache] = None,
                    **options) -> LabelmeDataset:
    """Dataset of the labelme JSON files in ``folder`` (not recursive).

    ``label_set``: LabelSet / labels file / names; default ``folder/labels.txt`` (or classes.txt, or the
    parent dataset root's), else every label used, sorted.  Raises :class:`DatasetError` naming the folder
    when there is no labelme JSON, when JSONs are invalid or use unknown labels (files listed), and when no
    JSON is left.
    """
    from segstudio.core.annotation.io import resolve_image_path

    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError("dataset folder not found", folder)
    jsons = sorted(p for p in folder.glob("*.json") if p.name != "segstudio.json" and not p.name.startswith("."))
    anns, problems, not_labelme = [], [], []
    for jp in jsons:
        try:
            ann = _read_labelme_json(jp)
        except AnnotationError as exc:
            problems.append(str(exc))
            continue
        if ann is None:
            not_labelme.append(jp)
        else:
            anns.append((jp, ann))
    if problems:
        raise DatasetError(f"{len(problems)} invalid annotation(s): " + "; ".join(problems[:5])
                           + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""), folder)
    if not anns:
        raise DatasetError("no labelme JSON files (and no images/ + masks/ or VOC folders) found", folder)
    ls = as_label_set(label_set, folder)
    if ls is None:
        f = default_label_file(folder)
        ls = as_label_set(f) if f else gather_label_set(a for _, a in anns)
    records, unknown, names = [], {}, set()
    for jp, ann in anns:
        ids = set()
        for s in ann.shapes:
            if s.label in ls:
                ids.add(ls.id_of(s.label))
            else:
                unknown.setdefault(s.label, []).append(jp.name)
        if jp.stem in names:
            raise DatasetError(f"two annotations named {jp.stem}", folder)
        names.add(jp.stem)
        # embedded images and DICOM / NIfTI volume slices ("imageSlice") are read through annotation_image
        image = (None if ann.image_data is not None or "imageSlice" in ann.extra
                 else resolve_image_path(ann.image_path, jp))
        records.append({"name": jp.stem, "json": jp, "image": image,
                        "labels": frozenset(i for i in ids if i > 0)})
    if unknown:
        detail = "; ".join(f"{lab!r} in {_listing(files, 3)}" for lab, files in sorted(unknown.items())[:5])
        raise DatasetError(f"label(s) not in the label set {ls.names}: {detail}", folder)
    used = {r["image"].resolve() for r in records if r["image"] is not None}
    skipped = [p for p in list_images(folder) if p.resolve() not in used and p.stem not in names]
    skipped += not_labelme
    return LabelmeDataset(folder, ls, records, skipped=skipped,
                          cache=cache if cache is not None else RasterCache(cache_dir), **options)
