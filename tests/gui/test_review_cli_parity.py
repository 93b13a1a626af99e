"""One review pipeline: the Review dock and `segstudio evaluate` report the same numbers for the same
predictions and annotations (the project's predictions/ folder against the masks `segstudio convert` exports
from its JSON files) - per class, the means, HD95 and its coverage, and every image's mIoU."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from segstudio.cli import main  # noqa: E402
from segstudio.core.annotation.masks import write_label_png  # noqa: E402
from segstudio.core.project import Project  # noqa: E402
from segstudio.core.review import ground_truth  # noqa: E402
from segstudio.gui.review import ReviewDock  # noqa: E402
from segstudio.gui.review.metrics_panel import COLUMNS  # noqa: E402

TIMEOUT = 60_000


def perturbed(gt: np.ndarray, k: int) -> np.ndarray:
    """A different kind of error per image: perfect, shifted, missed, invented, classes swapped, eroded."""
    kind = k % 6
    if kind == 0:
        return gt.copy()
    if kind == 1:
        out = np.zeros_like(gt)
        out[:, 7:] = gt[:, :-7]
        return out
    if kind == 2:
        return np.zeros_like(gt)                       # everything missed
    if kind == 3:
        out = gt.copy()
        out[5:30, 200:240] = 2                         # an invented cyst
        return out
    if kind == 4:
        return np.where(gt == 1, 2, np.where(gt == 2, 1, gt))
    out = gt.copy()
    out[::4, :] = 0                                    # stripes of background
    return out


def same(a, b) -> bool:
    a = math.nan if a is None else float(a)
    b = math.nan if b is None else float(b)
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-12)


def test_dock_and_cli_report_identical_numbers(qtbot, sample_project, tmp_path, capsys):
    project = Project(sample_project)
    project.predictions_dir.mkdir()
    for k, entry in enumerate(project.images):
        write_label_png(project.predictions_dir / f"{entry.stem}.png", perturbed(ground_truth(project, entry), k))
    gt_root = tmp_path / "gt"
    assert main(["convert", str(sample_project), "--format", "masks", "--masks-only", "--out", str(gt_root)]) == 0
    out = tmp_path / "cli.json"
    assert main(["evaluate", "--pred", str(project.predictions_dir), "--gt", str(gt_root / "masks"),
                 "--json", str(out), "-q"]) == 0
    capsys.readouterr()
    cli = json.loads(out.read_text(encoding="utf-8"))
    assert cli["n_images"] == len(project.images)

    dock = ReviewDock(project)
    qtbot.addWidget(dock)
    try:
        qtbot.waitUntil(lambda: dock.worker is None, timeout=TIMEOUT)   # opening a project evaluates it once
        with qtbot.waitSignal(dock.evaluated, timeout=TIMEOUT) as blocker:
            assert dock.evaluate()
        qtbot.waitUntil(lambda: dock.worker is None, timeout=TIMEOUT)
        ev = blocker.args[0]
        names = list(project.label_set.names)
        assert cli["classes"] == names and len(ev.per_image) == cli["n_images"]
        # whole set, as the metrics table shows it (foreground rows), and the means in the summary
        dock.metrics.set_scope("all")
        for name in names[1:]:
            for column, key in COLUMNS:
                assert same(dock.metrics.value(name, column), cli["per_class"][name][key]), (name, column)
            c = names.index(name)
            assert ev.overall.hd95_n[c] == cli["per_class"][name]["hd95_images"]
            assert ev.overall.hd95_undefined[c] == cli["per_class"][name]["hd95_undefined"]
        # the cases the conventions are about are there: a class missed (HD95 undefined), a class in neither
        assert cli["per_class"]["lesion"]["hd95_undefined"] > 0 and cli["per_class"]["cyst"]["hd95_absent"] > 0
        for key in ("miou", "mdice", "mprecision", "mrecall", "mpa"):
            assert same(getattr(ev.overall, key), cli["mean"][key]), key
        assert same(ev.overall.fg_iou, cli["mean"]["fg_miou"]) and same(ev.overall.accuracy, cli["accuracy"])
        summary = dock.metrics.summary.text()
        assert f"mIoU {cli['mean']['miou']:.3f}" in summary and f"foreground mIoU {cli['mean']['fg_miou']:.3f}" in summary
        # every image: the mIoU of the "Images by IoU" list is the CLI's per-image miou
        table = dock.images_table
        shown = {table.item(r, 0).data(0x0100): table.item(r, 2).value for r in range(table.rowCount())}
        for row in cli["per_image"]:
            assert same(shown[row["image"]], row["miou"]), row["image"]
            assert same(ev.per_image[row["image"]].fg_iou, row["iou"])
        # the current image's table is the CLI's per-image row
        entry = project.images[3]                                          # kind 3: an invented cyst
        row = next(r for r in cli["per_image"] if r["image"] == entry.stem)
        dock.set_entry(entry)
        dock.metrics.set_scope("image")
        for name in names[1:]:
            assert same(dock.metrics.value(name, "IoU"), row["ious"][name])
            assert same(dock.metrics.value(name, "Dice"), row["dices"][name])
            assert same(dock.metrics.value(name, "HD95 (px)"), row["hd95"][name])
        assert f"mIoU {row['miou']:.3f}" in dock.metrics.summary.text()
    finally:
        dock.shutdown()
