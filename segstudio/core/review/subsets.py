"""Scoring a part of a project: the validation or the training images of the run that made the model.

A run folder records its split in ``split.json`` (names = the JSON stems of the project's images, see
:class:`segstudio.core.training.RunFolder`); the model's checkpoint lies in that folder.  The Review dock
scores the validation images by default, because the images a model trained on flatter it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

from segstudio.core.errors import DatasetError
from segstudio.core.review.scores import Evaluation, Evaluator

#: the scopes of the Review dock's metrics, in the order offered
VALIDATION, ALL, TRAINING = "validation", "all", "training"


def run_split(checkpoint) -> Optional[tuple[list[str], list[str]]]:
    """``(train names, val names)`` of the run whose folder holds ``checkpoint``; None when that folder records
    no split (a checkpoint from elsewhere) or the split file cannot be read."""
    from segstudio.core.data.splits import load_split
    from segstudio.core.training.run_folder import RunFolder

    if checkpoint is None:
        return None
    path = RunFolder(Path(checkpoint).parent).split_json
    if not path.is_file():
        return None
    try:
        return load_split(path)
    except DatasetError:
        return None


def subset(evaluation: Evaluation, names: Iterable[str]) -> Evaluation:
    """The scores of the images ``names`` of ``evaluation`` pooled again (one confusion matrix over their
    pixels, the HD95 mean over them), as if only they had been evaluated; names not scored are left out."""
    ev = Evaluator(evaluation.class_names, with_hd95=evaluation.with_hd95)
    wanted = set(str(n) for n in names)
    for name, scores in evaluation.per_image.items():
        if name in wanted:
            ev.pooled.add(scores.confusion)
            ev.evaluation.per_image[name] = scores
    result = ev.result()
    result.problems = {k: v for k, v in evaluation.problems.items() if k in wanted}
    return result


def scope_names(scope: str, split: Optional[tuple[list[str], list[str]]], all_names) -> Optional[list[str]]:
    """The image names a scope covers: ``all`` every name; ``validation`` / ``training`` the run's split
    (None when the model's run records none)."""
    if scope == ALL:
        return list(all_names)
    if split is None:
        return None
    return list(split[1] if scope == VALIDATION else split[0])
