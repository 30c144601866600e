"""Perturbation attributions: change part of the input, watch the score.

**Occlusion** (Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", ECCV
2014): slide a window over the image, replace the pixels under it with a baseline, and record
how much the target score drops. A pixel's attribution is the average drop over the windows
that covered it:

.. math::
    a_{ij} = \\frac{1}{|W_{ij}|} \\sum_{w \\in W_{ij}}
             \\big(y^c(x) - y^c(x_{w \\leftarrow b})\\big).

No gradients: it works for any model, at the cost of one forward pass per window position
(⌈(H−h)/s⌉ + 1 per axis; the last window is cropped at the border, as in captum).

**LIME** (below) perturbs superpixels instead of windows and fits a weighted linear model.

Taught in ``notebooks/04_captum_occlusion_and_gradients.ipynb`` and ``notebooks/05_lime.ipynb``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .cam import Target, eval_mode, select_scores
from .config import device_of
from .models import inference_copy

__all__ = ["window_positions", "occlusion", "superpixels", "LimeSamples", "lime_samples",
           "weighted_ridge", "paint_superpixels", "superpixel_means"]


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
              baseline: torch.Tensor | float = 0.0, batch_size: int = 8) -> torch.Tensor:
    """Occlusion attribution (captum's ``Occlusion`` with a window over all channels).

    Args:
        model: The classifier (left unchanged; a ``channels_last`` copy does the work).
        x: Preprocessed batch (N, 3, H, W).
        target: See :data:`xai_helpers.cam.Target`.
        window: (h, w) of the occluding patch.
        stride: (vertical, horizontal) step between patches.
        baseline: What replaces the patch, in the space of ``x``: a number or a (3, H, W)
            tensor. 0 is grey for EfficientNet (normalised space), not black.
        batch_size: Occluded images per forward pass.

    Returns:
        (N, 3, H, W): the same value in the three channels of a pixel.

    Example:
        >>> attr = occlusion(model, x, 235, window=(60, 60), stride=(50, 50))  # doctest: +SKIP
    """
    device = device_of(model)
    x = x.detach().to(device)
    n, _, height, width = x.shape
    cells = [(r, c) for r in window_positions(height, window[0], stride[0])
             for c in window_positions(width, window[1], stride[1])]
    baseline = torch.as_tensor(baseline, dtype=x.dtype, device=device).expand(x.shape[1:])
    fast_model = inference_copy(model)

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


# --- LIME: a local linear model over superpixels -------------------------------------------
#
# Ribeiro, Singh, Guestrin, "'Why Should I Trust You?': Explaining the Predictions of Any
# Classifier", KDD 2016. Switch random subsets of superpixels off (fill them with their mean
# colour), score each perturbed image, weight the samples by their closeness to the original
# (a kernel on the cosine distance of the on/off vectors), and fit a weighted ridge regression
# from on/off vectors to scores: its coefficients are the superpixels' importances.


def superpixels(image, method: str = "quickshift", seed: int = 0, **params) -> torch.Tensor:
    """Segment a picture into superpixels with scikit-image; labels 0..S-1, shape (H, W).

    Args:
        image: The picture the model sees (see :func:`xai_helpers.to_rgb_array`).
        method: ``"quickshift"`` (lime's default: kernel_size=4, max_dist=200, ratio=0.2) or
            ``"slic"`` (n_segments=50, compactness=10).
        seed: Random seed of quickshift.
        params: Override the method's parameters.
    """
    from skimage.segmentation import quickshift, slic

    from .viz import to_rgb_array

    picture = to_rgb_array(image).astype(np.float64)
    if method == "quickshift":
        settings = {"kernel_size": 4, "max_dist": 200, "ratio": 0.2, **params}
        labels = quickshift(picture, rng=seed, **settings)
    elif method == "slic":
        settings = {"n_segments": 50, "compactness": 10, "start_label": 0, **params}
        labels = slic(picture, **settings)
    else:
        raise ValueError(f"method must be 'quickshift' or 'slic', not {method!r}.")
    return torch.from_numpy(np.unique(labels, return_inverse=True)[1].reshape(labels.shape))


@dataclass
class LimeSamples:
    """The perturbation data LIME fits its linear model to.

    Attributes:
        segments: (H, W) superpixel label of every pixel.
        masks: (num_samples, S) 1 = superpixel kept, 0 = filled; row 0 keeps everything.
        probabilities: (num_samples,) target-class probability of each perturbed image.
        weights: (num_samples,) kernel weight of each sample.
    """

    segments: torch.Tensor
    masks: torch.Tensor
    probabilities: torch.Tensor
    weights: torch.Tensor


def lime_samples(model: torch.nn.Module, x: torch.Tensor, target: int, segments: torch.Tensor,
                 num_samples: int = 1000, seed: int = 0, kernel_width: float = 0.25,
                 batch_size: int = 8) -> LimeSamples:
    """Draw LIME's perturbations and score them, batched on a fast copy of the model.

    The on/off vectors are drawn as ``lime`` draws them (``numpy.random.RandomState(seed)``),
    switched-off superpixels get their mean colour, and the kernel is lime's
    :math:`\\sqrt{\\exp(-d^2 / w^2)}` of the cosine distance to the all-on vector.

    Args:
        x: One preprocessed image (1, 3, H, W).
        target: Class id whose probability is explained.
        segments: (H, W) labels 0..S-1 (from :func:`superpixels`).
    """
    x = x.detach().to(device_of(model))
    segments = segments.to(x.device)
    count = int(segments.max()) + 1
    drawn = np.random.RandomState(seed).randint(0, 2, num_samples * count)
    masks = torch.from_numpy(drawn.reshape(num_samples, count)).float()
    masks[0] = 1.0
    one_hot = torch.nn.functional.one_hot(segments, count).float()            # (H, W, S)
    means = torch.einsum("chw,hws->cs", x[0], one_hot) / one_hot.sum((0, 1))   # mean colours
    filled = means[:, segments]                                                # (3, H, W)
    fast = inference_copy(model)
    probabilities = []
    with torch.inference_mode():                     # the copy is already in eval mode
        for rows in masks.to(x.device).split(batch_size):
            keep = rows[:, segments].unsqueeze(1).bool()                       # (b, 1, H, W)
            batch = torch.where(keep, x, filled)
            logits = fast(batch)
            probabilities.append(logits.softmax(dim=1)[:, target].cpu())
    cosine = masks.sum(1) / (masks.norm(dim=1) * count ** 0.5).clamp_min(1e-12)
    weights = torch.sqrt(torch.exp(-((1 - cosine) ** 2) / kernel_width ** 2))
    return LimeSamples(segments.cpu(), masks, torch.cat(probabilities), weights)


def weighted_ridge(features: torch.Tensor, y: torch.Tensor, weights: torch.Tensor,
                   alpha: float = 1.0) -> tuple[torch.Tensor, float]:
    """Ridge regression with sample weights and an intercept (scikit-learn's ``Ridge``).

    Minimises :math:`\\sum_n w_n (y_n - b - z_n^\\top\\beta)^2 + \\alpha \\lVert\\beta\\rVert^2`:
    centre with weighted means, then solve
    :math:`(Z_c^\\top W Z_c + \\alpha I)\\,\\beta = Z_c^\\top W y_c`.

    Returns:
        ``(coefficients (S,), intercept)``.
    """
    z, y, w = features.double(), y.double(), weights.double()
    z_mean = (w @ z) / w.sum()
    y_mean = (w @ y) / w.sum()
    zc, yc = z - z_mean, y - y_mean
    lhs = zc.T @ (w[:, None] * zc) + alpha * torch.eye(z.shape[1], dtype=z.dtype)
    coefficients = torch.linalg.solve(lhs, zc.T @ (w * yc))
    return coefficients.float(), float(y_mean - z_mean @ coefficients)


def paint_superpixels(values: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
    """An (H, W) map where every pixel carries its superpixel's value."""
    return values[segments]


def superpixel_means(heatmap: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
    """The mean of an (H, W) map over each superpixel, shape (S,)."""
    count = int(segments.max()) + 1
    sums = torch.zeros(count).index_add_(0, segments.flatten(), heatmap.flatten().float().cpu())
    return sums / torch.bincount(segments.flatten(), minlength=count).float()
