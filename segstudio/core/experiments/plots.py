"""Training curves of every run of an experiment overlaid, one chart per metric, drawn with Pillow (matplotlib
is not a dependency, ADR 0001; the same approach as a run's ``curves.png``, :mod:`segstudio.core.training.report`).

:func:`run_colors` gives each run its colour (the order of the queue; the GUI's comparison view uses the same
colours), :func:`curve_metrics` the metrics the histories have (train/val loss, val mIoU, mDice, per-class IoU),
:func:`draw_overlay` one chart with a legend naming every run.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Sequence

from PIL import Image, ImageDraw, ImageFont

from segstudio.core.annotation.io import atomic_write
from segstudio.core.training.report import _nice_ticks

#: distinct colours for up to 20 runs (Tableau 20, dark tones first); more runs reuse them in order
RUN_PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
               (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207), (174, 199, 232),
               (255, 187, 120), (152, 223, 138), (255, 152, 150), (197, 176, 213), (196, 156, 148),
               (247, 182, 210), (199, 199, 199), (219, 219, 141), (158, 218, 229))
BASE_CURVES = (("train_loss", "train loss"), ("val_loss", "val loss"), ("miou", "val mIoU"),
               ("mdice", "val mDice"))


def run_colors(run_ids: Sequence[str]) -> dict:
    """Run id -> (r, g, b), in the given order."""
    return {rid: RUN_PALETTE[i % len(RUN_PALETTE)] for i, rid in enumerate(run_ids)}


def curve_metrics(histories: Sequence[Sequence[dict]]) -> list[tuple[str, str]]:
    """(metrics.csv column, title) of the curves at least one history has a finite value of: the base curves,
    then the per-class validation IoU (foreground classes, in column order)."""
    def present(key):
        return any(isinstance(r.get(key), (int, float)) and math.isfinite(r[key]) for h in histories for r in h)

    out = [(k, t) for k, t in BASE_CURVES if present(k)]
    seen = []
    for h in histories:
        for r in h:
            for k in r:
                if k.startswith("iou_") and k != "iou__background_" and k not in seen:
                    seen.append(k)
    return out + [(k, f"val IoU {k[4:]}") for k in seen if present(k)]


def file_name(metric: str) -> str:
    """curves_<metric>.png with anything but letters, digits, '-' and '_' replaced."""
    return "curves_" + re.sub(r"[^A-Za-z0-9_-]", "_", metric) + ".png"


def _frame(lo, hi, pad=True):
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return 0.0, 1.0
    if hi - lo < 1e-9:
        return lo - 0.5, hi + 0.5
    p = 0.05 * (hi - lo) if pad else 0.0
    return lo - p, hi + p


def draw_overlay(series: Sequence[tuple], title: str, path, size=(960, 480)) -> Path:
    """One chart: ``series`` = (label, epochs, values, (r, g, b)); the legend (right) names every series.
    Non-finite values are skipped; a series with one point is a dot."""
    font = ImageFont.load_default()
    labels = [str(s[0]) for s in series]
    legend_w = min(420, max(140, 40 + 6 * max((len(t) for t in labels), default=0)))
    w, h = size
    img = Image.new("RGB", (w + legend_w, h), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    left, right, top, bottom = 60, w - 12, 30, h - 40
    draw.text((left, 8), title, fill=(0, 0, 0), font=font)
    draw.rectangle([left, top, right, bottom], outline=(80, 80, 80))
    pts_all = [(x, y) for s in series for x, y in zip(s[1], s[2])
               if isinstance(y, (int, float)) and math.isfinite(y)]
    if not pts_all:
        draw.text((left + 8, top + 8), "no data yet", fill=(120, 120, 120), font=font)
    else:
        xmin, xmax = min(p[0] for p in pts_all), max(p[0] for p in pts_all)
        if xmax == xmin:
            xmin, xmax = xmin - 1, xmax + 1
        ymin, ymax = _frame(min(p[1] for p in pts_all), max(p[1] for p in pts_all))

        def px(x, y):
            return (left + (x - xmin) / (xmax - xmin) * (right - left),
                    bottom - (y - ymin) / (ymax - ymin) * (bottom - top))

        for t in _nice_ticks(ymin, ymax):
            _, yy = px(xmin, t)
            draw.line([left + 1, yy, right - 1, yy], fill=(232, 232, 232))
            draw.text((6, yy - 6), f"{t:.3g}", fill=(60, 60, 60), font=font)
        for t in _nice_ticks(xmin, xmax):
            if abs(t - round(t)) < 1e-9:
                xx, _ = px(t, ymin)
                draw.line([xx, bottom, xx, bottom + 4], fill=(80, 80, 80))
                draw.text((xx - 6, bottom + 6), str(int(round(t))), fill=(60, 60, 60), font=font)
        draw.text(((left + right) // 2 - 14, bottom + 22), "epoch", fill=(60, 60, 60), font=font)
        for label, xs, ys, color in series:
            pts = [px(x, y) for x, y in zip(xs, ys) if isinstance(y, (int, float)) and math.isfinite(y)]
            if len(pts) > 1:
                draw.line(pts, fill=tuple(color), width=2)
            for a, b in pts:
                draw.ellipse([a - 2, b - 2, a + 2, b + 2], fill=tuple(color))
    for i, (label, _xs, _ys, color) in enumerate(series):
        y = top + 4 + 16 * i
        if y > h - 16:
            draw.text((w + 8, y), f"... {len(series) - i} more", fill=(60, 60, 60), font=font)
            break
        draw.rectangle([w + 8, y + 2, w + 24, y + 10], fill=tuple(color))
        text = label if len(label) <= (legend_w - 40) // 6 else label[: (legend_w - 40) // 6 - 3] + "..."
        draw.text((w + 30, y), text, fill=(0, 0, 0), font=font)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(p, lambda f: img.save(f, format="PNG"))
    return p


def draw_run_curves(runs, out_dir) -> list[Path]:
    """curves_<metric>.png in ``out_dir`` for every metric of :func:`curve_metrics`: all ``runs``
    (RunResult: ``id``, ``history``) overlaid, each in its :func:`run_colors` colour."""
    colors = run_colors([r.id for r in runs])
    written = []
    for key, title in curve_metrics([r.history for r in runs]):
        series = [(r.id, [row.get("epoch", i + 1) for i, row in enumerate(r.history)],
                   [row.get(key) for row in r.history], colors[r.id]) for r in runs if r.history]
        written.append(draw_overlay(series, title, Path(out_dir) / file_name(key)))
    return written
