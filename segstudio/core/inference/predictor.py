"""Predict class masks with a trained model: the same preprocessing as training, padding removed.

Pipeline of :meth:`Predictor.predict` for an image (HxW or HxWxC, any dtype):

0. ``hair_removal``: :func:`~segstudio.core.inference.hair_removal.remove_hair` (dermoscopy: thin dark lines
   inpainted; only 8-bit colour images, others unchanged);
1. :func:`~segstudio.core.data.transforms.to_float_chw` ([0, 1], the model's channel count);
2. default: :func:`~segstudio.core.data.transforms.fit_to_size` to the checkpoint's ``img_size`` with its
   ``resize_mode`` (letterbox keeps the aspect ratio); ``tile=True``: the image is rescaled by
   ``tile_scale`` and cut into overlapping ``img_size`` windows (:mod:`.tiling`), the probabilities are
   resized back.  ``tile_scale`` is the scale the model was trained at: for engine checkpoints the median
   training resize factor (``train_scale``), so a tile shows objects as large as in training and a large
   image gets several tiles; ``"fit"`` = this image's own letterbox/resize factor (engine checkpoints older
   than ``train_scale``); ``None`` / 1.0 = native scale (models trained on native-resolution patches);
3. softmax probabilities (sigmoid for a one-channel model), optionally averaged over flips (``tta``:
   identity, horizontal, vertical, both; ``tta_flips`` limits them to the axes named, and
   ``from_checkpoint`` names only the axes the model was trained to mirror: an ultrasound model trained
   without up-down flips is not shown up-down flipped images);
4. :func:`~segstudio.core.data.transforms.unletterbox`: padding cropped, probabilities resized (bilinear)
   to the original size; the label is their argmax;
5. ``postprocess`` (a dict as chosen on the validation split by
   :func:`~segstudio.core.inference.postprocess.select_postprocessing`): keep-largest-component of the
   classes it names (the probabilities are left as they are).

``Predictor.from_checkpoint`` takes ``hair_removal``, ``tta`` and ``postprocess`` from the checkpoint's recorded
``postprocess`` choice unless they are given (``hair_removal=False`` / ``tta=False`` / ``postprocess=False`` turn
them off).
"""
from __future__ import annotations

import contextlib
import inspect
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
import torch
from torch import nn

from segstudio.core.data.augment_config import trained_flips
from segstudio.core.data.transforms import RESIZE_MODES, fit_to_size, resize_array, to_float_chw, unletterbox
from segstudio.core.device import autocast_dtype, resolve_device
from segstudio.core.errors import CheckpointError, ConfigError, SegStudioError
from segstudio.core.inference.tiling import BLENDS, sliding_window


@dataclass
class PredictionResult:
    """``label``: int64 H x W class ids at the original size; ``probs``: float32 K x H x W or None."""

    label: np.ndarray
    probs: Optional[np.ndarray] = None


def _model_output(out) -> torch.Tensor:
    if isinstance(out, (list, tuple)):  # deep supervision: the mean of the heads (models.final_output)
        return torch.stack([o for o in out], 0).mean(0)
    if isinstance(out, dict):
        return out["out"]
    return out


def _check_tile_scale(scale):
    """None | "fit" | a positive number | (sy, sx) -> None | "fit" | (sy, sx)."""
    if scale is None or scale == "fit":
        return scale
    if isinstance(scale, str):
        if scale == "native":
            return None
        raise ConfigError(f"tile scale must be 'fit', 'native', a number or (sy, sx) ('train' only with "
                          f"Predictor.from_checkpoint), got {scale!r}")
    try:
        values = tuple(float(v) for v in scale) if isinstance(scale, (tuple, list)) else (float(scale),) * 2
    except (TypeError, ValueError):
        raise ConfigError(f"tile scale must be a number or (sy, sx), got {scale!r}") from None
    if len(values) != 2 or not all(v > 0 and np.isfinite(v) for v in values):
        raise ConfigError(f"tile scale must be positive, got {scale!r}")
    return values


def checkpoint_tile_scale(ckpt: dict):
    """The scale a checkpoint's model was trained at: ``train_scale`` (engine checkpoints), ``"fit"`` for
    engine checkpoints written before it was recorded (every training image was fitted to ``img_size``),
    else None (native scale)."""
    scale = ckpt.get("train_scale")
    if isinstance(scale, (list, tuple)) and len(scale) == 2:
        return _check_tile_scale(scale)
    if isinstance(ckpt.get("config"), dict) and ckpt["config"].get("img_size"):
        return "fit"
    return None


#: the flips (torch dims of N x C x H x W) averaged by TTA, per set of mirror axes: identity first
TTA_FLIPS = {(): [()], ("h",): [(), (3,)], ("v",): [(), (2,)], ("h", "v"): [(), (3,), (2,), (2, 3)]}


class Predictor:
    """A model + its preprocessing settings.  Thread-compatible (one prediction at a time)."""

    def __init__(self, model: nn.Module, class_names: Sequence[str], *, img_size=256,
                 resize_mode: str = "letterbox", in_channels: Optional[int] = None, device="auto",
                 tile: bool = False, tile_overlap: float = 0.25, blend: str = "gaussian", tta: bool = False,
                 batch_size: int = 4, tile_scale=None, postprocess: Optional[dict] = None,
                 tta_flips: Sequence[str] = ("h", "v"), hair_removal: bool = False):
        if resize_mode not in RESIZE_MODES:
            raise ConfigError(f"unknown resize mode {resize_mode!r}; known: {', '.join(RESIZE_MODES)}")
        if blend not in BLENDS:
            raise ConfigError(f"unknown blend {blend!r}; known: {', '.join(BLENDS)}")
        if not 0 <= tile_overlap < 1:
            raise ConfigError(f"tile overlap must be in [0, 1), got {tile_overlap}")
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.class_names = list(class_names)
        self.img_size = img_size
        self.resize_mode = resize_mode
        self.in_channels = int(in_channels) if in_channels is not None else self._guess_in_channels(model)
        self.tile, self.tile_overlap, self.blend, self.tta = bool(tile), float(tile_overlap), blend, bool(tta)
        unknown = [a for a in tta_flips if a not in ("h", "v")]
        if unknown:
            raise ConfigError(f"unknown TTA flip axis {unknown[0]!r}; known: h (left-right), v (up-down)")
        self.tta_flips = tuple(a for a in ("h", "v") if a in tta_flips)   # a key of TTA_FLIPS
        self.batch_size = max(1, int(batch_size))
        self.tile_scale = _check_tile_scale(tile_scale)
        self.postprocess = dict(postprocess) if postprocess else None
        self.hair_removal = bool(hair_removal)
        self.checkpoint_path = None
        self.checkpoint_info: Optional[dict] = None
        self.model.to(memory_format=torch.channels_last)   # faster on CUDA and on the CPU (oneDNN)

    @staticmethod
    def _guess_in_channels(model: nn.Module) -> int:
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                return m.in_channels
        return 3

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @classmethod
    def from_checkpoint(cls, path, device="auto", **options) -> "Predictor":
        """Build the model named in a segstudio checkpoint (docs/architecture.md) and load its weights.

        ``options``: tile, tile_overlap, blend, tta, hair_removal, batch_size, postprocess (img_size / resize_mode
        override the checkpoint's, which is rarely right).  ``tta`` / ``hair_removal`` None (default) and
        ``postprocess`` True (default) apply what the checkpoint records as chosen on the validation split
        (nothing when it records nothing); ``tta=True/False``, ``hair_removal=True/False`` and
        ``postprocess=False`` / a dict override it.  Raises :class:`CheckpointError`
        when the file is not a usable checkpoint (missing, not segstudio's, refused, or weights not matching
        the model).
        """
        from segstudio.core.models import MODELS, build_model
        from segstudio.core.checkpoint import load_checkpoint

        ckpt = load_checkpoint(path, map_location="cpu")
        spec = ckpt["model"]
        kwargs = dict(spec.get("kwargs") or {})
        name = spec["name"]
        # the weights come from the checkpoint: never load (or download) pretrained encoder weights
        accepts = "encoder_weights" in kwargs or str(name).startswith("smp:")
        if not accepts and name in MODELS:
            params = inspect.signature(MODELS.get(name)).parameters
            accepts = "encoder_weights" in params
        if accepts:
            kwargs["encoder_weights"] = None
        try:
            model = build_model(name, in_channels=int(spec["in_channels"]), num_classes=int(spec["num_classes"]),
                                **kwargs)
        except SegStudioError as exc:  # unknown model name (plugin missing?), options this version lacks
            raise CheckpointError(f"cannot rebuild the model: {exc}", path) from None
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"cannot rebuild model {name!r}: {exc}", path) from None
        try:
            model.load_state_dict(ckpt["state_dict"], strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise CheckpointError(f"weights do not fit model {name!r}: {first}", path) from None
        options.setdefault("img_size", ckpt["img_size"])
        options.setdefault("resize_mode", ckpt.get("resize_mode", "letterbox"))
        if options.get("tile_scale", "train") == "train":
            options["tile_scale"] = checkpoint_tile_scale(ckpt)
        recorded = ckpt.get("postprocess") if isinstance(ckpt.get("postprocess"), dict) else {}
        if options.get("tta") is None:
            options["tta"] = bool(recorded.get("tta", False))
        if options.get("hair_removal") is None:
            options["hair_removal"] = bool(recorded.get("hair_removal", False))
        if options.get("tta_flips") is None:   # mirror only along the axes the model was trained to see
            cfg = ckpt.get("config") if isinstance(ckpt.get("config"), dict) else {}
            options["tta_flips"] = trained_flips(cfg.get("augment", "light"), cfg.get("augment_overrides"))
        post = options.pop("postprocess", True)
        options["postprocess"] = (recorded or None) if post is True else (post or None)
        pred = cls(model, ckpt["class_names"], in_channels=int(spec["in_channels"]), device=device, **options)
        pred.checkpoint_path = path
        pred.checkpoint_info = {k: ckpt.get(k) for k in ("epoch", "metrics", "img_size", "resize_mode",
                                                         "train_scale", "postprocess")}
        return pred

    # -------------------------------------------------------------------------------------- forward
    def _autocast(self):
        """Training's ``amp: auto`` dtype on CUDA; float32 on the CPU (prediction keeps full precision)."""
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=autocast_dtype("auto", self.device))
        return contextlib.nullcontext()

    def _probs(self, x: torch.Tensor) -> torch.Tensor:
        """N x C x H x W [0, 1] -> N x K x H x W float32 probabilities (one pass)."""
        x = x.contiguous(memory_format=torch.channels_last)
        with self._autocast():
            logits = _model_output(self.model(x))
        logits = logits.float()
        if logits.shape[1] == 1:
            p = torch.sigmoid(logits)
            return torch.cat([1 - p, p], 1)
        return torch.softmax(logits, 1)

    @torch.inference_mode()
    def forward_probs(self, x: torch.Tensor) -> torch.Tensor:
        """Probabilities of a batch, averaged over flips when ``tta`` is on."""
        x = x.to(self.device, non_blocking=True)
        if not self.tta:
            return self._probs(x)
        flips = TTA_FLIPS[self.tta_flips]
        if len(flips) == 1:
            return self._probs(x)
        n = x.shape[0]
        probs = self._probs(torch.cat([torch.flip(x, d) if d else x for d in flips]))  # one batch of len(flips) N
        total = probs[:n].clone()
        for k, d in enumerate(flips[1:], start=1):
            total += torch.flip(probs[k * n : (k + 1) * n], d)
        return total / len(flips)

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """The image the model is shown: hairs inpainted when ``hair_removal`` is on, else ``image`` itself."""
        if not self.hair_removal:
            return image
        from segstudio.core.inference.hair_removal import remove_hair

        return remove_hair(image)

    def predict_probs(self, image: np.ndarray, cancel: Optional[Callable[[], bool]] = None) -> torch.Tensor:
        """K x H x W float32 probabilities (CPU tensor) at the image's original size."""
        x = to_float_chw(self.prepare(image), self.in_channels)
        if self.tile:
            h, w = int(x.shape[-2]), int(x.shape[-1])
            sy, sx = self.tile_factors(h, w)
            nh, nw = max(1, round(h * sy)), max(1, round(w * sx))
            scaled = resize_array(x, nh, nw) if (nh, nw) != (h, w) else x
            probs = sliding_window(self.forward_probs, scaled.to(self.device), self._tile_size(),
                                   self.tile_overlap, self.blend, self.batch_size, cancel).cpu()
            return resize_array(probs, h, w) if (nh, nw) != (h, w) else probs
        fitted, _, meta = fit_to_size(x, self.img_size, mode=self.resize_mode)
        probs = self.forward_probs(fitted[None])[0].cpu()
        return unletterbox(probs, meta)

    def tile_factors(self, h: int, w: int) -> tuple:
        """``(sy, sx)``: how the sliding window rescales an h x w image (see ``tile_scale``)."""
        scale = self.tile_scale
        if scale is None:
            return 1.0, 1.0
        if scale == "fit":
            sh, sw = (self.img_size, self.img_size) if not isinstance(self.img_size, (tuple, list)) else self.img_size
            fy, fx = sh / h, sw / w
            if self.resize_mode == "letterbox":
                fy = fx = min(fy, fx)
            return fy, fx
        return scale

    def _tile_size(self) -> int:
        s = self.img_size
        return int(min(s) if isinstance(s, (tuple, list)) else s)

    def predict(self, image: np.ndarray, *, return_probs: bool = False,
                cancel: Optional[Callable[[], bool]] = None) -> PredictionResult:
        """Class ids (and optionally probabilities) of one image at its original size."""
        probs = self.predict_probs(image, cancel)
        label = probs.argmax(0).numpy().astype(np.int64)
        if self.postprocess:
            from segstudio.core.inference.postprocess import apply_postprocess

            label = apply_postprocess(label, self.postprocess, self.class_names)
        return PredictionResult(label, probs.numpy().astype(np.float32, copy=False) if return_probs else None)

    def __repr__(self) -> str:
        return (f"Predictor(classes={self.class_names}, img_size={self.img_size}, resize_mode={self.resize_mode!r},"
                f" device={self.device.type}, tile={self.tile}, tta={self.tta}, hair_removal={self.hair_removal},"
                f" postprocess={self.postprocess})")

