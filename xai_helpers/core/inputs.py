"""The model's input, checked at the door: one clear message instead of a deep torch error.

Every method takes a *preprocessed batch* ``x`` of shape (N, C, H, W): float values, one image
per row, on any device (it is moved to the model's). Learners pass many other things — a
photo, a NumPy array, raw 0–255 pixels, a grayscale tensor for a colour model, a tensor that
went NaN — and each gets a message that names the problem and the fix.

Taught in ``notebooks/00_setup_and_tour.ipynb``.
"""
from __future__ import annotations

import warnings

import torch
from torch import nn

__all__ = ["check_batch", "input_channels"]


def input_channels(model: nn.Module) -> int | None:
    """The number of channels the model's first convolution expects (``None`` if it has none).

    Example:
        >>> input_channels(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()))
        3
    """
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module.in_channels
    return None


def check_batch(x, model: nn.Module | None = None, *, name: str = "x") -> torch.Tensor:
    """``x`` as a float batch (N, C, H, W) the model can take, or a clear error.

    A single image (C, H, W) becomes a batch of one. Checked: that it is a tensor (not a
    photo or an array: preprocess those first), its rank, a floating-point dtype, finite
    values, and — given the model — the channel count its first convolution expects (a float
    batch of another precision, such as float64 from NumPy, is converted to the model's). Values
    far outside a normalised range (like 0–255) give a warning.

    Args:
        x: The preprocessed batch.
        model: The classifier, to check the channel count against.
        name: How to call ``x`` in messages.

    Raises:
        TypeError: Not a tensor, or not a floating-point one.
        ValueError: Wrong rank, wrong channel count, NaN or infinite values, or no images.

    Example:
        >>> check_batch(torch.zeros(3, 8, 8)).shape
        torch.Size([1, 3, 8, 8])
    """
    if not isinstance(x, torch.Tensor):
        kind = type(x).__name__
        raise TypeError(f"{name} must be a preprocessed torch tensor (N, 3, H, W), not a {kind}. "
                        "Turn photos, paths and arrays into one with xh.preprocess(model, image).")
    if x.ndim == 3:
        x = x.unsqueeze(0)
    if x.ndim != 4:
        raise ValueError(f"{name} must be a batch of images (N, C, H, W) or one image (C, H, W); "
                         f"got shape {tuple(x.shape)}.")
    if len(x) == 0:
        raise ValueError(f"{name} holds no images (shape {tuple(x.shape)}).")
    if not x.is_floating_point():
        raise TypeError(f"{name} has dtype {x.dtype}; models take floats. Raw pixels (0–255 "
                        "integers) must be scaled and normalised: use xh.preprocess(model, image).")
    expected = input_channels(model) if model is not None else None
    if expected is not None and x.shape[1] != expected:
        hint = (" A grayscale image? xh.load_image converts it to RGB, then xh.preprocess."
                if x.shape[1] == 1 and expected == 3 else
                " Channels last (N, H, W, C)? Use x.permute(0, 3, 1, 2)."
                if x.shape[-1] == expected else "")
        raise ValueError(f"{name} has {x.shape[1]} channels, but the model's first convolution "
                         f"takes {expected} (shape {tuple(x.shape)}).{hint}")
    dtype = next((p.dtype for p in model.parameters()), None) if model is not None else None
    if dtype is not None and dtype.is_floating_point and x.dtype != dtype:
        x = x.to(dtype)                      # e.g. float64 from NumPy for a float32 model
    if x.device.type != "meta":
        finite = torch.isfinite(x)
        if not bool(finite.all()):
            bad = int((~finite).sum())
            image = int((~finite).flatten(1).any(1).nonzero()[0])
            raise ValueError(f"{name} contains {bad} NaN or infinite values (first in image "
                             f"{image}); an explanation of them would be NaN too. Check the "
                             "preprocessing or the computation that produced x.")
        if float(x.detach().abs().max()) > 20:
            warnings.warn(f"{name} has values up to {float(x.detach().abs().max()):.0f}: a "
                          "normalised input stays within a few units. Raw 0–255 pixels? Use "
                          "xh.preprocess(model, image).", stacklevel=3)
    return x
