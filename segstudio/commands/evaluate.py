"""``segstudio evaluate --pred DIR --gt DIR [--classes FILE] [--json FILE]``: score predicted masks.

Pairs masks by file stem (every ground-truth mask needs a prediction; missing ones are listed in the error),
prints a per-class table (IoU, Dice, precision, recall, PA, HD95 in pixels), the means, pixel accuracy and
AP50/70/90, and optionally writes the full result as JSON (nan -> null).  The scores are core.review's, the
Review dock's too (conventions: docs/metrics.md).  Exit 0 on success, 2 on bad input.
"""
from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="score predicted masks against ground-truth masks",
                       description="Compare predicted label masks with ground truth, paired by file stem. "
                                   "Masks follow segstudio's mask conventions (palette PNG class ids, 255 = "
                                   "ignore; 0/255 binary masks = background/foreground for 2 classes).")
    p.add_argument("--pred", type=Path, required=True, help="folder of predicted masks (<stem>.png)")
    p.add_argument("--gt", type=Path, required=True, help="folder of ground-truth masks")
    p.add_argument("--classes", type=Path,
                   help="classes.txt / labels.txt (default: classes.txt or labels.txt beside or inside --gt)")
    p.add_argument("--json", type=Path, help="write the full result (per class, per image) to this JSON file")
    p.add_argument("--no-hd95", action="store_true", help="skip HD95 (faster)")
    p.add_argument("--per-image", action="store_true", help="also print one line per image")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def find_classes_file(gt: Path) -> Path:
    from segstudio.core.errors import ConfigError

    for folder in (gt.parent, gt):
        for name in ("classes.txt", "labels.txt"):
            if (folder / name).is_file():
                return folder / name
    raise ConfigError("no classes.txt or labels.txt found beside or inside the ground-truth folder; "
                      "pass --classes", gt)


def _f(v, digits=4) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def format_table(result: dict) -> str:
    names = result["classes"]
    w = max(12, *(len(n) for n in names)) + 2
    cols = ("iou", "dice", "precision", "recall", "pa", "hd95")
    head = "class".ljust(w) + "".join(c.upper().rjust(10) for c in cols)
    lines = [head, "-" * len(head)]
    for n in names:
        pc = result["per_class"][n]
        lines.append(n.ljust(w) + "".join(_f(pc[c], 2 if c == "hd95" else 4).rjust(10) for c in cols))
    m = result["mean"]
    lines.append("-" * len(head))
    lines.append("mean".ljust(w) + "".join(_f(m[k]).rjust(10) for k in ("miou", "mdice", "mprecision", "mrecall", "mpa")))
    lines.append("fg mean".ljust(w) + "".join(_f(m.get(k)).rjust(10) for k in ("fg_miou", "fg_mdice")))
    lines.append("(mean: over all classes present, background included; fg mean: foreground classes only)")
    gaps = [f"{n} {pc['hd95_images']} of {pc['hd95_images'] + pc['hd95_undefined']}"
            for n, pc in ((n, result["per_class"][n]) for n in names[1:]) if pc.get("hd95_undefined")]
    if gaps:
        lines.append("HD95 over the images where it is defined (class in both prediction and ground truth): "
                     + ", ".join(gaps))
    ap = result["ap"]
    lines.append(f"images {result['n_images']}   pixel accuracy {_f(result['accuracy'])}   "
                 f"mean image foreground IoU {_f(result['mean_image_iou'])}   "
                 f"AP50 {_f(ap['50'], 3)}  AP70 {_f(ap['70'], 3)}  AP90 {_f(ap['90'], 3)}")
    return "\n".join(lines)


def run(args) -> int:
    from segstudio.core.annotation.io import atomic_write_text
    from segstudio.core.annotation.masks import SegStudioWarning
    from segstudio.core.annotation.labels import LabelSet
    from segstudio.core.review import evaluate_dirs, result_to_json
    from segstudio.core.progress import ProgressPrinter

    classes = args.classes or find_classes_file(args.gt)
    names = LabelSet.from_file(classes).names
    progress = None if args.quiet else ProgressPrinter("evaluate")
    with warnings.catch_warnings(record=True) as caught:  # mask-convention warnings, printed once each
        warnings.simplefilter("always", SegStudioWarning)
        result = evaluate_dirs(args.pred, args.gt, names, with_hd95=not args.no_hd95, progress=progress).to_dict()
    for message in dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, SegStudioWarning)):
        print(f"warning: {message}", file=sys.stderr)
    for w in caught:  # any other warning as Python would have shown it
        if not issubclass(w.category, SegStudioWarning):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    print(format_table(result))
    if args.per_image:
        for im in result["per_image"]:
            hd = " ".join(f"hd95[{k}]={_f(v, 2)}" for k, v in im["hd95"].items())
            print(f"{im['image']}: miou {_f(im['miou'])} fg iou {_f(im['iou'])} fg dice {_f(im['dice'])} {hd}"
                  .rstrip())
    if result.get("unmatched_predictions"):
        print(f"note: {len(result['unmatched_predictions'])} prediction(s) without ground truth were not evaluated")
    if args.json:
        atomic_write_text(args.json, result_to_json(result))
        print(f"wrote {args.json}")
    return 0
