"""Prediction with trained checkpoints: Predictor (letterbox / tiling / flip TTA), folder batch, overlays.

See docs/data.md ("Inference").
"""
from segstudio.core.lazy import lazy_exports

# numpy + scipy only, imported here so that ``overlay`` names the function, never the submodule of that name
from segstudio.core.inference.overlay import OVERLAY_MODES, overlay

#: name -> the module it comes from, imported on first use (PEP 562): the batch and the predictor import torch
#: (seconds), which ``segstudio.core.inference.overlay`` (the GUI's review layer, before its first frame) must not pay
_EXPORTS = {
    **dict.fromkeys(("PROB_FORMATS", "PredictReport", "predict_folder", "write_probs"),
                    "segstudio.core.inference.batch"),
    **dict.fromkeys(("PredictionResult", "Predictor", "resolve_device"), "segstudio.core.inference.predictor"),
    **dict.fromkeys(("BLENDS", "blend_weights", "sliding_window"), "segstudio.core.inference.tiling"),
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "BLENDS", "OVERLAY_MODES", "PROB_FORMATS", "PredictReport", "PredictionResult", "Predictor", "blend_weights",
    "overlay", "predict_folder", "resolve_device", "sliding_window", "write_probs",
]
