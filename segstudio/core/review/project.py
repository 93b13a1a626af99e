"""Review of a project: predict its images with a checkpoint into ``predictions/``, read a prediction and the
annotation it is compared with, and score every predicted image that has an annotation (the Review dock runs
these in a worker; the scores are :mod:`segstudio.core.review.scores`', as for ``segstudio evaluate``)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np

from segstudio.core.errors import AnnotationError, SegStudioError
from segstudio.core.progress import check_cancel
from segstudio.core.review.scores import Evaluation, Evaluator


def prediction_path(project, entry) -> Path:
    return project.predictions_dir / f"{entry.stem}.png"


def entry_image(entry) -> np.ndarray:
    """The image of ``entry``: its file, else the one embedded in (or named by) its labelme JSON, as the
    canvas opens it."""
    from segstudio.core.annotation.io import annotation_image, load_annotation, load_image

    if Path(entry.image_path).is_file() and entry.image_path != entry.json_path:
        return load_image(entry.image_path, slice=getattr(entry, "slice", None))  # a volume's slice
    return annotation_image(load_annotation(entry.json_path, check_image=False), entry.json_path)


def read_prediction(project, entry) -> Optional[np.ndarray]:
    """The predicted class mask of ``entry`` (int64, -1 ignore), or None when it was not predicted."""
    from segstudio.core.annotation.masks import read_label_mask

    path = prediction_path(project, entry)
    if not path.is_file():
        return None
    return read_label_mask(path, project.label_set.num_classes)


def ground_truth(project, entry, annotation=None) -> Optional[np.ndarray]:
    """The annotation of ``entry`` rasterized with the project's class ids (None when it has no JSON).

    ``annotation``: an in-memory Annotation to use instead of the file (the open document, unsaved edits
    included).  An unknown label raises AnnotationError naming the JSON file.
    """
    from segstudio.core.annotation.io import load_annotation
    from segstudio.core.annotation.rasterize import annotation_to_label

    if annotation is None:
        if not entry.json_path.is_file():
            return None
        annotation = load_annotation(entry.json_path, check_image=False)
    try:
        cls, _ins = annotation_to_label(annotation, project.label_set)
    except KeyError as exc:
        raise AnnotationError(f"label {exc.args[0] if exc.args else exc} is not in the project's class list",
                              entry.json_path) from None
    return np.asarray(cls, dtype=np.int64)


def evaluate_project(project, entries=None, *, annotations: Optional[dict] = None,
                     progress: Optional[Callable[[int, int, str], None]] = None,
                     cancel: Optional[Callable[[], bool]] = None) -> Evaluation:
    """Score every predicted mask of ``entries`` (default: all images) that has an annotation.

    ``annotations``: stem -> in-memory Annotation used instead of the JSON file.  An image that cannot be
    scored (unreadable mask, unknown label, size mismatch) is listed in ``problems`` and skipped;
    ``sources`` counts the scored images per checkpoint that predicted them (predictions/sources.json).
    """
    ev = Evaluator(project.label_set.names)
    entries = list(project.images if entries is None else entries)
    for i, entry in enumerate(entries):
        check_cancel(cancel)
        try:
            pred = read_prediction(project, entry)
            gt = ground_truth(project, entry, (annotations or {}).get(entry.stem)) if pred is not None else None
            if pred is not None and gt is not None:
                ev.add(entry.stem, pred, gt, where=prediction_path(project, entry))
        except SegStudioError as exc:
            ev.skip(entry.stem, str(exc) if exc.path else f"{entry.json_path}: {exc}")
        if progress is not None:
            progress(i + 1, len(entries), entry.stem)
    result = ev.result()
    recorded = project.prediction_sources()
    for stem in result.per_image:
        result.sources[recorded.get(stem, "")] = result.sources.get(recorded.get(stem, ""), 0) + 1
    return result


def predict_entries(checkpoint, project, entries, *, device: str = "auto",
                    progress: Optional[Callable[[int, int, str], None]] = None,
                    cancel: Optional[Callable[[], bool]] = None):
    """Predict ``entries`` with ``checkpoint`` into ``predictions/<stem>.png`` (atomic palette PNGs) and record
    the checkpoint in predictions/sources.json; returns the :class:`~segstudio.core.inference.PredictReport`.

    The checkpoint's classes must be the project's (same names, same order), else the masks would mean
    something else: CheckpointError.
    """
    from segstudio.core.errors import CheckpointError
    from segstudio.core.inference import Predictor
    from segstudio.core.inference.batch import PredictReport, predict_images

    predictor = Predictor.from_checkpoint(checkpoint, device=device)
    ck_names = list(getattr(predictor, "class_names", []) or [])
    if ck_names and ck_names != list(project.label_set.names):
        raise CheckpointError(f"its classes {ck_names} are not the project's {list(project.label_set.names)}",
                              checkpoint)
    entries = list(entries)
    # what each entry is read from (and named by in a failure): its image file, else its JSON (unique)
    # (a volume's slices share one image file: they are named by their JSON paths, which are unique)
    sources = [Path(e.image_path) if Path(e.image_path).is_file() and getattr(e, "slice", None) is None
               else Path(e.json_path) for e in entries]
    by_source = dict(zip(sources, entries))
    report = PredictReport()
    try:
        predict_images(predictor, sources, project.predictions_dir, stems=[e.stem for e in entries],
                       load=lambda path: entry_image(by_source[path]), progress=progress, cancel=cancel,
                       report=report)
    finally:  # also after a cancel: the masks written so far say which model made them
        project.record_prediction_sources(report.predicted, checkpoint)
    return report


def sources_summary(sources: dict[str, int], chosen=None) -> str:
    """Which model(s) made the evaluated predictions, in words, warning when it is not (only) ``chosen``."""
    if not sources:
        return ""

    def short(ckpt: str) -> str:
        return f"{Path(ckpt).parent.name}/{Path(ckpt).name}" if ckpt else "an unknown model"

    chosen = str(chosen) if chosen else None
    if len(sources) == 1:
        (ckpt, _n), = sources.items()
        text = f"Predicted with {short(ckpt)}"
        if chosen and ckpt != chosen:
            text += " — not the chosen model: Predict all to score it"
        return text
    parts = ", ".join(f"{short(c)} ×{n}" for c, n in sorted(sources.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"Mixed predictions of {len(sources)} models ({parts}): Predict all to score one model"
