"""Bad input, untouched sources, worker pools and the CLI of convert."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from segstudio.cli import main
from segstudio.core.errors import Cancelled, DatasetError, SegStudioError
from segstudio.core.export import EXPORTERS, Exporter, convert


FORMATS = ["voc", "coco", "yolo", "nnunet", "masks"]


def tree_digest(root: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under ``root``."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def add_bad_files(src: Path) -> dict[str, str]:
    """Add broken files next to the good ones; returns {file name: expected words in its reason}."""
    (src / "broken.json").write_text('{"shapes": [', encoding="utf-8")
    doc = json.loads((src / "img_000.json").read_text())
    missing = dict(doc, imagePath="nowhere.png")
    (src / "no_image.json").write_text(json.dumps(missing), encoding="utf-8")
    unknown = json.loads(json.dumps(doc))
    unknown["shapes"][0]["label"] = "tumour"
    (src / "unknown_label.json").write_text(json.dumps(unknown), encoding="utf-8")
    wrong = dict(doc, imageWidth=999)
    (src / "wrong_size.json").write_text(json.dumps(wrong), encoding="utf-8")
    (src / "not_labelme.json").write_text("[1, 2, 3]", encoding="utf-8")
    return {"broken.json": "json", "no_image.json": "nowhere.png", "unknown_label.json": "tumour",
            "wrong_size.json": "999", "not_labelme.json": ""}


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_files_are_named_and_the_rest_converted(fmt, sample_project, tmp_path):
    bad = add_bad_files(sample_project)
    report = convert(sample_project, None, tmp_path / "out", fmt)
    assert report.n_ok == 24
    failed = {Path(p).name: reason for p, reason in report.failures}
    assert set(failed) == set(bad)
    for name, words in bad.items():
        assert words.lower() in failed[name].lower(), (name, failed[name])
    assert "unknown_label" not in " ".join(p.name for p in (tmp_path / "out").rglob("*"))


def test_source_is_never_written(sample_project, tmp_path):
    add_bad_files(sample_project)
    for p in sample_project.rglob("*"):
        p.chmod(0o444)
    sample_project.chmod(0o555)
    before = tree_digest(sample_project)
    mtimes = {p: p.stat().st_mtime_ns for p in sample_project.rglob("*")}
    try:
        for i, fmt in enumerate(FORMATS):
            convert(sample_project, None, tmp_path / f"out{i}", fmt, workers=2 if fmt == "coco" else 1)
        assert tree_digest(sample_project) == before
        assert {p: p.stat().st_mtime_ns for p in sample_project.rglob("*")} == mtimes
        assert sorted(os.listdir(sample_project)) == sorted(p.name for p in mtimes if p.parent == sample_project)
    finally:
        sample_project.chmod(0o755)


def test_output_inside_source_or_not_empty_is_refused(sample_project_ro, tmp_path):
    with pytest.raises(DatasetError, match="outside the source"):
        convert(sample_project_ro, None, sample_project_ro / "export", "masks")
    with pytest.raises(DatasetError, match="outside the source"):
        convert(sample_project_ro, None, sample_project_ro, "masks")
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not empty"):
        convert(sample_project_ro, None, full, "voc")
    assert (full / "keep.txt").read_text() == "mine"


def test_unwritable_output_is_a_clear_error(sample_project_ro, tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(DatasetError, match="cannot write the output"):
        convert(sample_project_ro, None, tmp_path / "a_file" / "out", "voc")
    rc = main(["convert", str(sample_project_ro), "--out", str(tmp_path / "a_file" / "o"), "-f", "masks", "-q"])
    assert rc == 2 and "cannot write the output" in capsys.readouterr().err


def test_missing_or_empty_source(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        convert(tmp_path / "nope", None, tmp_path / "out", "voc")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no labelme JSON"):
        convert(tmp_path / "empty", None, tmp_path / "out", "voc")


def _comparable(out: Path) -> dict[str, object]:
    d = tree_digest(out)
    if (out / "annotations.json").exists():  # COCO: info.date_created is the run's time
        data = json.loads((out / "annotations.json").read_text())
        data.pop("info")
        d["annotations.json"] = data
    return d


@pytest.mark.parametrize("fmt", FORMATS)
def test_two_workers_write_what_one_writes(fmt, sample_project, tmp_path):
    add_bad_files(sample_project)
    opts = {"yolo": {"val_fraction": 0.2}, "nnunet": {"name": "same"}}.get(fmt, {})
    r1 = convert(sample_project, None, tmp_path / "w1", fmt, workers=1, options=opts)
    r2 = convert(sample_project, None, tmp_path / "w2", fmt, workers=2, options=opts)
    assert (r1.n_ok, sorted(r1.failures)) == (r2.n_ok, sorted(r2.failures))
    assert r1.failures == r2.failures  # also in the same (source) order
    assert _comparable(tmp_path / "w1") == _comparable(tmp_path / "w2")


def test_spawned_workers_write_what_one_writes(edge_project, tmp_path, monkeypatch):
    """The GUI (a threaded process) gets spawned workers instead of forked ones: same output."""
    import multiprocessing

    from segstudio.core.export import runner

    monkeypatch.setattr(runner, "_mp_context", lambda: multiprocessing.get_context("spawn"))
    convert(edge_project, None, tmp_path / "w1", "voc", workers=1)
    convert(edge_project, None, tmp_path / "w2", "voc", workers=2)
    assert tree_digest(tmp_path / "w1") == tree_digest(tmp_path / "w2")


def test_progress_and_cancel(sample_project_ro, tmp_path):
    calls = []
    convert(sample_project_ro, None, tmp_path / "a", "masks", progress=lambda d, t, m: calls.append((d, t)))
    assert calls[0] == (0, 24) and calls[-1] == (24, 24)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    seen = []
    with pytest.raises(Cancelled):
        convert(sample_project_ro, None, tmp_path / "b", "masks",
                progress=lambda d, t, m: seen.append(d), cancel=lambda: len(seen) > 3)
    assert max(seen) < 24


def test_cancel_with_workers(sample_project_ro, tmp_path):
    seen = []
    with pytest.raises(Cancelled):
        convert(sample_project_ro, None, tmp_path / "c", "masks", workers=2,
                progress=lambda d, t, m: seen.append(d), cancel=lambda: len(seen) > 1)
    assert max(seen) < 24


class _CrashingFormat(Exporter):
    """Kills its worker process, as the OOM killer would."""

    name = "crash-test"

    def export_item(self, item):
        os._exit(9)


def test_dead_worker_is_a_clear_error(sample_project_ro, tmp_path):
    EXPORTERS.register("crash-test")(_CrashingFormat)
    try:
        with pytest.raises(SegStudioError, match="worker process stopped unexpectedly"):
            convert(sample_project_ro, None, tmp_path / "o", "crash-test", workers=2)
    finally:
        EXPORTERS.entries.pop("crash-test", None)


class _PluginFormat(Exporter):
    """A plugin-style exporter: one .npy of class ids per file."""

    name = "npy-test"

    def prepare(self, json_files):
        (self.out / "npy").mkdir(parents=True, exist_ok=True)

    def export_item(self, item):
        np.save(self.out / "npy" / f"{item.stem}.npy", item.cls)
        return item.stem


def test_plugin_exporter_is_used(sample_project_ro, tmp_path):
    EXPORTERS.register("npy-test")(_PluginFormat)
    try:
        rep = convert(sample_project_ro, None, tmp_path / "o", "npy-test")
        assert rep.ok and len(list((tmp_path / "o" / "npy").glob("*.npy"))) == 24
    finally:
        EXPORTERS.entries.pop("npy-test", None)


# ---------------------------------------------------------------------------------------------------- CLI
def test_cli_convert_ok(sample_project_ro, tmp_path, capsys):
    rc = main(["convert", str(sample_project_ro), "--labels", str(sample_project_ro / "labels.txt"),
               "--out", str(tmp_path / "voc"), "--format", "voc", "--workers", "2", "--no-viz"])
    out, err = capsys.readouterr()
    assert rc == 0
    assert "converted 24 file(s) to voc, 0 failed" in out and str(tmp_path / "voc") in out
    assert "24/24" in err  # the progress bar
    assert len(list((tmp_path / "voc" / "SegmentationClass").glob("*.png"))) == 24


def test_cli_convert_bad_files_exit_1(sample_project, tmp_path, capsys):
    bad = add_bad_files(sample_project)
    rc = main(["convert", str(sample_project), "--out", str(tmp_path / "m"), "-f", "masks", "-q"])
    out, err = capsys.readouterr()
    assert rc == 1
    assert "24 file(s) to masks, 5 failed" in out
    for name in bad:
        assert f"failed: {sample_project / name}: " in err
    assert "Traceback" not in err + out


def test_cli_unknown_format_lists_known(sample_project_ro, tmp_path, capsys):
    rc = main(["convert", str(sample_project_ro), "--out", str(tmp_path / "x"), "--format", "tfrecord"])
    err = capsys.readouterr().err
    assert rc == 2
    from segstudio.core.export import EXPORTERS

    known = ", ".join(sorted(EXPORTERS.names()))  # the five formats and any registered since (nifti)
    assert {"coco", "masks", "nnunet", "voc", "yolo"} <= set(EXPORTERS.names())
    assert f"error: unknown exporter 'tfrecord'; known: {known}" in err
    assert not (tmp_path / "x").exists()


def test_cli_option_for_another_format(sample_project_ro, tmp_path, capsys):
    rc = main(["convert", str(sample_project_ro), "--out", str(tmp_path / "x"), "-f", "coco", "--no-viz"])
    assert rc == 2 and "--no-viz applies to --format voc" in capsys.readouterr().err


def test_cli_subprocess_no_traceback(sample_project, tmp_path):
    (sample_project / "broken.json").write_text("{", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "segstudio", "convert", str(sample_project), "--out",
                        str(tmp_path / "y"), "-f", "yolo", "-q"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    assert "broken.json" in r.stderr and "Traceback" not in r.stderr


def test_cli_missing_source_is_an_error(tmp_path, capsys):
    rc = main(["convert", str(tmp_path / "missing"), "--out", str(tmp_path / "z"), "-f", "yolo"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and "missing: source folder does not exist" in err
