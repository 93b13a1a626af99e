"""``segstudio sample DIR``: write the deterministic generated sample project."""
from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("sample", help="write a generated sample project (labelme JSON + images)")
    p.add_argument("dir", type=Path, help="folder to write (created if needed)")
    p.add_argument("-n", "--n-images", type=int, default=24, help="number of images (default 24)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=run)


def run(args) -> int:
    from segstudio.core.sample import make_sample_project

    out = make_sample_project(args.dir, n_images=args.n_images, seed=args.seed)
    print(f"sample project with {args.n_images} images written to {out}")
    return 0
