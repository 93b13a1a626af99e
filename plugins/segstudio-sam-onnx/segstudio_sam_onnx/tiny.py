"""A tiny SAM-shaped encoder/decoder ONNX pair for tests and demos (no weights: pure geometry).

Same input/output names as the SAM exports that labelme and X-AnyLabeling load:

* encoder ``image`` (1 x 3 x S x S, SAM-normalised) -> ``image_embeddings`` (1 x 4 x S/4 x S/4);
* decoder ``image_embeddings``, ``point_coords`` (1 x N x 2, in the S-frame), ``point_labels`` (1 x N: 1
  positive, 0 negative, 2/3 box corners, -1 padding), ``mask_input`` (1 x 1 x S x S: 4 x the embedding, as SAM),
  ``has_mask_input`` (1), ``orig_im_size`` (2) -> ``masks`` (1 x 1 x S x S logits in the S-frame),
  ``iou_predictions`` (1 x 1), ``low_res_masks`` (1 x 1 x S x S).

The decoder's mask is a disk of radius S/8 around the mean of the positive points and box corners, minus a
disk of radius S/16 around each negative point: a test can predict exactly what comes back.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


class TinyEncoder(nn.Module):
    def forward(self, image):
        return nn.functional.avg_pool2d(image, 4).repeat(1, 2, 1, 1)[:, :4]


class TinyDecoder(nn.Module):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, image_embeddings, point_coords, point_labels, mask_input, has_mask_input, orig_im_size):
        s = self.size
        grid = torch.arange(s, dtype=torch.float32) + 0.5
        pos = (point_labels >= 1).float()[..., None]                     # 1 x N x 1
        centre = (point_coords * pos).sum(1) / pos.sum(1).clamp(min=1)    # 1 x 2
        d2 = (grid[None, None, :] - centre[:, 0, None, None]) ** 2 \
            + (grid[None, :, None] - centre[:, 1, None, None]) ** 2
        logits = (s / 8) ** 2 - d2                                        # 1 x S x S
        neg = (point_labels == 0).float()                                 # 1 x N
        nd2 = (grid[None, None, None, :] - point_coords[:, :, 0, None, None]) ** 2 + \
            (grid[None, None, :, None] - point_coords[:, :, 1, None, None]) ** 2          # 1 x N x S x S
        cut = ((nd2 < (s / 16) ** 2).float() * neg[:, :, None, None]).amax(1)
        logits = torch.where(cut > 0, torch.full_like(logits, -10.0), logits)
        logits = logits + 0.0 * image_embeddings.mean() + 0.0 * mask_input.mean() + 0.0 * has_mask_input.sum() \
            + 0.0 * orig_im_size.sum()
        masks = logits[:, None]
        return masks, torch.ones(1, 1), masks.clone()


def export_tiny_pair(folder, size: int = 64) -> tuple[Path, Path]:
    """Write ``tiny_encoder.onnx`` and ``tiny_decoder.onnx`` into ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    enc, dec = folder / "tiny_encoder.onnx", folder / "tiny_decoder.onnx"
    torch.onnx.export(TinyEncoder(), (torch.zeros(1, 3, size, size),), str(enc), input_names=["image"],
                      output_names=["image_embeddings"], dynamo=False)
    q = size // 4
    inputs = (torch.zeros(1, 4, q, q), torch.zeros(1, 2, 2), torch.zeros(1, 2), torch.zeros(1, 1, size, size),
              torch.zeros(1), torch.tensor([size, size], dtype=torch.float32))
    torch.onnx.export(TinyDecoder(size), inputs, str(dec),
                      input_names=["image_embeddings", "point_coords", "point_labels", "mask_input",
                                   "has_mask_input", "orig_im_size"],
                      output_names=["masks", "iou_predictions", "low_res_masks"],
                      dynamic_axes={"point_coords": {1: "n"}, "point_labels": {1: "n"}}, dynamo=False)
    return enc, dec
