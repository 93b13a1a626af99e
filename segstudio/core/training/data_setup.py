"""From a TrainConfig to train/val datasets of fixed-size tensors.

* The data module's :func:`open_dataset` reads the folder (labelme, images/+masks/, VOC) at native size.
* :func:`split_indices` makes the seeded, stratified hold-out split (or fold ``fold`` of ``k_folds``
  stratified folds); it is saved as ``split.json``.
* Every item is fitted to ``img_size`` with the shared :func:`fit_to_size` (letterbox by default, the same
  function the predictor uses).  With ``cache_images`` the fitted items are kept in memory (images as
  float16: error below 0.07 of an 8-bit grey level), so an epoch decodes nothing: on a CPU decoding ~700 px JPEGs costs as
  much as a small U-Net step.
* Training items then go through the augmentation (:func:`build_transforms`, seeded by ``config.seed``; its
  generator state is part of the resume state).
"""
from __future__ import annotations

import statistics
from typing import Callable, List, Optional

import torch
from torch.utils.data import Dataset

from segstudio.core.errors import ConfigError, DatasetError


class FittedSubset(Dataset):
    """``base[indices[i]]`` fitted to ``img_size``, optionally cached, optionally augmented.

    Items: dict(image=float32 C x S x S, mask=int64 S x S, name=str).
    """

    def __init__(self, base, indices: List[int], img_size: int, resize_mode: str, *,
                 transform: Optional[Callable] = None, cache: bool = True):
        self.base = base
        self.indices = list(indices)
        self.img_size = int(img_size)
        self.resize_mode = resize_mode
        self.transform = transform
        self.cache: Optional[dict] = {} if cache else None

    def __len__(self) -> int:
        return len(self.indices)

    def _fitted(self, i: int):
        if self.cache is not None and i in self.cache:
            img, mask, name = self.cache[i]
            return img.float(), mask.long(), name
        from segstudio.core.data.transforms import fit_to_size

        item = self.base[self.indices[i]]
        image, mask = item["image"], item["mask"]
        if not isinstance(image, torch.Tensor):
            image = torch.as_tensor(image)
        if not isinstance(mask, torch.Tensor):
            mask = torch.as_tensor(mask)
        image, mask, _ = fit_to_size(image.float(), self.img_size, mask.long(), mode=self.resize_mode, mask_pad=-1)
        name = str(item.get("name", self.indices[i]))
        if self.cache is not None:
            # float16 keeps [0, 1] intensities within 2**-12 (< 0.07 of an 8-bit grey level); int16 labels.
            # The first access returns the stored (rounded) values too, so every epoch sees the same data.
            self.cache[i] = (image.to(torch.float16), mask.to(torch.int16), name)
            return self.cache[i][0].float(), mask, name
        return image, mask, name

    def fill_cache(self, cancel=None) -> bool:
        """Decode and fit every item now (in the main process, so DataLoader workers inherit the cache and
        a broken file is reported before training starts).  Returns False when ``cancel()`` said stop."""
        if self.cache is None:
            return True
        for i in range(len(self)):
            if cancel is not None and cancel():
                return False
            self._fitted(i)
        return True

    def __getitem__(self, i: int) -> dict:
        image, mask, name = self._fitted(i)
        if self.transform is not None:
            image, mask = self.transform(image, mask)
        return {"image": image.contiguous(), "mask": mask.contiguous(), "name": name}


def training_scale(ds: "FittedSubset") -> List[float]:
    """``[sy, sx]``: the median factor from native image pixels to model pixels over the items of ``ds``.

    Letterbox: ``min(S / h, S / w)`` per image (sy == sx); resize: ``S / h`` and ``S / w``.  Saved in the
    checkpoints as ``train_scale``: the predictor's sliding window rescales images by it, so tiles show objects
    at the scale the model was trained on.  Sizes come from the image headers (cheap).
    """
    ys, xs = [], []
    for j in ds.indices:
        h, w = ds.base.image_size(j)
        fy, fx = ds.img_size / h, ds.img_size / w
        if ds.resize_mode == "letterbox":
            fy = fx = min(fy, fx)
        ys.append(fy)
        xs.append(fx)
    if not ys:
        return [1.0, 1.0]
    return [float(statistics.median(ys)), float(statistics.median(xs))]


def class_names_of(dataset) -> List[str]:
    ls = getattr(dataset, "label_set", None)
    if ls is not None and getattr(ls, "names", None):
        return [str(n) for n in ls.names]
    names = getattr(dataset, "class_names", None)
    if names:
        return [str(n) for n in names]
    raise DatasetError("the dataset does not say its class names", getattr(dataset, "root", None))


def build_datasets(cfg):
    """``(base, train_ds, val_ds, class_names, in_channels, (train_names, val_names))`` for ``cfg``."""
    from segstudio.core.data import build_transforms, open_dataset, split_indices

    base = open_dataset(cfg.data, labels=cfg.labels)
    in_channels = cfg.in_channels or base.detect_channels()
    if in_channels != base.in_channels:
        base = base.with_options(in_channels=in_channels)
    n = len(base)
    if n < 2:
        raise DatasetError(f"training needs at least 2 annotated images (found {n}): one to train on, one to "
                           "validate on", cfg.data)
    class_names = class_names_of(base)
    if len(class_names) < 2:
        raise DatasetError("training needs at least one class besides the background", cfg.labels or cfg.data)
    k_folds = getattr(cfg, "k_folds", None)
    if k_folds is not None and k_folds > n:
        raise ConfigError(f"k_folds: {k_folds} folds need at least {k_folds} annotated images (found {n})", cfg.data)
    train_idx, val_idx = split_indices(base, val_fraction=cfg.val_fraction, seed=cfg.seed, k_folds=k_folds,
                                       fold=getattr(cfg, "fold", 0))
    if not val_idx:
        raise DatasetError("the validation split is empty: raise val_fraction or add images", cfg.data)
    aug = build_transforms(cfg.augment, cfg.img_size, seed=cfg.seed, resize_mode=cfg.resize_mode,
                           **cfg.augment_overrides)
    train_ds = FittedSubset(base, train_idx, cfg.img_size, cfg.resize_mode, transform=aug, cache=cfg.cache_images)
    val_ds = FittedSubset(base, val_idx, cfg.img_size, cfg.resize_mode, transform=None, cache=cfg.cache_images)
    names = list(getattr(base, "names", [str(i) for i in range(n)]))
    split = ([names[i] for i in train_idx], [names[i] for i in val_idx])
    return base, train_ds, val_ds, class_names, in_channels, split
