"""Gradient-weighted CAM methods: each one weighs the feature map A by the gradient of the class
score, :math:`g = \\partial y^c / \\partial A`, in its own way (one small function each).

Taught in ``notebooks/02_grad_cam_internals.ipynb``.
"""
from __future__ import annotations

import torch

from .activation import first_component
from .base import BaseCAM

__all__ = ["GradCAM", "GradCAMPlusPlus", "XGradCAM", "HiResCAM", "GradCAMElementWise",
           "LayerCAM", "EigenGradCAM"]


class GradCAM(BaseCAM):
    """Grad-CAM: channel weight = spatial mean of the gradient.

    :math:`w^c_k = \\frac{1}{hw}\\sum_{i,j} \\partial y^c / \\partial A_{k,ij}`,
    :math:`L^c = \\mathrm{ReLU}(\\sum_k w^c_k A_k)`.

    Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
    Localization", ICCV 2017, Eq. 1 and 2.
    """

    display_name = "Grad-CAM"

    def channel_weights(self, A, grads, *, x, classes, target):
        return grads.mean(dim=(2, 3))


class GradCAMPlusPlus(BaseCAM):
    """Grad-CAM++: positive gradients weighted per position by :math:`\\alpha`.

    :math:`\\alpha_{ij} = \\frac{g_{ij}^2}{2 g_{ij}^2 + \\sum_{ab} A_{ab}\\, g_{ij}^3}`,
    :math:`w_k = \\sum_{ij} \\alpha_{ij}\\, \\mathrm{ReLU}(g_{ij})` with :math:`g = \\partial y^c /
    \\partial A_k` (the closed form for an exponential score).

    Chattopadhyay et al., "Grad-CAM++: Improved Visual Explanations for Deep Convolutional
    Networks", WACV 2018, Eq. 19.
    """

    display_name = "Grad-CAM++"

    def channel_weights(self, A, grads, *, x, classes, target):
        g2 = grads ** 2
        alpha = g2 / (2 * g2 + A.sum(dim=(2, 3), keepdim=True) * g2 * grads + 1e-6)
        alpha = torch.where(grads != 0, alpha, torch.zeros_like(alpha))
        return (alpha * torch.relu(grads)).sum(dim=(2, 3))


class XGradCAM(BaseCAM):
    """XGrad-CAM: gradients averaged with the activations as weights.

    :math:`w_k = \\sum_{ij} \\frac{A_{k,ij}}{\\sum_{ab} A_{k,ab}}
    \\frac{\\partial y^c}{\\partial A_{k,ij}}`.

    Fu et al., "Axiom-based Grad-CAM: Towards Accurate Visualization and Explanation of CNNs",
    BMVC 2020.
    """

    display_name = "XGrad-CAM"

    def channel_weights(self, A, grads, *, x, classes, target):
        return (grads * A / (A.sum(dim=(2, 3), keepdim=True) + 1e-7)).sum(dim=(2, 3))


class HiResCAM(BaseCAM):
    """HiResCAM: gradient times activation at every position, summed over channels.

    :math:`L^c = \\sum_k \\frac{\\partial y^c}{\\partial A_k} \\odot A_k` (no spatial averaging,
    so the map shows exactly which positions raised the score).

    Draelos & Carin, "Use HiResCAM instead of Grad-CAM for faithful explanations of
    convolutional neural networks", arXiv:2011.08891, 2020.
    """

    display_name = "HiResCAM"

    def cam_image(self, A, grads, *, x, classes, target):
        return (grads * A).sum(dim=1)


class GradCAMElementWise(BaseCAM):
    """Grad-CAM-ElementWise: like HiResCAM, but the ReLU is applied per channel and position.

    :math:`L^c = \\sum_k \\mathrm{ReLU}(\\partial y^c / \\partial A_k \\odot A_k)`
    (the variant in pytorch-grad-cam, after Draelos & Carin 2020).
    """

    display_name = "Grad-CAM-ElementWise"

    def cam_image(self, A, grads, *, x, classes, target):
        return torch.relu(grads * A).sum(dim=1)


class LayerCAM(BaseCAM):
    """LayerCAM: every position weighted by its own positive gradient.

    :math:`L^c = \\mathrm{ReLU}\\big(\\sum_k \\mathrm{ReLU}(\\partial y^c / \\partial A_k)
    \\odot A_k\\big)`;
    works on shallow layers too, where Grad-CAM's averaged weights fail.

    Jiang et al., "LayerCAM: Exploring Hierarchical Class Activation Maps for Localization",
    IEEE Transactions on Image Processing 30, 2021.
    """

    display_name = "LayerCAM"

    def cam_image(self, A, grads, *, x, classes, target):
        return (torch.relu(grads) * A).sum(dim=1)


class EigenGradCAM(BaseCAM):
    """EigenGrad-CAM: Eigen-CAM on gradient × activation, so it follows the class
    (the variant in pytorch-grad-cam)."""

    display_name = "EigenGrad-CAM"

    def cam_image(self, A, grads, *, x, classes, target):
        weighted = grads * A
        return first_component(weighted, weighted.sum(dim=1))
