"""Integrated Gradients along other paths, from other baselines, and smoothed with noise.

Integrated Gradients (``gradients.py``) integrates along the *straight* line from one baseline.
Both choices matter; the methods here change them.

- **Guided IG** (Kapishnikov et al., CVPR 2021): the path bends. At each step, move the
  features with the *smallest* gradient first (a ``fraction`` of them), staying within
  ``max_dist`` of the straight line; features the model is sensitive to move last, so noise
  from saturated regions is not integrated. ``max_dist = 0`` is plain IG.
- **Blur IG** (Xu, Venugopalan, Sundararajan, CVPR 2020): the path runs from the image to a
  fully blurred copy by increasing the blur :math:`\\sigma`; no baseline image is needed, and
  the attributions follow features that blurring destroys (edges and textures first).
- **Enhanced IG** (Jha, Aicher, Gazzara, Singh, Barash, Genome Biology 2020; the authors'
  package ``eig`` 0.1.4): baselines from a *contrasting class* (k-means centroids, the
  examples nearest the sample, or random examples of that class) instead of one black image,
  a trapezoidal path integral (``np.trapz`` over the path), and the median over several
  baselines — these carry over to images and are here. Left out, because one photo and a
  classifier are not enough for them: the *hidden-space* paths (straight lines in the latent
  space of an autoencoder trained on the data), the *neighbours* paths (shortest paths through
  a k-nearest-neighbour graph of a training set), and the class-wide significance test (a
  one-sided t-test of a class's attributions against a random set, Bonferroni-corrected),
  which is about a class of samples, not one.

SmoothGrad over Integrated Gradients (captum's ``NoiseTunnel``) is :func:`~xai_helpers.noise_tunnel`
in ``gradients.py``.

Taught in ``notebooks/04_captum_occlusion_and_gradients.ipynb``.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from ..core.config import device_of
from ..core.inputs import check_batch
from ..core.modes import eval_mode
from ..core.targets import Target, class_ids
from .gradients import _expand_target, input_gradients, integrated_gradients

__all__ = ["guided_integrated_gradients", "gaussian_blur", "blur_integrated_gradients",
           "class_baselines", "enhanced_integrated_gradients"]


def _gradient_fn(model, image: torch.Tensor, target: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x (C, H, W) float64 -> gradient of the target score, float64`` for one image."""
    dtype = next(model.parameters()).dtype

    def gradient(point: torch.Tensor) -> torch.Tensor:
        return input_gradients(model, point[None].to(dtype), target)[0].to(torch.float64)
    return gradient


def guided_integrated_gradients(model: torch.nn.Module, x: torch.Tensor, target: Target = None,
                                baseline: torch.Tensor | float = 0.0, steps: int = 200,
                                fraction: float = 0.25, max_dist: float = 0.02) -> torch.Tensor:
    """Guided Integrated Gradients: a path that moves the least sensitive features first.

    At step :math:`t` (of ``steps``) the path must have covered :math:`t/T` of the L1 distance
    from the baseline. It gets there in rounds: features already lagging more than ``max_dist``
    behind the straight line catch up to it; then, among the features not yet at their upper
    bound, the ``fraction`` with the smallest :math:`|\\partial y/\\partial x|` move towards
    the line's point :math:`t/T + \\text{max\\_dist}` — all the way, or part-way if that
    covers the rest. Each round adds :math:`\\Delta x \\odot \\nabla y` (the gradient taken at
    the start of the step). Attributions add up to :math:`y(x) - y(x')`, as IG's do, up to the
    error of that discretisation.

    Kapishnikov, Venugopalan, Avci, Wedin, Terry, Bolukbasi, "Guided Integrated Gradients: an
    Adaptive Path Method for Removing Noise", CVPR 2021. Follows PAIR's ``saliency`` package
    (``core/guided_ig.py``; tested equal), computing in float64 as it does.

    Args:
        model, x, target: As in :func:`~xai_helpers.saliency`; images are explained one by one.
        baseline: The path's start, in the model's input space (default 0).
        steps: Steps on the path (PAIR's default: 200).
        fraction: Share of the features moved in each round (0.25).
        max_dist: How far (as a share of the path, 0 to 1) a feature may run ahead of the
            straight line (0.02); 0 gives plain IG on the straight line.

    Returns:
        (N, C, H, W) attributions in float64.

    Example:
        >>> attr = guided_integrated_gradients(model, x, 235, steps=50)   # doctest: +SKIP
    """
    x = check_batch(x, model).detach().to(device_of(model))
    targets = class_ids(model, x, target).tolist()
    baseline = torch.as_tensor(baseline, dtype=x.dtype, device=x.device).expand_as(x)
    out = torch.zeros_like(x, dtype=torch.float64)
    with eval_mode(model):
        for i, class_id in enumerate(targets):
            out[i] = _guided_ig_one(x[i].double(), baseline[i].double(),
                                    _gradient_fn(model, x[i], class_id), steps, fraction,
                                    max_dist)
    return out


def _guided_ig_one(end, start, gradient, steps, fraction, max_dist, tolerance=1e-9):
    point = start.clone()
    attr = torch.zeros_like(end)
    span = end - start
    total = float(span.abs().sum())
    if total == 0:
        return attr
    moving = span != 0
    for step in range(steps):
        grad_actual = gradient(point)
        grad = grad_actual.clone()
        alpha = (step + 1) / steps
        low, high = max(alpha - max_dist, 0.0), min(alpha + max_dist, 1.0)
        point_low, point_high = start + span * low, start + span * high
        target_l1 = total * (1 - alpha)
        gamma = math.inf
        while gamma > 1.0:
            before = point.clone()
            progress = torch.where(moving, (point - start) / torch.where(moving, span, 1.0),
                                   torch.tensor(high, dtype=point.dtype, device=point.device))
            behind = progress < low
            point[behind] = point_low[behind]
            current_l1 = float((point - end).abs().sum())
            if math.isclose(target_l1, current_l1, rel_tol=tolerance, abs_tol=tolerance):
                attr += (point - before) * grad_actual
                break
            grad[point == point_high] = math.inf
            flat = grad.abs().flatten()
            k = int(math.floor(fraction * (flat.numel() - 1)))         # numpy's "lower" quantile
            threshold = flat.kthvalue(k + 1).values
            chosen = (grad.abs() <= threshold) & (grad != math.inf)
            chosen_l1 = float(((point - point_high).abs() * chosen).sum())
            gamma = (current_l1 - target_l1) / chosen_l1 if chosen_l1 > 0 else math.inf
            if gamma > 1.0:
                point[chosen] = point_high[chosen]
            else:
                point[chosen] = (point + (point_high - point) * gamma)[chosen]
            attr += (point - before) * grad_actual
    return attr


def gaussian_blur(images: torch.Tensor, sigma: float, truncate: float = 4.0) -> torch.Tensor:
    """Blur (N, C, H, W) images over H and W with a Gaussian of standard deviation ``sigma``,
    zeros beyond the border — scipy's ``ndimage.gaussian_filter`` with ``mode="constant"``
    (radius ``int(truncate * sigma + 0.5)``, the kernel normalised to sum 1).

    Example:
        >>> gaussian_blur(torch.ones(1, 1, 5, 5), 0.0).sum().item()
        25.0
    """
    if sigma == 0:
        return images
    radius = int(truncate * sigma + 0.5)
    if radius == 0:
        return images
    offsets = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-0.5 * offsets ** 2 / sigma ** 2)
    kernel = kernel / kernel.sum()
    # the blur along one axis as a band matrix: zero padding is the band cut at the edges
    # (one matrix product per axis is much faster in float64 than a convolution)
    rows = _band(kernel, images.shape[-2], radius)
    cols = _band(kernel, images.shape[-1], radius)
    return rows @ images @ cols.T


def _band(kernel: torch.Tensor, size: int, radius: int) -> torch.Tensor:
    """(size, size) matrix M with M[i, j] = kernel[j - i + radius] where defined, else 0."""
    index = torch.arange(size, device=kernel.device)
    offset = index[None, :] - index[:, None] + radius
    inside = (offset >= 0) & (offset < len(kernel))
    return torch.where(inside, kernel[offset.clamp(0, len(kernel) - 1)],
                       torch.zeros((), dtype=kernel.dtype, device=kernel.device))


def blur_integrated_gradients(model: torch.nn.Module, x: torch.Tensor, target: Target = None,
                              max_sigma: float = 50.0, steps: int = 100, grad_step: float = 0.01,
                              sqrt: bool = False, batch_size: int = 4) -> torch.Tensor:
    """Blur IG: integrate gradients along the path of ever stronger blur.

    With :math:`\\sigma_i = i\\,\\sigma_{max}/T` (or its square root), the path point is
    :math:`x_i = \\text{blur}(x, \\sigma_i)`, its direction is estimated by a finite difference
    :math:`\\partial x/\\partial\\sigma \\approx (\\text{blur}(x, \\sigma_i + 0.01) - x_i)/0.01`,
    and :math:`\\text{attr} = -\\sum_i (\\sigma_{i+1} - \\sigma_i)\\,
    \\frac{\\partial x}{\\partial\\sigma} \\odot \\nabla y(x_i)` (minus: the path runs *from*
    the image). The blurring happens in the model's input space, in float64. Attributions add
    up to :math:`y(x) - y(\\text{blur}(x, \\sigma_{max}))` up to the discretisation error; no
    baseline image is needed.

    Xu, Venugopalan, Sundararajan, "Attribution in Scale and Space", CVPR 2020. Follows PAIR's
    ``saliency`` package (``core/blur_ig.py``; tested equal). Its batched form reuses one
    step's spacing for the whole batch — wrong for ``sqrt=True``; here every step keeps its own.

    Args:
        model, x, target: As in :func:`~xai_helpers.saliency`.
        max_sigma: The last blur's standard deviation, in pixels (50).
        steps: Steps on the path (100).
        grad_step: Step of the finite difference in :math:`\\sigma` (0.01).
        sqrt: Space the :math:`\\sigma_i` as square roots (more steps near the image).
        batch_size: Path points per forward + backward pass.

    Returns:
        (N, C, H, W) attributions in float64.

    Example:
        >>> attr = blur_integrated_gradients(model, x, 235, steps=32)   # doctest: +SKIP
        >>> attr.sum()        # about y(x) - y(gaussian_blur(x.double(), 50))
    """
    x = check_batch(x, model).detach().to(device_of(model))
    targets = class_ids(model, x, target).tolist()
    sigmas = [(i * max_sigma / steps) ** (0.5 if sqrt else 1.0) for i in range(steps + 1)]
    image = x.double()
    total = torch.zeros_like(image)
    dtype = next(model.parameters()).dtype
    for start in range(0, steps, batch_size):
        chunk = range(start, min(start + batch_size, steps))
        points = torch.cat([gaussian_blur(image, sigmas[i]) for i in chunk])
        directions = torch.cat([(gaussian_blur(image, sigmas[i] + grad_step)
                                 - gaussian_blur(image, sigmas[i])) / grad_step for i in chunk])
        grads = input_gradients(model, points.to(dtype), _expand_target(targets, len(chunk),
                                                                        interleave=False))
        spacing = torch.tensor([sigmas[i + 1] - sigmas[i] for i in chunk], dtype=torch.float64,
                               device=x.device).repeat_interleave(len(x)).view(-1, 1, 1, 1)
        total += (spacing * directions * grads.double()).view(len(chunk), *x.shape).sum(dim=0)
    return -total


def class_baselines(images: torch.Tensor, k: int = 3, how: str = "kmeans",
                    near: torch.Tensor | None = None, seed: int = 0) -> torch.Tensor:
    """Baselines from a *contrasting class*, as Enhanced IG chooses them.

    Args:
        images: Preprocessed images of the contrasting class (M, C, H, W).
        k: How many baselines.
        how: ``"kmeans"`` (the centroids of k-means in pixel space, scikit-learn with
            ``random_state=seed``), ``"nearest"`` (the k images closest to ``near``, in L2; the
            ``eig`` package's "close" baselines also skip the very closest one, against
            outliers) or ``"random"`` (k images drawn at random).
        near: The image to explain, for ``how="nearest"``.

    Returns:
        (k, C, H, W) baselines.

    Example:
        >>> cats = xh.preprocess(model, [path_1, path_2, path_3, path_4])   # doctest: +SKIP
        >>> baselines = class_baselines(cats, k=2, how="nearest", near=x[0])
    """
    if not 1 <= k <= len(images):
        raise ValueError(f"k must be between 1 and the number of images ({len(images)}), "
                         f"not {k}.")
    flat = images.detach().flatten(1)
    if how == "kmeans":
        from sklearn.cluster import KMeans

        centres = KMeans(k, random_state=seed, n_init=10).fit(flat.cpu().double().numpy())
        return torch.as_tensor(centres.cluster_centers_, dtype=images.dtype,
                               device=images.device).view(k, *images.shape[1:])
    if how == "nearest":
        if near is None:
            raise ValueError("how='nearest' needs the image to explain: near=x[0].")
        distances = (flat - near.detach().flatten()[None]).norm(dim=1)
        return images[distances.argsort()[:k]]
    if how == "random":
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
        return images[order[:k]]
    raise ValueError(f"how must be 'kmeans', 'nearest' or 'random', not {how!r}.")


def enhanced_integrated_gradients(model: torch.nn.Module, x: torch.Tensor,
                                  target: Target = None,
                                  baselines: torch.Tensor | float = 0.0, n_points: int = 250,
                                  aggregate: str = "median") -> torch.Tensor:
    """Enhanced IG: straight-line IG from several baselines, trapezoidal, then the median.

    For each baseline :math:`x'_b` the path integral is taken with the trapezoid rule over
    ``n_points`` points including both ends, :math:`\\sum_i \\tfrac12 (g_i + g_{i+1}) \\odot
    (p_{i+1} - p_i)` (the authors' ``np.trapz`` over the path), and the attributions of the
    baselines are combined by their median (or mean). Give baselines from a contrasting class
    (:func:`class_baselines`) to ask "why this class rather than that one?".

    Jha, Aicher, Gazzara, Singh, Barash, "Enhanced Integrated Gradients: improving
    interpretability of deep learning models using splicing codes as a case study", Genome
    Biology 21, 2020. What does not carry over to one photo is left out (module docstring).

    Args:
        baselines: (B, C, H, W) baselines, one image or a number.
        n_points: Path points, both ends included (the authors' default: 250).
        aggregate: ``"median"`` (the authors') or ``"mean"`` over the baselines.

    Returns:
        (N, C, H, W) attributions. Each baseline's attributions add up to
        :math:`y(x) - y(x'_b)` (up to the trapezoid rule's error); their median need not add up
        to any of these.

    Example:
        >>> attr = enhanced_integrated_gradients(model, x, 235, baselines,   # doctest: +SKIP
        ...                                      n_points=32)
    """
    if aggregate not in ("median", "mean"):
        raise ValueError(f"aggregate must be 'median' or 'mean', not {aggregate!r}.")
    x = check_batch(x, model).detach().to(device_of(model))
    baselines = torch.as_tensor(baselines, dtype=x.dtype, device=x.device)
    if baselines.ndim < x.ndim:
        baselines = baselines.expand(x.shape[1:])[None]
    per_baseline = torch.stack([
        integrated_gradients(model, x, target, baseline=baseline[None].expand_as(x),
                             n_steps=n_points, method="riemann_trapezoid")
        for baseline in baselines])
    return per_baseline.median(dim=0).values if aggregate == "median" \
        else per_baseline.mean(dim=0)
