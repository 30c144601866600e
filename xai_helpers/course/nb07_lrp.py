"""Notebook 07 · LRP: the coding exercise's checker."""
from __future__ import annotations

from typing import Callable

import torch

from .feedback import ExerciseError, as_tensor, check_shape, close, passed

__all__ = ["check_epsilon_rule"]


def check_epsilon_rule(my_epsilon_rule: Callable, weight: torch.Tensor) -> None:
    """Notebook 07: the ε-rule for a dense layer without bias, weight (K, J)."""
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(3, weight.shape[1], generator=generator)
    R = torch.rand(3, weight.shape[0], generator=generator)
    mine = as_tensor(my_epsilon_rule(weight, a, R), "ε-rule")
    check_shape(mine, a.shape, "relevance")
    z = a @ weight.T
    z = z + 1e-6 * torch.where(z >= 0, 1.0, -1.0)
    expected = a * ((R / z) @ weight)
    if close(mine, expected):
        return passed()
    if close(mine, (R / z) @ weight):
        raise ExerciseError("You returned the gradient-trick vector c; the relevance is a ⊙ c.")
    if not torch.allclose(mine.sum(1), expected.sum(1), rtol=1e-3):
        raise ExerciseError("Relevance is not conserved (Σ R_in ≠ Σ R_out): divide R by "
                            "z = a Wᵀ of the *same* layer before sending it back.")
    raise ExerciseError("Conserved but distributed differently: each input gets a_j w_jk / z_k "
                        "of R_k.")
