"""Every explanation method of notebooks 01–07 behind one call, with one output convention.

``explain("Grad-CAM", model, x, target)`` returns (N, H, W) maps at the input's size, in [0, 1]:
positive evidence for the class only (signed methods keep their positive part; gradient
magnitudes take the largest absolute value over colour channels), min-max normalised per image.
One convention makes methods comparable side by side and in the metrics of notebook 09, and
lets the explorer (notebook 10) draw them all with one colour map.

Each :class:`Method` also says how many forward(+backward) passes it needs, so that a cost can
be shown *before* a slow method runs (:func:`estimate_seconds`).
"""
from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .cam import CAM_METHODS, eval_mode, normalise_maps
from .config import device_of
from .gradients import collapse_channels, integrated_gradients, saliency, smoothgrad
from .guided import guided_backprop, guided_grad_cam
from .hooks import LayerRecorder
from .igos import igos
from .lrp import lrp
from .models import EfficientNetLite0, model_spec
from .perturbation import (
    lime_samples,
    occlusion,
    paint_superpixels,
    superpixels,
    weighted_ridge,
    window_positions,
)

__all__ = ["Method", "METHODS", "explain", "estimate_seconds", "edge_map", "resolve_targets"]


@dataclass(frozen=True)
class Method:
    """One explanation method.

    Attributes:
        name, name_zh: English and Chinese names.
        family: ``"CAM"``, ``"gradient"``, ``"perturbation"``, ``"optimisation"``,
            ``"relevance"`` or ``"baseline"`` (ignores the model: for sanity checks).
        paper: Where it comes from.
        uses_layer: Takes a target layer (CAM methods).
        passes: Passes per image, given ``(model, x, layer, settings)``.
        backward: Each pass is a forward + backward (gradients); ``False``: batched forward
            passes only (perturbation methods, Score-CAM), which cost much less each.
    """

    name: str
    name_zh: str
    family: str
    paper: str
    run: Callable = field(repr=False)
    passes: Callable[[nn.Module, torch.Tensor, object, dict], int] = field(repr=False)
    uses_layer: bool = False
    backward: bool = True


def resolve_targets(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """Class ids, one per image: ``None`` means each image's top class."""
    if target is None:
        with eval_mode(model), torch.inference_mode():     # BatchNorm / dropout as in use
            return model(x.to(device_of(model))).argmax(dim=1).cpu()
    return torch.as_tensor(target).expand(x.shape[0]).cpu()


def edge_map(x: torch.Tensor) -> torch.Tensor:
    """Sobel edge strength of the input, (N, H, W): a "saliency map" that never looks at the
    model. Adebayo et al. (2018) show that some methods resemble it; the model-randomisation
    check must flag it (its maps do not change when the weights do)."""
    gray = x.detach().float().mean(dim=1, keepdim=True).cpu()
    kernel = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    gx = F.conv2d(F.pad(gray, (1, 1, 1, 1), mode="replicate"), kernel.view(1, 1, 3, 3))
    gy = F.conv2d(F.pad(gray, (1, 1, 1, 1), mode="replicate"), kernel.T.reshape(1, 1, 3, 3))
    return torch.sqrt(gx ** 2 + gy ** 2)[:, 0]


def _positive(attr: torch.Tensor) -> torch.Tensor:
    return collapse_channels(attr, "sum").clamp(min=0)


def _cam(name):
    def run(model, x, targets, layer, settings):
        return CAM_METHODS[name](model, layer)(x, targets.tolist())
    return run


def _occlusion(model, x, targets, layer, settings):
    window = settings.get("window", max(4, x.shape[-1] // 14))
    stride = settings.get("stride", max(2, window // 2))
    return _positive(occlusion(model, x, targets.tolist(), window=(window, window),
                               stride=(stride, stride)))


def _lime(model, x, targets, layer, settings):
    preprocessing = model_spec(model).preprocessing
    maps = []
    for i in range(x.shape[0]):
        picture = preprocessing.inverse(x[i].cpu())
        segments = superpixels(picture, "slic", n_segments=settings.get("segments", 40))
        samples = lime_samples(model, x[i:i + 1], int(targets[i]), segments,
                               num_samples=settings.get("num_samples", 500), seed=0)
        coefficients, _ = weighted_ridge(samples.masks, samples.probabilities, samples.weights)
        maps.append(paint_superpixels(coefficients, segments).clamp(min=0))
    return torch.stack(maps)


def _igos(model, x, targets, layer, settings):
    return torch.stack([igos(model, x[i:i + 1], int(targets[i]),
                             iterations=settings.get("iterations", 10)).saliency
                        for i in range(x.shape[0])])


def _input_bounds(model) -> tuple[float, float]:
    preprocessing = model_spec(model).preprocessing
    lows = [(0.0 - m) / s for m, s in zip(preprocessing.mean, preprocessing.std)]
    highs = [(1.0 - m) / s for m, s in zip(preprocessing.mean, preprocessing.std)]
    return min(lows), max(highs)


# one cached LRP-ready copy per live model (weak keys: a model that is garbage-collected frees
# its copy, and a new model that gets the old one's id() cannot pick up a stale copy)
_CANONICAL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _lrp(model, x, targets, layer, settings):
    low, high = _input_bounds(model)
    if isinstance(model, nn.Sequential):
        relevance, _ = lrp(model, x.to(device_of(model)), targets.to(device_of(model)),
                           low=low, high=high)
        return _positive(relevance)
    if isinstance(model, EfficientNetLite0):
        from .canonize import canonize_efficientnet, lrp_relevance

        if model not in _CANONICAL:
            _CANONICAL[model] = canonize_efficientnet(model)
        relevance, _, _ = lrp_relevance(_CANONICAL[model], x, targets, low=low, high=high)
        return _positive(relevance)
    raise ValueError(f"LRP here supports nn.Sequential CNNs and EfficientNet-Lite0, not "
                     f"{type(model).__name__} (its BatchNorm and skips need a canonizer first).")


def _one(model, x, layer, settings) -> int:
    return 1


def _channels(model, x, layer, settings) -> int:
    """Score-CAM's passes: one per channel of the CAM layer (an upper bound: equal masks are
    scored once)."""
    name = layer or model_spec(model).cam_layer
    with LayerRecorder(model, name, detach=True) as recorder, torch.inference_mode():
        model(x[:1].to(device_of(model)))
    return int(recorder.activations[name].shape[1]) + 1


def _occlusion_passes(model, x, layer, settings) -> int:
    side = x.shape[-1]
    window = settings.get("window", max(4, side // 14))
    stride = settings.get("stride", max(2, window // 2))
    return len(window_positions(x.shape[-2], window, stride)) * len(
        window_positions(side, window, stride))


METHODS: dict[str, Method] = {m.name: m for m in [
    Method("CAM", "类激活映射", "CAM", "Zhou et al., CVPR 2016", _cam("CAM"),
           _one, uses_layer=True),
    Method("Grad-CAM", "梯度加权类激活映射", "CAM", "Selvaraju et al., ICCV 2017",
           _cam("Grad-CAM"), _one, uses_layer=True),
    Method("Grad-CAM++", "Grad-CAM++", "CAM", "Chattopadhay et al., WACV 2018",
           _cam("Grad-CAM++"), _one, uses_layer=True),
    Method("XGrad-CAM", "XGrad-CAM", "CAM", "Fu et al., BMVC 2020", _cam("XGrad-CAM"),
           _one, uses_layer=True),
    Method("LayerCAM", "层类激活映射", "CAM", "Jiang et al., TIP 2021", _cam("LayerCAM"),
           _one, uses_layer=True),
    Method("Score-CAM", "分数加权类激活映射", "CAM", "Wang et al., CVPR-W 2020",
           _cam("Score-CAM"), _channels, uses_layer=True, backward=False),
    Method("Eigen-CAM", "特征主成分 CAM", "CAM", "Muhammad & Yeasin, IJCNN 2020",
           _cam("Eigen-CAM"), _one, uses_layer=True),
    Method("Saliency", "显著图", "gradient", "Simonyan et al., ICLR-W 2014",
           lambda m, x, t, layer, s: collapse_channels(saliency(m, x, t.tolist())),
           _one),
    Method("SmoothGrad", "平滑梯度", "gradient", "Smilkov et al., 2017",
           lambda m, x, t, layer, s: collapse_channels(
               smoothgrad(m, x, t.tolist(), n_samples=s.get("n_samples", 25))),
           lambda m, x, layer, s: s.get("n_samples", 25)),
    Method("Guided Backprop", "导向反向传播", "gradient", "Springenberg et al., ICLR-W 2015",
           lambda m, x, t, layer, s: collapse_channels(guided_backprop(m, x, t.tolist())),
           _one),
    Method("Guided Grad-CAM", "导向 Grad-CAM", "gradient", "Selvaraju et al., ICCV 2017",
           lambda m, x, t, layer, s: collapse_channels(guided_grad_cam(m, x, t.tolist(), layer)),
           lambda m, x, layer, s: 2, uses_layer=True),
    Method("Integrated Gradients", "积分梯度", "gradient", "Sundararajan et al., ICML 2017",
           lambda m, x, t, layer, s: _positive(
               integrated_gradients(m, x, t.tolist(), n_steps=s.get("n_steps", 32))),
           lambda m, x, layer, s: s.get("n_steps", 32)),
    Method("Occlusion", "遮挡", "perturbation", "Zeiler & Fergus, ECCV 2014", _occlusion,
           _occlusion_passes, backward=False),
    Method("LIME", "局部可解释模型无关解释", "perturbation", "Ribeiro et al., KDD 2016", _lime,
           lambda m, x, layer, s: s.get("num_samples", 500), backward=False),
    Method("I-GOS", "积分梯度优化显著图", "optimisation", "Qi, Khorram, Li, AAAI 2020", _igos,
           lambda m, x, layer, s: s.get("iterations", 10) * 20),
    Method("LRP", "逐层相关性传播", "relevance", "Bach et al., PLoS ONE 2015", _lrp,
           lambda m, x, layer, s: 2),
    Method("Edge detector", "边缘检测（基线）", "baseline", "Adebayo et al., NeurIPS 2018",
           lambda m, x, t, layer, s: edge_map(x), lambda m, x, layer, s: 0),
]}


def explain(name: str, model: nn.Module, x: torch.Tensor, target=None, *, layer=None,
            **settings) -> torch.Tensor:
    """Run one method of :data:`METHODS` with the shared output convention.

    Args:
        name: A key of :data:`METHODS` (``"Grad-CAM"``, ``"LIME"`` …).
        model: A classifier with a ``ModelSpec`` (:func:`load_model`, or ``xai_spec`` set).
        x: Preprocessed batch (N, 3, H, W).
        target: ``None`` (each image's top class), one id or one per image.
        layer: The CAM layer for methods with ``uses_layer`` (default: the model's).
        settings: Method settings, e.g. ``n_steps`` (IG), ``n_samples`` (SmoothGrad),
            ``window`` / ``stride`` (occlusion), ``num_samples`` / ``segments`` (LIME),
            ``iterations`` (I-GOS).

    Returns:
        (N, H, W) maps in [0, 1] on the CPU.

    Example:
        >>> maps = explain("Integrated Gradients", model, x, 235, n_steps=16)  # doctest: +SKIP
    """
    if name not in METHODS:
        raise ValueError(f"Unknown method {name!r}; choose one of {list(METHODS)}.")
    if x.ndim != 4:
        raise ValueError(f"Expected a batch (N, 3, H, W), got shape {tuple(x.shape)}.")
    targets = resolve_targets(model, x, target)
    maps = METHODS[name].run(model, x.to(device_of(model)), targets, layer, settings)
    maps = maps.detach().float().cpu()
    if maps.shape[-2:] != x.shape[-2:]:
        maps = F.interpolate(maps[:, None], size=x.shape[-2:], mode="bilinear",
                             align_corners=False)[:, 0]
    return normalise_maps(maps)


_PASS_SECONDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _pass_seconds(model: nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """(forward + backward of one image, batched forward per image), best of 3, cached."""
    if model not in _PASS_SECONDS:
        probe = x[:1].detach().to(device_of(model))
        batch = probe.expand(8, *probe.shape[1:]).contiguous()
        backward, forward = [], []
        for _ in range(3):
            start = time.perf_counter()
            with torch.enable_grad():
                grad_input = probe.clone().requires_grad_(True)
                torch.autograd.grad(model(grad_input).max(), grad_input)
            backward.append(time.perf_counter() - start)
            start = time.perf_counter()
            with torch.inference_mode():
                model(batch)
            forward.append((time.perf_counter() - start) / len(batch))
        _PASS_SECONDS[model] = (min(backward), min(forward))
    return _PASS_SECONDS[model]


def estimate_seconds(name: str, model: nn.Module, x: torch.Tensor, layer=None,
                     **settings) -> float:
    """Rough cost of :func:`explain` for one image: passes × the measured time of one pass
    (forward + backward for gradient methods, a batched forward for perturbation methods).

    Pass times are measured once per model (best of three, on ``x[:1]``) and cached.

    Example:
        >>> f"{estimate_seconds('LIME', model, x, num_samples=1000):.0f} s"   # doctest: +SKIP
        '25 s'
    """
    method = METHODS[name]
    with_backward, forward_only = _pass_seconds(model, x)
    per_pass = with_backward if method.backward else forward_only
    return method.passes(model, x, layer, settings) * per_pass
