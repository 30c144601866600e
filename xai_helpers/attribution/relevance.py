"""Layer-wise Relevance Propagation (LRP), written out rule by rule.

Bach, Binder, Montavon, Klauschen, Müller, Samek, "On Pixel-Wise Explanations for Non-Linear
Classifier Decisions by Layer-Wise Relevance Propagation", PLoS ONE 2015; rules as in
Montavon, Binder, Lapuschkin, Samek, Müller, "Layer-Wise Relevance Propagation: An Overview",
2019 (the ε, γ and :math:`z^\\mathcal{B}` rules, and the gradient trick used below).

The relevance of the explained output (its logit) is sent back layer by layer. For a linear
layer :math:`z_k = \\sum_j a_j w_{jk}` every rule has the same shape:

.. math::
    R_j = \\sum_k \\frac{a_j\\, \\rho(w_{jk})}{\\epsilon + \\sum_{j'} a_{j'} \\rho(w_{j'k})} R_k ,

- **ε-rule** (dense layers): :math:`\\rho(w) = w`, small :math:`\\epsilon` absorbs weak or
  contradictory contributions;
- **γ-rule** (convolutions): :math:`\\rho(w) = w + \\gamma w^+` favours positive contributions;
- :math:`z^\\mathcal{B}`-**rule** (first layer, inputs in [l, h]):
  :math:`R_i = \\sum_k \\frac{x_i w_{ik} - l_i w^+_{ik} - h_i w^-_{ik}}{\\sum_{i'} (\\ldots)} R_k`.

ReLUs pass relevance unchanged; max-pooling sends it to the maximum (its gradient). Each rule
is computed with the *gradient trick*: :math:`s = R / z` and :math:`c = \\rho(W)^\\top s` is the
gradient of :math:`\\langle z, s \\rangle` with respect to :math:`a`, so :math:`R = a \\odot c`.

Written for sequential networks (``nn.Sequential`` of Conv2d, Linear, ReLU, MaxPool2d,
Flatten, Dropout). For these it equals zennit's ``EpsilonGammaBox`` composite (tested).

Taught in ``notebooks/07_lrp.ipynb``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.inputs import check_batch
from ..core.modes import eval_mode
from ..core.targets import Target, class_ids

__all__ = ["stabilise", "epsilon_rule", "gamma_rule", "alpha_beta_rule", "zbox_rule", "lrp"]


def stabilise(z: torch.Tensor, epsilon: float) -> torch.Tensor:
    """:math:`z + \\epsilon\\,\\mathrm{sign}(z)` with sign(0) = +1: a safe denominator."""
    return z + epsilon * torch.where(z >= 0, 1.0, -1.0)


def _weight(layer: nn.Module) -> torch.Tensor:
    if not isinstance(layer, (nn.Conv2d, nn.Linear)):
        raise TypeError(f"LRP rules apply to Conv2d and Linear layers, not {type(layer).__name__}.")
    return layer.weight.detach()


def _apply(layer: nn.Module, a: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The layer's linear map with another weight tensor (no bias)."""
    if isinstance(layer, nn.Conv2d):
        return F.conv2d(a, weight, None, layer.stride, layer.padding, layer.dilation, layer.groups)
    return F.linear(a, weight)


def _transpose(layer: nn.Module, a: torch.Tensor, weight: torch.Tensor,
               s: torch.Tensor) -> torch.Tensor:
    """:math:`\\rho(W)^\\top s`, as the gradient of :math:`\\langle \\rho(W) a, s\\rangle`."""
    a = a.detach().requires_grad_(True)
    with torch.enable_grad():
        (c,) = torch.autograd.grad(_apply(layer, a, weight), a, grad_outputs=s)
    return c


def _bias(layer: nn.Module, z: torch.Tensor, rho=lambda b: b) -> torch.Tensor:
    if layer.bias is None:
        return torch.zeros_like(z)
    shape = (1, -1, 1, 1) if z.ndim == 4 else (1, -1)
    return rho(layer.bias).view(shape)


def epsilon_rule(layer: nn.Module, a: torch.Tensor, relevance: torch.Tensor,
                 epsilon: float = 1e-6) -> torch.Tensor:
    """ε-rule: :math:`R_j = a_j \\sum_k w_{jk} R_k / (z_k + \\epsilon\\,\\mathrm{sign}(z_k))`."""
    w = _weight(layer)
    z = _apply(layer, a, w)
    z = z + _bias(layer, z, lambda b: b.detach())
    return a * _transpose(layer, a, w, relevance / stabilise(z, epsilon))


def gamma_rule(layer: nn.Module, a: torch.Tensor, relevance: torch.Tensor, gamma: float = 0.25,
               epsilon: float = 1e-6) -> torch.Tensor:
    """γ-rule for non-negative inputs (after a ReLU): :math:`\\rho(w) = w + \\gamma w^+`.

    (zennit's generalised γ-rule also treats negative inputs and negative outputs; after a
    ReLU, and for units that receive relevance, the two coincide.)
    """
    w = _weight(layer)
    rho_w = w + gamma * w.clamp(min=0)
    z = _apply(layer, a, rho_w)
    z = z + _bias(layer, z, lambda b: (b + gamma * b.clamp(min=0)).detach())
    return a * _transpose(layer, a, rho_w, relevance / stabilise(z, epsilon))


def alpha_beta_rule(layer: nn.Module, a: torch.Tensor, relevance: torch.Tensor,
                    alpha: float = 1.0, beta: float = 0.0, epsilon: float = 1e-6) -> torch.Tensor:
    """α-β rule: positive and negative contributions redistributed separately.

    With :math:`z^+_{jk} = (a_j w_{jk})^+` and :math:`z^-_{jk} = (a_j w_{jk})^-` — written with
    the signs of inputs and weights, :math:`z^+ = a^+ w^+ + a^- w^-`, :math:`z^- = a^+ w^- +
    a^- w^+` — and the bias split the same way,

    .. math::
        R_j = \\sum_k \\Big(\\alpha \\frac{z^+_{jk}}{\\sum_{j'} z^+_{j'k} + b^+_k}
        - \\beta \\frac{z^-_{jk}}{\\sum_{j'} z^-_{j'k} + b^-_k}\\Big) R_k ,
        \\qquad \\alpha - \\beta = 1 .

    :math:`\\alpha = 1, \\beta = 0` keeps only positive evidence (it equals the :math:`z^+`
    rule); :math:`\\alpha = 2, \\beta = 1` also sends back negative relevance. Biases keep
    their share, so relevance is conserved exactly only without them. As zennit's
    ``AlphaBeta`` rule (tested equal), with the stabiliser :math:`\\epsilon\\,\\mathrm{sign}(z)`
    on each denominator.

    Bach et al., PLoS ONE 2015 (Eq. 60); Montavon et al., "Layer-Wise Relevance Propagation:
    An Overview", 2019.
    """
    if alpha < 0 or beta < 0 or abs(alpha - beta - 1) > 1e-12:
        raise ValueError(f"The α-β rule needs α, β >= 0 and α - β = 1; got α={alpha}, β={beta}.")
    w = _weight(layer)
    w_plus, w_minus = w.clamp(min=0), w.clamp(max=0)
    a_plus, a_minus = a.clamp(min=0), a.clamp(max=0)

    def part(a_first, w_first, a_second, w_second, keep_bias):
        z = _apply(layer, a_first, w_first) + _apply(layer, a_second, w_second)
        z = z + _bias(layer, z, lambda b: keep_bias(b).detach())
        s = relevance / stabilise(z, epsilon)
        return (a_first * _transpose(layer, a_first, w_first, s)
                + a_second * _transpose(layer, a_second, w_second, s))

    positive = part(a_plus, w_plus, a_minus, w_minus, lambda b: b.clamp(min=0))
    negative = part(a_plus, w_minus, a_minus, w_plus, lambda b: b.clamp(max=0))
    return alpha * positive - beta * negative


def zbox_rule(layer: nn.Module, x: torch.Tensor, relevance: torch.Tensor, low: float,
              high: float, epsilon: float = 1e-6) -> torch.Tensor:
    """:math:`z^\\mathcal{B}`-rule for the input layer, whose inputs lie in [low, high]."""
    w = _weight(layer)
    w_plus, w_minus = w.clamp(min=0), w.clamp(max=0)
    lows, highs = torch.full_like(x, low), torch.full_like(x, high)
    z = _apply(layer, x, w) - _apply(layer, lows, w_plus) - _apply(layer, highs, w_minus)
    s = relevance / stabilise(z, epsilon)
    return (x * _transpose(layer, x, w, s) - lows * _transpose(layer, lows, w_plus, s)
            - highs * _transpose(layer, highs, w_minus, s))


def lrp(model: nn.Sequential, x: torch.Tensor, target: Target, low: float = 0.0,
        high: float = 1.0, gamma: float = 0.25, epsilon: float = 1e-6, rule: str = "gamma",
        alpha: float = 1.0, beta: float = 0.0) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """LRP with a composite: :math:`z^\\mathcal{B}` for the first layer, γ (or α-β) for
    convolutions, ε for dense layers.

    Args:
        model: An ``nn.Sequential`` (eval mode).
        x: Input batch, values in [low, high].
        target: One class id, or one per image (``None``: each image's top class).
        low, high: Bounds of the input values, for the :math:`z^\\mathcal{B}`-rule.
        rule: The convolutions' rule: ``"gamma"`` (with ``gamma``) or ``"alpha_beta"`` (with
            ``alpha`` and ``beta``, e.g. 1 and 0, or 2 and 1).

    Returns:
        ``(relevance of x, relevances)`` where ``relevances[i]`` is the relevance of the input
        of layer ``i`` (``relevances[-1]``: the output, the target's logit on its unit), so the
        conservation :math:`\\sum R` can be checked layer by layer.
    """
    if rule not in ("gamma", "alpha_beta"):
        raise ValueError(f"rule must be 'gamma' or 'alpha_beta', not {rule!r}.")
    x = check_batch(x, model)
    target = class_ids(model, x, target).to(x.device)
    layers = list(model)
    activations = [x.detach()]
    with eval_mode(model), torch.no_grad():                # dropout off, BatchNorm untouched
        for layer in layers:
            activations.append(layer(activations[-1]))
    logits = activations[-1]
    relevance = torch.zeros_like(logits)
    relevance[torch.arange(len(target)), target] = logits[torch.arange(len(target)), target]
    relevances = [relevance]
    first = next(i for i, layer in enumerate(layers) if isinstance(layer, (nn.Conv2d, nn.Linear)))
    for i in reversed(range(len(layers))):
        layer, a = layers[i], activations[i]
        if i == first:
            relevance = zbox_rule(layer, a, relevance, low, high, epsilon)
        elif isinstance(layer, nn.Conv2d) and rule == "alpha_beta":
            relevance = alpha_beta_rule(layer, a, relevance, alpha, beta, epsilon)
        elif isinstance(layer, nn.Conv2d):
            relevance = gamma_rule(layer, a, relevance, gamma, epsilon)
        elif isinstance(layer, nn.Linear):
            relevance = epsilon_rule(layer, a, relevance, epsilon)
        elif isinstance(layer, nn.ReLU):
            pass                                          # relevance passes unchanged
        else:                                             # max-pool, flatten, dropout: gradient
            a = a.detach().requires_grad_(True)
            with torch.enable_grad():
                (relevance,) = torch.autograd.grad(layer(a), a, grad_outputs=relevance)
        relevances.insert(0, relevance)
    return relevance, relevances
