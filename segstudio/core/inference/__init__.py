"""Prediction with trained checkpoints: Predictor (letterbox / tiling / flip TTA), folder batch, overlays.

See docs/data.md ("Inference").
"""
from segstudio.core.inference.batch import PROB_FORMATS, PredictReport, predict_folder, write_probs
from segstudio.core.inference.overlay import OVERLAY_MODES, overlay
from segstudio.core.inference.predictor import PredictionResult, Predictor, resolve_device
from segstudio.core.inference.tiling import BLENDS, blend_weights, sliding_window

__all__ = [
    "BLENDS", "OVERLAY_MODES", "PROB_FORMATS", "PredictReport", "PredictionResult", "Predictor", "blend_weights",
    "overlay", "predict_folder", "resolve_device", "sliding_window", "write_probs",
]
