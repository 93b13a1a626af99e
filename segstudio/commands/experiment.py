"""``segstudio experiment PLAN.yaml``: run (or continue) an experiment plan's queue, then write its report.

Every run of the plan's grid trains in its own ``segstudio train`` process into ``EXP/runs/<id>`` and is scored on
the held-out images; progress goes to stderr, the report's Markdown table to stdout (docs/experiments.md).
Ctrl-C stops the current run cleanly (it saves its checkpoint) and says how to continue; running the same command
again continues where the queue stopped.  Exit status: 0 every run done, 1 some run failed (the others were run),
2 bad input (the plan is checked before anything trains), 130 cancelled.
"""
from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("experiment", help="run an experiment plan (a grid of training runs) and compare the runs",
                       description="Run the queue of an experiment plan (YAML: data, split, train settings, grid "
                                   "over model x loss x augment x seed), score every run on the held-out images and "
                                   "write EXP/report/ (CSV, Markdown, LaTeX, Wilcoxon tests, curves). Running it "
                                   "again continues an interrupted queue.")
    p.add_argument("plan", type=Path, help="the plan file (YAML), or an experiment folder (holding queue.json)")
    p.add_argument("--out", type=Path, help="experiment folder (default: <plan folder>/<plan name>)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="device of the runs (default: the plan's)")
    p.add_argument("--report-only", action="store_true", help="train nothing: write the report of the runs done")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"),
                   help="train nothing: paired per-image Wilcoxon signed-rank test between two runs (or groups)")
    p.add_argument("--metric", default="dice", help="per-image metric of --compare (default dice)")
    p.add_argument("--retry-failed", action="store_true", help="run the failed runs again too")
    p.set_defaults(func=run)


def open_queue(args):
    """The experiment's queue: from the plan (created, or checked against the folder's plan), or the folder."""
    from segstudio.core.experiments.plan import load_plan
    from segstudio.core.experiments.queue import ExperimentQueue

    if args.plan.is_dir() and (args.plan / ExperimentQueue.QUEUE).is_file():
        return ExperimentQueue.open(args.out or args.plan)
    plan = load_plan(args.plan)
    return ExperimentQueue.create(plan, args.out or plan.default_dir())


class ProgressLines:
    """Queue events as lines on stderr."""

    def __init__(self, err=None):
        self.err = err or sys.stderr
        self.position = ""

    def __call__(self, ev) -> None:
        from segstudio.core.experiments import queue as q

        if isinstance(ev, q.RunStarted):
            self.position = f"[{ev.index + 1}/{ev.total}]"
            self.say(f"{self.position} {ev.id}: training")
        elif isinstance(ev, q.RunProgress):
            m = ev.metrics
            self.say(f"{self.position} {ev.id}: epoch {ev.epoch}/{ev.epochs or '?'}  loss {m.get('train_loss', 0):.4f}"
                     f"  val_mIoU {m.get('miou', float('nan')):.4f}  {m.get('seconds', 0):.1f}s")
        elif isinstance(ev, q.RunEvaluating):
            self.say(f"{self.position} {ev.id}: scoring best.pt on {ev.n_images} held-out images")
        elif isinstance(ev, q.RunFinished):
            self.say(f"{self.position} {ev.id}: {ev.status}" + (f"\n{ev.error}" if ev.error else ""))
        elif isinstance(ev, q.QueueFinished):
            self.say(f"queue: {ev.done} done, {ev.failed} failed"
                     + (f", {ev.cancelled} left (cancelled)" if ev.cancelled else ""))

    def say(self, text: str) -> None:
        print(text, file=self.err, flush=True)


def run(args) -> int:
    queue = open_queue(args)
    exp = queue.dir
    if args.compare:
        return compare(exp, *args.compare, args.metric)
    if not args.report_only:
        stop = threading.Event()

        def on_sigint(signum, frame):
            if not stop.is_set():
                print("\ninterrupted: stopping the current run (it saves its checkpoint)...", file=sys.stderr,
                      flush=True)
            stop.set()

        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, on_sigint) if in_main else None
        try:
            finished = queue.run(ProgressLines(), stop.is_set, device=args.device, retry_failed=args.retry_failed)
        finally:
            if in_main:
                signal.signal(signal.SIGINT, previous)
        if stop.is_set():
            again = f"segstudio experiment {args.plan}" + (f" --out {args.out}" if args.out else "")
            print(f"cancelled: {finished.cancelled} run(s) left; continue with `{again}` (an interrupted run "
                  "continues from its checkpoint)", file=sys.stderr, flush=True)
            return 130
    print_report(exp)
    return 1 if any(e.status == "failed" for e in queue.entries) else 0


def print_report(exp: Path) -> None:
    from segstudio.core.experiments.report import write_report

    paths = write_report(exp)
    md = next((Path(p) for p in paths if str(p).endswith(".md")), exp / "report" / "results.md")
    if md.is_file():
        print(md.read_text(encoding="utf-8").rstrip())
    print(f"report: {', '.join(str(p) for p in paths)}", file=sys.stderr, flush=True)


def compare(exp: Path, a: str, b: str, metric: str) -> int:
    from segstudio.core.experiments.results import load_results

    statistic, p_value, n = load_results(exp).wilcoxon(a, b, metric=metric)
    print(f"Wilcoxon signed-rank, {metric} per held-out image, {a} vs {b}: W = {statistic:g}, p = {p_value:.4g}, "
          f"{n} pairs")
    return 0
