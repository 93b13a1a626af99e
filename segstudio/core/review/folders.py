"""Score a folder of predicted masks against a folder of ground-truth masks, paired by file stem
(``segstudio evaluate``, ``segstudio predict --gt``)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from segstudio.core.errors import DatasetError
from segstudio.core.review.scores import Evaluation, evaluate_masks

MASK_EXTENSIONS = (".png", ".bmp", ".tif", ".tiff", ".gif", ".pgm", ".ppm", ".jpg", ".jpeg")


def list_masks(folder) -> dict[str, Path]:
    """stem -> mask file in ``folder`` (not recursive); two files with one stem is a DatasetError."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError("not a folder", folder)
    out: dict[str, Path] = {}
    for f in sorted(folder.iterdir()):
        if f.is_file() and f.suffix.lower() in MASK_EXTENSIONS:
            if f.stem in out:
                raise DatasetError(f"two masks for {f.stem!r}: {out[f.stem].name} and {f.name}", folder)
            out[f.stem] = f
    return out


def pair_mask_dirs(pred_dir, gt_dir) -> list[tuple[str, Path, Path]]:
    """(stem, prediction file, ground-truth file) for every ground-truth mask; a missing prediction is a
    DatasetError listing the missing stems.  Predictions without ground truth are not evaluated."""
    gts = list_masks(gt_dir)
    if not gts:
        raise DatasetError(f"no mask files ({', '.join(MASK_EXTENSIONS)})", gt_dir)
    preds = list_masks(pred_dir)
    missing = [s for s in gts if s not in preds]
    if missing:
        shown = ", ".join(missing[:10]) + (f", ... ({len(missing)} in all)" if len(missing) > 10 else "")
        raise DatasetError(f"no prediction for {len(missing)} ground-truth mask(s): {shown}", pred_dir)
    return [(s, preds[s], g) for s, g in gts.items()]


def evaluate_dirs(pred_dir, gt_dir, class_names: Sequence[str], **kwargs) -> Evaluation:
    """``evaluate_masks`` on the masks of two folders paired by file stem; ``unmatched_predictions`` lists
    the predictions that have no ground truth."""
    pairs = pair_mask_dirs(pred_dir, gt_dir)
    result = evaluate_masks(pairs, class_names, **kwargs)
    gts = {s for s, _, _ in pairs}
    result.unmatched_predictions = sorted(s for s in list_masks(pred_dir) if s not in gts)
    return result
