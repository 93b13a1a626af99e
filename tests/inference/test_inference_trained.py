"""Integration: a checkpoint written by the training engine is predicted with by `segstudio predict`."""
import numpy as np
import pytest
from PIL import Image

from segstudio.cli import main
from segstudio.core.data import load_split, open_dataset
from segstudio.core.inference import Predictor


def test_train_one_epoch_then_predict(tmp_path, capsys):
    from segstudio.core.sample import make_sample_project
    from segstudio.core.training.config import TrainConfig
    from segstudio.core.training.engine import train

    proj = make_sample_project(tmp_path / "proj", 8)
    cfg = TrainConfig(data=str(proj), out=str(tmp_path / "run"), model_kwargs={"base": 4, "depth": 2},
                      img_size=32, epochs=1, batch_size=4, device="cpu", val_fraction=0.25)
    events = [type(e).__name__ for e in train(cfg)]
    assert events[-1] == "Finished", events
    train_names, val_names = load_split(tmp_path / "run" / "split.json")
    assert sorted(train_names + val_names) == open_dataset(proj).names and len(val_names) == 2
    pred = Predictor.from_checkpoint(tmp_path / "run" / "best.pt", device="cpu")
    assert pred.class_names == ["_background_", "lesion", "cyst"] and pred.img_size == 32
    rc = main(["predict", "--weights", str(tmp_path / "run" / "best.pt"), "--images", str(proj),
               "--out", str(proj / "predictions"), "--overlay", "--overlay-mode", "contour", "--quiet"])
    assert rc == 0, capsys.readouterr().err
    outs = sorted(p.stem for p in (proj / "predictions").glob("*.png"))
    assert outs == [f"img_{i:03d}" for i in range(8)]
    m = np.asarray(Image.open(proj / "predictions" / "img_000.png"))
    assert m.shape == (256, 256) and set(np.unique(m)) <= {0, 1, 2}


def _fg_iou(a, b):
    a, b = a > 0, b > 0
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0


def test_tiling_an_engine_checkpoint_works_at_the_training_scale(tmp_path):
    """Engine checkpoints are trained on letterboxed images: --tile rescales by the recorded train_scale
    before cutting windows (at native scale the tiles show objects the model never saw at that size)."""
    from segstudio.core.sample import make_sample_project
    from segstudio.core.training import TrainConfig, load_checkpoint, train

    proj = make_sample_project(tmp_path / "proj", 8, seed=3)
    cfg = TrainConfig(data=str(proj), out=str(tmp_path / "run"), img_size=64, batch_size=2, epochs=20,
                      model_kwargs={"base": 8, "depth": 3}, lr=5e-3, val_fraction=0.25, patience=0, device="cpu",
                      threads=1)  # tiny model: threads only spin (the engine restores the count afterwards)
    assert list(train(cfg))[-1].reason == "completed"
    best = tmp_path / "run" / "best.pt"
    assert load_checkpoint(best)["train_scale"] == [0.25, 0.25]  # 256 px images letterboxed to 64
    whole = Predictor.from_checkpoint(best, device="cpu")
    tiled = Predictor.from_checkpoint(best, device="cpu", tile=True)
    assert tiled.tile_scale == (0.25, 0.25)
    ds = open_dataset(proj)
    images = [ds.load_raw(i)[0] for i in range(4)]
    # an image of the training size: one window at the training scale = the whole-image prediction
    pw, pt = whole.predict_probs(images[0]), tiled.predict_probs(images[0])
    assert pw.shape == pt.shape == (3, 256, 256)
    assert float((pw - pt).abs().max()) < 1e-4
    labels = [whole.predict(im).label for im in images]
    assert (labels[0] > 0).mean() > 0.02  # the model finds the lesions (the comparison is not empty vs empty)
    # a 2x2 mosaic (512 px): four windows at the training scale agree with the four images predicted alone
    mosaic = np.concatenate([np.concatenate(images[:2], 1), np.concatenate(images[2:], 1)], 0)
    ref = np.concatenate([np.concatenate(labels[:2], 1), np.concatenate(labels[2:], 1)], 0)
    assert _fg_iou(tiled.predict(mosaic).label, ref) >= 0.95
    # the old behaviour stays reachable for models trained on native-resolution patches
    native = Predictor.from_checkpoint(best, device="cpu", tile=True, tile_scale="native")
    assert native.tile_scale is None and native.tile_factors(256, 256) == (1.0, 1.0)
    assert float((native.predict_probs(images[0]) - pw).abs().max()) > 0.1


def test_tile_scale_of_older_and_foreign_checkpoints():
    from segstudio.core.errors import ConfigError
    from segstudio.core.inference.predictor import _check_tile_scale, checkpoint_tile_scale

    assert checkpoint_tile_scale({"train_scale": [0.5, 0.25], "config": {"img_size": 64}}) == (0.5, 0.25)
    assert checkpoint_tile_scale({"config": {"img_size": 64}}) == "fit"  # engine checkpoint before train_scale
    assert checkpoint_tile_scale({"config": {}}) is None               # unknown origin: native scale
    assert _check_tile_scale(0.5) == (0.5, 0.5) and _check_tile_scale("native") is None
    for bad in (0, -1.0, "train", "x", (1.0,)):
        with pytest.raises(ConfigError):
            _check_tile_scale(bad)
