"""DocumentModel: loading, saving, every edit helper as one undoable command, signals, selection."""
from __future__ import annotations

import json

import numpy as np
import pytest

from segstudio.core.annotation import Shape, load_annotation
from segstudio.core.errors import AnnotationError
from segstudio.gui.document import DocumentModel


def poly(label, x0, y0, x1, y1):
    return Shape(label=label, points=[[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


@pytest.fixture
def doc(qtbot, sample_project):
    d = DocumentModel()
    d.open(sample_project / "img_001.png", sample_project / "fresh.json")
    return d


def test_open_without_json_is_empty_and_relative(doc, sample_project):
    assert doc.shapes() == [] and doc.image.shape[:2] == (256, 256)
    assert doc.annotation.image_path == "img_001.png" and doc.image_size == (256, 256)
    assert not doc.is_modified


def test_open_existing_json_and_bad_json(qtbot, sample_project):
    d = DocumentModel()
    with qtbot.waitSignal(d.loaded):
        d.open(sample_project / "img_000.png", sample_project / "img_000.json")
    n = len(d.shapes())
    assert n == len(json.loads((sample_project / "img_000.json").read_text())["shapes"]) and n > 0
    (sample_project / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(AnnotationError, match="bad.json"):
        d.open(sample_project / "img_000.png", sample_project / "bad.json")
    assert len(d.shapes()) == n and d.json_path.name == "img_000.json"   # previous document kept


def test_each_helper_is_one_undoable_command(doc, qtbot):
    changes = []
    doc.changed.connect(lambda: changes.append(1))
    doc.add_shapes([poly("lesion", 10, 10, 50, 50), poly("cyst", 60, 60, 90, 90)])
    assert doc.undo_stack.count() == 1 and len(changes) == 1 and doc.selected() == [0, 1]
    snapshots = [[s.copy() for s in doc.shapes()]]
    doc.set_label([1], "lesion")
    doc.move_shapes([0], 5, 7)
    doc.reorder([0], 1)
    doc.replace_shapes([0], [poly("cyst", 0, 0, 9, 9)])
    doc.remove_shapes([1])
    doc.set_flags({"blurry": True})
    assert doc.undo_stack.count() == 7 and len(changes) == 7
    assert [s.label for s in doc.shapes()] == ["cyst"] and doc.annotation.flags == {"blurry": True}
    for _ in range(6):
        doc.undo_stack.undo()
    assert doc.shapes() == snapshots[0] and doc.annotation.flags == {}
    assert len(changes) == 13
    for _ in range(6):
        doc.undo_stack.redo()
    assert [s.label for s in doc.shapes()] == ["cyst"] and doc.annotation.flags == {"blurry": True}


def test_no_op_edits_push_nothing(doc):
    doc.add_shapes([poly("lesion", 10, 10, 50, 50)])
    doc.set_label([0], "lesion")
    doc.move_shapes([0], 0, 0)
    doc.reorder([0], 1)
    doc.set_flags({})
    doc.add_shapes([])
    assert doc.undo_stack.count() == 1


def test_move_is_clamped_and_masks_move_whole_pixels(doc):
    m = Shape(label="lesion", points=[[10, 10], [12, 11]], shape_type="mask", mask=np.ones((2, 3), bool))
    doc.add_shapes([poly("lesion", 10, 10, 50, 50), m])
    doc.move_shapes([0], -100, 300)
    assert np.array(doc.shapes()[0].points).min(0).tolist() == [0, 216]
    assert np.array(doc.shapes()[0].points).max(0).tolist() == [40, 256]
    doc.move_shapes([1], 2.6, 300)
    assert doc.shapes()[1].points == [[12, 254], [14, 255]]   # bbox stays on image pixels
    assert doc.shapes()[1].mask.shape == (2, 3)


def test_shapes_are_values_edits_never_mutate(doc):
    doc.add_shapes([poly("lesion", 10, 10, 50, 50)])
    original = doc.shapes()[0]
    before = original.copy()
    doc.move_shapes([0], 3, 3)
    doc.set_label([0], "cyst")
    assert original == before and doc.shapes()[0] is not original


def test_selection_is_not_an_edit(doc, qtbot):
    doc.add_shapes([poly("lesion", 10, 10, 50, 50), poly("cyst", 60, 60, 90, 90)])
    with qtbot.waitSignal(doc.selectionChanged) as sig:
        doc.select([1, 7, -1])
    assert sig.args == [[1]] and doc.undo_stack.count() == 1
    doc.remove_shapes([1])
    assert doc.selected() == []
    doc.undo_stack.undo()
    assert doc.selected() == [1]


def test_save_round_trip_marks_clean(doc, sample_project):
    doc.add_shapes([poly("lesion", 10, 10, 50, 50)])
    assert doc.is_modified
    path = doc.save()
    assert path == sample_project / "fresh.json" and not doc.is_modified
    ann = load_annotation(path)
    assert ann.shapes == doc.shapes() and ann.image_path == "img_001.png"
    assert not list(sample_project.glob("*.tmp*"))


def test_edits_without_a_document_raise(qtbot):
    d = DocumentModel()
    with pytest.raises(RuntimeError):
        d.add_shapes([poly("lesion", 0, 0, 5, 5)])
    with pytest.raises(RuntimeError):
        d.save()


def test_image_size_mismatch_is_refused(qtbot, sample_project):
    data = json.loads((sample_project / "img_002.json").read_text())
    data["imageWidth"] = 300
    (sample_project / "img_002.json").write_text(json.dumps(data))
    d = DocumentModel()
    with pytest.raises(AnnotationError, match=r"img_002.json.*256x256 differs"):
        d.open(sample_project / "img_002.png", sample_project / "img_002.json")
    assert d.annotation is None


def test_undo_depth_is_limited(doc):
    from segstudio.gui.document import UNDO_LIMIT

    for k in range(UNDO_LIMIT + 5):
        doc.add_shapes([poly("lesion", 1, 1, 2 + k % 50, 5)])
    assert doc.undo_stack.count() == UNDO_LIMIT
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert len(doc.shapes()) == 5
