"""Pixel-for-pixel comparison with labelme 6.3.1's ``shapes_to_label`` (run in its own venv, ONE subprocess).

Corpora: synthetic JSONs covering every shape type (circle, line, linestrip, point, rectangle, mask,
oriented_rectangle, polygon, group_id instances, __ignore__), ../shared/data ph2/labelme (160) and
busi/labelme (518), and labelme's own examples.  Also compares with the PNGs labelme's converters stored.
"""
from __future__ import annotations

import base64
import io
import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.core.annotation import LabelSet, annotation_to_label, load_annotation, save_annotation

pytestmark = pytest.mark.labelme_ref

WORKER = Path(__file__).with_name("labelme_ref_worker.py")
SYN_LABELS = ["__ignore__", "_background_", "a", "b", "c"]
SHAPE_KINDS = ("polygon", "rectangle", "circle", "line", "linestrip", "point", "mask", "oriented_rectangle")


def _b64_png(patch: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(patch.astype(np.uint8)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _coord(rng, hi: float) -> float:
    """A coordinate that is integer, half-integer or arbitrary, sometimes outside the image."""
    v = rng.uniform(-8, hi + 8)
    r = rng.random()
    return float(round(v)) if r < 0.3 else (math.floor(v) + 0.5 if r < 0.5 else round(v, 3))


def _synthetic_shape(rng, kind: str, h: int, w: int) -> dict:
    if kind == "polygon":
        pts = [[_coord(rng, w), _coord(rng, h)] for _ in range(int(rng.integers(3, 12)))]
    elif kind in ("rectangle", "line", "circle"):
        pts = [[_coord(rng, w), _coord(rng, h)], [_coord(rng, w), _coord(rng, h)]]
        if kind == "circle" and rng.random() < 0.5:  # small circles too
            pts[1] = [pts[0][0] + rng.uniform(-4, 4), pts[0][1] + rng.uniform(-4, 4)]
    elif kind == "linestrip":
        pts = [[_coord(rng, w), _coord(rng, h)] for _ in range(int(rng.integers(2, 7)))]
    elif kind == "point":
        pts = [[_coord(rng, w), _coord(rng, h)]]
    elif kind == "oriented_rectangle":
        cx, cy, a = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0, math.pi)
        hw, hh = rng.uniform(1, w / 3), rng.uniform(1, h / 3)
        c, s = math.cos(a), math.sin(a)
        pts = [[round(cx + dx * c - dy * s, 2), round(cy + dx * s + dy * c, 2)]
               for dx, dy in ((-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh))]
    else:  # mask: a random patch whose bbox lies inside the image; fractional corners are truncated
        x1, y1 = int(rng.integers(0, w - 2)), int(rng.integers(0, h - 2))
        x2, y2 = int(rng.integers(x1, w)), int(rng.integers(y1, h))
        patch = rng.random((y2 - y1 + 1, x2 - x1 + 1)) < 0.6
        fx, fy = (rng.uniform(0, 0.99), rng.uniform(0, 0.99)) if rng.random() < 0.5 else (0.0, 0.0)
        return {"label": str(rng.choice(SYN_LABELS[2:] + ["__ignore__"])), "points": [[x1 + fx, y1 + fy], [x2 + fx, y2]],
                "group_id": None, "description": "", "shape_type": "mask", "flags": {}, "mask": _b64_png(patch)}
    label = str(rng.choice(["a", "b", "c", "a", "b", "__ignore__"]))
    group = [None, None, None, 1, 2][int(rng.integers(0, 5))]
    return {"label": label, "points": pts, "group_id": group, "description": "", "shape_type": kind,
            "flags": {}, "mask": None}


def make_synthetic(folder: Path, n: int = 40, seed: int = 0) -> list[Path]:
    """``n`` JSONs with every shape type: one file per type first, then random mixes."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        h, w = (48, 64) if i % 2 else (57, 41)
        img = folder / f"img_{h}x{w}.png"
        if not img.exists():
            Image.new("RGB", (w, h), (90, 90, 90)).save(img)
        kinds = [SHAPE_KINDS[i]] * 6 if i < len(SHAPE_KINDS) else list(rng.choice(SHAPE_KINDS, int(rng.integers(6, 16))))
        shapes = [_synthetic_shape(rng, str(k), h, w) for k in kinds]
        doc = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": img.name, "imageData": None,
               "imageHeight": h, "imageWidth": w}
        p = folder / f"syn_{i:03d}.json"
        p.write_text(json.dumps(doc))
        paths.append(p)
    return paths


def _example_jsons(shared: Path) -> list[tuple[Path, Path]]:
    ex = shared / "labelme_examples"
    out = []
    for sub in ("semantic_segmentation", "instance_segmentation", "bbox_detection"):
        out += [(p, ex / sub / "labels.txt") for p in sorted((ex / sub / "data_annotated").glob("*.json"))]
    # labelme 4.0.0 tutorial file with embedded imageData (its imagePath names the JSON itself)
    out.append((ex / "tutorial" / "apc2016_obj3.json", ex / "tutorial" / "apc2016_obj3" / "label_names.txt"))
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory, labelme_python, shared_data):
    """Run labelme once over every corpus: (corpora, {json path: .npz path or ("error", message)})."""
    tmp = tmp_path_factory.mktemp("labelme_ref")
    corpora: dict[str, list[tuple[Path, LabelSet]]] = {}
    syn_ls = LabelSet.from_names(SYN_LABELS)
    corpora["synthetic"] = [(p, syn_ls) for p in make_synthetic(tmp / "syn")]
    # the same documents written by segstudio, read back by labelme's complete reader
    resaved = tmp / "resaved"
    resaved.mkdir()
    for p, _ in corpora["synthetic"]:
        ann = load_annotation(p)
        ann.image_path = f"../syn/{ann.image_path}"
        save_annotation(ann, resaved / p.name)
    corpora["resaved"] = [(p, syn_ls) for p in sorted(resaved.glob("*.json"))]
    for name in ("ph2", "busi"):
        ls = LabelSet.from_file(shared_data / name / "classes.txt")
        corpora[name] = [(p, ls) for p in sorted((shared_data / name / "labelme").glob("*.json"))]
    corpora["examples"] = [(p, LabelSet.from_file(lt)) for p, lt in _example_jsons(shared_data)]
    jobs = []
    for name, items in corpora.items():
        for k, (p, ls) in enumerate(items):
            jobs.append({"json": str(p), "out": str(tmp / f"{name}_{k:04d}.npz"),
                         "label_name_to_value": ls.label_name_to_value, "full": name == "resaved"})
    spec = tmp / "jobs.json"
    spec.write_text(json.dumps({"jobs": jobs}))
    r = subprocess.run([str(labelme_python), str(WORKER), str(spec)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    results = {}
    for job in jobs:
        with np.load(job["out"]) as z:
            results[job["json"]] = ("error", str(z["error"])) if "error" in z else Path(job["out"])
    return corpora, results


def _compare(corpus, results, expect_min: int):
    assert len(corpus) >= expect_min
    for path, ls in corpus:
        ref = results[str(path)]
        assert isinstance(ref, Path), f"labelme failed on {path}: {ref}"
        cls, ins = annotation_to_label(load_annotation(path), ls)
        with np.load(ref) as z:
            ref_cls, ref_ins = z["cls"].astype(np.int32), z["ins"].astype(np.int32)
        ref_ins = np.where(ref_cls == -1, -1, ref_ins)  # segstudio marks ignore in ins as well
        assert cls.dtype == np.int32
        assert np.array_equal(cls, ref_cls), f"{path}: {(cls != ref_cls).sum()} class pixels differ"
        assert np.array_equal(ins, ref_ins), f"{path}: {(ins != ref_ins).sum()} instance pixels differ"


def test_synthetic_every_shape_type_equals_labelme(reference):
    corpora, results = reference
    corpus = corpora["synthetic"]
    kinds = set()
    for p, _ in corpus:
        kinds |= {s["shape_type"] for s in json.loads(p.read_text())["shapes"]}
    assert kinds == set(SHAPE_KINDS)
    _compare(corpus, results, 40)


def test_files_we_write_read_identically_in_labelme(reference):
    """segstudio-written JSON (every shape type, mask patches) through labelme's LabelFile gives the same
    masks as our reader."""
    corpora, results = reference
    _compare(corpora["resaved"], results, 40)


def test_ph2_equals_labelme(reference):
    corpora, results = reference
    _compare(corpora["ph2"], results, 160)


def test_busi_equals_labelme(reference):
    corpora, results = reference
    _compare(corpora["busi"], results, 518)


def test_labelme_examples_equal_labelme(reference):
    corpora, results = reference
    _compare(corpora["examples"], results, 10)


def test_stored_tutorial_label_png(shared_data):
    """labelme_json_to_dataset's label.png of the 4.0.0 tutorial file (embedded image).

    That PNG was made with an old Pillow: 8 of its 1.1 M pixels (on the shelf / notes border) rasterize
    differently under Pillow 13 -- labelme 6.3.1 itself gives exactly our result there (see
    test_labelme_examples_equal_labelme, which includes this file)."""
    tut = shared_data / "labelme_examples" / "tutorial"
    ann = load_annotation(tut / "apc2016_obj3.json")
    assert ann.image_data is not None and (ann.image_height, ann.image_width) == (907, 1210)
    cls, _ = annotation_to_label(ann, LabelSet.from_file(tut / "apc2016_obj3" / "label_names.txt"))
    assert (cls != np.asarray(Image.open(tut / "apc2016_obj3" / "label.png"))).sum() <= 8


@pytest.mark.parametrize("kind", ["semantic_segmentation", "instance_segmentation"])
def test_stored_voc_pngs(shared_data, kind):
    """labelme2voc's stored SegmentationClass / SegmentationObject PNGs: <= 1 differing pixel per image."""
    root = shared_data / "labelme_examples" / kind
    ls = LabelSet.from_file(root / "labels.txt")
    jsons = sorted((root / "data_annotated").glob("*.json"))
    assert jsons
    for p in jsons:
        cls, ins = annotation_to_label(load_annotation(p), ls)
        stored = np.asarray(Image.open(root / "data_dataset_voc" / "SegmentationClass" / f"{p.stem}.png"))
        assert (np.where(cls < 0, 255, cls) != stored).sum() <= 1, p
        obj = root / "data_dataset_voc" / "SegmentationObject" / f"{p.stem}.png"
        if obj.exists():  # labelme2voc zeroes ignore pixels of the instance image
            assert (np.where(ins < 0, 0, ins) != np.asarray(Image.open(obj))).sum() <= 1, p
