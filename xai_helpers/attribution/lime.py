"""LIME: explain one prediction with a local linear model over superpixels.

Ribeiro, Singh, Guestrin, "'Why Should I Trust You?': Explaining the Predictions of Any
Classifier", KDD 2016. Switch random subsets of superpixels off (fill them with their mean
colour), score each perturbed image, weight the samples by their closeness to the original
(a kernel on the cosine distance of the on/off vectors), and fit a weighted ridge regression
from on/off vectors to scores: its coefficients are the superpixels' importances.

A CAM can enter as a *prior* (``weighted_ridge(..., prior=m)``, with :math:`m_s` the mean CAM
over superpixel :math:`s`): a per-feature ridge penalty :math:`\\alpha/m_s^2`, i.e.
:math:`\\beta_s \\sim \\mathcal N(0, \\sigma^2 m_s^2/\\alpha)`. Superpixels the CAM ignores are
shrunk to 0 unless the samples insist; the coefficients keep LIME's units.

Taught in ``notebooks/05_lime.ipynb``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.batching import best_batch_size
from ..core.config import device_of
from ..core.images import ImageSource
from ..core.inputs import check_batch
from ..core.models import inference_copy
from ..core.targets import class_ids

__all__ = ["superpixels", "LimeSamples", "lime_samples", "weighted_ridge", "paint_superpixels",
           "superpixel_means"]


def superpixels(image: ImageSource | torch.Tensor, method: str = "quickshift", seed: int = 0,
                **params) -> torch.Tensor:
    """Segment a picture into superpixels with scikit-image; labels 0..S-1, shape (H, W).

    Args:
        image: The picture the model sees (see :func:`xai_helpers.to_rgb_array`).
        method: ``"quickshift"`` (lime's default: kernel_size=4, max_dist=200, ratio=0.2) or
            ``"slic"`` (n_segments=50, compactness=10).
        seed: Random seed of quickshift.
        params: Override the method's parameters.
    """
    from skimage.segmentation import quickshift, slic

    from ..core.viz import to_rgb_array

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
                 batch_size: int | None = None) -> LimeSamples:
    """Draw LIME's perturbations and score them, batched on a fast copy of the model.

    The on/off vectors are drawn as ``lime`` draws them (``numpy.random.RandomState(seed)``),
    switched-off superpixels get their mean colour, and the kernel is lime's
    :math:`\\sqrt{\\exp(-d^2 / w^2)}` of the cosine distance to the all-on vector.

    Args:
        x: One preprocessed image (1, 3, H, W).
        target: Class id whose probability is explained.
        segments: (H, W) labels 0..S-1 (from :func:`superpixels`).
        batch_size: Perturbed images per forward pass (``None``: measured for this machine,
            :func:`~xai_helpers.best_batch_size`).
    """
    x = check_batch(x, model).detach().to(device_of(model))
    if x.shape[0] != 1:
        raise ValueError(f"lime_samples explains one image (1, 3, H, W), got {tuple(x.shape)}.")
    if tuple(segments.shape) != tuple(x.shape[-2:]):
        raise ValueError(f"segments {tuple(segments.shape)} must label every pixel of the image "
                         f"{tuple(x.shape[-2:])}; make them with xh.superpixels on the same "
                         "picture.")
    target = int(class_ids(model, x, target)[0])
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
    batch_size = batch_size or best_batch_size(model, example=x[:1])
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
                   alpha: float = 1.0, prior: torch.Tensor | None = None
                   ) -> tuple[torch.Tensor, float]:
    """Ridge regression with sample weights and an intercept (scikit-learn's ``Ridge``), with an
    optional prior scale per feature.

    Minimises :math:`\\sum_n w_n (y_n - b - z_n^\\top\\beta)^2 + \\alpha \\sum_s \\beta_s^2 / m_s^2`
    (:math:`m_s = 1` without ``prior``, LIME's ridge): centre with weighted means, then solve
    :math:`(Z_c^\\top W Z_c + \\alpha\\,\\mathrm{diag}(1/m^2))\\,\\beta = Z_c^\\top W y_c`.

    The penalty :math:`\\alpha\\beta_s^2/m_s^2` is a Gaussian prior
    :math:`\\beta_s \\sim \\mathcal N(0, \\sigma^2 m_s^2/\\alpha)`: a feature with a small prior
    scale :math:`m_s` (e.g. a superpixel where the CAM is low) is shrunk towards 0 more, one with
    :math:`m_s = 0` gets exactly 0, and with plenty of data every coefficient still tends to its
    least-squares value — in the same units as LIME's. (The same fit is ridge on the scaled
    columns :math:`z_s m_s` with coefficients :math:`\\gamma_s = \\beta_s / m_s`; reading
    :math:`\\gamma` as importance would promote the features with a *small* prior scale.)

    Args:
        features: (N, S) on/off vectors (LIME's perturbation matrix :math:`Z`).
        y: (N,) scores.
        weights: (N,) sample weights :math:`w_n` (LIME's kernel).
        alpha: Ridge strength (``lime`` uses 1).
        prior: (S,) non-negative prior scale :math:`m_s` per feature, e.g. the mean CAM over each
            superpixel (:func:`superpixel_means`); ``None``: all 1.

    Returns:
        ``(coefficients (S,), intercept)``.

    Example:
        >>> z = torch.tensor([[1., 1.], [1., 0.], [0., 1.], [0., 0.]])
        >>> coef, b = weighted_ridge(z, z @ torch.tensor([2., 1.]), torch.ones(4), alpha=1e-9)
        >>> [round(v, 4) for v in coef.tolist()], round(b, 4)
        ([2.0, 1.0], 0.0)
        >>> weighted_ridge(z, z @ torch.tensor([2., 1.]), torch.ones(4),
        ...                prior=torch.tensor([1., 0.]))[0][1].item()     # m_s = 0: exactly 0
        0.0
    """
    z, y, w = features.double(), y.double(), weights.double()
    if prior is None:
        penalty = torch.full((z.shape[1],), float(alpha), dtype=z.dtype)
    else:
        prior = torch.as_tensor(prior).double().flatten()
        if prior.shape != (z.shape[1],) or bool((prior < 0).any()) or not bool(
                torch.isfinite(prior).all()):
            raise ValueError(f"prior must hold one finite, non-negative scale per feature "
                             f"({z.shape[1]}), got shape {tuple(prior.shape)}; pass e.g. "
                             "xh.superpixel_means(cam, segments).")
        penalty = float(alpha) / prior.clamp_min(1e-300) ** 2
    free = penalty < 1e300                      # m_s = 0: infinite penalty, coefficient 0
    z_mean = (w @ z) / w.sum()
    y_mean = (w @ y) / w.sum()
    zc, yc = (z - z_mean)[:, free], y - y_mean
    lhs = zc.T @ (w[:, None] * zc) + torch.diag(penalty[free])
    coefficients = torch.zeros(z.shape[1], dtype=z.dtype)
    coefficients[free] = torch.linalg.solve(lhs, zc.T @ (w * yc))
    return coefficients.float(), float(y_mean - z_mean @ coefficients)


def paint_superpixels(values: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
    """An (H, W) map where every pixel carries its superpixel's value."""
    return values[segments]


def superpixel_means(heatmap: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
    """The mean of an (H, W) map over each superpixel, shape (S,)."""
    count = int(segments.max()) + 1
    sums = torch.zeros(count).index_add_(0, segments.flatten(), heatmap.flatten().float().cpu())
    return sums / torch.bincount(segments.flatten(), minlength=count).float()
