"""Losses: hand-worked values, ignore pixels change neither value nor gradient, deep supervision, errors."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from segstudio.core.errors import ConfigError, DatasetError, UnknownNameError
from segstudio.core.losses import LOSSES, build_loss

ALL = ["ce", "bce", "dice", "focal", "jaccard", "tversky", "dice_focal", "dice_ce"]


def _two_pixel_case():
    # 2 classes, 2 pixels: pixel A logits (0, ln 3) -> p1 = 0.75, target 1; pixel B logits (0, 0) -> p1 = 0.5,
    # target 0
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]]).view(1, 2, 1, 2)
    target = torch.tensor([[[1, 0]]])
    return logits, target


def test_registry_has_all():
    assert set(ALL) <= set(LOSSES.names())
    with pytest.raises(UnknownNameError, match="dice"):
        build_loss("diec", 2)


def test_ce_hand_value():
    logits, target = _two_pixel_case()
    expect = -(math.log(0.75) + math.log(0.5)) / 2
    assert build_loss("ce", 2)(logits, target).item() == pytest.approx(expect, rel=1e-6)
    # class weights: weighted mean like torch: (w1 * l_A + w0 * l_B) / (w1 + w0)
    w = [1.0, 3.0]
    expect_w = (3 * -math.log(0.75) + 1 * -math.log(0.5)) / 4
    assert build_loss("ce", 2, class_weights=w)(logits, target).item() == pytest.approx(expect_w, rel=1e-6)


def test_bce_two_class_equals_ce_and_one_channel():
    logits, target = _two_pixel_case()
    assert build_loss("bce", 2)(logits, target).item() == pytest.approx(build_loss("ce", 2)(logits, target).item())
    z = (logits[:, 1] - logits[:, 0]).unsqueeze(1)  # C == 1: the foreground logit itself
    assert build_loss("bce", 1)(z, target).item() == pytest.approx(build_loss("ce", 2)(logits, target).item())


def test_bce_multiclass_one_vs_rest():
    logits = torch.randn(1, 3, 2, 2)
    target = torch.tensor([[[0, 1], [2, 1]]])
    onehot = F.one_hot(target, 3).permute(0, 3, 1, 2).float()
    expect = F.binary_cross_entropy_with_logits(logits, onehot)
    assert build_loss("bce", 3)(logits, target).item() == pytest.approx(expect.item(), rel=1e-6)


def test_dice_jaccard_tversky_hand_values():
    logits, target = _two_pixel_case()
    # class 1: p = (0.75, 0.5), y = (1, 0): TP .75, FP .5, FN .25; class 0: p = (.25, .5), y = (0, 1): TP .5,
    # FP .25, FN .5
    d1, d0 = 1.5 / (1.5 + 0.75), 1.0 / (1.0 + 0.75)
    assert build_loss("dice", 2, smooth=0)(logits, target).item() == pytest.approx(1 - (d0 + d1) / 2, rel=1e-6)
    assert build_loss("dice", 2, smooth=0, include_background=False)(logits, target).item() == pytest.approx(1 - d1)
    j1, j0 = 0.75 / 1.5, 0.5 / 1.25
    assert build_loss("jaccard", 2, smooth=0)(logits, target).item() == pytest.approx(1 - (j0 + j1) / 2, rel=1e-6)
    a, b = 0.3, 0.7
    t1, t0 = 0.75 / (0.75 + a * 0.5 + b * 0.25), 0.5 / (0.5 + a * 0.25 + b * 0.5)
    tv = build_loss("tversky", 2, smooth=0, alpha=a, beta=b)(logits, target).item()
    assert tv == pytest.approx(1 - (t0 + t1) / 2, rel=1e-6)
    # alpha = beta = 0.5 is dice
    tv_half = build_loss("tversky", 2, smooth=0, alpha=0.5, beta=0.5)(logits, target).item()
    assert tv_half == pytest.approx(1 - (d0 + d1) / 2, rel=1e-6)
    # class weights weight the class mean
    dw = build_loss("dice", 2, smooth=0, class_weights=[1, 3])(logits, target).item()
    assert dw == pytest.approx(1 - (d0 + 3 * d1) / 4, rel=1e-6)


def test_focal_hand_value_and_gamma0_is_ce():
    logits, target = _two_pixel_case()
    expect = (-(0.25**2) * math.log(0.75) - (0.5**2) * math.log(0.5)) / 2
    assert build_loss("focal", 2, gamma=2)(logits, target).item() == pytest.approx(expect, rel=1e-6)
    assert build_loss("focal", 2, gamma=0)(logits, target).item() == pytest.approx(
        build_loss("ce", 2)(logits, target).item(), rel=1e-6)


def test_combinations():
    logits, target = _two_pixel_case()
    d = build_loss("dice", 2)(logits, target)
    assert build_loss("dice_ce", 2)(logits, target).item() == pytest.approx((d + build_loss("ce", 2)(logits, target)).item())
    f = build_loss("focal", 2, gamma=1.5)(logits, target)
    combo = build_loss("dice_focal", 2, gamma=1.5, dice_weight=2, focal_weight=0.5)(logits, target)
    assert combo.item() == pytest.approx((2 * d + 0.5 * f).item(), rel=1e-6)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("n_cls", [1, 2, 3])
def test_ignore_pixels_change_neither_value_nor_gradient(name, n_cls):
    torch.manual_seed(1)
    target = torch.randint(0, max(n_cls, 2), (2, 6, 7))
    ignore = torch.rand(2, 6, 7) < 0.3
    target[ignore] = -1
    base = torch.randn(2, n_cls, 6, 7)
    other = base.clone()
    other[ignore.unsqueeze(1).expand_as(other)] = torch.randn(int(ignore.sum()) * n_cls) * 10
    loss_fn = build_loss(name, n_cls, class_weights=[1.0, 2.0, 0.5][: max(n_cls, 2)])
    grads, values = [], []
    for logits in (base, other):
        x = logits.clone().requires_grad_(True)
        v = loss_fn(x, target)
        v.backward()
        values.append(v.item())
        grads.append(x.grad)
    assert math.isfinite(values[0]) and values[0] > 0
    assert values[0] == pytest.approx(values[1], rel=1e-5, abs=1e-7)
    mask = ignore.unsqueeze(1).expand_as(base)
    assert torch.all(grads[0][mask] == 0)
    assert torch.allclose(grads[0][~mask], grads[1][~mask], atol=1e-6)
    assert grads[0][~mask].abs().sum() > 0


@pytest.mark.parametrize("name", ALL)
def test_all_ignored_gives_zero_with_gradient(name):
    x = torch.randn(1, 2, 3, 3, requires_grad=True)
    v = build_loss(name, 2)(x, torch.full((1, 3, 3), -1))
    v.backward()
    assert math.isfinite(v.item())
    assert torch.all(x.grad == 0)


@pytest.mark.parametrize("name", ["ce", "dice", "dice_ce"])
def test_deep_supervision_list_is_mean(name):
    torch.manual_seed(2)
    target = torch.randint(0, 3, (1, 5, 5))
    outs = [torch.randn(1, 3, 5, 5) for _ in range(3)]
    loss_fn = build_loss(name, 3)
    expect = sum(loss_fn(o, target) for o in outs) / 3
    assert loss_fn(outs, target).item() == pytest.approx(expect.item(), rel=1e-6)


def test_custom_ignore_index_and_errors():
    logits, target = _two_pixel_case()
    t255 = torch.tensor([[[1, 255]]])
    only_a = -math.log(0.75)
    assert build_loss("ce", 2, ignore_index=255)(logits, t255).item() == pytest.approx(only_a, rel=1e-6)
    with pytest.raises(DatasetError, match="class id 255"):
        build_loss("ce", 2)(logits, t255)
    with pytest.raises(ConfigError, match="logits"):
        build_loss("ce", 3)(logits, target)
    with pytest.raises(ConfigError, match="class_weights"):
        build_loss("ce", 2, class_weights=[1, 2, 3])
    with pytest.raises(ConfigError, match="gama"):
        build_loss("focal", 2, gama=2)
    with pytest.raises(ConfigError, match="alpha"):
        build_loss("tversky", 2, alpha=-1)


@pytest.mark.parametrize("name", ["dice", "dice_ce", "tversky"])
def test_half_precision_logits_do_not_overflow(name):
    # soft counts over 4 x 200 x 200 = 160k pixels exceed float16's 65504: computed in float32
    torch.manual_seed(3)
    logits = torch.randn(4, 2, 200, 200)
    target = torch.randint(0, 2, (4, 200, 200))
    loss_fn = build_loss(name, 2)
    ref = loss_fn(logits.half().float(), target)
    half = loss_fn(logits.half(), target)
    assert torch.isfinite(half) and half.item() == pytest.approx(ref.item(), rel=1e-5)
