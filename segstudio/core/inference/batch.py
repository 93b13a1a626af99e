"""Predict images and write the results: a folder (``segstudio predict``) or a list (the Review dock, through
``core.review.predict_entries``).

Output layout (``out_dir``)::

    <stem>.png                 class mask: palette PNG, pixel value = class id (VOC colours), like labelme
    overlays/<stem>.png        with overlay=True: the image with the classes drawn on it (fill or contour)
    probs/<stem>.npy           with probs="npy": float16 array K x H x W of class probabilities
    probs/<stem>_c<k>.png      with probs="png16": one 16-bit grayscale PNG per class k, value = p * 65535

Every file is written atomically.  An image that cannot be read is reported (path, reason) and skipped;
the others are still predicted.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from segstudio.core.data.datasets import list_images
from segstudio.core.errors import Cancelled, ConfigError, DatasetError, SegStudioError
from segstudio.core.progress import check_cancel

PROB_FORMATS = ("npy", "png16")


@dataclass
class PredictReport:
    """``n_ok`` images predicted (``predicted``: their stems), ``failures`` [(path, reason)], ``out`` folder,
    ``written`` files."""

    n_ok: int = 0
    failures: List[Tuple[str, str]] = field(default_factory=list)
    out: Optional[Path] = None
    written: List[Path] = field(default_factory=list)
    predicted: List[str] = field(default_factory=list)


def _png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def write_probs(out_dir: Path, stem: str, probs: np.ndarray, fmt: str = "npy") -> List[Path]:
    """Write K x H x W probabilities as ``probs/<stem>.npy`` (float16) or ``probs/<stem>_c<k>.png`` (16-bit)."""
    from segstudio.core.annotation.io import atomic_write_bytes

    folder = Path(out_dir) / "probs"
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "npy":
        buf = io.BytesIO()
        np.save(buf, probs.astype(np.float16))
        path = folder / f"{stem}.npy"
        atomic_write_bytes(path, buf.getvalue())
        return [path]
    if fmt == "png16":
        paths = []
        for k, p in enumerate(probs):
            path = folder / f"{stem}_c{k}.png"
            atomic_write_bytes(path, _png_bytes(np.rint(np.clip(p, 0, 1) * 65535).astype(np.uint16)))
            paths.append(path)
        return paths
    raise ConfigError(f"unknown probability format {fmt!r}; known: {', '.join(PROB_FORMATS)}")


def plan_outputs(images_dir: Path, out_dir: Path) -> List[Path]:
    """The images to predict; refuses layouts where an output would overwrite an input image.
    A DICOM / NIfTI volume counts as one image per slice, each named by its slice JSON path (``scan_z012``)."""
    images = list_images(images_dir)
    if not images_dir.is_dir():
        raise DatasetError("image folder not found", images_dir)
    images += [e.image_path if e.slice is None else e.json_path for e in medical_slices(images_dir)]
    if not images:
        raise DatasetError("no images found (png, jpg, bmp, tif, webp, gif, dcm, nii, nii.gz)", images_dir)
    stems = {}
    for p in images:
        stems.setdefault(p.stem, []).append(p.name)
    dup = {s: n for s, n in stems.items() if len(n) > 1}
    if dup:
        detail = "; ".join(", ".join(n) for n in list(dup.values())[:3])
        raise DatasetError(f"several images share a name, their predictions would collide: {detail}", images_dir)
    inputs = {p.resolve() for p in images}
    clash = [p.name for p in images if (out_dir / f"{p.stem}.png").resolve() in inputs]
    if clash:
        raise ConfigError(f"writing predictions to {out_dir} would overwrite input image(s) "
                          f"{', '.join(clash[:3])}: choose another --out folder", out_dir)
    ours = written_before(out_dir)
    theirs = [f"{p.stem}.png" for p in images if (out_dir / f"{p.stem}.png").exists() and p.stem not in ours]
    if theirs:
        raise ConfigError(f"{out_dir} already holds {', '.join(theirs[:3])}{' ...' if len(theirs) > 3 else ''} "
                          f"({len(theirs)} file(s)) that segstudio predict did not write (ground-truth masks?): "
                          "refused, nothing was overwritten; choose another --out folder", out_dir)
    return images


#: the stems ``predict_images`` wrote into a folder: their masks may be replaced by a later prediction
MANIFEST = ".segstudio-predictions.json"


def written_before(out_dir: Path) -> set:
    """Stems of the masks segstudio predicted into ``out_dir`` before (its manifest; empty when none)."""
    import json

    try:
        data = json.loads((Path(out_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {str(s) for s in data.get("stems", [])} if isinstance(data, dict) else set()


def _record_written(out_dir: Path, stems) -> None:
    import json

    from segstudio.core.annotation.io import atomic_write_text

    known = written_before(out_dir) | set(stems)
    atomic_write_text(out_dir / MANIFEST, json.dumps({"stems": sorted(known)}) + "\n")


def predict_folder(predictor, images_dir, out_dir, *, overlay: bool = False, probs=False,
                   overlay_mode: str = "fill", alpha: float = 0.5,
                   progress: Optional[Callable[[int, int, str], None]] = None,
                   cancel: Optional[Callable[[], bool]] = None) -> PredictReport:
    """Predict each image directly in ``images_dir`` (sorted) into ``out_dir`` (layout in the module doc);
    the options are :func:`predict_images`'."""
    images_dir, out_dir = Path(images_dir), Path(out_dir)
    images = plan_outputs(images_dir, out_dir)
    slices = {e.json_path: e for e in medical_slices(images_dir) if e.slice is not None}
    load = None
    if slices:  # a volume's slice: read from the volume (its JSON path only names the output)
        from segstudio.core.annotation.io import load_image

        def load(path):
            entry = slices.get(Path(path))
            return load_image(path) if entry is None else load_image(entry.image_path, slice=entry.slice)
    return predict_images(predictor, images, out_dir, overlay=overlay, probs=probs, overlay_mode=overlay_mode,
                          alpha=alpha, progress=progress, cancel=cancel, load=load)


def medical_slices(images_dir: Path) -> list:
    """Project entries of the DICOM / NIfTI files directly in ``images_dir`` (core/medical), sorted."""
    from segstudio.core.medical.formats import is_medical_path, medical_entries

    files = sorted(p for p in images_dir.iterdir() if p.is_file() and is_medical_path(p)
                   and not p.name.startswith(".")) if images_dir.is_dir() else []
    return [e for p in files for e in medical_entries(p)]


def predict_images(predictor, images: Sequence, out_dir, *, overlay: bool = False, probs=False,
                   overlay_mode: str = "fill", alpha: float = 0.5,
                   progress: Optional[Callable[[int, int, str], None]] = None,
                   cancel: Optional[Callable[[], bool]] = None, stems: Optional[Sequence[str]] = None,
                   load: Optional[Callable[[Path], np.ndarray]] = None,
                   report: Optional[PredictReport] = None) -> PredictReport:
    """Predict ``images`` (paths) into ``out_dir``/<stem>.png (layout in the module doc); ``stems``: the
    output names (default: each image's file stem); ``load(path)``: the image (default ``load_image``).

    ``probs``: False, True/"npy" or "png16".  ``progress(done, total, name)`` after each image;
    ``cancel()`` is checked before each image (and between tiles) and raises :class:`Cancelled`.  An image
    that cannot be read or predicted is reported in ``failures`` and skipped.  ``report`` is filled in place
    when given, so that the caller knows what was written should Cancelled end the loop.
    """
    from segstudio.core.annotation.io import atomic_write_bytes, load_image
    from segstudio.core.annotation.masks import write_label_png
    from segstudio.core.inference.overlay import overlay as draw_overlay

    out_dir = Path(out_dir)
    load = load_image if load is None else load
    prob_fmt = "npy" if probs is True else (probs or None)
    if prob_fmt is not None and prob_fmt not in PROB_FORMATS:
        raise ConfigError(f"unknown probability format {prob_fmt!r}; known: {', '.join(PROB_FORMATS)}")
    images = [Path(p) for p in images]
    stems = [p.stem for p in images] if stems is None else [str(s) for s in stems]
    if len(stems) != len(images):
        raise ConfigError(f"{len(stems)} output names for {len(images)} images")
    out_dir.mkdir(parents=True, exist_ok=True)
    report = PredictReport() if report is None else report
    report.out = out_dir
    palette = None
    if overlay:
        from segstudio.core.annotation.labels import voc_palette

        palette = voc_palette(256)
        (out_dir / "overlays").mkdir(exist_ok=True)
    total = len(images)
    for done, (path, stem) in enumerate(zip(images, stems)):
        check_cancel(cancel)
        try:
            image = load(path)
            result = predictor.predict(image, return_probs=prob_fmt is not None, cancel=cancel)
        except Cancelled:
            raise
        except SegStudioError as exc:
            report.failures.append((str(path), exc.reason if exc.path else str(exc)))
        except (ValueError, OSError) as exc:
            report.failures.append((str(path), str(exc)))
        else:
            mask_path = out_dir / f"{stem}.png"
            try:
                _record_written(out_dir, [stem])    # before the mask: a crash in between never orphans it
                write_label_png(mask_path, np.asarray(result.label))
                report.written.append(mask_path)
                if overlay:
                    ov = draw_overlay(image, result.label, palette, alpha=alpha, mode=overlay_mode)
                    ov_path = out_dir / "overlays" / f"{stem}.png"
                    atomic_write_bytes(ov_path, _png_bytes(ov))
                    report.written.append(ov_path)
                if prob_fmt is not None:
                    report.written.extend(write_probs(out_dir, stem, result.probs, prob_fmt))
            except OSError as exc:   # disk full, no permission: every write is atomic, nothing is left torn
                raise DatasetError(f"cannot write the prediction of {path.name}: {exc.strerror or exc}; "
                                   f"{report.n_ok} image(s) were written before", exc.filename or mask_path) from None
            report.n_ok += 1
            report.predicted.append(stem)
        if progress is not None:
            progress(done + 1, total, path.name)
    return report
