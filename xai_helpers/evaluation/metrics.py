"""Judging explanations: faithfulness (deletion / insertion curves, average drop and increase
in confidence), localisation (pointing game, energy inside the object mask), complexity
(sparseness) and the similarity of two maps (for sanity checks).

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

from ..core.batching import best_batch_size
from ..core.config import device_of
from ..core.inputs import check_batch
from ..core.models import inference_copy
from ..core.modes import eval_mode
from ..core.targets import Target, class_ids

__all__ = ["Curve", "deletion_curve", "insertion_curve", "superpixel_deletion", "pointing_game",
           "energy_in_mask", "average_drop_increase", "sparseness", "rank_correlation"]


@dataclass
class Curve:
    """Probability of the target class against the fraction of pixels removed / inserted."""

    fractions: torch.Tensor
    probabilities: torch.Tensor

    @property
    def auc(self) -> float:
        """Area under the curve (trapezoid rule over the fractions)."""
        return float(torch.trapezoid(self.probabilities, self.fractions))


def _curve(model, x, target, saliency, steps, baseline, batch_size, insert: bool) -> Curve:
    x = check_batch(x, model)
    if x.shape[0] != 1:
        raise ValueError(f"Expected one image of shape (1, 3, H, W), got {tuple(x.shape)}.")
    target = int(class_ids(model, x, target)[0])
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
        size = batch_size or best_batch_size(model, example=x[:1])
        for batch in torch.cat(images).split(size):
            logits = fast(batch)
            probabilities.append(logits.softmax(dim=1)[:, target])
    return Curve(fractions, torch.cat(probabilities).cpu())


def deletion_curve(model: torch.nn.Module, x: torch.Tensor, target: int | None, saliency,
                   steps: int = 20, baseline: torch.Tensor | float = 0.0,
                   batch_size: int | None = None) -> Curve:
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


def insertion_curve(model: torch.nn.Module, x: torch.Tensor, target: int | None, saliency,
                    steps: int = 20, baseline: torch.Tensor | float = 0.0,
                    batch_size: int | None = None) -> Curve:
    """Insert the most salient pixels first into the baseline; ``Curve.auc`` high = faithful."""
    return _curve(model, x, target, saliency, steps, baseline, batch_size, insert=True)


# -- localisation: does the map point at the object? ---------------------------------------

def _check_maps_masks(maps: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    maps, masks = torch.as_tensor(maps).float(), torch.as_tensor(masks).bool()
    if maps.ndim == 2:
        maps, masks = maps[None], masks[None] if masks.ndim == 2 else masks
    if maps.shape != masks.shape:
        raise ValueError(f"maps {tuple(maps.shape)} and masks {tuple(masks.shape)} must have the "
                         "same (N, H, W) shape; upsample the maps to the image size first.")
    return maps, masks.to(maps.device)


def pointing_game(maps: torch.Tensor, masks: torch.Tensor, tolerance: int = 0) -> torch.Tensor:
    """Pointing game (Zhang et al., "Top-down Neural Attention by Excitation Backprop", ECCV
    2016): a hit when the map's maximum lies on the object (or within ``tolerance`` pixels).

    Args:
        maps: (N, H, W) explanations.
        masks: (N, H, W) bool object masks.
        tolerance: Grow each mask by this many pixels first (the paper uses 15 at 224 px).

    Returns:
        (N,) bool hits; ``.float().mean()`` is the accuracy.

    Example:
        >>> mask = torch.zeros(1, 4, 4, dtype=torch.bool); mask[0, 1, 1] = True
        >>> pointing_game(mask.float(), mask).tolist()
        [True]
    """
    maps, masks = _check_maps_masks(maps, masks)
    if tolerance > 0:
        size = 2 * tolerance + 1
        masks = torch.nn.functional.max_pool2d(masks[:, None].float(), size, 1, tolerance)[:, 0] > 0
    flat = maps.flatten(1).argmax(dim=1)
    return masks.flatten(1)[torch.arange(len(flat)), flat]


def energy_in_mask(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Share of the map's positive energy that falls on the object (the "energy-based pointing
    game" of Wang et al., Score-CAM, CVPR-W 2020): :math:`\\sum_{mask} L^+ / \\sum L^+`.

    A uniform map scores the object's area fraction; a perfect map scores 1.

    Example:
        >>> mask = torch.zeros(1, 4, 4, dtype=torch.bool); mask[0, :2] = True
        >>> energy_in_mask(torch.ones(1, 4, 4), mask).tolist()
        [0.5]
    """
    maps, masks = _check_maps_masks(maps, masks)
    positive = maps.clamp(min=0)
    return (positive * masks).flatten(1).sum(1) / positive.flatten(1).sum(1).clamp(min=1e-12)


# -- faithfulness: does the model agree with the map? --------------------------------------

def average_drop_increase(model: torch.nn.Module, x: torch.Tensor, maps: torch.Tensor,
                          target: Target, score: str = "probability"
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Average drop and increase in confidence (Chattopadhay et al., Grad-CAM++, WACV 2018).

    The image is multiplied by its map (kept where the map is 1, faded where it is 0) and the
    target's softmax probability compared: drop :math:`= \\max(0, Y - O) / Y`, increase
    :math:`= [O > Y]`. Low drop and high increase are good. Same definition as torchcam's
    ``ClassificationMetric`` (tested equal).

    Args:
        model: The classifier.
        x: Preprocessed batch (N, C, H, W); the map multiplies it in this space.
        maps: (N, H, W) in [0, 1].
        target: One class id or one per image.
        score: ``"probability"`` (softmax, the usual choice) or ``"logit"``.

    Returns:
        ``(drop, increase)``, each (N,); take ``.mean()`` for the paper's numbers.
    """
    if score not in ("probability", "logit"):
        raise ValueError(f"score must be 'probability' or 'logit', not {score!r}.")
    device = device_of(model)
    x = check_batch(x, model).detach().to(device)
    maps = torch.as_tensor(maps, device=device).float()
    target = class_ids(model, x, target).to(device)
    rows = torch.arange(x.shape[0], device=device)
    def scores(images):
        logits = model(images)
        return (logits.softmax(dim=1) if score == "probability" else logits)[rows, target]

    with eval_mode(model), torch.inference_mode():
        original, masked = scores(x), scores(maps[:, None] * x)
    drop = torch.relu(original - masked) / (original + 1e-7)
    return drop.cpu(), (masked > original).cpu()


# -- complexity ------------------------------------------------------------------------------

def sparseness(maps: torch.Tensor) -> torch.Tensor:
    """Gini index of each map's absolute values (Chalasani et al., ICML 2020): 0 when every
    pixel is equally important, close to 1 when a few pixels hold everything.

    Example:
        >>> one_hot = torch.zeros(1, 10, 10); one_hot[0, 3, 3] = 1
        >>> [round(v, 2) for v in sparseness(torch.cat([torch.ones(1, 10, 10), one_hot])).tolist()]
        [0.0, 0.99]
    """
    values = torch.as_tensor(maps).float().abs().flatten(1).sort(dim=1).values
    n = values.shape[1]
    ranks = torch.arange(1, n + 1, dtype=values.dtype, device=values.device)
    total = values.sum(1).clamp(min=1e-12)
    return ((2 * ranks - n - 1) * values).sum(1) / (n * total)


# -- similarity of two explanations (sanity checks) ------------------------------------------

def rank_correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman rank correlation between paired maps, one value per pair (N,), as in the
    sanity checks of Adebayo et al., NeurIPS 2018 (on absolute values: pass ``a.abs()``).

    Ties get their average rank. 1: same ordering; about 0: unrelated.

    Example:
        >>> a = torch.arange(16.0).view(1, 4, 4)
        >>> rank_correlation(a, 2 * a + 1).tolist(), rank_correlation(a, -a).tolist()
        ([1.0], [-1.0])
    """
    a, b = torch.as_tensor(a).float().flatten(1), torch.as_tensor(b).float().flatten(1)
    if a.shape != b.shape:
        raise ValueError(f"Paired maps must have the same shape, got {a.shape} and {b.shape}.")
    ra, rb = _average_ranks(a), _average_ranks(b)
    ra, rb = ra - ra.mean(1, keepdim=True), rb - rb.mean(1, keepdim=True)
    denominator = (ra.norm(dim=1) * rb.norm(dim=1)).clamp(min=1e-12)
    return (ra * rb).sum(1) / denominator


def _average_ranks(values: torch.Tensor) -> torch.Tensor:
    ranks = torch.empty_like(values)
    for i, row in enumerate(values):
        unique, inverse, counts = torch.unique(row, return_inverse=True, return_counts=True)
        ends = counts.cumsum(0).float()
        ranks[i] = (ends - (counts.float() - 1) / 2)[inverse]
    return ranks


def superpixel_deletion(model: torch.nn.Module, x: torch.Tensor, target: int,
                        values: torch.Tensor, segments: torch.Tensor,
                        baseline: torch.Tensor | float = 0.0, batch_size: int | None = None):
    """Deletion curve at superpixel resolution: remove one superpixel at a time, the highest
    ``values`` first, and follow the target probability (Petsiuk et al., RISE, BMVC 2018, with
    superpixels as the unit, so every method is ranked at the same granularity as LIME).

    Args:
        model, x, target: The classifier, one preprocessed image (1, 3, H, W), the class id.
        values: (S,) one score per superpixel (e.g. LIME coefficients, or
            :func:`~xai_helpers.attribution.lime.superpixel_means` of a pixel map); ties keep
            the superpixel order.
        segments: (H, W) labels 0..S-1.
        baseline: What a removed superpixel becomes, in the space of ``x`` (0 = grey here).

    Returns:
        :class:`Curve` with ``S + 1`` points; its fractions are
        the share of pixels removed after each superpixel (uneven steps), ``auc`` low = faithful.

    Example:
        >>> curve = superpixel_deletion(model, x, 235, coefficients, segments)  # doctest: +SKIP
    """
    x = check_batch(x, model).detach().to(device_of(model))
    if x.shape[0] != 1:
        raise ValueError(f"superpixel_deletion explains one image (1, 3, H, W), got "
                         f"{tuple(x.shape)}.")
    values = torch.as_tensor(values).flatten().cpu()
    count = int(segments.max()) + 1
    if values.numel() != count or tuple(segments.shape) != tuple(x.shape[-2:]):
        raise ValueError(f"values must hold one number per superpixel ({count}), got "
                         f"{values.numel()}, and segments must label every pixel "
                         f"{tuple(x.shape[-2:])}, got {tuple(segments.shape)}; for a pixel map "
                         "pass xh.superpixel_means(map, segments).")
    order = values.argsort(descending=True, stable=True)
    rank = torch.empty(count, dtype=torch.long)
    rank[order] = torch.arange(count)
    pixel_rank = rank[segments].to(x.device)                       # (H, W): when it goes
    baseline = torch.as_tensor(baseline, dtype=x.dtype, device=x.device).expand_as(x)
    sizes = torch.bincount(segments.flatten(), minlength=count).float()[order]
    fractions = torch.cat([torch.zeros(1), sizes.cumsum(0) / sizes.sum()])
    fast = inference_copy(model)
    batch_size = batch_size or best_batch_size(model, example=x[:1])
    probabilities = []
    with torch.inference_mode():
        for steps in torch.arange(count + 1).split(batch_size):
            gone = (pixel_rank[None] < steps.to(x.device)[:, None, None]).unsqueeze(1)
            probabilities.append(fast(torch.where(gone, baseline, x)).softmax(1)[:, target].cpu())
    return Curve(fractions, torch.cat(probabilities))
