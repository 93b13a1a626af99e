"""unetpp, vgg16_unet, resnet_unet and smp:<arch>:<encoder>: sizes, channels, classes, encoder weights."""
from __future__ import annotations

import logging

import pytest
import torch

from segstudio.core.errors import CheckpointError, ConfigError, UnknownNameError
from segstudio.core.losses import build_loss
from segstudio.core.models import build_model, count_parameters


def _fwd_bwd(model, in_ch, n_cls, h=37, w=53):
    x = torch.rand(2, in_ch, h, w)
    out = model(x)
    outs = out if isinstance(out, list) else [out]
    for o in outs:
        assert o.shape == (2, n_cls, h, w)
    target = torch.randint(0, n_cls, (2, h, w))
    build_loss("dice_ce", n_cls)(out, target).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters() if p.requires_grad)
    return out


CASES = [(1, 2), (3, 3), (3, 5)]


@pytest.mark.parametrize("in_ch,n_cls", CASES)
def test_unetpp(in_ch, n_cls):
    _fwd_bwd(build_model("unetpp", in_ch, n_cls, base=4, depth=3), in_ch, n_cls)


def test_unetpp_deep_supervision_list_in_train_mean_in_eval():
    torch.manual_seed(0)
    model = build_model("unetpp", 3, 2, base=4, depth=3, deep_supervision=True)
    out = _fwd_bwd(model, 3, 2)
    assert isinstance(out, list) and len(out) == 3
    model.eval()
    x = torch.rand(1, 3, 20, 24)
    with torch.no_grad():
        mean = model(x)
        model.training = True  # root flag only: the heads come back as a list, BatchNorm stays in eval mode
        heads = model(x)
    assert isinstance(mean, torch.Tensor) and mean.shape == (1, 2, 20, 24)
    assert isinstance(heads, list) and len(heads) == 3
    assert torch.allclose(mean, torch.stack(heads).mean(0), atol=1e-6)
    assert not torch.allclose(heads[0], heads[-1])


@pytest.mark.parametrize("in_ch,n_cls", CASES)
def test_resnet_unet(in_ch, n_cls):
    model = build_model("resnet_unet", in_ch, n_cls, encoder="resnet18", encoder_weights=None,
                        attention="dual" if n_cls == 3 else "none", decoder_channels=(32, 16, 16, 8, 8))
    _fwd_bwd(model, in_ch, n_cls)
    enc = list(model.encoder_parameters())
    assert enc and count_parameters(model) > sum(p.numel() for p in enc)


@pytest.mark.parametrize("encoder", ["resnet18", "resnet34", "resnet50"])
@pytest.mark.parametrize("in_ch,attention", [(1, "none"), (3, "none"), (1, "dual")])
def test_resnet_unet_every_encoder(encoder, in_ch, attention):
    torch.manual_seed(0)
    model = build_model("resnet_unet", in_ch, 2, encoder=encoder, encoder_weights=None, attention=attention,
                        decoder_channels=(32, 16, 16, 8, 8))
    assert model.encoder.conv1.in_channels == in_ch
    assert (model.attn is not None) == (attention == "dual")
    _fwd_bwd(model, in_ch, 2, h=33, w=35)  # padded to 64 x 64: small, and not a multiple of the divisor 32
    assert model.encoder_weights_loaded is None and model.encoder_weights_warning is None  # none requested


@pytest.mark.parametrize("in_ch,n_cls", CASES)
def test_vgg16_unet(in_ch, n_cls):
    model = build_model("vgg16_unet", in_ch, n_cls, encoder_weights=None)
    _fwd_bwd(model, in_ch, n_cls)
    assert len(list(model.encoder_parameters())) == 26  # 13 convs, weight + bias


@pytest.mark.parametrize("name,in_ch,n_cls", [("smp:Unet:resnet18", 1, 2), ("smp:FPN:resnet18", 3, 3)])
def test_smp(name, in_ch, n_cls):
    model = build_model(name, in_ch, n_cls)
    _fwd_bwd(model, in_ch, n_cls)
    assert list(model.encoder_parameters())


def test_smp_name_errors():
    with pytest.raises(UnknownNameError, match="Unet"):
        build_model("smp:Unett:resnet18")
    with pytest.raises(UnknownNameError, match="resnet18"):
        build_model("smp:Unet:resnet17")
    with pytest.raises(ConfigError, match="smp:<arch>:<encoder>"):
        build_model("smp:")
    with pytest.raises(ConfigError, match="Timm"):
        build_model("smp:DPT:resnet18")


def test_resnet_options_errors():
    with pytest.raises(ConfigError, match="resnet18"):
        build_model("resnet_unet", encoder="resnet19", encoder_weights=None)
    with pytest.raises(ConfigError, match="attention"):
        build_model("resnet_unet", attention="triple", encoder_weights=None)


def test_missing_imagenet_weights_warn_and_go_on(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="segstudio.models"):
        model = build_model("resnet_unet", 3, 2, encoder="resnet18")  # default encoder_weights="imagenet"
    assert model.encoder_weights_loaded is None
    assert "resnet18-f37072fd.pth" in caplog.text and "random" in caplog.text
    with caplog.at_level(logging.WARNING, logger="segstudio.models"):
        build_model("resnet_unet", 3, 2, encoder="resnet18", encoder_weights=str(tmp_path / "nope.pth"))
    assert "nope.pth" in caplog.text


def test_weights_from_hub_cache_and_first_conv_adaptation(tmp_path, monkeypatch):
    import torchvision

    torch.manual_seed(0)
    ref = torchvision.models.resnet18(weights=None).state_dict()
    ckdir = tmp_path / "hub" / "checkpoints"
    ckdir.mkdir(parents=True)
    torch.save(ref, ckdir / "resnet18-f37072fd.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    model = build_model("resnet_unet", 1, 2, encoder="resnet18")
    assert model.encoder_weights_loaded == str(ckdir / "resnet18-f37072fd.pth")
    assert torch.allclose(model.encoder.conv1.weight, ref["conv1.weight"].sum(1, keepdim=True))
    assert torch.equal(model.encoder.layer4[1].conv2.weight, ref["layer4.1.conv2.weight"])
    # an explicit file works the same for smp encoders (torchvision-compatible keys)
    smp_model = build_model("smp:Unet:resnet18", 3, 2, encoder_weights=str(ckdir / "resnet18-f37072fd.pth"))
    assert torch.equal(smp_model.net.encoder.conv1.weight, ref["conv1.weight"])


def test_bad_weight_files_are_errors(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="bad.pth"):
        build_model("resnet_unet", encoder="resnet18", encoder_weights=str(bad))
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, wrong)
    with pytest.raises(CheckpointError, match="missing"):
        build_model("resnet_unet", encoder="resnet18", encoder_weights=str(wrong))
