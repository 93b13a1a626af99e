"""DocumentModel: loading, saving, every edit helper as one undoable command, signals, selection."""
from __future__ import annotations

import json

import numpy as np
import pytest

from segstudio.core.annotation import Shape, load_annotation
from segstudio.core.errors import AnnotationError
from segstudio.gui.document_model import DocumentModel


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
    from segstudio.gui.document_model import UNDO_LIMIT

    for k in range(UNDO_LIMIT + 5):
        doc.add_shapes([poly("lesion", 1, 1, 2 + k % 50, 5)])
    assert doc.undo_stack.count() == UNDO_LIMIT
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert len(doc.shapes()) == 5


def _varied_shapes():
    m = np.zeros((7, 9), bool)
    m[1:6, 2:8] = True
    return [
        poly("lesion", 10, 10, 40, 30),
        Shape(label="cyst", points=[[5, 5], [60.25, 70.5]], shape_type="rectangle", group_id=3,
              description="note ü", flags={"b": True, "a": False}),
        Shape(label="läsion", points=[[100, 100], [108, 106]], shape_type="mask", mask=m),
        Shape(label="lesion", points=[[1, 2], [3, 4], [5, 1]], shape_type="linestrip",
              extra={"line_color": [255, 0, 0, 128], "fill_color": None}),
        Shape(label="cyst", points=[[50.5, 60.5]], shape_type="point"),
    ]


def test_cached_save_is_byte_identical_to_core_and_encodes_only_changed_shapes(doc, tmp_path):
    """doc.save builds the JSON from per-shape pieces; the bytes equal core's save_annotation, before and
    after edits, and only the changed shapes are encoded again."""
    from segstudio.core.annotation.io import save_annotation

    doc.annotation.flags = {"reviewed": True}
    doc.annotation.extra = {"custom": {"k": [1, 2]}}
    doc.add_shapes(_varied_shapes())

    def same_as_core(name):
        ours, ref = tmp_path / f"{name}.json", tmp_path / f"{name}_ref.json"
        doc.save(ours)
        save_annotation(doc.annotation, ref)
        assert ours.read_bytes() == ref.read_bytes()

    same_as_core("first")
    encoded = doc.json_cache.encoded
    assert encoded == len(doc.shapes())
    same_as_core("again")
    assert doc.json_cache.encoded == encoded                      # nothing changed: nothing encoded
    doc.move_shapes([1], 3, 4)
    doc.set_label([2], "cyst")
    same_as_core("edited")
    assert doc.json_cache.encoded == encoded + 2                  # the two replaced shapes only
    doc.undo_stack.undo()
    same_as_core("undone")
    doc.remove_shapes(range(len(doc.shapes())))
    same_as_core("empty")


def test_cached_save_survives_a_shape_mutated_in_place(doc, tmp_path):
    """Shapes are replaced, never mutated, by every edit; a piece of code breaking that rule is still saved
    right (the cached text is checked against the shape's values)."""
    from segstudio.core.annotation.io import annotation_to_json

    doc.add_shapes(_varied_shapes())
    doc.save(tmp_path / "a.json")
    shapes = doc.shapes()
    shapes[0].points[1][0] = 44.0
    shapes[1].flags["b"] = False
    shapes[2].mask[0, 0] = True
    shapes[3].extra["line_color"] = [0, 0, 0, 0]
    shapes[4].group_id = 7
    doc.save(tmp_path / "b.json")
    assert (tmp_path / "b.json").read_text(encoding="utf-8") == annotation_to_json(doc.annotation)


def test_cached_save_keeps_embedded_only_image_data(qtbot, tmp_path, sample_project_ro):
    """A JSON whose image exists only as imageData keeps it, as core's save_annotation does."""
    import base64

    from segstudio.core.annotation.io import save_annotation

    data = json.loads((sample_project_ro / "img_000.json").read_text())
    data["imageData"] = base64.b64encode((sample_project_ro / "img_000.png").read_bytes()).decode()
    data["imagePath"] = "elsewhere/img_000.png"
    (tmp_path / "only.json").write_text(json.dumps(data))
    d = DocumentModel()
    d.open(tmp_path / "missing.png", tmp_path / "only.json")
    d.add_shapes([poly("cyst", 1, 1, 9, 9)])
    d.save()
    save_annotation(d.annotation, tmp_path / "ref.json")
    assert (tmp_path / "only.json").read_bytes() == (tmp_path / "ref.json").read_bytes()
    assert json.loads((tmp_path / "only.json").read_text())["imageData"]
