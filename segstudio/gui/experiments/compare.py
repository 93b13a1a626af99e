"""The comparison view of an experiment: every run's curves overlaid (one metric at a time, a legend by run), the
results table (mean ± std over seeds / folds per group), a paired per-image Wilcoxon signed-rank test between
any two runs or groups, and the exports (CSV, Markdown, LaTeX, the plot as PNG).

Everything it shows comes from the core's ``segstudio.core.experiments.results.load_results(exp_dir)`` (run
histories from each run's metrics.csv, held-out scores from heldout.json) and the reports from
``segstudio.core.experiments.report``: the numbers are the same as ``segstudio experiment --report-only``'s.
Runs of one group (same grid values but the seed / fold) share a colour and differ in line style.
"""
from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Optional

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QGridLayout, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from segstudio.gui.canvas.review_layer import LatestJob
from segstudio.gui.training.curves import CLASS_COLORS, legend_html

#: metrics.csv columns the metric combo offers first, with their names
METRIC_NAMES = {"train_loss": "train loss", "val_loss": "val loss", "miou": "val mIoU", "mdice": "val mDice",
                "dice": "val Dice", "lr": "learning rate"}
STYLES = (Qt.SolidLine, Qt.DashLine, Qt.DotLine, Qt.DashDotLine, Qt.DashDotDotLine)


def metric_label(key: str) -> str:
    if key in METRIC_NAMES:
        return METRIC_NAMES[key]
    if key.startswith("iou_"):
        return f"val IoU {key[4:]}"
    return key.replace("_", " ")


def cell_text(value) -> str:
    """A results-table value as shown: ``(mean, std)`` -> ``0.812 ± 0.010``; floats with 3 digits."""
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        mean, std = (float(v) for v in value)
        if math.isnan(mean):
            return ""
        return f"{mean:.3f} ± {std:.3f}" if not math.isnan(std) else f"{mean:.3f}"
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.3f}"
    return "" if value is None else str(value)


class ComparisonView(QWidget):
    """Curves overlaid, results table, Wilcoxon compare and exports of one experiment's results."""

    exported = Signal(list)   # the files an export wrote
    message = Signal(str, bool)   # (text, error) for the dock's status line

    def __init__(self, parent=None):
        super().__init__(parent)
        self.exp_dir: Optional[Path] = None
        self.results = None
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._styles: dict[str, tuple] = {}          # run id -> (colour, line style) of its curve
        self.highlighted: Optional[str] = None       # the run drawn thick (selected in the queue table)
        self.last_compare: Optional[tuple] = None
        self._sized = False
        self._loader = LatestJob(self)   # background reads of the results while a queue runs
        self._loader.ready.connect(self._loaded)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self._build_curves())
        split.addWidget(self._build_results())
        split.setStretchFactor(0, 3)   # the curves get the room; the results table is narrow (groups as columns)
        split.setStretchFactor(1, 2)
        self.splitter = split
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)

        self.metric.currentIndexChanged.connect(self.draw_curves)
        self.compare_button.clicked.connect(self.compare)
        for kind, button in self.export_buttons.items():
            button.clicked.connect(lambda _=False, k=kind: self.export_to_chosen_folder(k))
        self._update_enabled()

    def _build_curves(self) -> QWidget:
        """The metric combo above the legend and the plot."""
        self.metric = QComboBox()
        self.metric.setToolTip("The metric of the runs' curves (metrics.csv of each run)")
        self.legend = QLabel("")
        self.legend.setWordWrap(True)
        self.legend.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.plot = pg.PlotWidget()
        self.plot.setBackground("w")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.setLabel("bottom", "epoch")
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
        self.plot.setMinimumHeight(160)
        self.plot_box = QWidget()   # legend + plot: what "Export PNG" saves
        pb = QVBoxLayout(self.plot_box)
        pb.setContentsMargins(0, 0, 0, 0)
        pb.setSpacing(0)
        pb.addWidget(self.legend)
        pb.addWidget(self.plot, 1)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Curves of"))
        row.addWidget(self.metric, 1)
        ll.addLayout(row)
        ll.addWidget(self.plot_box, 1)
        return left

    def _build_results(self) -> QWidget:
        """The results table, the Compare row and its answer, the export buttons."""
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().lineSpacing() + 6)
        self.run_a, self.run_b, self.paired = QComboBox(), QComboBox(), QComboBox()
        for combo in (self.run_a, self.run_b):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
        self.paired.setToolTip("Per-image held-out score the two are paired on")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Paired Wilcoxon signed-rank test on the held-out images")
        self.compare_result = QLabel("Pick two runs or groups and press Compare")
        self.compare_result.setWordWrap(True)
        self.compare_result.setMinimumHeight(4 * self.compare_result.fontMetrics().lineSpacing())
        self.compare_result.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.compare_result.setTextInteractionFlags(Qt.TextSelectableByMouse)
        cmp = QGridLayout()   # two rows and a 2 x 2 grid of exports: the results side stays narrow
        cmp.addWidget(QLabel("A"), 0, 0)
        cmp.addWidget(self.run_a, 0, 1)
        cmp.addWidget(QLabel("B"), 0, 2)
        cmp.addWidget(self.run_b, 0, 3)
        cmp.addWidget(QLabel("per image"), 1, 0, 1, 2, Qt.AlignRight)
        cmp.addWidget(self.paired, 1, 2, 1, 1)
        cmp.addWidget(self.compare_button, 1, 3)
        cmp.setColumnStretch(1, 1)
        cmp.setColumnStretch(3, 1)
        self.export_buttons = {kind: QPushButton(text) for kind, text in
                               (("csv", "Export CSV"), ("md", "Export Markdown"), ("tex", "Export LaTeX"),
                                ("png", "Export plot PNG"))}
        ex = QGridLayout()
        for i, (kind, button) in enumerate(self.export_buttons.items()):
            button.setToolTip("Write to a folder you pick" + (" (the plot as shown)" if kind == "png" else ""))
            ex.addWidget(button, i // 2, i % 2)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(QLabel("Held-out results (mean ± std over seeds / folds)"))
        rl.addWidget(self.table, 1)
        rl.addLayout(cmp)
        rl.addWidget(self.compare_result)
        rl.addLayout(ex)
        return right

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        """The first time the view has room: curves 55 %, results 45 % (then as the user drags the handle)."""
        super().resizeEvent(event)
        if not self._sized and self.width() > 400:
            self._sized = True
            self.splitter.setSizes([int(self.width() * 0.55), int(self.width() * 0.45)])

    # ------------------------------------------------------------------ data
    def set_experiment(self, exp_dir) -> None:
        """Show ``exp_dir``'s results, read from its files now (opening it, after every finished run)."""
        from segstudio.core.errors import SegStudioError
        from segstudio.core.experiments.results import load_results

        self._loader.cancel()   # an older background read must not replace these
        results = None
        if exp_dir is not None:
            try:
                results = load_results(Path(exp_dir))
            except SegStudioError as exc:
                self.message.emit(str(exc), True)
        self._show(exp_dir, results)

    def refresh_later(self) -> None:
        """Re-read the results on a worker thread and show them when read (while a queue trains: every new
        epoch's curves, without the window waiting for the files)."""
        from segstudio.core.experiments.results import load_results

        exp = self.exp_dir
        if exp is not None:
            self._loader.request(lambda: (exp, load_results(exp)))

    def _loaded(self, value) -> None:
        if value is not None and value[0] == self.exp_dir:
            self._show(*value)

    def shutdown(self, timeout: float = 30.0) -> None:
        self._loader.cancel()
        self._loader.wait(timeout)

    def _show(self, exp_dir, results) -> None:
        self.exp_dir = Path(exp_dir) if exp_dir is not None else None
        self.results = results
        self._fill_metrics()
        self.draw_curves()
        self._fill_table()
        self._fill_choices()
        self._update_enabled()

    def clear(self) -> None:
        self.set_experiment(None)

    @property
    def runs(self) -> list:
        return list(self.results.runs) if self.results is not None else []

    def _fill_metrics(self) -> None:
        keys: list[str] = []
        for run in self.runs:
            for row in run.history or []:
                for key, value in row.items():
                    if key not in keys and key != "epoch" and isinstance(value, (int, float)):
                        keys.append(key)
        order = [k for k in METRIC_NAMES if k in keys] + sorted(k for k in keys if k not in METRIC_NAMES)
        current = self.metric.currentData()
        self.metric.blockSignals(True)
        self.metric.clear()
        for key in order:
            self.metric.addItem(metric_label(key), key)
        i = self.metric.findData(current if current in order else ("miou" if "miou" in order else None))
        self.metric.setCurrentIndex(max(i, 0) if order else -1)
        self.metric.blockSignals(False)

    def set_metric(self, key: str) -> bool:
        i = self.metric.findData(key)
        if i >= 0:
            self.metric.setCurrentIndex(i)
        return i >= 0

    def draw_curves(self, *_):
        """One curve per run with a history: x epoch, y the chosen metric."""
        for curve in self.curves.values():
            self.plot.removeItem(curve)
        self.curves, self._styles = {}, {}
        key = self.metric.currentData()
        groups: dict[str, int] = {}
        seen_in_group: dict[str, int] = {}
        legend = []
        for run in self.runs:
            rows = [r for r in (run.history or []) if r.get("epoch") is not None]
            if key is None or not rows:
                continue
            g = self.results.group_key(run, self.results.default_group_by())
            color = CLASS_COLORS[groups.setdefault(g, len(groups)) % len(CLASS_COLORS)]
            style = STYLES[seen_in_group.get(g, 0) % len(STYLES)]
            seen_in_group[g] = seen_in_group.get(g, 0) + 1
            xs = [float(r["epoch"]) for r in rows]
            ys = [float(r[key]) if isinstance(r.get(key), (int, float)) else math.nan for r in rows]
            curve = self.plot.plot(xs, ys, pen=pg.mkPen(color, width=2, style=style), symbol="o", symbolSize=4,
                                   symbolBrush=color, name=run.id, connect="finite")
            self.curves[run.id] = curve
            self._styles[run.id] = (color, style)
            legend.append((run.id, color, style != Qt.SolidLine))
        self.plot.setLabel("left", metric_label(key) if key else "")
        last = max((len(c.getData()[0]) for c in self.curves.values()), default=0)
        step = max(1, math.ceil(last / 10))   # whole epochs on the axis, at most ~10 ticks
        self.plot.getAxis("bottom").setTickSpacing(major=step, minor=step)
        self.legend.setText(legend_html(legend) if legend else "No run has finished an epoch yet")
        self.plot.enableAutoRange()
        self.highlight(self.highlighted)

    def highlight(self, run_id: Optional[str]) -> None:
        """Draw ``run_id``'s curve thick and on top (the run selected in the queue table); None: all alike."""
        self.highlighted = run_id
        for rid, curve in self.curves.items():
            color, style = self._styles[rid]
            on = rid == run_id
            curve.setPen(pg.mkPen(color, width=4 if on else (1.2 if run_id in self.curves else 2), style=style))
            curve.setZValue(10 if on else 0)

    def _fill_table(self) -> None:
        """One column per group, one row per held-out metric (mean ± std; blank: not scored yet): a group
        table turned on its side, so that the dozen metrics read down a narrow panel; "(n=1)" after a mean
        over fewer runs than the group scored."""
        from segstudio.core.experiments.report import partial

        rows = self.table_rows()
        metrics = self.results.metrics() if self.results is not None else []
        self.table.clear()
        self.table.setColumnCount(len(rows))
        self.table.setRowCount(1 + len(metrics))
        self.table.setHorizontalHeaderLabels([row.key for row in rows])
        self.table.setVerticalHeaderLabels(["Runs"] + [label for _key, label in metrics])
        for j, row in enumerate(rows):
            self.table.horizontalHeaderItem(j).setToolTip("\n".join(row.runs))
            cells = [str(row.n_runs)] + [cell_text((row.mean.get(k, math.nan), row.std.get(k, math.nan)))
                                         + partial(row, k) for k, _label in metrics]
            for i, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                item.setToolTip("\n".join(row.runs) if i == 0 else
                                f"{metrics[i - 1][1]} over {row.n.get(metrics[i - 1][0], 0)} of {row.n_runs} runs")
                self.table.setItem(i, j, item)

    def table_rows(self) -> list:
        """The results table's groups (``ExperimentResults.table()``: one ``GroupRow`` each, mean ± std)."""
        return list(self.results.table()) if self.results is not None else []

    def cell(self, group: str, metric: str) -> str:
        """The text the results table shows for ``group`` (its label) and ``metric`` (a row's label, e.g.
        "mIoU", or "Runs"); "" when there is no such cell."""
        cols = [j for j in range(self.table.columnCount()) if self.table.horizontalHeaderItem(j).text() == group]
        rows = [i for i in range(self.table.rowCount()) if self.table.verticalHeaderItem(i).text() == metric]
        item = self.table.item(rows[0], cols[0]) if rows and cols else None
        return item.text() if item is not None else ""

    def _fill_choices(self) -> None:
        """The A / B combos: the groups (when there are several) and every run with held-out scores."""
        runs = [run.id for run in self.runs if run.heldout]
        all_groups = self.results.groups() if self.results is not None else {}
        groups = [key for key, members in all_groups.items()
                  if len(all_groups) > 1 and any(r.heldout for r in members) and key not in runs]
        for combo, pick in ((self.run_a, 0), (self.run_b, 1)):
            current = combo.currentData()
            combo.clear()
            for g in groups:
                combo.addItem(f"group {g}", g)
            for run_id in runs:
                combo.addItem(run_id, run_id)
            i = combo.findData(current)
            combo.setCurrentIndex(i if i >= 0 else min(pick, combo.count() - 1))
        current = self.paired.currentText()
        self.paired.clear()
        self.paired.addItems(self.results.image_metrics() if self.results is not None else [])
        self.paired.setCurrentIndex(max(0, self.paired.findText(current or "dice")))

    def pick(self, a: str, b: str, metric: Optional[str] = None) -> None:
        """Choose A, B (run ids or group labels) and the paired metric, as the combos would."""
        self.run_a.setCurrentIndex(self.run_a.findData(a))
        self.run_b.setCurrentIndex(self.run_b.findData(b))
        if metric is not None:
            self.paired.setCurrentIndex(self.paired.findText(metric))

    def _update_enabled(self) -> None:
        has = self.results is not None and bool(self.runs)
        self.compare_button.setEnabled(has and self.run_a.count() >= 2)
        for button in self.export_buttons.values():
            button.setEnabled(has)

    # ------------------------------------------------------------------ compare
    def compare(self) -> Optional[tuple]:
        """Wilcoxon signed-rank between the two picks on the chosen per-image score; shown under the table."""
        from segstudio.core.errors import SegStudioError

        a, b, metric = self.run_a.currentData(), self.run_b.currentData(), self.paired.currentText()
        if self.results is None or a is None or b is None:
            return None
        if a == b:
            self.compare_result.setText("Pick two different runs or groups")
            return None
        try:
            c = self.results.compare(a, b, metric=metric)
        except (SegStudioError, ValueError) as exc:
            self.compare_result.setText(f"Cannot compare: {getattr(exc, 'reason', exc)}")
            return None
        stat, p, n = c["result"].statistic, c["result"].pvalue, c["n_pairs"]
        self.last_compare = (a, b, metric, stat, p, n)
        verdict = "they differ (p &lt; 0.05)" if p < 0.05 else "no significant difference (p ≥ 0.05)"
        self.compare_result.setText(
            f"<b>{html.escape(self.run_a.currentText())}</b> vs <b>{html.escape(self.run_b.currentText())}</b>, "
            f"held-out {html.escape(metric)} per image: "
            f"mean {c['mean_a']:.3f} vs {c['mean_b']:.3f}, better on {c['a_better']} vs {c['b_better']} images; "
            f"Wilcoxon signed-rank W = {stat:.1f}, <b>p = {p:.4g}</b>, n = {n} paired images — {verdict}")
        return stat, p, n

    # ------------------------------------------------------------------ export
    def export_to_chosen_folder(self, kind: str) -> list[Path]:
        from PySide6.QtWidgets import QFileDialog

        start = str(self.exp_dir / "report") if self.exp_dir is not None else ""
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", start)
        return self.export(kind, folder) if folder else []

    def export(self, kind: str, folder) -> list[Path]:
        """Write ``kind`` (csv, md, tex: the results tables; png: the plot shown) into ``folder``."""
        from segstudio.core.errors import SegStudioError

        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if kind == "png":
                key = self.metric.currentData() or "curves"
                path = folder / f"curves_{key}.png"
                if not self.plot_box.grab().save(str(path), "PNG"):
                    raise SegStudioError("the image could not be written", path)
                written = [path]
            else:
                written = self._export_report(kind, folder)
        except (SegStudioError, OSError) as exc:
            self.message.emit(str(exc), True)
            return []
        self.message.emit("Exported " + ", ".join(str(p) for p in written), False)
        self.exported.emit(written)
        return written

    def _export_report(self, kind: str, folder: Path) -> list[Path]:
        """The report's ``kind`` written atomically into ``folder``: csv (results.csv and wilcoxon.csv), md
        (results.md) or tex (results.tex); the same text as ``segstudio experiment --report-only`` writes."""
        from segstudio.core.annotation.io import atomic_write_text
        from segstudio.core.experiments import report
        from segstudio.core.experiments.results import load_results

        res = load_results(self.exp_dir)   # the files as they are now (a run may have finished since)
        rows = res.table()
        if kind == "csv":
            texts = {"results.csv": report.results_csv(res, rows), "wilcoxon.csv": report.wilcoxon_csv(res.pairwise())}
        elif kind == "md":
            texts = {"results.md": report.results_markdown(res, rows, res.pairwise())}
        elif kind == "tex":
            texts = {"results.tex": report.results_latex(res, rows)}
        else:
            raise ValueError(f"unknown export {kind!r}")
        for name, text in texts.items():
            atomic_write_text(folder / name, text)
        return [folder / name for name in texts]
