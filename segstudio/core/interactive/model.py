"""The project's own model as a prompt-conditioned segmenter: probabilities of one class around a box.

The box is grown by MODEL_MARGIN of its size on every side (the model needs the skin around a lesion to
see its edge), that crop is resized to the scale the model was trained at (``Predictor.tile_factors``:
``train_scale`` of engine checkpoints, the whole-image fit for older ones, native otherwise) and predicted
in one pass (models accept any size; with the checkpoint's flip TTA, two: the crop and its mirror image);
the class's probability is resized back.  The result is cached per crop, so clicks on the same object cost
no model run.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import cv2
import numpy as np

from segstudio.core.interactive.prompts import Box, PromptError

if TYPE_CHECKING:
    import torch

MODEL_MARGIN = 0.5       # context around the box, fraction of its size
MAX_MODEL_SIDE = 1024    # the scaled crop never exceeds this (CPU time)
MIN_MODEL_SIDE = 32


class ModelMismatchError(PromptError):
    """The model cannot segment this project's class (other class count, class unknown to it)."""


def class_index(class_names: list[str], label: str, project_names: Optional[list[str]] = None,
                source: str = "model") -> int:
    """The model's output channel for ``label``; raises :class:`ModelMismatchError` when the model's class
    count differs from the project's (``project_names``) or the class is unknown to both."""
    if project_names is not None and len(project_names) != len(class_names):
        raise ModelMismatchError(
            f"the model predicts {len(class_names)} classes ({', '.join(class_names)}) but this project has "
            f"{len(project_names)} ({', '.join(project_names)}): choose a model trained on this project's "
            "classes, or use GrabCut", source)
    if label in class_names and class_names.index(label) > 0:
        return class_names.index(label)
    if project_names is not None and label in project_names and project_names.index(label) > 0:
        return project_names.index(label)
    if len(class_names) == 2 and project_names is None:
        return 1
    raise ModelMismatchError(f"class {label!r} is not one the model predicts ({', '.join(class_names[1:])})",
                             source)


class ModelPrior:
    """Foreground probability of one class around a box, from a :class:`~segstudio.core.inference.Predictor`."""

    def __init__(self, predictor, label: str, project_names: Optional[list[str]] = None):
        self.predictor = predictor
        source = str(getattr(predictor, "checkpoint_path", None) or "model")
        self.index = class_index(list(predictor.class_names), label, project_names, source)
        self._image_key = None
        self._chw: Optional[torch.Tensor] = None
        self._cache: dict = {}

    @classmethod
    def from_checkpoint(cls, path, label: str, project_names: Optional[list[str]] = None,
                        device: str = "cpu") -> "ModelPrior":
        from segstudio.core.inference import Predictor

        return cls(Predictor.from_checkpoint(Path(path), device=device), label, project_names)

    def _image(self, image: np.ndarray) -> torch.Tensor:
        from segstudio.core.data.transforms import to_float_chw  # imports torch: not before the GUI's first frame

        key = (id(image), image.shape, image.dtype.str, image.ravel()[:: max(1, image.size // 97)].tobytes())
        if key != self._image_key:
            prepare = getattr(self.predictor, "prepare", None)   # hair removal, when the checkpoint chose it
            self._chw = to_float_chw(prepare(image) if prepare else image, self.predictor.in_channels)
            self._image_key, self._cache = key, {}
        return self._chw

    def _forward(self, x: "torch.Tensor") -> "torch.Tensor":
        """Probabilities of the scaled crop.  When the checkpoint chose flip TTA, the crop and its mirror
        image are averaged (2 passes; the predictor's TTA adds the two vertical flips, 4 passes: at 1024² a
        box then took up to 370 ms of CPU, over the 300 ms an interaction may take).  On 32 held-out PH2
        images NoC@90 was 3.06 without TTA, 2.88 with the mirror image, 2.78 with all 4 flips."""
        import torch

        pred = self.predictor
        if not getattr(pred, "tta", False) or not hasattr(pred, "_probs"):
            return pred.forward_probs(x)
        with torch.inference_mode():
            x = x.to(pred.device)
            p = pred._probs(torch.cat([x, torch.flip(x, (3,))]))
            return (p[:1] + torch.flip(p[1:], (3,))) / 2

    def region(self, image: np.ndarray, box: Box) -> Box:
        h, w = image.shape[:2]
        return box.expanded(MODEL_MARGIN, w, h)

    def probabilities(self, image: np.ndarray, box: Box) -> np.ndarray:
        """float32 H x W: the class's probability inside :meth:`region`, 0 outside."""
        from segstudio.core.data.transforms import resize_array

        chw = self._image(image)
        h, w = image.shape[:2]
        r = self.region(image, box)
        if r.as_tuple() in self._cache:
            return self._cache[r.as_tuple()]
        sy, sx = self.predictor.tile_factors(h, w)
        nh = int(min(MAX_MODEL_SIDE, max(MIN_MODEL_SIDE, round(r.height * sy))))
        nw = int(min(MAX_MODEL_SIDE, max(MIN_MODEL_SIDE, round(r.width * sx))))
        crop = chw[:, r.y0 : r.y1, r.x0 : r.x1]
        x = resize_array(crop, nh, nw) if (nh, nw) != (r.height, r.width) else crop
        probs = self._forward(x[None].contiguous())[0, self.index].cpu().numpy()
        probs = cv2.resize(probs.astype(np.float32), (r.width, r.height), interpolation=cv2.INTER_LINEAR)
        out = np.zeros((h, w), np.float32)
        out[r.y0 : r.y1, r.x0 : r.x1] = probs
        self._cache = {r.as_tuple(): out}
        return out
