"""SAM-family promptable segmentation from an encoder/decoder ONNX pair, run with onnxruntime on the CPU.

The files are the ones labelme and X-AnyLabeling load (e.g. ``sam_vit_b_01ec64.encoder.onnx`` +
``.decoder.onnx``, EfficientSAM / SAM-HQ / MobileSAM exports of the same shape):

* encoder: one input (``image`` or ``x``, 1 x 3 x S x S float32: the image resized so its long side is S,
  normalised with ImageNet mean/std in 0-255 units, zero-padded right/bottom) -> ``image_embeddings``;
* decoder: ``image_embeddings``, ``point_coords`` (1 x N x 2 in the S-frame), ``point_labels`` (1 x N: 1
  positive, 0 negative, 2 / 3 the box's top-left / bottom-right corner, -1 padding), ``mask_input``
  (1 x 1 x 4E x 4E, E = the embedding's side), ``has_mask_input`` (1), ``orig_im_size`` (2: h, w) ->
  ``masks`` (1 x M x h x w logits; a decoder that returns them in the S-frame is cropped and resized),
  ``iou_predictions`` (1 x M), ``low_res_masks`` (1 x M x 4E x 4E; fed back as ``mask_input`` on the next click).

The image embedding (the slow part: seconds for ViT-B on a CPU) is computed once per image and cached
(:meth:`SamOnnx.embedding`; the GUI calls it on a worker thread as soon as an image opens).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np

from segstudio.core.interactive.prompts import Box, Click, PromptError, to_rgb8

DECODER_INPUTS = ("image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input",
                  "orig_im_size")
DECODER_OUTPUTS = ("masks", "iou_predictions", "low_res_masks")
MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)
CACHE_IMAGES = 4
SETUP_HELP = ("The SAM tool needs a SAM-family encoder and decoder exported to ONNX (the files labelme or "
              "X-AnyLabeling use, e.g. sam_vit_b_01ec64.encoder.onnx and sam_vit_b_01ec64.decoder.onnx). "
              "Nothing is downloaded: choose both files in Annotate > Assist settings.")


class SamModelError(PromptError):
    """The SAM files are missing, unreadable or not a SAM encoder/decoder pair."""


def _session(path: Optional[str], role: str):
    try:
        import onnxruntime as ort
    except ImportError:
        raise SamModelError("the SAM tool needs onnxruntime: pip install 'segstudio[onnx]'") from None
    if not path:
        raise SamModelError(f"no SAM {role} file is configured. {SETUP_HELP}")
    p = Path(path)
    if not p.is_file():
        raise SamModelError(f"the SAM {role} file does not exist. {SETUP_HELP}", p)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(p), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for bad files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SamModelError(f"not a readable ONNX {role}: {first[:200]}", p) from None


class SamOnnx:
    """An encoder/decoder pair; thread-compatible (the embedding cache is locked)."""

    def __init__(self, encoder_path, decoder_path):
        self.encoder_path, self.decoder_path = encoder_path, decoder_path
        self.encoder = _session(encoder_path, "encoder")
        self.decoder = _session(decoder_path, "decoder")
        names = {i.name for i in self.decoder.get_inputs()}
        missing = [n for n in DECODER_INPUTS if n not in names]
        outs = [o.name for o in self.decoder.get_outputs()]
        if missing or "masks" not in outs:
            raise SamModelError(f"not a SAM decoder: inputs {sorted(names)}, outputs {outs} (expected inputs "
                                f"{', '.join(DECODER_INPUTS)} and outputs {', '.join(DECODER_OUTPUTS)})",
                                decoder_path)
        enc_in = self.encoder.get_inputs()
        if len(enc_in) != 1 or len(enc_in[0].shape) != 4:
            raise SamModelError(f"not a SAM encoder: expected one 1 x 3 x S x S input, got "
                                f"{[(i.name, i.shape) for i in enc_in]}", encoder_path)
        self.input_name = enc_in[0].name
        side = enc_in[0].shape[-1]
        self.size = int(side) if isinstance(side, int) else 1024
        self._cache: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ encoder
    @staticmethod
    def key(image: np.ndarray):
        return (image.shape, image.dtype.str, image.ravel()[:: max(1, image.size // 4099)].tobytes())

    def scale(self, image: np.ndarray) -> float:
        return self.size / max(image.shape[:2])

    def embedding(self, image: np.ndarray) -> np.ndarray:
        """The encoder's output for ``image`` (cached for the last CACHE_IMAGES images)."""
        key = self.key(image)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        rgb = to_rgb8(image)
        s = self.scale(image)
        h, w = rgb.shape[:2]
        nh, nw = max(1, round(h * s)), max(1, round(w * s))
        x = (cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_LINEAR).astype(np.float32) - MEAN) / STD
        x = np.pad(x, ((0, self.size - nh), (0, self.size - nw), (0, 0)))
        x = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
        try:
            emb = self.encoder.run(None, {self.input_name: x})[0]
        except Exception as exc:
            raise SamModelError(f"the encoder failed on a {w}x{h} image: {str(exc).splitlines()[0][:200]}",
                                self.encoder_path) from None
        with self._lock:
            self._cache[key] = emb
            while len(self._cache) > CACHE_IMAGES:
                self._cache.popitem(last=False)
        return emb

    def has_embedding(self, image: np.ndarray) -> bool:
        with self._lock:
            return self.key(image) in self._cache

    # ------------------------------------------------------------------ decoder
    def predict(self, image: np.ndarray, box: Optional[Box], clicks: Sequence[Click],
                mask_input: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
        """(bool H x W mask, low-res logits for the next call) for a box and/or clicks."""
        emb = self.embedding(image)
        h, w = image.shape[:2]
        s = self.scale(image)
        coords, labels = [], []
        for c in clicks:
            coords.append((c.x, c.y))
            labels.append(1.0 if c.positive else 0.0)
        if box is not None:
            coords += [(box.x0, box.y0), (box.x1, box.y1)]
            labels += [2.0, 3.0]
        else:
            coords.append((0.0, 0.0))
            labels.append(-1.0)
        side = 4 * emb.shape[-1]
        has = mask_input is not None and mask_input.shape[-1] == side
        feed = {
            "image_embeddings": emb,
            "point_coords": (np.array(coords, np.float32) * s)[None],
            "point_labels": np.array(labels, np.float32)[None],
            "mask_input": mask_input.astype(np.float32) if has else np.zeros((1, 1, side, side), np.float32),
            "has_mask_input": np.array([1.0 if has else 0.0], np.float32),
            "orig_im_size": np.array([h, w], np.float32),
        }
        try:
            out = dict(zip([o.name for o in self.decoder.get_outputs()], self.decoder.run(None, feed)))
        except Exception as exc:
            raise SamModelError(f"the decoder failed: {str(exc).splitlines()[0][:200]}", self.decoder_path) from None
        masks = out["masks"]
        best = int(np.argmax(out["iou_predictions"][0])) if "iou_predictions" in out else 0
        logits = masks[0, best]
        if logits.shape != (h, w):   # a decoder returning the S-frame: crop the padding, resize back
            fh, fw = logits.shape
            crop = logits[: max(1, round(h * s * fh / self.size)), : max(1, round(w * s * fw / self.size))]
            logits = cv2.resize(crop.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        low = out.get("low_res_masks")
        return logits > 0, (low[:, best : best + 1] if low is not None else None)
