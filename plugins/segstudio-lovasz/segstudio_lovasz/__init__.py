"""Example segstudio plugin: adds the ``lovasz`` loss (Lovász-softmax, Berman et al., CVPR 2018).

Install with ``pip install -e plugins/segstudio-lovasz``; then ``segstudio train --loss lovasz`` works and
``segstudio plugins`` lists it.  A plugin is any package with an entry point in the ``segstudio.plugins``
group; the entry point is called once when a registry is first used, and registers into the plain-dict
registries (models, losses, exporters) with their decorators.
"""
from __future__ import annotations

import torch


def _lovasz_grad(fg_sorted: torch.Tensor) -> torch.Tensor:
    """Gradient of the Lovász extension of the Jaccard loss w.r.t. sorted errors (Berman et al., Alg. 1)."""
    total = fg_sorted.sum()
    intersection = total - fg_sorted.cumsum(0)
    union = total + (1.0 - fg_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    if fg_sorted.numel() > 1:
        jaccard = torch.cat([jaccard[:1], jaccard[1:] - jaccard[:-1]])
    return jaccard


def register() -> None:
    from segstudio.core.losses import LOSSES, SegLoss

    if "lovasz" in LOSSES.entries:
        return

    @LOSSES.register("lovasz")
    class LovaszSoftmaxLoss(SegLoss):
        """Mean over the classes present in the batch of the Lovász hinge of (|fg - p_c|) on valid pixels."""

        def compute(self, logits, t, valid):
            if logits.shape[1] == 1:  # single foreground logit -> two-class probabilities
                p1 = torch.sigmoid(logits[:, 0])
                probs = torch.stack([1 - p1, p1], dim=1)
            else:
                probs = logits.softmax(dim=1)
            c = probs.shape[1]
            probs = probs.permute(0, 2, 3, 1).reshape(-1, c)[valid.reshape(-1)]
            labels = t.reshape(-1)[valid.reshape(-1)]
            if labels.numel() == 0:
                return logits.sum() * 0.0
            losses = []
            for k in range(c):
                fg = (labels == k).to(probs.dtype)
                if fg.sum() == 0:
                    continue  # "present" classes only, as in the paper's default
                errors = (fg - probs[:, k]).abs()
                errors_sorted, order = torch.sort(errors, descending=True)
                losses.append(torch.dot(errors_sorted, _lovasz_grad(fg[order])))
            return torch.stack(losses).mean() if losses else logits.sum() * 0.0
