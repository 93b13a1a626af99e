"""Integration: a checkpoint written by the training engine is predicted with by `segstudio predict`."""
import numpy as np
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
