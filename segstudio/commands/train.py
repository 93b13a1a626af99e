"""``segstudio train``: train a segmentation model on a dataset folder, headless.

Prints a progress bar within each epoch (stderr) and one line per epoch (stdout): losses, val mIoU,
per-class IoU and the epoch time.  Writes the run folder (:class:`~segstudio.core.training.RunFolder`): --out,
else a new ``<runs>/YYYYmmdd-HHMMSS-<model>`` as the app names runs.  Exit status: 0 finished (completed, early
stop, time budget), 1 failed (e.g. CUDA out of memory), 2 bad input, 130 cancelled with Ctrl-C (the run can be
continued with --resume).

Under torchrun (``torchrun --nproc-per-node N -m segstudio train ...``) each process trains its share and rank 0
prints and writes (docs/training.md, "Distributed training"); ``--nproc N`` runs torchrun itself.
"""
from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

#: flag -> TrainConfig field, for flags that override a --config file / resumed checkpoint only when given
FLAG_FIELDS = {"data": "data", "labels": "labels", "out": "out", "model": "model", "epochs": "epochs",
               "batch_size": "batch_size", "img_size": "img_size", "loss": "loss", "lr": "lr",
               "device": "device", "max_minutes": "max_minutes", "val_fraction": "val_fraction",
               "seed": "seed", "workers": "num_workers", "augment": "augment", "patience": "patience",
               "freeze_epochs": "freeze_epochs", "optimizer": "optimizer", "scheduler": "scheduler",
               "k_folds": "k_folds", "fold": "fold", "threads": "threads"}


def register(sub) -> None:
    from segstudio.core.training.config import TrainConfig

    d = TrainConfig()
    p = sub.add_parser("train", help="train a segmentation model into a run folder",
                       description="Train a U-Net-family model. Flags override --config (JSON/YAML) values; "
                                   "with --resume and no --config the checkpoint's own settings are reused.")
    p.add_argument("--data", help="labelme folder, images/+masks/ folder (classes.txt) or VOC folder")
    p.add_argument("--labels", help="labels.txt (default: the one in the data folder)")
    p.add_argument("--out", help="run folder to write (default: a new RUNS/YYYYmmdd-HHMMSS-MODEL folder)")
    p.add_argument("--runs", type=Path, help="where a run without --out goes (default: DATA/runs when DATA is a "
                                            "project the app opens, i.e. holds labelme JSON, else ./runs)")
    p.add_argument("--model", help=f"model name (default {d.model}; see `segstudio models`)")
    p.add_argument("--epochs", type=int, help=f"number of epochs (default {d.epochs})")
    p.add_argument("--batch-size", type=int, help=f"batch size (default {d.batch_size})")
    p.add_argument("--img-size", type=int, help=f"training image size, multiple of 32 (default {d.img_size})")
    p.add_argument("--loss", help=f"loss name (default {d.loss})")
    p.add_argument("--lr", type=float, help=f"peak learning rate (default {d.lr})")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="auto (default), cpu or cuda")
    p.add_argument("--max-minutes", type=float, help="time budget: stop cleanly once exceeded (default none)")
    p.add_argument("--config", default="auto", metavar="auto|defaults|FILE",
                   help="auto (default): plan the settings you do not give from the dataset's fingerprint, the "
                        "device and the time budget (measures a few training steps; writes RUN/plan.json); "
                        "defaults: the built-in defaults; FILE: a TrainConfig as .json or .yaml (e.g. a run's "
                        "config.yaml). Flags always win")
    p.add_argument("--encoder-weights", type=Path, metavar="FILE",
                   help="ImageNet weights of a ResNet encoder (torchvision .pth) for --config auto or a model "
                        "with an encoder (default: the torch hub cache when present; never downloaded)")
    p.add_argument("--resume", type=Path, help="continue a run: its folder (from its last.pt), or a last.pt or "
                                              "epoch_NNN.pt")
    p.add_argument("--val-fraction", type=float, help=f"held-out fraction (default {d.val_fraction} = 9:1)")
    p.add_argument("--k-folds", type=int, help="k-fold cross-validation: split into K stratified folds "
                                                "(replaces --val-fraction)")
    p.add_argument("--fold", type=int, help="with --k-folds: the fold (0..K-1) used for validation (default 0)")
    p.add_argument("--seed", type=int, help=f"random seed (default {d.seed})")
    p.add_argument("--workers", type=int, help="DataLoader worker processes (default 0)")
    p.add_argument("--augment", help=f"augmentation preset none|light|strong (default {d.augment})")
    p.add_argument("--patience", type=int, help=f"early-stopping patience in epochs, 0 = off (default {d.patience})")
    p.add_argument("--freeze-epochs", type=int, help="epochs with the pretrained encoder frozen (default 0)")
    p.add_argument("--optimizer", help=f"adam | adamw | sgd (default {d.optimizer})")
    p.add_argument("--scheduler", help=f"cosine | step | plateau | constant (default {d.scheduler})")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any other TrainConfig setting, VALUE in YAML syntax; repeatable "
                        "(e.g. --set 'model_kwargs={base: 16}' --set freeze_epochs=3)")
    p.add_argument("--threads", type=int,
                   help="torch CPU threads (default: the count recorded by --config / --resume, else the cores "
                        "idle at start (measured over 0.4 s), at least 1; oversubscribed cores "
                        "make PyTorch several times slower). Results on the CPU can depend on it")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, epoch lines only")
    p.add_argument("--nproc", type=int, metavar="N",
                   help="train in N processes on this machine (DistributedDataParallel; one per GPU, or CPU "
                        "processes with gloo): runs torchrun with these arguments; --batch-size is per process. "
                        "Several machines: run `torchrun ... -m segstudio train ...` (docs/training.md)")
    p.set_defaults(func=run, train_parser=p)


def build_config(args):
    """TrainConfig from --config / --resume's checkpoint and the flags given."""
    import yaml

    from segstudio.core.errors import ConfigError
    from segstudio.core.training import RunFolder, TrainConfig, resume_point

    point = resume_point(args.resume) if args.resume is not None else None
    config_file = config_path(args)
    if config_file is not None:
        cfg = TrainConfig.from_file(config_file)
    elif point is not None:
        cfg = point.config          # the checkpoint's settings, out = its run folder
    else:
        cfg = TrainConfig()
    changes = {field: getattr(args, flag) for flag, field in FLAG_FIELDS.items() if getattr(args, flag) is not None}
    if point is not None:
        changes["resume"] = str(point.checkpoint)
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        try:
            changes[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {key.strip()}: value is not valid YAML ({exc})") from None
    cfg = TrainConfig.from_dict({**cfg.to_dict(), **changes})
    if not cfg.data:
        raise ConfigError("--data: no dataset folder given")
    if not cfg.out:
        from segstudio.core.training.run_folder import default_runs_dir

        runs = args.runs if args.runs is not None else default_runs_dir(cfg.data)
        cfg = cfg.replace(out=str(RunFolder.new(runs, cfg.model).path))
    return cfg.validate(config_file)


def config_path(args):
    """The --config file, or None for ``auto`` / ``defaults`` (and when the argument is absent)."""
    value = getattr(args, "config", None)
    if value is None or str(value) in ("auto", "defaults"):
        return None
    return Path(value)


def planning_wanted(args) -> bool:
    """--config auto (the default) plans a new run; a resumed run keeps its settings."""
    return str(getattr(args, "config", "auto") or "auto") == "auto" and getattr(args, "resume", None) is None


def explicit_fields(args) -> set:
    """The TrainConfig fields the command line sets (flags and --set keys): the plan leaves them alone."""
    out = {field for flag, field in FLAG_FIELDS.items() if getattr(args, flag, None) is not None}
    out |= {item.partition("=")[0].strip() for item in getattr(args, "set", []) if "=" in item}
    return out - {"data", "labels", "out"}


def format_epoch(ev, epochs: int) -> str:
    m = ev.metrics
    per = " ".join(f"{k}={v:.3f}" for k, v in m.get("iou", {}).items() if k != "_background_")
    star = " *" if ev.best else ""
    return (f"epoch {ev.epoch:>3}/{epochs}  loss {ev.train_loss:.4f}  val_loss {ev.val_loss:.4f}  "
            f"val_mIoU {m.get('miou', float('nan')):.4f}  IoU {per}  lr {ev.lr:.2e}  {ev.seconds:.1f}s{star}")


class EventPrinter:
    """Turns engine events into the CLI's output; ``failed`` is set by a Failed event."""

    def __init__(self, cfg, quiet: bool = False, out=None, err=None):
        self.cfg, self.quiet = cfg, quiet
        self.out, self.err = out or sys.stdout, err or sys.stderr
        self.bar = None
        self.failed = False
        self.finished = None

    def __call__(self, ev) -> None:
        from segstudio.core.progress import ProgressPrinter
        from segstudio.core.training import BatchEnd, EpochEnd, Failed, Finished, Log, Started

        cfg = self.cfg
        if isinstance(ev, Started):
            fold = f" fold {cfg.fold}/{cfg.k_folds}" if getattr(cfg, "k_folds", None) else ""
            threads = f" ({ev.threads} threads)" if getattr(ev, "threads", 0) and ev.device == "cpu" else ""
            print(f"training {cfg.model} on {ev.n_train} images (val {ev.n_val}{fold}), classes "
                  f"{', '.join(ev.class_names[1:])}, device {ev.device}{threads}, img {cfg.img_size}, batch "
                  f"{cfg.batch_size}, run folder {ev.run_dir}", file=self.out, flush=True)
            self.bar = ProgressPrinter(f"epoch {ev.start_epoch}", stream=self.err)
        elif isinstance(ev, BatchEnd):
            if not self.quiet:
                if self.bar is None:
                    self.bar = ProgressPrinter(f"epoch {ev.epoch}", stream=self.err)
                self.bar(ev.batch, ev.n_batches, f"loss {ev.loss:.4f} {ev.images_per_s:.1f} img/s")
        elif isinstance(ev, EpochEnd):
            print(format_epoch(ev, cfg.epochs), file=self.out, flush=True)
            self.bar = ProgressPrinter(f"epoch {ev.epoch + 1}", stream=self.err)
        elif isinstance(ev, Log):
            print(f"{ev.level}: {ev.message}", file=self.err, flush=True)
        elif isinstance(ev, Finished):
            self.finished = ev
            print(f"finished ({ev.reason}) after {ev.epochs_done} epochs: best val mIoU {ev.best_miou:.4f} "
                  f"(epoch {ev.best_epoch}); checkpoints in {ev.run_dir}", file=self.out, flush=True)
        elif isinstance(ev, Failed):
            self.failed = True
            print(f"error: {ev.message}" + (f"\nadvice: {ev.advice}" if ev.advice else ""), file=self.err,
                  flush=True)


def run(args) -> int:
    from segstudio.core.device import resolve_device
    from segstudio.core.training import distributed

    if getattr(args, "nproc", None) and not distributed.launched_by_torchrun():
        return launch(args)
    cfg = build_config(args)
    dist = distributed.setup(resolve_device(cfg.device))   # torchrun's process group; alone: no-op
    try:
        rc = train_here(args, cfg, dist)
    except Exception as exc:  # noqa: BLE001 - a lost peer is said clearly, the rest propagates
        if not (dist.enabled and distributed.is_comm_error(exc)):
            raise
        print(f"error: {distributed.lost_peer_message(dist, cfg.out, exc)}", file=sys.stderr, flush=True)
        rc = 1
    finally:
        dist.close()
    if dist.enabled:   # a process of a torchrun run: leave without finalising (see end_process)
        distributed.end_process(rc)
    return rc


def launch(args) -> int:
    """``--nproc N``: these arguments (the run folder fixed) in N processes under torchrun."""
    from segstudio.core.training import distributed
    from segstudio.version import self_command

    if args.nproc < 1:
        from segstudio.core.errors import ConfigError

        raise ConfigError(f"--nproc: must be >= 1 (got {args.nproc})")
    cfg = build_config(args)
    from segstudio.core.device import resolve_device

    if resolve_device(cfg.device).type == "cuda":
        distributed.check_gpus(args.nproc)
    command = ["train", *forwarded_args(args)] + (["--out", cfg.out] if args.out is None else [])
    print(f"starting {args.nproc} training processes (torchrun), run folder {cfg.out}", file=sys.stderr, flush=True)
    try:
        failures = distributed.launch_torchrun(args.nproc, self_command(*command))
    except KeyboardInterrupt:
        failures = {0: (130, 0)}
    if not failures:
        return 0
    rc, message = distributed.failure_report(failures, args.nproc, cfg.out)
    if message:
        print(f"error: {message}" if rc != 130 else message, file=sys.stderr, flush=True)
    return rc


def forwarded_args(args) -> list:
    """The command line of ``args`` (flags given, without --nproc) for the processes torchrun starts."""
    out = []
    for action in args.train_parser._actions:
        value = getattr(args, action.dest, None)
        if not action.option_strings or action.dest in ("help", "nproc") or value == action.default:
            continue
        flag = max(action.option_strings, key=len)
        if action.nargs == 0:
            out.append(flag)
        else:
            out += [x for v in (value if isinstance(value, list) else [value]) for x in (flag, str(v))]
    return out


def train_here(args, cfg, dist) -> int:
    """Train in this process (alone, or as one process of a torchrun run: rank 0 prints and writes)."""
    from segstudio.core.threads import default_threads, set_torch_threads
    from segstudio.core.training import RunFolder, train
    from segstudio.core.training.distributed import local_world_size
    from segstudio.core.training.events import Failed, Finished

    cfg = cfg.replace(out=dist.broadcast(cfg.out))   # the processes' run folder is rank 0's
    if cfg.threads is None:  # else the engine sets cfg.threads (--threads, or recorded by a previous run)
        set_torch_threads(max(1, default_threads() // local_world_size()))   # idle cores, shared (core/threads.py)
    if planning_wanted(args):
        from segstudio.core.training.planner import plan_for_cli

        cfg = dist.broadcast(plan_for_cli(cfg, explicit_fields(args), args.encoder_weights, quiet=args.quiet)
                             if dist.is_main else cfg)
    elif args.encoder_weights is not None and "encoder_weights" not in cfg.model_kwargs:
        cfg = cfg.replace(model_kwargs={**cfg.model_kwargs, "encoder_weights": str(args.encoder_weights)})
    stop = threading.Event()

    def on_sigint(signum, frame):  # first Ctrl-C: stop cleanly between batches; second: abort
        if stop.is_set():
            if dist.enabled:   # torchrun repeats the signal to its processes; it kills them if they hang
                return
            raise KeyboardInterrupt
        if dist.is_main:
            print(f"\ninterrupted: stopping after this batch and saving {RunFolder.LAST}"
                  + ("" if dist.enabled else " (Ctrl-C again to abort)"), file=sys.stderr)
        stop.set()

    in_main = threading.current_thread() is threading.main_thread()
    signals = (signal.SIGINT, signal.SIGTERM) if dist.enabled else (signal.SIGINT,)
    previous = {s: signal.signal(s, on_sigint) for s in signals} if in_main else {}
    show = EventPrinter(cfg, quiet=args.quiet) if dist.is_main else (lambda ev: None)
    last = None
    # the engine reports missing encoder weights as a Log event (printed as `warning: ...`); without a handler
    # Python's last-resort handler would print the same logger record to stderr a second time
    models_log, quiet_handler = logging.getLogger("segstudio.models"), logging.NullHandler()
    models_log.addHandler(quiet_handler)
    try:
        for ev in train(cfg, cancel=stop):
            show(ev)
            last = ev
    finally:
        models_log.removeHandler(quiet_handler)
        for s, handler in previous.items():
            signal.signal(s, handler)
    if isinstance(last, Failed):
        return 1
    if stop.is_set() or (isinstance(last, Finished) and last.reason == "cancelled"):
        return 130
    if planning_wanted(args) and dist.is_main:
        from segstudio.core.inference.postprocess import choose_for_run

        choose_for_run(cfg.out, quiet=args.quiet)
    return 0
