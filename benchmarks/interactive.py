"""Benchmark: interactive segmentation, number of clicks (NoC) as the field measures it.

For every object (8-connected region of each class, at least --min-area pixels) of every mask, an annotator
is simulated: first a box (the ground truth's bounding box + 5 % margin on each side), then clicks at the
centre of the largest error region (the pixel farthest from its border; positive in a false negative,
negative in a false positive), up to --max-clicks interactions in all (the box is the first).  Per method it
prints the mean NoC@85 and NoC@90 (interactions until IoU >= 0.85 / 0.90; --max-clicks when never reached),
the mean IoU after 1, 3 and 5 interactions, and the median / 95th percentile / max milliseconds of one
interaction.  Manual effort for comparison: the median vertex count of the ground-truth labelme polygons of
the same images (--labelme, default IMAGES/../labelme when it exists).  --timing additionally times the box,
a click, the magic wand and an edge-snapping anchor on every image resized to 1024x1024.  The LAST line is
``noc85=X noc90=Y`` for the best method (lowest NoC@90, then NoC@85).

    .venv/bin/python benchmarks/interactive.py --images DIR --masks DIR --classes FILE [--weights CKPT]
        [--methods grabcut,model] [--limit N] [--labelme DIR] [--timing] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from segstudio.core.annotation import LabelSet, load_image, read_label_mask  # noqa: E402
from segstudio.core.errors import SegStudioError  # noqa: E402
from segstudio.core.interactive import (  # noqa: E402
    EdgeSnapper, Interaction, ModelPrior, PromptError, largest_error_click, magic_wand,
)
from segstudio.core.project import IMAGE_EXTENSIONS  # noqa: E402

MARGIN = 0.05


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 1.0


def pairs(images: Path, masks: Path) -> list[tuple[Path, Path]]:
    by_stem = {p.stem: p for p in sorted(images.iterdir()) if p.suffix.lower() in IMAGE_EXTENSIONS}
    out = [(by_stem[m.stem], m) for m in sorted(masks.iterdir())
           if m.suffix.lower() in IMAGE_EXTENSIONS and m.stem in by_stem]
    if not out:
        raise SystemExit(f"error: no image in {images} has a mask of the same name in {masks}")
    return out


def objects(label: np.ndarray, names: list[str], min_area: int):
    """(class name, bool mask) of every 8-connected region of every class (ignore and background skipped)."""
    for cid in range(1, len(names)):
        binary = (label == cid).astype(np.uint8)
        if not binary.any():
            continue
        n, cc, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        for k in range(1, n):
            if stats[k, cv2.CC_STAT_AREA] >= min_area:
                yield names[cid], cc == k


def gt_box(gt: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(gt)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    mx, my = MARGIN * (x1 - x0), MARGIN * (y1 - y0)
    h, w = gt.shape
    return max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my)


def simulate(image, gt, method, model, max_clicks):
    """IoU after each interaction (list of max_clicks values) and the seconds each took."""
    inter = Interaction(image, method, model=model)
    ious, seconds = [], []
    t = time.perf_counter()
    try:
        pred = inter.set_box(gt_box(gt))
    except PromptError:
        pred = np.zeros_like(gt)
    seconds.append(time.perf_counter() - t)
    ious.append(iou(pred, gt))
    while len(ious) < max_clicks:
        click = largest_error_click(pred, gt)
        if click is None:
            ious.append(ious[-1])
            continue
        t = time.perf_counter()
        try:
            pred = inter.add_click(click.x, click.y, click.positive) if inter.active else \
                inter.start_at(click)
        except PromptError:
            pass
        seconds.append(time.perf_counter() - t)
        ious.append(iou(pred, gt))
    return ious, seconds


def noc(ious: list[float], threshold: float, max_clicks: int) -> int:
    return next((i + 1 for i, v in enumerate(ious) if v >= threshold), max_clicks)


def vertex_median(labelme: Path | None, stems: list[str]) -> float | None:
    if labelme is None or not labelme.is_dir():
        return None
    counts = []
    for stem in stems:
        f = labelme / f"{stem}.json"
        if not f.exists():
            continue
        for s in json.loads(f.read_text()).get("shapes", []):
            if s.get("shape_type", "polygon") == "polygon" and s.get("label") not in ("_background_", "__ignore__"):
                counts.append(len(s.get("points", [])))
    return float(statistics.median(counts)) if counts else None


class _Clock:
    """Wall-clock and CPU seconds of a block (CPU time is what the work costs on an idle core; wall time on a
    shared machine also counts waiting for a core)."""

    def __init__(self, rows: dict, key: str):
        self.rows, self.key = rows, key

    def __enter__(self):
        self.t, self.c = time.perf_counter(), time.process_time()

    def __exit__(self, *exc):
        self.rows.setdefault(self.key, []).append((time.perf_counter() - self.t, time.process_time() - self.c))


def timing_1024(items, methods, models, names) -> None:
    """ms of one box, one click, one wand click and one edge-snapping anchor + path at 1024x1024."""
    rows: dict[str, list] = {}
    for image_path, mask_path in items:
        image = cv2.resize(load_image(image_path), (1024, 1024), interpolation=cv2.INTER_LINEAR)
        label = cv2.resize(read_label_mask(mask_path, len(names)).astype(np.int16), (1024, 1024),
                           interpolation=cv2.INTER_NEAREST)
        for name, gt in objects(label, names, 64):
            for m in methods:
                inter = Interaction(image, m, model=models.get((m, name)))
                try:
                    with _Clock(rows, f"{m} box"):
                        pred = inter.set_box(gt_box(gt))
                except PromptError:          # nothing found in the box: timed, no click to time
                    continue
                c = largest_error_click(pred, gt)
                if c is not None:
                    with _Clock(rows, f"{m} click"):
                        inter.add_click(c.x, c.y, c.positive)
            ys, xs = np.nonzero(gt)
            with _Clock(rows, "magic wand"):
                magic_wand(image, float(xs.mean()), float(ys.mean()), 24)
            snap = EdgeSnapper(image)
            with _Clock(rows, "edge snap anchor+path"):
                snap.set_anchor(float(xs.min()), float(ys[np.argmin(xs)]))
                snap.path_to(float(xs.max()), float(ys[np.argmax(xs)]))
            break
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\ntiming at 1024x1024 (ms; wall median / p95 / max, then CPU median / max; load average {load:.1f})")
    for key, vals in rows.items():
        wall, cpu = np.array(vals).T * 1000
        print(f"  {key:22s} {np.median(wall):7.0f} {np.percentile(wall, 95):7.0f} {wall.max():7.0f}   "
              f"cpu {np.median(cpu):6.0f} {cpu.max():6.0f}   (n={len(wall)})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=Path, required=True)
    ap.add_argument("--masks", type=Path, required=True)
    ap.add_argument("--classes", type=Path, required=True)
    ap.add_argument("--weights", type=Path, help="a segstudio checkpoint: adds the model methods")
    ap.add_argument("--methods", help="comma-separated (default: grabcut, plus model and model+grabcut "
                                      "with --weights)")
    ap.add_argument("--labelme", type=Path, help="ground-truth labelme JSON (default IMAGES/../labelme)")
    ap.add_argument("--limit", type=int, help="only the first N images")
    ap.add_argument("--max-clicks", type=int, default=20)
    ap.add_argument("--min-area", type=int, default=64, help="smaller regions are not objects")
    ap.add_argument("--timing", action="store_true", help="also time each interaction at 1024x1024")
    ap.add_argument("--threads", type=int, default=None, help="torch/OpenCV threads (default: as is)")
    ap.add_argument("--json", type=Path, help="write the per-object figures here")
    args = ap.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    names = LabelSet.from_file(args.classes).names
    items = pairs(args.images, args.masks)[: args.limit]
    methods = args.methods.split(",") if args.methods else (
        ["grabcut", "model", "model+grabcut"] if args.weights else ["grabcut"])
    models = {}
    for m in methods:
        for name in names[1:]:
            if m.startswith("model"):
                if args.weights is None:
                    raise SystemExit(f"error: method {m!r} needs --weights")
                models[(m, name)] = ModelPrior.from_checkpoint(args.weights, name, names, device="cpu")
    print(f"{len(items)} images from {args.images} ({platform.machine()}, {os.cpu_count()} CPUs, "
          f"OpenCV {cv2.__version__})")
    results = {m: [] for m in methods}
    seconds = {m: [] for m in methods}
    stems = []
    for image_path, mask_path in items:
        try:
            image = load_image(image_path)
            label = read_label_mask(mask_path, len(names), expected_size=image.shape[:2])
        except SegStudioError as exc:
            print(f"skipped: {exc}")
            continue
        stems.append(image_path.stem)
        for name, gt in objects(label, names, args.min_area):
            for m in methods:
                ious, secs = simulate(image, gt, m, models.get((m, name)), args.max_clicks)
                results[m].append({"image": image_path.name, "class": name, "ious": ious})
                seconds[m] += secs
    labelme = args.labelme or (args.images.parent / "labelme")
    med = vertex_median(labelme if labelme.is_dir() else None, stems)
    print(f"\n{'method':16s} {'objects':>7s} {'NoC@85':>7s} {'NoC@90':>7s} {'IoU@1':>6s} {'IoU@3':>6s} "
          f"{'IoU@5':>6s}   ms/interaction median p95 max")
    summary = {}
    for m in methods:
        rs = results[m]
        if not rs:
            continue
        n85 = float(np.mean([noc(r["ious"], 0.85, args.max_clicks) for r in rs]))
        n90 = float(np.mean([noc(r["ious"], 0.90, args.max_clicks) for r in rs]))
        at = [float(np.mean([r["ious"][k - 1] for r in rs])) for k in (1, 3, 5)]
        ms = np.array(seconds[m]) * 1000
        summary[m] = {"noc85": n85, "noc90": n90, "iou1": at[0], "iou3": at[1], "iou5": at[2]}
        print(f"{m:16s} {len(rs):7d} {n85:7.2f} {n90:7.2f} {at[0]:6.3f} {at[1]:6.3f} {at[2]:6.3f}   "
              f"{np.median(ms):6.0f} {np.percentile(ms, 95):5.0f} {ms.max():5.0f}")
    if med is not None:
        print(f"manual polygons: median {med:.0f} vertices per object (ground-truth labelme, {labelme})")
    if args.timing:
        timing_1024(items, methods, models, names)
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "objects": results}, indent=1))
    if not summary:
        raise SystemExit("error: no objects found in the masks")
    best = min(summary, key=lambda m: (summary[m]["noc90"], summary[m]["noc85"]))
    print(f"best: {best}")
    print(f"noc85={summary[best]['noc85']:.2f} noc90={summary[best]['noc90']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
