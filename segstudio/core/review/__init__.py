"""Review: predict images, score the predictions against the ground truth, and draw them (Qt-free).

One pipeline for every front end - ``segstudio evaluate`` (:func:`evaluate_dirs`), ``segstudio predict --gt``,
the demo report (:func:`evaluate_masks`) and the Review dock (:func:`predict_entries`,
:func:`evaluate_project`, :func:`score_image`) - and one result type, :class:`Evaluation` of
:class:`Scores`.  The metric conventions are in docs/metrics.md.
"""
from segstudio.core.review.folders import MASK_EXTENSIONS, evaluate_dirs, list_masks, pair_mask_dirs
from segstudio.core.review.project import (entry_image, evaluate_project, ground_truth, predict_entries,
                                           prediction_path, read_prediction, sources_summary)
from segstudio.core.review.scores import (AP_THRESHOLDS, Evaluation, Evaluator, Scores, evaluate_masks,
                                          result_to_json, score_image)

__all__ = [
    "AP_THRESHOLDS", "Evaluation", "Evaluator", "MASK_EXTENSIONS", "Scores", "entry_image", "evaluate_dirs", "evaluate_masks",
    "evaluate_project", "ground_truth", "list_masks", "pair_mask_dirs", "predict_entries", "prediction_path",
    "read_prediction", "result_to_json", "score_image", "sources_summary",
]
