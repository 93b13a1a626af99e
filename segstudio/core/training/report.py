"""Run-folder reports: ``metrics.csv`` (one row per epoch) and ``curves.png`` drawn with Pillow.

matplotlib is not a dependency (ADR 0001), so the curves are a small hand-drawn chart: left panel train and
val loss, right panel val mIoU and per-class IoU (foreground classes), both against the epoch.  The colours are
the app's: train/val loss and mIoU as the Training dock's live curves, and each class in its class colour
(:func:`class_colors`: the project's custom colour from segstudio.json, else the VOC palette colour of its id,
as the canvas draws it).
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Sequence

from PIL import Image, ImageDraw, ImageFont

from segstudio.core.annotation.io import atomic_write
from segstudio.core.training.config import _atomic_write

BASE_COLUMNS = ("epoch", "train_loss", "val_loss", "miou", "mdice", "pixel_acc", "lr", "seconds")


def history_row(epoch: int, train_loss: float, val_loss: float, metrics: dict, lr: float, seconds: float) -> dict:
    """Flatten an epoch's numbers to one CSV row (per-class columns ``iou_<class>`` and ``dice_<class>``)."""
    row = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "miou": metrics.get("miou", math.nan),
           "mdice": metrics.get("mdice", math.nan), "pixel_acc": metrics.get("pixel_acc", math.nan),
           "lr": lr, "seconds": seconds}
    for name, v in metrics.get("iou", {}).items():
        row[f"iou_{name}"] = v
    for name, v in metrics.get("dice", {}).items():
        row[f"dice_{name}"] = v
    return row


def write_metrics_csv(rows: Sequence[dict], path) -> Path:
    cols = list(BASE_COLUMNS)
    for row in rows:
        for k in row:
            if k not in cols:
                cols.append(k)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: _fmt(row.get(k, "")) for k in cols})
    _atomic_write(Path(path), buf.getvalue())
    return Path(path)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.6g}"
    return v


_PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
            (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
#: the Training dock's live-curve colours (gui/training/curves.py)
TRAIN_COLOR, VAL_COLOR, MIOU_COLOR = (20, 60, 200), (220, 100, 0), (0, 0, 0)


def class_colors(class_names: Sequence[str], data=None) -> dict:
    """Class name -> (r, g, b) as the app shows it: a colour picked in the project (``data``/segstudio.json
    ``"colors"``), else the VOC palette colour of the class id (= its index in ``class_names``)."""
    import json

    from segstudio.core.annotation.labels import voc_palette
    from segstudio.core.session import parse_color

    palette = voc_palette(max(len(class_names), 1))
    out = {str(n): tuple(int(v) for v in palette[i]) for i, n in enumerate(class_names)}
    custom = {}
    if data is not None:
        try:
            custom = json.loads((Path(data) / "segstudio.json").read_text(encoding="utf-8")).get("colors") or {}
        except (OSError, ValueError, AttributeError):
            custom = {}
    for name, text in (custom.items() if isinstance(custom, dict) else ()):
        rgb = parse_color(text)
        if rgb is not None and name in out:
            out[name] = rgb
    return out


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw), default=raw)
    start = math.ceil(lo / step) * step
    ticks, t = [], start
    while t <= hi + 1e-12 and len(ticks) < 20:
        ticks.append(round(t, 10))
        t += step
    return ticks


def _panel(draw: ImageDraw.ImageDraw, box, title: str, series: list[tuple], font,
           y_range=None, legend: str = "top") -> None:
    """``series``: (name, xs, ys) or (name, xs, ys, (r, g, b))."""
    x0, y0, x1, y1 = box
    left, right, top, bottom = x0 + 52, x1 - 10, y0 + 24, y1 - 34
    draw.text((x0 + 52, y0 + 4), title, fill=(0, 0, 0), font=font)
    xs = [x for s in series for x in s[1]]
    ys = [y for s in series for y in s[2] if isinstance(y, (int, float)) and math.isfinite(y)]
    draw.rectangle([left, top, right, bottom], outline=(80, 80, 80))
    if not xs or not ys:
        draw.text((left + 8, top + 8), "no data yet", fill=(120, 120, 120), font=font)
        return
    xmin, xmax = min(xs), max(xs)
    if xmax == xmin:
        xmin, xmax = xmin - 1, xmax + 1
    ymin, ymax = y_range if y_range else (min(ys), max(ys))
    if ymax - ymin < 1e-9:
        ymin, ymax = ymin - 0.5, ymax + 0.5
    pad = 0.05 * (ymax - ymin)
    if not y_range:
        ymin, ymax = ymin - pad, ymax + pad

    def px(x, y):
        return (left + (x - xmin) / (xmax - xmin) * (right - left),
                bottom - (y - ymin) / (ymax - ymin) * (bottom - top))

    for t in _nice_ticks(ymin, ymax):
        _, yy = px(xmin, t)
        draw.line([left, yy, right, yy], fill=(230, 230, 230))
        draw.text((x0 + 4, yy - 6), f"{t:.3g}", fill=(60, 60, 60), font=font)
    for t in _nice_ticks(xmin, xmax):
        if abs(t - round(t)) > 1e-9:
            continue
        xx, _ = px(t, ymin)
        draw.line([xx, bottom, xx, bottom + 4], fill=(80, 80, 80))
        draw.text((xx - 6, bottom + 6), f"{int(round(t))}", fill=(60, 60, 60), font=font)
    draw.text(((left + right) // 2 - 14, bottom + 18), "epoch", fill=(60, 60, 60), font=font)
    for i, (name, sx, sy, *rest) in enumerate(series):
        color = tuple(rest[0]) if rest else _PALETTE[i % len(_PALETTE)]
        pts = [px(x, y) for x, y in zip(sx, sy) if isinstance(y, (int, float)) and math.isfinite(y)]
        if len(pts) > 1:
            draw.line(pts, fill=color, width=2)
        for (a, b) in pts:
            draw.ellipse([a - 2, b - 2, a + 2, b + 2], fill=color)
        ly = top + 6 + 14 * i if legend == "top" else bottom - 8 - 14 * (len(series) - i)
        draw.line([right - 110, ly + 6, right - 94, ly + 6], fill=color, width=3)
        draw.text((right - 90, ly), name[:14], fill=(0, 0, 0), font=font)


def draw_curves(rows: Sequence[dict], path, size=(960, 400), colors=None) -> Path:
    """Write a PNG with the loss curves (left) and val IoU curves (right); ``colors``: class name ->
    (r, g, b) (default :func:`class_colors` of the rows' classes, i.e. the VOC palette by class id)."""
    img = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    epochs = [r["epoch"] for r in rows]
    w, h = size
    _panel(draw, (0, 0, w // 2, h), "loss",
           [("train", epochs, [r.get("train_loss") for r in rows], TRAIN_COLOR),
            ("val", epochs, [r.get("val_loss") for r in rows], VAL_COLOR)], font)
    iou_cols = [k for k in (rows[0] if rows else {}) if k.startswith("iou_")]   # in class-id order
    colors = colors or class_colors([k[4:] for k in iou_cols])
    series = [("val mIoU", epochs, [r.get("miou") for r in rows], MIOU_COLOR)]
    series += [(k[4:], epochs, [r.get(k) for r in rows], colors.get(k[4:], _PALETTE[i % len(_PALETTE)]))
               for i, k in enumerate(iou_cols) if k != "iou__background_"]
    _panel(draw, (w // 2, 0, w, h), "validation IoU", series, font, y_range=(0.0, 1.0), legend="bottom")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(p, lambda f: img.save(f, format="PNG"))
    return p
