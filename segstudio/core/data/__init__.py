"""Datasets (labelme / images+masks / VOC), splits, preprocessing and augmentation.

See docs/data.md.  Public API::

    open_dataset(path, labels=None, *, img_size=None, kind="auto", ...) -> SegDataset
    labelme_dataset(folder, label_set) ; masks_dataset(root) ; voc_dataset(root)
    split_indices(dataset, val_fraction=0.1, seed=0, k_folds=None, fold=0) -> (train_idx, val_idx)
    save_split(path, names_train, names_val) ; load_split(path) -> (train_names, val_names)
    build_transforms(preset="light", img_size=256, **overrides) -> callable(image, mask)
    to_float_chw, letterbox, unletterbox, LetterboxMeta   (segstudio.core.data.transforms)
"""
from segstudio.core.lazy import lazy_exports

#: name -> the module it comes from, imported on first use (PEP 562): datasets and augmentation import torch and
#: torchvision (seconds), which ``segstudio.core.data.augment_config`` (the GUI's training form) must not pay
_EXPORTS = {
    **dict.fromkeys(("PRESETS", "AugmentConfig"), "segstudio.core.data.augment_config"),
    **dict.fromkeys(("Augment", "build_transforms"), "segstudio.core.data.augment"),
    **dict.fromkeys(("KINDS", "MaskFolderDataset", "SegDataset", "VocDataset", "detect_kind", "masks_dataset",
                     "open_dataset", "voc_dataset"), "segstudio.core.data.datasets"),
    **dict.fromkeys(("LabelmeDataset", "RasterCache", "labelme_dataset"), "segstudio.core.data.labelme"),
    **dict.fromkeys(("indices_of", "load_split", "save_split", "split_indices"), "segstudio.core.data.splits"),
    **dict.fromkeys(("LetterboxMeta", "fit_to_size", "letterbox", "resize_to", "to_float_chw", "unletterbox"),
                    "segstudio.core.data.transforms"),
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "KINDS", "PRESETS", "Augment", "AugmentConfig", "LabelmeDataset", "LetterboxMeta", "MaskFolderDataset",
    "RasterCache", "SegDataset", "VocDataset", "build_transforms", "detect_kind", "fit_to_size", "indices_of",
    "labelme_dataset", "letterbox", "load_split", "masks_dataset", "open_dataset", "resize_to", "save_split",
    "split_indices", "to_float_chw", "unletterbox", "voc_dataset",
]
