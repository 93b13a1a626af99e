"""Active learning, simulated: does annotating the images the model is most uncertain about first beat a
random order?

The dataset (``--images`` + ``--masks``, paired by file stem; classes from ``--classes`` or the
classes.txt / labels.txt beside the masks folder) is split once (seeded) into a test set and a pool.  Both
strategies start from the same ``--start`` labelled pool images and then, round after round, "annotate"
``--step`` more: **uncertainty** takes the pool images with the highest score of
``segstudio.core.inference.uncertainty`` (mean pixel entropy + flip-TTA disagreement of the model trained on
the labelled images so far, through the same Predictor as ``segstudio suggest``), **random** takes random
ones.  Each round retrains a small U-Net from scratch (same seed) for ``--epochs`` epochs on the labelled
images and scores mIoU on the test set.  Images are decoded once and downscaled so that the longer side is
``--img-size`` (letterboxed to a square, as training does) -- a CPU-sized experiment, not a model-quality
figure.

Prints the two learning curves (mIoU vs number of labelled images, mean over ``--repeats`` seeds) and, as
the LAST line, ``auc_ratio=X``: the area under uncertainty's curve divided by random's (trapezoids over the
labelled counts; > 1 = uncertainty sampling learns faster).

    .venv/bin/python benchmarks/active_learning.py --images DIR --masks DIR [--rounds 5] [--epochs 12]
        [--img-size 64] [--test 40] [--pool 120] [--repeats 2] [--threads 1]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segstudio.core.annotation.io import load_image  # noqa: E402
from segstudio.core.annotation.labels import LabelSet  # noqa: E402
from segstudio.core.annotation.masks import read_label_mask  # noqa: E402
from segstudio.core.data.datasets import list_images  # noqa: E402
from segstudio.core.data.transforms import fit_to_size, to_float_chw  # noqa: E402
from segstudio.core.inference import Predictor  # noqa: E402
from segstudio.core.inference.uncertainty import image_uncertainty, rank_uncertainty  # noqa: E402
from segstudio.core.losses import build_loss  # noqa: E402
from segstudio.core.metrics.confusion import confusion_counts, metrics_from_matrix  # noqa: E402
from segstudio.core.models import build_model  # noqa: E402


def _labels(args) -> LabelSet:
    if args.classes:
        return LabelSet.from_file(args.classes)
    for folder in (args.masks.parent, args.masks, args.images.parent):
        for name in ("classes.txt", "labels.txt"):
            if (folder / name).is_file():
                return LabelSet.from_file(folder / name)
    raise SystemExit("no classes.txt / labels.txt found; pass --classes")


def _shrink(image: np.ndarray, mask: np.ndarray, size: int):
    import cv2

    h, w = mask.shape
    f = size / max(h, w)
    if f >= 1:
        return image, mask
    nh, nw = max(1, round(h * f)), max(1, round(w * f))
    image = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    mask = cv2.resize(mask.astype(np.int16), (nw, nh), interpolation=cv2.INTER_NEAREST).astype(np.int64)
    return image, mask


def load_data(args, labels: LabelSet):
    masks = {p.stem: p for p in list_images(args.masks)}
    images, targets, tensors = [], [], []
    for path in list_images(args.images):
        if path.stem not in masks:
            continue
        image = load_image(path)
        mask = read_label_mask(masks[path.stem], labels.num_classes)
        image, mask = _shrink(image, mask, args.img_size)
        x, y, _ = fit_to_size(to_float_chw(image, 3), args.img_size, torch.from_numpy(mask))
        images.append(image)
        targets.append(mask)
        tensors.append((x, y.long()))
    if len(images) < args.test + args.start + args.step:
        raise SystemExit(f"only {len(images)} image/mask pairs: too few for --test/--start/--step")
    return images, targets, tensors


def train(tensors, idx, args, labels, seed) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_model("unet", in_channels=3, num_classes=labels.num_classes, base=args.base)
    loss_fn = build_loss("dice_ce", labels.num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    x = torch.stack([tensors[i][0] for i in idx])
    y = torch.stack([tensors[i][1] for i in idx])
    g = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(args.epochs):
        order = torch.randperm(len(idx), generator=g)
        for b in range(0, len(idx), args.batch_size):
            sel = order[b : b + args.batch_size]
            xb, yb = x[sel], y[sel]
            if torch.rand(1, generator=g).item() < 0.5:  # flips: the only augmentation
                xb, yb = xb.flip(-1), yb.flip(-1)
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
    return model.eval()


def evaluate(predictor, images, targets, idx, k) -> float:
    m = np.zeros((k, k), np.int64)
    for i in idx:
        m += confusion_counts(predictor.predict_probs(images[i]).argmax(0).numpy(), targets[i], k)
    return float(metrics_from_matrix(m)["miou"])


def run_strategy(name, data, split, args, labels, seed, log):
    images, targets, tensors = data
    test, pool = split
    rng = np.random.default_rng(seed)
    labelled = list(pool[: args.start])
    curve = []
    for r in range(args.rounds + 1):
        model = train(tensors, labelled, args, labels, seed)
        predictor = Predictor(model, labels.names, img_size=args.img_size, device="cpu")
        miou = evaluate(predictor, images, targets, test, labels.num_classes)
        curve.append((len(labelled), miou))
        log(f"  {name:<11} seed {seed} round {r}: {len(labelled):4d} labelled  mIoU {miou:.4f}")
        if r == args.rounds:
            break
        rest = [i for i in pool if i not in set(labelled)]
        if name == "uncertainty":
            ranked = rank_uncertainty(image_uncertainty(predictor, images[i], str(i)) for i in rest)
            labelled += [int(u.name) for u in ranked[: args.step]]
        else:
            labelled += [int(i) for i in rng.choice(rest, size=min(args.step, len(rest)), replace=False)]
    return curve


def auc(curve) -> float:
    xs, ys = np.array([c[0] for c in curve], float), np.array([c[1] for c in curve], float)
    return float(np.sum((ys[1:] + ys[:-1]) / 2 * np.diff(xs)))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=Path, required=True)
    p.add_argument("--masks", type=Path, required=True)
    p.add_argument("--classes", type=Path, default=None)
    p.add_argument("--start", type=int, default=10)
    p.add_argument("--step", type=int, default=10)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--img-size", type=int, default=64)
    p.add_argument("--base", type=int, default=8, help="U-Net width (default 8)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--test", type=int, default=40, help="held-out test images (default 40)")
    p.add_argument("--pool", type=int, default=0, help="cap on the pool (0: every image not in the test set)")
    p.add_argument("--repeats", type=int, default=1, help="seeds averaged (default 1)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = p.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    labels = _labels(args)
    t0 = time.perf_counter()
    data = load_data(args, labels)
    n = len(data[0])
    print(f"{n} image/mask pairs from {args.images}, classes {labels.names}, img_size {args.img_size}, "
          f"{args.epochs} epochs per round, {args.repeats} seed(s) (loaded in {time.perf_counter() - t0:.1f} s)")
    curves = {"uncertainty": [], "random": []}
    for seed in range(args.repeats):
        order = np.random.default_rng(1000 + seed).permutation(n).tolist()
        test, pool = order[: args.test], order[args.test :]
        if args.pool:
            pool = pool[: args.pool]
        for name in curves:
            curves[name].append(run_strategy(name, data, (test, pool), args, labels, seed,
                                             lambda s: print(s, flush=True)))
    print("\nlabelled  " + "  ".join(f"{name:>11}" for name in curves))
    mean = {name: [(cs[0][r][0], float(np.mean([c[r][1] for c in cs]))) for r in range(len(cs[0]))]
            for name, cs in curves.items()}
    for r in range(len(mean["random"])):
        print(f"{mean['random'][r][0]:8d}  " + "  ".join(f"{mean[name][r][1]:11.4f}" for name in curves))
    a_unc, a_rand = auc(mean["uncertainty"]), auc(mean["random"])
    print(f"AUC (mIoU x labelled images): uncertainty {a_unc:.2f}, random {a_rand:.2f}; "
          f"total {time.perf_counter() - t0:.0f} s")
    print(f"auc_ratio={a_unc / a_rand if a_rand > 0 else float('nan'):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
