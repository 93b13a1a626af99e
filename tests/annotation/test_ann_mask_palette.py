"""RGB masks are read by their colours (every VOC palette entry, grey ones included); masks where 255 =
ignore covers most labelled pixels warn (issue 16, clauses 2 and 4)."""
from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from PIL import Image

from segstudio.core.annotation import label_to_color, read_label_mask, voc_palette, write_label_png
from segstudio.core.annotation.masks import SegStudioWarning, ignore_convention_warning
from segstudio.core.errors import MaskError

GREY_ENTRIES = [k for k, c in enumerate(voc_palette(256)) if c[0] == c[1] == c[2]]


def test_the_grey_palette_entries_are_0_7_56_63():
    assert GREY_ENTRIES == [0, 7, 56, 63]


@pytest.mark.parametrize("num_classes", [21, 80, 255])
def test_every_palette_entry_reads_back_as_its_class(tmp_path, num_classes):
    """For each class k: a mask of background + k, and a mask of k alone (a 'car'-only mask is all grey)."""
    for k in range(num_classes):
        lbl = np.zeros((3, 4), np.int64)
        lbl[1:, 2:] = k
        Image.fromarray(label_to_color(lbl)).save(tmp_path / "m.png")
        assert read_label_mask(tmp_path / "m.png", num_classes).tolist() == lbl.tolist(), k
        Image.fromarray(label_to_color(np.full((2, 2), k))).save(tmp_path / "only.png")
        assert read_label_mask(tmp_path / "only.png", num_classes).tolist() == [[k, k], [k, k]], k
        Image.fromarray(label_to_color(lbl)).convert("RGBA").save(tmp_path / "a.png")
        assert read_label_mask(tmp_path / "a.png", num_classes).tolist() == lbl.tolist(), k


def test_grey_entries_are_classes_not_grey_values(tmp_path):
    # 80 classes: (64, 64, 64) is class 56, although 64 would be a valid grey class id
    Image.fromarray(label_to_color(np.array([[0, 56], [7, 63]]))).save(tmp_path / "g.png")
    assert read_label_mask(tmp_path / "g.png", 80).tolist() == [[0, 56], [7, 63]]
    # 21 classes: a 'car'-only mask (128, 128, 128) is class 7, not the out-of-range grey value 128
    Image.fromarray(label_to_color(np.full((2, 3), 7))).save(tmp_path / "car.png")
    assert (read_label_mask(tmp_path / "car.png", 21) == 7).all()


def test_colourless_rgb_outside_the_palette_is_read_as_grey(tmp_path):
    white = np.stack([np.array([[0, 255], [255, 0]], np.uint8)] * 3, -1)  # binary mask saved as RGB
    Image.fromarray(white).save(tmp_path / "w.png")
    assert read_label_mask(tmp_path / "w.png", 2).tolist() == [[0, 1], [1, 0]]
    ids = np.stack([np.array([[0, 1], [2, 0]], np.uint8)] * 3, -1)  # class ids saved as RGB (near black)
    Image.fromarray(ids).save(tmp_path / "ids.png")
    assert read_label_mask(tmp_path / "ids.png", 3).tolist() == [[0, 1], [2, 0]]
    Image.fromarray(np.stack([np.array([[0, 128]], np.uint8)] * 3, -1)).save(tmp_path / "g.png")
    with pytest.raises(MaskError, match=r"g.png: mask value\(s\) 128 outside the 2 classes"):
        read_label_mask(tmp_path / "g.png", 2)  # (128,128,128) is class 7: not among 2 classes, nor grey 128


def _read_warnings(path, n):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ids = read_label_mask(path, n)
    return ids, [str(w.message) for w in caught if issubclass(w.category, SegStudioWarning)]


def test_palette_mask_with_only_0_and_255_warns(tmp_path):
    write_label_png(tmp_path / "bin.png", np.array([[0, -1], [-1, 0]]))  # 255 stored: 'ignore'
    ids, msgs = _read_warnings(tmp_path / "bin.png", 2)
    assert ids.tolist() == [[0, -1], [-1, 0]]  # still read by the convention
    assert len(msgs) == 1 and msgs[0].startswith(f"{tmp_path / 'bin.png'}: its only non-zero value is 255")
    assert "'ignore'" in msgs[0] and "grayscale" in msgs[0]


def test_ignore_share_above_half_warns_and_voc_boundaries_do_not(tmp_path):
    lbl = np.zeros((10, 10), np.int64)
    lbl[2:8, 2:8] = -1
    lbl[4:6, 4:6] = 1  # 32 ignore of 36 labelled pixels
    write_label_png(tmp_path / "most.png", lbl)
    _ids, msgs = _read_warnings(tmp_path / "most.png", 2)
    assert len(msgs) == 1 and "255 covers 89% of its labelled (non-zero) pixels" in msgs[0]
    lbl[1:9, 1:9] = -1
    lbl[2:8, 2:8] = 1  # a VOC-like thin ignore border: 28 of 64
    write_label_png(tmp_path / "voc.png", lbl)
    assert _read_warnings(tmp_path / "voc.png", 2)[1] == []
    lbl[1:9, 1:9] = 1
    lbl[1, 1:9] = -1  # 8 of 64
    write_label_png(tmp_path / "few.png", lbl)
    assert _read_warnings(tmp_path / "few.png", 2)[1] == []
    assert ignore_convention_warning(np.zeros((3, 3), np.int64), "x") is None
    rgb = label_to_color(np.array([[0, -1], [-1, -1]]))  # the RGB ignore colour counts the same
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    assert len(_read_warnings(tmp_path / "rgb.png", 2)[1]) == 1


def test_evaluate_prints_the_warning(tmp_path):
    """`segstudio evaluate` on 0/255 palette ground truth with an all-background prediction: mIoU would be a
    silent 1.0; the command names the file and the convention on stderr."""
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir(), pred.mkdir()
    (tmp_path / "classes.txt").write_text("_background_\nlesion\n")
    lbl = np.zeros((8, 8), np.int64)
    lbl[2:6, 2:6] = -1
    write_label_png(gt / "a.png", lbl)
    write_label_png(pred / "a.png", np.zeros((8, 8), np.int64))
    r = subprocess.run([sys.executable, "-m", "segstudio", "evaluate", "--pred", str(pred), "--gt", str(gt),
                        "-q", "--no-hd95"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"warning: {gt / 'a.png'}: its only non-zero value is 255" in r.stderr
    assert r.stderr.count("warning:") == 1
