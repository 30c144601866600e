"""Notebook 04 · Occlusion and gradients: the coding exercise's checker."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .feedback import ExerciseError, Question, as_tensor, check_shape, close, passed

__all__ = ["check_smoothgrad", "QUESTIONS"]


def check_smoothgrad(my_smoothgrad: Callable, model: nn.Module, x: torch.Tensor,
                     target: int) -> None:
    """Notebook 04: SmoothGrad, ``my_smoothgrad(model, x, target, n, sigma)``."""
    from ..attribution.gradients import smoothgrad

    torch.manual_seed(1)
    mine = as_tensor(my_smoothgrad(model, x, target, 3, 0.2), "SmoothGrad")
    torch.manual_seed(1)
    expected = smoothgrad(model, x, target, n_samples=3, sigma=0.2)
    torch.manual_seed(1)
    signed = smoothgrad(model, x, target, n_samples=3, sigma=0.2, absolute=False)
    if tuple(mine.shape) == tuple(expected.shape[1:]):
        raise ExerciseError(f"Keep the batch axis: expected {tuple(expected.shape)} "
                            "(mean with keepdim=True).")
    check_shape(mine, expected.shape, "SmoothGrad")
    if close(mine, expected, atol=1e-6):
        return passed()
    if close(mine, signed, atol=1e-6):
        raise ExerciseError("You averaged signed gradients; saliency averages their magnitude "
                            "|∂y/∂x|.")
    if close(mine, expected * 3, atol=1e-5):
        raise ExerciseError("You summed over the noisy copies; SmoothGrad averages them.")
    raise ExerciseError("Same noise, different answer: draw the noise as N(0, sigma) per copy "
                        "(torch.normal with the seed already set), one gradient per copy.")


#: Quick-quiz questions of this notebook (``xh.quiz(...)`` shows them).
QUESTIONS: dict[str, Question] = {
    "baseline_space": Question(
        "Your model normalises inputs with mean = std = 0.5. Which Integrated Gradients "
        "baseline is a black picture?",
        ("torch.zeros_like(x)", "torch.full_like(x, -1.0)", "torch.full_like(x, 0.5)"),
        1, "Baselines live in the model's input space: black pixel 0 becomes (0 - 0.5) / 0.5 = "
           "-1. A zero tensor there is a grey picture.",
        "04_captum_occlusion_and_gradients"),
    "ig_input_term": Question(
        "Your Integrated Gradients attributions do not add up to f(x) - f(baseline). What is "
        "the most likely bug?",
        ("Too many integration steps", "The averaged gradients were not multiplied by "
         "(x - baseline)", "The model is in eval mode"),
        1, "IG = (x - x') × average gradient along the path. Without the (x - x') factor the "
           "attributions lose completeness (and their units).",
        "04_captum_occlusion_and_gradients"),
}
