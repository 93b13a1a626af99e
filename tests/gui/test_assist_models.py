"""Assist on a PH2 image (GrabCut, the project's model), the model/class-count check, and the SAM plugin path."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QSettings

from assist_support import autosaved_label, disk, drag, iou, make_assist_window, settle  # noqa: F401
from inference_helpers import Pointwise
from segstudio.core.annotation import read_label_mask

STEM = "IMD078"   # a PH2 image; the lesion is darker than the skin
ROOT = Path(__file__).resolve().parents[2]
DARK = "assist-test-darkness"


class Darkness(Pointwise):
    """A hand-set 'model' (lesion = darker than 0.55 grey): exercises the model path of the tool - checkpoint,
    Predictor, crop at the training scale, threshold, components - without minutes of training in a test.
    How well a trained model assists is measured by benchmarks/interactive.py (BENCHMARKS.md)."""

    def __init__(self, in_channels=3, num_classes=2):
        super().__init__(in_channels, num_classes)
        with torch.no_grad():
            self.conv.weight[1] = -40.0 / in_channels
            self.conv.bias[1] = 40.0 * 0.55


def darkness_checkpoint(path: Path, class_names=("_background_", "lesion")) -> Path:
    from segstudio.core.models import MODELS

    if DARK not in MODELS.entries:
        MODELS.register(DARK)(Darkness)
    torch.save({"format": "segstudio-checkpoint", "format_version": 1,
                "model": {"name": DARK, "in_channels": 3, "num_classes": 2, "kwargs": {}},
                "state_dict": Darkness().state_dict(), "class_names": list(class_names), "img_size": 192,
                "resize_mode": "letterbox", "train_scale": [0.25, 0.25], "epoch": 1, "metrics": {},
                "config": {"img_size": 192}}, path)
    return path


@pytest.fixture
def ph2(tmp_path, shared_data):
    folder = tmp_path / "ph2"
    folder.mkdir()
    shutil.copy(shared_data / "ph2" / "images" / f"{STEM}.jpg", folder / f"{STEM}.jpg")
    (folder / "labels.txt").write_text("_background_\nlesion\n")
    gt = read_label_mask(shared_data / "ph2" / "masks" / f"{STEM}.png", 2) == 1
    ys, xs = np.nonzero(gt)
    mx, my = 0.05 * (xs.max() - xs.min()), 0.05 * (ys.max() - ys.min())
    return folder, gt, (xs.min() - mx, ys.min() - my, xs.max() + 1 + mx, ys.max() + 1 + my)


def _box_result(qtbot, w, box):
    w.canvas.set_tool("assist_box")
    with qtbot.waitSignal(w.assist.resultApplied, timeout=120000):
        drag(w.canvas, box[:2], box[2:])
    settle(w, qtbot)


@pytest.mark.parametrize("method", ["grabcut", "model"])
def test_ph2_lesion_from_one_box(qtbot, ph2, method, messages, tmp_path):
    folder, gt, box = ph2
    w = make_assist_window(qtbot, folder, f"{STEM}.jpg")
    try:
        if method == "model":
            w.session.set_checkpoint(darkness_checkpoint(tmp_path / "dark.pt"))
        w.assist_panel.method_combo.setCurrentIndex(w.assist_panel.method_combo.findData(method))
        assert w.assist.method == method
        _box_result(qtbot, w, box)
        assert "GrabCut used" not in (w.statusBar().currentMessage() or "")
        assert iou(autosaved_label(w, folder / f"{STEM}.json"), gt) >= 0.85
        if method == "model":
            assert "Model: " in w.assist_panel.model_label.text()
    finally:
        w.assist.shutdown()
        w.autosaver.enabled = False


def test_model_with_another_class_count_writes_nothing(qtbot, disk, messages, tmp_path):
    folder, _gt = disk
    (folder / "labels.txt").write_text("_background_\nlesion\ncyst\n")
    w = make_assist_window(qtbot, folder, "disk.png")
    try:
        w.session.set_checkpoint(darkness_checkpoint(tmp_path / "dark.pt"))
        w.assist.set_method("model")
        w.canvas.set_tool("assist_box")
        drag(w.canvas, (50, 50), (190, 190))
        settle(w, qtbot)
        qtbot.waitUntil(lambda: "predicts 2 classes" in (w.last_error or ""))
        assert "this project has 3" in w.last_error
        assert w.document.shapes() == [] and not (folder / "disk.json").exists()
    finally:
        w.assist.shutdown()
        w.autosaver.enabled = False


@pytest.fixture
def sam_plugin():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    plugin = ROOT / "plugins" / "segstudio-sam-onnx"
    sys.path.insert(0, str(plugin))
    import segstudio_sam_onnx

    segstudio_sam_onnx.register()
    yield segstudio_sam_onnx
    sys.path.remove(str(plugin))


def test_sam_plugin_explains_then_segments(qtbot, disk, messages, sam_plugin, tmp_path):
    from segstudio_sam_onnx.tiny import export_tiny_pair

    folder, gt = disk
    w = make_assist_window(qtbot, folder, "disk.png")
    try:
        panel = w.assist_panel
        panel.refresh_methods()   # the plugin registered after the window was built (at start-up it comes first)
        panel.method_combo.setCurrentIndex(panel.method_combo.findData("sam"))
        assert w.assist.method == "sam"
        assert "encoder and decoder exported to ONNX" in panel.model_label.text()   # what to supply
        w.canvas.set_tool("assist_box")
        drag(w.canvas, (60, 60), (180, 180))
        settle(w, qtbot)
        assert "encoder and decoder exported to ONNX" in (w.last_error or "")
        assert w.document.shapes() == [] and not (folder / "disk.json").exists()

        # an invalid file: a clear message, nothing written
        junk = tmp_path / "junk.onnx"
        junk.write_bytes(b"junk")
        enc, dec = export_tiny_pair(tmp_path / "sam", size=64)
        dialog = panel.open_settings()
        dialog.fields[("sam", "encoder")].setText(str(junk))
        dialog.fields[("sam", "decoder")].setText(str(dec))
        dialog.accept()
        assert QSettings().value("assist/sam/encoder") == str(junk)
        drag(w.canvas, (60, 60), (180, 180))
        settle(w, qtbot)
        qtbot.waitUntil(lambda: "not a readable ONNX encoder" in (w.last_error or ""))
        assert w.document.shapes() == [] and not (folder / "disk.json").exists()

        # the tiny pair: its decoder answers a disk of radius size/8 = 30 image px around the box centre
        QSettings().setValue("assist/sam/encoder", str(enc))
        w.assist.prepare_image()          # the embedding, on the worker
        settle(w, qtbot)
        with qtbot.waitSignal(w.assist.resultApplied, timeout=60000):
            drag(w.canvas, (60, 60), (180, 180))
        settle(w, qtbot)
        got = autosaved_label(w, folder / "disk.json")
        ys, xs = np.nonzero(got)
        assert abs(xs.mean() - 120) < 2 and abs(ys.mean() - 120) < 2 and 0.8 < got.sum() / (np.pi * 30**2) < 1.2
    finally:
        w.assist.shutdown()
        w.autosaver.enabled = False
