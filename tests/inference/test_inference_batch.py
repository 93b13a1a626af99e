"""predict_folder, overlays, probability maps and the `segstudio predict` command end to end."""
import numpy as np
import pytest
import torch
from inference_helpers import Threshold, expected_label, make_checkpoint, random_image
from PIL import Image

from segstudio.cli import main
from segstudio.core.annotation.labels import voc_palette
from segstudio.core.errors import Cancelled, ConfigError, DatasetError
from segstudio.core.inference import Predictor, overlay, predict_folder


def _images(folder, shapes=((40, 64), (64, 30), (64, 50))):  # longest side = img_size: no scaling
    folder.mkdir(parents=True, exist_ok=True)
    imgs = {}
    for i, s in enumerate(shapes):
        img = random_image(*s, seed=i)
        Image.fromarray(img).save(folder / f"im{i}.png")
        imgs[f"im{i}"] = img
    return imgs


def test_predict_folder_outputs(tmp_path):
    imgs = _images(tmp_path / "in")
    (tmp_path / "in" / "broken.jpg").write_bytes(b"not an image")
    pred = Predictor(Threshold(), ["_background_", "fg"], img_size=64, device="cpu")
    seen = []
    rep = predict_folder(pred, tmp_path / "in", tmp_path / "out", overlay=True, probs="npy",
                         progress=lambda d, t, m: seen.append((d, t, m)))
    assert rep.n_ok == 3 and [p for p, _ in rep.failures] == [str(tmp_path / "in" / "broken.jpg")]
    assert seen[-1][:2] == (4, 4) and len(seen) == 4
    for stem, img in imgs.items():
        mask = Image.open(tmp_path / "out" / f"{stem}.png")
        assert mask.mode == "P" and mask.size == (img.shape[1], img.shape[0])
        assert np.array_equal(np.asarray(mask), expected_label(img))
        ov = np.asarray(Image.open(tmp_path / "out" / "overlays" / f"{stem}.png"))
        assert ov.shape == img.shape
        pr = np.load(tmp_path / "out" / "probs" / f"{stem}.npy")
        assert pr.dtype == np.float16 and pr.shape == (2, *img.shape[:2])
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["im0.png", "im1.png", "im2.png"]


def test_probs_png16_and_cancel(tmp_path):
    imgs = _images(tmp_path / "in")
    pred = Predictor(Threshold(), ["_background_", "fg"], img_size=64, device="cpu")
    predict_folder(pred, tmp_path / "in", tmp_path / "out", probs="png16")
    p1 = np.asarray(Image.open(tmp_path / "out" / "probs" / "im0_c1.png"))
    assert p1.dtype == np.uint16 and p1.shape == imgs["im0"].shape[:2]
    assert np.array_equal(p1 > 32767, expected_label(imgs["im0"]) == 1)
    calls = iter([False, True])
    with pytest.raises(Cancelled):
        predict_folder(pred, tmp_path / "in", tmp_path / "out2", cancel=lambda: next(calls, True))
    assert [p.name for p in (tmp_path / "out2").glob("*.png")] == ["im0.png"]


def test_refuses_to_overwrite_inputs_and_empty_folder(tmp_path):
    _images(tmp_path / "in")
    pred = Predictor(Threshold(), ["bg", "fg"], img_size=64, device="cpu")
    before = (tmp_path / "in" / "im0.png").read_bytes()
    with pytest.raises(ConfigError, match="overwrite"):
        predict_folder(pred, tmp_path / "in", tmp_path / "in")
    assert (tmp_path / "in" / "im0.png").read_bytes() == before
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no images"):
        predict_folder(pred, tmp_path / "empty", tmp_path / "out")


def test_overlay_fill_and_contour():
    img = np.full((20, 20, 3), 100, np.uint8)
    label = np.zeros((20, 20), np.int64)
    label[5:15, 5:15] = 1
    label[0, 0] = -1
    pal = voc_palette(4)
    fill = overlay(img, label, pal, alpha=1.0)
    assert (fill[5:15, 5:15] == pal[1]).all() and (fill[label <= 0] == 100).all()
    half = overlay(img, label, pal, alpha=0.5)
    assert np.array_equal(half[10, 10], np.rint((100 + pal[1].astype(float)) / 2).astype(np.uint8))
    cont = overlay(img, label, pal, alpha=1.0, mode="contour", thickness=1)
    ring = np.zeros((20, 20), bool)
    ring[5:15, 5:15] = True
    ring[6:14, 6:14] = False
    assert (cont[ring] == pal[1]).all() and (cont[~ring] == 100).all()
    gray16 = overlay(np.full((20, 20), 1000, np.uint16), label, pal)
    assert gray16.shape == (20, 20, 3) and gray16.dtype == np.uint8
    # any image is shown as the canvas shows it (core.imaging's one display mapping): a 12-bit scan in a
    # 16-bit file is not black
    from segstudio.core.imaging import to_display_rgb

    scan = np.random.default_rng(0).integers(0, 4096, (20, 20)).astype(np.uint16)
    shown = overlay(scan, label, pal, alpha=0.5)
    assert np.array_equal(shown[label <= 0], to_display_rgb(scan)[label <= 0])
    assert shown[label <= 0].mean() > 60
    with pytest.raises(ValueError):
        overlay(img, label, pal, mode="hatch")


def test_cli_predict_end_to_end_tiny_unet(tmp_path, capsys):
    torch.manual_seed(0)
    ckpt = make_checkpoint(tmp_path / "best.pt", model_name="unet",
                           kwargs={"base": 4, "depth": 2}, class_names=("_background_", "lesion", "cyst"),
                           img_size=32)
    imgs = _images(tmp_path / "images", shapes=((40, 64), (33, 21)))
    Image.fromarray(np.full((24, 24), 7, np.uint8)).save(tmp_path / "images" / "gray.png")
    rc = main(["predict", "--weights", str(ckpt), "--images", str(tmp_path / "images"), "--out",
               str(tmp_path / "out"), "--overlay", "--tta", "--device", "cpu", "--quiet"])
    assert rc == 0, capsys.readouterr()
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["gray.png", "im0.png", "im1.png"]
    assert sorted(p.name for p in (tmp_path / "out" / "overlays").glob("*.png")) == ["gray.png", "im0.png", "im1.png"]
    for stem, img in imgs.items():
        m = np.asarray(Image.open(tmp_path / "out" / f"{stem}.png"))
        assert m.shape == img.shape[:2] and set(np.unique(m)) <= {0, 1, 2}
    assert "3 image(s) predicted" in capsys.readouterr().out
    rc = main(["predict", "--weights", str(ckpt), "--images", str(tmp_path / "images"), "--out",
               str(tmp_path / "out_t"), "--tile", "--device", "cpu", "--quiet"])
    assert rc == 0 and len(list((tmp_path / "out_t").glob("*.png"))) == 3


def test_cli_predict_errors(tmp_path, capsys):
    rc = main(["predict", "--weights", str(tmp_path / "missing.pt"), "--images", str(tmp_path), "--out",
               str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "missing.pt" in err and "error:" in err


def test_cli_predict_scores_with_gt_like_evaluate(tmp_path, capsys):
    """``predict --gt`` scores the masks it wrote exactly as ``segstudio evaluate`` scores them."""
    from inference_helpers import threshold_registered

    imgs = _images(tmp_path / "images")
    (tmp_path / "gt").mkdir()
    for k, (stem, img) in enumerate(imgs.items()):
        gt = expected_label(img)
        if k == 1:
            gt[: gt.shape[0] // 2] = 0                 # half of this image's foreground is not in the truth
        Image.fromarray(gt.astype(np.uint8)).save(tmp_path / "gt" / f"{stem}.png")
    with threshold_registered():
        ckpt = make_checkpoint(tmp_path / "best.pt")
        rc = main(["predict", "--weights", str(ckpt), "--images", str(tmp_path / "images"), "--out",
                   str(tmp_path / "out"), "--gt", str(tmp_path / "gt"), "--json", str(tmp_path / "p.json"),
                   "--device", "cpu", "--quiet"])
    text = capsys.readouterr().out
    assert rc == 0 and "3 image(s) predicted" in text and "PRECISION" in text and "AP50" in text
    (tmp_path / "classes.txt").write_text("_background_\nfg\n")
    assert main(["evaluate", "--pred", str(tmp_path / "out"), "--gt", str(tmp_path / "gt"), "--json",
                 str(tmp_path / "e.json"), "-q"]) == 0
    import json

    scored, evaluated = (json.loads((tmp_path / n).read_text()) for n in ("p.json", "e.json"))
    assert scored == evaluated
    assert scored["per_image"][0]["miou"] == 1.0 and scored["per_image"][1]["miou"] < 1.0
    assert scored["per_class"]["fg"]["precision"] < 1.0 == scored["per_class"]["fg"]["recall"]
