"""Post-processing chosen on the validation split (as nnU-Net does): hair removal (colour images), flip
test-time augmentation, keep-largest-component and one class per lesion, recorded in the checkpoint and applied
by the predictor.

* :func:`keep_largest_component` keeps, for each given class, its largest 8-connected region; the other
  regions of that class become background.  ``merged=True`` treats all foreground classes as one region
  first (the largest foreground blob survives with its own class labels).
* :func:`vote_components` gives every 8-connected foreground region (all foreground classes together) the
  class most of its pixels have: a lesion is benign or malignant, not a patchwork of both.  Only offered
  with two or more foreground classes.
* :func:`select_postprocessing` predicts the run's validation images (``split.json``) at their original size
  with and without flips, for 8-bit colour images also with their hairs removed
  (:mod:`~segstudio.core.inference.hair_removal`: on when it found hairs on at least one validation image and
  the better of its two flip settings scores no more than :data:`MIN_GAIN` below the better of the two without
  it: its benefit lies in the few hairy images, which a small validation split may barely hold, and the detector
  touches only long, straight dark lines, so "does no harm on validation" is the test), and tries
  keep-largest-component for the foreground as a whole and for each class, and the per-region class vote;
  an option is kept only when it raises the validation mIoU (by more than :data:`MIN_GAIN`; a tie keeps the
  cheaper choice).  The result is written into the checkpoint as ``postprocess``:
  ``{"hair_removal": bool, "hair_val_images": n (validation images with hairs found; when offered),
  "tta": bool, "tta_flips": ["h", "v"] (the mirror axes TTA used: those the model trained with),
  "keep_largest": [class names], "merged": bool, "vote": bool,
  "val_miou": {"<prefix>/<option>": mIoU}, "n_val": n}``
  (prefix ``plain``, ``tta``, ``hair+plain``, ``hair+tta``)
  (atomic rewrite).  :meth:`Predictor.from_checkpoint` applies it unless told otherwise.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

#: an option must raise the validation mIoU by more than this to be kept
MIN_GAIN = 1e-3
KEY = "postprocess"


def keep_largest_component(label: np.ndarray, classes: Sequence[int], *, merged: bool = False,
                           background: int = 0) -> np.ndarray:
    """A copy of ``label`` where each class in ``classes`` keeps only its largest 8-connected region.

    ``merged``: first keep only the largest region of all foreground (non-background) pixels together."""
    from scipy import ndimage

    out = np.array(label, copy=True)
    structure = np.ones((3, 3), dtype=bool)
    if merged:
        fg = out != background
        out[fg & ~_largest(fg, structure, ndimage)] = background
    for c in classes:
        m = out == c
        if m.any():
            out[m & ~_largest(m, structure, ndimage)] = background
    return out


def _largest(mask: np.ndarray, structure, ndimage) -> np.ndarray:
    lab, n = ndimage.label(mask, structure=structure)
    if n <= 1:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == int(sizes.argmax())


def vote_components(label: np.ndarray, *, background: int = 0) -> np.ndarray:
    """A copy of ``label`` where every 8-connected foreground region (any non-background class, together)
    takes the class most of its pixels have (ties: the lower class id)."""
    from scipy import ndimage

    out = np.array(label, copy=True)
    fg = out != background
    lab, n = ndimage.label(fg, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return out
    k = int(out.max()) + 1
    counts = np.bincount(lab[fg].astype(np.int64) * k + out[fg], minlength=(n + 1) * k).reshape(n + 1, k)
    counts[:, background] = -1
    out[fg] = counts.argmax(1)[lab[fg]]
    return out


def postprocess_label(label: np.ndarray, classes: Sequence[int], *, merged: bool = False,
                      vote: bool = False) -> np.ndarray:
    """The class vote (first: each region one class) then keep-largest-component; ``label`` itself when
    nothing is asked."""
    if vote:
        label = vote_components(label)
    if classes or merged:
        label = keep_largest_component(label, classes, merged=merged)
    return label


def apply_postprocess(label: np.ndarray, spec: Optional[dict], class_names: Sequence[str]) -> np.ndarray:
    """``label`` with the checkpoint's recorded post-processing applied (``spec`` None: unchanged)."""
    if not spec:
        return label
    ids = [class_names.index(n) for n in spec.get("keep_largest", []) if n in class_names]
    return postprocess_label(label, ids, merged=bool(spec.get("merged")), vote=bool(spec.get("vote")))


def _miou(cms: np.ndarray) -> float:
    tp = np.diag(cms).astype(float)
    denom = cms.sum(0) + cms.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(denom > 0, tp / denom, np.nan)
    return float(np.nanmean(iou))


def _confusion(pred: np.ndarray, gt: np.ndarray, k: int) -> np.ndarray:
    valid = gt >= 0
    return np.bincount(gt[valid] * k + pred[valid], minlength=k * k).reshape(k, k)


def select_postprocessing(checkpoint, *, data: Optional[str] = None, labels: Optional[str] = None,
                          val_names: Optional[Sequence[str]] = None, device="auto", write: bool = True,
                          progress: Optional[Callable[[int, int], None]] = None,
                          cancel: Optional[Callable[[], bool]] = None) -> Optional[dict]:
    """Choose TTA and keep-largest-component on the run's validation images; record them in ``checkpoint``.

    ``data`` / ``labels`` / ``val_names`` default to the checkpoint's config and its run's ``split.json``.
    Returns the ``postprocess`` dict (None when cancelled or there is no validation image)."""
    import json

    from segstudio.core.checkpoint import load_checkpoint, save_checkpoint
    from segstudio.core.data import open_dataset
    from segstudio.core.inference.predictor import Predictor

    checkpoint = Path(checkpoint)
    ckpt = load_checkpoint(checkpoint)
    cfg = ckpt.get("config") or {}
    data = data or cfg.get("data")
    labels = labels if labels is not None else cfg.get("labels")
    if val_names is None:
        split = checkpoint.parent / "split.json"
        val_names = json.loads(split.read_text(encoding="utf-8")).get("val", []) if split.is_file() else []
    ds = open_dataset(data, labels=labels)
    index = {name: i for i, name in enumerate(ds.names)}
    items = [index[n] for n in val_names if n in index]
    if not items:
        return None
    pred = Predictor.from_checkpoint(checkpoint, device=device, tta=False, hair_removal=False, postprocess=False)
    names = list(pred.class_names)
    k = len(names)
    fg = list(range(1, k))
    options = {"none": ([], False, False)}
    if k > 2:
        options["merged"] = ([], True, False)
        options["vote"] = ([], False, True)
    for c in fg:
        options[f"largest:{names[c]}"] = ([c], False, False)
    # hair removal (dermoscopy) is offered for 8-bit colour images only; each variant is prepared once per image
    from segstudio.core.inference.hair_removal import applies_to, remove_hair

    first = ds.load_raw(items[0])
    hairs = (False, True) if applies_to(first[0]) else (False,)
    cms = {(hair, tta, o): np.zeros((k, k), dtype=np.int64) for hair in hairs for tta in (False, True)
           for o in options}
    hair_found = 0
    for step, i in enumerate(items):
        if cancel is not None and cancel():
            return None
        image, gt = first if step == 0 else ds.load_raw(i)
        for hair in hairs:
            shown = remove_hair(image) if hair else image
            hair_found += shown is not image          # remove_hair returns the image itself when it finds none
            for tta in (False, True):
                pred.tta = tta
                label = pred.predict(shown).label
                for o, (cls, merged, vote) in options.items():
                    out = postprocess_label(label, cls, merged=merged, vote=vote)
                    cms[(hair, tta, o)] += _confusion(out, np.asarray(gt), k)
        if progress is not None:
            progress(step + 1, len(items))
    scores = {f"{_prefix(h, t)}/{o}": _miou(cm) for (h, t, o), cm in cms.items()}
    hair = (len(hairs) > 1 and hair_found > 0
            and _best_unprocessed(scores, True) >= _best_unprocessed(scores, False) - MIN_GAIN)
    tta = scores[f"{_prefix(hair, True)}/none"] > scores[f"{_prefix(hair, False)}/none"] + MIN_GAIN
    prefix = _prefix(hair, tta)
    base_score = scores[f"{prefix}/none"]
    helped = [o for o in options if o != "none" and scores[f"{prefix}/{o}"] > base_score + MIN_GAIN]
    spec = {"hair_removal": bool(hair), "tta": bool(tta), "tta_flips": list(pred.tta_flips),
            **_option_fields(helped), "val_miou": scores, "n_val": len(items)}
    if len(hairs) > 1:
        spec["hair_val_images"] = hair_found
    if len(helped) > 1:
        # the options were scored one at a time: score the combination, keep it only if it beats each alone
        spec = _check_combination(spec, helped, pred, ds, items, names)
    if write:
        ckpt[KEY] = spec
        save_checkpoint(ckpt, checkpoint)
    return spec


def _prefix(hair: bool, tta: bool) -> str:
    """The ``val_miou`` key prefix of a hair-removal / TTA combination: plain, tta, hair+plain, hair+tta."""
    return ("hair+" if hair else "") + ("tta" if tta else "plain")


def _best_unprocessed(scores: dict, hair: bool) -> float:
    """The validation mIoU of the better flip setting, with or without hair removal, before any option."""
    return max(scores[f"{_prefix(hair, tta)}/none"] for tta in (False, True))


def _option_fields(options: Sequence[str]) -> dict:
    """The ``postprocess`` fields that apply the named options ("merged", "vote", "largest:<class>")."""
    return {"keep_largest": [o.split(":", 1)[1] for o in options if o.startswith("largest:")],
            "merged": "merged" in options, "vote": "vote" in options}


def _check_combination(spec, helped, pred, ds, items, names) -> dict:
    k = len(names)
    pred.tta, pred.hair_removal = spec["tta"], bool(spec.get("hair_removal"))
    cm = np.zeros((k, k), dtype=np.int64)
    for i in items:
        image, gt = ds.load_raw(i)
        cm += _confusion(apply_postprocess(pred.predict(image).label, spec, names), np.asarray(gt), k)
    combined = _miou(cm)
    spec["val_miou"]["combined"] = combined
    prefix = _prefix(bool(spec.get("hair_removal")), spec["tta"])
    best = max(helped, key=lambda o: spec["val_miou"][f"{prefix}/{o}"])
    if combined <= spec["val_miou"][f"{prefix}/{best}"]:
        # the combination does no better than the best option alone (each one helped on its own): that one
        spec.update(_option_fields([best]))
    return spec


def choose_for_run(run_dir, *, quiet: bool = False, out=None, device="auto") -> Optional[dict]:
    """After ``segstudio train --config auto``: choose the post-processing for the run's ``best.pt`` on its
    validation images, record it there and in ``plan.json``, print what was chosen."""
    import json
    import sys

    from segstudio.core.annotation.io import atomic_write_text

    out = out or sys.stdout
    best = Path(run_dir) / "best.pt"
    if not best.is_file():
        return None
    spec = select_postprocessing(best, device=device)
    if spec is None:
        return None
    plan = Path(run_dir) / "plan.json"
    if plan.is_file():
        try:
            data = json.loads(plan.read_text(encoding="utf-8"))
            data["postprocess"] = spec
            atomic_write_text(plan, json.dumps(data, indent=2) + "\n")
        except (OSError, ValueError):
            pass   # the plan is informative; the checkpoint holds the choice
    print(f"{describe(spec)}; recorded in {best}", file=out, flush=True)
    return spec


def kept_largest(spec: dict) -> list:
    """What keep-largest-component applies to in a ``postprocess`` spec: "foreground" (merged) and class names."""
    return (["foreground"] if spec.get("merged") else []) + list(spec.get("keep_largest", []))


def describe(spec: dict) -> str:
    s = spec["val_miou"]
    largest = kept_largest(spec)
    hair = bool(spec.get("hair_removal"))
    hair_text = ""
    if f"{_prefix(True, False)}/none" in s:   # offered (colour images): what it did on the validation images
        found = spec.get("hair_val_images")
        where = "" if found is None else (f"hairs on {found} of {spec['n_val']} images, " if found else
                                          "no hairs found, ")
        hair_text = (f"hair removal {'on' if hair else 'off'} ({where}mIoU {_best_unprocessed(s, False):.4f} -> "
                     f"{_best_unprocessed(s, True):.4f}), ")
    return (f"post-processing chosen on {spec['n_val']} validation images: {hair_text}"
            f"TTA {'on' if spec['tta'] else 'off'} (mIoU {s[_prefix(hair, False) + '/none']:.4f} -> "
            f"{s[_prefix(hair, True) + '/none']:.4f}), keep largest component: "
            f"{', '.join(largest) or 'none'}" + ("; one class per region (majority vote)" if spec.get("vote") else ""))
