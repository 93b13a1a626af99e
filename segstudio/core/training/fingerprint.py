"""A dataset's fingerprint: what the automatic configuration (:mod:`.planner`) plans from.

:func:`fingerprint` reads every image's size from its file header and decodes a bounded, evenly spaced
sample (``sample`` images, default 40) for the rest:

* image sizes: median height/width, the smallest and largest side, the spread of aspect ratios (w / h,
  10th / 50th / 90th percentile);
* channels (1 for grayscale data, else 3) and intensity statistics (mean / std of [0, 1] values per channel);
* ``vertical_asymmetry``: how different the top and bottom halves look (in intensity std units).  Large for
  ultrasound / radiographs whose "up" means something, small for dermoscopy or microscopy: the planner
  keeps vertical flips and large rotations off when it is large;
* per class: pixel frequency over the sample, the share of images it appears in, its median area relative
  to the image, and its typical **width**: 2 · area / boundary length (a stripe of width w gives w, a disk of
  radius r gives r), relative to the image's longest side (the side ``img_size`` letterboxes), median and
  10th percentile over the images it appears in.  Thin structures (vessels) have a tiny width and need a
  large ``img_size``.

Plain data, no Qt; cancellable (``cancel()``) with progress (``progress(done, total)``).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional

import numpy as np

from segstudio.core.errors import DatasetError


@dataclass
class ClassStats:
    name: str
    pixel_frequency: float          # share of all sampled pixels (ignore pixels left out)
    image_frequency: float          # share of sampled images in which the class appears
    rel_area_median: float          # median area / image area over the images where it appears
    rel_width_median: float         # median of 2 * area / boundary, relative to the image's longest side
    rel_width_p10: float            # 10th percentile of the same (the thinnest structures)


@dataclass
class Fingerprint:
    n_images: int
    n_sampled: int
    class_names: list
    channels: int
    median_hw: tuple
    min_side: int
    max_side: int
    aspect_p10: float
    aspect_median: float
    aspect_p90: float
    intensity_mean: list
    intensity_std: list
    vertical_asymmetry: float
    classes: list = field(default_factory=list)   # ClassStats per class, background first

    def to_dict(self) -> dict:
        d = asdict(self)
        d["median_hw"] = list(self.median_hw)
        return d

    @property
    def foreground(self) -> list:
        return self.classes[1:]


def sample_indices(n: int, k: int) -> list[int]:
    """``k`` evenly spaced indices of ``range(n)`` (all of them when n <= k)."""
    if n <= k:
        return list(range(n))
    return sorted({int(round(i * (n - 1) / (k - 1))) for i in range(k)}) if k > 1 else [0]


def _boundary_count(m: np.ndarray) -> int:
    """Pixels of a boolean mask with a 4-neighbour outside it (the image border counts as outside)."""
    p = np.pad(m, 1, constant_values=False)
    inner = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return int(m.sum() - inner.sum())


def _percentile(values, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def fingerprint(data, labels=None, *, sample: int = 40, progress: Optional[Callable[[int, int], None]] = None,
                cancel: Optional[Callable[[], bool]] = None, dataset=None) -> Optional[Fingerprint]:
    """The fingerprint of the dataset folder ``data`` (or of an opened ``dataset``); None when cancelled.

    Raises the data module's errors for an unreadable folder and :class:`DatasetError` for an empty one."""
    from segstudio.core.data import open_dataset
    from segstudio.core.training.data_setup import class_names_of

    base = dataset if dataset is not None else open_dataset(data, labels=labels)
    n = len(base)
    if n == 0:
        raise DatasetError("no annotated images to plan a training from", data)
    names = class_names_of(base)
    sizes = []
    for i in range(n):
        sizes.append(base.image_size(i))
        if cancel is not None and i % 64 == 0 and cancel():
            return None
    hs = np.array([s[0] for s in sizes], dtype=float)
    ws = np.array([s[1] for s in sizes], dtype=float)
    aspects = ws / hs
    idx = sample_indices(n, sample)
    k = len(names)
    counts = np.zeros(k, dtype=np.float64)
    present = np.zeros(k, dtype=np.int64)
    areas = [[] for _ in range(k)]
    widths = [[] for _ in range(k)]
    sums, sq, npx = None, None, 0
    asym = []
    channels = 1
    for step, i in enumerate(idx):
        if cancel is not None and cancel():
            return None
        img, mask = base.load_raw(i)
        img = np.asarray(img)
        if img.ndim == 3 and img.shape[2] >= 3 and not _is_grey(img):
            channels = 3
        x = _unit(img)
        x = x[..., None] if x.ndim == 2 else x[..., :3]
        s = x[::4, ::4].reshape(-1, x.shape[2]).astype(np.float64)
        if sums is None or sums.shape[0] != s.shape[1]:
            sums, sq, npx = np.zeros(s.shape[1]), np.zeros(s.shape[1]), 0
        sums += s.sum(0)
        sq += (s ** 2).sum(0)
        npx += s.shape[0]
        g = x.mean(2)
        half = g.shape[0] // 2
        asym.append(abs(float(g[:half].mean()) - float(g[half:].mean())) / max(float(g.std()), 1e-6))
        valid = mask >= 0
        total = max(int(valid.sum()), 1)
        longest = max(mask.shape)
        bc = np.bincount(mask[valid].ravel(), minlength=k)[:k]
        counts += bc
        for c in range(k):
            if bc[c] == 0:
                continue
            present[c] += 1
            areas[c].append(bc[c] / total)
            if c:
                m = mask == c
                widths[c].append(2.0 * bc[c] / max(_boundary_count(m), 1) / longest)
        if progress is not None:
            progress(step + 1, len(idx))
    mean = (sums / max(npx, 1)).tolist()
    std = np.sqrt(np.maximum(sq / max(npx, 1) - (sums / max(npx, 1)) ** 2, 0)).tolist()
    if channels == 1 and len(mean) == 3:
        mean, std = [float(np.mean(mean))], [float(np.mean(std))]
    freq = counts / max(counts.sum(), 1)
    classes = [ClassStats(name=str(names[c]), pixel_frequency=float(freq[c]),
                          image_frequency=float(present[c] / len(idx)),
                          rel_area_median=_percentile(areas[c], 50),
                          rel_width_median=_percentile(widths[c], 50) if c else float("nan"),
                          rel_width_p10=_percentile(widths[c], 10) if c else float("nan"))
               for c in range(k)]
    return Fingerprint(n_images=n, n_sampled=len(idx), class_names=[str(c) for c in names], channels=channels,
                       median_hw=(int(np.median(hs)), int(np.median(ws))), min_side=int(min(hs.min(), ws.min())),
                       max_side=int(max(hs.max(), ws.max())), aspect_p10=float(np.percentile(aspects, 10)),
                       aspect_median=float(np.median(aspects)), aspect_p90=float(np.percentile(aspects, 90)),
                       intensity_mean=[float(v) for v in mean], intensity_std=[float(v) for v in std],
                       vertical_asymmetry=float(np.median(asym)) if asym else 0.0, classes=classes)


def _is_grey(img: np.ndarray) -> bool:
    """An RGB image whose channels are equal (grayscale saved as RGB)."""
    s = img[::8, ::8, :3].astype(np.int32)
    return bool(np.abs(s[..., 0] - s[..., 1]).max() <= 1 and np.abs(s[..., 1] - s[..., 2]).max() <= 1)


def _unit(img: np.ndarray) -> np.ndarray:
    """Intensities in [0, 1] as float32 (8-bit / 16-bit / float images)."""
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    if img.dtype == np.uint16:
        return img.astype(np.float32) / 65535.0
    x = img.astype(np.float32)
    hi = float(x.max()) if x.size else 1.0
    return x / hi if hi > 1.0 and math.isfinite(hi) else x
