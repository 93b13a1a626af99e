"""``segstudio suggest``: which images to annotate next -- the unannotated images of a folder ranked by the
current model's uncertainty (mean pixel entropy + flip-TTA disagreement; core/inference/uncertainty.py)."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "suggest",
        help="rank the unannotated images by the model's uncertainty (annotate the first ones next)",
        description="Score every image of IMAGES that has no annotation yet (a labelme JSON with shapes beside "
        "it) with the checkpoint's model: mean pixel entropy and disagreement between the flip-TTA "
        "predictions, both 0..1; score = their mean. Prints the ranking, most informative first. DICOM and "
        "NIfTI volumes are ranked slice by slice. See docs/active_learning.md.",
    )
    p.add_argument("--weights", required=True, type=Path, help="checkpoint (best.pt / last.pt of a run)")
    p.add_argument("--images", required=True, type=Path, help="folder of images (a labelme project folder)")
    p.add_argument("--n", type=int, default=0, metavar="K", help="print only the K most informative (default all)")
    p.add_argument("--all", action="store_true", help="rank annotated images too")
    p.add_argument("--json", type=Path, default=None, help="also write the ranking to this JSON file")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto = CUDA when available (default)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from segstudio.core.errors import ConfigError
    from segstudio.core.inference import Predictor
    from segstudio.core.inference.uncertainty import score_entries, unannotated_entries
    from segstudio.core.progress import ProgressPrinter
    from segstudio.core.project import Project

    if args.n < 0:
        raise ConfigError(f"--n must be >= 0, got {args.n}")
    project = Project(args.images)
    entries = list(project.images) if args.all else unannotated_entries(project)
    if not entries:
        print(f"{project.folder}: no {'' if args.all else 'unannotated '}images to rank")
        return 0
    predictor = Predictor.from_checkpoint(args.weights, device=args.device, tta=False, postprocess=False)
    progress = None if args.quiet else ProgressPrinter("suggest")
    report = score_entries(predictor, entries, progress=progress)
    for name, reason in report.failures:
        print(f"error: {reason}", file=sys.stderr)
    shown = report.ranking[: args.n] if args.n else report.ranking
    width = max([len(u.name) for u in shown] + [5])
    print(f"{'rank':>4}  {'image':<{width}}  {'score':>6}  {'entropy':>7}  {'disagree':>8}")
    for i, u in enumerate(shown, 1):
        print(f"{i:>4}  {u.name:<{width}}  {u.score:6.4f}  {u.entropy:7.4f}  {u.disagreement:8.4f}")
    print(f"{len(report.ranking)} image(s) ranked by {Path(args.weights).name} ({predictor.device.type})"
          + (f"; {len(report.failures)} failed" if report.failures else ""))
    if args.json is not None:
        from segstudio.core.annotation.io import atomic_write_text

        atomic_write_text(args.json, json.dumps({"weights": str(args.weights), **report.to_dict()}, indent=2))
    return 1 if report.failures else 0
