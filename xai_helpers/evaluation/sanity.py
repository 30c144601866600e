"""Sanity checks for saliency maps (Adebayo, Gilmer, Muelly, Goodfellow, Hardt, Kim, "Sanity
Checks for Saliency Maps", NeurIPS 2018).

**Model randomisation, cascading.** Re-initialise the model's layers one after another, from
the output towards the input, and compare each method's maps before and after. A method that
explains the *model* must change as its weights are destroyed; a method whose maps stay the
same is explaining the *image* (edges, contrast) — like an edge detector, which passes no
weights at all. **Data randomisation** is the other check: a model trained on shuffled labels
can only memorise; its explanations should not look like the real model's.

Taught in ``notebooks/09_evaluating_explanations.ipynb``.
"""
from __future__ import annotations

import copy
from typing import Iterator

import torch
from torch import nn

from .metrics import rank_correlation

__all__ = ["parametric_layers", "cascading_randomisation", "randomisation_similarity"]


def parametric_layers(model: nn.Module) -> list[str]:
    """Names of the modules that own weights (convolutions, dense layers, norms), input first."""
    return [name for name, module in model.named_modules()
            if name and any(True for _ in module.parameters(recurse=False))]


def cascading_randomisation(model: nn.Module, layers: list[str] | None = None,
                            seed: int = 0) -> Iterator[tuple[str, nn.Module]]:
    """Yield ``(layer, copy)`` with every layer from the top down to ``layer`` re-initialised.

    Args:
        model: The trained model (never modified: each step works on one deep copy).
        layers: Layers to randomise, input first (default: :func:`parametric_layers`).
        seed: Seed of the new random weights.

    Example:
        >>> for name, randomised in cascading_randomisation(model):      # doctest: +SKIP
        ...     maps = explain("Grad-CAM", randomised, x, target)
    """
    layers = parametric_layers(model) if layers is None else list(layers)
    randomised = copy.deepcopy(model).eval()
    modules = dict(randomised.named_modules())
    torch.manual_seed(seed)
    for name in reversed(layers):
        module = modules[name]
        if not hasattr(module, "reset_parameters"):
            raise ValueError(f"Layer {name!r} ({type(module).__name__}) cannot be re-initialised.")
        module.reset_parameters()
        yield name, randomised


def randomisation_similarity(original: torch.Tensor, randomised: torch.Tensor) -> torch.Tensor:
    """Spearman rank correlation of absolute map values, per image (Adebayo et al.'s measure).

    Near 1: the map did not change (the method fails the check); near 0: it did."""
    return rank_correlation(original.abs(), randomised.abs())
