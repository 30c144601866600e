"""Judging explanations by their effect on the model: deletion and insertion curves.

**Deletion** (Petsiuk, Das, Saenko, "RISE", BMVC 2018): remove the pixels an explanation ranks
most important first (replace them with a baseline) and follow the target probability. A
faithful explanation makes it fall fast: a *low* area under the curve (AUC) is good.
**Insertion** starts from the baseline and puts the most important pixels back first: a *high*
AUC is good.

Taught in ``notebooks/05_lime.ipynb``; used again in ``notebooks/09_evaluating_explanations``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import device_of
from .models import inference_copy

__all__ = ["Curve", "deletion_curve", "insertion_curve"]


@dataclass
class Curve:
    """Probability of the target class against the fraction of pixels removed / inserted."""

    fractions: torch.Tensor
    probabilities: torch.Tensor

    @property
    def auc(self) -> float:
        """Area under the curve (trapezoid rule over the fractions)."""
        return float(torch.trapezoid(self.probabilities, self.fractions))


def _curve(model, x, target: int, saliency, steps, baseline, batch_size, insert: bool) -> Curve:
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"Expected one image of shape (1, 3, H, W), got {tuple(x.shape)}.")
    saliency = torch.as_tensor(saliency, dtype=torch.float32, device=x.device)
    if saliency.shape != x.shape[-2:]:
        raise ValueError(f"The saliency map must be {tuple(x.shape[-2:])}, "
                         f"got {tuple(saliency.shape)}; upsample it first.")
    x = x.detach().to(device_of(model))
    baseline = torch.as_tensor(baseline, dtype=x.dtype, device=x.device).expand_as(x)
    order = saliency.flatten().argsort(descending=True, stable=True)
    fractions = torch.linspace(0, 1, steps + 1)
    images = []
    for fraction in fractions:
        chosen = torch.zeros(order.numel(), dtype=torch.bool, device=x.device)
        chosen[order[:int(round(float(fraction) * order.numel()))]] = True
        chosen = chosen.view(1, 1, *x.shape[-2:])
        start, end = (baseline, x) if insert else (x, baseline)
        images.append(torch.where(chosen, end, start))
    fast = inference_copy(model)
    probabilities = []
    with torch.inference_mode():                     # the copy is already in eval mode
        for batch in torch.cat(images).split(batch_size):
            logits = fast(batch)
            probabilities.append(logits.softmax(dim=1)[:, target])
    return Curve(fractions, torch.cat(probabilities).cpu())


def deletion_curve(model: torch.nn.Module, x: torch.Tensor, target: int, saliency,
                   steps: int = 20, baseline: torch.Tensor | float = 0.0,
                   batch_size: int = 8) -> Curve:
    """Remove the most salient pixels first; ``Curve.auc`` low = faithful.

    Args:
        model: The classifier.
        x: One preprocessed image (1, 3, H, W).
        target: Class id whose probability is followed.
        saliency: (H, W) map; higher = more important.
        steps: Number of removal steps (``steps + 1`` forward passes).
        baseline: Replacement for removed pixels, in the space of ``x`` (0 = grey here).
    """
    return _curve(model, x, target, saliency, steps, baseline, batch_size, insert=False)


def insertion_curve(model: torch.nn.Module, x: torch.Tensor, target: int, saliency,
                    steps: int = 20, baseline: torch.Tensor | float = 0.0,
                    batch_size: int = 8) -> Curve:
    """Insert the most salient pixels first into the baseline; ``Curve.auc`` high = faithful."""
    return _curve(model, x, target, saliency, steps, baseline, batch_size, insert=True)
