"""The Qt-free session: events, the one owner of class colours, label ids kept on reopen, checkpoint."""
from __future__ import annotations

import json

import numpy as np
import pytest

from segstudio.core.project import Project
from segstudio.core.session import EventEmitter, Session, parse_color


def _record(session):
    seen = []
    for name in ("project", "image", "classes", "checkpoint"):
        getattr(session.events, name).connect(lambda v, n=name: seen.append((n, v)))
    return seen


def test_emitter_connect_disconnect_order():
    em, calls = EventEmitter("x"), []
    first = em.connect(lambda v: calls.append(("a", v)))
    em.connect(lambda v: calls.append(("b", v)))
    em.connect(first)                       # connecting twice calls once
    em.emit(1)
    em.disconnect(first)
    em.emit(2)
    em.disconnect(lambda v: None)           # unknown: ignored
    assert calls == [("a", 1), ("b", 1), ("b", 2)]
    em.disconnect()
    em.emit(3)
    assert len(em) == 0 and calls[-1] == ("b", 2)


def test_project_image_checkpoint_events(sample_project, tmp_path):
    s = Session()
    seen = _record(s)
    p = Project(sample_project)
    s.set_project(p)
    assert seen[0] == ("project", p) and seen[1][0] == "classes"
    assert list(seen[1][1]) == ["_background_", "lesion", "cyst"]
    s.set_image(p.images[3])
    assert s.entry == p.images[3] and seen[-1] == ("image", p.images[3])
    s.set_checkpoint(tmp_path / "best.pt")
    s.set_checkpoint(str(tmp_path / "best.pt"))      # the same: no second event
    assert [e for e in seen if e[0] == "checkpoint"] == [("checkpoint", tmp_path / "best.pt")]
    s.set_project(Project(sample_project))
    assert s.entry is None                            # a new project resets the image


def test_recolour_is_saved_and_seen_by_every_reader(sample_project):
    p = Project(sample_project)
    s = Session(p)
    seen = _record(s)
    voc = p.label_set.colors()
    assert np.array_equal(s.palette(), voc)
    s.set_class_color("cyst", (10, 200, 30))
    assert seen[-1][0] == "classes" and seen[-1][1]["cyst"] == (10, 200, 30)
    assert s.class_colors()["cyst"] == (10, 200, 30) and s.class_colors()["lesion"] == tuple(voc[1])
    assert s.palette()[2].tolist() == [10, 200, 30]
    assert json.loads((sample_project / "segstudio.json").read_text())["colors"] == {"cyst": "#0ac81e"}
    # a new session on the folder sees the same colour
    assert Session(Project(sample_project)).palette()[2].tolist() == [10, 200, 30]
    # the colour follows a renamed class
    assert s.rename_class("cyst", " polyp ") == "polyp"
    assert s.class_colors()["polyp"] == (10, 200, 30)
    assert json.loads((sample_project / "segstudio.json").read_text())["colors"] == {"polyp": "#0ac81e"}


def test_bad_custom_colour_falls_back_to_the_palette(sample_project):
    p = Project(sample_project)
    p.settings["colors"] = {"lesion": "not a colour", "cyst": "#abc"}
    s = Session(p)
    assert s.class_colors()["lesion"] == tuple(p.label_set.colors()[1])
    assert s.class_colors()["cyst"] == (0xaa, 0xbb, 0xcc)
    assert parse_color("#12345") is None and parse_color("#zzzzzz") is None
    with pytest.raises(ValueError):
        s.set_class_color("lesion", "red")


def test_join_labels_and_ids_kept_on_reopen_without_labels_file(sample_project):
    (sample_project / "labels.txt").unlink()
    s = Session(Project(sample_project))
    before = s.class_names
    assert s.join_labels(["zebra", "lesion", "zebra"]) == ["zebra"]
    assert s.class_names == before + ["zebra"]
    assert s.join_labels(["lesion"]) == []
    s.set_project(Project(sample_project))            # the same folder again: ids of this session are kept
    assert s.class_names[: len(before) + 1] == before + ["zebra"]


def test_flush_uses_the_save_hook(sample_project):
    s = Session(Project(sample_project))
    assert s.flush() is True                          # nothing to save
    s.save_edits = lambda: False
    assert s.flush() is False
    s.save_edits = lambda: None                       # a hook without a result counts as saved
    assert s.flush() is True
