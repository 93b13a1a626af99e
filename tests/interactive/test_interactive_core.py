"""core/interactive: box -> mask, clicks, bad prompts, magic wand, edge snapping, shapes."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from segstudio.core.interactive import (
    METHODS, EdgeSnapper, Interaction, ModelMismatchError, ModelPrior, PromptError, largest_error_click,
    magic_wand, mask_to_object_shapes, scissors_available, select_components, Box, Click,
)
from segstudio.core.annotation.rasterize import shape_to_mask
from tests.interactive.conftest import disk_scene, iou


def test_grabcut_box_then_clicks_reach_the_disk(scene):
    image, gt = scene
    inter = Interaction(image, "grabcut")
    mask = inter.set_box((45, 45, 156, 156))
    assert iou(mask, gt) >= 0.9
    assert not mask[:40].any()            # nothing outside the box
    # a negative click on the background inside the box keeps the object
    mask = inter.add_click(48, 48, positive=False)
    assert not mask[46:51, 46:51].any() and iou(mask, gt) >= 0.9
    assert len(inter.clicks) == 1
    inter.add_click(100, 100, positive=True)
    assert len(inter.clicks) == 2
    assert inter.undo_click()[100, 100] and len(inter.clicks) == 1


def test_positive_click_outside_the_box_grows_the_object(scene):
    image, gt = scene
    inter = Interaction(image, "grabcut")
    first = inter.set_box((45, 45, 125, 156))           # the box misses the right quarter of the disk
    assert not first[:, 125:].any()
    grown = inter.add_click(148, 100, positive=True)    # a click in the missed part
    assert grown[100, 148] and grown.sum() > first.sum() * 1.15
    assert iou(grown, gt) >= 0.95


def test_first_click_without_box_starts_an_object(scene):
    image, gt = scene
    mask = Interaction(image, "grabcut").add_click(100, 100, positive=True)
    assert mask[100, 100] and iou(mask, gt) >= 0.6


@pytest.mark.parametrize("box, words", [
    ((300, 300, 400, 400), "outside"),
    ((-50, -50, -1, -1), "outside"),
    ((10, 10, 11, 11), "at least"),
    ((10, 10, 80, 10.5), "at least"),
])
def test_bad_boxes_are_refused_with_a_reason(scene, box, words):
    inter = Interaction(scene[0], "grabcut")
    with pytest.raises(PromptError, match=words):
        inter.set_box(box)
    assert inter.mask is None and inter.box is None   # state unchanged


def test_click_on_an_empty_image_and_bad_clicks():
    blank = np.full((64, 64, 3), 128, np.uint8)
    with pytest.raises(PromptError, match="uniform"):
        Interaction(blank, "grabcut").add_click(10, 10)
    with pytest.raises(PromptError, match="empty"):
        Interaction(np.zeros((0, 0, 3), np.uint8), "grabcut")
    image, _ = disk_scene()
    inter = Interaction(image, "grabcut")
    with pytest.raises(PromptError, match="negative click needs an object"):
        inter.add_click(100, 100, positive=False)
    with pytest.raises(PromptError, match="outside"):
        inter.add_click(500, 10)


def test_unknown_method_lists_the_known_ones(scene):
    with pytest.raises(Exception, match="grabcut"):
        Interaction(scene[0], "nope")
    assert {"grabcut", "model", "model+grabcut"} <= set(METHODS.names())


class RedIsLesion(nn.Module):
    """A 'model' that calls dark-red pixels lesion: logits from the colour (deterministic, no training)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.weight[1, 0, 0, 0], self.conv.weight[1, 1, 0, 0] = -20.0, -20.0
            self.conv.bias.copy_(torch.tensor([0.0, 20.0]))

    def forward(self, x):
        return self.conv(x)


def predictor(names=("_background_", "lesion")):
    from segstudio.core.inference import Predictor

    return Predictor(RedIsLesion(), list(names), img_size=64, device="cpu", tile_scale=0.5)


@pytest.mark.parametrize("method", ["model", "model+grabcut"])
def test_model_methods_follow_the_model(scene, method):
    image, gt = scene
    prior = ModelPrior(predictor(), "lesion", ["_background_", "lesion"])
    inter = Interaction(image, method, model=prior)
    mask = inter.set_box((45, 45, 156, 156))
    assert iou(mask, gt) >= 0.9
    # a negative click in the object carves it; a positive click restores it
    carved = inter.add_click(100, 100, positive=False)
    assert not carved[100, 100]
    assert inter.add_click(100, 100, positive=True)[100, 100]


def test_model_with_another_class_count_is_refused(scene):
    with pytest.raises(ModelMismatchError, match="predicts 2 classes .* this project has 3"):
        ModelPrior(predictor(), "lesion", ["_background_", "lesion", "cyst"])
    with pytest.raises(ModelMismatchError, match="'cyst' is not one the model predicts"):
        ModelPrior(predictor(("_background_", "lesion", "nevus")), "cyst")
    with pytest.raises(PromptError, match="no model"):
        Interaction(scene[0], "model")


def test_model_click_flips_only_the_clicked_error_band():
    """A negative click in a false-positive band 6 px wide removes the band - not the equally uncertain object
    behind it (deeper than 2 x the click's distance to the outline), nor an unconnected blob nearby."""
    from segstudio.core.interactive.methods import click_thresholds

    p = np.zeros((100, 100), np.float32)
    p[20:80, 10:60] = 0.6      # the object, as uncertain as ...
    p[20:80, 60:66] = 0.6      # ... the false-positive band along its right side
    p[45:55, 70:74] = 0.6      # a separate blob 4 px right of the band
    t = click_thresholds(p, [Click(63.5, 50.5, False)])
    fg = p >= t
    assert not fg[42:59, 60:66].any()                  # the band is gone near the click ...
    assert fg[20:25, 60:66].all()                      # ... (far along it, it is another click's job)
    assert fg[20:80, 10:60].all()                      # the object behind it stays
    assert fg[45:55, 70:74].all()                      # the unconnected blob is not touched
    # a positive click in a false-negative band grows the object by that band only
    p2 = np.zeros((100, 100), np.float32)
    p2[20:80, 10:60] = 0.9
    p2[20:80, 60:90] = 0.4     # the missed band (60:66), then background of the same probability
    fg2 = p2 >= click_thresholds(p2, [Click(63.5, 50.5, True)])
    assert fg2[42:59, 60:66].all() and not fg2[:, 69:].any()


def test_model_clicks_continue_from_the_previous_state():
    """Each click continues from the thresholds after the previous clicks (one click's work per click); the
    result is the same as from scratch (an undo recomputes from scratch)."""
    from segstudio.core.interactive.methods import click_thresholds

    p = np.tile(np.linspace(0, 1, 80, dtype=np.float32), (80, 1))     # probability rising left to right
    clicks = [Click(30.5, 20.5, True), Click(60.5, 60.5, False)]
    first = click_thresholds(p, clicks[:1])
    whole = click_thresholds(p, clicks)
    assert (p >= first)[20, 30] and not (p >= whole)[60, 60]
    assert np.array_equal(whole, click_thresholds(p, clicks, start=(first, 1)))
    assert not np.array_equal(whole, first)


def test_components_keep_positives_and_drop_the_wrong_object():
    m = np.zeros((50, 100), bool)
    m[10:40, 5:45] = True      # big (wrong) object
    m[10:30, 60:80] = True     # the object
    box = Box(0, 0, 100, 50)
    assert select_components(m, box)[20, 20] and not select_components(m, box)[20, 70]
    out = select_components(m, box, [Click(70, 20, True), Click(20, 20, False)])
    assert out[20, 70] and not out[20, 20]


def test_simulated_annotator_clicks_the_largest_error():
    gt = np.zeros((40, 40), bool)
    gt[5:35, 5:35] = True
    pred = np.zeros_like(gt)
    pred[5:35, 5:20] = True
    c = largest_error_click(pred, gt)
    assert c.positive and 20 <= c.x < 35 and 10 <= c.y < 30
    assert largest_error_click(gt, gt) is None


def test_magic_wand_grows_by_tolerance_within_the_view(scene):
    image, gt = scene
    inside = magic_wand(image, 100, 100, tolerance=40)
    assert iou(inside, gt) >= 0.95
    tiny = magic_wand(image, 100, 100, tolerance=0)
    assert tiny.sum() < inside.sum()
    clipped = magic_wand(image, 100, 100, tolerance=40, view=(80, 80, 120, 120))
    assert clipped.any() and not clipped[:80].any() and not clipped[:, 120:].any()
    with pytest.raises(PromptError, match="visible"):
        magic_wand(image, 10, 10, view=(80, 80, 120, 120))


def test_edge_snapping_follows_the_disk_border(scene):
    assert scissors_available()
    image, gt = scene
    snap = EdgeSnapper(image)
    snap.set_anchor(50.5, 100.5)                  # left edge of the disk
    path = snap.path_to(100.5, 50.5)              # top edge
    assert np.allclose(path[0], (50.5, 100.5), atol=2) and np.allclose(path[-1], (100.5, 50.5), atol=2)
    r = np.hypot(path[:, 0] - 100, path[:, 1] - 100)
    assert np.all(np.abs(r - 50) <= 3)            # on the border, not the straight chord
    with pytest.raises(PromptError, match="outside"):
        snap.set_anchor(10, 10, view=(60, 60, 120, 120))


@pytest.mark.parametrize("mode", ["polygon", "mask"])
def test_result_shapes_rasterize_back(scene, mode):
    _, gt = scene
    shapes = mask_to_object_shapes(gt, "lesion", mode=mode)
    assert len(shapes) == 1 and shapes[0].label == "lesion" and shapes[0].shape_type == mode
    back = shape_to_mask(gt.shape, shapes[0].points, mode, mask=shapes[0].mask)
    assert iou(back, gt) >= 0.98
    with pytest.raises(PromptError, match="class"):
        mask_to_object_shapes(gt, "")
    with pytest.raises(PromptError, match="empty"):
        mask_to_object_shapes(np.zeros_like(gt), "lesion")
