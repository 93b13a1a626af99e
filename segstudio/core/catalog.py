"""The built-in models and losses by name, with their descriptions, readable without importing torch.

The registries (``segstudio.core.models.MODELS``, ``segstudio.core.losses.LOSSES``) are filled when their
modules are imported, and those import torch (about 2 s).  The GUI's training form shows these tables before
its first frame and asks the registries (which add the plugins' models and losses) on a worker afterwards
(``segstudio.gui.training.choices``).  ``tests/test_startup_imports.py`` checks that each table equals what
the modules register, with :func:`describe` of each entry, so the two cannot drift apart.
"""
from __future__ import annotations

#: name -> description (first paragraph of the factory's docstring) of every model segstudio.core.models registers
BUILTIN_MODELS: dict[str, str] = {
    "attention_unet": "Attention U-Net (Oktay et al. 2018): additive attention gates on every skip connection.",
    "cbam_unet": "U-Net with CBAM channel (reduction 16) + spatial (kernel 7) attention after every double conv.",
    "resnet_unet": "U-Net with a torchvision ResNet-18/34/50 encoder; attention=\"dual\" adds channel+spatial "
                   "attention.",
    "unet": "U-Net: double conv blocks, widths base*2^i (default base=16, depth=4), bilinear or transposed up.",
    "unetpp": "U-Net++: nested dense skips; deep_supervision=True returns a list in train mode, the mean in eval.",
    "vgg16_unet": "U-Net with a torchvision VGG16 encoder (bubbliiiing/unet-pytorch layout); ImageNet weights if "
                  "cached.",
}

#: name -> description (first paragraph of the class's docstring) of every loss segstudio.core.losses registers
BUILTIN_LOSSES: dict[str, str] = {
    "bce": "Sigmoid BCE.",
    "ce": "Softmax cross-entropy; with class weights, the weighted mean over valid pixels (as torch).",
    "dice": "1 - mean_c (2 TP + s) / (2 TP + FP + FN + s).",
    "dice_ce": "dice_weight * dice + ce_weight * ce (defaults 1, 1); class weights go to both.",
    "dice_focal": "dice_weight * dice + focal_weight * focal (defaults 1, 1, gamma 2).",
    "focal": "Focal loss (Lin et al.): mean over valid pixels of -alpha_t (1 - p_t)^gamma log p_t.",
    "jaccard": "1 - mean_c (TP + s) / (TP + FP + FN + s) (soft IoU).",
    "tversky": "1 - mean_c (TP + s) / (TP + alpha FP + beta FN + s); alpha weighs false positives, beta false "
               "negatives (default 0.3 / 0.7, Salehi et al.; 0.5 / 0.5 is Dice).",
}


def describe(obj) -> str:
    """The first paragraph of ``obj``'s docstring on one line ("" without one): a registry entry's description."""
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return " ".join(doc.split("\n\n", 1)[0].split())


def registry_descriptions(registry) -> dict[str, str]:
    """name -> :func:`describe` of every entry of a registry (imports its plugins: see ``Registry.names``)."""
    return {name: describe(registry.get(name)) for name in registry.names()}
