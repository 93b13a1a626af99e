"""Segmentation metric primitives: streaming confusion matrix (per-class IoU, Dice, precision, recall, PA
and their means) and HD95.  Scoring predictions against ground truth - one image, a set, two folders - is
:mod:`segstudio.core.review`; the conventions are in docs/metrics.md.
"""
from segstudio.core.metrics.confusion import ConfusionMatrix, confusion_counts, metrics_from_matrix, nanmean
from segstudio.core.metrics.surface import hd95, surface_distances

__all__ = ["ConfusionMatrix", "confusion_counts", "hd95", "metrics_from_matrix", "nanmean", "surface_distances"]
