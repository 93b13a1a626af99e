"""Training throughput of 1 process vs N processes (DistributedDataParallel, torchrun) on this machine.

Trains the same U-Net on the same generated sample project twice: in one process, then in ``--nproc``
processes under torchrun (gloo on the CPU, NCCL on GPUs with ``--device cuda``), each process with the same
per-process batch (``--batch-size``) and ``--threads`` torch threads.  Throughput = training images of all
processes / the engine's ``EpochEnd.train_seconds`` (rank 0), over the epochs after the first (decoding and
caching, allocator warm-up).  Prints img/s for both and, as the LAST line, ``ratio=X`` (N processes / 1).

On a CPU the processes share the machine's cores (and its memory bandwidth): the figure says what torchrun's
overhead and the gradient all-reduce cost there.  The real use is one process per GPU.

    .venv/bin/python benchmarks/ddp.py [--nproc 2] [--epochs 4] [--img-size 64] [--batch-size 4] [--base 8]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def worker(args) -> None:
    """One process of a measured run (under torchrun or alone): rank 0 prints ``{"img_s": ...}``."""
    import torch

    from segstudio.core.training import BatchEnd, EpochEnd, TrainConfig, train
    from segstudio.core.training.distributed import env_world_size

    torch.set_num_threads(args.threads)
    cfg = TrainConfig(data=args.data, out=args.out, img_size=args.img_size, batch_size=args.batch_size,
                      epochs=args.epochs, model_kwargs={"base": args.base}, patience=0, device=args.device,
                      val_fraction=0.1, threads=args.threads)
    world = env_world_size()
    rates, batches = [], 0
    for ev in train(cfg):
        if isinstance(ev, BatchEnd):
            batches = ev.n_batches
        elif isinstance(ev, EpochEnd) and ev.epoch > 1:
            rates.append(batches * args.batch_size * world / ev.train_seconds)
    if rates:   # rank 0 (the other processes get no epoch events)
        print(json.dumps({"img_s": statistics.mean(rates), "epochs": rates, "world_size": world}), flush=True)


def measure(args, nproc: int, project: Path, out: Path) -> dict:
    common = ["--worker", "--data", str(project), "--out", str(out), "--epochs", str(args.epochs),
              "--img-size", str(args.img_size), "--batch-size", str(args.batch_size), "--base", str(args.base),
              "--threads", str(args.threads), "--device", args.device]
    script = str(Path(__file__).resolve())
    if nproc == 1:
        cmd = [sys.executable, script, *common]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
               script, *common]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(ROOT))
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    if res.returncode != 0 or not lines:
        sys.exit(f"the {nproc}-process run failed (status {res.returncode}):\n{res.stderr[-3000:]}")
    return json.loads(lines[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nproc", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=4, help="epochs per run; the first is not counted")
    ap.add_argument("--img-size", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=4, help="per process")
    ap.add_argument("--base", type=int, default=8)
    ap.add_argument("--images", type=int, default=40, help="images of the generated project")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    from segstudio.core.sample import make_sample_project

    with tempfile.TemporaryDirectory() as tmp:
        project = make_sample_project(Path(tmp) / "project", n_images=args.images, seed=0)
        one = measure(args, 1, project, Path(tmp) / "one")
        many = measure(args, args.nproc, project, Path(tmp) / "many")
    print(f"ddp benchmark: unet base {args.base}, {args.img_size} px, batch {args.batch_size} per process, "
          f"{args.threads} thread(s) per process, {args.images} images, {args.epochs - 1} measured epochs, "
          f"device {args.device}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"1 process:  {one['img_s']:.2f} img/s  (epochs: {', '.join(f'{r:.1f}' for r in one['epochs'])})")
    print(f"{args.nproc} processes: {many['img_s']:.2f} img/s  "
          f"(epochs: {', '.join(f'{r:.1f}' for r in many['epochs'])})")
    print(f"ratio={many['img_s'] / one['img_s']:.3f}")


if __name__ == "__main__":
    main()
