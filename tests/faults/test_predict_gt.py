"""``segstudio predict`` into a folder holding the user's ground-truth masks never overwrites them: it refuses
(exit 2, the files named) unless the masks there are its own earlier predictions (issue 13)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from segstudio.core.inference.batch import MANIFEST

from .conftest import run_cli


@pytest.fixture
def images(tiny_project_ro, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for p in sorted(tiny_project_ro.glob("*.png"))[:3]:
        shutil.copy(p, folder / p.name)
    return folder


def _gt_folder(images, folder):
    folder.mkdir()
    for p in images.glob("*.png"):
        w, h = Image.open(p).size
        Image.fromarray(np.ones((h, w), np.uint8)).save(folder / p.name)
    (folder / "notes.txt").write_text("mine")
    return {q.name: q.read_bytes() for q in folder.iterdir()}


def test_predict_into_the_ground_truth_folder_is_refused(tiny_weights, images, tmp_path):
    gt = tmp_path / "gt"
    before = _gt_folder(images, gt)
    for extra in ([], ["--gt", str(gt)]):
        r = run_cli("predict", "--weights", tiny_weights, "--images", images, "--out", gt, "--quiet", *extra)
        assert r.returncode == 2, r.stdout + r.stderr
        assert "did not write (ground-truth masks?)" in r.stderr and "nothing was overwritten" in r.stderr
        assert "Traceback" not in r.stderr
        assert {q.name: q.read_bytes() for q in gt.iterdir()} == before


def test_predicting_again_into_its_own_folder_and_beside_user_files(tiny_weights, images, tmp_path):
    out = tmp_path / "pred"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    gt = tmp_path / "gt"
    _gt_folder(images, gt)
    # the second run replaces its own masks (recorded in the manifest) and scores them against --gt
    for extra in ([], ["--gt", str(gt)]):
        r = run_cli("predict", "--weights", tiny_weights, "--images", images, "--out", out, "--quiet", *extra)
        assert r.returncode == 0, r.stdout + r.stderr
    assert "miou" in r.stdout.lower() or "IOU" in r.stdout, r.stdout
    assert (out / "notes.txt").read_text() == "mine" and (out / MANIFEST).is_file()
    assert sorted(p.name for p in out.glob("*.png")) == sorted(p.name for p in images.glob("*.png"))
