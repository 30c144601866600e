"""Occlusion: cover part of the input, watch the score.

**Occlusion** (Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", ECCV
2014): slide a window over the image, replace the pixels under it with a baseline, and record
how much the target score drops. A pixel's attribution is the average drop over the windows
that covered it:

.. math::
    a_{ij} = \\frac{1}{|W_{ij}|} \\sum_{w \\in W_{ij}}
             \\big(y^c(x) - y^c(x_{w \\leftarrow b})\\big).

No gradients: it works for any model, at the cost of one forward pass per window position
(⌈(H−h)/s⌉ + 1 per axis; the last window is cropped at the border, as in captum).

LIME (``lime.py``) perturbs superpixels instead of windows and fits a weighted linear model.

Taught in ``notebooks/04_captum_occlusion_and_gradients.ipynb``.
"""
from __future__ import annotations

import math

import torch

from ..core.batching import best_batch_size
from ..core.config import device_of
from ..core.inputs import check_batch
from ..core.models import inference_copy
from ..core.modes import eval_mode
from ..core.targets import Target, select_scores

__all__ = ["window_positions", "occlusion"]


def window_positions(size: int, window: int, stride: int) -> list[int]:
    """Start indices of a sliding window along one axis (captum's convention).

    Example:
        >>> window_positions(20, 6, 4)      # the last window (16..19) is cropped at the border
        [0, 4, 8, 12, 16]
    """
    if not 0 < window <= size:
        raise ValueError(f"A window of {window} does not fit in {size} pixels.")
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}.")
    return [k * stride for k in range(math.ceil((size - window) / stride) + 1)]


def occlusion(model: torch.nn.Module, x: torch.Tensor, target: Target = None,
              window: tuple[int, int] = (15, 15), stride: tuple[int, int] = (8, 8),
              baseline: torch.Tensor | float = 0.0, batch_size: int | None = None
              ) -> torch.Tensor:
    """Occlusion attribution (captum's ``Occlusion`` with a window over all channels).

    Args:
        model: The classifier (left unchanged; a ``channels_last`` copy does the work).
        x: Preprocessed batch (N, 3, H, W).
        target: See :data:`xai_helpers.core.targets.Target`.
        window: (h, w) of the occluding patch.
        stride: (vertical, horizontal) step between patches.
        baseline: What replaces the patch, in the space of ``x``: a number or a (3, H, W)
            tensor. 0 is grey for EfficientNet (normalised space), not black.
        batch_size: Occluded images per forward pass (``None``: measured for this machine,
            :func:`~xai_helpers.best_batch_size`).

    Returns:
        (N, 3, H, W): the same value in the three channels of a pixel.

    Example:
        >>> attr = occlusion(model, x, 235, window=(60, 60), stride=(50, 50))  # doctest: +SKIP
    """
    device = device_of(model)
    x = check_batch(x, model).detach().to(device)
    n, _, height, width = x.shape
    cells = [(r, c) for r in window_positions(height, window[0], stride[0])
             for c in window_positions(width, window[1], stride[1])]
    baseline = torch.as_tensor(baseline, dtype=x.dtype, device=device).expand(x.shape[1:])
    fast_model = inference_copy(model)
    batch_size = batch_size or best_batch_size(model, example=x[:1])

    def scores_of(batch: torch.Tensor, targets: Target) -> torch.Tensor:
        logits = fast_model(batch)
        return select_scores(logits, targets)[0]

    attributions = torch.zeros_like(x)
    with eval_mode(model), torch.inference_mode():
        _, classes = select_scores(model(x), target)
        for i in range(n):
            image_target = target if classes is None else int(classes[i])
            original = scores_of(x[i:i + 1], image_target)
            total = torch.zeros(height, width, device=device)
            count = torch.zeros(height, width, device=device)
            for start in range(0, len(cells), batch_size):
                chunk = cells[start:start + batch_size]
                batch = x[i].repeat(len(chunk), 1, 1, 1)
                for j, (r, c) in enumerate(chunk):
                    batch[j, :, r:r + window[0], c:c + window[1]] = \
                        baseline[:, r:r + window[0], c:c + window[1]]
                drops = original - scores_of(batch, image_target)
                for drop, (r, c) in zip(drops, chunk):
                    total[r:r + window[0], c:c + window[1]] += drop
                    count[r:r + window[0], c:c + window[1]] += 1
            attributions[i] = (total / count).expand(x.shape[1:])
    return attributions
