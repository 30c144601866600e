"""I-GOS: a saliency mask found by optimisation, with integrated gradients as its direction.

Qi, Khorram, Li, "Visualizing Deep Networks by Optimizing with Integrated Gradients", AAAI 2020.

A mask :math:`M \\in [0, 1]^{28 \\times 28}` (1 = keep the image, 0 = replace it by a blurred
copy :math:`b`) is upsampled to the image, :math:`\\phi(M) = x \\odot M + b \\odot (1 - M)`. I-GOS
looks for a *small, smooth* region whose deletion destroys the class score:

.. math::
    \\min_M \\; \\frac{1}{K}\\sum_{k=1}^{K} p^c\\big(\\phi(\\tfrac{k}{K} M) + \\varepsilon_k\\big)
    + \\lambda_1 \\,\\mathrm{mean}|1 - M| + \\lambda_2\\, \\mathrm{TV}_2(M),

The first term is the score along the straight path from the baseline to :math:`\\phi(M)`; its
gradient is an integrated gradient, a better direction than the plain gradient, which
saturates. Noise :math:`\\varepsilon_k \\sim \\mathcal N(0, 0.2^2)` discourages adversarial
masks. Each iteration takes a step along the negative gradient with an Armijo line search and
clamps :math:`M` to [0, 1]. The explanation is :math:`1 - M` (upsampled).

The reference code (IGOS_pp) runs on CUDA only; this version runs on whatever device the model is
on and evaluates the K path points in batches.

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
    """A heavily blurred copy of ``x``: I-GOS's "image without the object" (same space as x)."""
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
        history: one dict per iteration: ``score`` (the path score), ``l1``, ``tv``,
            ``loss``, ``step`` (line-search step) and ``mask`` (a copy).
    """

    mask: torch.Tensor
    saliency: torch.Tensor
    history: list[dict] = field(default_factory=list)


def igos(model: torch.nn.Module, x: torch.Tensor, target: int | None,
         baseline: torch.Tensor | None = None,
         size: int = 28, ig_steps: int = 15, iterations: int = 20, l1: float = 1.0,
         tv: float = 20.0, noise: float = 0.2, initial_step: float = 8.0,
         seed: int = 0, batch_size: int = 8) -> IGOSResult:
    """Run I-GOS on one image.

    Args:
        model: The classifier (left unchanged).
        x: One preprocessed image (1, 3, H, W).
        target: Class id to explain (``None``: the image's top class).
        baseline: The "deleted" image; default :func:`blurred_baseline` of ``x``.
        size: Side of the mask (28 in the paper).
        ig_steps: Points :math:`K` on the integration path (15 in the reference code).
        iterations: Optimisation steps (20 in the reference code).
        l1, tv: Weights :math:`\\lambda_1, \\lambda_2` of the regularisers (1 and 20).
        noise: Standard deviation of the noise added to the path images.
        initial_step: First step tried by the line search (then times 0.2 until the Armijo
            condition holds, down to 1e-5).
        seed: Seed of the noise, for reproducible runs.
        batch_size: Path images per forward pass.

    Example:
        >>> result = igos(model, x, 235, iterations=10)   # doctest: +SKIP
        >>> result.saliency.shape                          # doctest: +SKIP
        torch.Size([224, 224])
    """
    x = check_batch(x, model)
    if x.shape[0] != 1:
        raise ValueError(f"igos explains one image (1, 3, H, W), got {tuple(x.shape)}; loop over "
                         "the images of a batch.")
    target = int(class_ids(model, x, target)[0])
    device = device_of(model)
    x = x.detach().to(device)
    baseline = blurred_baseline(x) if baseline is None else baseline.detach().to(device)
    generator = torch.Generator(device=device).manual_seed(seed)
    alphas = torch.linspace(1 / ig_steps, 1, ig_steps, device=device).view(-1, 1, 1, 1)

    def path_score(mask: torch.Tensor) -> torch.Tensor:
        """Mean target probability over the K noisy path images (differentiable in mask)."""
        up = F.interpolate(mask, size=x.shape[-2:], mode="bilinear", align_corners=True)
        images = x * (alphas * up) + baseline * (1 - alphas * up)          # (K, 3, H, W)
        images = images + noise * torch.randn(images.shape, generator=generator, device=device)
        scores = [model(chunk).softmax(dim=1)[:, target] for chunk in images.split(batch_size)]
        return torch.cat(scores).mean()

    def regulariser(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return l1 * (1 - mask).abs().mean(), tv * total_variation(mask)[0]

    mask = torch.ones(1, 1, size, size, device=device)
    history = []
    with eval_mode(model):
        for _ in range(iterations):
            mask.requires_grad_(True)
            with torch.enable_grad():
                score = path_score(mask)
                l1_term, tv_term = regulariser(mask)
                (grad,) = torch.autograd.grad(score + l1_term + tv_term, mask)
            mask = mask.detach()
            with torch.no_grad():                                  # Armijo line search
                current = path_score(mask) + sum(regulariser(mask))
                decrease = 1e-4 * (grad ** 2).sum()
                step = initial_step
                while step >= 1e-5:
                    candidate = (mask - step * grad).clamp(0, 1)
                    loss = path_score(candidate) + sum(regulariser(candidate))
                    if loss <= current - step * decrease:
                        break
                    step *= 0.2
                mask = (mask - step * grad).clamp(0, 1)
            score, l1_term, tv_term = (float(t.detach()) for t in (score, l1_term, tv_term))
            history.append({"score": score, "l1": l1_term, "tv": tv_term,
                            "loss": score + l1_term + tv_term, "step": step,
                            "mask": mask[0, 0].cpu().clone()})
    up = F.interpolate(mask, size=x.shape[-2:], mode="bilinear", align_corners=True)
    return IGOSResult(mask.cpu(), (1 - up)[0, 0].cpu(), history)
