"""U-Net family: any size, 1/3 channels, any class count, registry errors, overfitting a tiny batch."""
from __future__ import annotations

import pytest
import torch

from segstudio.core.errors import ConfigError, UnknownNameError
from segstudio.core.models import MODELS, build_model, count_parameters, final_output

TINY = dict(base=4, depth=3)


@pytest.mark.parametrize("name", ["unet", "attention_unet", "cbam_unet"])
@pytest.mark.parametrize("in_ch,n_cls", [(1, 2), (3, 3), (3, 5)])
def test_forward_backward_odd_size(name, in_ch, n_cls):
    torch.manual_seed(0)
    model = build_model(name, in_ch, n_cls, **TINY)
    x = torch.rand(2, in_ch, 37, 53)
    y = model(x)
    assert y.shape == (2, n_cls, 37, 53)
    y.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert list(model.encoder_parameters()) == []


def test_transposed_and_zero_padding():
    model = build_model("unet", 3, 2, base=4, depth=2, upsample="transposed", pad_mode="zeros")
    assert model(torch.rand(1, 3, 9, 7)).shape == (1, 2, 9, 7)


@pytest.mark.parametrize("in_ch", [1, 3])
def test_transposed_upsampling_backward(in_ch):
    torch.manual_seed(0)
    model = build_model("unet", in_ch, 3, base=4, depth=3, upsample="transposed")
    ups = [m for m in model.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(ups) == 3
    y = model(torch.rand(2, in_ch, 37, 53))
    assert y.shape == (2, 3, 37, 53)
    y.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert all(float(u.weight.grad.abs().sum()) > 0 for u in ups)  # the transposed convs get gradient


def test_tiny_input_smaller_than_padding():
    # reflect padding cannot reflect 3 px into 16: falls back to replicate
    model = build_model("unet", 1, 2, base=4, depth=4)
    assert model(torch.rand(2, 1, 3, 2)).shape == (2, 2, 3, 2)


def test_output_does_not_depend_on_padding_region_for_aligned_input():
    model = build_model("unet", 3, 2, **TINY).eval()
    x = torch.rand(1, 3, 32, 40)
    with torch.no_grad():
        assert torch.equal(model(x), model.forward_padded(x))


def test_registry_errors():
    assert {"unet", "attention_unet", "cbam_unet"} <= set(MODELS.names())
    with pytest.raises(UnknownNameError, match="unet"):
        build_model("nope")
    with pytest.raises(ConfigError, match="widht"):
        build_model("unet", widht=3)
    with pytest.raises(ConfigError, match="upsample"):
        build_model("unet", upsample="nearest")
    with pytest.raises(ConfigError, match="base"):
        build_model("unet", base=0)
    model = build_model("unet", 3, 2, **TINY)
    with pytest.raises(ConfigError, match="N x 3 x H x W"):
        model(torch.rand(1, 1, 8, 8))


def test_default_unet_size():
    # documented in docs/models.md: the default (base 16, depth 4) has 1.81 M parameters
    assert count_parameters(build_model("unet")) == 1_811_794
    assert count_parameters(build_model("unet", base=32)) == 7_240_354
    assert count_parameters(build_model("unet", base=8)) == 453_802  # the training default (docs/models.md)


def test_final_output_mean_of_list():
    a, b = torch.zeros(1, 2, 3, 3), torch.ones(1, 2, 3, 3)
    assert torch.equal(final_output([a, b]), torch.full((1, 2, 3, 3), 0.5))
    assert final_output(a) is a


def test_unet_overfits_tiny_batch():
    from segstudio.core.losses import build_loss
    from segstudio.core.metrics import ConfusionMatrix

    torch.manual_seed(0)
    n, h, w = 2, 24, 24
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    target = torch.zeros(n, h, w, dtype=torch.long)
    target[0][(yy - 9) ** 2 + (xx - 11) ** 2 < 36] = 1
    target[1][(yy > 14) & (xx > 4) & (xx < 20)] = 1
    image = torch.rand(n, 3, h, w) * 0.3
    image[:, 0] += 0.6 * target.float()
    model = build_model("unet", 3, 2, base=8, depth=2)
    loss_fn = build_loss("dice_ce", 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        opt.zero_grad()
        loss_fn(model(image), target).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        pred = model(image).argmax(1)
    cm = ConfusionMatrix(2)
    cm.update(pred, target)
    assert cm.compute()["iou"][1] > 0.9
