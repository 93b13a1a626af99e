"""Segmentation metrics: streaming confusion matrix, per-image IoU, AP thresholds, HD95, mask evaluation.

See docs/models.md for the definitions and the empty-class conventions.
"""
from segstudio.core.metrics.confusion import ConfusionMatrix, metrics_from_matrix, nanmean

__all__ = ["ConfusionMatrix", "metrics_from_matrix", "nanmean"]
