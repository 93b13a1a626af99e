"""metrics.csv columns and the Pillow-drawn curves."""
from __future__ import annotations

import csv
import math

import numpy as np
from PIL import Image

from segstudio.core.training.report import draw_curves, history_row, write_metrics_csv


def _rows(n):
    return [history_row(e, 1.0 / e, 1.2 / e, {"miou": 0.5 + e / 20, "mdice": 0.6, "pixel_acc": 0.9,
                                              "iou": {"_background_": 0.9, "lesion": e / 10},
                                              "dice": {"_background_": 0.95, "lesion": math.nan}}, 1e-3, 2.0)
            for e in range(1, n + 1)]


def test_metrics_csv_has_per_class_columns(tmp_path):
    write_metrics_csv(_rows(3), tmp_path / "m.csv")
    rows = list(csv.DictReader(open(tmp_path / "m.csv")))
    assert list(rows[0])[:8] == ["epoch", "train_loss", "val_loss", "miou", "mdice", "pixel_acc", "lr", "seconds"]
    assert rows[2]["iou_lesion"] == "0.3" and rows[0]["dice_lesion"] == "nan" and len(rows) == 3


def test_curves_png_draws_every_series(tmp_path):
    draw_curves(_rows(5), tmp_path / "c.png")
    img = np.asarray(Image.open(tmp_path / "c.png").convert("RGB"))
    assert img.shape == (400, 960, 3)
    # the app's colours: train and val loss, mIoU as the live curves; lesion in its class colour (VOC id 1)
    for color in ((20, 60, 200), (220, 100, 0), (0, 0, 0), (128, 0, 0)):
        assert (img == color).all(-1).sum() > 20, color
    custom = tmp_path / "custom.png"
    draw_curves(_rows(5), custom, colors={"lesion": (18, 192, 164)})
    assert (np.asarray(Image.open(custom).convert("RGB")) == (18, 192, 164)).all(-1).sum() > 20
    draw_curves([], tmp_path / "empty.png")  # no epochs yet: still a valid image
    assert Image.open(tmp_path / "empty.png").size == (960, 400)
