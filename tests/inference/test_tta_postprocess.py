"""Post-processing chosen on the validation split: keep-largest-component, TTA, recorded and applied."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from inference_helpers import TwoClassThreshold, make_checkpoint, threshold_registered

from segstudio.core.checkpoint import load_checkpoint
from segstudio.core.inference import PredictionResult, Predictor
from segstudio.core.inference.postprocess import (apply_postprocess, keep_largest_component, select_postprocessing,
                                                  vote_components)


def save_image(path, array):
    from PIL import Image

    Image.fromarray(array).save(path)


def blobs(h=64, w=64, big=(8, 8, 28, 28), small=(44, 44, 48, 48)):
    """An RGB image whose red channel is bright in a big and a small square (the threshold model's
    foreground), and the ground truth with only the big square."""
    img = np.full((h, w, 3), 40, dtype=np.uint8)
    gt = np.zeros((h, w), dtype=np.uint8)
    y0, x0, y1, x1 = big
    img[y0:y1, x0:x1, 0] = 230
    gt[y0:y1, x0:x1] = 1
    if small:
        y0, x0, y1, x1 = small
        img[y0:y1, x0:x1, 0] = 230
    return img, gt


def test_keep_largest_component_per_class_and_merged():
    lab = np.zeros((20, 20), dtype=np.int64)
    lab[1:8, 1:8] = 1        # big class 1
    lab[15:17, 15:17] = 1    # small class 1
    lab[10:13, 1:4] = 2      # class 2 (one region, smaller than class 1's big one)
    out = keep_largest_component(lab, [1])
    assert (out[1:8, 1:8] == 1).all() and (out[15:17, 15:17] == 0).all() and (out[10:13, 1:4] == 2).all()
    merged = keep_largest_component(lab, [], merged=True)
    assert (merged[10:13, 1:4] == 0).all() and (merged[15:17, 15:17] == 0).all() and (merged[1:8, 1:8] == 1).all()
    diag = np.zeros((5, 5), dtype=np.int64)
    diag[0, 0] = diag[1, 1] = 1                  # 8-connected: one region
    assert (keep_largest_component(diag, [1]) == diag).all()
    assert (keep_largest_component(lab, [3]) == lab).all()   # absent class: unchanged


def test_vote_gives_each_region_its_majority_class():
    lab = np.zeros((20, 20), dtype=np.int64)
    lab[1:9, 1:9] = 1
    lab[3:5, 3:5] = 2          # a class-2 patch inside a class-1 region: becomes 1
    lab[12:15, 12:15] = 2
    lab[12, 12] = 1            # a class-1 pixel inside a class-2 region: becomes 2
    lab[18, 1] = 2             # a lone pixel keeps its class
    out = vote_components(lab)
    assert (out[1:9, 1:9] == 1).all() and (out[12:15, 12:15] == 2).all() and out[18, 1] == 2
    assert (out == 0).sum() == (lab == 0).sum()       # background untouched, nothing removed
    assert (vote_components(np.zeros((4, 4), dtype=np.int64)) == 0).all()
    tie = np.array([[1, 2]])
    assert (vote_components(tie) == 1).all()          # a tie: the lower class id
    assert lab[3, 3] == 2                             # the input is not changed


def test_apply_postprocess_votes_before_keeping_the_largest():
    lab = np.zeros((20, 20), dtype=np.int64)
    lab[1:9, 1:9] = 1
    lab[1:9, 5:9] = 2          # 32 px of class 1, 32 px of class 2... plus:
    lab[1, 1:5] = 2            # 36 vs 28: the region votes 2
    lab[15:17, 15:17] = 2      # a small separate class-2 region
    names = ["_background_", "benign", "malignant"]
    out = apply_postprocess(lab, {"vote": True, "keep_largest": ["malignant"], "merged": False}, names)
    assert (out[1:9, 1:9] == 2).all() and (out[15:17, 15:17] == 0).all()
    assert (apply_postprocess(lab, {"vote": False, "keep_largest": []}, names) == lab).all()


def test_apply_postprocess_by_class_name():
    lab = np.zeros((10, 10), dtype=np.int64)
    lab[0:4, 0:4] = 1
    lab[8, 8] = 1
    spec = {"tta": False, "keep_largest": ["fg"], "merged": False}
    assert apply_postprocess(lab, spec, ["_background_", "fg"])[8, 8] == 0
    assert apply_postprocess(lab, None, ["_background_", "fg"])[8, 8] == 1
    assert apply_postprocess(lab, {"keep_largest": []}, ["_background_", "fg"])[8, 8] == 1


@pytest.fixture
def blob_run(tmp_path):
    """A run folder whose best.pt is the threshold model, on a dataset where every image has a spurious small
    blob: keep-largest-component helps, TTA (the model is flip-equivariant) does not."""
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    (data / "classes.txt").write_text("_background_\nfg\n")
    names = []
    for i in range(4):
        img, gt = blobs(big=(4 + i, 6, 30 + i, 34))
        save_image(data / "images" / f"im{i}.png", img)
        save_image(data / "masks" / f"im{i}.png", gt * 255)
        names.append(f"im{i}")
    run = tmp_path / "run"
    run.mkdir()
    (run / "split.json").write_text(json.dumps({"train": names[:1], "val": names[1:]}))
    with threshold_registered():
        ckpt = make_checkpoint(run / "best.pt")
        payload = load_checkpoint(ckpt)
        payload["config"] = {"data": str(data), "labels": None}
        import torch

        torch.save(payload, ckpt)
        yield run, data


def test_selection_on_validation_records_and_predict_applies_it(blob_run):
    run, data = blob_run
    spec = select_postprocessing(run / "best.pt", device="cpu")
    assert spec["n_val"] == 3
    assert spec["keep_largest"] == ["fg"] and spec["tta"] is False
    assert spec["val_miou"]["plain/largest:fg"] > spec["val_miou"]["plain/none"]
    assert spec["val_miou"]["tta/none"] == pytest.approx(spec["val_miou"]["plain/none"])
    assert load_checkpoint(run / "best.pt")["postprocess"]["keep_largest"] == ["fg"]

    img, gt = blobs()
    pred = Predictor.from_checkpoint(run / "best.pt", device="cpu")
    assert pred.postprocess["keep_largest"] == ["fg"] and pred.tta is False
    assert (pred.predict(img).label == gt).all()                    # the small blob is gone
    raw = Predictor.from_checkpoint(run / "best.pt", device="cpu", postprocess=False)
    assert raw.predict(img).label[44:48, 44:48].all()                # without it, it stays
    forced = Predictor.from_checkpoint(run / "best.pt", device="cpu", tta=True)
    assert forced.tta is True


def test_nothing_is_kept_when_it_does_not_help(blob_run, tmp_path):
    run, data = blob_run
    for i in range(4):   # no spurious blobs any more: keep-largest changes nothing, TTA neither
        img, gt = blobs(big=(4 + i, 6, 30 + i, 34), small=None)
        save_image(data / "images" / f"im{i}.png", img)
    spec = select_postprocessing(run / "best.pt", device="cpu", write=False)
    assert spec["keep_largest"] == [] and spec["tta"] is False and spec["merged"] is False
    assert "postprocess" not in load_checkpoint(run / "best.pt")    # write=False


def test_recorded_tta_is_used_by_default(threshold_ckpt):
    ckpt = load_checkpoint(threshold_ckpt)
    ckpt["postprocess"] = {"tta": True, "keep_largest": [], "merged": False}
    import torch

    with threshold_registered():
        torch.save(ckpt, threshold_ckpt)
        assert Predictor.from_checkpoint(threshold_ckpt, device="cpu").tta is True
        assert Predictor.from_checkpoint(threshold_ckpt, device="cpu", tta=False).tta is False
    assert Predictor.from_checkpoint.__doc__ and "postprocess" in Predictor.from_checkpoint.__doc__


@pytest.mark.parametrize("augment, overrides, axes", [
    ("light", {}, ("h",)),                                   # the light preset mirrors left-right only
    ("light", {"vflip_p": 0.5}, ("h", "v")),                 # the planner adds up-down flips (dermoscopy)
    ("strong", {"vflip_p": 0.0}, ("h",)),                    # ... and leaves them out for ultrasound
    ("none", {}, ()),
    ("no-such-preset", {}, ("h", "v")),                      # unreadable: both, as before
])
def test_tta_mirrors_only_along_the_axes_the_model_was_trained_with(threshold_ckpt, augment, overrides, axes):
    import torch

    ckpt = load_checkpoint(threshold_ckpt)
    ckpt["config"] = dict(ckpt.get("config") or {}, augment=augment, augment_overrides=overrides)
    with threshold_registered():
        torch.save(ckpt, threshold_ckpt)
        assert Predictor.from_checkpoint(threshold_ckpt, device="cpu").tta_flips == axes
        given = Predictor.from_checkpoint(threshold_ckpt, device="cpu", tta_flips=("v",))
        assert given.tta_flips == ("v",)


def test_predict_command_applies_the_recorded_choice(blob_run, tmp_path, capsys):
    from segstudio.cli import main
    from segstudio.core.annotation.masks import read_label_mask

    run, data = blob_run
    select_postprocessing(run / "best.pt", device="cpu")
    out = tmp_path / "pred"
    with threshold_registered():
        assert main(["predict", "--weights", str(run / "best.pt"), "--images", str(data / "images"),
                     "--out", str(out), "--device", "cpu", "--quiet"]) == 0
        assert "keep-largest fg" in capsys.readouterr().out
        m = np.asarray(read_label_mask(out / "im0.png", 2))
        assert m[44:48, 44:48].max() == 0
        out2 = tmp_path / "pred2"
        assert main(["predict", "--weights", str(run / "best.pt"), "--images", str(data / "images"),
                     "--out", str(out2), "--device", "cpu", "--quiet", "--no-postprocess"]) == 0
        assert np.asarray(read_label_mask(out2 / "im0.png", 2))[44:48, 44:48].min() == 1


def test_the_class_vote_is_chosen_when_lesions_come_out_mixed(tmp_path):
    """Three classes; every lesion is class 1 but a patch of it looks like class 2: the vote repairs it and is
    chosen; predict then gives whole lesions one class."""
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    (data / "classes.txt").write_text("_background_\nbenign\nmalignant\n")

    def lesion(shift):
        img = np.full((64, 64, 3), 40, dtype=np.uint8)
        gt = np.zeros((64, 64), dtype=np.uint8)
        img[8 + shift:36 + shift, 8:36, 0] = 230
        img[12 + shift:18 + shift, 12:18, 1] = 230       # looks malignant
        gt[8 + shift:36 + shift, 8:36] = 1
        return img, gt

    names = []
    for i in range(4):
        img, gt = lesion(i)
        save_image(data / "images" / f"im{i}.png", img)
        save_image(data / "masks" / f"im{i}.png", gt)
        names.append(f"im{i}")
    run = tmp_path / "run"
    run.mkdir()
    (run / "split.json").write_text(json.dumps({"train": names[:1], "val": names[1:]}))
    with threshold_registered("test_two_class", TwoClassThreshold):
        ckpt = make_checkpoint(run / "best.pt", "test_two_class", class_names=("_background_", "benign",
                                                                                "malignant"))
        payload = load_checkpoint(ckpt)
        payload["config"] = {"data": str(data), "labels": None}
        torch.save(payload, ckpt)
        spec = select_postprocessing(ckpt, device="cpu")
        assert spec["vote"] is True and spec["merged"] is False
        assert spec["val_miou"]["plain/vote"] > spec["val_miou"]["plain/none"] + 0.1
        img, gt = lesion(0)
        pred = Predictor.from_checkpoint(ckpt, device="cpu")
        assert (pred.predict(img).label == gt).all()
        raw = Predictor.from_checkpoint(ckpt, device="cpu", postprocess=False)
        assert (raw.predict(img).label == 2).sum() == 36
        from segstudio.core.inference.postprocess import describe

        assert "one class per region" in describe(spec)


class _FixedPredictor:
    """Stands in for a Predictor in the combination check: the same raw label map for every image."""

    def __init__(self, label):
        self.tta, self.label = False, label

    def predict(self, image):
        return PredictionResult(self.label.copy(), None)


class _Images:
    def __init__(self, gt):
        self.gt = gt

    def load_raw(self, i):
        return np.zeros(self.gt.shape + (3,), dtype=np.uint8), self.gt


def test_a_combination_no_better_than_its_best_option_alone_gives_way_to_that_option():
    from segstudio.core.inference.postprocess import _check_combination

    names = ["_background_", "benign", "malignant"]
    gt = np.zeros((20, 20), dtype=np.int64)
    gt[1:9, 1:9] = 1
    raw = gt.copy()
    raw[2:4, 2:4] = 2             # a mixed region (the vote fixes it) ...
    raw[15:17, 15:17] = 1         # ... and a false benign blob (keep-largest removes it)
    pred, ds, helped = _FixedPredictor(raw), _Images(gt), ["vote", "largest:benign"]

    def check(vote_score, largest_score):
        spec = {"tta": False, "vote": True, "merged": False, "keep_largest": ["benign"],
                "val_miou": {"plain/vote": vote_score, "plain/largest:benign": largest_score}}
        return _check_combination(spec, helped, pred, ds, [0, 1], names)

    both = check(0.0, 0.0)        # each alone scored lower than the two together: both kept
    combined = both["val_miou"]["combined"]
    assert combined == pytest.approx(1.0) and both["vote"] and both["keep_largest"] == ["benign"]
    alone = check(combined, combined - 0.1)   # the vote alone did as well: the vote alone is kept
    assert alone["vote"] is True and alone["keep_largest"] == [] and alone["merged"] is False
    alone = check(0.5, combined + 0.01)       # keep-largest alone did better
    assert alone["vote"] is False and alone["keep_largest"] == ["benign"]
