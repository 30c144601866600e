"""Notebook 06 · I-GOS: the coding exercise's checker."""
from __future__ import annotations

from typing import Callable

import torch

from .feedback import ExerciseError, as_tensor, close, passed

__all__ = ["check_total_variation"]


def check_total_variation(my_total_variation: Callable) -> None:
    """Notebook 06: I-GOS's total variation of a (1, 1, h, w) mask."""
    from ..attribution.igos import total_variation

    mask = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    mine = as_tensor(my_total_variation(mask), "total variation")
    expected = total_variation(mask)[0]
    if mine.numel() != 1:
        raise ExerciseError(f"Return one number per mask, got shape {tuple(mine.shape)}.")
    mine = mine.reshape(())
    m = mask[0, 0]
    down, right = (m[1:] - m[:-1]) ** 2, (m[:, 1:] - m[:, :-1]) ** 2
    if close(mine, expected, atol=1e-6):
        return passed()
    if close(mine, down.sum() + right.sum(), atol=1e-4):
        raise ExerciseError("Use the mean of the squared differences, not the sum (so the weight "
                            "does not depend on the mask size).")
    if close(mine, down.mean(), atol=1e-6) or close(mine, right.mean(), atol=1e-6):
        raise ExerciseError("You measured one direction only: add vertical and horizontal "
                            "neighbour differences.")
    if close(mine, (m[1:] - m[:-1]).abs().mean() + (m[:, 1:] - m[:, :-1]).abs().mean(),
              atol=1e-6):
        raise ExerciseError("Square the differences (β = 2) instead of taking their absolute "
                            "value.")
    raise ExerciseError("Compare neighbouring mask values, down and right, squared and averaged.")
