"""``segstudio demo``: sample project -> ~1 minute of CPU training -> predict -> evaluate -> report folder."""
from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("demo", help="train on the generated sample project and write a report (headless)",
                       description="Makes the sample project, trains a small U-Net for about --minutes, predicts "
                                   "the held-out images, evaluates them and writes OUT/report/ (report.html, "
                                   "report.md, metrics.json, metrics.csv, curves.png, overlays/, predictions/).")
    p.add_argument("--out", type=Path, default=Path("segstudio-demo"), help="output folder (default ./segstudio-demo)")
    p.add_argument("--minutes", type=float, default=1.0, help="training time budget (default 1)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto (default), cpu or cuda")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, epoch lines only")
    p.set_defaults(func=run)


def run(args) -> int:
    import threading

    from segstudio.commands.train import EventPrinter
    from segstudio.core.errors import ConfigError
    from segstudio.core.threads import set_torch_threads
    from segstudio.core.training.demo import demo_config, run_demo

    if args.minutes <= 0:
        raise ConfigError(f"--minutes must be > 0 (got {args.minutes})")
    set_torch_threads()   # the idle cores (core/threads.py)
    show = EventPrinter(demo_config(args.out / "project", args.out / "run", args.minutes), quiet=args.quiet)
    print(f"segstudio demo: sample project in {args.out / 'project'}, training for about {args.minutes:g} min")
    result = run_demo(args.out, minutes=args.minutes, seed=args.seed, device=args.device, on_event=show,
                      cancel=threading.Event())
    pc = result.metrics["per_class"]
    scores = ", ".join(f"{n} IoU {pc[n]['iou']:.3f}" for n in result.metrics["classes"][1:])
    print(f"held-out scores ({result.metrics['n_images']} images): {scores}, "
          f"mean IoU {result.metrics['mean']['miou']:.3f}")
    print(f"report: {(result.report_dir / 'report.html').resolve()}")
    return 0
