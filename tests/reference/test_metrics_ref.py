"""Our HD95 equals MedPy's ``hd95`` (medpy 0.5.2 in the reference venv, run in a subprocess by
metrics_ref_worker.py) to 1e-6 px on shifted, eroded, dilated, empty-prediction and empty-ground-truth cases,
directly and through the review pipeline (issue 13).  MedPy raises on an empty mask; we return nan there
(undefined, docs/metrics.md)."""
from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from segstudio.core.metrics import hd95
from segstudio.core.review import score_image

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("metrics_ref_worker.py")
REF_PYTHON = Path(os.environ.get("SEGSTUDIO_READERS_PYTHON", ROOT / ".venv-ref" / "bin" / "python"))


def _missing(reason: str):
    if os.environ.get("SEGSTUDIO_REQUIRE_REFERENCES") == "1":
        pytest.fail(f"{reason} [SEGSTUDIO_REQUIRE_REFERENCES=1]", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def medpy_hd95(tmp_path_factory):
    """medpy_hd95([(pred, gt), ...]) -> [float | "error text"] computed by MedPy in the reference venv."""
    if not REF_PYTHON.exists():
        _missing(f"reference venv not found at {REF_PYTHON} (run `make readers-ref`)")
    r = subprocess.run([str(REF_PYTHON), "-c", "import medpy.metric.binary"], capture_output=True, text=True)
    if r.returncode != 0:
        _missing("medpy missing from the reference venv (a .venv-ref built before medpy joined it: run "
                 f"`rm {REF_PYTHON.parents[1]}/.installed && make readers-ref`): {r.stderr.strip()[-300:]}")

    def run(pairs):
        scratch = tmp_path_factory.mktemp("medpy")
        arrays = {}
        for i, (p, g) in enumerate(pairs):
            arrays[f"pred_{i}"], arrays[f"gt_{i}"] = np.asarray(p, bool), np.asarray(g, bool)
        np.savez(scratch / "pairs.npz", **arrays)
        r = subprocess.run([str(REF_PYTHON), str(WORKER), str(scratch / "pairs.npz"), str(scratch / "out.json")],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        return [d.get("hd95", d.get("error")) for d in json.loads((scratch / "out.json").read_text())]

    return run


def _blob(seed, shape=(96, 128)):
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.random(shape), 6)
    return field > np.quantile(field, 0.75)


def _cases():
    base = _blob(0)
    disk = np.zeros((80, 80), bool)
    yy, xx = np.mgrid[:80, :80]
    disk[(yy - 40) ** 2 + (xx - 38) ** 2 < 20 ** 2] = True
    touching = np.zeros((40, 50), bool)
    touching[:15, 20:50] = True                                    # on the image border
    cross = ndimage.generate_binary_structure(2, 1)
    cases = {
        "shift_right_5": (np.roll(disk, 5, axis=1), disk),
        "shift_diag": (np.roll(np.roll(base, 7, axis=0), -4, axis=1), base),
        "eroded_3": (ndimage.binary_erosion(disk, iterations=3), disk),
        "dilated_4": (ndimage.binary_dilation(base, cross, iterations=4), base),
        "eroded_blob": (ndimage.binary_erosion(base, iterations=2), base),
        "border_shape": (np.roll(touching, 3, axis=0), touching),
        "two_blobs": (_blob(1), _blob(2)),
        "single_pixels": (np.eye(1, 30, 3, dtype=bool).reshape(5, 6), np.eye(1, 30, 28, dtype=bool).reshape(5, 6)),
        "identical": (base, base),
    }
    return cases


def test_hd95_equals_medpy(medpy_hd95):
    cases = _cases()
    theirs = medpy_hd95(list(cases.values()))
    for (name, (p, g)), ref in zip(cases.items(), theirs):
        assert isinstance(ref, float), f"{name}: medpy raised {ref}"
        assert abs(hd95(p, g) - ref) <= 1e-6, f"{name}: ours {hd95(p, g)} medpy {ref}"
        assert abs(hd95(g, p) - ref) <= 1e-6, f"{name}: not symmetric"


def test_hd95_through_the_review_pipeline_equals_medpy(medpy_hd95):
    """Per-class HD95 of a 3-class image (score_image, what evaluate and the dock print) against MedPy's on
    each class's binary masks, with ground-truth ignore pixels outside both masks."""
    gt = np.zeros((96, 128), np.int64)
    gt[_blob(3)] = 1
    gt[_blob(4) & (gt == 0)] = 2
    pred = np.roll(gt, 3, axis=1)
    pred[ndimage.binary_dilation(gt == 1, iterations=2) & (pred == 0)] = 1
    gt[:, :6] = 255
    s = score_image(pred, gt, 3, ignore_index=255)
    valid = gt != 255
    theirs = medpy_hd95([((pred == c) & valid, (gt == c) & valid) for c in (1, 2)])
    for c, ref in zip((1, 2), theirs):
        assert abs(s.hd95[c] - ref) <= 1e-6, f"class {c}: ours {s.hd95[c]} medpy {ref}"


def test_empty_masks_medpy_raises_we_say_undefined(medpy_hd95):
    disk = _blob(5)
    empty = np.zeros_like(disk)
    theirs = medpy_hd95([(empty, disk), (disk, empty), (empty, empty)])
    for case, ref in zip(("empty prediction", "empty ground truth", "both empty"), theirs):
        assert isinstance(ref, str) and "RuntimeError" in ref, f"{case}: medpy gave {ref}"
    assert math.isnan(hd95(empty, disk)) and math.isnan(hd95(disk, empty)) and math.isnan(hd95(empty, empty))
    gt = disk.astype(np.int64)
    s_missed = score_image(np.zeros_like(gt), gt, 2)
    s_invented = score_image(gt, np.zeros_like(gt), 2)
    assert math.isnan(s_missed.hd95[1]) and s_missed.hd95_undefined[1] == 1
    assert math.isnan(s_invented.hd95[1]) and s_invented.hd95_undefined[1] == 1
