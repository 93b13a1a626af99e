"""An exponential moving average (EMA) of a model's weights, for validation and the saved checkpoints.

With the small batches a CPU trains with (4 images), batch norm's running statistics and the last steps'
weights move enough from one epoch to the next that the validation score of the raw weights jumps by a few
points even when the learning rate is near zero; which epoch ``best.pt`` keeps is then partly luck.  The
average of the weights over the last few hundred steps scores steadier and usually higher (the "model EMA" of
Polyak averaging, as timm and YOLO keep it).  ``TrainConfig.ema_decay`` (0 = off) is the decay per optimizer
step; for the first steps it is lowered to ``(1 + n) / (10 + n)`` so that the average does not start from the
random initial weights.

Parameters and floating-point buffers (batch norm's running mean and variance) are averaged; integer buffers
(``num_batches_tracked``) are copied.  The average lives on the model's device and never gets gradients.
"""
from __future__ import annotations

import copy

import torch


class WeightEMA:
    """``module``: the averaged copy of the model (eval mode, no gradients); ``update(model)`` after each
    optimizer step; ``updates``: the number of steps averaged (part of the resume state)."""

    def __init__(self, model: torch.nn.Module, decay: float, updates: int = 0):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema decay must be in (0, 1), got {decay}")
        self.decay = float(decay)
        self.updates = int(updates)
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    def current_decay(self) -> float:
        """The decay of the next update: the configured one, lower for the first steps."""
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        d = self.current_decay()
        self.updates += 1
        src = model.state_dict()
        for name, avg in self.module.state_dict().items():
            value = src[name].detach()
            if avg.dtype.is_floating_point:
                avg.lerp_(value.to(avg.dtype), 1.0 - d)
            else:
                avg.copy_(value)

    def state_dict(self) -> dict:
        return self.module.state_dict()

    def load_state_dict(self, state: dict, updates: int) -> None:
        self.module.load_state_dict(state)
        self.updates = int(updates)
