"""Sliding-window inference: overlapping tiles whose probabilities are blended with a weight map."""
from __future__ import annotations

import math
from typing import Callable, List, Optional

import torch

BLENDS = ("gaussian", "linear")


def blend_weights(tile: int, mode: str = "gaussian") -> torch.Tensor:
    """tile x tile weight map, highest in the centre, > 0 everywhere.

    ``gaussian``: sigma = tile / 8 (as nnU-Net); ``linear``: a tent (pyramid) falling to 1/tile at the edge.
    """
    if mode not in BLENDS:
        raise ValueError(f"unknown blend {mode!r}; known: {', '.join(BLENDS)}")
    c = (torch.arange(tile, dtype=torch.float32) + 0.5) - tile / 2
    if mode == "gaussian":
        sigma = tile / 8
        g = torch.exp(-(c**2) / (2 * sigma**2))
    else:
        g = 1.0 - c.abs() / (tile / 2) + 1.0 / tile
    w = g[:, None] * g[None, :]
    w = w / w.max()
    return w.clamp_(min=1e-3)


def tile_starts(length: int, tile: int, stride: int) -> List[int]:
    """Window starts covering [0, length): evenly spread, the last window ends at ``length``."""
    if length <= tile:
        return [0]
    n = math.ceil((length - tile) / stride) + 1
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


def sliding_window(forward: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor, tile: int,
                   overlap: float = 0.25, blend: str = "gaussian", batch_size: int = 4,
                   cancel: Optional[Callable[[], bool]] = None) -> torch.Tensor:
    """Probabilities (K x H x W, float32, on the image's device) of a C x H x W image at its native scale.

    ``forward(N x C x tile x tile) -> N x K x tile x tile`` probabilities.  A dimension smaller than ``tile``
    is padded with zeros (and the padding cropped away).  Windows overlap by ``overlap`` (0 <= overlap < 1);
    their probabilities are averaged with :func:`blend_weights` so tile borders do not show.
    """
    from segstudio.core.progress import check_cancel

    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    c, h, w = image.shape
    ph, pw = max(h, tile), max(w, tile)
    if (ph, pw) != (h, w):
        padded = image.new_zeros((c, ph, pw))
        padded[:, :h, :w] = image
        image = padded
    stride = max(1, int(round(tile * (1 - overlap))))
    starts = [(y, x) for y in tile_starts(ph, tile, stride) for x in tile_starts(pw, tile, stride)]
    weight = blend_weights(tile, blend).to(image.device)
    acc: Optional[torch.Tensor] = None
    norm = torch.zeros((ph, pw), dtype=torch.float32, device=image.device)
    for b in range(0, len(starts), batch_size):
        check_cancel(cancel)
        chunk = starts[b : b + batch_size]
        x = torch.stack([image[:, y : y + tile, x0 : x0 + tile] for y, x0 in chunk])
        probs = forward(x).float()
        if acc is None:
            acc = torch.zeros((probs.shape[1], ph, pw), dtype=torch.float32, device=image.device)
        for (y, x0), p in zip(chunk, probs):
            acc[:, y : y + tile, x0 : x0 + tile] += p * weight
            norm[y : y + tile, x0 : x0 + tile] += weight
    out = acc / norm
    return out[:, :h, :w].contiguous()
