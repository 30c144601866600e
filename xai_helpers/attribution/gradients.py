"""Gradient attributions on the input: saliency, SmoothGrad (and its variants), Integrated
Gradients and GradientSHAP.

All three explain a target score :math:`y^c` with the gradient :math:`\\partial y^c/\\partial x`
of that score with respect to the input pixels, so the attribution has the input's shape
(N, 3, H, W), like captum's. To draw one as a heatmap, collapse the colour channels with
:func:`collapse_channels`.

- **Saliency** (Simonyan, Vedaldi, Zisserman, "Deep Inside Convolutional Networks", ICLR
  workshop 2014): :math:`|\\partial y^c / \\partial x|`.
- **SmoothGrad** (Smilkov et al., "SmoothGrad: removing noise by adding noise", 2017): average
  the saliency of :math:`n` noisy copies :math:`x + \\mathcal{N}(0, \\sigma^2)`.
  **SmoothGrad²** (Hooker et al., "A Benchmark for Interpretability Methods in Deep Neural
  Networks", NeurIPS 2019) averages the *squares* of the noisy attributions (not the square of
  their mean); **VarGrad** (Adebayo et al., "Local Explanation Methods for Deep Neural Networks
  Lack Sensitivity to Parameter Values", arXiv:1810.03307, 2018) takes their variance.
  :func:`noise_tunnel` applies the three to any attribution (captum's ``NoiseTunnel``).
- **Integrated Gradients** (Sundararajan, Taly, Yan, "Axiomatic Attribution for Deep
  Networks", ICML 2017, Eq. 1): :math:`(x - x') \\odot \\int_0^1 \\partial y^c(x' + \\alpha(x -
  x'))/\\partial x \\, d\\alpha`; its sum equals :math:`y^c(x) - y^c(x')` (completeness), up
  to the error of the quadrature. Other paths and baselines (Guided IG, Blur IG, Enhanced IG)
  are in ``paths.py``.
- **GradientSHAP** (Lundberg & Lee, "A Unified Approach to Interpreting Model Predictions",
  NeurIPS 2017; captum's ``GradientShap``): the expectation of :math:`(x - x') \\odot
  \\partial y^c(x' + \\alpha (x - x'))/\\partial x` over random baselines :math:`x'`, random
  :math:`\\alpha \\sim U(0, 1)` and noise on :math:`x`.

Taught in ``notebooks/04_captum_occlusion_and_gradients.ipynb``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..core.batching import best_batch_size
from ..core.config import device_of
from ..core.inputs import check_batch
from ..core.modes import eval_mode
from ..core.targets import Target, class_ids, select_scores

__all__ = ["input_gradients", "saliency", "smoothgrad", "noise_tunnel", "integrated_gradients",
           "gradient_shap", "convergence_delta", "collapse_channels"]


def input_gradients(model: torch.nn.Module, x: torch.Tensor,
                    target: Target = None) -> torch.Tensor:
    """:math:`\\partial y^c / \\partial x` for every image of the batch, shape (N, 3, H, W).

    The images are independent (the model runs in eval mode), so one backward pass of the
    summed scores gives every image's own gradient.

    Example:
        >>> grads = input_gradients(model, x, target=235)          # doctest: +SKIP
        >>> grads.shape                                              # signed, like x
        torch.Size([1, 3, 224, 224])
    """
    x = check_batch(x, model).detach().to(device_of(model)).requires_grad_(True)
    with eval_mode(model), torch.enable_grad():
        scores, _ = select_scores(model(x), target)
        (grads,) = torch.autograd.grad(scores.sum(), x)
    return grads


def saliency(model: torch.nn.Module, x: torch.Tensor, target: Target = None) -> torch.Tensor:
    """Vanilla saliency :math:`|\\partial y^c / \\partial x|` (captum's ``Saliency``).

    Example:
        >>> attr = saliency(model, x, target=235)                 # doctest: +SKIP
        >>> heat = collapse_channels(attr)                        # (N, H, W), max over RGB
    """
    return input_gradients(model, x, target).abs()


def smoothgrad(model: torch.nn.Module, x: torch.Tensor, target: Target = None,
               n_samples: int = 25, sigma: float = 0.15, kind: str = "smoothgrad",
               absolute: bool = True) -> torch.Tensor:
    """SmoothGrad: the saliency averaged over noisy copies of each image.

    Args:
        model, x, target: As in :func:`saliency`.
        n_samples: Noisy copies per image.
        sigma: Noise standard deviation, in the units of ``x`` (normalised inputs). The paper
            suggests 10–20% of the input range: EfficientNet inputs span 2, so 0.2–0.4 (the
            default 0.15 is a lighter 7.5 %).
        kind: ``"smoothgrad"`` (mean), ``"smoothgrad_sq"`` (mean of squares — not the square
            of the mean) or ``"vargrad"`` (variance), the three of captum's ``NoiseTunnel``.
        absolute: Combine :math:`|g|` (saliency, as captum's ``Saliency``) or signed :math:`g`.
            VarGrad as its paper defines it is the variance of the signed gradients:
            ``kind="vargrad", absolute=False``; with ``absolute=True`` it is the variance of
            :math:`|g|` (captum's ``NoiseTunnel(Saliency)`` with ``abs=True``).

    The noise is drawn as captum's ``NoiseTunnel`` draws it, so after the same
    ``torch.manual_seed`` the two give the same result.

    Example:
        >>> torch.manual_seed(0)                                    # doctest: +SKIP
        >>> attr = smoothgrad(model, x, 235, n_samples=25, sigma=0.3)
        >>> heat = collapse_channels(attr)                          # (N, H, W)
    """
    return noise_tunnel(saliency if absolute else input_gradients, model, x, target,
                        n_samples=n_samples, sigma=sigma, kind=kind)


def noise_tunnel(attribute: Callable, model: torch.nn.Module, x: torch.Tensor,
                 target: Target = None, n_samples: int = 10, sigma: float = 0.15,
                 kind: str = "smoothgrad", **settings) -> torch.Tensor:
    """Any attribution averaged over noisy copies of the input (captum's ``NoiseTunnel``).

    ``attribute(model, noisy_x, targets, **settings)`` runs on all ``n_samples`` copies of
    every image at once (targets repeated per copy; ``None`` means each clean image's top
    class); ``kind`` is ``"smoothgrad"`` (mean, Smilkov et al. 2017), ``"smoothgrad_sq"`` (mean
    of the squares — not the square of the mean; Hooker et al. 2019) or ``"vargrad"``
    (variance, Adebayo et al. 2018). ``sigma`` is the noise's standard deviation in the units
    of ``x``. The noise is drawn as captum draws it (one ``torch.normal`` call for all copies),
    so after the same ``torch.manual_seed`` the two agree (over Integrated Gradients:
    ``tests/attribution/test_paths.py``).

    Example:
        >>> attr = noise_tunnel(integrated_gradients, model, x, 235, n_samples=4,
        ...                     n_steps=16)                             # doctest: +SKIP
    """
    if kind not in ("smoothgrad", "smoothgrad_sq", "vargrad"):
        raise ValueError(f"kind must be 'smoothgrad', 'smoothgrad_sq' or 'vargrad', "
                         f"not {kind!r}.")
    x = check_batch(x, model).detach().to(device_of(model))
    n = len(x)
    targets = target if callable(target) else class_ids(model, x, target).tolist()
    repeated = x.repeat_interleave(n_samples, dim=0)
    noisy = repeated + torch.normal(0.0, torch.full(repeated.shape, float(sigma),
                                                    device=x.device))
    attr = attribute(model, noisy, _expand_target(targets, n_samples, interleave=True),
                     **settings)
    attr = attr.view(n, n_samples, *attr.shape[1:])
    if kind == "smoothgrad":
        return attr.mean(dim=1)
    squares = (attr ** 2).mean(dim=1)
    return squares if kind == "smoothgrad_sq" else squares - attr.mean(dim=1) ** 2


def _resolve_target(model: torch.nn.Module, x: torch.Tensor, target: Target) -> Target:
    """Validated class ids, one per image; ``None`` becomes each clean image's top class: noisy
    copies and path points must explain the class of the image itself, not whatever they happen
    to look like. A target function is kept as it is."""
    return target if callable(target) else class_ids(model, x, target).tolist()


def _expand_target(target: Target, times: int, interleave: bool) -> Target:
    """Repeat per-image targets for ``times`` copies of the batch: ``[a, a, b, b]``
    (interleave, copies of one image together) or ``[a, b, a, b]`` (whole batch repeated)."""
    if callable(target) or isinstance(target, int):
        return target
    ids = torch.as_tensor(target).flatten()
    return (ids.repeat_interleave(times) if interleave else ids.repeat(times)).tolist()


def _quadrature(n_steps: int, method: str) -> tuple[list[float], list[float]]:
    """Points :math:`\\alpha_k` in [0, 1] and weights :math:`w_k` with
    :math:`\\int_0^1 f \\approx \\sum_k w_k f(\\alpha_k)`."""
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)   # on [-1, 1]
        return (0.5 * (nodes + 1)).tolist(), (0.5 * weights).tolist()
    if method == "riemann_trapezoid":
        alphas = np.linspace(0, 1, n_steps)
        weights = np.full(n_steps, 1 / (n_steps - 1))
        weights[[0, -1]] /= 2
        return alphas.tolist(), weights.tolist()
    offsets = {"riemann_left": 0.0, "riemann_middle": 0.5, "riemann_right": 1.0}
    if method not in offsets:
        raise ValueError(f"Unknown method {method!r}: use 'gausslegendre', 'riemann_trapezoid', "
                         "'riemann_left', 'riemann_middle' or 'riemann_right'.")
    return [(k + offsets[method]) / n_steps for k in range(n_steps)], [1 / n_steps] * n_steps


def integrated_gradients(model: torch.nn.Module, x: torch.Tensor, target: Target = None,
                         baseline: torch.Tensor | float = 0.0, n_steps: int = 50,
                         method: str = "gausslegendre", batch_size: int | None = None
                         ) -> torch.Tensor:
    """Integrated Gradients along the straight path from ``baseline`` to ``x``.

    Args:
        model, x, target: As in :func:`saliency`.
        baseline: The "absence of signal" :math:`x'`, a tensor shaped like ``x`` (or one
            image) or a number, **in the same (normalised) space as x**. 0 here means a grey
            picture for EfficientNet (pixel 0.5); a black picture is
            ``preprocessing(black_image)``.
        n_steps: Points on the path (captum's default: 50).
        method: Quadrature rule; ``"gausslegendre"`` is captum's default.
        batch_size: Path points per forward/backward pass (``None``: as many as fill the batch
            size measured for this model and machine, :func:`~xai_helpers.best_batch_size`).

    Returns:
        (N, 3, H, W). Multiplying the averaged gradient by :math:`(x - x')` is what makes the
        attributions add up to :math:`y^c(x) - y^c(x')` (see :func:`convergence_delta`).

    Example:
        >>> black = torch.full_like(x, -1.0)                 # doctest: +SKIP
        >>> attr = integrated_gradients(model, x, 235, baseline=black, n_steps=50)
        >>> convergence_delta(model, attr, x, 235, black)    # small: completeness
    """
    x = check_batch(x, model).detach().to(device_of(model))
    baseline = torch.as_tensor(baseline, dtype=x.dtype, device=x.device).expand_as(x)
    alphas, weights = _quadrature(n_steps, method)
    target = _resolve_target(model, x, target)
    total = torch.zeros_like(x)
    if batch_size is None:
        batch_size = max(1, best_batch_size(model, example=x[:1]) // len(x))
    for start in range(0, n_steps, batch_size):
        chunk = alphas[start:start + batch_size]
        path = torch.cat([baseline + a * (x - baseline) for a in chunk])  # (len(chunk)*N, ...)
        chunk_target = _expand_target(target, len(chunk), interleave=False)
        grads = input_gradients(model, path, chunk_target).view(len(chunk), *x.shape)
        step = torch.tensor(weights[start:start + batch_size], device=x.device)
        total += (grads * step.view(-1, *([1] * x.ndim))).sum(dim=0)
    return (x - baseline) * total


def gradient_shap(model: torch.nn.Module, x: torch.Tensor, target: Target = None,
                  baselines: torch.Tensor | float = 0.0, n_samples: int = 5,
                  stdevs: float = 0.0) -> torch.Tensor:
    """GradientSHAP: Integrated Gradients' terms at random points, from random baselines.

    For each image, ``n_samples`` times: draw a baseline :math:`x'` from ``baselines``, add
    noise :math:`\\varepsilon \\sim \\mathcal N(0, \\text{stdevs}^2)` to the image, draw
    :math:`\\alpha \\sim U(0, 1)`, and take :math:`(\\tilde x - x') \\odot \\nabla y^c(x' +
    \\alpha(\\tilde x - x'))` with :math:`\\tilde x = x + \\varepsilon`. The attribution is
    the mean over the samples: a Monte-Carlo estimate of IG averaged over the baselines.

    Args:
        model, x, target: As in :func:`saliency`.
        baselines: A distribution of baselines (B, 3, H, W), one image (3, H, W) or a
            number, in the space of ``x``.
        n_samples: Samples per image.
        stdevs: Standard deviation of the noise added to ``x`` (captum's ``stdevs``).

    The random draws are made as captum's ``GradientShap`` makes them (baseline indices and
    :math:`\\alpha` from NumPy's global generator, the noise from torch's), so after
    ``np.random.seed(s); torch.manual_seed(s)`` the two give the same attributions.

    Example:
        >>> grey, black = torch.zeros(3, 224, 224), torch.full((3, 224, 224), -1.0)
        >>> attr = gradient_shap(model, x, 235, torch.stack([grey, black]))   # doctest: +SKIP
    """
    x = check_batch(x, model).detach().to(device_of(model))
    baselines = torch.as_tensor(baselines, dtype=x.dtype, device=x.device)
    if baselines.ndim < x.ndim:
        baselines = baselines.expand(x.shape[1:])[None]
    if baselines.shape[1:] != x.shape[1:]:
        raise ValueError(f"baselines must be (B, {', '.join(map(str, x.shape[1:]))}) like one "
                         f"image of x, got {tuple(baselines.shape)}.")
    n = x.shape[0]
    target = _expand_target(_resolve_target(model, x, target), n_samples, interleave=True)
    chosen = baselines[np.random.choice(len(baselines), n * n_samples).tolist()]
    repeated = x.repeat_interleave(n_samples, dim=0)
    noisy = repeated + torch.normal(0.0, torch.full(repeated.shape, float(stdevs),
                                                    device=x.device))
    alphas = torch.tensor(np.random.uniform(0.0, 1.0, n * n_samples), dtype=x.dtype,
                          device=x.device).view(-1, *([1] * (x.ndim - 1)))
    grads = input_gradients(model, alphas * noisy + (1 - alphas) * chosen, target)
    return ((noisy - chosen) * grads).view(n, n_samples, *x.shape[1:]).mean(dim=1)


def convergence_delta(model: torch.nn.Module, attributions: torch.Tensor, x: torch.Tensor,
                      target: Target, baseline: torch.Tensor | float = 0.0) -> torch.Tensor:
    """Completeness check for Integrated Gradients, per image:
    :math:`\\sum \\text{attr} - (y^c(x) - y^c(x'))` (0 for the exact integral; captum's
    ``return_convergence_delta=True`` gives the same number).

    Example:
        >>> attr = integrated_gradients(model, x, 235)                 # doctest: +SKIP
        >>> convergence_delta(model, attr, x, 235)                      # tensor([...]), per image
    """
    x = check_batch(x, model).detach().to(device_of(model))
    baseline = torch.as_tensor(baseline, dtype=x.dtype, device=x.device).expand_as(x)
    with eval_mode(model), torch.no_grad():
        at_x, _ = select_scores(model(x), target)
        at_baseline, _ = select_scores(model(baseline), target)
    return attributions.flatten(1).sum(dim=1) - (at_x - at_baseline)


def collapse_channels(attr: torch.Tensor, how: str = "max_abs") -> torch.Tensor:
    """An (N, 3, H, W) attribution as an (N, H, W) heatmap.

    Args:
        how: ``"max_abs"`` (max of :math:`|a|` over RGB, the saliency-map convention),
            ``"sum"`` (signed sum, keeps positive and negative evidence) or ``"sum_abs"``.

    Example:
        >>> collapse_channels(torch.tensor([[[[1.0]], [[-3.0]], [[2.0]]]])).item()
        3.0
    """
    if how == "max_abs":
        return attr.abs().amax(dim=-3)
    if how == "sum":
        return attr.sum(dim=-3)
    if how == "sum_abs":
        return attr.abs().sum(dim=-3)
    raise ValueError(f"how must be 'max_abs', 'sum' or 'sum_abs', not {how!r}.")
