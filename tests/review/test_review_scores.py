"""core.review scores (score_image, evaluate_masks, evaluate_dirs) and the `segstudio evaluate` command, end to
end: hand-worked values and the conventions of docs/metrics.md."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from segstudio.cli import main
from segstudio.core.errors import DatasetError, MaskError
from segstudio.core.metrics import ConfusionMatrix
from segstudio.core.review import evaluate_dirs, evaluate_masks, result_to_json, score_image

NAMES = ["_background_", "a", "b"]


def _pair():
    gt = np.zeros((4, 4), np.int64)
    gt[0, :2] = 1          # class a: 2 px
    gt[3, 3] = -1          # ignore
    pred = np.zeros((4, 4), np.int64)
    pred[0, 0] = 1         # a: TP 1, FN 1
    pred[2, 2] = 2         # b: FP only (absent from gt)
    pred[3, 3] = 2         # on an ignore pixel: not counted anywhere
    return pred, gt


def test_score_image_hand_worked():
    pred, gt = _pair()
    s = score_image(pred, gt, 3)
    assert s.iou[1] == 0.5 and s.iou[2] == 0.0
    assert s.iou[0] == pytest.approx(12 / 14)  # bg: TP 12 (15 valid - 3), union 12 + 1 (FN) + 1 (FP)
    assert s.fg_iou == 0.25  # mean over foreground classes present in pred or gt: (0.5 + 0) / 2
    assert s.miou == pytest.approx((12 / 14 + 0.5 + 0.0) / 3)   # all classes present, background included
    assert s.precision[1] == 1.0 and s.recall[1] == 0.5 and s.pa[1] == 0.5 and s.precision[2] == 0.0
    assert s.accuracy == pytest.approx(13 / 15)
    # a: surfaces {(0,0)} vs {(0,0),(0,1)} -> distances [0] + [0, 1]; 95th percentile (linear) = 0.9
    assert s.hd95[1] == pytest.approx(0.9) and math.isnan(s.hd95[2]) and math.isnan(s.hd95[0])
    assert (s.hd95_n, s.hd95_undefined, s.hd95_absent) == ([0, 1, 0], [0, 0, 1], [0, 0, 0])
    assert s.hd95_images == (0, 1)                   # b is invented: this image's HD95s are not all defined
    empty = score_image(np.zeros((3, 3), int), np.zeros((3, 3), int), 2)
    assert empty.fg_iou == 1.0 and empty.miou == 1.0 and math.isnan(empty.iou[1])
    assert math.isnan(empty.hd95[1]) and empty.hd95_absent == [0, 1] and empty.hd95_images == (1, 1)


def test_ignore_in_a_prediction_counts_as_background():
    pred, gt = _pair()
    holed = pred.copy()
    holed[1, 1] = -1
    assert score_image(holed, gt, 3).confusion.tolist() == score_image(pred, gt, 3).confusion.tolist()


def test_evaluate_masks_schema_and_values():
    pred, gt = _pair()
    perfect = (np.eye(4, dtype=np.int64), np.eye(4, dtype=np.int64))
    ev = evaluate_masks([("x", pred, gt), ("y", *perfect)], NAMES)
    r = ev.to_dict()
    cm = ConfusionMatrix(3)
    cm.update(pred, gt)
    cm.update(*perfect)
    ref = cm.compute()
    assert r["classes"] == NAMES and r["n_images"] == 2
    for c, n in enumerate(NAMES):
        assert set(r["per_class"][n]) == {"iou", "dice", "precision", "recall", "pa", "hd95", "hd95_images",
                                          "hd95_undefined", "hd95_absent"}
        assert r["per_class"][n]["iou"] == pytest.approx(ref["iou"][c])
    assert r["per_class"]["a"]["hd95"] == pytest.approx((0.9 + 0.0) / 2)
    assert math.isnan(r["per_class"]["b"]["hd95"])  # only image x has b, where it is undefined (gt empty)
    assert (r["per_class"]["a"]["hd95_images"], r["per_class"]["a"]["hd95_undefined"]) == (2, 0)
    assert (r["per_class"]["b"]["hd95_images"], r["per_class"]["b"]["hd95_undefined"]) == (0, 1)
    assert r["per_class"]["b"]["hd95_absent"] == 1          # image y has no b at all: not in the mean either
    assert r["per_class"]["_background_"]["hd95_images"] == 0
    assert r["mean"]["miou"] == pytest.approx(ref["miou"])
    assert r["mean"]["fg_miou"] == pytest.approx((ref["iou"][1] + ref["iou"][2]) / 2)
    assert r["accuracy"] == pytest.approx(ref["accuracy"])
    assert r["ap"] == {"50": 0.5, "70": 0.5, "90": 0.5}
    assert [im["image"] for im in r["per_image"]] == ["x", "y"]
    assert r["per_image"][0]["ious"]["a"] == 0.5 and r["per_image"][0]["iou"] == 0.25
    assert r["per_image"][0]["miou"] == pytest.approx(ev.per_image["x"].miou) == pytest.approx(ev.miou("x"))
    assert math.isnan(r["per_image"][1]["hd95"]["b"])      # b in neither mask of y: undefined (was 0.0)
    assert r["mean_image_iou"] == pytest.approx((0.25 + 1.0) / 2)
    doc = json.loads(result_to_json(r))  # strict JSON: nan -> null
    assert doc["per_class"]["b"]["hd95"] is None and doc["per_class"]["_background_"]["hd95"] is None


def test_hd95_coverage_with_an_empty_prediction(tmp_path, capsys):
    """An image whose prediction is empty has no HD95 for the class: the set HD95 covers the other images,
    and the counts say so (JSON and the command's table)."""
    gt = np.zeros((8, 8), np.int64)
    gt[2:5, 2:5] = 1
    shifted = np.zeros((8, 8), np.int64)
    shifted[3:6, 2:5] = 1
    pairs = [("good", gt.copy(), gt), ("shifted", shifted, gt), ("missed", np.zeros((8, 8), np.int64), gt)]
    r = evaluate_masks(pairs, NAMES[:2]).to_dict()
    a = r["per_class"]["a"]
    assert math.isnan(r["per_image"][2]["hd95"]["a"])
    assert a["hd95"] == pytest.approx((0.0 + r["per_image"][1]["hd95"]["a"]) / 2)
    assert (a["hd95_images"], a["hd95_undefined"]) == (2, 1)
    assert evaluate_masks(pairs, NAMES[:2], with_hd95=False).to_dict()["per_class"]["a"]["hd95_images"] == 0
    from segstudio.commands.evaluate import format_table

    assert "HD95 over the images where it is defined" in format_table(r) and "a 2 of 3" in format_table(r)
    assert "HD95 over" not in format_table(evaluate_masks(pairs[:2], NAMES[:2]).to_dict())


def test_errors():
    with pytest.raises(MaskError, match="size"):
        evaluate_masks([("x", np.zeros((2, 3), int), np.zeros((3, 2), int))], NAMES)
    with pytest.raises(MaskError, match="outside"):
        evaluate_masks([("x", np.full((2, 2), 3), np.zeros((2, 2), int))], NAMES)
    with pytest.raises(DatasetError):
        evaluate_masks([], NAMES)


def _write(folder, stem, arr, mode="P"):
    folder.mkdir(parents=True, exist_ok=True)
    a = np.where(arr < 0, 255, arr).astype(np.uint8)
    im = Image.fromarray(a, mode="L")
    if mode == "P":
        im = im.convert("P")
    im.save(folder / f"{stem}.png")


def test_evaluate_dirs_pairs_by_stem_and_lists_missing(tmp_path):
    pred, gt = _pair()
    _write(tmp_path / "gt", "one", gt)
    _write(tmp_path / "gt", "two", gt)
    _write(tmp_path / "pred", "one", pred)
    with pytest.raises(DatasetError, match="two"):
        evaluate_dirs(tmp_path / "pred", tmp_path / "gt", NAMES)
    _write(tmp_path / "pred", "two", gt)
    _write(tmp_path / "pred", "extra", gt)
    r = evaluate_dirs(tmp_path / "pred", tmp_path / "gt", NAMES).to_dict()
    assert [im["image"] for im in r["per_image"]] == ["one", "two"]
    assert r["unmatched_predictions"] == ["extra"]
    assert r["per_image"][0]["ious"]["a"] == 0.5 and r["per_image"][1]["iou"] == 1.0


def test_cli_end_to_end(tmp_path, capsys):
    pred, gt = _pair()
    _write(tmp_path / "gt", "one", gt)
    _write(tmp_path / "pred", "one", pred)
    (tmp_path / "classes.txt").write_text("_background_\na\nb\n")
    out = tmp_path / "res.json"
    rc = main(["evaluate", "--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--json", str(out),
               "-q", "--per-image"])  # classes.txt found beside the gt folder
    text = capsys.readouterr().out
    assert rc == 0
    assert "a " in text and "0.5000" in text and "AP50" in text and "one: miou 0.4524 fg iou 0.2500" in text
    doc = json.loads(out.read_text())
    assert doc["per_class"]["a"]["iou"] == 0.5 and doc["per_image"][0]["image"] == "one"
    # a bad mask value is an error naming the file, exit 2
    bad = np.full((4, 4), 7)
    _write(tmp_path / "pred", "one", bad)
    rc = main(["evaluate", "--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "-q"])
    assert rc == 2
    assert "one.png" in capsys.readouterr().err


def test_cli_missing_classes_file(tmp_path, capsys):
    _write(tmp_path / "g" / "gt", "one", np.zeros((2, 2), int))
    rc = main(["evaluate", "--pred", str(tmp_path / "g" / "gt"), "--gt", str(tmp_path / "g" / "gt"), "-q"])
    assert rc == 2 and "--classes" in capsys.readouterr().err


def test_ph2_masks_against_themselves(shared_data, tmp_path, capsys):
    ph2 = shared_data / "ph2"
    out = tmp_path / "ph2.json"
    rc = main(["evaluate", "--pred", str(ph2 / "masks"), "--gt", str(ph2 / "masks"),
               "--classes", str(ph2 / "classes.txt"), "--json", str(out), "-q"])
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["n_images"] == 160
    assert doc["mean"]["miou"] == 1.0 and doc["per_class"]["lesion"]["hd95"] == 0.0
    assert doc["ap"] == {"50": 1.0, "70": 1.0, "90": 1.0}


def test_custom_ignore_index_in_arrays():
    pred, gt = _pair()
    gt255 = np.where(gt < 0, 255, gt)
    a = evaluate_masks([("x", pred, gt)], NAMES)
    b = evaluate_masks([("x", pred, gt255)], NAMES, ignore_index=255)
    assert a.to_dict()["confusion"] == b.to_dict()["confusion"]
    with pytest.raises(MaskError, match=r"\[255\]"):
        evaluate_masks([("x", pred, gt255)], NAMES)
