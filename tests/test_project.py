"""core/project.py: scanning a labelme folder, statuses, reviewed list, class list edits."""
from __future__ import annotations

import json
import shutil

import pytest

from segstudio.core.errors import ConfigError, DatasetError
from segstudio.core.project import STATUSES, Project, open_path


def test_sample_project_lists_images_and_labels(sample_project_ro):
    p = Project(sample_project_ro)
    assert len(p.images) == 24
    assert [e.stem for e in p.images] == sorted(e.stem for e in p.images)
    e = p.images[0]
    assert e.image_path.name == "img_000.png" and e.json_path.name == "img_000.json" and e.stem == "img_000"
    assert p.label_set.names == ["_background_", "lesion", "cyst"]
    assert p.label_set.has_ignore
    assert p.name == "sample"
    assert p.counts() == {"not annotated": 0, "annotated": 24, "predicted": 0, "reviewed": 0}
    assert p.runs_dir == p.folder / "runs" and p.predictions_dir == p.folder / "predictions"


def test_statuses_follow_files_and_reviewed_list(sample_project):
    p = Project(sample_project)
    e0, e1, e2 = p.images[:3]
    e0.json_path.unlink()
    assert p.status(e0) == "not annotated"
    (sample_project / "predictions").mkdir()
    (sample_project / "predictions" / "img_000.png").write_bytes(b"png")
    assert p.status(e0) == "predicted"
    # an emptied JSON (all shapes deleted) is not annotated; a later edit is seen (mtime/size cache)
    data = json.loads(e1.json_path.read_text())
    shapes = data["shapes"]
    data["shapes"] = []
    e1.json_path.write_text(json.dumps(data))
    assert p.status(e1) == "not annotated"
    data["shapes"] = shapes
    e1.json_path.write_text(json.dumps(data, indent=1))
    assert p.status(e1) == "annotated"
    p.set_reviewed(e2, True)
    assert p.status(e2) == "reviewed"
    saved = json.loads((sample_project / "segstudio.json").read_text())
    assert saved["reviewed"] == ["img_002"] and saved["name"] == "sample" and saved["runs"] == "runs"
    assert Project(sample_project).status(e2) == "reviewed"  # persisted
    p.set_reviewed(e2, False)
    assert p.status(e2) == "annotated"
    assert set(p.counts()) == set(STATUSES)


def test_broken_json_is_reported_not_fatal(sample_project):
    (sample_project / "img_003.json").write_text("{ not json", encoding="utf-8")
    p = Project(sample_project)
    e = p.entry_for("img_003")
    assert p.status(e) == "not annotated"
    assert "img_003.json" in p.problems["img_003"] and "not valid JSON" in p.problems["img_003"]


def test_plain_labelme_folder_without_extras(tmp_path, sample_project_ro):
    folder = tmp_path / "plain"
    folder.mkdir()
    for name in ("img_000.png", "img_000.json", "img_001.png", "img_002.png", "img_002.json"):
        shutil.copy(sample_project_ro / name, folder / name)
    (folder / "notes.json").write_text('{"something": 1}')  # not a labelme file: ignored
    p = Project(folder)
    assert [e.stem for e in p.images] == ["img_000", "img_001", "img_002"]
    assert p.label_set.names[0] == "_background_"
    assert set(p.label_set.names[1:]) == {"lesion", "cyst"}
    assert p.label_set.names[1:] == sorted(p.label_set.names[1:])
    assert p.status(p.images[1]) == "not annotated"
    assert p.labels_path == folder / "labels.txt" and not p.labels_path.exists()


def test_json_with_embedded_image_only_is_listed(tmp_path, sample_project_ro):
    import base64

    folder = tmp_path / "embedded"
    folder.mkdir()
    data = json.loads((sample_project_ro / "img_000.json").read_text())
    data["imageData"] = base64.b64encode((sample_project_ro / "img_000.png").read_bytes()).decode()
    (folder / "only.json").write_text(json.dumps(data))
    p = Project(folder)
    assert [e.stem for e in p.images] == ["only"]
    assert p.images[0].json_path == folder.resolve() / "only.json"


def test_json_image_paths_resolve_as_load_annotation_does(tmp_path, sample_project_ro):
    """imagePath with Windows separators, or a stale absolute folder with the image beside the JSON."""
    from segstudio.core.annotation import load_annotation

    folder = tmp_path / "moved"
    (folder / "imgs").mkdir(parents=True)
    shutil.copy(sample_project_ro / "img_000.png", folder / "imgs" / "photo.png")
    shutil.copy(sample_project_ro / "img_001.png", folder / "other.png")
    data = json.loads((sample_project_ro / "img_000.json").read_text())
    (folder / "win.json").write_text(json.dumps({**data, "imagePath": "imgs\\photo.png"}))
    (folder / "stale.json").write_text(json.dumps({**data, "imagePath": "C:\\old\\place\\other.png"}))
    p = Project(folder)
    by_json = {e.json_path.name: e for e in p.images}
    assert by_json["win.json"].image_path == (folder / "imgs" / "photo.png").resolve()
    assert by_json["stale.json"].image_path == (folder / "other.png").resolve()
    for name in ("win.json", "stale.json"):  # the core opens the same files
        load_annotation(folder / name)


def test_open_path_variants(sample_project_ro):
    p, e = open_path(sample_project_ro)
    assert e is None and len(p.images) == 24
    p, e = open_path(sample_project_ro / "segstudio.json")
    assert e is None
    p, e = open_path(sample_project_ro / "img_005.json")
    assert e.stem == "img_005"
    p, e = open_path(sample_project_ro / "img_006.png")
    assert e.stem == "img_006" and e.image_path == (sample_project_ro / "img_006.png").resolve()
    with pytest.raises(DatasetError, match="no such file"):
        open_path(sample_project_ro / "missing")
    with pytest.raises(DatasetError, match="labels.txt: cannot open a .txt"):
        open_path(sample_project_ro / "labels.txt")


def test_bad_settings_file_names_the_file(sample_project):
    (sample_project / "segstudio.json").write_text("[1, 2", encoding="utf-8")
    with pytest.raises(ConfigError, match="segstudio.json"):
        Project(sample_project)
    with pytest.raises(DatasetError, match="does not exist"):
        Project(sample_project / "nope")


def test_add_and_rename_labels_write_labels_txt(sample_project):
    p = Project(sample_project)
    assert p.add_label("  nevus ") == 3
    assert p.add_label("lesion") == 1  # existing: no duplicate
    text = (sample_project / "labels.txt").read_text().split()
    assert text == ["__ignore__", "_background_", "lesion", "cyst", "nevus"]
    p.rename_label("cyst", "fluid cyst")
    assert (sample_project / "labels.txt").read_text().splitlines()[3] == "fluid cyst"
    assert p.label_set.names.index("fluid cyst") == 2  # the id is kept
    with pytest.raises(ConfigError, match="already exists"):
        p.rename_label("lesion", "nevus")
    with pytest.raises(ConfigError, match="empty"):
        p.rename_label("lesion", "  ")
    with pytest.raises(ConfigError, match="background"):
        p.rename_label("_background_", "bg")
    # reopened: same class list
    assert Project(sample_project).label_set.names == ["_background_", "lesion", "fluid cyst", "nevus"]


def test_rename_label_in_files(sample_project):
    p = Project(sample_project)
    keep = sample_project / "img_000.json"
    before = keep.read_text()
    changed = p.rename_label_in_files("cyst", "fluid", exclude=[keep])
    assert keep.read_text() == before
    assert changed and all(path.exists() for path in changed)
    for path in changed:
        labels = {s["label"] for s in json.loads(path.read_text())["shapes"]}
        assert "cyst" not in labels and "fluid" in labels


def test_flags_txt(sample_project):
    p = Project(sample_project)
    assert p.image_flags() == []
    (sample_project / "flags.txt").write_text("blurry\n\n# comment\nartefact\n")
    assert p.image_flags() == ["blurry", "artefact"]
