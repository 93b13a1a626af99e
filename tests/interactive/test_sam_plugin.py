"""plugins/segstudio-sam-onnx with a tiny SAM-shaped ONNX pair built here (no weights exist or are fetched)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "segstudio-sam-onnx"


@pytest.fixture(scope="module")
def sam_pkg():
    sys.path.insert(0, str(PLUGIN))
    try:
        import segstudio_sam_onnx

        segstudio_sam_onnx.register()
        yield segstudio_sam_onnx
    finally:
        sys.path.remove(str(PLUGIN))


@pytest.fixture(scope="module")
def tiny_pair(sam_pkg, tmp_path_factory):
    from segstudio_sam_onnx.tiny import export_tiny_pair

    return export_tiny_pair(tmp_path_factory.mktemp("sam"), size=64)


def test_box_and_clicks_through_the_onnx_pair(sam_pkg, tiny_pair):
    from segstudio.core.interactive import Interaction

    sam = sam_pkg.SamOnnx(*tiny_pair)
    assert sam.size == 64 and sam.input_name == "image"
    image = np.random.default_rng(0).integers(0, 255, (100, 200, 3), dtype=np.uint8)   # scale 64/200
    inter = Interaction(image, "sam", model=sam)
    mask = inter.set_box((60, 20, 140, 80))          # centre (100, 50); disk radius 8 S-px = 25 image px
    ys, xs = np.nonzero(mask)
    assert abs(xs.mean() - 100) < 2 and abs(ys.mean() - 50) < 2
    assert 0.8 * np.pi * 25**2 < mask.sum() < 1.2 * np.pi * 25**2
    carved = inter.add_click(100, 50, positive=False)   # negative at the centre cuts a hole (kept open)
    assert not carved[50, 100] and carved.sum() < mask.sum()


def test_embedding_is_computed_once_per_image(sam_pkg, tiny_pair, monkeypatch):
    sam = sam_pkg.SamOnnx(*tiny_pair)
    calls = []
    run = sam.encoder.run
    monkeypatch.setattr(sam, "encoder", type("E", (), {"run": lambda self, *a: calls.append(1) or run(*a),
                                                        "get_inputs": sam.encoder.get_inputs})())
    image = np.full((80, 80, 3), 7, np.uint8)
    image[20:40, 20:40] = 200
    sam_pkg.SamMethod.prepare(sam, image)
    assert sam.has_embedding(image)
    method = sam_pkg.SamMethod(image, model=sam)
    from segstudio.core.interactive import Box, Click

    method.segment(Box(10, 10, 50, 50), [])
    method.segment(Box(10, 10, 50, 50), [Click(30, 30, True)])
    assert len(calls) == 1
    assert not sam.has_embedding(image[::-1].copy())


def test_missing_or_invalid_files_say_what_to_supply(sam_pkg, tiny_pair, tmp_path):
    from segstudio.core.interactive import Interaction, PromptError

    with pytest.raises(PromptError, match="no SAM encoder file is configured.*encoder and decoder exported to ONNX"):
        sam_pkg.SamMethod.load_model({})
    with pytest.raises(PromptError, match="does not exist"):
        sam_pkg.SamMethod.load_model({"encoder": str(tmp_path / "nope.onnx"), "decoder": str(tiny_pair[1])})
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not an onnx file")
    with pytest.raises(PromptError, match="junk.onnx: not a readable ONNX encoder"):
        sam_pkg.SamMethod.load_model({"encoder": str(junk), "decoder": str(tiny_pair[1])})
    with pytest.raises(PromptError, match="not a SAM decoder"):     # the encoder given as decoder
        sam_pkg.SamMethod.load_model({"encoder": str(tiny_pair[0]), "decoder": str(tiny_pair[0])})
    with pytest.raises(PromptError, match="no SAM model"):
        Interaction(np.zeros((8, 8, 3), np.uint8), "sam")
