"""Hair removal (dermoscopy): the detector, the inpainting, its choice on the validation split, and predict."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from inference_helpers import make_checkpoint, threshold_registered

from segstudio.core.checkpoint import load_checkpoint
from segstudio.core.inference import Predictor
from segstudio.core.inference.hair_removal import applies_to, hair_mask, remove_hair
from segstudio.core.inference.postprocess import describe, select_postprocessing

SKIN = (100, 80, 70)       # R < 0.5: background
LESION = (230, 60, 40)     # R > 0.5: the threshold model's foreground
HAIR = (25, 20, 15)


def hairy(size=96, shift=0, hairs=True):
    """A skin-coloured image with a lesion disc, two thin dark hairs across it (one diagonal), a dark dot on the
    skin; and the ground truth (the disc)."""
    yy, xx = np.mgrid[:size, :size]
    disc = (yy - 48 - shift) ** 2 + (xx - 48) ** 2 < 28 ** 2
    img = np.empty((size, size, 3), dtype=np.uint8)
    img[:] = SKIN
    img[disc] = LESION
    if hairs:
        img[30 + shift:32 + shift, 5:90] = HAIR                  # horizontal, 2 px wide, across the lesion
        diag = (np.abs(yy - xx - shift) <= 1) & (xx > 10) & (xx < 85)
        img[diag] = HAIR
    img[85:87, 10:12] = HAIR                                     # a 2x2 dot: short, not a hair
    return img, disc.astype(np.uint8)


def test_the_mask_finds_long_thin_dark_lines_not_dots_or_the_lesion():
    img, disc = hairy()
    mask = hair_mask(img) > 0
    assert mask[30:32, 5:90].mean() > 0.95                         # the horizontal hair
    assert mask[60, 60 - 1:60 + 2].any()                           # the diagonal one
    assert not mask[84:88, 9:13].any()                             # the dot is too short
    assert mask[disc.astype(bool)].mean() < 0.25                   # the lesion itself is not a hair
    assert not mask[60:70, 30:42].any()                            # (its middle, away from the hairs)


def network(img, top=30, left=30, cells=4, step=9):
    """Draw a pigment-network-like mesh on ``img``: ``cells`` x ``cells`` cells whose 1 px dark edges step up and
    down every 2 px (crooked, never straight for more than 2 px), 37 px across: as long overall as a hair."""
    for r in range(cells + 1):
        for c in range(cells * step + 1):
            img[top + r * step + (c // 2) % 2, left + c] = HAIR     # a horizontal edge
            img[top + c, left + r * step + (c // 2) % 2] = HAIR     # a vertical one
    return img


def test_a_crooked_mesh_as_long_as_a_hair_is_not_a_hair():
    img, disc = hairy(hairs=False)
    img = network(img)
    assert not (hair_mask(img) > 0).any()
    img[20:22, 5:90] = HAIR                                        # a straight hair beside the mesh
    mask = hair_mask(img) > 0
    assert mask[20:22, 5:90].mean() > 0.95
    assert not mask[28:70, 28:70].any()                            # the mesh stays


def test_a_dark_frame_along_the_edge_is_not_a_hair():
    img, _ = hairy(hairs=False)
    img[:2], img[:, -1] = HAIR, HAIR                               # a scanner's dark rows / column
    assert not (hair_mask(img) > 0).any() and remove_hair(img) is img
    img[40:42, 0:96] = HAIR                                        # a hair from edge to edge is still one
    mask = hair_mask(img) > 0
    assert mask[40:42, 3:93].all()


def test_dermoscopy_hairs_are_found_and_pigment_network_is_not(shared_data):
    """PH2: IMD003 is covered in hair; IMD139's and IMD331's lesions show pigment network and no hair over them
    (the first version of the detector took the network for hair and inpainted a third of those lesions)."""
    from PIL import Image

    def masks(name):
        img = np.asarray(Image.open(shared_data / "ph2" / "images" / f"{name}.jpg").convert("RGB"))
        lesion = np.asarray(Image.open(shared_data / "ph2" / "masks" / f"{name}.png")) > 0
        return hair_mask(img) > 0, lesion

    hair, lesion = masks("IMD003")
    assert hair.mean() > 0.3 and hair[lesion].mean() > 0.15
    for name in ("IMD139", "IMD331"):
        hair, lesion = masks(name)
        assert hair[lesion].mean() < 0.01, name


def test_remove_hair_paints_hairs_over_with_their_surroundings():
    img, disc = hairy()
    out = remove_hair(img)
    assert out.shape == img.shape and out.dtype == np.uint8 and out is not img
    on_lesion = out[30:32, 35:60].reshape(-1, 3).astype(int)       # hair pixels inside the disc
    assert np.abs(on_lesion - LESION).max(1).mean() < 40
    on_skin = out[30:32, 5:15].reshape(-1, 3).astype(int)          # hair pixels on the skin
    assert np.abs(on_skin - SKIN).max(1).mean() < 40
    assert (out[60:70, 30:42] == img[60:70, 30:42]).all()          # away from the hairs: untouched
    assert (img[30, 40] == HAIR).all()                             # the input is not changed


def test_only_8_bit_colour_images_are_touched():
    img, _ = hairy()
    gray = img[..., 0].copy()
    assert not applies_to(gray) and remove_hair(gray) is gray
    rgb_gray = np.repeat(gray[..., None], 3, axis=2)               # an ultrasound saved as RGB
    assert not applies_to(rgb_gray) and remove_hair(rgb_gray) is rgb_gray
    deep = img.astype(np.uint16) * 257
    assert not applies_to(deep) and remove_hair(deep) is deep
    rgba = np.concatenate([img, np.full(img.shape[:2] + (1,), 77, np.uint8)], axis=2)
    out = remove_hair(rgba)
    assert out.shape == rgba.shape and (out[..., 3] == 77).all() and (out[..., :3] == remove_hair(img)).all()
    clean, _ = hairy(hairs=False)
    assert remove_hair(clean) is clean                             # nothing found: the image itself


def _run(tmp_path, images):
    from PIL import Image

    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    (data / "classes.txt").write_text("_background_\nfg\n")
    names = []
    for i, (img, gt) in enumerate(images):
        Image.fromarray(img).save(data / "images" / f"im{i}.png")
        Image.fromarray(gt * 255).save(data / "masks" / f"im{i}.png")
        names.append(f"im{i}")
    run = tmp_path / "run"
    run.mkdir()
    (run / "split.json").write_text(json.dumps({"train": names[:1], "val": names[1:]}))
    ckpt = make_checkpoint(run / "best.pt")
    payload = load_checkpoint(ckpt)
    payload["config"] = {"data": str(data), "labels": None}
    torch.save(payload, ckpt)
    return run, data


def test_chosen_on_validation_when_hairs_cut_the_lesions(tmp_path, capsys):
    from segstudio.cli import main
    from segstudio.core.annotation.masks import read_label_mask

    with threshold_registered():
        run, data = _run(tmp_path, [hairy(shift=s) for s in range(4)])
        spec = select_postprocessing(run / "best.pt", device="cpu")
        s = spec["val_miou"]
        assert spec["hair_removal"] is True
        assert s["hair+plain/none"] > s["plain/none"] + 0.02
        assert "hair removal on (hairs on 3 of 3 images" in describe(spec) and spec["hair_val_images"] == 3
        assert load_checkpoint(run / "best.pt")["postprocess"]["hair_removal"] is True

        img, gt = hairy()
        pred = Predictor.from_checkpoint(run / "best.pt", device="cpu")
        assert pred.hair_removal is True
        raw = Predictor.from_checkpoint(run / "best.pt", device="cpu", hair_removal=False)
        hit = lambda p: float(((p.predict(img).label == 1) & (gt == 1)).sum() / gt.sum())   # noqa: E731
        assert hit(raw) < 0.96 < hit(pred)                         # the hairs no longer cut the lesion

        out = tmp_path / "pred"
        assert main(["predict", "--weights", str(run / "best.pt"), "--images", str(data / "images"),
                     "--out", str(out), "--device", "cpu", "--quiet"]) == 0
        assert "hair removal" in capsys.readouterr().out
        with_hr = np.asarray(read_label_mask(out / "im0.png", 2))
        out2 = tmp_path / "pred2"
        assert main(["predict", "--weights", str(run / "best.pt"), "--images", str(data / "images"),
                     "--out", str(out2), "--device", "cpu", "--quiet", "--no-hair-removal"]) == 0
        assert "hair removal" not in capsys.readouterr().out
        without = np.asarray(read_label_mask(out2 / "im0.png", 2))
        assert (with_hr == 1).sum() > (without == 1).sum()


def vessels(shift=0, size=96):
    """Thin red lines that are the foreground (like retinal vessels) on a light skin: "hairs" to the detector
    (darker than their surroundings in gray), but removing them removes what is to be found."""
    img = np.empty((size, size, 3), dtype=np.uint8)
    img[:] = (100, 200, 200)                                       # R < 0.5: background to the threshold model
    gt = np.zeros((size, size), np.uint8)
    for y in (20 + shift, 50 + shift, 75):
        gt[y:y + 2, 5:90] = 1
    img[gt == 1] = (230, 40, 40)
    return img, gt


def test_left_off_when_no_hair_is_found_or_it_lowers_the_score_and_not_offered_for_gray_images(tmp_path):
    with threshold_registered():
        run, _ = _run(tmp_path / "a", [hairy(shift=s, hairs=False) for s in range(4)])
        spec = select_postprocessing(run / "best.pt", device="cpu", write=False)
        assert spec["hair_removal"] is False and "hair+plain/none" in spec["val_miou"]
        assert spec["hair_val_images"] == 0
        assert "hair removal off (no hairs found" in describe(spec)

        run, _ = _run(tmp_path / "v", [vessels(shift=s) for s in range(4)])
        spec = select_postprocessing(run / "best.pt", device="cpu", write=False)
        s = spec["val_miou"]
        assert spec["hair_val_images"] == 3 and s["hair+plain/none"] < s["plain/none"] - 0.1
        assert spec["hair_removal"] is False
        assert "hair removal off (hairs on 3 of 3 images" in describe(spec)

        gray = []
        for s in range(4):
            img, gt = hairy(shift=s)
            gray.append((np.repeat(img[..., :1], 3, axis=2), gt))   # R channel copied: gray, same threshold
        run, _ = _run(tmp_path / "b", gray)
        spec = select_postprocessing(run / "best.pt", device="cpu", write=False)
        assert spec["hair_removal"] is False and not any(k.startswith("hair+") for k in spec["val_miou"])
        assert "hair removal" not in describe(spec)


@pytest.mark.parametrize("recorded, given, expected", [
    ({"hair_removal": True}, None, True), ({"hair_removal": True}, False, False), ({}, None, False),
    ({"tta": False}, True, True)])
def test_the_recorded_choice_is_the_default_and_can_be_overridden(threshold_ckpt, recorded, given, expected):
    ckpt = load_checkpoint(threshold_ckpt)
    ckpt["postprocess"] = {"tta": False, "keep_largest": [], "merged": False, **recorded}
    with threshold_registered():
        torch.save(ckpt, threshold_ckpt)
        pred = Predictor.from_checkpoint(threshold_ckpt, device="cpu", hair_removal=given)
    assert pred.hair_removal is expected
    img, _ = hairy()
    assert (pred.prepare(img) is img) is (not expected)


def test_assist_and_uncertainty_see_the_image_the_predictor_sees(threshold_ckpt):
    from segstudio.core.data.transforms import to_float_chw
    from segstudio.core.inference.uncertainty import flip_probabilities
    from segstudio.core.interactive.model import ModelPrior

    img, gt = hairy()
    with threshold_registered():
        pred = Predictor.from_checkpoint(threshold_ckpt, device="cpu", hair_removal=True)
        prior = ModelPrior(pred, "fg")
        assert torch.equal(prior._image(img), to_float_chw(remove_hair(img), 3))
        probs = flip_probabilities(pred, img)[0, 1] > 0.5          # 64 px model input: the lesion, not cut
        pred.hair_removal = False
        cut = flip_probabilities(pred, img)[0, 1] > 0.5
    assert probs.sum() > cut.sum()
