"""Gradient-weighted CAM methods: each one weighs the feature map A by the gradient of the class
score, :math:`g = \\partial y^c / \\partial A`, in its own way (one small function each).

Taught in ``notebooks/02_grad_cam_internals.ipynb``.
"""
from __future__ import annotations

import torch

from ..core.layers import LayerRef
from ..core.models import model_spec
from .base import BaseCAM, first_component

__all__ = ["GradCAM", "GradCAMPlusPlus", "plus_plus_weights", "XGradCAM", "HiResCAM",
           "GradCAMElementWise", "LayerCAM", "EigenGradCAM", "SmoothGradCAMPlusPlus",
           "IntegratedGradCAM"]


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

    Chattopadhay, Sarkar, Howlader, Balasubramanian, "Grad-CAM++: Generalized Gradient-based
    Visual Explanations for Deep Convolutional Networks", WACV 2018, Eq. 19 (arXiv:1710.11063,
    first titled "Grad-CAM++: Improved Visual Explanations for Deep Convolutional Networks").
    """

    display_name = "Grad-CAM++"

    def channel_weights(self, A, grads, *, x, classes, target):
        return plus_plus_weights(grads, grads ** 2, grads ** 3, A)


def plus_plus_weights(d1: torch.Tensor, d2: torch.Tensor, d3: torch.Tensor,
                      A: torch.Tensor) -> torch.Tensor:
    """Grad-CAM++'s channel weights from the first three powers of the gradient (or their
    averages): :math:`\\alpha = D^2 / (2 D^2 + \\sum_{ab} A_{ab}\\, D^3)` where the gradient is
    non-zero, then :math:`w_k = \\sum_{ij} \\alpha_{ij}\\,\\mathrm{ReLU}(D^1_{ij})`."""
    alpha = d2 / (2 * d2 + A.sum(dim=(2, 3), keepdim=True) * d3 + 1e-6)
    alpha = torch.where(d1 != 0, alpha, torch.zeros_like(alpha))
    return (alpha * torch.relu(d1)).sum(dim=(2, 3))


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

    def weighted_activations(self, A, grads, *, x, classes, target):
        return grads * A


class GradCAMElementWise(BaseCAM):
    """Grad-CAM-ElementWise: like HiResCAM, but the ReLU is applied per channel and position.

    :math:`L^c = \\sum_k \\mathrm{ReLU}(\\partial y^c / \\partial A_k \\odot A_k)`
    (the variant in pytorch-grad-cam, after Draelos & Carin 2020).
    """

    display_name = "Grad-CAM-ElementWise"

    def weighted_activations(self, A, grads, *, x, classes, target):
        return torch.relu(grads * A)


class LayerCAM(BaseCAM):
    """LayerCAM: every position weighted by its own positive gradient.

    :math:`L^c = \\mathrm{ReLU}\\big(\\sum_k \\mathrm{ReLU}(\\partial y^c / \\partial A_k)
    \\odot A_k\\big)`;
    works on shallow layers too, where Grad-CAM's averaged weights fail.

    Jiang et al., "LayerCAM: Exploring Hierarchical Class Activation Maps for Localization",
    IEEE Transactions on Image Processing 30, 2021.
    """

    display_name = "LayerCAM"

    def weighted_activations(self, A, grads, *, x, classes, target):
        return torch.relu(grads) * A


class EigenGradCAM(BaseCAM):
    """EigenGrad-CAM: Eigen-CAM on gradient × activation, so it follows the class
    (the variant in pytorch-grad-cam)."""

    display_name = "EigenGrad-CAM"

    def cam_image(self, A, grads, *, x, classes, target, eigen_smooth=False):
        weighted = grads * A
        return first_component(weighted, weighted.sum(dim=1))


class SmoothGradCAMPlusPlus(BaseCAM):
    """SmoothGrad-CAM++: Grad-CAM++ with its derivatives averaged over noisy copies of the input.

    For :math:`n` copies :math:`x + \\varepsilon_s`, :math:`\\varepsilon_s \\sim \\mathcal N(0,
    \\sigma^2)`, average the powers of the gradient :math:`g = \\partial y^c/\\partial A`:
    :math:`D^p = \\frac1n \\sum_s g_s^p`. Then, as Grad-CAM++ (Eq. 19 there),
    :math:`\\alpha_{ij} = \\frac{D^2_{ij}}{2 D^2_{ij} + \\sum_{ab} A_{ab}\\, D^3_{ij}}`,
    :math:`w_k = \\sum_{ij} \\alpha_{ij}\\, \\mathrm{ReLU}(D^1_{ij})` and the map is
    :math:`\\sum_k w_k A_k` on the clean image's activations.

    Omeiza, Speakman, Cintas, Weldemariam, "Smooth Grad-CAM++: An Enhanced Inference Level
    Visualization Technique for Deep Convolutional Neural Network Models", arXiv:1908.01224,
    2019.

    ``variant="torchcam"`` computes what torchcam 0.5.0's ``SmoothGradCAMpp`` computes (tested
    equal with the same seed), which departs from the method in three places — pinned by a
    test, so a learner comparing the two knows why they differ: it sums :math:`g^3 \\cdot A`
    over positions instead of multiplying :math:`D^3` by :math:`\\sum A`; it applies the ReLU
    to the *last* noisy sample's gradient instead of the average; and it draws the map with
    the last noisy sample's activations. The default follows Grad-CAM++'s algebra with
    averaged derivatives, as the paper describes.

    Args:
        n_samples: Noisy copies (torchcam's default: 4).
        sigma: Noise standard deviation in the model's input space (torchcam's default: 0.3).
        variant: ``"paper"`` or ``"torchcam"``.
    """

    display_name = "SmoothGrad-CAM++"

    def __init__(self, model, layer: LayerRef | None = None, n_samples: int = 4,
                 sigma: float = 0.3, variant: str = "paper"):
        super().__init__(model, layer)
        if variant not in ("paper", "torchcam"):
            raise ValueError(f"variant must be 'paper' or 'torchcam', not {variant!r}.")
        self.n_samples, self.sigma, self.variant = n_samples, sigma, variant

    def _raw_maps(self, x, target, eigen_smooth=False):
        clean, _, self.logits, self.classes = self._forward(x, target, gradients=False)
        if target is None:                              # the clean image's classes throughout
            target = self.classes.tolist()
        sums = None
        for _ in range(self.n_samples):
            noise = torch.randn(x.shape) * self.sigma    # the CPU generator, as torchcam draws it
            noisy, grads, _, _ = self._forward(x + noise.to(x.device), target)
            powers = [[g, g ** 2, g ** 3] for g in grads]
            sums = powers if sums is None else [[a + b for a, b in zip(s, p)]
                                                for s, p in zip(sums, powers)]
        maps = []
        for A, A_last, g_last, (d1, d2, d3) in zip(clean, noisy, grads, sums):
            d1, d2, d3 = d1 / self.n_samples, d2 / self.n_samples, d3 / self.n_samples
            if self.variant == "paper":
                weighted = plus_plus_weights(d1, d2, d3, A)[:, :, None, None] * A
            else:
                alpha = d2 / (2 * d2 + (d3 * A).sum(dim=(2, 3), keepdim=True) + 1e-8)
                weights = (alpha * torch.relu(g_last)).sum(dim=(2, 3))
                weighted = weights[:, :, None, None] * A_last
            maps.append(first_component(weighted, weighted.sum(dim=1)) if eigen_smooth
                        else weighted.sum(dim=1))
        return maps


class IntegratedGradCAM(BaseCAM):
    """Integrated Grad-CAM: Grad-CAM's map summed along a path of scaled inputs.

    On the straight path :math:`x_i = x' + \\frac{i}{m}(x - x')`, :math:`i = 0 \\dots m-1`, from
    a baseline :math:`x'` (default: black), each point gives a Grad-CAM map from its own
    activations and gradients, :math:`s_i = \\mathrm{ReLU}\\big(\\sum_k
    \\overline{\\partial y^c/\\partial A_k}(x_i)\\, A_k(x_i)\\big)`, and the explanation is
    :math:`\\sum_i s_i`. Where the class score saturates at :math:`x` (its gradient there is
    nearly flat), the points nearer the baseline still carry signal — the motivation of
    Integrated Gradients, applied to Grad-CAM.

    Sattarzadeh, Sudhakar, Plataniotis, Jang, Jeong, Kim, "Integrated Grad-CAM:
    Sensitivity-Aware Visual Explanation of Deep Convolutional Networks via Integrated
    Gradient-Based Scoring", ICASSP 2021. Follows the authors' notebook
    (github.com/smstrzd/IntegratedGradCAM): m = 50 left-Riemann points, the input itself
    excluded, a ReLU per step, summed (the scale vanishes in the normalisation).

    Args:
        n_steps: Points on the path (50 in the authors' code).
        baseline: The path's start, in the model's input space; ``None``: a black image.
        batch_size: Path points per forward + backward pass.
    """

    display_name = "Integrated Grad-CAM"

    def __init__(self, model, layer: LayerRef | None = None, n_steps: int = 50,
                 baseline: torch.Tensor | float | None = None, batch_size: int = 8):
        super().__init__(model, layer)
        self.n_steps, self.baseline, self.batch_size = n_steps, baseline, batch_size

    def _raw_maps(self, x, target, eigen_smooth=False):
        _, _, self.logits, self.classes = self._forward(x, target, gradients=False)
        if target is None:                         # the clean image's top classes
            target = self.classes.tolist()
        elif not callable(target):                 # one class id per image (an int for all)
            ids = (list(target) if isinstance(target, (list, tuple))
                   else torch.as_tensor(target).reshape(-1).tolist())
            target = ids * len(x) if len(ids) == 1 else ids
        if self.baseline is None:                  # black: pixel 0 in the model's input space
            prep = model_spec(self.model).preprocessing
            baseline = torch.tensor([-m / s for m, s in zip(prep.mean, prep.std)],
                                    device=x.device).view(1, -1, 1, 1).expand_as(x)
        else:
            baseline = torch.as_tensor(self.baseline, dtype=x.dtype, device=x.device
                                       ).expand_as(x)
        points_per_pass = max(1, self.batch_size // len(x))
        totals = None
        for start in range(0, self.n_steps, points_per_pass):
            steps = range(start, min(start + points_per_pass, self.n_steps))
            path = torch.cat([baseline + (i / self.n_steps) * (x - baseline) for i in steps])
            repeated = target if callable(target) else list(target) * len(steps)
            feature_maps, grads, _, _ = self._forward(path, repeated)
            per_point = [torch.relu((g.mean(dim=(2, 3), keepdim=True) * A).sum(dim=1))
                         .view(len(steps), len(x), *A.shape[2:]).sum(dim=0)
                         for A, g in zip(feature_maps, grads)]
            totals = per_point if totals is None else [t + p for t, p in zip(totals, per_point)]
        return totals
