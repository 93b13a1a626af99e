"""Active learning scores (core/inference/uncertainty.py) and `segstudio suggest`."""
import json

import numpy as np
import pytest
import torch
from inference_helpers import Threshold, make_checkpoint, random_image, threshold_registered
from PIL import Image
from torch import nn

from segstudio.cli import main
from segstudio.core.errors import Cancelled, SegStudioError
from segstudio.core.inference import Predictor
from segstudio.core.inference.uncertainty import image_uncertainty, rank_uncertainty, score_items


def _predictor(model=None, img_size=64):
    return Predictor(model or Threshold(), ["_background_", "fg"], img_size=img_size, device="cpu")


def _flat(value, h=64, w=64):
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = value
    return img


class LeftRight(nn.Module):
    """logit(class 1) = x[:, :, :, j+1] - x[:, :, :, j-1]: the answer flips with a left-right flip."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, (1, 3), padding=(0, 1), bias=False)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.weight[1, 0, 0, 0] = -20.0
            self.conv.weight[1, 0, 0, 2] = 20.0

    def forward(self, x):
        return self.conv(x)


def test_entropy_is_high_where_the_model_is_unsure_and_low_where_it_is_sure():
    pred = _predictor()
    unsure = image_uncertainty(pred, _flat(128), "unsure")   # R = 0.502: logit 0.02, p ~ 0.5
    sure = image_uncertainty(pred, _flat(255), "sure")       # logit 5: p = 0.993
    assert unsure.entropy > 0.99
    assert sure.entropy < 0.1
    assert unsure.disagreement == sure.disagreement == 0.0   # a pointwise model agrees with its flips
    assert [u.name for u in rank_uncertainty([sure, unsure])] == ["unsure", "sure"]
    assert unsure.score == pytest.approx((unsure.entropy + unsure.disagreement) / 2)


def test_letterbox_padding_is_left_out_of_the_means():
    # a 32x64 image letterboxed into 64x64: half the canvas is padding (0 = a confident background)
    u = image_uncertainty(_predictor(), _flat(128, 32, 64))
    assert u.entropy > 0.99


def test_disagreement_between_flips_is_measured():
    img = random_image(64, 64, seed=3)
    assert image_uncertainty(_predictor(), img).disagreement == 0.0
    lr = image_uncertainty(_predictor(LeftRight()), img)
    assert lr.disagreement > 0.3


def test_failures_are_listed_and_cancel_stops():
    images = {"a": _flat(128), "b": _flat(255)}

    def load(name):
        if name == "bad":
            raise SegStudioError("unreadable image", f"/x/{name}.png")
        return images[name]

    seen = []
    report = score_items(_predictor(), ["b", "bad", "a"], load=load, progress=lambda d, t, m: seen.append(d))
    assert report.names() == ["a", "b"]
    assert report.failures == [("bad", "/x/bad.png: unreadable image")]
    assert seen[-1] == 3
    with pytest.raises(Cancelled):
        score_items(_predictor(), ["a"], load=load, cancel=lambda: True)


def test_suggest_cli_ranks_the_unannotated_images(tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(_flat(128)).save(folder / "unsure.png")
    Image.fromarray(_flat(150)).save(folder / "middle.png")
    Image.fromarray(_flat(255)).save(folder / "sure.png")
    Image.fromarray(_flat(128)).save(folder / "done.png")
    (folder / "done.json").write_text(json.dumps({
        "version": "5.5.0", "flags": {}, "imagePath": "done.png", "imageData": None, "imageHeight": 64,
        "imageWidth": 64, "shapes": [{"label": "fg", "points": [[1, 1], [9, 1], [9, 9]], "shape_type": "polygon",
                                       "group_id": None, "flags": {}, "description": ""}]}))
    with threshold_registered():
        ckpt = make_checkpoint(tmp_path / "best.pt")
        assert main(["suggest", "--weights", str(ckpt), "--images", str(folder), "--quiet",
                     "--json", str(tmp_path / "rank.json")]) == 0
        out = capsys.readouterr().out
        rows = [line.split()[1] for line in out.splitlines()[1:4]]
        assert rows == ["unsure", "middle", "sure"]
        assert "done" not in out
        saved = json.loads((tmp_path / "rank.json").read_text())
        assert [r["name"] for r in saved["ranking"]] == ["unsure", "middle", "sure"]
        assert main(["suggest", "--weights", str(ckpt), "--images", str(folder), "--quiet", "--n", "1"]) == 0
        out = capsys.readouterr().out
        assert "unsure" in out and "middle" not in out


def test_suggest_cli_bad_checkpoint_is_a_clear_error(tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(_flat(128)).save(folder / "a.png")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    assert main(["suggest", "--weights", str(tmp_path / "bad.pt"), "--images", str(folder), "--quiet"]) == 2
    assert "bad.pt" in capsys.readouterr().err
