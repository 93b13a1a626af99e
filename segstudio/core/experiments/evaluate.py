"""Held-out evaluation of one experiment run: ``RUN/best.pt`` predicts the held-out images and the one review
service (:mod:`segstudio.core.review`, conventions in docs/metrics.md) scores them; the result goes to
``RUN/heldout.json`` (atomic write), per image and for the whole held-out set.

Prediction is ``segstudio predict``'s: :meth:`Predictor.from_checkpoint` with the test-time augmentation and
post-processing the checkpoint records, at each image's original size.  ``heldout.json``::

    {"classes": [...], "n_images": N, "checkpoint": {"epoch", "tta", "postprocess"},
     "images": [{"name", "iou": [per class], "dice": [...], "precision": [...], "recall": [...], "pa": [...],
                 "hd95": [per class, null for the background / undefined], "miou", "mdice", "mpa", "mprecision",
                 "mrecall", "accuracy", "fg_iou", "fg_dice", "hd95_mean"}, ...],
     "summary": {"miou", "mdice", "mpa", "mprecision", "mrecall", "fg_iou", "fg_dice", "accuracy",
                 "iou_<class>", "dice_<class>", "hd95_<class>" (foreground), "hd95", "ap50", "ap70", "ap90",
                 "mean_image_iou"},
     "per_class": {...}}          # segstudio evaluate's per-class block (HD95 coverage counts)

``summary`` is the pooled (whole-set) evaluation as ``segstudio evaluate`` prints it; ``hd95`` is the mean of the
foreground classes' HD95; ``hd95_mean`` of an image the mean of its defined foreground HD95s (null if none).
nan is written as null (strict JSON).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from segstudio.core.errors import CheckpointError, DatasetError
from segstudio.core.progress import CancelFn, ProgressFn, check_cancel

HELDOUT = "heldout.json"
PER_CLASS_LISTS = ("iou", "dice", "precision", "recall", "pa", "hd95")
IMAGE_MEANS = ("miou", "mdice", "mpa", "mprecision", "mrecall", "accuracy", "fg_iou", "fg_dice")


def _nanmean(values) -> float:
    v = [float(x) for x in values if x is not None and not math.isnan(float(x))]
    return float(sum(v) / len(v)) if v else math.nan


def image_record(scores) -> dict:
    """One image's row of heldout.json from its :class:`~segstudio.core.review.Scores`."""
    row = {"name": scores.image}
    row.update({k: [float(v) for v in getattr(scores, k)] for k in PER_CLASS_LISTS})
    row.update({k: float(getattr(scores, k)) for k in IMAGE_MEANS})
    row["hd95_mean"] = _nanmean(scores.hd95[1:])
    return row


def summary_record(evaluation) -> dict:
    """The held-out set's summary from the review service's :class:`~segstudio.core.review.Evaluation`."""
    d = evaluation.to_dict()
    names = d["classes"]
    s = dict(d["mean"])
    s["fg_iou"], s["fg_dice"] = s.pop("fg_miou"), s.pop("fg_mdice")
    s["accuracy"] = d["accuracy"]
    for n in names:
        s[f"iou_{n}"] = d["per_class"][n]["iou"]
        s[f"dice_{n}"] = d["per_class"][n]["dice"]
    for n in names[1:]:
        s[f"hd95_{n}"] = d["per_class"][n]["hd95"]
    s["hd95"] = _nanmean(d["per_class"][n]["hd95"] for n in names[1:])
    s.update({f"ap{k}": v for k, v in d["ap"].items()})
    s["mean_image_iou"] = d["mean_image_iou"]
    return s


def _check_inputs(run: Path, images: Sequence, masks: Sequence) -> Path:
    best = run / "best.pt"
    if not best.is_file():
        raise CheckpointError("no best.pt: the run has not finished an epoch", run)
    if len(images) != len(masks):
        raise DatasetError(f"{len(images)} held-out images but {len(masks)} masks", run)
    if not images:
        raise DatasetError("no held-out images to evaluate", run)
    stems = [Path(p).stem for p in images]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise DatasetError(f"held-out images share a name: {', '.join(dupes[:5])}", run)
    return best


def evaluate_run(run_dir, images: Sequence, masks: Sequence, class_names: Sequence[str], device="cpu",
                 progress: Optional[ProgressFn] = None, cancel: Optional[CancelFn] = None,
                 with_hd95: bool = True) -> dict:
    """Predict ``images`` with ``run_dir/best.pt``, score them against ``masks`` (same order) and write
    ``run_dir/heldout.json``; returns its content (nan as float nan).  Image names are the file stems.

    Raises :class:`CheckpointError` (no best.pt, unreadable, other classes than ``class_names``),
    :class:`DatasetError` / :class:`MaskError` (bad image lists or masks), :class:`Cancelled` (nothing written).
    """
    from segstudio.core.annotation.images import load_image
    from segstudio.core.annotation.io import atomic_write_text
    from segstudio.core.annotation.masks import read_label_mask
    from segstudio.core.inference import Predictor
    from segstudio.core.review import Evaluator, result_to_json

    run = Path(run_dir)
    best = _check_inputs(run, images, masks)
    names = [str(n) for n in class_names]
    predictor = Predictor.from_checkpoint(best, device=device)
    if list(predictor.class_names) != names:
        raise CheckpointError(f"the model's classes {predictor.class_names} differ from the dataset's {names}",
                              best)
    evaluator = Evaluator(names, with_hd95=with_hd95)
    total = len(images)
    for i, (img_path, mask_path) in enumerate(zip(images, masks)):
        check_cancel(cancel)
        image = np.asarray(load_image(img_path))
        gt = read_label_mask(mask_path, len(names), expected_size=image.shape[:2])
        label = predictor.predict(image, cancel=cancel).label
        evaluator.add(Path(img_path).stem, label, gt, where=img_path)
        if progress is not None:
            progress(i + 1, total, Path(img_path).name)
    check_cancel(cancel)
    evaluation = evaluator.result()
    info = predictor.checkpoint_info or {}
    result = {
        "classes": names, "n_images": evaluation.n_images,
        "checkpoint": {"file": best.name, "epoch": info.get("epoch"), "tta": predictor.tta,
                       "postprocess": predictor.postprocess},
        "images": [image_record(s) for s in evaluation.per_image.values()],
        "summary": summary_record(evaluation),
        "per_class": evaluation.to_dict()["per_class"],
    }
    atomic_write_text(run / HELDOUT, result_to_json(result))
    return result
