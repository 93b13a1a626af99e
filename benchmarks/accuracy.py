"""Accuracy of ``segstudio train`` (``--config auto`` unless flags say otherwise) on a held-out split.

1. A fixed held-out list: every ``--every``-th image (sorted by name, starting with the first: 0, 10, 20 ...)
   never enters training.  The training images are a temporary folder of symlinks (``WORK/train/images``,
   ``masks``, ``classes.txt``); the data folder is never written to.
2. ``segstudio train --data WORK/train --out WORK/run --max-minutes M --device D -q`` (a subprocess; extra
   training flags after ``--``), which plans the run, trains it and chooses the post-processing (TTA,
   keep-largest-component) on its own validation split.
3. The held-out images are predicted at their original size with ``best.pt`` (with the post-processing the
   checkpoint records) and scored: per-class IoU and Dice, mIoU (background included), and the
   lesion-vs-background IoU / Dice (all foreground classes merged).  ``--fov DIR``: only the pixels inside
   the field-of-view masks in DIR (DRIVE's ``fov/``) are scored.

``--run RUN`` skips training and scores an existing run (trained on the same held-out split).

Prints the run's plan summary, the scores as JSON, and as the LAST line
``miou=X fg_iou=Y fg_dice=Z minutes=M`` plus ``iou_<class>=...``.

    .venv/bin/python benchmarks/accuracy.py --data ../shared/data/ph2 --minutes 15 [--work /tmp/acc-ph2]
    .venv/bin/python benchmarks/accuracy.py --data ../shared/data/drive --minutes 30 --fov ../shared/data/drive/fov
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def split_holdout(data: Path, every: int) -> tuple[list[Path], list[Path]]:
    """(training images, held-out images) of ``data/images``: every ``every``-th image is held out."""
    images = sorted(p for p in (data / "images").iterdir() if p.suffix.lower() in IMAGE_EXT)
    held = images[::every]
    return [p for p in images if p not in held], held


def make_train_folder(data: Path, images: list[Path], work: Path) -> Path:
    """``work/train`` with symlinks to the training images, their masks and the class list."""
    train = work / "train"
    (train / "images").mkdir(parents=True, exist_ok=True)
    (train / "masks").mkdir(parents=True, exist_ok=True)
    for name in ("classes.txt", "labels.txt"):
        if (data / name).is_file() and not (train / name).exists():
            os.symlink((data / name).resolve(), train / name)
    for img in images:
        mask = data / "masks" / f"{img.stem}.png"
        for src, dst in ((img, train / "images" / img.name), (mask, train / "masks" / mask.name)):
            if not dst.exists():
                os.symlink(src.resolve(), dst)
    return train


def confusion(gt: np.ndarray, label: np.ndarray, k: int) -> np.ndarray:
    """k x k confusion matrix (rows: ground truth, columns: prediction) of two int64 label arrays."""
    return np.bincount(gt.ravel() * k + label.ravel(), minlength=k * k).reshape(k, k)


def confusion_scores(cm: np.ndarray) -> dict:
    """Per-class ``iou`` / ``dice`` arrays, ``miou`` (background included) and the lesion-vs-background
    ``fg_iou`` / ``fg_dice`` (all foreground classes merged) of a confusion matrix."""
    tp = np.diag(cm).astype(float)
    fp, fn = cm.sum(0) - tp, cm.sum(1) - tp
    iou = tp / np.maximum(tp + fp + fn, 1)
    fg_tp, fg_fp, fg_fn = cm[1:, 1:].sum(), cm[0, 1:].sum(), cm[1:, 0].sum()
    return {"iou": iou, "dice": 2 * tp / np.maximum(2 * tp + fp + fn, 1), "miou": float(iou.mean()),
            "fg_iou": float(fg_tp / max(fg_tp + fg_fp + fg_fn, 1)),
            "fg_dice": float(2 * fg_tp / max(2 * fg_tp + fg_fp + fg_fn, 1))}


def score(run: Path, data: Path, held: list[Path], fov: Path | None, device: str) -> dict:
    from segstudio.core.annotation.io import load_image
    from segstudio.core.annotation.masks import read_label_mask
    from segstudio.core.inference import Predictor

    pred = Predictor.from_checkpoint(run / "best.pt", device=device)
    k = len(pred.class_names)
    cm = np.zeros((k, k), dtype=np.int64)
    for img_path in held:
        image = load_image(img_path)
        gt = np.asarray(read_label_mask(data / "masks" / f"{img_path.stem}.png", k), dtype=np.int64)
        label = pred.predict(np.asarray(image)).label
        valid = gt >= 0
        if fov is not None:
            f = np.asarray(load_image(fov / f"{img_path.stem}.png"))
            valid &= (f.max(-1) if f.ndim == 3 else f) > 0
        cm += confusion(gt[valid], label[valid], k)
    m = confusion_scores(cm)
    return {"n_held_out": len(held), "class_names": pred.class_names,
            "iou": dict(zip(pred.class_names, m["iou"].round(4).tolist())),
            "dice": dict(zip(pred.class_names, m["dice"].round(4).tolist())), "miou": round(m["miou"], 4),
            "fg_iou": round(m["fg_iou"], 4), "fg_dice": round(m["fg_dice"], 4),
            "tta": pred.tta, "postprocess": pred.postprocess and {k2: v for k2, v in pred.postprocess.items()
                                                                   if k2 != "val_miou"},
            "fov": str(fov) if fov else None}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="images/ + masks/ + classes.txt folder")
    ap.add_argument("--minutes", type=float, default=15.0, help="the run's time budget (--max-minutes)")
    ap.add_argument("--every", type=int, default=10, help="hold out every N-th image (default 10)")
    ap.add_argument("--work", type=Path, help="work folder (default: a new folder under /tmp)")
    ap.add_argument("--run", type=Path, help="score this existing run instead of training one")
    ap.add_argument("--fov", type=Path, help="score only inside the field-of-view masks of this folder")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("train_args", nargs="*", help="extra `segstudio train` flags (after --)")
    args = ap.parse_args(argv)
    data = args.data.resolve()
    train_imgs, held = split_holdout(data, args.every)
    work = args.work or Path(tempfile.mkdtemp(prefix="segstudio-acc-", dir="/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    (work / "held_out.txt").write_text("\n".join(p.name for p in held) + "\n", encoding="utf-8")
    run = args.run
    minutes = None
    if run is None:
        train = make_train_folder(data, train_imgs, work)
        run = work / "run"
        cmd = [sys.executable, "-m", "segstudio", "train", "--data", str(train), "--out", str(run),
               "--max-minutes", str(args.minutes), "--device", args.device, "-q", *args.train_args]
        print("$ " + " ".join(cmd), flush=True)
        t0 = time.monotonic()
        rc = subprocess.run(cmd).returncode
        minutes = (time.monotonic() - t0) / 60
        if rc != 0:
            print(f"training failed (exit {rc})", file=sys.stderr)
            return rc
    plan = run / "plan.json"
    if plan.is_file():
        print(json.loads(plan.read_text(encoding="utf-8"))["summary"])
    result = score(run, data, held, args.fov.resolve() if args.fov else None, args.device)
    result["minutes"] = round(minutes, 2) if minutes is not None else None
    result["run"] = str(run)
    print(json.dumps(result, indent=2))
    per = " ".join(f"iou_{n}={v:.4f}" for n, v in result["iou"].items() if n != result["class_names"][0])
    print(f"miou={result['miou']:.4f} fg_iou={result['fg_iou']:.4f} fg_dice={result['fg_dice']:.4f} "
          f"minutes={result['minutes'] if minutes is not None else 'n/a'} {per}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
