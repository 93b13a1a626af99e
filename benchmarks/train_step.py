"""Training throughput of the segstudio engine vs a bare PyTorch loop on the same model, batch and data.

Both loops train the same U-Net (same seed, same initial weights) on the same generated sample project,
through the same dataset pipeline (``build_datasets``: letterbox to --img-size, in-memory cache, "light"
augmentation), batch size and optimizer.  They run alternately, one epoch each, inside one process: the engine
generator is paused after each EpochEnd while the bare loop runs one epoch.  Epoch 1 of each is a warm-up
(decoding/caching, allocator) and is not counted.  Throughput counts the training phase only: the engine's
``EpochEnd.train_seconds`` (from the start of the epoch's loader to the last BatchEnd, i.e. including
event creation, the per-batch loss ``.item()``, cancel/time checks and this script's handling of each
event) against the bare loop's wall time for its epoch.

Prints img/s for both and, as the LAST line, ``ratio=X`` (engine / bare; goal >= 0.95).
First it compares the engine's defaults -- channels_last and ``amp: auto`` (CUDA: bf16/fp16 autocast; CPU:
bf16 autocast where the CPU has native bf16, else float32) -- with float32 contiguous on the same device;
the engine/bare comparison then runs both loops in float32 contiguous.  ``--device cuda`` without a CUDA
GPU says so and runs on the CPU.

    .venv/bin/python benchmarks/train_step.py [--epochs 4] [--img-size 128] [--batch-size 4] [--base 16]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def bare_epoch(model, loss_fn, opt, loader, device) -> tuple[int, float]:
    model.train()
    n = 0
    t = time.perf_counter()
    for batch in loader:
        x = batch["image"].to(device, non_blocking=True)
        y = batch["mask"].to(device, non_blocking=True)
        out = model(x)
        loss = loss_fn(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        n += x.shape[0]
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n, time.perf_counter() - t


def compare_engine_bare(cfg, epochs: int) -> tuple[float, float]:
    from segstudio.core.losses import build_loss
    from segstudio.core.models import build_model
    from segstudio.core.training import EpochEnd, train
    from segstudio.core.training.config import effective_model_kwargs
    from segstudio.core.training.data_setup import build_datasets
    from segstudio.core.training.engine import resolve_device

    device = resolve_device(cfg.device)
    _, train_ds, _, names, in_ch, _ = build_datasets(cfg)
    torch.manual_seed(cfg.seed)
    kwargs = effective_model_kwargs(cfg.model, cfg.model_kwargs)  # what the engine builds
    model = build_model(cfg.model, in_channels=in_ch, num_classes=len(names), **kwargs).to(device)
    loss_fn = build_loss(cfg.loss, len(names)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    loader = torch.utils.data.DataLoader(train_ds, batch_size=cfg.batch_size, shuffle=True, drop_last=True,
                                         num_workers=0, pin_memory=device.type == "cuda")
    eng, bare = [], []
    batches_per_epoch = len(train_ds) // cfg.batch_size
    for ev in train(cfg):
        if isinstance(ev, EpochEnd):
            n_img = batches_per_epoch * cfg.batch_size
            if ev.epoch > 1:
                eng.append(n_img / ev.train_seconds)
            n, dt = bare_epoch(model, loss_fn, opt, loader, device)
            if ev.epoch > 1:
                bare.append(n / dt)
            print(f"  epoch {ev.epoch}: engine {n_img / ev.train_seconds:7.2f} img/s   bare {n / dt:7.2f} img/s",
                  flush=True)
    return statistics.median(eng), statistics.median(bare)


def engine_speed(cfg, epochs: int) -> float:
    from segstudio.core.training import EpochEnd, train

    speeds = []
    for ev in train(cfg):
        if isinstance(ev, EpochEnd) and ev.epoch > 1:
            speeds.append(ev.train_seconds)
    from segstudio.core.training.data_setup import build_datasets

    n_train = len(build_datasets(cfg)[1])
    return (n_train // cfg.batch_size) * cfg.batch_size / statistics.median(speeds)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=8, help="epochs per loop, the first is a warm-up (default 8)")
    ap.add_argument("--img-size", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--base", type=int, default=8, help="U-Net base width (default 8, as TrainConfig)")
    ap.add_argument("--images", type=int, default=40, help="sample project size (default 40)")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: idle cores)")
    args = ap.parse_args(argv)

    from segstudio.core.sample import make_sample_project
    from segstudio.core.threads import set_torch_threads
    from segstudio.core.training import TrainConfig

    set_torch_threads(args.threads)   # None: the idle cores (core/threads.py)
    if args.epochs < 2:
        ap.error("--epochs must be >= 2 (the first one is a warm-up)")
    with tempfile.TemporaryDirectory() as tmp:
        project = make_sample_project(Path(tmp) / "project", n_images=args.images)
        cfg = TrainConfig(data=str(project), out=str(Path(tmp) / "run"), img_size=args.img_size,
                          batch_size=args.batch_size, epochs=args.epochs, model_kwargs={"base": args.base},
                          patience=0, val_fraction=0.2, device=args.device, amp="off", channels_last=False,
                          scheduler="constant", warmup_epochs=0.0)
        print(f"train_step benchmark: unet base {args.base}, {args.img_size} px, batch {args.batch_size}, "
              f"{args.epochs} epochs (1 warm-up), device {args.device}, torch threads {torch.get_num_threads()}, "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
        if args.device == "cuda" and not torch.cuda.is_available():
            print("CUDA is not available on this machine: running on the CPU")
            cfg = cfg.replace(device="cpu")
        from segstudio.core.device import autocast_dtype, dtype_name, resolve_device

        dtype = autocast_dtype("auto", resolve_device(cfg.device))
        fp32 = engine_speed(cfg.replace(out=str(Path(tmp) / "fp32")), args.epochs)
        cl = engine_speed(cfg.replace(out=str(Path(tmp) / "cl"), channels_last=True), args.epochs)
        amp = engine_speed(cfg.replace(out=str(Path(tmp) / "amp"), amp="auto", channels_last=True), args.epochs)
        print(f"engine float32 {fp32:.1f} img/s, channels_last {cl:.1f} img/s ({cl / fp32:.2f}x), "
              f"channels_last + autocast {dtype_name(dtype) or 'off (float32)'} "
              f"{amp:.1f} img/s ({amp / fp32:.2f}x): the defaults (amp auto, channels_last)")
        eng, bare = compare_engine_bare(cfg, args.epochs)
    print(f"engine {eng:.2f} img/s   bare loop {bare:.2f} img/s   (medians over {args.epochs - 1} epochs)")
    print(f"ratio={eng / bare:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
