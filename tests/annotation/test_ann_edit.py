"""core/annotation/edit.py (the shape edits behind the canvas tools): strokes, merging, erasing, order,
vertices; labelme parity."""
from __future__ import annotations

import json
import subprocess

import numpy as np

from segstudio.core.annotation import Annotation, LabelSet, Shape, annotation_to_label, save_annotation, shape_to_mask
from segstudio.core.annotation import edit as ops

LABELS = LabelSet.from_names(["_background_", "lesion", "cyst"])


def test_stroke_has_width_and_round_caps():
    m = ops.stroke_mask([[50, 50], [100, 50]], 10, 200, 120)
    assert m[50, 75] and m[46, 75] and not m[44, 75] and not m[56, 75]
    assert m[50, 104] and not m[50, 107]          # round cap: radius 5 past the end
    assert not m[45, 104]                        # ... not a square cap
    dot = ops.stroke_mask([[20, 20]], 9, 50, 50)
    assert dot[20, 20] and dot.sum() > 50 and not dot[20, 26]
    line = shape_to_mask((120, 200), [[50, 50], [100, 50]], "line", line_width=10)
    assert (line & ~m).sum() == 0                # contains core's line rasterization of the same width


def test_stroke_is_clipped_to_the_image():
    m = ops.stroke_mask([[-5, -5], [3, 3]], 6, 20, 20)
    assert m.shape == (20, 20) and m[0, 0] and m[3, 3]


def test_paint_merges_touching_same_class_and_keeps_order():
    w = h = 64
    a = ops.mask_shape_from_full(ops.stroke_mask([[10, 10], [10, 30]], 4, w, h), Shape("lesion", [], "mask"))
    b = ops.mask_shape_from_full(ops.stroke_mask([[40, 40]], 4, w, h), Shape("lesion", [], "mask"))
    poly = Shape("cyst", [[0, 0], [5, 0], [5, 5]])
    shapes = [a, poly, b]
    out, idx = ops.paint_stroke(shapes, ops.stroke_mask([[10, 33], [20, 33]], 4, w, h), "lesion")
    assert len(out) == 3 and idx == 0 and out[1] is poly and out[2] is b
    full = ops.mask_shape_full(out[0], w, h)
    assert full[20, 10] and full[33, 20]
    out2, idx2 = ops.paint_stroke(out, ops.stroke_mask([[40, 10]], 4, w, h), "cyst")
    assert len(out2) == 4 and idx2 == 3 and out2[3].label == "cyst"   # masks only merge with masks


def test_erase_crops_and_removes_empty_masks():
    w = h = 64
    a = ops.mask_shape_from_full(ops.stroke_mask([[10, 10], [30, 10]], 4, w, h), Shape("lesion", [], "mask"))
    out = ops.erase_stroke([a], ops.stroke_mask([[25, 0], [25, 20], [35, 20], [35, 0]], 14, w, h))
    (s,) = out
    assert s.points[1][0] < 20 and s.mask.shape == (int(s.points[1][1] - s.points[0][1] + 1),
                                                    int(s.points[1][0] - s.points[0][0] + 1))
    assert ops.erase_stroke([a], ops.stroke_mask([[20, 10]], 60, w, h)) == []
    assert ops.erase_stroke([a], ops.stroke_mask([[20, 10]], 60, w, h), labels=["cyst"])[0] is a


def test_reorder_moves_blocks():
    s = [Shape(str(i), [[0, 0]], "point") for i in range(5)]
    out, sel = ops.reorder(s, [1, 2], 1)
    assert [x.label for x in out] == ["0", "3", "1", "2", "4"] and sel == [2, 3]
    out, sel = ops.reorder(s, [0, 4], -1)
    assert [x.label for x in out] == ["0", "1", "2", "4", "3"] and sel == [0, 3]
    out, sel = ops.reorder(s, [4], 3)
    assert out == s and sel == [4]


def test_vertex_helpers():
    p = Shape("lesion", [[0, 0], [10, 0], [10, 10]])
    at, d, (x, y) = ops.nearest_edge(p, 5, 1)
    assert at == 1 and d == 1 and (x, y) == (5, 0)
    assert ops.nearest_edge(p, 4, 6)[0] == 3                  # closing edge of a polygon
    q = ops.insert_vertex(p, at, x, y)
    assert len(q.points) == 4 and len(p.points) == 3
    assert ops.remove_vertex(p, 0) is None                    # a polygon keeps 3 vertices
    assert ops.remove_vertex(q, 1).points == p.points
    assert ops.remove_vertex(Shape("l", [[0, 0], [1, 1]], "rectangle"), 0) is None


def test_brush_masks_match_labelme_rasterization(tmp_path, labelme_python):
    """Mask shapes written by the brush load in labelme 6.3.1 and rasterize to the same label map."""
    w, h = 80, 60
    shapes, _ = ops.paint_stroke([], ops.stroke_mask([[10, 10], [50, 40], [70, 12]], 7, w, h), "lesion")
    shapes, _ = ops.paint_stroke(shapes, ops.stroke_mask([[15, 50]], 9, w, h), "cyst")
    shapes = ops.erase_stroke(shapes, ops.stroke_mask([[40, 0], [40, 60]], 5, w, h))
    from PIL import Image

    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(tmp_path / "im.png")
    ann = Annotation(shapes=shapes, image_path="im.png", image_height=h, image_width=w)
    save_annotation(ann, tmp_path / "im.json")
    ours, _ = annotation_to_label(ann, LABELS)
    code = (
        "import json, sys, numpy as np\n"
        "from labelme._label_file import LabelFile\n"
        "from labelme.utils.shape import shapes_to_label\n"
        "lf = LabelFile(sys.argv[1])\n"
        "cls, _ = shapes_to_label((60, 80), lf.shapes, {'_background_': 0, 'lesion': 1, 'cyst': 2})\n"
        "np.save(sys.argv[2], cls)\n"
    )
    r = subprocess.run([str(labelme_python), "-c", code, str(tmp_path / "im.json"), str(tmp_path / "ref.npy")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    ref = np.load(tmp_path / "ref.npy")
    assert (ref == 1).sum() > 100 and (ref == 2).sum() > 30
    np.testing.assert_array_equal(ours, ref)
    assert json.loads((tmp_path / "im.json").read_text())["shapes"][0]["shape_type"] == "mask"


def test_regions_work_in_windows_and_outside_the_image():
    w = h = 4096                       # full-image arrays are never built by the stroke path
    reg = ops.stroke_region([[4090, 4090], [5000, 5000]], 20, w, h)
    assert reg.x1 == w and reg.y1 == h and reg.mask.shape[0] < 20
    odd = Shape("lesion", [[-2, -2], [3, 3]], "mask", mask=np.ones((6, 6), bool))   # foreign file, off image
    out, idx = ops.paint_stroke([odd], ops.stroke_region([[4, 4]], 3, w, h), "lesion")
    assert len(out) == 1 and out[0].points[0] == [-2.0, -2.0] and out[0].mask[6, 6]
    assert ops.stroke_region([[-50, -50]], 4, w, h) is None
