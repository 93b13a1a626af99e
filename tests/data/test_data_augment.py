"""Augmentation keeps image and mask aligned, never invents classes, pads with ignore, is seedable."""
import pytest
import torch
import torch.nn.functional as F

from segstudio.core.data.augment import PRESETS, AugmentConfig, build_transforms
from segstudio.core.errors import ConfigError

ALL_GEOMETRY = dict(hflip_p=1, vflip_p=1, rotate_p=1, rotate_deg=40, shift_p=1, shift=0.1, scale_p=1,
                    shear_p=1, elastic_p=1)


def _blocks(size=64):
    """A mask of 3 classes in large blocks, and an image whose channel 0 equals mask / 2."""
    mask = torch.zeros(size, size, dtype=torch.int64)
    mask[8:40, 8:30] = 1
    mask[30:60, 36:60] = 2
    image = (mask.float() / 2).expand(3, size, size).clone()
    return image, mask


def test_none_preset_is_identity_at_size():
    image, mask = _blocks()
    aug = build_transforms("none", 64)
    out_i, out_m = aug(image, mask)
    assert torch.equal(out_i, image) and torch.equal(out_m, mask)


def test_none_preset_fits_size_with_ignore_padding():
    aug = build_transforms("none", 32)
    img, m = aug(torch.rand(1, 16, 32), torch.zeros(16, 32, dtype=torch.int64))
    assert img.shape == (1, 32, 32) and int((m == -1).sum()) == 32 * 16


@pytest.mark.parametrize("seed", range(6))
def test_geometry_keeps_mask_aligned_and_never_invents_values(seed):
    image, mask = _blocks()
    aug = build_transforms("none", 64, seed=seed, **ALL_GEOMETRY)
    out_i, out_m = aug(image, mask)
    assert out_m.dtype == torch.int64 and out_i.shape == image.shape
    assert set(out_m.unique().tolist()) <= {-1, 0, 1, 2}
    assert int((out_m == -1).sum()) > 0  # rotation by up to 40 deg + shift bring in outside area
    # where the mask says class k, the (bilinear) image says k/2 -- everywhere off the region edges
    # (5x5: zoom + elastic stretch spread bilinear edges over up to ~2 pixels; nearest edges stay sharp)
    m = F.pad(out_m.float()[None, None], (2, 2, 2, 2), value=-1)  # beyond the border counts as outside
    interior = (F.max_pool2d(m, 5, 1) == F.max_pool2d(-m, 5, 1).neg())[0, 0]  # 5x5 neighbourhood constant
    inside = interior & (out_m >= 0)
    assert int(inside.sum()) > 500
    err = (out_i[0][inside] * 2 - out_m[inside].float()).abs()
    assert float(err.max()) < 0.25
    assert float(out_i[:, interior & (out_m == -1)].abs().max()) < 1e-6  # outside area: image padding 0


def test_photometric_touches_image_only():
    image, mask = _blocks()
    aug = build_transforms("none", 64, seed=0, brightness_p=1, contrast_p=1, gamma_p=1, blur_p=1, noise_p=1)
    out_i, out_m = aug(image.clone(), mask)
    assert torch.equal(out_m, mask)
    assert not torch.equal(out_i, image) and 0 <= float(out_i.min()) and float(out_i.max()) <= 1


def test_seeded_determinism():
    image, mask = _blocks()
    a = build_transforms("strong", 64, seed=7)
    b = build_transforms("strong", 64, seed=7)
    for _ in range(3):
        ia, ma = a(image, mask)
        ib, mb = b(image, mask)
        assert torch.equal(ia, ib) and torch.equal(ma, mb)
    c = build_transforms("strong", 64, seed=8)
    outs = [c(image, mask)[1] for _ in range(3)]
    assert any(not torch.equal(o, a(image, mask)[1]) for o in outs)


def test_grayscale_and_presets():
    img = torch.rand(1, 48, 48)
    m = torch.randint(0, 2, (48, 48))
    for name in PRESETS:
        oi, om = build_transforms(name, 48, seed=0)(img, m)
        assert oi.shape == (1, 48, 48) and om.shape == (48, 48)


def test_config_dict_roundtrip_and_errors():
    cfg = PRESETS["strong"].updated(rotate_p=0.25)
    assert AugmentConfig.from_dict(cfg.to_dict()) == cfg
    assert build_transforms(cfg.to_dict(), 32).config.rotate_p == 0.25
    with pytest.raises(ConfigError, match="unknown augmentation preset"):
        build_transforms("extreme")
    with pytest.raises(ConfigError, match="rotate_q"):
        build_transforms("light", rotate_q=1)
    with pytest.raises(ConfigError, match="probability"):
        build_transforms("light", hflip_p=2)
