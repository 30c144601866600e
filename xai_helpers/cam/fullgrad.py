"""FullGrad: the input gradient *and* every bias's share of the score, drawn together.

A ReLU network with biases is piecewise linear: :math:`y^c(x) = \\nabla_x y^c \\cdot x +
\\sum_{b} \\nabla_b y^c \\cdot b` (the *full-gradient* decomposition, exact: tested). Gradient
maps show only the first term; FullGrad adds the second, spatially: for every layer with a
bias (a convolution or a BatchNorm), the map :math:`|b_c \\cdot \\partial y^c / \\partial h_c|`
of each channel :math:`c` of its output :math:`h`.

.. math::
    S = \\psi\\big(|x \\odot \\nabla_x y^c|\\big) + \\sum_{l} \\sum_{c} \\psi\\big(|b^l_c
    \\cdot \\partial y^c/\\partial h^l_c|\\big),

where :math:`\\psi` min-max scales one channel's map and upsamples it to the input.

Srinivas & Fleuret, "Full-Gradient Representation for Neural Network Visualization",
NeurIPS 2019. As in pytorch-grad-cam (tested equal): the biases of every ``nn.Conv2d`` and
``nn.BatchNorm2d`` (a BatchNorm's in eval mode is :math:`\\beta - \\mu\\gamma/\\sqrt{\\sigma^2 +
\\epsilon}`), each input channel and each bias channel normalised on its own, everything
summed and normalised once more. Dense layers' biases have no spatial map and are left out.

Taught in ``notebooks/02_grad_cam_internals.ipynb``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.hooks import LayerRecorder
from ..core.layers import LayerRef
from ..core.modes import eval_mode
from ..core.targets import Target, select_scores
from .base import BaseCAM

__all__ = ["FullGrad", "bias_layers", "effective_bias"]


def bias_layers(model: nn.Module) -> list[str]:
    """Names of the layers whose bias FullGrad maps: convolutions with a bias, BatchNorms."""
    return [name for name, m in model.named_modules()
            if (isinstance(m, nn.Conv2d) and m.bias is not None)
            or (isinstance(m, nn.BatchNorm2d) and m.bias is not None)]


def effective_bias(module: nn.Module) -> torch.Tensor:
    """The constant a layer adds per output channel: a convolution's bias, or a BatchNorm's
    :math:`\\beta - \\mu\\,\\gamma / \\sqrt{\\sigma^2 + \\epsilon}` (eval mode).

    Example:
        >>> bn = nn.BatchNorm2d(2).eval()
        >>> effective_bias(bn).tolist()
        [0.0, 0.0]
    """
    if isinstance(module, nn.BatchNorm2d):
        scale = module.weight / torch.sqrt(module.running_var + module.eps)
        return (module.bias - module.running_mean * scale).detach()
    return module.bias.detach()


def _scale(maps: torch.Tensor) -> torch.Tensor:
    """pytorch-grad-cam's per-map scaling: ``(m - min) / (max(m - min) + 1e-7)``."""
    shifted = maps - maps.flatten(-2).amin(-1)[..., None, None]
    return shifted / (shifted.flatten(-2).amax(-1)[..., None, None] + 1e-7)


class FullGrad(BaseCAM):
    """FullGrad (see the module docstring). ``layer`` is ignored: every bias layer counts.

    Example:
        >>> maps = FullGrad(model)(x, target=235)          # doctest: +SKIP
    """

    display_name = "FullGrad"

    def __init__(self, model: nn.Module, layer: LayerRef | None = None):
        self.model = model
        # a network without biases has only the input term: y = grad_x y . x exactly
        self.layers = bias_layers(model)
        self.current_layer = self.layers[0] if self.layers else None
        self.logits = self.classes = None

    def __repr__(self) -> str:
        return f"FullGrad({len(self.layers)} bias layers)"

    def _raw_maps(self, x: torch.Tensor, target: Target,
                  eigen_smooth: bool = False) -> list[torch.Tensor]:
        size = tuple(x.shape[-2:])
        with eval_mode(self.model), LayerRecorder(self.model, self.layers,
                                                  gradients=True) as recorder:
            with torch.enable_grad():
                x = x.detach().requires_grad_(True)
                logits = self.model(x)
                scores, self.classes = select_scores(logits, target)
                (input_grad,) = torch.autograd.grad(scores.sum(), x)
        self.logits = logits.detach()
        total = _scale((input_grad * x).abs().detach()).sum(dim=1)             # (N, H, W)
        modules = dict(self.model.named_modules())
        for name in self.layers:
            bias = effective_bias(modules[name])
            # each channel scaled on its own, then summed; upsampling is linear, so summing the
            # layer's channels first and upsampling once gives the same map, much faster
            term = _scale((bias[None, :, None, None] * recorder.gradients[name]).abs()).sum(dim=1)
            if tuple(term.shape[-2:]) != size:
                term = F.interpolate(term[:, None], size=size, mode="bilinear",
                                     align_corners=False)[:, 0]
            total = total + term
        return [total]
