"""Glue between the review view and core: predict images, read masks, and gather per-image / whole-set
metrics.  Everything here is Qt-free (the work functions run in a :class:`~segstudio.gui.workers.Worker`);
the metrics themselves are core's (``ConfusionMatrix``, ``hd95``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from segstudio.core.errors import AnnotationError, Cancelled, SegStudioError

METRIC_KEYS = ("iou", "dice", "precision", "recall", "pa", "hd95")


def prediction_path(project, entry) -> Path:
    return project.predictions_dir / f"{entry.stem}.png"


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


def image_metrics(pred: np.ndarray, gt: np.ndarray, num_classes: int, *, with_hd95: bool = True) -> dict:
    """Per-class lists (``iou dice precision recall pa hd95``) and means (``miou`` ...) of one image."""
    from segstudio.core.metrics import ConfusionMatrix

    if pred.shape != gt.shape:
        raise SegStudioError(f"prediction {pred.shape[1]}x{pred.shape[0]} and annotation "
                             f"{gt.shape[1]}x{gt.shape[0]} differ in size")
    cm = ConfusionMatrix(num_classes)
    cm.update(pred, gt)
    out = cm.compute()
    if with_hd95:
        out["hd95"] = hd95_per_class(pred, gt, num_classes)
        out["hd95_undefined"] = hd95_undefined(pred, gt, num_classes)
        out["hd95_images"] = (0 if any(out["hd95_undefined"]) else 1, 1)
    else:
        out["hd95"] = [math.nan] * num_classes
    return out


def hd95_per_class(pred: np.ndarray, gt: np.ndarray, num_classes: int) -> list[float]:
    """HD95 (pixels) of every class present in prediction or annotation; nan otherwise (and for background)."""
    from segstudio.core.metrics import hd95

    valid = gt >= 0
    out = [math.nan]
    for c in range(1, num_classes):
        p, g = (pred == c) & valid, gt == c
        out.append(float(hd95(p, g)) if (p.any() or g.any()) else math.nan)
    return out


def hd95_undefined(pred: np.ndarray, gt: np.ndarray, num_classes: int) -> list[bool]:
    """Per class: True when the class is in exactly one of prediction and annotation (a missed or a
    hallucinated object).  Its HD95 is undefined (nan): it cannot enter a mean, so it must be counted."""
    valid = gt >= 0
    out = [False]
    for c in range(1, num_classes):
        out.append(bool(((pred == c) & valid).any()) != bool((gt == c).any()))
    return out


def hd95_coverage(per_image) -> tuple[int, int]:
    """(k, n): k of the n images (``image_metrics()`` dicts) have an HD95 for every class they contain."""
    ms = [m for m in per_image if "hd95_undefined" in m]
    return sum(1 for m in ms if not any(m["hd95_undefined"])), len(ms)


def _nanmean(values) -> float:
    v = [float(x) for x in values if x is not None and not math.isnan(float(x))]
    return sum(v) / len(v) if v else math.nan


@dataclass
class Evaluation:
    """Metrics of the predicted images that have an annotation."""

    class_names: list[str]
    per_image: dict[str, dict] = field(default_factory=dict)   # stem -> image_metrics()
    overall: dict = field(default_factory=dict)                # whole set: pooled confusion matrix
    problems: dict[str, str] = field(default_factory=dict)     # stem -> "path: reason"
    sources: dict[str, int] = field(default_factory=dict)      # checkpoint ("" = unknown) -> evaluated images

    def miou(self, stem: str) -> float:
        m = self.per_image.get(stem)
        return math.nan if m is None else float(m.get("miou", math.nan))


def evaluate_project(project, entries=None, *, annotations: Optional[dict] = None,
                     progress: Optional[Callable[[int, int, str], None]] = None,
                     cancel: Optional[Callable[[], bool]] = None) -> Evaluation:
    """Compare every predicted mask with its annotation.  The whole-set row pools all pixels (one confusion
    matrix); its HD95 is the mean of the per-image values that are defined: ``hd95_n`` counts them per class,
    ``hd95_undefined_n`` counts per class the images where the class is in only one of the two masks (no
    HD95), and ``hd95_images`` is (images with every HD95 defined, images).  ``annotations``: stem ->
    in-memory Annotation."""
    from segstudio.core.metrics import ConfusionMatrix

    names = list(project.label_set.names)
    n = len(names)
    entries = list(project.images if entries is None else entries)
    ev = Evaluation(class_names=names)
    pooled = ConfusionMatrix(n)
    hd: list[list[float]] = []
    for i, entry in enumerate(entries):
        if cancel is not None and cancel():
            raise Cancelled()
        try:
            pred = read_prediction(project, entry)
            gt = ground_truth(project, entry, (annotations or {}).get(entry.stem)) if pred is not None else None
            if pred is not None and gt is not None:
                m = image_metrics(pred, gt, n)
                ev.per_image[entry.stem] = m
                pooled.update(pred, gt)
                hd.append(m["hd95"])
        except SegStudioError as exc:
            ev.problems[entry.stem] = str(exc) if exc.path else f"{entry.json_path}: {exc}"
        if progress is not None:
            progress(i + 1, len(entries), entry.stem)
    recorded = project.prediction_sources()
    for stem in ev.per_image:
        ev.sources[recorded.get(stem, "")] = ev.sources.get(recorded.get(stem, ""), 0) + 1
    if ev.per_image:
        ev.overall = pooled.compute()
        ev.overall["hd95"] = [_nanmean(col) for col in zip(*hd)]
        # the mean skips undefined values: say how many images it covers (per class and overall)
        ev.overall["hd95_n"] = [sum(1 for v in col if not math.isnan(v)) for col in zip(*hd)]
        ev.overall["hd95_undefined_n"] = [sum(col) for col in zip(*(m["hd95_undefined"]
                                                                    for m in ev.per_image.values()))]
        ev.overall["hd95_images"] = hd95_coverage(ev.per_image.values())
    return ev


def predict_entries(checkpoint, project, entries, *, device: str = "auto",
                    progress: Optional[Callable[[int, int, str], None]] = None,
                    cancel: Optional[Callable[[], bool]] = None) -> dict:
    """Predict ``entries`` with ``checkpoint`` and write ``predictions/<stem>.png`` (atomic palette PNGs).

    The checkpoint's classes must be the project's (same names, same order), else the masks would mean
    something else: CheckpointError.  Returns ``{"ok": [stems], "failures": [(path, reason)]}``.
    """
    from segstudio.core.annotation.io import load_image
    from segstudio.core.annotation.masks import write_label_png
    from segstudio.core.errors import CheckpointError
    from segstudio.core.inference import Predictor

    predictor = Predictor.from_checkpoint(checkpoint, device=device)
    ck_names = list(getattr(predictor, "class_names", []) or [])
    if ck_names and ck_names != list(project.label_set.names):
        raise CheckpointError(f"its classes {ck_names} are not the project's {list(project.label_set.names)}",
                              checkpoint)
    out_dir = project.predictions_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    ok, failures = [], []
    entries = list(entries)
    try:
        for i, entry in enumerate(entries):
            if cancel is not None and cancel():
                raise Cancelled()
            try:
                image = load_image(entry.image_path)
                result = predictor.predict(image)
                write_label_png(out_dir / f"{entry.stem}.png", np.asarray(result.label))
                ok.append(entry.stem)
            except SegStudioError as exc:
                failures.append((str(entry.image_path), exc.reason if exc.path else str(exc)))
            except (OSError, ValueError) as exc:
                failures.append((str(entry.image_path), str(exc)))
            if progress is not None:
                progress(i + 1, len(entries), entry.stem)
    finally:  # also after a cancel: the masks written so far say which model made them
        project.record_prediction_sources(ok, checkpoint)
    return {"ok": ok, "failures": failures}


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
