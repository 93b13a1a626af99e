"""write_report: results.csv / .md / .tex, wilcoxon.csv and the overlaid curve PNGs of an experiment folder."""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from PIL import Image

from segstudio.core.experiments.plots import curve_metrics, draw_overlay, file_name, run_colors
from segstudio.core.experiments.report import latex_escape, write_report
from segstudio.core.experiments.results import load_results
from test_results import grid_experiment, history, make_experiment


def _read_csv(path):
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


@pytest.fixture
def report(tmp_path):
    exp = grid_experiment(tmp_path / "exp")
    return exp, {p.name: p for p in write_report(exp)}


def test_files_written_into_exp_report(report):
    exp, files = report
    assert list(files)[:4] == ["results.csv", "results.md", "results.tex", "wilcoxon.csv"]
    assert {"curves_train_loss.png", "curves_val_loss.png", "curves_miou.png", "curves_iou_lesion.png"} <= set(files)
    assert "curves_mdice.png" not in files          # no history has it
    assert all(p.parent == exp / "report" and p.is_file() for p in files.values())


def test_results_csv_has_runs_and_groups(report):
    exp, files = report
    res = load_results(exp)
    rows = _read_csv(files["results.csv"])
    assert [r["kind"] for r in rows] == ["run"] * 6 + ["group"] * 2
    run = rows[0]
    assert run["id"] == "unet-dice_focal-light-s0" and run["model"] == "unet" and run["seed"] == "0"
    assert run["status"] == "done" and run["epochs"] == "3" and float(run["best_val_miou"]) == pytest.approx(0.45)
    assert float(run["miou"]) == pytest.approx(res.runs[0].summary["miou"], rel=1e-5) and run["miou_std"] == ""
    failed = rows[5]
    assert failed["status"] == "failed" and failed["miou"] == "" and failed["ap50"] == ""
    group = rows[6]
    table = res.table()[0]
    assert group["id"] == "unet" and group["runs"] == ";".join(table.runs) and group["seed"] == ""
    assert float(group["miou"]) == pytest.approx(table.mean["miou"], rel=1e-5)
    assert float(group["miou_std"]) == pytest.approx(table.std["miou"], rel=1e-5)
    assert group["miou_n"] == "3" and rows[7]["miou_n"] == "2" and group["ap90"] == "" and group["ap90_n"] == "0"
    assert {"iou__background_", "iou_lesion", "hd95", "ap70_std"} <= set(group)


def test_markdown_table_mean_std_and_best_in_bold(report):
    exp, files = report
    md = files["results.md"].read_text(encoding="utf-8")
    lines = md.splitlines()
    head = next(line for line in lines if line.startswith("| group |"))
    cols = [c.strip() for c in head.strip("|").split("|")]
    assert cols == ["group", "n", "mIoU", "mDice", "Dice (fg)", "mPA", "mPrecision", "mRecall", "IoU \\_background\\_",
                    "IoU lesion", "HD95", "AP50", "AP70", "AP90"]
    table = {r.key: r for r in load_results(exp).table()}

    def row(key):
        line = next(line for line in lines if line.startswith(f"| {key} |"))
        return dict(zip(cols, [c.strip() for c in line.strip("|").split("|")]))

    unet, cbam = row("unet"), row("cbam_unet")
    m, s = table["cbam_unet"].mean["fg_dice"], table["cbam_unet"].std["fg_dice"]
    assert cbam["Dice (fg)"] == f"**{m:.3f} ± {s:.3f}**" and cbam["n"] == "2"
    assert unet["Dice (fg)"] == f"{table['unet'].mean['fg_dice']:.3f} ± {table['unet'].std['fg_dice']:.3f}"
    assert cbam["HD95"].startswith("**") and not unet["HD95"].startswith("**")     # lower HD95 is better
    assert unet["mPA"] == "0.900 ± 0.000" and unet["AP90"] == "-"                   # equal: neither bold
    assert "| cbam_unet-dice_focal-light-s2 | failed | 5 |" in md
    assert "## Paired Wilcoxon signed-rank tests (per-image dice, two-sided)" in md
    assert any(line.startswith("| unet | cbam_unet | 10 |") for line in lines)


def test_latex_booktabs_escaped(report):
    exp, files = report
    tex = files["results.tex"].read_text(encoding="utf-8")
    assert "\\begin{tabular}{lr" + "c" * 12 + "}" in tex
    assert tex.index("\\toprule") < tex.index("\\midrule") < tex.index("\\bottomrule") < tex.index("\\end{tabular}")
    assert "Group & $n$ & mIoU & mDice & Dice (fg) & mPA & mPrecision & mRecall & IoU \\_background\\_ & IoU lesion" in tex
    cbam = next(line for line in tex.splitlines() if line.startswith("cbam\\_unet & 2 & "))
    cells = cbam.removesuffix(" \\\\").split(" & ")
    assert cells[4].startswith("$\\mathbf{") and " \\pm " in cells[4]
    assert cells[-1] == "--"                                                          # AP90: no value
    assert latex_escape("a_b&c%d$e#f{g}h~i^j\\k") == (
        "a\\_b\\&c\\%d\\$e\\#f\\{g\\}h\\textasciitilde{}i\\textasciicircum{}j\\textbackslash{}k")


def test_names_with_special_characters_and_single_runs(tmp_path):
    exp = make_experiment(tmp_path, [
        {"id": "a", "params": {"model": "res_unet&50%", "seed": 0}, "dice": {"x": 0.5, "y": 0.6, "z": 0.9},
         "history": history(2, 0.2)},
        {"id": "b", "params": {"model": "u|net", "seed": 0}, "dice": {"x": 0.4, "y": 0.65, "z": 0.7}}])
    files = {p.name: p for p in write_report(exp, out=tmp_path / "out")}
    assert files["results.md"].parent == tmp_path / "out"
    tex = files["results.tex"].read_text(encoding="utf-8")
    assert "res\\_unet\\&50\\% & 1 & " in tex and "\\pm" not in tex.split("\\midrule")[1]   # one run: no std
    md = files["results.md"].read_text(encoding="utf-8")
    assert "| u\\|net | 1 |" in md and "±" not in md.split("## Runs")[0].split("|---")[-1]
    pairs = _read_csv(files["wilcoxon.csv"])
    assert [(p["a"], p["b"], p["n_pairs"]) for p in pairs] == [("res_unet&50%", "u|net", "3")]
    stat, p, n = load_results(exp).wilcoxon("a", "b")
    assert float(pairs[0]["p_value"]) == pytest.approx(p, rel=1e-5) and pairs[0]["method"] == "exact"
    assert [f for f in files if f.endswith(".png")] == ["curves_train_loss.png", "curves_val_loss.png",
                                                      "curves_miou.png", "curves_iou_lesion.png"]


def test_curve_pngs_draw_every_run_in_its_colour(report):
    exp, files = report
    res = load_results(exp)
    colors = run_colors([r.id for r in res.runs])
    assert len(set(colors.values())) == 6
    for name in ("curves_train_loss.png", "curves_miou.png"):
        with Image.open(files[name]) as im:
            arr = np.asarray(im.convert("RGB"))
        plot = arr[:, :950]                                          # left of the legend
        for rid, rgb in colors.items():
            assert np.all(plot == rgb, axis=-1).sum() > 20, (name, rid)
        legend = arr[:, 960:]
        assert all(np.all(legend == rgb, axis=-1).any() for rgb in colors.values())


def test_overlay_skips_missing_values_and_names_metrics(tmp_path):
    rows = [{"epoch": 1, "train_loss": 0.9, "iou_lesion": 0.2, "iou__background_": 0.9},
            {"epoch": 2, "train_loss": float("nan"), "iou_lesion": 0.4}]
    assert curve_metrics([rows]) == [("train_loss", "train loss"), ("iou_lesion", "val IoU lesion")]
    assert file_name("iou_a b/c") == "curves_iou_a_b_c.png"
    p = draw_overlay([("only", [1, 2], [0.5, float("nan")], (200, 0, 0))], "t", tmp_path / "x.png", size=(300, 200))
    with Image.open(p) as im:
        assert im.size[1] == 200 and np.all(np.asarray(im.convert("RGB"))[:, :300] == (200, 0, 0), axis=-1).any()


def test_title_is_the_plans_name_else_the_folder(tmp_path):
    exp = grid_experiment(tmp_path / "folder-name")
    md = write_report(exp)[1].read_text(encoding="utf-8")
    assert md.splitlines()[0] == "# Experiment folder-name"          # no plan.yaml: the folder's name
    (exp / "plan.yaml").write_text("name: ph2_unet_vs_cbam\ndata: x\n", encoding="utf-8")
    files = {p.name: p for p in write_report(exp)}
    assert files["results.md"].read_text(encoding="utf-8").splitlines()[0] == "# Experiment ph2_unet_vs_cbam"
    assert "ph2\\_unet\\_vs\\_cbam" in files["results.tex"].read_text(encoding="utf-8").splitlines()[0]
    (exp / "plan.yaml").write_text("name: [unclosed\n", encoding="utf-8")   # unreadable: back to the folder
    assert write_report(exp)[1].read_text(encoding="utf-8").splitlines()[0] == "# Experiment folder-name"


def test_a_mean_over_fewer_runs_than_the_group_says_so(tmp_path):
    """HD95 is undefined for a run that predicted no foreground: the group's HD95 is then the other run's, and
    every table says over how many runs ("(n=1)") instead of passing it off as the mean of both."""
    import json

    exp = make_experiment(tmp_path, [
        {"id": "u0", "params": {"model": "unet", "seed": 0}, "dice": {"x": 0.5, "y": 0.6}},
        {"id": "u1", "params": {"model": "unet", "seed": 1}, "dice": {"x": 0.7, "y": 0.8}}])
    doc_path = exp / "runs" / "u1" / "heldout.json"
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    doc["summary"]["hd95"] = None
    doc_path.write_text(json.dumps(doc), encoding="utf-8")
    row = load_results(exp).table()[0]
    assert row.n["hd95"] == 1 and row.n["miou"] == 2
    files = {p.name: p for p in write_report(exp, out=tmp_path / "out")}
    md_row = [line for line in files["results.md"].read_text(encoding="utf-8").splitlines()
              if line.startswith("| all |")][0]
    assert md_row.count("(n=1)") == 1 and md_row.startswith("| all | 2 |")
    assert " ± " in md_row.split("|")[3] and "(n=1)" not in md_row.split("|")[3]   # mIoU: both runs
    tex_row = [line for line in files["results.tex"].read_text(encoding="utf-8").splitlines()
               if line.startswith("all & 2 &")][0]
    assert tex_row.count("(n=1)") == 1
