"""Automatic configuration (``segstudio train --config auto``, the default): plan a run from the dataset's
fingerprint, the device and the time budget.

:func:`plan_run` takes a :class:`TrainConfig` plus the set of fields the user set explicitly (those are never
changed, and the plan says so), then

1. fingerprints the data (:mod:`.fingerprint`);
2. derives the input size from the objects: thin structures must stay >= ~2.5 px wide after letterboxing
   (a hard floor), typical objects should span >= 24 px (the size wanted), capped by the images' own size;
3. lists candidate configurations (input size x U-Net width, or a pretrained ResNet-encoder U-Net when
   ImageNet weights are found locally), **measures real training steps** (model, loss, optimizer and the
   augmentation, on the device the run will use) of the cheapest one, predicts the others from it, measures
   the one it picks (stepping down when the measurement says it does not fit), and keeps the most capable
   configuration that still gets :data:`TARGET_STEPS` optimizer steps into the budget;
4. plans the epochs to fill the budget (the cosine schedule follows the time budget, so the run anneals when
   the time is up even if the machine gets slower or faster), turns early stopping off under a budget,
   picks the loss (Dice + CE, unweighted as in nnU-Net), the augmentation (the strong preset with one
   foreground class, the light one with several; vertical flips and large rotations only when the images
   have no up/down) and the learning rate.

The plan (choices, reasons, fingerprint, measurements) is plain data: ``Plan.to_dict()`` is what
``RUN/plan.json`` holds and :attr:`Plan.summary` the line the Training dock shows.  No Qt.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

from segstudio.core.training.config import TrainConfig
from segstudio.core.training.fingerprint import Fingerprint, fingerprint
from segstudio.core.training.plan_measure import Candidate, find_pretrained, measure_step

#: planned when no time budget is given (minutes)
DEFAULT_BUDGET_MIN = 15.0
#: optimizer steps a configuration must fit into the budget to be chosen over a cheaper one
TARGET_STEPS = 1500
#: epochs a configuration must fit into the budget to be chosen over a cheaper one.  Was 30 until measured on
#: BUSI (2026-12-04, BENCHMARKS.md): 192 px base 16 for 38 epochs scored held-out mIoU 0.569 (with class
#: weights), 128 px base 8 for 60 epochs 0.645, and the plan with 100 (160 px base 8, 101 epochs) 0.644 —
#: from scratch, passes over the data matter more than input size or width once objects are resolved.
MIN_EPOCHS = 100
BASES = (8, 16, 32)
#: per-step cost relative to base 8 at the same input size (measured ratios, docs/models.md)
BASE_COST = {8: 1.0, 16: 2.0, 32: 4.6}
PRETRAINED_COST = 2.2
#: a fitting pretrained-encoder candidate is preferred like a from-scratch one this many times as costly
PRETRAINED_PREFERENCE = 4.0
MAX_SIZE = 512
MIN_SIZE = 128
#: fraction of the budget the engine's epochs may use (the rest: caching, validation spread, post-selection)
FILL = 0.92
PLAN_FILE = "plan.json"
#: planned epochs = this x the epochs the measured speed fits into the budget (see the epochs reason)
EPOCH_HEADROOM = 3.0


@dataclass
class Plan:
    config: TrainConfig
    choices: dict                       # field -> {"value", "source": "auto"|"user", "reason"}
    fingerprint: Optional[Fingerprint]
    device: str
    budget_minutes: float
    predicted_epochs: int
    epoch_seconds: float
    measurements: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    planning_seconds: float = 0.0

    @property
    def summary(self) -> str:
        c = self.config
        model = (f"U-Net base {c.model_kwargs['base']}" if "base" in c.model_kwargs and c.model == "unet"
                 else c.model + (f" base {c.model_kwargs['base']}" if "base" in c.model_kwargs else ""))
        why = [self.choices[k]["reason"] for k in ("img_size", "model", "loss") if k in self.choices]
        if c.max_minutes:
            length = f"~{self.predicted_epochs} epochs in {self.budget_minutes:g} min"
        else:   # your epochs, no budget: the run's length is theirs
            minutes = c.epochs * self.epoch_seconds / 60.0
            length = f"{c.epochs} epochs, " + (f"~{minutes:.0f} min" if minutes >= 1 else "under a minute")
        return (f"Auto: {c.img_size} px, {model}, batch {c.batch_size}, {length} on {self.device} — because "
                + "; ".join(why))

    @property
    def precision(self) -> dict:
        """What the steps were measured in and the run trains in: ``{"autocast": "bfloat16" | "float16" |
        None, "channels_last": bool}``."""
        import torch

        from segstudio.core.device import autocast_dtype, dtype_name

        return {"autocast": dtype_name(autocast_dtype(self.config.amp, torch.device(self.device))),
                "channels_last": bool(self.config.channels_last)}

    def to_dict(self) -> dict:
        from segstudio.core.checkpoint import plain

        return _finite({"summary": self.summary, "device": self.device, "precision": self.precision,
                        "budget_minutes": self.budget_minutes,
                        "predicted_epochs": self.predicted_epochs, "epoch_seconds": self.epoch_seconds,
                        "planning_seconds": self.planning_seconds, "choices": plain(self.choices),
                        "notes": list(self.notes), "measurements": plain(self.measurements),
                        "fingerprint": self.fingerprint.to_dict() if self.fingerprint else None,
                        "config": plain(self.config.to_dict())})

    def write(self, run_dir) -> Path:
        import json

        from segstudio.core.annotation.io import atomic_write_text

        path = Path(run_dir) / PLAN_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")
        return path


def _finite(obj):
    """nan / inf -> None (strict JSON)."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _round32(x: float) -> int:
    return int(math.ceil(x / 32.0) * 32)


# ---------------------------------------------------------------------------------------------- sizes
def size_range(fp: Fingerprint) -> tuple[int, int, int, str]:
    """``(floor, wanted, cap, reason)``: the smallest input size that keeps the thinnest structures visible,
    the size wanted for typical objects, and the cap (the images' own longest side, at most 512)."""
    cap = max(64, min(MAX_SIZE, _round32(max(fp.median_hw))))
    thin = [c.rel_width_p10 for c in fp.foreground if c.rel_width_p10 and math.isfinite(c.rel_width_p10)]
    typical = [c.rel_width_median for c in fp.foreground
               if c.rel_width_median and math.isfinite(c.rel_width_median)]
    floor_px = 2.5 / min(thin) if thin else MIN_SIZE
    want_px = max(24.0 / min(typical) if typical else MIN_SIZE, 3.0 / min(thin) if thin else 0)
    floor = min(cap, max(min(MIN_SIZE, cap), _round32(floor_px)))
    want = min(cap, max(floor, _round32(want_px)))
    if thin and min(thin) < 0.02:
        why = (f"thin structures (about {min(thin) * 100:.1f} % of the image side wide) need >= {floor} px to "
               "stay visible")
    elif typical:
        size = "large" if min(typical) >= 0.15 else "compact"
        why = f"objects are {size} (typical width {min(typical) * 100:.0f} % of the image side)"
    else:
        why = "no foreground found in the sample"
    return floor, want, cap, why


def candidates(fp: Fingerprint, device_type: str, n_train: int, pretrained: Optional[dict]) -> list[Candidate]:
    floor, want, cap, _ = size_range(fp)
    top = min(cap, max(want * 2, 256))
    sizes = sorted({s for s in range(floor, top + 1, 32)} | {floor})
    out = []
    for s in sizes:
        if device_type == "cuda":
            batch = 16 if s <= 256 else 8
        else:   # per-image cost hardly depends on the batch on a CPU: small batches give more steps
            batch = 4 if s <= 320 else 2
        batch = max(2, min(batch, max(2, n_train // 4)))
        rel = (s / 128.0) ** 2
        for base in BASES:
            out.append(Candidate(s, "unet", {"base": base}, batch, rel * BASE_COST[base]))
        if pretrained:
            out.append(Candidate(s, "resnet_unet", dict(pretrained), batch, rel * PRETRAINED_COST))
    return sorted(out, key=lambda c: c.cost_units)


# ---------------------------------------------------------------------------------------------- planning
def plan_run(cfg: TrainConfig, explicit: Iterable[str] = (), *, fp: Optional[Fingerprint] = None,
             measure: Optional[Callable[[Candidate], float]] = None, encoder_weights: Optional[str] = None,
             progress: Optional[Callable[[str], None]] = None, cancel: Optional[Callable[[], bool]] = None
             ) -> Optional[Plan]:
    """Plan ``cfg``'s unset settings (see the module doc).  ``explicit``: the TrainConfig fields the user set
    (kept as given).  ``measure(candidate) -> seconds per step`` replaces the real measurement (tests).
    Returns None when cancelled."""
    from segstudio.core.data import open_dataset
    from segstudio.core.device import resolve_device

    t_start = time.monotonic()
    explicit = set(explicit)
    say = progress or (lambda _msg: None)
    device = resolve_device(cfg.device)
    base = open_dataset(cfg.data, labels=cfg.labels)
    if fp is None:
        say("reading the dataset's fingerprint")
        t0 = time.monotonic()
        fp = fingerprint(cfg.data, cfg.labels, dataset=base, cancel=cancel)
        if fp is None:
            return None
        decode_s = (time.monotonic() - t0) / max(fp.n_sampled, 1)
    else:
        decode_s = 0.02
    choices: dict = {}
    notes: list = []
    changes: dict = {}

    def choose(key, value, reason):
        if key in explicit:
            choices[key] = {"value": getattr(cfg, key), "source": "user",
                            "reason": f"set by you (auto would choose {value!r}: {reason})"}
        else:
            changes[key] = value
            choices[key] = {"value": value, "source": "auto", "reason": reason}

    budget = cfg.max_minutes if cfg.max_minutes else DEFAULT_BUDGET_MIN
    if not cfg.max_minutes:
        if "epochs" in explicit:
            notes.append(f"no time budget given: sizes planned as if for {DEFAULT_BUDGET_MIN:g} min, "
                         f"epochs are yours ({cfg.epochs})")
        else:
            choose("max_minutes", DEFAULT_BUDGET_MIN, "no --max-minutes given: the default budget")
    n = fp.n_images
    val_fraction = cfg.val_fraction
    n_val = max(1, round(n * val_fraction)) if not cfg.k_folds else max(1, n // cfg.k_folds)
    n_train = max(1, n - n_val)
    in_channels = cfg.in_channels or fp.channels
    k = len(fp.class_names)

    # loss and class weights
    loss, loss_why = _loss_choice(fp)
    choose("loss", loss, loss_why)
    if "class_weights" in explicit:
        choose("class_weights", None, loss_why)
    # augmentation (before measuring: its cost is part of a step)
    augment, aug_over, aug_why = _augment_choice(fp)
    choose("augment", augment, aug_why)
    choose("augment_overrides", aug_over, aug_why)

    # the model and the input size: measured
    pretrained, pre_note = (None, "")
    if "model" not in explicit:
        pretrained, pre_note = find_pretrained(weights_file=encoder_weights)
        notes.append(pre_note)
    if "model" in explicit or "model_kwargs" in explicit or "img_size" in explicit or "batch_size" in explicit:
        pool = _user_candidates(cfg, explicit, fp, device.type, n_train, pretrained)
    else:
        pool = candidates(fp, device.type, n_train, pretrained)
    floor, want, cap, size_why = size_range(fp)
    aug_for_measure = changes.get("augment", cfg.augment)
    loss_for_measure = changes.get("loss", cfg.loss)

    def real_measure(c: Candidate) -> float:
        return measure_step(c, in_channels, k, loss_for_measure, aug_for_measure, device,
                            augment_overrides=changes.get("augment_overrides", cfg.augment_overrides),
                            amp=cfg.amp, channels_last=cfg.channels_last)

    meas = measure or real_measure
    budget_s = budget * 60.0 - (time.monotonic() - t_start)
    cache_s = n * decode_s * 1.5
    chosen, epoch_s, measurements = _pick(pool, meas, n_train, n_val, budget_s * FILL - cache_s, say, cancel)
    if chosen is None:
        return None
    steps_per_epoch = max(1, n_train // chosen.batch_size)
    epochs_fit = max(1, int((budget_s * FILL - cache_s) / epoch_s))
    got, need = epochs_fit * steps_per_epoch, _steps_needed(steps_per_epoch)
    fit_why = (f"the most capable candidate that fits {need} steps into the budget" if got >= need else
               f"the cheapest candidate, and it gets only ~{got} of the {need} steps wanted")
    size_reason = (f"{size_why}; the images are {fp.median_hw[1]}x{fp.median_hw[0]} (median); {chosen.label} is "
                   f"{fit_why} (measured {chosen.step_s:.2f} s per step of {chosen.batch_size})")
    choose("img_size", chosen.img_size, size_reason)
    model_reason = (pre_note if chosen.model != "unet" else
                    f"U-Net base {chosen.model_kwargs.get('base')} from scratch"
                    + (" (no pretrained encoder found)" if pre_note and not pretrained else ""))
    choose("model", chosen.model, model_reason)
    choose("model_kwargs", chosen.model_kwargs, model_reason)
    mode, mode_why = _resize_choice(fp)
    choose("resize_mode", mode, mode_why)
    choose("batch_size", chosen.batch_size, "CPU: small batches give more optimizer steps per second"
           if device.type == "cpu" else "GPU: large batches use the device")
    if in_channels != (cfg.in_channels or 0):
        choose("in_channels", in_channels, "grayscale images" if in_channels == 1 else "colour images")
    # epochs: fill the budget; the cosine follows the time, so plan with headroom for a faster machine
    predicted = cfg.epochs if "epochs" in explicit else epochs_fit
    # recorded either way: "set by you (auto would choose ...)" when the user gave --epochs
    choose("epochs", max(2, int(math.ceil(epochs_fit * EPOCH_HEADROOM))),
           f"~{epochs_fit} epochs of {epoch_s:.1f} s fill {budget:g} min; planned with {EPOCH_HEADROOM:g}x "
           "headroom so that a machine faster than measured still trains until the budget ends the run (the "
           "cosine schedule anneals by time)")
    choose("patience", 0, "early stopping off: the time budget ends the run and best.pt keeps the best epoch")
    pre = chosen.model != "unet"
    choose("lr", 1e-3 if pre else 2e-3, "pretrained encoder: a gentler peak" if pre else
           "AdamW from scratch, cosine to 1e-5")
    choose("scheduler", "cosine", "anneals to min_lr when the time budget runs out")
    choose("warmup_epochs", float(max(1.0, round(0.03 * predicted, 1))), "about 3 % of the run")
    decay, ema_why = _ema_choice(got, chosen.batch_size)
    choose("ema_decay", decay, ema_why)
    planning = time.monotonic() - t_start
    post_s = n_val * (5 * chosen.step_s / chosen.batch_size / 3.0 + 2 * decode_s)
    total = changes.get("max_minutes", cfg.max_minutes)
    if total:
        # the budget is the whole run: planning, training and choosing the post-processing on validation
        train_min = max(0.1, total - (planning + post_s) / 60.0)
        changes["max_minutes"] = round(train_min, 3)
        choices["max_minutes"] = {"value": changes["max_minutes"],
                                  "source": "user" if "max_minutes" in explicit else "auto",
                                  "reason": f"{total:g} min in all: {planning:.0f} s of planning and ~{post_s:.0f} s "
                                            "of post-processing selection come off the training budget"}
    cfg2 = TrainConfig.from_dict({**cfg.to_dict(), **changes})
    return Plan(config=cfg2, choices=choices, fingerprint=fp, device=device.type, budget_minutes=float(budget),
                predicted_epochs=int(predicted), epoch_seconds=float(epoch_s), measurements=measurements,
                notes=[x for x in notes if x], planning_seconds=float(planning))


def capability(c: Candidate) -> float:
    """How much a candidate is preferred when it fits the budget: its cost (input size x width), and a
    pretrained encoder (ImageNet features) before any width trained from scratch at the same size."""
    return c.cost_units * (PRETRAINED_PREFERENCE if c.model_kwargs.get("encoder_weights") else 1.0)


def _steps_needed(steps_per_epoch: int) -> int:
    return max(TARGET_STEPS, MIN_EPOCHS * steps_per_epoch)


def _epoch_seconds(step_s: float, batch: int, n_train: int, n_val: int) -> float:
    steps = max(1, n_train // batch)
    return steps * step_s + n_val * step_s / batch / 3.0


def _pick(pool: list, measure, n_train: int, n_val: int, budget_s: float, say, cancel):
    """The most capable candidate that fits the steps target, measured; ``(candidate, epoch_s, measurements)``."""
    measurements = []

    def measured(c: Candidate) -> float:
        if c.step_s is None:
            say(f"measuring {c.label}, batch {c.batch_size}")
            c.step_s = float(measure(c))
            measurements.append({"candidate": c.label, "model": c.model, "model_kwargs": dict(c.model_kwargs),
                                 "img_size": c.img_size, "batch_size": c.batch_size, "step_s": c.step_s,
                                 "predicted_step_s": c.predicted_step_s})
        return c.step_s

    def fits(c: Candidate, step_s: float) -> bool:
        steps_per_epoch = max(1, n_train // c.batch_size)
        epochs = budget_s / _epoch_seconds(step_s, c.batch_size, n_train, n_val)
        return epochs * steps_per_epoch >= _steps_needed(steps_per_epoch)

    ref = pool[0]
    ref_s = measured(ref)
    per_unit_image = ref_s / (ref.cost_units * ref.batch_size)
    for c in pool:
        c.predicted_step_s = per_unit_image * c.cost_units * c.batch_size
    order = sorted((c for c in pool if fits(c, c.predicted_step_s)), key=capability, reverse=True)
    chosen = ref
    for c in order[:3]:   # at most three more measurements
        if cancel is not None and cancel():
            return None, 0.0, measurements
        if c is ref or fits(c, measured(c)):
            chosen = c
            break
    else:
        # predictions too optimistic: the most capable measured candidate that fits, else the cheapest
        fitting = [c for c in pool if c.step_s is not None and fits(c, c.step_s)]
        chosen = max(fitting, key=capability) if fitting else ref
    return chosen, _epoch_seconds(chosen.step_s, chosen.batch_size, n_train, n_val), measurements


def _user_candidates(cfg, explicit, fp, device_type, n_train, pretrained) -> list[Candidate]:
    """Candidates restricted by the user's model / model_kwargs / img_size / batch_size."""
    pool = candidates(fp, device_type, n_train, pretrained)
    if "img_size" in explicit:
        sizes = {c.img_size for c in pool}
        s = cfg.img_size
        pool = [Candidate(s, c.model, c.model_kwargs, c.batch_size, c.cost_units * (s / c.img_size) ** 2)
                for c in pool if c.img_size == min(sizes)]
    if "model" in explicit or "model_kwargs" in explicit:
        from segstudio.core.training.config import effective_model_kwargs

        kw = effective_model_kwargs(cfg.model, cfg.model_kwargs)
        if "model_kwargs" not in explicit and "base" in kw:
            seen, out = set(), []
            for c in pool:
                if c.model == "unet" and (c.img_size, c.model_kwargs["base"]) not in seen:
                    seen.add((c.img_size, c.model_kwargs["base"]))
                    out.append(Candidate(c.img_size, cfg.model, {**kw, "base": c.model_kwargs["base"]},
                                         c.batch_size, c.cost_units))
            pool = out
        else:
            seen, out = set(), []
            for c in pool:
                if c.img_size not in seen:
                    seen.add(c.img_size)
                    out.append(Candidate(c.img_size, cfg.model, kw, c.batch_size,
                                         c.cost_units / BASE_COST.get(c.model_kwargs.get("base", 8), 1.0)))
            pool = out
    if "batch_size" in explicit:
        for c in pool:
            c.cost_units *= cfg.batch_size / c.batch_size
            c.batch_size = cfg.batch_size
    return sorted(pool, key=lambda c: c.cost_units)


def _ema_choice(total_steps: int, batch: int) -> tuple[float, str]:
    """The decay of the weights' moving average: it averages over about a tenth of the planned steps (20 to
    2000 steps), so the average follows the end of the run and smooths its last epochs' noise."""
    window = min(2000, max(20, total_steps // 10))
    decay = round(1.0 - 1.0 / window, 4)
    return decay, (f"validate and save the average of the weights over the last ~{window} of ~{total_steps} steps "
                   f"(EMA, decay {decay}): with batches of {batch} the raw weights' validation score jumps from "
                   "epoch to epoch; the average is steadier")


def _loss_choice(fp: Fingerprint) -> tuple[str, str]:
    """Dice + CE without class weights, as nnU-Net: the Dice term already balances the classes.  Class-weighted
    CE (square-root median-frequency weights) was the rule for rare classes until it was measured on BUSI
    (2026-12-04, BENCHMARKS.md): the same 60-epoch run with weights [0.26, 1.08, 1.0] scored held-out mIoU
    0.585 against 0.645 without (val 0.665 vs 0.692).  ``--set class_weights=[...]`` still sets them."""
    fg = fp.foreground
    rare = [c.name for c in fg if c.pixel_frequency < 0.05 or (len(fg) > 1 and c.image_frequency <
                                                               0.5 * max(x.image_frequency for x in fg))]
    share = (f"foreground {100 * (1 - fp.classes[0].pixel_frequency):.0f} % of the pixels" if not rare else
             f"{', '.join(rare)} rare: {', '.join(f'{100 * c.pixel_frequency:.1f} %' for c in fg)} of the pixels")
    return "dice_ce", (f"Dice + cross-entropy: Dice for the class imbalance ({share}; unweighted: "
                       "class-weighted CE scored lower on BUSI)")


def _augment_choice(fp: Fingerprint) -> tuple[str, dict, str]:
    """The strong preset (rotations to 40°, shift / scale / shear, elastic, intensity, blur, noise) when there is
    one foreground class, the light one when several must be told apart (nnU-Net augments heavily by default).
    Measured (2026-12-04, BENCHMARKS.md, held-out, auto plans): PH2 lesion IoU, seeds 0 / 1, light 0.832 / 0.874,
    strong 0.865 / 0.866 (a little better on average and steadier; within the seeds' spread); DRIVE vessel
    Dice 0.815 both.  On BUSI (benign / malignant) stronger augmentation found the lesions better and told their
    class worse: lesion IoU 0.578 light -> 0.609 strong -> 0.641 strong without blur/noise/elastic, mIoU 0.672 ->
    0.642 -> 0.623.
    Vertical flips only when the images have no up/down, rotations within 15° when they have one (ultrasound)."""
    oriented = fp.vertical_asymmetry > 0.8
    if oriented:
        over = {"vflip_p": 0.0, "rotate_deg": 15.0}
        how = (f"top and bottom of the images differ (asymmetry {fp.vertical_asymmetry:.2f}): no vertical flips, "
               "rotations within 15°")
    else:
        over = {"vflip_p": 0.5}
        how = f"no up/down in the images (asymmetry {fp.vertical_asymmetry:.2f}): vertical flips too"
    if len(fp.foreground) <= 1:
        return "strong", over, ("strong preset (flips, rotation, shift/scale/shear, elastic, intensity, blur, "
                                "noise): one foreground class (PH2 held-out lesion IoU over two seeds 0.853 light, "
                                f"0.866 strong, and steadier); {how}")
    return "light", over, ("light preset (flips, small affine, brightness/contrast): several foreground classes "
                           "to tell apart (stronger augmentation told BUSI's benign from malignant worse); "
                           f"{how}")


def plan_for_cli(cfg: TrainConfig, explicit: Iterable[str], encoder_weights=None, *, quiet: bool = False,
                 out=None, err=None) -> TrainConfig:
    """``segstudio train --config auto``: plan, write ``RUN/plan.json``, print the summary; the planned config."""
    import sys

    out, err = out or sys.stdout, err or sys.stderr

    def say(msg: str) -> None:
        if not quiet:
            print(f"plan: {msg}", file=err, flush=True)

    plan = plan_run(cfg, explicit, encoder_weights=str(encoder_weights) if encoder_weights else None,
                    progress=say)
    path = plan.write(cfg.out)
    print(plan.summary, file=out, flush=True)
    for note in plan.notes:
        print(f"note: {note}", file=err, flush=True)
    users = [k for k, v in plan.choices.items() if v["source"] == "user" and k != "max_minutes"]
    if users:
        print(f"plan: kept your {', '.join(users)}", file=err, flush=True)
    say(f"written to {path}")
    return plan.config


def _resize_choice(fp: Fingerprint) -> tuple[str, str]:
    """Stretch ("resize") when every image has about the same aspect ratio (no padding wasted, objects get
    more pixels, distorted the same way everywhere); letterbox when the aspect ratios vary."""
    spread = fp.aspect_p90 / max(fp.aspect_p10, 1e-6)
    if spread < 1.1 and abs(math.log(max(fp.aspect_median, 1e-6))) > math.log(1.1):
        return "resize", (f"all images are about {fp.aspect_median:.2f}:1: stretching to a square wastes no "
                          f"pixels on padding ({100 * (1 - 1 / max(fp.aspect_median, 1 / fp.aspect_median)):.0f} % "
                          "of a letterboxed input)")
    return "letterbox", (f"aspect ratios {fp.aspect_p10:.2f}-{fp.aspect_p90:.2f}:1: letterboxing keeps shapes"
                         if spread >= 1.1 else "square images")


def planned_events(cfg: TrainConfig, explicit: Iterable[str], engine, *, cancel=None, plan: Optional[Plan] = None):
    """Training events of an automatically configured run (the GUI's Train with Auto configuration).

    Plans first unless ``plan`` is given (a plan made for these settings, e.g. the one shown before Start),
    writes ``RUN/plan.json``, says the plan in a ``Log`` event, then yields ``engine(planned config)``'s events
    with the post-processing chosen on the validation split before its ``Finished``
    (:func:`with_postprocessing`).  Runs on the caller's (worker) thread."""
    from segstudio.core.training.events import Finished, Log

    stop = cancel if callable(cancel) else (cancel.is_set if cancel is not None else (lambda: False))
    if plan is None:
        yield Log("planning the run from the data (fingerprint, a few measured training steps)")
        plan = plan_run(cfg, explicit, cancel=stop)
        if plan is None:
            yield Finished(best_miou=float("nan"), run_dir=cfg.out, reason="cancelled")
            return
    plan.config = plan.config.replace(out=cfg.out)
    plan.write(cfg.out)
    yield Log(plan.summary)
    for note in plan.notes:
        yield Log(note, "warning" if "from scratch" in note else "info")
    yield from with_postprocessing(engine(plan.config, cancel=cancel), plan.config.out)


def with_postprocessing(events, run_dir, device="auto"):
    """Pass a training event stream through; before its ``Finished`` (not cancelled) choose the post-processing
    for ``run_dir/best.pt`` on the validation split and say what was chosen in a ``Log`` event (the stream
    still ends with its ``Finished``).  Used by the GUI's automatic configuration."""
    from segstudio.core.inference.postprocess import describe, select_postprocessing
    from segstudio.core.training.events import Finished, Log

    for ev in events:
        if isinstance(ev, Finished) and ev.reason != "cancelled" and (Path(run_dir) / "best.pt").is_file():
            try:
                spec = select_postprocessing(Path(run_dir) / "best.pt", device=device)
            except Exception as exc:  # noqa: BLE001 - the run itself succeeded: say why, keep it
                yield Log(f"post-processing not chosen: {exc}", "warning")
            else:
                if spec is not None:
                    yield Log(describe(spec))
        yield ev
