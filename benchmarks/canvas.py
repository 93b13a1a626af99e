"""Canvas repaint time while panning and zooming: 1000 polygons of 50 vertices on a 4096x4096 image.

Offscreen (QT_QPA_PLATFORM=offscreen unless set).  The same pan/zoom path is replayed twice on the same view
size: once over the image alone (the reference, measured in this run) and once with the 1000 polygons
(one of them selected, so its vertex handles are drawn too).  Each step pans or zooms, then times a
synchronous ``viewport().repaint()``.

    .venv/bin/python benchmarks/canvas.py [--shapes 1000] [--vertices 50] [--size 4096] [--steps 120]

Last line: ``median_ms=X p95_ms=Y ratio=R`` (wall time; R = median with shapes / median image only).
Goal: median <= 16 ms.  The process's CPU time (all threads) is printed too: on a shared, loaded machine it is the
figure that does not count other processes' time.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from segstudio.core.annotation import Annotation, Shape  # noqa: E402
from segstudio.gui.canvas.view import CanvasView  # noqa: E402
from segstudio.gui.document import DocumentModel  # noqa: E402


def make_shapes(n: int, vertices: int, size: int, seed: int = 0) -> list[Shape]:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    shapes = []
    for i in range(n):
        cx, cy = rng.uniform(100, size - 100, 2)
        r = rng.uniform(20, 90) * (1 + 0.25 * np.sin(3 * t + rng.uniform(0, 6)))
        pts = np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1).round(1).tolist()
        shapes.append(Shape(label=("lesion", "cyst")[i % 2], points=pts))
    return shapes


def path_steps(steps: int):
    """A replayable pan/zoom script: ('zoom', factor) or ('pan', dx, dy)."""
    out = []
    for k in range(steps):
        phase = (k // 20) % 4
        if phase == 0:
            out.append(("zoom", 1.1))
        elif phase == 1:
            out.append(("pan", 37, 23))
        elif phase == 2:
            out.append(("zoom", 1 / 1.1))
        else:
            out.append(("pan", -37, -23))
    return out


def run(view: CanvasView, steps) -> list[float]:
    view.fit()
    view.viewport().repaint()
    times = []
    for step in steps:
        if step[0] == "zoom":
            view.zoom_by(step[1])
        else:
            view.pan_by(step[1], step[2])
        t0, c0 = time.perf_counter(), time.process_time()
        view.viewport().repaint()
        times.append(((time.perf_counter() - t0) * 1000.0, (time.process_time() - c0) * 1000.0))
    return times


def edit_latencies(view: CanvasView, doc: DocumentModel, size: int) -> dict[str, float]:
    """Milliseconds from an edit to the canvas being up to date (items, overview), zoomed out and in."""
    from segstudio.gui.canvas import ops

    out = {}
    for where in ("fit", "zoom x4"):
        view.fit()
        if where != "fit":
            view.zoom_by(4.0)
        t0 = time.perf_counter()
        doc.move_shapes([1], 3, 3)
        out[f"move one shape ({where})"] = (time.perf_counter() - t0) * 1000.0
        pts = [[size / 2 + 3 * k, size / 2 + 2 * k] for k in range(100)]
        t0 = time.perf_counter()
        stroke = ops.stroke_region(pts, 25, size, size)
        new, index = ops.paint_stroke(doc.shapes(), stroke, "lesion")
        doc.set_shapes(new, "Brush", [index])
        out[f"brush stroke, 100 points ({where})"] = (time.perf_counter() - t0) * 1000.0
        doc.undo_stack.undo()
        doc.undo_stack.undo()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", type=int, default=1000)
    ap.add_argument("--vertices", type=int, default=50)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=120)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=800)
    args = ap.parse_args(argv)

    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (args.size, args.size, 3), dtype=np.uint8)
    doc = DocumentModel()
    view = CanvasView(doc)
    view.resize(args.width, args.height)
    view.show()
    app.processEvents()
    steps = path_steps(args.steps)

    doc.open_annotation(Annotation(shapes=[], image_path="bench.png", image_height=args.size,
                                   image_width=args.size), image)
    app.processEvents()
    ref = run(view, steps)

    t0 = time.perf_counter()
    doc.open_annotation(Annotation(shapes=make_shapes(args.shapes, args.vertices, args.size), image_path="bench.png",
                                   image_height=args.size, image_width=args.size), image)
    doc.select([0])
    app.processEvents()
    load_ms = (time.perf_counter() - t0) * 1000.0
    ours = run(view, steps)
    view.fit()
    overview_at_fit = view.overview_active
    edits = edit_latencies(view, doc, args.size)

    def stats(xs):
        xs = sorted(xs)
        return statistics.median(xs), xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]

    rm, rp = stats([t[0] for t in ref])
    om, op = stats([t[0] for t in ours])
    rcm, rcp = stats([t[1] for t in ref])
    ocm, ocp = stats([t[1] for t in ours])
    print(f"view {args.width}x{args.height}, image {args.size}x{args.size}, {args.shapes} polygons x "
          f"{args.vertices} vertices, {len(steps)} pan/zoom steps, Qt platform {app.platformName()}")
    print(f"load (items built): {load_ms:.0f} ms")
    print(f"lod overview used at fit zoom: {overview_at_fit}")
    print("edit latency (wall): " + ", ".join(f"{k} {v:.0f} ms" for k, v in edits.items()))
    print(f"cpu time of the process, all threads (robust on a loaded machine): reference median_ms={rcm:.2f} "
          f"p95_ms={rcp:.2f}; with shapes median_ms={ocm:.2f} p95_ms={ocp:.2f}")
    print(f"wall time, reference (image only): median_ms={rm:.2f} p95_ms={rp:.2f}")
    print(f"median_ms={om:.2f} p95_ms={op:.2f} ratio={om / rm if rm > 0 else float('nan'):.2f}")
    sys.stdout.flush()
    view.close()
    del view, doc
    app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
