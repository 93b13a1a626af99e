"""segstudio plugin: SAM-family promptable segmentation from ONNX files (onnxruntime, CPU, no downloads).

``pip install -e plugins/segstudio-sam-onnx`` registers the interactive method ``sam`` (entry point in the
``segstudio.plugins`` group).  The user points to an encoder and a decoder ONNX file (the format labelme and
X-AnyLabeling use) in Annotate > Assist settings; see docs/assist.md.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from segstudio_sam_onnx.sam import SETUP_HELP, SamModelError, SamOnnx

__all__ = ["SamOnnx", "SamModelError", "SamMethod", "register", "SETUP_HELP"]


class SamMethod:
    """The ``sam`` interactive method: box and clicks -> the decoder's best mask (previous low-res logits fed
    back on each click).  ``model`` is a :class:`SamOnnx`."""

    needs_model = True
    label = "SAM (ONNX plugin)"
    #: settings the GUI asks for (Annotate > Assist settings), stored per method; passed to load_model
    settings = {"encoder": "SAM encoder (.onnx)", "decoder": "SAM decoder (.onnx)"}
    setup_help = SETUP_HELP

    def __init__(self, image: np.ndarray, *, model=None, **options):
        if model is None:
            raise SamModelError(f"no SAM model is loaded. {SETUP_HELP}")
        self.image, self.model = image, model
        self._low: Optional[np.ndarray] = None

    @classmethod
    def load_model(cls, values: dict, **_):
        return SamOnnx(values.get("encoder"), values.get("decoder"))

    @classmethod
    def prepare(cls, model: SamOnnx, image: np.ndarray) -> None:
        """Per-image work done ahead on a worker thread: the image embedding."""
        model.embedding(image)

    def segment(self, box, clicks: Sequence = ()) -> np.ndarray:
        from segstudio.core.interactive.regions import select_components

        mask, low = self.model.predict(self.image, box, list(clicks), self._low if clicks else None)
        self._low = low
        return select_components(mask, box, clicks)


def register() -> None:
    from segstudio.core.interactive.methods import METHODS

    if "sam" not in METHODS.entries:
        METHODS.register("sam")(SamMethod)
