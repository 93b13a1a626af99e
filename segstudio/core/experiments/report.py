"""Exports of an experiment's results (``EXP/report/`` by default), written atomically:

* ``results.csv`` - one row per run (``kind`` = run: its held-out metrics, status, epochs, best val mIoU) and
  one per group (``kind`` = group: ``<metric>`` = mean, ``<metric>_std`` (ddof=1, blank for one run) and
  ``<metric>_n`` = the runs with a value); numbers with 6 significant digits, nan blank.
* ``results.md`` - the groups' table (mean ± std, 3 decimals; HD95 in pixels, 2 decimals; the best mean of a
  column in bold: the highest, the lowest for HD95), the runs' table and the pairwise Wilcoxon tests.
* ``results.tex`` - the groups' table as a booktabs ``tabular`` (``\\usepackage{booktabs}``), names escaped.
* ``wilcoxon.csv`` - the paired per-image Wilcoxon signed-rank test of every pair of groups (of runs when there
  is only one group) on the primary metric, the foreground Dice of each image.
* ``curves_<metric>.png`` - every run's training curves overlaid (:mod:`.plots`).
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Optional, Sequence

from segstudio.core.experiments.results import LOWER_IS_BETTER, PRIMARY_METRIC, ExperimentResults, load_results

LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def _csv_num(v) -> str:
    return f"{v:.6g}" if _finite(v) else ""


def _digits(metric: str) -> int:
    return 2 if metric.startswith("hd95") else 3


def cell(mean: float, std: float, metric: str, sep: str = " ± ") -> str:
    """"0.812 ± 0.013", "0.812" (one run), "-" (no value)."""
    if not _finite(mean):
        return "-"
    d = _digits(metric)
    return f"{mean:.{d}f}{sep}{std:.{d}f}" if _finite(std) else f"{mean:.{d}f}"


def partial(row, metric: str) -> str:
    """" (n=1)" when fewer of the group's scored runs have a value of ``metric`` than have some other metric
    (e.g. HD95 is undefined for a run that predicted no foreground), so that a mean over fewer runs says so."""
    n = row.n.get(metric, 0)
    return f" (n={n})" if 0 < n < max(row.n.values(), default=0) else ""


def best_rows(rows, metric: str) -> set:
    """Indices of the rows holding the best mean of ``metric`` (none with fewer than two rows with a value, or
    when every row has the same)."""
    values = [(i, round(r.mean[metric], 12)) for i, r in enumerate(rows) if _finite(r.mean.get(metric))]
    if len(values) < 2:
        return set()
    pick = min if metric in LOWER_IS_BETTER else max
    best = pick(v for _, v in values)
    winners = {i for i, v in values if v == best}
    return set() if len(winners) == len(values) else winners


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def _md_escape(text: str, emphasis: bool = False) -> str:
    """``|`` escaped (a table cell); with ``emphasis`` also ``_`` and ``*`` (class names like _background_)."""
    text = str(text).replace("|", "\\|")
    return text.replace("_", "\\_").replace("*", "\\*") if emphasis else text


# ------------------------------------------------------------------------------------------------ CSV
def results_csv(res: ExperimentResults, rows) -> str:
    metrics = [m for m, _ in res.metrics()]
    axes = res.axes()
    cols = ["kind", "id", *axes, "status", "runs", "epochs", "best_val_miou"]
    for m in metrics:
        cols += [m, f"{m}_std", f"{m}_n"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in res.runs:
        line = {"kind": "run", "id": r.id, "status": r.status, "runs": r.id, "epochs": r.epochs,
                "best_val_miou": _csv_num(r.best_val_miou)}
        line.update({a: r.params.get(a, "") for a in axes})
        line.update({m: _csv_num(r.summary.get(m, math.nan)) for m in metrics})
        w.writerow(line)
    for g in rows:
        line = {"kind": "group", "id": g.key, "runs": ";".join(g.runs)}
        line.update({a: g.params.get(a, "") for a in axes})
        for m in metrics:
            line.update({m: _csv_num(g.mean[m]), f"{m}_std": _csv_num(g.std[m]), f"{m}_n": g.n[m]})
        w.writerow(line)
    return buf.getvalue()


def wilcoxon_csv(pairs: Sequence[dict]) -> str:
    cols = ["a", "b", "metric", "n_pairs", "mean_a", "mean_b", "a_better", "b_better", "statistic", "p_value",
            "method", "note"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for p in pairs:
        res = p.get("result")
        w.writerow({"a": p["a"], "b": p["b"], "metric": p["metric"], "n_pairs": p.get("n_pairs", 0),
                    "mean_a": _csv_num(p.get("mean_a")), "mean_b": _csv_num(p.get("mean_b")),
                    "a_better": p.get("a_better", ""), "b_better": p.get("b_better", ""),
                    "statistic": _csv_num(res.statistic) if res else "", "p_value": _csv_num(res.pvalue) if res else "",
                    "method": res.method if res else "", "note": (res.note if res else p.get("error", ""))})
    return buf.getvalue()


# ------------------------------------------------------------------------------------------- Markdown
def _p(value: float) -> str:
    return "<0.0001" if value < 1e-4 else f"{value:.4f}"


def results_markdown(res: ExperimentResults, rows, pairs: Sequence[dict], metric: str = PRIMARY_METRIC) -> str:
    metrics = res.metrics()
    lines = [f"# Experiment {_md_escape(res.name)}", "",
             "Held-out scores (docs/metrics.md): mean ± std over seeds/folds (std with ddof = 1; none for one run), "
             "n = runs with scores; HD95 in pixels (lower is better); best mean of each column in bold.", "",
             "| group | n | " + " | ".join(_md_escape(label, True) for _, label in metrics) + " |",
             "|---|---:|" + "---:|" * len(metrics)]
    bold = {m: best_rows(rows, m) for m, _ in metrics}
    for i, g in enumerate(rows):
        cells = []
        for m, _ in metrics:
            text = cell(g.mean[m], g.std[m], m)
            cells.append((f"**{text}**" if i in bold[m] else text) + partial(g, m))
        n = max(g.n.values(), default=0)
        lines.append(f"| {_md_escape(g.key)} | {n} | " + " | ".join(cells) + " |")
    lines += ["", "## Runs", "", "| run | status | epochs | best val mIoU | mIoU | Dice (fg) | HD95 |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for r in res.runs:
        s = r.summary
        lines.append(f"| {_md_escape(r.id)} | {r.status} | {r.epochs} | {cell(r.best_val_miou, math.nan, 'miou')} | "
                     f"{cell(s.get('miou', math.nan), math.nan, 'miou')} | "
                     f"{cell(s.get('fg_dice', math.nan), math.nan, 'fg_dice')} | "
                     f"{cell(s.get('hd95', math.nan), math.nan, 'hd95')} |")
    if pairs:
        lines += ["", f"## Paired Wilcoxon signed-rank tests (per-image {metric}, two-sided)", "",
                  "| A | B | images | mean A | mean B | A better | B better | W | p | note |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        for p in pairs:
            r = p.get("result")
            if r is None:
                lines.append(f"| {_md_escape(p['a'])} | {_md_escape(p['b'])} | 0 | | | | | | | "
                             f"{_md_escape(p.get('error', ''))} |")
                continue
            lines.append(f"| {_md_escape(p['a'])} | {_md_escape(p['b'])} | {p['n_pairs']} | {p['mean_a']:.4f} | "
                         f"{p['mean_b']:.4f} | {p['a_better']} | {p['b_better']} | {r.statistic:g} | "
                         f"{_p(r.pvalue)} | {_md_escape(r.note)} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- LaTeX
def results_latex(res: ExperimentResults, rows) -> str:
    metrics = res.metrics()
    bold = {m: best_rows(rows, m) for m, _ in metrics}
    lines = [f"% segstudio experiment {latex_escape(res.name)}: held-out scores, mean $\\pm$ std over seeds/folds",
             "% needs \\usepackage{booktabs}",
             "\\begin{tabular}{lr" + "c" * len(metrics) + "}", "\\toprule",
             "Group & $n$ & " + " & ".join(latex_escape(label) for _, label in metrics) + " \\\\", "\\midrule"]
    for i, g in enumerate(rows):
        cells = []
        for m, _ in metrics:
            if not _finite(g.mean[m]):
                cells.append("--")
                continue
            text = cell(g.mean[m], g.std[m], m, sep=" \\pm ")
            cells.append((f"$\\mathbf{{{text}}}$" if i in bold[m] else f"${text}$") + partial(g, m))
        n = max(g.n.values(), default=0)
        lines.append(f"{latex_escape(g.key)} & {n} & " + " & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ all
def write_report(exp_dir, out=None, *, group_by: Optional[Sequence[str]] = None,
                 metric: str = PRIMARY_METRIC) -> list[Path]:
    """Write every export of the experiment folder ``exp_dir`` into ``out`` (default ``EXP/report``);
    returns the files written (CSV, Markdown, LaTeX, wilcoxon.csv, then the curve PNGs)."""
    from segstudio.core.annotation.io import atomic_write_text
    from segstudio.core.experiments.plots import draw_run_curves

    res = load_results(exp_dir)
    out = Path(out) if out is not None else Path(exp_dir) / "report"
    out.mkdir(parents=True, exist_ok=True)
    rows = res.table(group_by)
    pairs = res.pairwise(metric, group_by)
    texts = {"results.csv": results_csv(res, rows), "results.md": results_markdown(res, rows, pairs, metric),
             "results.tex": results_latex(res, rows), "wilcoxon.csv": wilcoxon_csv(pairs)}
    written = []
    for name, text in texts.items():
        atomic_write_text(out / name, text)
        written.append(out / name)
    return written + draw_run_curves(res.runs, out)
