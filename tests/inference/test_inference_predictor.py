"""Predictor: letterbox removal (pixel-exact), tiling, flip TTA, checkpoints, devices."""
import numpy as np
import pytest
import torch
from inference_helpers import Threshold, expected_label, make_checkpoint, random_image

from segstudio.core.errors import CheckpointError, ConfigError
from segstudio.core.inference import Predictor, blend_weights, resolve_device, sliding_window
from segstudio.core.inference.tiling import tile_starts


@pytest.mark.parametrize("shape", [(40, 64), (64, 40), (64, 64), (17, 64)])
def test_letterbox_padding_removed_pixel_exact(shape):
    img = random_image(*shape)
    pred = Predictor(Threshold(), ["_background_", "fg"], img_size=64, device="cpu")
    res = pred.predict(img, return_probs=True)
    assert res.label.shape == shape and res.label.dtype == np.int64
    assert np.array_equal(res.label, expected_label(img))
    assert res.probs.shape == (2, *shape) and res.probs.dtype == np.float32
    assert np.allclose(res.probs.sum(0), 1, atol=1e-5)


def test_letterbox_with_scaling_keeps_geometry():
    # left 2/3 bright, right third dark, in a wide image scaled down 4x: only the boundary column may move
    img = np.zeros((60, 240, 3), np.uint8)
    img[:, :160, 0] = 230
    pred = Predictor(Threshold(), ["bg", "fg"], img_size=60, device="cpu")
    label = pred.predict(img).label
    assert label.shape == (60, 240)
    assert (label[:, :157] == 1).all() and (label[:, 163:] == 0).all()
    stretched = Predictor(Threshold(), ["bg", "fg"], img_size=60, resize_mode="resize", device="cpu")
    lab2 = stretched.predict(img).label
    assert (lab2[:, :157] == 1).all() and (lab2[:, 163:] == 0).all()


@pytest.mark.parametrize("blend", ["gaussian", "linear"])
def test_tiling_pixel_exact_for_pointwise_model(blend):
    img = random_image(150, 230, seed=1)
    pred = Predictor(Threshold(), ["bg", "fg"], img_size=64, device="cpu", tile=True, tile_overlap=0.3, blend=blend)
    res = pred.predict(img, return_probs=True)
    assert np.array_equal(res.label, expected_label(img))
    small = random_image(30, 50, seed=2)  # smaller than a tile: zero padding cropped away
    assert np.array_equal(pred.predict(small).label, expected_label(small))


def test_sliding_window_blends_overlaps_to_the_mean():
    calls = []

    def fwd(x):  # tile-dependent constant output: the blend is a weighted mean of the tiles' values
        calls.append(x.shape[0])
        return torch.ones(x.shape[0], 1, x.shape[2], x.shape[3]) * 0.25
    out = sliding_window(fwd, torch.zeros(1, 100, 100), 40, 0.5, "gaussian", batch_size=3)
    assert out.shape == (1, 100, 100) and torch.allclose(out, torch.full_like(out, 0.25))
    assert sum(calls) == len(tile_starts(100, 40, 20)) ** 2 and max(calls) <= 3
    assert tile_starts(100, 40, 20)[-1] == 60 and tile_starts(30, 40, 20) == [0]
    w = blend_weights(32, "linear")
    assert float(w.min()) > 0 and float(w[15:17, 15:17].min()) == 1.0


def test_flip_tta_is_mean_of_flipped_passes():
    torch.manual_seed(0)
    model = torch.nn.Conv2d(3, 3, 3, padding=1)  # not flip-equivariant
    img = random_image(32, 32)
    plain = Predictor(model, ["a", "b", "c"], img_size=32, device="cpu")
    tta = Predictor(model, ["a", "b", "c"], img_size=32, device="cpu", tta=True)
    x = torch.from_numpy(img).permute(2, 0, 1).float()[None] / 255
    with torch.no_grad():
        expect = sum(torch.flip(torch.softmax(model(torch.flip(x, d)), 1), d) for d in [(), (3,), (2,), (2, 3)]) / 4
    got = tta.predict(img, return_probs=True).probs
    assert np.allclose(got, expect[0].numpy(), atol=1e-5)
    assert not np.allclose(got, plain.predict(img, return_probs=True).probs, atol=1e-3)
    eq = Predictor(Threshold(), ["bg", "fg"], img_size=32, device="cpu", tta=True)
    assert np.array_equal(eq.predict(img).label, expected_label(img))
    # only the trained mirror axes: left-right alone (an ultrasound model never saw up-down flips)
    h_only = Predictor(model, ["a", "b", "c"], img_size=32, device="cpu", tta=True, tta_flips=("h",))
    with torch.no_grad():
        expect_h = sum(torch.flip(torch.softmax(model(torch.flip(x, d)), 1), d) for d in [(), (3,)]) / 2
    assert np.allclose(h_only.predict(img, return_probs=True).probs, expect_h[0].numpy(), atol=1e-5)
    none = Predictor(model, ["a", "b", "c"], img_size=32, device="cpu", tta=True, tta_flips=())
    assert np.allclose(none.predict(img, return_probs=True).probs, plain.predict(img, return_probs=True).probs)
    with pytest.raises(ConfigError, match="unknown TTA flip axis 'x'"):
        Predictor(model, ["a", "b", "c"], img_size=32, device="cpu", tta_flips=("x",))


def test_one_channel_model_and_grayscale_16bit():
    model = torch.nn.Conv2d(1, 1, 1)
    with torch.no_grad():
        model.weight.fill_(10.0)
        model.bias.fill_(-5.0)
    img = np.zeros((20, 30), np.uint16)
    img[:, 15:] = 60000
    res = Predictor(model, ["bg", "fg"], img_size=32, device="cpu").predict(img, return_probs=True)
    assert res.probs.shape == (2, 20, 30)
    assert (res.label[:, :14] == 0).all() and (res.label[:, 16:] == 1).all()


def test_from_checkpoint(threshold_ckpt):
    pred = Predictor.from_checkpoint(threshold_ckpt, device="cpu")
    assert pred.class_names == ["_background_", "fg"] and pred.img_size == 64 and pred.in_channels == 3
    img = random_image(48, 64)
    assert np.array_equal(pred.predict(img).label, expected_label(img))


def test_checkpoint_errors(tmp_path, threshold_ckpt):
    with pytest.raises(CheckpointError, match="not found"):
        Predictor.from_checkpoint(tmp_path / "nope.pt")
    torch.save({"hello": 1}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="other.pt"):
        Predictor.from_checkpoint(tmp_path / "other.pt")
    bad = make_checkpoint(tmp_path / "bad.pt", class_names=("bg", "a", "b"), model=Threshold(3, 2))
    with pytest.raises(CheckpointError, match="bad.pt"):
        Predictor.from_checkpoint(bad)
    ck = torch.load(threshold_ckpt, weights_only=True)
    ck["model"]["name"] = "no_such_model"
    torch.save(ck, tmp_path / "unknown.pt")
    with pytest.raises(CheckpointError, match="unknown.pt.*no_such_model.*unet"):
        Predictor.from_checkpoint(tmp_path / "unknown.pt")


def test_devices():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA"):
            resolve_device("cuda")
    with pytest.raises(ConfigError):
        resolve_device("tpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    img = random_image(40, 64)
    cpu = Predictor(Threshold(), ["bg", "fg"], img_size=64, device="cpu").predict(img).label
    gpu = Predictor(Threshold(), ["bg", "fg"], img_size=64, device="cuda", tta=True).predict(img).label
    assert np.array_equal(cpu, gpu)
