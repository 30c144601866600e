"""Notebook 05 · LIME: the coding exercise's checker."""
from __future__ import annotations

from typing import Callable

import torch

from .feedback import ExerciseError, as_tensor, check_shape, close, passed

__all__ = ["check_lime_kernel"]


def check_lime_kernel(lime_kernel: Callable, masks: torch.Tensor, kernel_width: float = 0.25
                      ) -> None:
    """Notebook 05: lime's kernel weights from the on/off masks (num_samples, S)."""
    mine = as_tensor(lime_kernel(masks, kernel_width), "kernel")
    check_shape(mine, (masks.shape[0],), "weights")
    ones = torch.ones(masks.shape[1])
    cosine = (masks @ ones) / (masks.norm(dim=1) * ones.norm()).clamp_min(1e-12)
    expected = torch.sqrt(torch.exp(-((1 - cosine) ** 2) / kernel_width ** 2))
    if close(mine, expected, atol=1e-6):
        return passed()
    if close(mine, expected ** 2, atol=1e-6):
        raise ExerciseError("Close: lime takes the square root of the exponential kernel.")
    if close(mine, torch.sqrt(torch.exp(-(cosine ** 2) / kernel_width ** 2)), atol=1e-6):
        raise ExerciseError("Use the cosine *distance* 1 − similarity: the unperturbed image "
                            "(all ones) must get weight 1.")
    raise ExerciseError("The first sample keeps every superpixel and must weigh 1; samples "
                        "further away (cosine distance) weigh less.")
