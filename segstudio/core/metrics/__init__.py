"""Segmentation metrics: streaming confusion matrix, per-image IoU, AP thresholds, HD95, mask evaluation.

See docs/models.md for the definitions and the empty-class conventions.
"""
from segstudio.core.metrics.confusion import ConfusionMatrix, confusion_counts, metrics_from_matrix, nanmean
from segstudio.core.metrics.evaluate import (
    evaluate_dirs,
    evaluate_masks,
    image_scores,
    pair_mask_dirs,
    result_to_json,
)
from segstudio.core.metrics.surface import hd95, surface_distances

__all__ = [
    "ConfusionMatrix", "confusion_counts", "evaluate_dirs", "evaluate_masks", "hd95", "image_scores", "metrics_from_matrix",
    "nanmean", "pair_mask_dirs", "result_to_json", "surface_distances",
]
