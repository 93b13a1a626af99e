"""Benchmark: start-up to the first painted window, the PyInstaller bundle against the development venv.

Each run starts ``segstudio gui PROJECT`` in a fresh process with ``SEGSTUDIO_REPORT_FIRST_FRAME=1`` and
``SEGSTUDIO_QUIT_AFTER_FIRST_FRAME=1`` (segstudio/gui/first_frame.py): the window prints a line when it has
painted for the first time and quits.  The time is the wall clock from the ``Popen`` call to that line (read
from the child's stderr); the CPU time of the whole child run (user + system, until it has quit) is printed
too, since on a shared machine it depends less on the load than the wall clock.  The platform is Qt's ``offscreen`` one unless ``--xvfb`` runs the process under
``xvfb-run`` (a real X server and window).  The bundle runs with an empty environment (``env -i``) as on a
clean machine, the venv as ``.venv/bin/python -m segstudio``.  The first run of each is reported on its own
(cold file cache after a build), the median of the rest is the figure.  Also prints the bundle's unpacked
size.  Last line: ``bundle_s=X venv_s=Y ratio=X/Y`` (``--no-bundle``: the venv alone, ``venv_s=Y``, e.g. while the
bundle is older than the code).  Also prints the minimum of the timed runs and the load average before and
after (a shared machine's load moves the wall clock most).

    .venv/bin/python benchmarks/startup.py [--runs 5] [--bundle dist/segstudio/segstudio | --no-bundle] [--xvfb]
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = "segstudio: first frame after"


def first_frame_s(cmd: list[str], env: dict, cwd: Path, timeout: float = 180) -> tuple[float, float]:
    """(wall seconds from starting ``cmd`` to its first-frame line, CPU seconds of the whole child run);
    raises when it exits without that line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = None
    try:
        for line in p.stderr:
            if MARKER in line and seen is None:
                seen = time.perf_counter() - start
        p.wait(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
    if seen is None or p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: no first frame (exit {p.returncode})")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seen, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def du_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs of each (default 5; the first is reported apart)")
    ap.add_argument("--bundle", type=Path, default=ROOT / "dist" / "segstudio" / "segstudio")
    ap.add_argument("--python", type=Path, default=ROOT / ".venv" / "bin" / "python")
    ap.add_argument("--no-bundle", action="store_true", help="measure the venv only")
    ap.add_argument("--xvfb", action="store_true", help="run under xvfb-run (an X server) instead of offscreen")
    args = ap.parse_args(argv)
    if not args.no_bundle and not args.bundle.is_file():
        raise SystemExit(f"{args.bundle}: no bundle (run `make installer`)")
    work = Path(tempfile.mkdtemp(prefix="segstudio-startup-"))
    try:
        subprocess.run([str(args.python), "-m", "segstudio", "sample", str(work / "proj")], check=True,
                       cwd=ROOT, stdout=subprocess.DEVNULL)
        base = {"HOME": str(work), "SEGSTUDIO_REPORT_FIRST_FRAME": "1", "SEGSTUDIO_QUIT_AFTER_FIRST_FRAME": "1"}
        wrap = ["xvfb-run", "-a"] if args.xvfb else []
        if not args.xvfb:
            base["QT_QPA_PLATFORM"] = "offscreen"
        bundle_env = dict(base)
        if args.xvfb:  # xvfb-run itself needs PATH; the bundle still gets nothing else
            bundle_env["PATH"] = "/usr/bin:/bin"
        venv_env = dict(os.environ, **base)
        cases = {
            "bundle": (wrap + [str(args.bundle), "gui", str(work / "proj")], bundle_env),
            "venv": (wrap + [str(args.python), "-m", "segstudio", "gui", str(work / "proj")], venv_env),
        }
        if args.no_bundle:
            del cases["bundle"]
        results = {}
        load_before = os.getloadavg()[0]
        for name, (cmd, env) in cases.items():
            runs = [first_frame_s(cmd, env, ROOT if name == "venv" else work) for _ in range(args.runs)]
            times, cpus = [r[0] for r in runs], [r[1] for r in runs]
            results[name] = statistics.median(times[1:]) if len(times) > 1 else times[0]
            cpu = statistics.median(cpus[1:]) if len(cpus) > 1 else cpus[0]
            print(f"{name}: first run {times[0]:.2f} s, median of the next {len(times) - 1}: {results[name]:.2f} s "
                  f"wall (min {min(times[1:] or times):.2f}), {cpu:.2f} s CPU "
                  f"(wall: {', '.join(f'{t:.2f}' for t in times)})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if "bundle" in results:
        size = du_bytes(args.bundle.parent)
        print(f"bundle: {args.bundle.parent} {size / 1e9:.2f} GB unpacked ({size / 2**30:.2f} GiB), "
              f"{sum(1 for f in args.bundle.parent.rglob('*') if f.is_file())} files")
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"platform {'xvfb' if args.xvfb else 'offscreen'}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"load {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    if "bundle" not in results:
        print(f"venv_s={results['venv']:.2f}")
        return 0
    print(f"bundle_s={results['bundle']:.2f} venv_s={results['venv']:.2f} "
          f"ratio={results['bundle'] / results['venv']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
