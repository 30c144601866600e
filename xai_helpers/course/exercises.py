"""Checkers for the coding exercises: specific, friendly feedback that never shows the answer.

Each ``check_*`` function runs the learner's code on inputs it makes itself, compares the result
with the package's implementation and, when they differ, tests the result against the usual
mistakes (a missing ReLU, a forgotten normalisation, a sum instead of a mean, a flipped sign…)
to say *what* is wrong. It raises :class:`ExerciseError` (an ``AssertionError``, so nbgrader and
pytest count it as a failed check) or prints a short confirmation.

The exercise cells in the notebooks call these checkers; ``tests/test_exercises.py`` shows that
each accepts the reference solution and rejects realistic wrong ones.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

__all__ = ["ExerciseError", "check_preprocess", "check_cam_from_features",
           "check_xgradcam_weights", "check_deconv_relu", "check_smoothgrad", "check_lime_kernel",
           "check_total_variation", "check_epsilon_rule", "check_smoothing",
           "check_pointing_game"]


class ExerciseError(AssertionError):
    """Your answer is not right yet; the message says what to look at."""


def _close(a, b, atol=1e-5) -> bool:
    a, b = torch.as_tensor(a).float(), torch.as_tensor(b).float()
    return a.shape == b.shape and bool(torch.allclose(a, b, atol=atol, rtol=1e-4))


def _tensor(result, what: str) -> torch.Tensor:
    if result is None:
        raise ExerciseError(f"Your {what} returned None: did you forget `return`?")
    if not isinstance(result, torch.Tensor):
        raise ExerciseError(f"Your {what} should return a torch tensor, not "
                            f"{type(result).__name__}.")
    return result.detach()


def _shape(result: torch.Tensor, expected: tuple, what: str) -> None:
    if tuple(result.shape) != tuple(expected):
        raise ExerciseError(f"Your {what} has shape {tuple(result.shape)}; expected "
                            f"{tuple(expected)}.")


def _passed(message: str = "Correct.") -> None:
    print(message)


def _normalise(m: torch.Tensor) -> torch.Tensor:
    return (m - m.min()) / (m.max() - m.min()).clamp_min(1e-12)


# -- notebook 00 --------------------------------------------------------------------------

def check_preprocess(my_preprocess: Callable) -> None:
    """Notebook 00: PIL image -> EfficientNet-Lite0 input (3, 224, 224)."""
    from ..core.images import load_image, test_image_path
    from ..core.preprocessing import EFFICIENTNET_LITE_PREPROCESSING as prep

    image = load_image(test_image_path("chelsea"))
    mine = _tensor(my_preprocess(image), "preprocessing")
    _shape(mine, (3, 224, 224), "preprocessed image")
    expected = prep(image)
    if _close(mine, expected):
        return _passed("Well done: your preprocessing matches.")
    unnormalised = expected * 0.5 + 0.5
    if _close(mine, unnormalised) or float(mine.min()) >= 0.0:
        raise ExerciseError("Your values lie in [0, 1]; the model expects (x - mean) / std with "
                            "mean = std = 0.5, i.e. values in [-1, 1].")
    if _close(mine, unnormalised * 255 * 2 - 1, atol=1) or float(mine.max()) > 2:
        raise ExerciseError("Your values are far beyond [-1, 1]: scale the pixels to [0, 1] "
                            "(divide by 255) before normalising.")
    raise ExerciseError("Right shape and range, different pixels: check the resize (shorter "
                        "side to 256) and the centre crop (224).")


# -- notebook 01 --------------------------------------------------------------------------

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
    _passed()


def _check_one_cam(cam_from_features, A, weights, class_id) -> None:
    mine = _tensor(cam_from_features(A, weights, class_id), "CAM")
    _shape(mine, A.shape[1:], "map")
    raw = torch.einsum("k,khw->hw", weights[class_id], A)
    expected = _normalise(torch.relu(raw))
    if _close(mine, expected):
        return
    if _close(mine, _normalise(raw)) or float(mine.min()) < -1e-6:
        raise ExerciseError("Your map keeps negative evidence: CAM keeps only positive "
                            "evidence (a ReLU) before normalising.")
    if _close(mine, torch.relu(raw)) or float(mine.max()) > 1 + 1e-5:
        raise ExerciseError("Your map is not in [0, 1]: min-max normalise it at the end.")
    others = torch.einsum("ck,khw->chw", weights, A)
    if any(_close(mine, _normalise(torch.relu(others[c]))) for c in range(len(weights))
           if c != class_id):
        raise ExerciseError("That is the map of another class: use the weights row of "
                            "`class_id`.")
    raise ExerciseError("Not the CAM yet: weight each channel A_k by w_k of the class and sum "
                        "over channels.")


# -- notebook 02 --------------------------------------------------------------------------

def check_xgradcam_weights(cam_class: type, model: nn.Module, x: torch.Tensor, target: int,
                           layer: str) -> None:
    """Notebook 02: a BaseCAM subclass implementing XGrad-CAM's channel weights."""
    from ..cam.gradient import GradCAM, GradCAMPlusPlus, XGradCAM

    mine = _tensor(cam_class(model, layer)(x, target), "XGrad-CAM map")
    expected = XGradCAM(model, layer)(x, target)
    _shape(mine, expected.shape, "map")
    if _close(mine, expected):
        return _passed()
    if _close(mine, GradCAM(model, layer)(x, target)):
        raise ExerciseError("These are Grad-CAM's weights (the mean gradient). XGrad-CAM weighs "
                            "each gradient by the activation's share A / ΣA of its channel.")
    if _close(mine, GradCAMPlusPlus(model, layer)(x, target)):
        raise ExerciseError("These are Grad-CAM++'s weights; XGrad-CAM's are simpler.")
    raise ExerciseError("Compare your weights with the formula: a sum over positions of "
                        "gradient × A / ΣA, one number per channel (shape (N, K)).")


# -- notebook 03 --------------------------------------------------------------------------

def check_deconv_relu(deconv: type) -> None:
    """Notebook 03: the deconvnet ReLU rule as an autograd.Function."""
    x = torch.tensor([-1.0, 2.0, -3.0, 7.0], requires_grad=True)
    g = torch.tensor([5.0, -4.0, 3.0, 2.0])
    out = deconv.apply(x)
    if not _close(out, x.detach().clamp(min=0)):
        raise ExerciseError("The forward pass must stay a ReLU: max(x, 0).")
    (result,) = torch.autograd.grad(out, x, g)
    if _close(result, g.clamp(min=0)):
        return _passed()
    if _close(result, g * (x.detach() > 0)):
        raise ExerciseError("That is the ordinary ReLU gradient (it looks at the forward input). "
                            "The deconvnet rule looks only at the gradient's own sign.")
    if _close(result, g.clamp(min=0) * (x.detach() > 0)):
        raise ExerciseError("That is guided backprop (both signs). The deconvnet rule ignores the "
                            "forward input.")
    raise ExerciseError(f"Got {result.tolist()}: pass positive gradients back, block negative "
                        "ones.")


# -- notebook 04 --------------------------------------------------------------------------

def check_smoothgrad(my_smoothgrad: Callable, model: nn.Module, x: torch.Tensor,
                     target: int) -> None:
    """Notebook 04: SmoothGrad, ``my_smoothgrad(model, x, target, n, sigma)``."""
    from ..attribution.gradients import smoothgrad

    torch.manual_seed(1)
    mine = _tensor(my_smoothgrad(model, x, target, 3, 0.2), "SmoothGrad")
    torch.manual_seed(1)
    expected = smoothgrad(model, x, target, n_samples=3, sigma=0.2)
    torch.manual_seed(1)
    signed = smoothgrad(model, x, target, n_samples=3, sigma=0.2, absolute=False)
    if tuple(mine.shape) == tuple(expected.shape[1:]):
        raise ExerciseError(f"Keep the batch axis: expected {tuple(expected.shape)} "
                            "(mean with keepdim=True).")
    _shape(mine, expected.shape, "SmoothGrad")
    if _close(mine, expected, atol=1e-6):
        return _passed()
    if _close(mine, signed, atol=1e-6):
        raise ExerciseError("You averaged signed gradients; saliency averages their magnitude "
                            "|∂y/∂x|.")
    if _close(mine, expected * 3, atol=1e-5):
        raise ExerciseError("You summed over the noisy copies; SmoothGrad averages them.")
    raise ExerciseError("Same noise, different answer: draw the noise as N(0, sigma) per copy "
                        "(torch.normal with the seed already set), one gradient per copy.")


# -- notebook 05 --------------------------------------------------------------------------

def check_lime_kernel(lime_kernel: Callable, masks: torch.Tensor, kernel_width: float = 0.25
                      ) -> None:
    """Notebook 05: lime's kernel weights from the on/off masks (num_samples, S)."""
    mine = _tensor(lime_kernel(masks, kernel_width), "kernel")
    _shape(mine, (masks.shape[0],), "weights")
    ones = torch.ones(masks.shape[1])
    cosine = (masks @ ones) / (masks.norm(dim=1) * ones.norm()).clamp_min(1e-12)
    expected = torch.sqrt(torch.exp(-((1 - cosine) ** 2) / kernel_width ** 2))
    if _close(mine, expected, atol=1e-6):
        return _passed()
    if _close(mine, expected ** 2, atol=1e-6):
        raise ExerciseError("Close: lime takes the square root of the exponential kernel.")
    if _close(mine, torch.sqrt(torch.exp(-(cosine ** 2) / kernel_width ** 2)), atol=1e-6):
        raise ExerciseError("Use the cosine *distance* 1 − similarity: the unperturbed image "
                            "(all ones) must get weight 1.")
    raise ExerciseError("The first sample keeps every superpixel and must weigh 1; samples "
                        "further away (cosine distance) weigh less.")


# -- notebook 06 --------------------------------------------------------------------------

def check_total_variation(my_total_variation: Callable) -> None:
    """Notebook 06: I-GOS's total variation of a (1, 1, h, w) mask."""
    from ..attribution.igos import total_variation

    mask = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    mine = _tensor(my_total_variation(mask), "total variation")
    expected = total_variation(mask)[0]
    if mine.numel() != 1:
        raise ExerciseError(f"Return one number per mask, got shape {tuple(mine.shape)}.")
    mine = mine.reshape(())
    m = mask[0, 0]
    down, right = (m[1:] - m[:-1]) ** 2, (m[:, 1:] - m[:, :-1]) ** 2
    if _close(mine, expected, atol=1e-6):
        return _passed()
    if _close(mine, down.sum() + right.sum(), atol=1e-4):
        raise ExerciseError("Use the mean of the squared differences, not the sum (so the weight "
                            "does not depend on the mask size).")
    if _close(mine, down.mean(), atol=1e-6) or _close(mine, right.mean(), atol=1e-6):
        raise ExerciseError("You measured one direction only: add vertical and horizontal "
                            "neighbour differences.")
    if _close(mine, (m[1:] - m[:-1]).abs().mean() + (m[:, 1:] - m[:, :-1]).abs().mean(),
              atol=1e-6):
        raise ExerciseError("Square the differences (β = 2) instead of taking their absolute "
                            "value.")
    raise ExerciseError("Compare neighbouring mask values, down and right, squared and averaged.")


# -- notebook 07 --------------------------------------------------------------------------

def check_epsilon_rule(my_epsilon_rule: Callable, weight: torch.Tensor) -> None:
    """Notebook 07: the ε-rule for a dense layer without bias, weight (K, J)."""
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(3, weight.shape[1], generator=generator)
    R = torch.rand(3, weight.shape[0], generator=generator)
    mine = _tensor(my_epsilon_rule(weight, a, R), "ε-rule")
    _shape(mine, a.shape, "relevance")
    z = a @ weight.T
    z = z + 1e-6 * torch.where(z >= 0, 1.0, -1.0)
    expected = a * ((R / z) @ weight)
    if _close(mine, expected):
        return _passed()
    if _close(mine, (R / z) @ weight):
        raise ExerciseError("You returned the gradient-trick vector c; the relevance is a ⊙ c.")
    if not torch.allclose(mine.sum(1), expected.sum(1), rtol=1e-3):
        raise ExerciseError("Relevance is not conserved (Σ R_in ≠ Σ R_out): divide R by "
                            "z = a Wᵀ of the *same* layer before sending it back.")
    raise ExerciseError("Conserved but distributed differently: each input gets a_j w_jk / z_k "
                        "of R_k.")


# -- notebook 08 --------------------------------------------------------------------------

def check_smoothing(my_smooth: Callable) -> None:
    """Notebook 08: exponential moving average of maps (T, h, w) with new-frame weight w."""
    from ..video.explain import CamSmoother

    maps = torch.rand(12, 7, 7, generator=torch.Generator().manual_seed(1))
    mine = _tensor(my_smooth(maps, 0.3), "smoothing")
    _shape(mine, maps.shape, "smoothed maps")
    expected = CamSmoother(0.3)(maps)
    if _close(mine, expected, atol=1e-6):
        return _passed()
    if not _close(mine[0], maps[0]):
        raise ExerciseError("The first smoothed map is the first map itself (nothing to average "
                            "with yet).")
    if _close(mine, CamSmoother(0.7)(maps), atol=1e-6):
        raise ExerciseError("The weights are swapped: the new frame gets w, the running average "
                            "1 − w.")
    raise ExerciseError("Average with the previous *smoothed* map S_(t−1), not the previous raw "
                        "map M_(t−1).")


# -- notebook 09 --------------------------------------------------------------------------

def check_pointing_game(my_pointing_game: Callable) -> None:
    """Notebook 09: the pointing game for maps and bool masks (N, H, W)."""
    from ..evaluation.metrics import pointing_game

    maps = torch.rand(6, 16, 16, generator=torch.Generator().manual_seed(0))
    masks = torch.zeros(6, 16, 16, dtype=torch.bool)
    masks[:3, 2:6, 8:15] = True                     # a wide box: rows 2-5, columns 8-14
    maps[:2, 3, 10] = 2.0                           # inside it; (10, 3) lies outside
    maps[3, 10, 3] = 2.0                            # outside; transposed (3, 10) lies inside
    masks[3] = masks[0]
    mine = _tensor(my_pointing_game(maps, masks), "pointing game")
    _shape(mine, (6,), "answer (one per image)")
    if mine.dtype != torch.bool:
        raise ExerciseError("Return True / False per image: a bool tensor.")
    expected = pointing_game(maps, masks)
    if torch.equal(mine, expected):
        return _passed()
    if torch.equal(mine, pointing_game(-maps, masks)):
        raise ExerciseError("You looked at the minimum; the game asks where the *maximum* is.")
    if torch.equal(mine, masks.flatten(1).any(1)):
        raise ExerciseError("You checked whether the mask has any pixel; check the mask at the "
                            "map's maximum.")
    if torch.equal(mine, pointing_game(maps.transpose(1, 2), masks)):
        raise ExerciseError("Rows and columns are swapped: a flat index i of an (H, W) map is "
                            "row i // W and column i % W (or look the flat index up in the "
                            "flattened mask).")
    raise ExerciseError("Find the position of each map's maximum (over H × W) and look it up in "
                        "that image's mask.")
