"""I-GOS: a saliency mask found by optimisation, with integrated gradients as its direction.

Qi, Khorram, Li, "Visualizing Deep Networks by Optimizing with Integrated Gradients", AAAI 2020.

A mask :math:`M \\in [0, 1]^{28 \\times 28}` (1 = keep the image, 0 = replace it by a blurred
copy :math:`b`) is upsampled to the image, :math:`\\phi(M) = x \\odot M + b \\odot (1 - M)`. I-GOS
looks for a *small, smooth* region whose deletion destroys the class score, i.e. it minimises

.. math::
    L(M) = p^c\\big(\\phi(M)\\big) + \\lambda_1 \\,\\mathrm{mean}|1 - M|
           + \\lambda_2\\, \\mathrm{TV}_2(M),

but it does not descend along :math:`\\nabla L`, which is tiny where the model is saturated.
Its direction is the gradient of the score averaged along the straight path from the baseline
to :math:`\\phi(M)` — an integrated gradient — plus the regularisers' gradients:

.. math::
    g = \\nabla_M \\Big[\\frac{1}{K}\\sum_{k=1}^{K}
        p^c\\big(\\phi(\\tfrac{k}{K} M) + \\varepsilon_k\\big)
        + \\lambda_1 \\,\\mathrm{mean}|1 - M| + \\lambda_2\\, \\mathrm{TV}_2(M)\\Big],
    \\qquad \\varepsilon_k \\sim \\mathcal N(0, 0.2^2)

(the noise discourages adversarial masks). Each iteration takes the step along :math:`-g` that
an Armijo line search accepts on :math:`L` itself (first step 200, times 0.2 until
:math:`L` drops by :math:`10^{-4}\\,\\text{step}\\,\\lVert g\\rVert^2`, down to :math:`10^{-5}`) and
clamps :math:`M` to [0, 1]. The explanation is :math:`1 - M` (upsampled).

This follows the code of the AAAI paper (github.com/zhongangqi/IGOS, ``IGOS_generate_video.py``,
MIT licence): 15 iterations, 20 path points, :math:`\\lambda_1 = 1`, :math:`\\lambda_2 = 20`, a
28 × 28 mask (the values of its ``__main__`` call), first step 200, and its adaptive L1 weight
(:math:`\\lambda_1 / 10` after iteration ``T // 2`` and :math:`/ 5` after ``int(T / 1.25)`` when the
deletion score has not moved by 0.001 resp. 0.01 — iterations 7 and 12 of 15). Differences: the
noise comes from a seeded torch generator instead of OpenCV's global one, the path images go
through the model in batches, and any device works (the original hard-codes CUDA). The authors'
later refactor IGOS_pp (github.com/khorrams/IGOS_pp) differs: its ``IGOS()`` function defaults to
20 iterations, 15 points and a first step of 8, its command line passes 20 / 15 / 1000, it has no
L1 schedule, and its line search evaluates the noisy path score instead of :math:`L`.

Taught in ``notebooks/06_igos.ipynb``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from ..core.config import device_of
from ..core.inputs import check_batch
from ..core.modes import eval_mode
from ..core.targets import class_ids

__all__ = ["blurred_baseline", "total_variation", "IGOSResult", "igos"]


def blurred_baseline(x: torch.Tensor, kernel_size: int = 51, sigma: float = 50.0) -> torch.Tensor:
    """A heavily blurred copy of ``x``: I-GOS's "image without the object" (same space as x).

    The reference code blurs with ``cv2.GaussianBlur(img, (51, 51), 50)``.
    """
    return TF.gaussian_blur(x, kernel_size=[kernel_size, kernel_size], sigma=[sigma, sigma])


def total_variation(mask: torch.Tensor, beta: float = 2.0) -> torch.Tensor:
    """Mean of :math:`|\\Delta M|^\\beta` over vertical plus horizontal neighbours, per mask.

    Example:
        >>> total_variation(torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])).tolist()
        [1.0]
    """
    vertical = (mask[:, 0, 1:, :] - mask[:, 0, :-1, :]).abs().pow(beta).flatten(1).mean(1)
    horizontal = (mask[:, 0, :, 1:] - mask[:, 0, :, :-1]).abs().pow(beta).flatten(1).mean(1)
    return vertical + horizontal


@dataclass
class IGOSResult:
    """The optimised mask and how the optimisation went.

    Attributes:
        mask: (1, 1, size, size) final mask, 1 = keep.
        saliency: (H, W) explanation, ``1 - upsample(mask)``: high = important.
        history: one dict per iteration, values at the mask the iteration *starts* from:
            ``score`` (:math:`p^c(\\phi(M))`, no noise), ``l1`` and ``tv`` (the weighted
            regularisers), ``loss`` (their sum, the objective :math:`L` the line search
            decreases), ``path`` (the noisy path score whose gradient is the direction),
            ``l1_weight`` (:math:`\\lambda_1`), then ``step`` (the step taken), ``accepted``
            (whether it met the Armijo condition), ``loss_after`` (:math:`L` after the step, same
            :math:`\\lambda_1`) and ``mask`` (a copy of the mask after the step).
    """

    mask: torch.Tensor
    saliency: torch.Tensor
    history: list[dict] = field(default_factory=list)


def igos(model: torch.nn.Module, x: torch.Tensor, target: int | None,
         baseline: torch.Tensor | None = None,
         size: int = 28, ig_steps: int = 20, iterations: int = 15, l1: float = 1.0,
         tv: float = 20.0, noise: float = 0.2, initial_step: float = 200.0,
         adaptive_l1: bool = True, seed: int = 0, batch_size: int = 10) -> IGOSResult:
    """Run I-GOS on one image (see the module docstring for the method and its sources).

    Args:
        model: The classifier (left unchanged).
        x: One preprocessed image (1, 3, H, W).
        target: Class id to explain (``None``: the image's top class).
        baseline: The "deleted" image; default :func:`blurred_baseline` of ``x``.
        size: Side of the mask (28 in the paper's code).
        ig_steps: Points :math:`K` on the integration path (20 in the paper's code).
        iterations: Optimisation steps :math:`T` (15 in the paper's code).
        l1, tv: Weights :math:`\\lambda_1, \\lambda_2` of the regularisers (1 and 20).
        noise: Standard deviation of the noise added to the path images (0.2).
        initial_step: First step tried by the line search (200; then times 0.2 until the Armijo
            condition holds, down to 1e-5).
        adaptive_l1: Divide :math:`\\lambda_1` by 10 after iteration ``T // 2`` and by 5 after
            ``int(T / 1.25)`` when the deletion score has barely moved (the paper's code; only
            for ``T > 3``).
        seed: Seed of the noise, for reproducible runs.
        batch_size: Path images per forward and backward pass.

    Example:
        >>> result = igos(model, x, 235, iterations=10)   # doctest: +SKIP
        >>> result.saliency.shape                          # doctest: +SKIP
        torch.Size([224, 224])
    """
    x = check_batch(x, model)
    if x.shape[0] != 1:
        raise ValueError(f"igos explains one image (1, 3, H, W), got {tuple(x.shape)}; loop over "
                         "the images of a batch.")
    if iterations < 1 or ig_steps < 1 or size < 2:
        raise ValueError(f"iterations and ig_steps must be at least 1 and size at least 2, got "
                         f"{iterations}, {ig_steps} and {size}.")
    target = int(class_ids(model, x, target)[0])
    device = device_of(model)
    x = x.detach().to(device)
    baseline = blurred_baseline(x) if baseline is None else baseline.detach().to(device)
    generator = torch.Generator(device=device).manual_seed(seed)
    alphas = torch.linspace(1 / ig_steps, 1, ig_steps, device=device).view(-1, 1, 1, 1)

    def upsample(mask: torch.Tensor) -> torch.Tensor:        # UpsamplingBilinear2d, as the paper
        return F.interpolate(mask, size=x.shape[-2:], mode="bilinear", align_corners=True)

    def regulariser(mask: torch.Tensor, l1_weight: float) -> tuple[torch.Tensor, torch.Tensor]:
        return l1_weight * (1 - mask).abs().mean(), tv * total_variation(mask)[0]

    def deletion_score(mask: torch.Tensor) -> torch.Tensor:
        """p^c(phi(M)) without noise: the score term of the objective L."""
        up = upsample(mask)
        return model(x * up + baseline * (1 - up)).softmax(dim=1)[0, target]

    def path_direction(mask: torch.Tensor, l1_weight: float) -> tuple[torch.Tensor, float]:
        """Gradient of (mean noisy path score + regularisers), chunk by chunk; the path score."""
        mask = mask.detach().requires_grad_(True)
        l1_term, tv_term = regulariser(mask, l1_weight)
        (grad,) = torch.autograd.grad(l1_term + tv_term, mask)
        path = 0.0
        for chunk in alphas.split(batch_size):
            up = upsample(mask)
            images = x * (chunk * up) + baseline * (1 - chunk * up)
            images = images + noise * torch.randn(images.shape, generator=generator, device=device)
            score = model(images).softmax(dim=1)[:, target].sum() / ig_steps
            grad = grad + torch.autograd.grad(score, mask)[0]
            path += float(score.detach())
        return grad, path

    mask = torch.ones(1, 1, size, size, device=device)
    l1_weight = float(l1)
    history: list[dict] = []
    with eval_mode(model):
        for i in range(iterations):
            with torch.enable_grad():
                grad, path = path_direction(mask, l1_weight)
            with torch.no_grad():                          # Armijo line search on L itself
                score = float(deletion_score(mask))
                l1_term, tv_term = (float(t) for t in regulariser(mask, l1_weight))
                loss = score + l1_term + tv_term

                def objective(candidate: torch.Tensor) -> float:
                    return float(deletion_score(candidate)
                                 + sum(regulariser(candidate, l1_weight)))

                decrease = 1e-4 * float((grad ** 2).sum())
                step = float(initial_step)
                loss_after = objective((mask - step * grad).clamp(0, 1))
                while loss_after > loss - step * decrease:
                    step *= 0.2
                    loss_after = objective((mask - step * grad).clamp(0, 1))
                    if step < 1e-5:
                        break
                mask = (mask - step * grad).clamp(0, 1)
            history.append({"score": score, "l1": l1_term, "tv": tv_term, "loss": loss,
                            "path": path, "l1_weight": l1_weight, "step": step,
                            "accepted": loss_after <= loss - step * decrease,
                            "loss_after": loss_after, "mask": mask[0, 0].cpu().clone()})
            if adaptive_l1 and iterations > 3:              # the paper code's L1 schedule:
                moved = abs(history[0]["score"] - history[i - 1]["score"]) if i else 0.0
                if i == int(iterations / 2):               # curve2[i] there is the score at
                    if moved <= 0.001:                     # the start of iteration i - 1
                        l1_weight /= 10
                elif i == int(iterations / 1.25):
                    if moved <= 0.01:
                        l1_weight /= 5
    return IGOSResult(mask.cpu(), (1 - upsample(mask))[0, 0].cpu(), history)
