"""The export dialog: the project's labelme annotations to VOC, COCO, YOLO-seg, nnU-Net or images+masks,
through core ``segstudio.core.export.convert`` in a worker thread (progress, cancel, summary of failures).

``install(session, services)`` (a window extension, see gui/extensions.py) adds "File > Export dataset..."
(also reachable from the Review menu).  The progress bar shows only while an export runs, and changing the
format or the folder clears the previous export's summary, so nothing stale is shown before Export.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLineEdit, QPlainTextEdit, QProgressBar, QPushButton, QSpinBox, QVBoxLayout,
                               QWidget)

from segstudio.core.errors import SegStudioError
from segstudio.gui.workers import Worker, error_text

FORMAT_TEXT = {
    "voc": "Pascal VOC (JPEGImages, SegmentationClass PNG, as labelme2voc)",
    "coco": "COCO instance segmentation (annotations.json)",
    "yolo": "YOLO segmentation (polygons, data.yaml)",
    "nnunet": "nnU-Net v2 raw dataset (imagesTr, labelsTr, dataset.json)",
    "masks": "Images + class masks (images/, masks/, classes.txt)",
}


def format_names() -> list[str]:
    from segstudio.core.export import EXPORTERS

    return EXPORTERS.names()


def summary_text(report) -> str:
    """The summary shown after an export: counts, output folder, and every failure with its reason."""
    lines = [f"Exported {report.n_ok} image(s) as {report.fmt or '?'} to {report.out}",
             f"{report.n_failed} failed" + (":" if report.failures else ".")]
    lines += [f"  {path}: {reason}" for path, reason in report.failures]
    return "\n".join(lines)


class ExportDialog(QDialog):
    """Pick a format and an empty target folder, export, read the summary."""

    exportFinished = Signal(object)   # ConvertReport, or None when cancelled / failed

    def __init__(self, project, parent=None, *, flush: Optional[Callable[[], object]] = None):
        super().__init__(parent)
        self.setWindowTitle("Export dataset")
        self.project = project
        self.flush = flush
        self.worker: Optional[Worker] = None
        self.report = None
        self.error: str = ""
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.format = QComboBox()
        for name in format_names():
            self.format.addItem(FORMAT_TEXT.get(name, name), name)
        self.target = QLineEdit()
        self.target.setPlaceholderText("an empty or new folder outside the project")
        browse = QPushButton("Browse...")
        browse.clicked.connect(self.browse)
        row = QWidget()
        rl = QHBoxLayout(row)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.target, 1)
        rl.addWidget(browse)
        self.workers = QSpinBox(minimum=1, maximum=max(1, os.cpu_count() or 1), value=1)
        self.workers.setToolTip("Worker processes (the output does not depend on the number)")
        form.addRow("Format", self.format)
        form.addRow("Target folder", row)
        form.addRow("Workers", self.workers)
        lay.addLayout(form)
        self.progress = QProgressBar()
        self.progress.setFormat("%v/%m")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.hide()   # shown from Export on: no "0/100" before anything ran
        lay.addWidget(self.progress)
        self.summary = QPlainTextEdit(readOnly=True)
        self.summary.setPlaceholderText("The summary of the export appears here")
        lay.addWidget(self.summary, 1)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.AcceptRole)
        self.cancel_button = self.buttons.addButton("Cancel export", QDialogButtonBox.ActionRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.Close)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        lay.addWidget(self.buttons)
        s = QSettings()
        idx = self.format.findData(s.value("export/format", "masks"))
        if idx >= 0:
            self.format.setCurrentIndex(idx)
        self._fill_default_target()
        self.format.currentIndexChanged.connect(lambda _i: self._fill_default_target())
        self.format.currentIndexChanged.connect(lambda _i: self._forget_last())
        self.target.textEdited.connect(lambda _t: self._forget_last())
        self.resize(640, 420)
        self._update_buttons()

    def default_target(self, fmt: Optional[str] = None) -> str:
        """``<project folder>_<format>`` beside the project ("" without a project)."""
        if self.project is None:
            return ""
        folder = self.project.folder
        return str(folder.parent / f"{folder.name}_{fmt or self.format.currentData()}")

    def _fill_default_target(self) -> None:
        """Put the default target of the chosen format in the field unless the user chose another folder
        (typed or browsed): only an empty field or one holding a format's default is replaced."""
        defaults = {self.default_target(self.format.itemData(i)) for i in range(self.format.count())}
        if not self.target.text().strip() or self.target.text() in defaults:
            self.target.setText(self.default_target())

    def browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Export to folder", self.target.text())
        if path:
            self.target.setText(path)
            self._forget_last()

    def _forget_last(self) -> None:
        """Another format or folder: the previous export's summary and bar no longer apply."""
        if self.worker is None:
            self.summary.clear()
            self.progress.hide()

    def _update_buttons(self) -> None:
        busy = self.worker is not None
        self.export_button.setEnabled(not busy and self.project is not None)
        self.cancel_button.setEnabled(busy)
        self.close_button.setEnabled(not busy)
        self.format.setEnabled(not busy)
        self.target.setEnabled(not busy)

    def start(self) -> bool:
        """Start the export in the background; False (with the reason in the summary) when refused."""
        if self.worker is not None or self.project is None:
            return False
        text = self.target.text().strip()
        if not text:
            self.summary.setPlainText("Choose a target folder first.")
            return False
        fmt = self.format.currentData()
        out = Path(text).expanduser()
        src = self.project.folder
        labels = self.project.labels_path if self.project.labels_path.exists() else self.project.label_set
        workers = int(self.workers.value())
        try:
            if self.flush is not None:
                self.flush()
        except (SegStudioError, OSError) as exc:
            self.summary.setPlainText(f"Cannot save the open image first: {exc}")
            return False
        QSettings().setValue("export/format", fmt)
        from segstudio.core.export import convert

        def work(emit, cancel):
            return convert(src, labels, out, fmt, workers=workers, progress=lambda d, t, m: emit((d, t, m)),
                           cancel=cancel)

        self.report, self.error = None, ""
        self.summary.setPlainText(f"Exporting to {out} ...")
        self.progress.setRange(0, 0)
        self.progress.show()
        w = Worker(work, name="export", parent=self)
        w.event.connect(self._on_progress)
        w.result.connect(self._on_result)
        w.failed.connect(self._on_failed)
        w.cancelled.connect(self._on_cancelled)
        w.done.connect(self._on_done)
        self.worker = w
        self._update_buttons()
        w.start()
        return True

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.summary.appendPlainText("Cancelling...")

    def _on_progress(self, msg) -> None:
        done, total, _ = msg
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _on_result(self, report) -> None:
        self.report = report
        self.summary.setPlainText(summary_text(report))

    def _on_failed(self, exc) -> None:
        self.error = error_text(exc)
        self.summary.setPlainText("Export failed: " + self.error)

    def _on_cancelled(self) -> None:
        self.error = "cancelled"
        self.summary.setPlainText("Export cancelled: the target folder may hold a partial export.")

    def _on_done(self) -> None:
        self.worker = None   # the worker waits for its thread and deletes itself (gui/workers.py)
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
        self._update_buttons()
        self.exportFinished.emit(self.report)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(30000)
        super().closeEvent(event)


def install(session, services) -> None:
    """Window extension: "File > Export dataset..." (named action "export"; the Review menu shows it too)."""
    window = services.window

    def open_dialog():
        if session.project is None:
            return None
        dlg = ExportDialog(session.project, window, flush=session.flush)
        dlg.open()
        return dlg

    services.add_menu_action("&File", "Export dataset...", open_dialog, name="export")
