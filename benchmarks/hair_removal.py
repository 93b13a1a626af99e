"""Hair removal on a trained run's held-out (or validation) images: off / without the straightness test / as shipped.

Scores one run's ``best.pt`` (the TTA and keep-largest-component its checkpoint records) three ways on the
images of ``WORK/held_out.txt`` (written by ``benchmarks/accuracy.py``) or, with ``--val``, on the run's own
validation split: hair removal off, the detector without its straightness test (``MIN_STRAIGHT = 0``: every
long dark region is a hair, pigment network included), and the detector as shipped.  Prints lesion IoU
(foreground merged) and mIoU for each, the images that move by 0.01 or more, and as the LAST line
``off=... no_straightness=... shipped=...`` (lesion IoU).

    .venv/bin/python benchmarks/hair_removal.py --work /tmp/acc-ph2 --data ../shared/data/ph2 [--val]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from accuracy import confusion, confusion_scores  # noqa: E402 - benchmarks/ is the script's folder


def evaluate(run: Path, data: Path, images: list[Path], hair: bool, min_straight: float) -> tuple:
    import segstudio.core.inference.hair_removal as hr
    from segstudio.core.annotation.io import load_image
    from segstudio.core.annotation.masks import read_label_mask
    from segstudio.core.inference import Predictor

    shipped = hr.MIN_STRAIGHT
    hr.MIN_STRAIGHT = min_straight
    try:
        pred = Predictor.from_checkpoint(run / "best.pt", device="cpu", hair_removal=hair)
        k = len(pred.class_names)
        cm = np.zeros((k, k), np.int64)
        per = {}
        for p in images:
            gt = np.asarray(read_label_mask(data / "masks" / f"{p.stem}.png", k), dtype=np.int64)
            label = pred.predict(np.asarray(load_image(p))).label
            c = confusion(gt, label, k)
            cm += c
            per[p.stem] = confusion_scores(c)["fg_iou"]
    finally:
        hr.MIN_STRAIGHT = shipped
    m = confusion_scores(cm)
    return m["fg_iou"], m["miou"], per


def main(argv=None) -> int:
    import segstudio.core.inference.hair_removal as hr

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True,
                    help="benchmarks/accuracy.py's work folder (run/, held_out.txt)")
    ap.add_argument("--data", type=Path, required=True, help="the dataset (images/, masks/)")
    ap.add_argument("--val", action="store_true", help="the run's validation images instead of the held-out ones")
    args = ap.parse_args(argv)
    run = args.work / "run"
    names = (json.loads((run / "split.json").read_text(encoding="utf-8"))["val"] if args.val
             else (args.work / "held_out.txt").read_text(encoding="utf-8").split())
    by_stem = {p.stem: p for p in (args.data / "images").iterdir()}
    images = [by_stem[Path(n).stem] for n in names]
    variants = {"off": (False, hr.MIN_STRAIGHT), "no_straightness": (True, 0.0), "shipped": (True, hr.MIN_STRAIGHT)}
    results = {name: evaluate(run, args.data, images, *v) for name, v in variants.items()}
    for name, (fg, miou, _) in results.items():
        print(f"{name:16s} lesion IoU {fg:.4f}  mIoU {miou:.4f}")
    for stem in results["off"][2]:
        row = [results[n][2][stem] for n in variants]
        if max(row) - min(row) >= 0.01:
            print(f"{stem}: " + " / ".join(f"{v:.3f}" for v in row))
    print(" ".join(f"{n}={results[n][0]:.4f}" for n in variants))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
