"""Preprocessing: to_float_chw scaling/channels, letterbox / unletterbox geometry and exactness."""
import numpy as np
import pytest
import torch

from segstudio.core.data.transforms import LetterboxMeta, fit_to_size, letterbox, resize_to, to_float_chw, unletterbox


def test_to_float_chw_scales_by_dtype():
    u8 = np.full((4, 5, 3), 255, np.uint8)
    u16 = np.full((4, 5), 65535, np.uint16)
    u16[0, 0] = 0
    assert to_float_chw(u8).shape == (3, 4, 5) and float(to_float_chw(u8).max()) == 1.0
    t = to_float_chw(u16, 1)
    assert t.dtype == torch.float32 and t.shape == (1, 4, 5)
    assert float(t[0, 0, 0]) == 0.0 and float(t[0, 1, 1]) == 1.0
    f = np.array([[10.0, 20.0], [30.0, 30.0]], np.float64)
    assert torch.allclose(to_float_chw(f, 1)[0], torch.tensor([[0, 0.5], [1, 1]]))
    assert float(to_float_chw(np.full((2, 2), 7.0), 1).abs().max()) == 0.0  # constant -> zeros


def test_to_float_chw_channels():
    gray = np.arange(6, dtype=np.uint8).reshape(2, 3)
    rgb = to_float_chw(gray, 3)
    assert rgb.shape == (3, 2, 3) and torch.equal(rgb[0], rgb[2])
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., 0] = 255
    out = to_float_chw(rgba, 3)
    assert out.shape == (3, 2, 3) and float(out[0].min()) == 1.0
    assert torch.allclose(to_float_chw(rgba, 1)[0], torch.full((2, 3), 0.299))
    with pytest.raises(ValueError):
        to_float_chw(np.zeros((2, 2, 5), np.uint8), 3)


def test_letterbox_pads_centered_with_ignore_and_keeps_aspect():
    img = torch.rand(3, 50, 100)
    mask = torch.randint(0, 3, (50, 100))
    out, m, meta = letterbox(img, 200, mask)
    assert out.shape == (3, 200, 200) and m.shape == (200, 200)
    assert (meta.new_h, meta.new_w, meta.top, meta.left) == (100, 200, 50, 0)
    assert bool((m[:50] == -1).all()) and bool((m[150:] == -1).all())
    assert bool((m[50:150] >= 0).all())
    assert float(out[:, :50].abs().max()) == 0.0
    assert set(m.unique().tolist()) <= {-1, 0, 1, 2}


def test_letterbox_roundtrip_exact_when_no_scaling():
    rng = np.random.default_rng(0)
    img = rng.random((1, 40, 64)).astype(np.float32)
    mask = rng.integers(-1, 4, (40, 64))
    out, m, meta = letterbox(img, 64, mask)
    assert isinstance(out, np.ndarray) and (meta.top, meta.left, meta.new_h) == (12, 0, 40)
    assert np.array_equal(unletterbox(out, meta), img)
    assert np.array_equal(unletterbox(m, meta), mask)
    assert int((m == -1).sum()) == 64 * 24 + int((mask == -1).sum())


def test_letterbox_roundtrip_exact_for_masks_with_integer_scale():
    mask = torch.randint(0, 5, (30, 20))
    _, m, meta = letterbox(torch.zeros(1, 30, 20), (90, 90), mask)
    assert (meta.new_h, meta.new_w) == (90, 60)
    assert torch.equal(unletterbox(m, meta), mask)


def test_unletterbox_probabilities_back_to_original_size():
    img = torch.rand(3, 37, 53)
    out, _, meta = letterbox(img, 64)
    probs = torch.rand(2, 64, 64)
    back = unletterbox(probs, meta)
    assert back.shape == (2, 37, 53) and back.dtype == torch.float32
    assert LetterboxMeta.from_dict(meta.to_dict()) == meta
    with pytest.raises(ValueError):
        unletterbox(torch.zeros(2, 32, 32), meta)


def test_resize_mode_stretches_without_padding():
    mask = torch.randint(0, 2, (10, 40))
    img, m, meta = resize_to(torch.rand(3, 10, 40), 20, mask)
    assert img.shape == (3, 20, 20) and int((m == -1).sum()) == 0
    assert unletterbox(m, meta).shape == (10, 40)
    with pytest.raises(ValueError):
        fit_to_size(torch.rand(3, 4, 4), 8, mode="crop")


from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), size=st.integers(1, 48), seed=st.integers(0, 2**16))
def test_letterbox_property_shapes_values_and_fit(h, w, size, seed):
    rng = np.random.default_rng(seed)
    mask = rng.integers(0, 3, (h, w))
    img, m, meta = letterbox(rng.random((2, h, w)).astype(np.float32), size, mask)
    assert img.shape == (2, size, size) and m.shape == (size, size)
    assert set(np.unique(m)) <= {-1, 0, 1, 2}
    assert max(meta.new_h, meta.new_w) == size or (meta.new_h, meta.new_w) == (h, w)
    assert int((m >= 0).sum()) == meta.new_h * meta.new_w
    assert unletterbox(m, meta).shape == (h, w)
    if max(h, w) == size:  # pure padding: exact round trip
        assert np.array_equal(unletterbox(m, meta), mask)
