"""Exports of the shared datasets read by the field's own readers (pycocotools, ultralytics, nnunetv2), which
run from the readers reference venv in a subprocess (readers_ref_worker.py), never in this process."""
from __future__ import annotations

import base64
import io
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.core.annotation import LabelSet, annotation_to_label, load_annotation

WORKER = Path(__file__).with_name("readers_ref_worker.py")
DATASETS = {"ph2": ("ph2/labelme", "ph2/classes.txt"), "busi": ("busi/labelme", "busi/classes.txt"),
            "labelme_example": ("labelme_examples/instance_segmentation/data_annotated",
                                "labelme_examples/instance_segmentation/labels.txt")}


def reference_env(scratch: Path) -> dict:
    """Ultralytics offline, its settings and matplotlib's cache in ``scratch`` (as tests/conftest.py does)."""
    return {**os.environ, "YOLO_OFFLINE": "1", "YOLO_CONFIG_DIR": str(scratch), "MPLCONFIGDIR": str(scratch)}


@pytest.fixture(scope="session")
def run_reference(readers_python, tmp_path_factory):
    """run_reference(job) -> the worker's result: one reader job in the reference venv; fails the test with
    the reader's own error.  ``job["out"]``, when given as True, becomes a fresh folder for the worker."""

    def run(job: dict) -> dict:
        scratch = tmp_path_factory.mktemp(f"ref-{job['kind']}")
        if job.get("out") is True:
            job = {**job, "out": str(scratch / "out")}
            (scratch / "out").mkdir()
        (scratch / "job.json").write_text(json.dumps(job))
        r = subprocess.run([str(readers_python), str(WORKER), str(scratch / "job.json"), str(scratch / "result.json")],
                           capture_output=True, text=True, env=reference_env(scratch), timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]
        result = json.loads((scratch / "result.json").read_text())
        assert "error" not in result, result.get("traceback", result["error"])
        result["out"] = job.get("out")
        return result

    return run


@pytest.fixture(scope="session")
def dataset_source(shared_data):
    """name -> (labelme folder, label file) of the shared datasets."""
    return {name: (shared_data / folder, shared_data / labels) for name, (folder, labels) in DATASETS.items()}


@pytest.fixture(scope="session")
def export_of(dataset_source, tmp_path_factory):
    """export_of(dataset, fmt) -> the converted folder (made once per session)."""
    from segstudio.core.export import convert

    made: dict = {}

    def get(dataset: str, fmt: str) -> Path:
        if (dataset, fmt) not in made:
            src, labels = dataset_source[dataset]
            out = tmp_path_factory.mktemp(f"{dataset}-{fmt}") / "out"
            report = convert(src, labels, out, fmt, workers=2)
            assert report.ok and report.n_ok == len(list(src.glob("*.json"))), report.failures[:3]
            made[dataset, fmt] = out
        return made[dataset, fmt]

    return get


@pytest.fixture(scope="session")
def class_maps(dataset_source):
    """class_maps(dataset) -> {stem: int64 class map}: what the VOC export writes (labelme's shapes_to_label)."""
    cache: dict = {}

    def get(dataset: str) -> dict[str, np.ndarray]:
        if dataset not in cache:
            src, labels = dataset_source[dataset]
            ls = LabelSet.from_file(labels)
            cache[dataset] = {p.stem: annotation_to_label(load_annotation(p), ls)[0] for p in sorted(src.glob("*.json"))}
        return cache[dataset]

    return get


def _shape(label, points, shape_type="polygon", group_id=None, mask=None):
    return {"label": label, "points": points, "group_id": group_id, "description": "", "shape_type": shape_type,
            "flags": {}, "mask": mask}


@pytest.fixture
def edge_source(tmp_path) -> Path:
    """Two labelme files with every shape type: polygon, mask, line, linestrip, point, a rectangle + mask
    instance (group_id), a circle, __ignore__; image sizes whose 6-decimal fractions fall short."""
    src = tmp_path / "edge"
    src.mkdir()
    (src / "labels.txt").write_text("__ignore__\n_background_\ncat\ndog\n")
    patch = np.zeros((6, 8), np.uint8)
    patch[1:5, 2:7] = 255
    buf = io.BytesIO()
    Image.fromarray(patch).save(buf, format="PNG")
    mask = base64.b64encode(buf.getvalue()).decode()
    files = {"a": ((48, 64), [_shape("cat", [[5, 5], [30, 6], [28, 30]]),
                              _shape("dog", [[20, 24], [27, 29]], "mask", mask=mask),
                              _shape("dog", [[2, 44], [20, 44]], "line"),
                              _shape("cat", [[40, 5], [50, 15], [60, 5]], "linestrip"),
                              _shape("cat", [[45, 30]], "point"),
                              _shape("dog", [[33, 33], [40, 40]], "rectangle", group_id=4),
                              _shape("dog", [[50, 38], [57, 43]], "mask", group_id=4, mask=mask),
                              _shape("__ignore__", [[1, 1], [4, 1], [4, 4]])]),
             "b": ((301, 567), [_shape("cat", [[123, 45], [566, 0], [567, 300], [200, 250]]),
                                _shape("dog", [[300, 100], [340, 100]], "circle"),
                                _shape("dog", [[10, 200], [60, 260]], "rectangle")])}
    for stem, ((h, w), shapes) in files.items():
        Image.fromarray(np.full((h, w, 3), 90, np.uint8)).save(src / f"{stem}.png")
        (src / f"{stem}.json").write_text(json.dumps({"version": "5.5.0", "flags": {}, "shapes": shapes,
                                                      "imagePath": f"{stem}.png", "imageData": None,
                                                      "imageHeight": h, "imageWidth": w}))
    return src
