"""``segstudio predict``: predict class masks for a folder of images with a trained checkpoint; ``--gt`` scores
them with core.review (the scores of ``segstudio evaluate`` and the Review dock)."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "predict",
        help="predict class masks for a folder of images",
        description="Write OUT/<stem>.png (palette class mask, pixel = class id) for every image in IMAGES; "
        "--overlay adds OUT/overlays/<stem>.png, --probs adds OUT/probs/ (see docs/data.md); --gt DIR scores "
        "the masks against DIR's like `segstudio evaluate`.",
    )
    p.add_argument("--weights", required=True, type=Path, help="checkpoint (best.pt / last.pt of a run)")
    p.add_argument("--images", required=True, type=Path, help="folder of images (not recursive)")
    p.add_argument("--out", required=True, type=Path, help="output folder (created if needed)")
    p.add_argument("--overlay", action="store_true", help="also write overlays/<stem>.png")
    p.add_argument("--overlay-mode", choices=("fill", "contour"), default="fill", help="overlay style")
    p.add_argument("--alpha", type=float, default=0.5, help="overlay opacity 0..1 (default 0.5)")
    p.add_argument("--probs", choices=("npy", "png16"), default=None,
                   help="also write class probabilities: probs/<stem>.npy (float16 KxHxW) or "
                   "probs/<stem>_c<k>.png (16-bit, p*65535)")
    p.add_argument("--tile", action="store_true",
                   help="sliding window: windows of the checkpoint's img_size over the image rescaled to the "
                        "scale the model was trained at (see --tile-scale), for images larger than the training ones")
    p.add_argument("--tile-scale", default="train", metavar="train|fit|native|F",
                   help="with --tile: 'train' (default) = the checkpoint's median training resize factor, "
                        "'fit' = this image's own letterbox factor, 'native' = no rescaling (models trained on "
                        "native-resolution patches), or a factor F")
    p.add_argument("--tile-overlap", type=float, default=0.25, help="tile overlap fraction (default 0.25)")
    p.add_argument("--blend", choices=("gaussian", "linear"), default="gaussian", help="tile blending")
    p.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                   help="average the probabilities over flips (4 passes); default: as chosen on the validation "
                        "split when the checkpoint records it, else off")
    p.add_argument("--hair-removal", action=argparse.BooleanOptionalAction, default=None,
                   help="inpaint hairs (thin dark lines) of 8-bit colour images before predicting (dermoscopy); "
                        "default: as chosen on the validation split when the checkpoint records it, else off")
    p.add_argument("--postprocess", action=argparse.BooleanOptionalAction, default=True,
                   help="apply the keep-largest-component post-processing the checkpoint records (default on)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto = CUDA when available (default)")
    p.add_argument("--gt", type=Path, default=None, metavar="DIR",
                   help="also score the predicted masks against the ground-truth masks in DIR (paired by file "
                        "stem, classes from the checkpoint) and print the table of `segstudio evaluate`")
    p.add_argument("--json", type=Path, default=None, help="with --gt: write the full scores to this JSON file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from segstudio.core.inference import Predictor, predict_folder
    from segstudio.core.progress import ProgressPrinter

    if not 0.0 <= args.alpha <= 1.0:
        from segstudio.core.errors import ConfigError

        raise ConfigError(f"--alpha must be in [0, 1], got {args.alpha}")
    tile_scale = args.tile_scale
    if tile_scale not in ("train", "fit", "native"):
        try:
            tile_scale = float(tile_scale)
        except ValueError:
            from segstudio.core.errors import ConfigError

            raise ConfigError(f"--tile-scale must be train, fit, native or a number, got {tile_scale!r}") from None
    predictor = Predictor.from_checkpoint(args.weights, device=args.device, tile=args.tile,
                                          tile_overlap=args.tile_overlap, blend=args.blend, tta=args.tta,
                                          hair_removal=args.hair_removal, tile_scale=tile_scale,
                                          postprocess=args.postprocess)
    progress = None if args.quiet else ProgressPrinter("predict")
    report = predict_folder(predictor, args.images, args.out, overlay=args.overlay, probs=args.probs or False,
                            overlay_mode=args.overlay_mode, alpha=args.alpha, progress=progress)
    for path, reason in report.failures:
        print(f"error: {path}: {reason}", file=sys.stderr)
    print(f"{report.n_ok} image(s) predicted into {report.out} ({predictor.device.type}"
          f"{', tiled' if args.tile else ''}{', hair removal' if predictor.hair_removal else ''}"
          f"{', TTA' if predictor.tta else ''}"
          f"{_postprocess_text(predictor)})"
          + (f"; {len(report.failures)} failed" if report.failures else ""))
    if args.gt is not None:
        _score(args, report.out, predictor.class_names)
    return 1 if report.failures else 0


def _postprocess_text(predictor) -> str:
    """", keep-largest fg, one class per region": the recorded post-processing the predictor applies."""
    from segstudio.core.inference.postprocess import kept_largest

    spec = predictor.postprocess or {}
    largest = kept_largest(spec)
    return ((f", keep-largest {', '.join(largest)}" if largest else "")
            + (", one class per region" if spec.get("vote") else ""))


def _score(args, pred_dir: Path, class_names) -> None:
    """``--gt``: the written masks scored as ``segstudio evaluate`` scores them (core.review)."""
    from segstudio.commands.evaluate import format_table
    from segstudio.core.annotation.io import atomic_write_text
    from segstudio.core.progress import ProgressPrinter
    from segstudio.core.review import evaluate_dirs

    evaluation = evaluate_dirs(pred_dir, args.gt, class_names,
                               progress=None if args.quiet else ProgressPrinter("evaluate"))
    print(format_table(evaluation.to_dict()))
    if args.json:
        atomic_write_text(args.json, evaluation.to_json())
        print(f"wrote {args.json}")
