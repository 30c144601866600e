"""Notebook 01 · CAM from scratch: the coding exercise's checker."""
from __future__ import annotations

from typing import Callable

import torch

from .feedback import ExerciseError, as_tensor, check_shape, close, normalise, passed

__all__ = ["check_cam_from_features"]


def _cam_case() -> tuple[torch.Tensor, torch.Tensor]:
    """Features and weights whose class-2 map has positive *and* negative evidence."""
    generator = torch.Generator().manual_seed(0)
    A = torch.rand(8, 5, 5, generator=generator)
    ramp = torch.linspace(0, 1, 5)
    A[0], A[1] = ramp[:, None] * ramp[None, :], ramp.flip(0)[:, None] * ramp.flip(0)[None, :]
    W = torch.randn(5, 8, generator=generator) * 0.1
    W[2, 0], W[2, 1] = 1.0, -1.5
    return A, W


def check_cam_from_features(cam_from_features: Callable, A: torch.Tensor, weights: torch.Tensor,
                            class_id: int) -> None:
    """Notebook 01: CAM from the feature maps A (K, h, w) and the classifier weights (C, K).

    Checked on a small case of its own (with negative evidence, so a missing ReLU shows), then
    on your ``A``, ``weights`` and ``class_id``.
    """
    for A_case, W_case, c in (_cam_case() + (2,), (A, weights, class_id)):
        _check_one_cam(cam_from_features, A_case, W_case, c)
    passed()


def _check_one_cam(cam_from_features, A, weights, class_id) -> None:
    mine = as_tensor(cam_from_features(A, weights, class_id), "CAM")
    check_shape(mine, A.shape[1:], "map")
    raw = torch.einsum("k,khw->hw", weights[class_id], A)
    expected = normalise(torch.relu(raw))
    if close(mine, expected):
        return
    if close(mine, normalise(raw)) or float(mine.min()) < -1e-6:
        raise ExerciseError("Your map keeps negative evidence: CAM keeps only positive "
                            "evidence (a ReLU) before normalising.")
    if close(mine, torch.relu(raw)) or float(mine.max()) > 1 + 1e-5:
        raise ExerciseError("Your map is not in [0, 1]: min-max normalise it at the end.")
    others = torch.einsum("ck,khw->chw", weights, A)
    if any(close(mine, normalise(torch.relu(others[c]))) for c in range(len(weights))
           if c != class_id):
        raise ExerciseError("That is the map of another class: use the weights row of "
                            "`class_id`.")
    raise ExerciseError("Not the CAM yet: weight each channel A_k by w_k of the class and sum "
                        "over channels.")
