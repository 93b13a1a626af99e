"""Exports never read what they should not nor write outside --out (issue 13): an ``imagePath`` leaving the
dataset folder (``../../etc/...``) or a symlink to a file outside it is refused and named; class names with
``/`` or ``..`` never become paths; two conversions into the same --out never mix or overwrite."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from segstudio.core.errors import DatasetError
from segstudio.core.export import convert
from segstudio.core.export.runner import LOCK_NAME

from .conftest import cli_env

FORMATS = ("voc", "coco", "yolo", "nnunet", "masks")   # the exporters of image annotations ("nifti" takes volumes)


def write_json(path: Path, image_path: str, labels=("lesion",), size=(16, 16)) -> Path:
    shapes = [{"label": lab, "points": [[1 + i, 1], [10, 1 + i], [10, 10]], "group_id": None, "description": "",
               "shape_type": "polygon", "flags": {}, "mask": None} for i, lab in enumerate(labels)]
    path.write_text(json.dumps({"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": image_path,
                                "imageData": None, "imageHeight": size[0], "imageWidth": size[1]}))
    return path


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def dataset(tmp_path):
    """tmp/data/labelme/*.json + tmp/data/images/ (labelme's layout), a private image in tmp/private/."""
    data = tmp_path / "data"
    (data / "labelme").mkdir(parents=True)
    (data / "images").mkdir()
    (tmp_path / "private").mkdir()
    Image.new("RGB", (16, 16), (10, 200, 10)).save(data / "images" / "good.png")
    Image.new("RGB", (16, 16), (255, 0, 0)).save(tmp_path / "private" / "secret.png")
    write_json(data / "labelme" / "good.json", "../images/good.png")
    (data / "labelme" / "labels.txt").write_text("__ignore__\n_background_\nlesion\n")
    return data


@pytest.mark.parametrize("fmt", FORMATS)
def test_image_paths_leaving_the_dataset_are_refused(dataset, tmp_path, fmt):
    src = dataset / "labelme"
    write_json(src / "escape.json", "../../private/secret.png")
    write_json(src / "etc.json", "../../../../../../../../etc/hostname")
    os.symlink(tmp_path / "private" / "secret.png", dataset / "images" / "linked.png")
    write_json(src / "linked.json", "../images/linked.png")
    before = tree(tmp_path)
    report = convert(src, None, tmp_path / "out", fmt)
    failed = {Path(p).name: reason for p, reason in report.failures}
    assert report.n_ok == 1 and set(failed) == {"escape.json", "etc.json", "linked.json"}, report.failures
    assert "secret.png is outside the dataset folder" in failed["escape.json"]
    assert "refused" in failed["escape.json"] and str(dataset) in failed["escape.json"]
    assert "through a symlink to" in failed["linked.json"] and "secret.png" in failed["linked.json"]
    assert "hostname" in failed["etc.json"]
    after = tree(tmp_path)
    assert {p for p in after - before if not p.startswith("out")} == set()        # nothing written elsewhere
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    secret = (tmp_path / "private" / "secret.png").read_bytes()
    assert all(p.read_bytes() != secret for p in written)
    assert not any("escape" in p.name or "linked" in p.name for p in written)


def test_image_root_widens_the_allowed_folder(dataset, tmp_path):
    src = dataset / "labelme"
    write_json(src / "escape.json", "../../private/secret.png")
    report = convert(src, None, tmp_path / "out", "voc", image_root=tmp_path)
    assert report.ok and report.n_ok == 2, report.failures


@pytest.mark.parametrize("fmt", FORMATS)
def test_class_names_never_become_paths(tmp_path, fmt):
    src = tmp_path / "deep" / "src"
    src.mkdir(parents=True)
    Image.new("RGB", (16, 16)).save(src / "a.png")
    names = ["../../evil", "a/b", "..", "/tmp/abs", "c\\..\\d"]
    write_json(src / "a.json", "a.png", labels=names)
    (src / "labels.txt").write_text("__ignore__\n_background_\n" + "\n".join(names) + "\n")
    before = tree(tmp_path)
    out = tmp_path / "deep" / "out"
    report = convert(src, None, out, fmt)
    assert report.ok, report.failures
    created = tree(tmp_path) - before
    assert created and all(p.startswith(str(out.relative_to(tmp_path))) for p in created), sorted(created)
    for p in out.rglob("*"):
        assert Path(os.path.realpath(p)).is_relative_to(out.resolve())
        assert ".." not in p.relative_to(out).parts and "evil" not in p.name and "abs" not in p.name


def test_a_second_conversion_into_a_claimed_folder_is_refused(dataset, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_NAME).write_text("")
    with pytest.raises(DatasetError, match="not empty|another conversion"):
        convert(dataset / "labelme", None, out, "voc")
    assert tree(out) == {LOCK_NAME}


def test_two_processes_converting_into_the_same_out(tmp_path):
    """Started together: one converts, the other is refused (exit 2) and no file of the first is replaced."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(40):
        Image.new("RGB", (64, 48), (i, 2 * i, 3 * i)).save(src / f"img{i:02d}.png")
        write_json(src / f"img{i:02d}.json", f"img{i:02d}.png", size=(48, 64))
    (src / "labels.txt").write_text("__ignore__\n_background_\nlesion\n")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "segstudio", "convert", str(src), "--out", str(out), "--format", "voc", "-q"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())
             for _ in range(2)]
    results = [(p.wait(300), *p.communicate()) for p in procs]
    codes = sorted(r[0] for r in results)
    assert codes == [0, 2], results
    refused = next(r for r in results if r[0] == 2)
    assert str(out) in refused[2] and ("not empty" in refused[2] or "another conversion" in refused[2]), refused
    assert "Traceback" not in refused[2]
    reference = tmp_path / "reference"
    assert convert(src, None, reference, "voc").ok
    assert tree(out) == tree(reference)
    for rel in tree(reference):
        if (reference / rel).is_file():
            assert (out / rel).read_bytes() == (reference / rel).read_bytes(), rel
