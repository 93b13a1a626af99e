"""evaluate_run: best.pt of a tiny real run predicts held-out images; the review service scores them."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from segstudio.core.errors import Cancelled, CheckpointError, DatasetError
from segstudio.core.experiments.evaluate import evaluate_run

CLASSES = ["_background_", "lesion"]


def write_disks(folder, n, seed, size=40):
    """images/ + masks/ + classes.txt: a bright noisy disk (class 1) on a dark background."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    (folder / "classes.txt").write_text("\n".join(CLASSES) + "\n", encoding="utf-8")
    yy, xx = np.mgrid[:size, :size]
    images, masks = [], []
    for i in range(n):
        cy, cx = rng.uniform(12, size - 12, 2)
        r = rng.uniform(5, 10)
        mask = ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r).astype(np.uint8)
        img = rng.normal(60, 15, (size, size, 3)) + mask[..., None] * 120
        name = f"im{i:02d}"
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / "images" / f"{name}.png")
        Image.fromarray(mask, mode="L").save(folder / "masks" / f"{name}.png")
        images.append(folder / "images" / f"{name}.png")
        masks.append(folder / "masks" / f"{name}.png")
    return images, masks


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 2-epoch, 4-channel U-Net trained on 8 disk images at 32 px; plus 4 held-out images."""
    import torch

    from segstudio.core.training import TrainConfig, train

    root = tmp_path_factory.mktemp("eval")
    write_disks(root / "train", 8, seed=0)
    held = write_disks(root / "held", 4, seed=1)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = TrainConfig(data=str(root / "train"), out=str(root / "run"), img_size=32, batch_size=2, epochs=2,
                          model_kwargs={"base": 4, "depth": 2}, val_fraction=0.25, patience=0, warmup_epochs=0.5)
        for _ in train(cfg):
            pass
    finally:
        torch.set_num_threads(before)
    return root / "run", held


def test_writes_heldout_json_with_the_review_services_scores(tiny_run):
    from segstudio.core.annotation.masks import read_label_mask
    from segstudio.core.inference import Predictor
    from segstudio.core.review import evaluate_masks

    run, (images, masks) = tiny_run
    calls = []
    result = evaluate_run(run, images, masks, CLASSES, progress=lambda d, t, m: calls.append((d, t, m)))
    assert calls == [(i + 1, 4, f"im{i:02d}.png") for i in range(4)]
    on_disk = json.loads((run / "heldout.json").read_text(encoding="utf-8"))
    assert on_disk["classes"] == CLASSES and on_disk["n_images"] == 4
    assert [r["name"] for r in on_disk["images"]] == ["im00", "im01", "im02", "im03"]
    assert on_disk["checkpoint"]["file"] == "best.pt" and on_disk["checkpoint"]["epoch"] in (1, 2)
    # the same numbers as the review service scoring the predictor's masks (what `segstudio evaluate` prints)
    pred = Predictor.from_checkpoint(run / "best.pt", device="cpu")
    labels = [pred.predict(np.asarray(Image.open(p).convert("RGB"))).label for p in images]
    ref = evaluate_masks([(p.stem, lab, read_label_mask(m, 2)) for p, lab, m in zip(images, labels, masks)],
                         CLASSES).to_dict()
    s = on_disk["summary"]
    for key in ("miou", "mdice", "mpa", "mprecision", "mrecall"):
        assert s[key] == pytest.approx(ref["mean"][key])
    assert s["fg_dice"] == pytest.approx(ref["mean"]["fg_mdice"])
    assert s["iou_lesion"] == pytest.approx(ref["per_class"]["lesion"]["iou"])
    assert {s["ap50"], s["ap70"], s["ap90"]} <= {0.0, 0.25, 0.5, 0.75, 1.0}
    assert s["ap50"] == pytest.approx(ref["ap"]["50"]) and s["ap90"] == pytest.approx(ref["ap"]["90"])
    for row, ref_row in zip(on_disk["images"], ref["per_image"]):
        assert row["fg_dice"] == pytest.approx(ref_row["dice"]) and row["miou"] == pytest.approx(ref_row["miou"])
        assert len(row["iou"]) == 2 and row["hd95"][0] is None          # background HD95: nan -> null
    hd = ref["per_class"]["lesion"]["hd95"]
    assert (s["hd95"] is None) if hd is None or math.isnan(hd) else s["hd95"] == pytest.approx(hd)
    assert result["summary"]["miou"] == pytest.approx(s["miou"])


def test_cancel_writes_nothing_and_keeps_the_old_file(tiny_run):
    run, (images, masks) = tiny_run
    (run / "heldout.json").write_text('{"old": true}\n', encoding="utf-8")
    seen = []
    with pytest.raises(Cancelled):
        evaluate_run(run, images, masks, CLASSES, progress=lambda d, t, m: seen.append(d), cancel=lambda: len(seen) >= 2)
    assert seen == [1, 2]
    assert json.loads((run / "heldout.json").read_text(encoding="utf-8")) == {"old": True}


def test_bad_input_says_what_is_wrong(tiny_run, tmp_path):
    run, (images, masks) = tiny_run
    with pytest.raises(CheckpointError, match="no best.pt"):
        evaluate_run(tmp_path, images, masks, CLASSES)
    with pytest.raises(DatasetError, match="4 held-out images but 3 masks"):
        evaluate_run(run, images, masks[:3], CLASSES)
    with pytest.raises(DatasetError, match="no held-out images"):
        evaluate_run(run, [], [], CLASSES)
    with pytest.raises(CheckpointError, match="differ from the dataset's"):
        evaluate_run(run, images, masks, ["_background_", "tumour"])


def test_real_run_feeds_the_report(tiny_run, tmp_path):
    """A queue.json around the real run: its metrics.csv and heldout.json go through load_results/write_report."""
    import shutil

    from segstudio.core.experiments.report import write_report
    from segstudio.core.experiments.results import load_results

    run, (images, masks) = tiny_run
    evaluate_run(run, images, masks, CLASSES)
    exp = tmp_path / "exp"
    shutil.copytree(run, exp / "runs" / "unet-s0")
    (exp / "queue.json").write_text(json.dumps({"entries": [
        {"id": "unet-s0", "params": {"model": "unet", "seed": 0}, "status": "done", "run": "runs/unet-s0"}]}),
        encoding="utf-8")
    res = load_results(exp)
    r = res.runs[0]
    assert r.epochs == 2 and {"train_loss", "val_loss", "miou", "iou_lesion"} <= set(r.history[0])
    assert res.class_names == CLASSES and r.summary["miou"] == pytest.approx(
        json.loads((run / "heldout.json").read_text())["summary"]["miou"])
    files = {p.name for p in write_report(exp)}
    assert {"results.csv", "results.md", "results.tex", "wilcoxon.csv", "curves_train_loss.png",
            "curves_val_loss.png", "curves_miou.png", "curves_mdice.png", "curves_iou_lesion.png"} <= files
    assert "| all | 1 |" in (exp / "report" / "results.md").read_text(encoding="utf-8")
