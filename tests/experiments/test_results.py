"""load_results on synthetic experiment folders: grouping, mean ± std, paired per-image Wilcoxon."""
from __future__ import annotations

import json
import math
import statistics

import numpy as np
import pytest
from scipy import stats as sps

from segstudio.core.errors import ConfigError
from segstudio.core.experiments.results import load_results

CLASSES = ["_background_", "lesion"]


def _image_row(name, v):
    iou = v / (2 - v)
    return {"name": name, "iou": [0.9, iou], "dice": [0.95, v], "precision": [0.9, v], "recall": [0.9, v],
            "pa": [0.9, v], "hd95": [None, round(20 * (1 - v), 6)], "miou": (0.9 + iou) / 2,
            "mdice": (0.95 + v) / 2, "mpa": 0.9, "mprecision": 0.9, "mrecall": 0.9, "accuracy": 0.95,
            "fg_iou": iou, "fg_dice": v, "hd95_mean": round(20 * (1 - v), 6)}


def heldout_doc(values: dict, classes=CLASSES) -> dict:
    """A heldout.json whose per-image foreground Dice are ``values`` and whose summary follows from them."""
    fg = float(np.mean(list(values.values())))
    summary = {"miou": 0.5 + fg / 2, "mdice": 0.4 + fg / 2, "mpa": 0.9, "mprecision": 0.8 + fg / 10,
               "mrecall": 0.85, "fg_iou": fg * 0.9, "fg_dice": fg, "accuracy": 0.95,
               "iou__background_": 0.97, "iou_lesion": fg * 0.9, "dice__background_": 0.98, "dice_lesion": fg,
               "hd95_lesion": 20 * (1 - fg), "hd95": 20 * (1 - fg), "ap50": 1.0, "ap70": round(fg, 2),
               "ap90": None, "mean_image_iou": fg * 0.9}
    return {"classes": classes, "n_images": len(values), "images": [_image_row(n, v) for n, v in values.items()],
            "summary": summary}


def make_experiment(root, runs):
    """An experiment folder: queue.json + runs/<id>/ with metrics.csv (``history``) and heldout.json
    (``dice``: image -> foreground Dice) for each run spec (id, params, status)."""
    entries = []
    for spec in runs:
        rid = spec["id"]
        d = root / "runs" / rid
        d.mkdir(parents=True)
        entries.append({"id": rid, "params": spec["params"], "status": spec.get("status", "done"),
                        "run": f"runs/{rid}", "error": spec.get("error"), "started": None, "finished": None})
        if spec.get("history"):
            cols = list(spec["history"][0])
            lines = [",".join(cols)] + [",".join(str(r[c]) for c in cols) for r in spec["history"]]
            (d / "metrics.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        if spec.get("dice") is not None:
            (d / "heldout.json").write_text(json.dumps(heldout_doc(spec["dice"])), encoding="utf-8")
    (root / "queue.json").write_text(json.dumps({"entries": entries}), encoding="utf-8")
    return root


def history(n, start):
    return [{"epoch": e, "train_loss": round(1 / e + start, 4), "val_loss": round(1.2 / e + start, 4),
             "miou": round(start + 0.05 * e, 4), "iou_lesion": round(start + 0.04 * e, 4)} for e in range(1, n + 1)]


def grid_experiment(root):
    """unet vs cbam_unet, 3 seeds each (10 held-out images); one cbam seed failed (no scores)."""
    rng = np.random.default_rng(0)
    names = [f"img{i:02d}" for i in range(10)]
    base = rng.uniform(0.6, 0.8, len(names))
    runs = []
    for model, shift in (("unet", 0.0), ("cbam_unet", 0.08)):
        for seed in range(3):
            params = {"model": model, "loss": "dice_focal", "augment": "light", "seed": seed}
            spec = {"id": f"{model}-dice_focal-light-s{seed}", "params": params, "history": history(3 + seed, 0.3 + 0.03 * seed + shift)}
            if model == "cbam_unet" and seed == 2:
                spec.update(status="failed", error="train exited 1")
            else:
                noise = rng.normal(0, 0.02, len(names))
                spec["dice"] = dict(zip(names, np.clip(base + shift + noise, 0, 1).round(6).tolist()))
            runs.append(spec)
    return make_experiment(root, runs)


def test_runs_history_and_heldout_are_loaded(tmp_path):
    res = load_results(grid_experiment(tmp_path))
    assert [r.id for r in res.runs][:2] == ["unet-dice_focal-light-s0", "unet-dice_focal-light-s1"]
    r = res.run("unet-dice_focal-light-s1")
    assert r.epochs == 4 and r.best_val_miou == pytest.approx(0.53) and r.history[0]["epoch"] == 1
    assert r.summary["ap90"] != r.summary["ap90"]          # null -> nan
    failed = res.run("cbam_unet-dice_focal-light-s2")
    assert failed.status == "failed" and failed.heldout is None and failed.error == "train exited 1"
    assert res.class_names == CLASSES
    assert ("iou_lesion", "IoU lesion") in res.metrics() and res.metrics()[-3:] == [
        ("ap50", "AP50"), ("ap70", "AP70"), ("ap90", "AP90")]


def test_table_mean_and_std_over_seeds(tmp_path):
    res = load_results(grid_experiment(tmp_path))
    rows = {row.key: row for row in res.table()}
    assert list(rows) == ["unet", "cbam_unet"]          # only the varying axis names the group
    unet = rows["unet"]
    assert unet.params == {"model": "unet", "loss": "dice_focal", "augment": "light"} and unet.n_runs == 3
    values = [res.run(f"unet-dice_focal-light-s{s}").summary["miou"] for s in range(3)]
    assert unet.mean["miou"] == pytest.approx(statistics.mean(values))
    assert unet.std["miou"] == pytest.approx(statistics.stdev(values))          # ddof = 1
    assert unet.n["miou"] == 3 and rows["cbam_unet"].n["miou"] == 2             # the failed run is left out
    assert math.isnan(unet.mean["ap90"]) and unet.n["ap90"] == 0
    per_seed = res.table(group_by=["model", "seed"])
    assert len(per_seed) == 6 and all(math.isnan(row.std["miou"]) for row in per_seed)  # one run: no std
    assert per_seed[0].key == "unet-0"
    with pytest.raises(ConfigError, match="unknown grid axis 'optimizer'; axes: model, loss, augment, seed"):
        res.table(group_by=["optimizer"])


def test_wilcoxon_between_runs_pairs_common_images(tmp_path):
    a = {f"i{k}": v for k, v in enumerate([0.81, 0.72, 0.93, 0.64, 0.55, 0.88, 0.79, 0.7])}
    b = {f"i{k}": v for k, v in enumerate([0.78, 0.75, 0.9, 0.6, 0.5, 0.8, 0.8, 0.69, 0.99], start=1)}
    exp = make_experiment(tmp_path, [{"id": "a", "params": {"model": "unet", "seed": 0}, "dice": a},
                                     {"id": "b", "params": {"model": "unetpp", "seed": 0}, "dice": b}])
    res = load_results(exp)
    stat, p, n = res.wilcoxon("a", "b")
    common = sorted(set(a) & set(b))
    ref = sps.wilcoxon([a[k] for k in common], [b[k] for k in common])
    assert n == len(common) == 7
    assert stat == pytest.approx(float(ref.statistic)) and p == pytest.approx(float(ref.pvalue))
    # by group label too ("unet" / "unetpp": single-run groups)
    assert res.wilcoxon("unet", "unetpp") == pytest.approx((stat, p, n))
    # per class and HD95 (lower is better: "a_better" counts smaller distances)
    c = res.compare("a", "b", metric="hd95")
    assert c["n_pairs"] == 7 and c["a_better"] == sum(a[k] > b[k] for k in common)
    assert res.wilcoxon("a", "b", metric="dice_lesion")[1] == pytest.approx(p)


def test_wilcoxon_between_groups_averages_the_seeds_per_image(tmp_path):
    res = load_results(grid_experiment(tmp_path))
    stat, p, n = res.wilcoxon("unet", "cbam_unet")
    va = {k: np.mean([res.run(f"unet-dice_focal-light-s{s}").image_values("dice", CLASSES)[k] for s in range(3)])
          for k in [f"img{i:02d}" for i in range(10)]}
    vb = {k: np.mean([res.run(f"cbam_unet-dice_focal-light-s{s}").image_values("dice", CLASSES)[k]
                      for s in range(2)]) for k in va}
    ref = sps.wilcoxon(list(va.values()), list(vb.values()))
    assert n == 10 and p == pytest.approx(float(ref.pvalue)) and stat == pytest.approx(float(ref.statistic))
    assert p < 0.01          # cbam_unet is 0.08 better on every image
    pairs = res.pairwise()
    assert [(q["a"], q["b"], q["n_pairs"]) for q in pairs] == [("unet", "cbam_unet", 10)]
    assert pairs[0]["b_better"] == 10


def test_kfold_groups_pair_over_the_union_of_the_folds(tmp_path):
    folds = [[f"f{f}i{i}" for i in range(4)] for f in range(3)]
    rng = np.random.default_rng(4)
    runs = []
    for model, shift in (("unet", 0.0), ("unetpp", 0.03)):
        for f, names in enumerate(folds):
            runs.append({"id": f"{model}-s0-f{f}", "params": {"model": model, "seed": 0, "fold": f},
                         "dice": {n: round(0.6 + shift + 0.1 * rng.random(), 6) for n in names}})
    res = load_results(make_experiment(tmp_path, runs))
    assert [row.key for row in res.table()] == ["unet", "unetpp"] and res.table()[0].n["miou"] == 3
    stat, p, n = res.wilcoxon("unet", "unetpp")
    assert n == 12
    va = {k: v for f in range(3) for k, v in res.run(f"unet-s0-f{f}").image_values("dice", CLASSES).items()}
    vb = {k: v for f in range(3) for k, v in res.run(f"unetpp-s0-f{f}").image_values("dice", CLASSES).items()}
    ref = sps.wilcoxon([va[k] for k in sorted(va)], [vb[k] for k in sorted(va)])
    assert p == pytest.approx(float(ref.pvalue)) and stat == pytest.approx(float(ref.statistic))


def test_bad_requests_name_what_is_wrong(tmp_path):
    exp = make_experiment(tmp_path, [
        {"id": "a", "params": {"model": "unet"}, "dice": {"x": 0.5, "y": 0.6}},
        {"id": "b", "params": {"model": "unetpp"}, "dice": {"z": 0.7}},
        {"id": "c", "params": {"model": "cbam_unet"}, "status": "pending"},
        {"id": "d", "params": {"model": "deeplab"}, "dice": {"x": 0.5, "y": 0.6}}])
    res = load_results(exp)
    with pytest.raises(ConfigError, match="'nope' is neither a run nor a group; runs: a, b, c, d"):
        res.wilcoxon("a", "nope")
    with pytest.raises(ConfigError, match="c: no held-out scores yet \\(status: pending\\)"):
        res.wilcoxon("a", "c")
    with pytest.raises(ConfigError, match="a and b have no held-out image in common"):
        res.wilcoxon("a", "b")
    with pytest.raises(ConfigError, match="unknown per-image metric 'f1'; known: dice, iou"):
        res.wilcoxon("a", "d", metric="f1")
    stat, p, n = res.wilcoxon("a", "d")          # identical scores: p = 1, not an error
    assert (stat, p, n) == (0.0, 1.0, 2)
    assert "all 2 differences are zero" in res.compare("a", "d")["result"].note
    errors = [q for q in res.pairwise() if "error" in q]
    assert {(q["a"], q["b"]) for q in errors} == {("unet", "unetpp"), ("unetpp", "deeplab")}
    with pytest.raises(ConfigError, match="not an experiment folder"):
        load_results(tmp_path / "runs")
    (tmp_path / "queue.json").write_text(json.dumps({"entries": [{"params": {}}]}), encoding="utf-8")
    with pytest.raises(ConfigError, match="queue.json: entry 1 of the queue has no id"):
        load_results(tmp_path)
