"""Active learning: how uncertain the current model is about an image, to choose what to annotate next.

For one image the model is run four times -- as is, flipped left-right, flipped up-down, both -- on the image
fitted to the checkpoint's input size exactly as :class:`~segstudio.core.inference.predictor.Predictor`
fits it (letterbox by default; the padding is left out of every mean).  Two scores come out, both in [0, 1]:

``entropy``       mean over pixels of the entropy of the flip-averaged class probabilities, divided by
                  ``log(K)`` (1 = every pixel a coin toss between all K classes);
``disagreement``  fraction of pixels whose four flip predictions (each flipped back) do not all name the
                  same class (the model's answer depends on the image's orientation there).

``score = (entropy + disagreement) / 2`` ranks the images: highest first = most informative to annotate.
Large images are scored on the fitted image (no tiling): the ranking needs the model's view of the whole
image, not full-resolution masks.  Qt-free; long work takes ``progress`` / ``cancel`` callbacks.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable, Optional, Sequence

import numpy as np
import torch

from segstudio.core.data.transforms import fit_to_size, to_float_chw
from segstudio.core.errors import Cancelled, SegStudioError

FLIPS = ((), (3,), (2,), (2, 3))  # identity, left-right, up-down, both (dims of N x C x H x W)


@dataclass(frozen=True)
class Uncertainty:
    """The uncertainty of one image (``name``: its stem, or whatever the caller named it)."""

    name: str
    entropy: float
    disagreement: float

    @property
    def score(self) -> float:
        return (self.entropy + self.disagreement) / 2.0

    def to_dict(self) -> dict:
        return {**asdict(self), "score": self.score}


@dataclass
class UncertaintyReport:
    """``ranking``: most informative first; ``failures``: (name, reason) of images that could not be scored."""

    ranking: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    def names(self) -> list:
        return [u.name for u in self.ranking]

    def to_dict(self) -> dict:
        return {"ranking": [u.to_dict() for u in self.ranking],
                "failures": [{"name": n, "reason": r} for n, r in self.failures]}


@torch.inference_mode()
def flip_probabilities(predictor, image: np.ndarray) -> torch.Tensor:
    """4 x K x h x w float32: the class probabilities of the four flips (each flipped back), on the part of
    the fitted input that shows the image (letterbox padding cropped)."""
    x = to_float_chw(predictor.prepare(image), predictor.in_channels)
    fitted, _, meta = fit_to_size(x, predictor.img_size, mode=predictor.resize_mode)
    batch = torch.stack([torch.flip(fitted, d) if d else fitted for d in ((), (2,), (1,), (1, 2))])
    probs = predictor._probs(batch.to(predictor.device)).float().cpu()
    probs = torch.stack([torch.flip(p[None], d)[0] if d else p for p, d in zip(probs, FLIPS)])
    return probs[..., meta.top : meta.top + meta.new_h, meta.left : meta.left + meta.new_w]


def uncertainty_of(probs: torch.Tensor, name: str = "") -> Uncertainty:
    """:class:`Uncertainty` of the flip probabilities of :func:`flip_probabilities` (F x K x h x w)."""
    k = int(probs.shape[1])
    mean = probs.mean(0)
    ent = -(mean * torch.log(mean.clamp_min(1e-12))).sum(0)
    entropy = float(ent.mean()) / math.log(k) if k > 1 else 0.0
    labels = probs.argmax(1)  # F x h x w
    disagree = (labels != labels[:1]).any(0).float().mean()
    return Uncertainty(name, min(max(entropy, 0.0), 1.0), float(disagree))


def image_uncertainty(predictor, image: np.ndarray, name: str = "") -> Uncertainty:
    """The :class:`Uncertainty` of one decoded image under ``predictor``'s model."""
    return uncertainty_of(flip_probabilities(predictor, image), name)


def rank_uncertainty(scores: Iterable[Uncertainty]) -> list:
    """Most informative first (highest score; ties by name, so the order is reproducible)."""
    return sorted(scores, key=lambda u: (-u.score, u.name))


def score_items(predictor, items: Sequence, *, load: Callable, name: Callable = str,
                progress: Optional[Callable[[int, int, str], None]] = None,
                cancel: Optional[Callable[[], bool]] = None) -> UncertaintyReport:
    """Score every item (``load(item)`` -> image, ``name(item)`` -> its name) and rank them.

    An item whose image cannot be loaded (a :class:`SegStudioError`) is listed in ``failures`` with its
    reason; the others are still scored.  ``cancel()`` True raises :class:`Cancelled` between images.
    """
    report = UncertaintyReport()
    scores = []
    total = len(items)
    for i, item in enumerate(items):
        if cancel is not None and cancel():
            raise Cancelled()
        label = name(item)
        if progress is not None:
            progress(i, total, f"scoring {label}")
        try:
            image = load(item)
        except SegStudioError as exc:
            report.failures.append((label, str(exc)))
            continue
        scores.append(image_uncertainty(predictor, image, label))
    if progress is not None:
        progress(total, total, "scored")
    report.ranking = rank_uncertainty(scores)
    return report


def score_entries(predictor, entries: Sequence, **kwargs) -> UncertaintyReport:
    """:func:`score_items` over project :class:`~segstudio.core.project.ImageEntry` items (named by stem; a
    volume's slice entry loads its slice)."""
    return score_items(predictor, entries, load=entry_pixels, name=lambda e: e.stem, **kwargs)


def entry_pixels(entry) -> np.ndarray:
    """The image of a project entry as the canvas opens it: its file (a volume's slice), else the image
    embedded in (or named by) its labelme JSON."""
    from pathlib import Path

    from segstudio.core.annotation.io import annotation_image, load_annotation, load_image

    if Path(entry.image_path).is_file() and entry.image_path != entry.json_path:
        return load_image(entry.image_path, slice=getattr(entry, "slice", None))
    return annotation_image(load_annotation(entry.json_path, check_image=False), entry.json_path)


def unannotated_entries(project) -> list:
    """The project's images that nobody annotated yet (status "not annotated" or "predicted")."""
    return [e for e in project.images if project.status(e) in ("not annotated", "predicted")]
