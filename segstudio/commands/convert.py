"""``segstudio convert SRC --out OUT --format voc|coco|yolo|nnunet|masks``: export a labelme folder."""
from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "convert",
        help="export a labelme folder as a VOC, COCO, YOLO-seg, nnU-Net or mask dataset",
        description="Convert the labelme JSON files of SRC (JSON beside the images) into a dataset in OUT. "
        "Bad files are listed with their reason and the others are converted; the exit status is 1 when "
        "any file failed. SRC is never written to.",
    )
    p.add_argument("src", type=Path, help="folder with labelme JSON files")
    p.add_argument("--labels", type=Path, default=None,
                   help="labels.txt (default: SRC/labels.txt, else the labels found in the JSON files)")
    p.add_argument("--out", type=Path, required=True, help="output folder (new or empty)")
    p.add_argument("--format", "-f", dest="fmt", required=True,
                   help="voc, coco, yolo, nnunet, masks, nifti (label volumes of NIfTI images) or a plugin's format")
    p.add_argument("--workers", "-j", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--image-root", type=Path, default=None,
                   help="images (imagePath, symlinks followed) must lie inside this folder, else the file is "
                        "refused (default: SRC's parent folder)")
    p.add_argument("--no-viz", action="store_true", help="voc: skip the visualization folders")
    p.add_argument("--val-fraction", type=float, default=None, help="yolo: fraction of files for val (default 0)")
    p.add_argument("--seed", type=int, default=None, help="yolo: seed of the train/val split (default 0)")
    p.add_argument("--name", default=None, help="nnunet: dataset name in dataset.json (default: OUT's name)")
    p.add_argument("--masks-only", action="store_true", help="masks: write masks/ and classes.txt, no images/")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def options_for(fmt: str, args) -> dict:
    """Format options from the CLI flags; a flag that does not apply to ``fmt`` is an error."""
    from segstudio.core.errors import ConfigError

    given = {
        "--no-viz": ("voc", "viz", False) if args.no_viz else None,
        "--val-fraction": ("yolo", "val_fraction", args.val_fraction) if args.val_fraction is not None else None,
        "--seed": ("yolo", "seed", args.seed) if args.seed is not None else None,
        "--name": ("nnunet", "name", args.name) if args.name is not None else None,
        "--masks-only": ("masks", "images", False) if args.masks_only else None,
    }
    options = {}
    for flag, spec in given.items():
        if spec is None:
            continue
        owner, key, value = spec
        if owner != fmt:
            raise ConfigError(f"{flag} applies to --format {owner}, not {fmt}")
        options[key] = value
    return options


def print_report(report, stream=None) -> None:
    stream = stream or sys.stderr
    for path, reason in report.failures:
        print(f"failed: {path}: {reason}", file=stream)
    print(report.summary(), file=sys.stdout)


def run(args) -> int:
    from segstudio.core.export import EXPORTERS, convert
    from segstudio.core.progress import ProgressPrinter

    EXPORTERS.get(args.fmt)  # unknown format: error listing the known ones, before any work
    progress = None if args.quiet else ProgressPrinter(f"convert {args.fmt}")
    report = convert(args.src, args.labels, args.out, args.fmt, workers=args.workers, progress=progress,
                     options=options_for(args.fmt, args), image_root=args.image_root)
    print_report(report)
    return 0 if report.ok else 1
