"""Exports of the shared datasets read by the field's own readers (pycocotools, ultralytics, nnunetv2), which
run from the readers reference venv in a subprocess (readers_ref_worker.py), never in this process."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

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
