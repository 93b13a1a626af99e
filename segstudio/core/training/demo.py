"""The headless demo: sample project -> short training -> prediction -> evaluation -> report folder.

``run_demo(out)`` writes::

    OUT/project/            the generated sample project (labelme JSON beside 256x256 images) and the marker
                            file .segstudio-demo; a non-empty project/ without the marker is never overwritten
    OUT/run/                the training run (best.pt, last.pt, metrics.csv, curves.png, config.*, split.json)
    OUT/report/metrics.json       `segstudio evaluate` result on the held-out (validation) images
    OUT/report/metrics.csv        per-epoch training history (copy of the run's)
    OUT/report/curves.png         loss and IoU curves
    OUT/report/predictions/<stem>.png   predicted class masks (palette PNG)
    OUT/report/overlays/<stem>.png      ground truth (left) | prediction (right) drawn over the image
    OUT/report/report.md, report.html   a short summary linking all of the above

Only the validation images are predicted and scored: the scores are held-out scores.
"""
from __future__ import annotations

import html
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from segstudio.core.training.config import TrainConfig, _atomic_write
from segstudio.core.training.run_folder import RunFolder

#: marker file in OUT/project/: the folder is the demo's own sample project and may be overwritten
PROJECT_MARKER = ".segstudio-demo"


@dataclass
class DemoResult:
    out: Path
    report_dir: Path
    run_dir: Path
    metrics: dict           # core.review Evaluation.to_dict(): the `segstudio evaluate` JSON schema
    finished: object        # the training's Finished event (or None)


def demo_config(project: Path, run_dir: Path, minutes: float, seed: int = 0, device: str = "auto") -> TrainConfig:
    """Small and quick: an 8-wide, 3-level U-Net on 96 px images, batch 2, cosine over the time budget
    (about 60 epochs a minute on one free CPU core; lesion and cyst IoU > 0.9 on the held-out images)."""
    return TrainConfig(data=str(project), out=str(run_dir), img_size=96, batch_size=2, epochs=300,
                       model_kwargs={"base": 8, "depth": 3}, lr=5e-3, patience=0, max_minutes=minutes,
                       val_fraction=0.25, seed=seed, device=device, augment="light")


def run_demo(out, *, minutes: float = 1.0, seed: int = 0, device: str = "auto",
             on_event: Optional[Callable] = None, cancel=None) -> DemoResult:
    """Run the whole demo into ``out``; ``on_event`` receives every training event."""
    from segstudio.core.sample import make_sample_project
    from segstudio.core.training.engine import train
    from segstudio.core.training.events import Failed, Finished

    out = Path(out)
    run_dir = out / "run"
    # refuse before writing anything: the user's own project/, run/ or report/ folders are never touched
    _check_project(out / "project")
    _check_own(run_dir, RunFolder.CONFIG)
    _check_own(out / "report", "report.md")
    out.mkdir(parents=True, exist_ok=True)
    project = make_sample_project(out / "project", n_images=24, seed=seed)
    _atomic_write(project / PROJECT_MARKER, "This sample project was written by `segstudio demo`; the next "
                  "demo run in this folder overwrites it.\n")
    _clear_own(run_dir, RunFolder.CONFIG)
    _clear_own(out / "report", "report.md")
    cfg = demo_config(project, run_dir, minutes, seed, device)
    finished = None
    for ev in train(cfg, cancel=cancel):
        if on_event is not None:
            on_event(ev)
        if isinstance(ev, Failed):
            from segstudio.core.errors import SegStudioError

            raise SegStudioError(f"training failed: {ev.message} ({ev.advice})", run_dir)
        if isinstance(ev, Finished):
            finished = ev
    report_dir = out / "report"
    metrics = write_report(run_dir, report_dir, finished, device=device)
    return DemoResult(out, report_dir, run_dir, metrics, finished)


def _check_project(folder: Path) -> None:
    """Refuse a non-empty ``project/`` that the demo did not write (it would overwrite labels.txt, JSONs)."""
    from segstudio.core.errors import ConfigError

    if not folder.exists() and not folder.is_symlink():
        return
    if folder.is_dir() and not folder.is_symlink() and ((folder / PROJECT_MARKER).is_file()
                                                        or not any(folder.iterdir())):
        return
    raise ConfigError(f"exists and is not a sample project written by `segstudio demo` (no {PROJECT_MARKER} "
                      "file): the demo would overwrite its labels.txt and JSON files; choose another --out",
                      folder)


def _check_own(folder: Path, marker: str) -> None:
    """Refuse an output folder the demo did not make (before anything is written)."""
    from segstudio.core.errors import ConfigError

    if not folder.exists():
        return
    if folder.is_dir() and ((folder / marker).is_file() or not any(folder.iterdir())):
        return
    raise ConfigError(f"exists and was not written by `segstudio demo` (no {marker}); choose another --out",
                      folder)


def _clear_own(folder: Path, marker: str) -> None:
    """Remove a previous demo's output folder; refuse to delete a folder the demo did not make."""
    _check_own(folder, marker)
    if folder.exists():
        shutil.rmtree(folder)


def write_report(run_dir: Path, report_dir: Path, finished=None, device: str = "auto") -> dict:
    """Predict the run's validation images with best.pt, evaluate, and write the report folder."""
    from segstudio.core.annotation.masks import write_label_png
    from segstudio.core.annotation.labels import voc_palette
    from segstudio.core.annotation.io import atomic_write_bytes
    from segstudio.core.data import indices_of, load_split, open_dataset
    from segstudio.core.inference import Predictor, overlay
    from segstudio.core.review import evaluate_masks

    run = RunFolder(run_dir)
    cfg = run.read_config()
    predictor = Predictor.from_checkpoint(run.best, device=device)
    base = open_dataset(cfg.data, labels=cfg.labels)
    _, val_names = load_split(run.split_json)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "predictions").mkdir(exist_ok=True)
    (report_dir / "overlays").mkdir(exist_ok=True)
    palette = voc_palette(256)
    triples = []
    for name, i in zip(val_names, indices_of(base, val_names)):
        image, gt = base.load_raw(i)
        pred = predictor.predict(image).label
        stem = Path(name).stem
        write_label_png(report_dir / "predictions" / f"{stem}.png", pred)
        pair = np.concatenate([overlay(image, np.where(gt < 0, 0, gt), palette, 0.5),
                               np.full((image.shape[0], 8, 3), 255, np.uint8),
                               overlay(image, pred, palette, 0.5)], axis=1)
        atomic_write_bytes(report_dir / "overlays" / f"{stem}.png", _png(pair))
        triples.append((stem, pred, gt))
    evaluation = evaluate_masks(triples, predictor.class_names)   # the scores of `segstudio evaluate` and Review
    result = evaluation.to_dict()
    _atomic_write(report_dir / "metrics.json", evaluation.to_json())
    for src in (run.metrics_csv, run.curves_png):
        if src.exists():
            shutil.copyfile(src, report_dir / src.name)
    md, page = _summaries(result, cfg, run_dir, report_dir, finished, [t[0] for t in triples])
    _atomic_write(report_dir / "report.md", md)
    _atomic_write(report_dir / "report.html", page)
    return result


def _png(rgb: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


def _fmt(v) -> str:
    return "-" if v is None or (isinstance(v, float) and v != v) else f"{v:.3f}"


def _summaries(result: dict, cfg: TrainConfig, run_dir: Path, report_dir: Path, finished, stems) -> tuple[str, str]:
    rows = [(n, result["per_class"][n]) for n in result["classes"]]
    how = (f"{finished.epochs_done} epochs, stopped: {finished.reason}, best epoch {finished.best_epoch}"
           if finished is not None else "")
    lines = ["# segstudio demo report", "",
             f"Model `{cfg.model}` {json.dumps(cfg.model_kwargs)} trained on the generated sample project "
             f"({cfg.img_size} px, batch {cfg.batch_size}, {how}).",
             f"Scores on the {result['n_images']} held-out validation images (not used for training), "
             "at their original size:", "",
             "| class | IoU | Dice | precision | recall | HD95 (px) |", "|---|---|---|---|---|---|"]
    for n, pc in rows:
        lines.append(f"| {n} | {_fmt(pc['iou'])} | {_fmt(pc['dice'])} | {_fmt(pc['precision'])} | "
                     f"{_fmt(pc['recall'])} | {_fmt(pc['hd95'])} |")
    m = result["mean"]
    lines += ["", f"mean IoU {_fmt(m['miou'])}, mean Dice {_fmt(m['mdice'])}, pixel accuracy "
              f"{_fmt(result['accuracy'])}", "",
              "Files: `metrics.json` (full evaluation), `metrics.csv` (per epoch), `curves.png`, "
              "`predictions/` (class masks), `overlays/` (ground truth left, prediction right).",
              f"Checkpoints: `{RunFolder(run_dir).best}`.", "", "![curves](curves.png)", ""]
    lines += [f"![{s}](overlays/{s}.png)" for s in stems[:6]]
    md = "\n".join(lines) + "\n"
    esc = html.escape
    table = "".join(f"<tr><td>{esc(n)}</td>" + "".join(f"<td>{_fmt(pc[k])}</td>" for k in
                    ("iou", "dice", "precision", "recall", "hd95")) + "</tr>" for n, pc in rows)
    imgs = "".join(f'<figure><img src="overlays/{esc(s)}.png" width="520"><figcaption>{esc(s)}: ground truth | '
                   f"prediction</figcaption></figure>" for s in stems)
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>segstudio demo report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}td,th{{padding:4px 10px;border-bottom:1px solid #ddd}}
figure{{display:inline-block;margin:6px}}</style></head><body>
<h1>segstudio demo report</h1>
<p>Model <code>{esc(cfg.model)}</code> {esc(json.dumps(cfg.model_kwargs))}, {cfg.img_size} px, {esc(how)}.
Scores on the {result['n_images']} held-out validation images at their original size.</p>
<table><tr><th>class</th><th>IoU</th><th>Dice</th><th>precision</th><th>recall</th><th>HD95 (px)</th></tr>{table}</table>
<p>mean IoU {_fmt(m['miou'])}, mean Dice {_fmt(m['mdice'])}, pixel accuracy {_fmt(result['accuracy'])}.
Full results: <a href="metrics.json">metrics.json</a>, <a href="metrics.csv">metrics.csv</a>.</p>
<img src="curves.png" width="960"><h2>Validation images</h2>{imgs}
</body></html>
"""
    return md, page
