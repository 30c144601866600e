"""Guided Backpropagation and Guided Grad-CAM.

Guided backpropagation (Springenberg et al., "Striving for Simplicity: The All Convolutional
Net", ICLR workshop 2015, Sec. 3.4) changes only the *backward* rule of every ReLU: a gradient
passes where the forward input was positive (the normal ReLU rule) **and** where the gradient
itself is positive. The result is a sharp, pixel-level picture of edges the network responded to.
It is hardly class-specific; Guided Grad-CAM (Selvaraju et al., ICCV 2017, Sec. 3.1) multiplies
it with the upsampled Grad-CAM map to make it so.

The model is never modified: the guided rule runs on a deep copy whose ``nn.ReLU`` /
``nn.ReLU6`` modules are swapped for :class:`GuidedReLU`. Activations written as functions in
a model's ``forward`` (``F.relu(x)``) are not swapped; :func:`guided_copy` counts the swaps.

Taught in ``notebooks/03_guided_grad_cam.ipynb``.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from ..cam.gradient import GradCAM
from ..core.config import device_of
from ..core.inputs import check_batch
from ..core.layers import LayerRef
from ..core.targets import Target, select_scores

__all__ = ["GuidedReLUFunction", "GuidedReLU", "guided_copy", "guided_backprop",
           "guided_grad_cam", "deprocess_gradients"]


class GuidedReLUFunction(torch.autograd.Function):
    """ReLU (or ReLU6 with ``upper=6``) forward; guided rule backward.

    Backward: :math:`\\frac{\\partial L}{\\partial x} = [x > 0]\\,[x < \\text{upper}]\\,
    [g > 0]\\; g` where :math:`g` is the incoming gradient.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, upper: float | None) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.upper = upper
        return x.clamp(min=0) if upper is None else x.clamp(0, upper)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        passes = (x > 0) & (grad > 0)
        if ctx.upper is not None:
            passes &= x < ctx.upper
        return torch.where(passes, grad, 0.0), None


class GuidedReLU(nn.Module):
    """A ReLU / ReLU6 module that backpropagates with the guided rule."""

    def __init__(self, upper: float | None = None):
        super().__init__()
        self.upper = upper

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return GuidedReLUFunction.apply(x, self.upper)

    def extra_repr(self) -> str:
        return f"upper={self.upper}"


def guided_copy(model: nn.Module) -> tuple[nn.Module, int]:
    """A deep copy of ``model`` (eval mode) with every ``nn.ReLU``/``nn.ReLU6`` made guided.

    Returns:
        ``(copy, number_of_modules_swapped)``. A module used at several places is swapped once
        and stays shared (EfficientNet-Lite0: 18 ReLU6 modules at 33 call sites — each block
        from the second on calls its ``_swish`` after the expansion and after the depthwise
        convolution); that is fine because the guided rule keeps no state between calls.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU(inplace=True))
        >>> guided, swapped = guided_copy(net)
        >>> swapped, type(guided[1]).__name__, type(net[1]).__name__
        (1, 'GuidedReLU', 'ReLU')
    """
    guided = copy.deepcopy(model).eval()
    swapped = 0
    for parent in list(guided.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.ReLU:
                setattr(parent, name, GuidedReLU())
                swapped += 1
            elif type(child) is nn.ReLU6:
                setattr(parent, name, GuidedReLU(upper=6.0))
                swapped += 1
    return guided, swapped


def guided_backprop(model: nn.Module, x: torch.Tensor, target: Target = None) -> torch.Tensor:
    """Guided-backprop gradient of the target score with respect to the input.

    Args:
        model: The classifier (left unchanged).
        x: Preprocessed batch (N, 3, H, W).
        target: See :data:`xai_helpers.core.targets.Target`.

    Returns:
        A (N, 3, H, W) tensor, the input's shape (use :func:`deprocess_gradients` to show it).

    Example:
        >>> g = guided_backprop(model, x, target=281)   # doctest: +SKIP
    """
    guided, swapped = guided_copy(model)
    if swapped == 0:
        raise ValueError(f"{type(model).__name__} has no nn.ReLU / nn.ReLU6 modules to guide; "
                         "guided backprop would equal the plain gradient.")
    x = check_batch(x, model).detach().to(device_of(model)).requires_grad_(True)
    with torch.enable_grad():
        scores, _ = select_scores(guided(x), target)
        (grad,) = torch.autograd.grad(scores.sum(), x)
    return grad


def guided_grad_cam(model: nn.Module, x: torch.Tensor, target: Target = None,
                    layer: LayerRef | None = None) -> torch.Tensor:
    """Guided Grad-CAM: guided backprop times the upsampled Grad-CAM map, per pixel.

    Returns:
        A (N, 3, H, W) tensor.
    """
    cam = GradCAM(model, layer)(x, target)                  # (N, H, W) in [0, 1]
    return guided_backprop(model, x, target) * cam[:, None]


def deprocess_gradients(grads: torch.Tensor) -> torch.Tensor:
    """Make an input-shaped gradient viewable: standardise each image, scale to mean 0.5 and
    standard deviation 0.1, clip to [0, 1] (the convention of pytorch-grad-cam's
    ``deprocess_image``, from its author's Keras Grad-CAM; per image, so brightness is not
    comparable between images).

    Args:
        grads: (N, 3, H, W) or (3, H, W).

    Returns:
        Same shape, values in [0, 1], ready for :func:`xai_helpers.show_image`.

    Example:
        >>> out = deprocess_gradients(torch.randn(3, 8, 8))
        >>> 0.0 <= float(out.min()) and float(out.max()) <= 1.0
        True
    """
    dims = tuple(range(grads.ndim - 3, grads.ndim))
    centred = grads - grads.mean(dim=dims, keepdim=True)
    scaled = centred / (centred.std(dim=dims, keepdim=True, unbiased=False) + 1e-5)
    return (scaled * 0.1 + 0.5).clamp(0.0, 1.0)
