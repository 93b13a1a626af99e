"""What the review overlay on the canvas costs at 4096², and how long the GUI thread waits meanwhile.

Composes the layer (core/review/layer.py) for a synthetic 4096x4096 prediction and annotation in each mode,
timed alone, then again on the worker (gui/canvas/review_layer.py ``LatestJob``) while the GUI thread runs a
real ``QEventLoop`` with a 2 ms QTimer probe: the longest gap between two ticks is the longest time the GUI
thread could not run (GIL or otherwise).  Also times showing the result (``PictureLayer.set_array``: no copy).
Goal: longest GUI gap <= 50 ms per update.  Last line: ``max_gap_ms=X``.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/review_layer.py [--size 4096]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=4096)
    args = ap.parse_args(argv)
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])  # noqa: F841
    from segstudio.core.annotation.labels import voc_palette
    from segstudio.core.review.compose import OverlayOptions
    from segstudio.core.review.layer import overlay_layer
    from segstudio.gui.canvas.review_layer import LatestJob, PictureLayer

    n = args.size
    yy, xx = np.mgrid[:n, :n]
    gt = (((yy - n * 0.49) ** 2 + (xx - n * 0.49) ** 2) < (n * 0.37) ** 2).astype(np.int64)
    pred = (((yy - n * 0.51) ** 2 + (xx - n * 0.46) ** 2) < (n * 0.34) ** 2).astype(np.int64)
    pred[((yy - n * 0.12) ** 2 + (xx - n * 0.85) ** 2) < (n * 0.07) ** 2] = 2
    pal = voc_palette(3)
    modes = {"fill": OverlayOptions(), "contour": OverlayOptions(mode="contour"),
             "errors": OverlayOptions(errors=True), "pred+gt": OverlayOptions(show_gt=True)}
    worst = 0.0
    layer = PictureLayer()
    for name, opts in modes.items():
        t0 = time.perf_counter()
        arr = overlay_layer(pred, gt, pal, opts, bgra=True)
        alone = (time.perf_counter() - t0) * 1000
        job = LatestJob()
        gaps, last = [], [0.0]

        def tick():
            now = time.perf_counter()
            gaps.append(now - last[0])
            last[0] = now

        timer = QTimer(interval=2)
        timer.timeout.connect(tick)
        loop = QEventLoop()
        job.ready.connect(lambda _a: loop.quit())
        timer.start()
        last[0] = t0 = time.perf_counter()
        job.request(lambda o=opts: overlay_layer(pred, gt, pal, o, bgra=True))
        loop.exec()
        timer.stop()
        total = (time.perf_counter() - t0) * 1000
        t1 = time.perf_counter()
        layer.set_array(arr)
        show = (time.perf_counter() - t1) * 1000
        gap = max(gaps) * 1000 if gaps else 0.0
        worst = max(worst, gap, show)
        print(f"{name:8s} compose {alone:6.0f} ms alone, {total:6.0f} ms on the worker; longest GUI gap "
              f"{gap:5.1f} ms; show {show:4.1f} ms")
    print(f"max_gap_ms={worst:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
