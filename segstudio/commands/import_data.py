"""``segstudio import-masks`` and ``segstudio import-voc``: make a labelme project from a mask dataset."""
from __future__ import annotations

from pathlib import Path


def _common(p) -> None:
    p.add_argument("--out", type=Path, required=True,
                   help="project folder to write (created if needed; existing files are never overwritten)")
    p.add_argument("--shape", choices=("polygon", "mask"), default="polygon",
                   help="trace masks into polygons (default) or keep them as labelme mask shapes")
    p.add_argument("--tolerance", type=float, default=None, metavar="FLOAT",
                   help="polygon simplification in pixels (default 1.0; 0 keeps every contour corner)")
    p.add_argument("--min-area", type=int, default=None, metavar="N",
                   help="drop polygon regions of fewer than N pixels (default 4)")
    p.add_argument("--reference-images", action="store_true",
                   help="do not copy the images: the JSON's imagePath points to the original files")
    p.add_argument("--workers", "-j", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def register(sub) -> None:
    p = sub.add_parser(
        "import-masks",
        help="make a labelme project from images/ + masks/ + classes.txt",
        description="Trace each mask (paired with its image by file stem) into labelme shapes and write "
        "the JSON beside a copy of the image. Exit status 1 when some files failed.",
    )
    p.add_argument("--images", type=Path, required=True, help="folder of images")
    p.add_argument("--masks", type=Path, required=True, help="folder of label masks (same stems as the images)")
    p.add_argument("--classes", type=Path, required=True, help="classes.txt: line i = class id i")
    _common(p)
    p.set_defaults(func=run_masks)

    p = sub.add_parser(
        "import-voc",
        help="make a labelme project from a Pascal VOC folder (JPEGImages + SegmentationClass)",
        description="Import every SegmentationClass mask with its JPEGImages image. Classes come from "
        "class_names.txt when present, else the 21 standard VOC classes.",
    )
    p.add_argument("voc_root", type=Path, help="VOC folder holding JPEGImages/ and SegmentationClass/")
    _common(p)
    p.set_defaults(func=run_voc)


def _finish(report) -> int:
    from segstudio.commands.convert import print_report

    print_report(report)
    return 0 if report.ok else 1


def run_masks(args) -> int:
    from segstudio.core.export import import_masks
    from segstudio.core.progress import ProgressPrinter

    progress = None if args.quiet else ProgressPrinter("import")
    report = import_masks(args.images, args.masks, args.classes, args.out, shape=args.shape,
                          copy_images=not args.reference_images, workers=args.workers, progress=progress,
                          tolerance=args.tolerance, min_area=args.min_area)
    return _finish(report)


def run_voc(args) -> int:
    from segstudio.core.export import import_voc
    from segstudio.core.progress import ProgressPrinter

    progress = None if args.quiet else ProgressPrinter("import")
    report = import_voc(args.voc_root, args.out, shape=args.shape, copy_images=not args.reference_images,
                        workers=args.workers, progress=progress, tolerance=args.tolerance,
                        min_area=args.min_area)
    return _finish(report)
