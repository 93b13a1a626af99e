"""Benchmark: labelme JSON -> class mask -> palette PNG, segstudio vs labelme 6.3.1, same files, same run.

Data: ../shared/data/busi/labelme (518 files, classes from busi/classes.txt).

* ours: ``segstudio.core.export.convert(..., "masks", options={"images": False})`` (read + validate JSON,
  rasterize the class mask, write the palette PNG), with ``--workers`` processes (default 2), timed end to
  end in this process including the pool start-up;
* labelme: ``json.load`` -> ``labelme.utils.shapes_to_label`` -> ``imgviz.io.lblsave`` in one process, as
  users run labelme's converters, in a subprocess of the labelme reference venv (it imports PyQt5, never
  imported here), timed inside that process around the same loop (interpreter start-up excluded).

Then every PNG pair is checked pixel-identical (and the palettes equal).  Prints files/s of both and, as
the LAST line, ``ratio=X`` (ours / labelme files per second).

    .venv/bin/python benchmarks/convert.py [--workers 2] [--limit N] [--repeat 1]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = Path(os.environ.get("SEGSTUDIO_SHARED_DATA", ROOT.parent / "shared" / "data"))
LABELME_PY = Path(os.environ.get("SEGSTUDIO_LABELME_PYTHON", ROOT / ".venv-labelme" / "bin" / "python"))

REFERENCE = r'''
import json, sys, time
from pathlib import Path
import numpy as np
import imgviz
from labelme.utils.shape import shapes_to_label

src, labels, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
files = [Path(p) for p in json.loads(sys.argv[4])]
names = [l.strip() for l in labels.read_text().splitlines() if l.strip()]
mapping = {"__ignore__": -1, **{n: i for i, n in enumerate(names)}}
t0, c0 = time.perf_counter(), time.process_time()
for f in files:
    with open(f) as fp:
        data = json.load(fp)
    cls, _ins = shapes_to_label((data["imageHeight"], data["imageWidth"]), data["shapes"], mapping)
    imgviz.io.lblsave(out / (f.stem + ".png"), cls.astype(np.uint8))  # lblsave takes uint8; -1 -> 255
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "n": len(files)}))
'''


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the worker pool)."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def run_reference(files: list[Path], labels: Path, out: Path) -> tuple[float, float]:
    out.mkdir(parents=True)
    r = subprocess.run([str(LABELME_PY), "-c", REFERENCE, str(files[0].parent), str(labels), str(out),
                        json.dumps([str(f) for f in files])], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"labelme reference failed:\n{r.stderr[-2000:]}")
    res = json.loads(r.stdout.strip().splitlines()[-1])
    return res["seconds"], res["cpu"]


def run_ours(src: Path, labels: Path, out: Path, workers: int) -> tuple[float, float]:
    from segstudio.core.export import convert

    t0, c0 = time.perf_counter(), _cpu()
    report = convert(src, labels, out, "masks", workers=workers, options={"images": False})
    seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    if not report.ok:
        raise SystemExit(f"ours failed on {report.n_failed} files, e.g. {report.failures[:3]}")
    return seconds, cpu


def compare(files: list[Path], ours: Path, ref: Path) -> int:
    n_diff = 0
    for f in files:
        a, b = Image.open(ours / "masks" / f"{f.stem}.png"), Image.open(ref / f"{f.stem}.png")
        same = a.mode == b.mode == "P" and np.array_equal(np.asarray(a), np.asarray(b))
        same = same and a.getpalette()[: 3 * 256] == b.getpalette()[: 3 * 256]
        if not same:
            n_diff += 1
            print(f"DIFFERENT: {f.name}")
    return n_diff


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2, help="our worker processes (default 2)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (0 = all)")
    ap.add_argument("--repeat", type=int, default=1, help="repeat both and keep each one's best time")
    args = ap.parse_args()
    src, labels = SHARED / "busi" / "labelme", SHARED / "busi" / "classes.txt"
    if not src.is_dir() or not LABELME_PY.exists():
        print(f"needs {src} and the labelme reference venv {LABELME_PY}", file=sys.stderr)
        return 2
    files = sorted(src.glob("*.json"))[: args.limit or None]
    tmp = Path(tempfile.mkdtemp(prefix="segstudio-bench-"))
    try:
        if args.limit:  # convert() takes a folder: link the chosen subset (imagePath is ../images/...)
            sub = tmp / "src"
            sub.mkdir()
            (tmp / "images").symlink_to(src.parent / "images")
            for f in files:
                (sub / f.name).symlink_to(f)
            src, files = sub, sorted(sub.glob("*.json"))
        t_ref, t_ours = [], []
        for i in range(args.repeat):
            t_ref.append(run_reference(files, labels, tmp / f"ref{i}"))
            t_ours.append(run_ours(src, labels, tmp / f"ours{i}", args.workers))
        n_diff = compare(files, tmp / "ours0", tmp / "ref0")
        n = len(files)
        (ref_s, ref_cpu), (ours_s, ours_cpu) = min(t_ref), min(t_ours)
        ref_fps, ours_fps = n / ref_s, n / ours_s
        print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: {platform.machine()}, "
              f"{os.cpu_count()} CPU(s), python {platform.python_version()}")
        print(f"files: {n} ({src}); PNGs pixel-identical: {n - n_diff}/{n}")
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (other work on the machine)")
        print(f"labelme 6.3.1 (1 process): {ref_s:.2f} s  {ref_fps:.1f} files/s  (CPU {ref_cpu:.2f} s)")
        print(f"segstudio ({args.workers} worker(s)): {ours_s:.2f} s  {ours_fps:.1f} files/s  "
              f"(CPU {ours_cpu:.2f} s, all processes)")
        print(f"CPU-time ratio (labelme CPU / ours CPU): {ref_cpu / ours_cpu:.2f}")
        if n_diff:
            print(f"ERROR: {n_diff} PNGs differ", file=sys.stderr)
        print(f"ratio={ours_fps / ref_fps:.2f}")
        return 1 if n_diff else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
