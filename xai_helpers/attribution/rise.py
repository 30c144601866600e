"""RISE: explain with thousands of random masks, and average them weighted by the score.

Petsiuk, Das, Saenko, "RISE: Randomized Input Sampling for Explanation of Black-box Models",
BMVC 2018. Each mask is a coarse random grid — every cell on with probability :math:`p` —
upsampled bilinearly to a little more than the image and cropped at a random offset, so that
its soft edges fall anywhere. The masked image :math:`x \\odot M_i` is scored, and a pixel's
importance is the score-weighted share of the masks that kept it:

.. math::
    S(\\lambda) = \\frac{1}{N\\,p} \\sum_{i=1}^{N} f_c(x \\odot M_i)\\, M_i(\\lambda),

a Monte-Carlo estimate of :math:`E[f_c(x \\odot M) \\mid M(\\lambda) = 1]`. No gradients, any
model; the price is :math:`N` forward passes (thousands), here batched on a fast copy of the
model. Masked-out pixels become 0 in the model's input space, as in the authors' code (grey for
EfficientNet, the data set's mean colour for torchvision models), and :math:`f_c` is the
softmax probability.

The masks follow the authors' code (github.com/eclique/RISE): one random grid per mask, shifts
drawn per mask, bilinear upsampling with mirrored borders (scikit-image's ``resize``), from a
seeded NumPy generator — the same seed gives the same masks.

Taught in ``notebooks/05_lime.ipynb``.
"""
from __future__ import annotations

import numpy as np
import torch

from ..core.batching import best_batch_size
from ..core.config import device_of
from ..core.inputs import check_batch
from ..core.models import inference_copy
from ..core.targets import Target, class_ids

__all__ = ["rise_masks", "rise"]


def rise_masks(n_masks: int, size: tuple[int, int], cells: int = 7, p: float = 0.5,
               seed: int = 0) -> torch.Tensor:
    """RISE's random masks, (n_masks, H, W) float32 in [0, 1].

    Args:
        n_masks: How many masks.
        size: (H, W) of the image.
        cells: The grid is ``cells`` × ``cells`` before upsampling (7 in the paper).
        p: Probability that a grid cell keeps the image (0.5).
        seed: Seed of the NumPy generator.

    Example:
        >>> masks = rise_masks(4, (16, 16), cells=4, seed=0)
        >>> tuple(masks.shape), 0.0 <= float(masks.min()) <= float(masks.max()) <= 1.0
        ((4, 16, 16), True)
    """
    from skimage.transform import resize

    height, width = size
    cell = np.ceil(np.array(size, dtype=float) / cells)
    upsampled = ((cells + 1) * cell).astype(int)
    rng = np.random.RandomState(seed)
    grids = rng.rand(n_masks, cells, cells) < p
    masks = np.empty((n_masks, height, width), dtype=np.float32)
    for i in range(n_masks):
        dy, dx = rng.randint(0, int(cell[0])), rng.randint(0, int(cell[1]))
        big = resize(grids[i].astype(np.float64), upsampled, order=1, mode="reflect",
                     anti_aliasing=False)
        masks[i] = big[dy:dy + height, dx:dx + width]
    return torch.from_numpy(masks)


def rise(model: torch.nn.Module, x: torch.Tensor, target: Target = None, n_masks: int = 4000,
         cells: int = 7, p: float = 0.5, seed: int = 0, batch_size: int | None = None,
         masks: torch.Tensor | None = None) -> torch.Tensor:
    """RISE saliency maps, (N, H, W): see the module docstring.

    Args:
        model, x, target: As in :func:`~xai_helpers.occlusion` (class ids; ``None``: each
            image's top class).
        n_masks, cells, p, seed: The masks (:func:`rise_masks`); 4000 masks of 7×7 cells with
            p = 0.5 are the paper's ImageNet settings.
        batch_size: Masked images per forward pass (``None``: measured for this machine).
        masks: Masks to use instead of drawing them (N_masks, H, W).

    Example:
        >>> saliency = rise(model, x, 235, n_masks=1000)          # doctest: +SKIP
    """
    x = check_batch(x, model).detach().to(device_of(model))
    targets = class_ids(model, x, target).tolist()                  # on the CPU
    if masks is None:
        masks = rise_masks(n_masks, tuple(x.shape[-2:]), cells, p, seed)
    masks = masks.to(x.device, x.dtype)
    batch_size = batch_size or best_batch_size(model, example=x[:1])
    fast = inference_copy(model)
    saliency = torch.zeros(len(x), *x.shape[-2:], device=x.device, dtype=x.dtype)
    with torch.inference_mode():
        for i in range(len(x)):
            for chunk in masks.split(batch_size):
                scores = fast(chunk[:, None] * x[i]).softmax(dim=1)[:, targets[i]]
                saliency[i] += (scores[:, None, None] * chunk).sum(dim=0)
    return saliency / (len(masks) * p)
