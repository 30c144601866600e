"""Every explanation method behind one call, with one output convention and one registry.

``explain("Grad-CAM", model, x, target)`` returns (N, H, W) maps at the input's size, in [0, 1]:
positive evidence for the class only (signed methods keep their positive part; gradient
magnitudes take the largest absolute value over colour channels), min-max normalised per image.
One convention makes methods comparable side by side and in the metrics of notebook 09, and
lets the explorer (notebook 10) draw them all with one colour map.

:data:`METHODS` is the single list of methods. Each :class:`Method` carries its defaults
(written once: :func:`explain` runs with them and :func:`estimate_seconds` counts passes with
them), and its capabilities as flags (uses a layer, needs gradients, fast enough for every
video frame). Every other list — the CAM methods, the explorer's choices, the video command
line's choices — is derived from it.

Taught in ``notebooks/09_evaluating_explanations.ipynb`` and ``notebooks/10_explorer.ipynb``.
"""
from __future__ import annotations

import difflib
import time
import weakref
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .attribution.gradients import (
    collapse_channels,
    integrated_gradients,
    noise_tunnel,
    saliency,
    smoothgrad,
)
from .attribution.guided import guided_backprop, guided_grad_cam
from .attribution.igos import igos
from .attribution.lime import lime_samples, paint_superpixels, superpixels, weighted_ridge
from .attribution.occlusion import occlusion, window_positions
from .attribution.paths import (
    blur_integrated_gradients,
    enhanced_integrated_gradients,
    guided_integrated_gradients,
)
from .attribution.relevance import lrp
from .attribution.rise import rise
from .cam.activation import CAM, ISCAM, SSCAM, AblationCAM, EigenCAM, ScoreCAM
from .cam.base import BaseCAM, normalise_maps
from .cam.fullgrad import FullGrad
from .cam.gradient import (
    EigenGradCAM,
    GradCAM,
    GradCAMElementWise,
    GradCAMPlusPlus,
    HiResCAM,
    IntegratedGradCAM,
    LayerCAM,
    SmoothGradCAMPlusPlus,
    XGradCAM,
)
from .core.config import device_of
from .core.hooks import LayerRecorder
from .core.inputs import check_batch
from .core.layers import LayerRef
from .core.models import EfficientNetLite0, model_spec
from .core.modes import eval_mode
from .core.optional import missing_package
from .core.targets import Target, class_ids

__all__ = ["Method", "METHODS", "CAM_METHODS", "method_named", "cam_method", "explain",
           "estimate_seconds", "edge_map"]


@dataclass(frozen=True)
class Method:
    """One explanation method, as the workbook runs it.

    Attributes:
        name, name_zh: English and Chinese names.
        family: ``"CAM"``, ``"gradient"``, ``"perturbation"``, ``"optimisation"``,
            ``"relevance"`` or ``"baseline"`` (ignores the model: for sanity checks).
        paper: Where it comes from.
        run: ``run(model, x, class_ids, layer, **settings)`` -> maps or attributions.
        passes: ``passes(model, x, layer, settings)`` -> passes per image, for cost estimates.
        defaults: The method's settings and their default values (read-only).
        cam_class: The :class:`~xai_helpers.cam.base.BaseCAM` class, for CAM methods.
        uses_layer: Takes a target layer.
        backward: Each pass is a forward + backward; ``False``: batched forward passes only
            (perturbation methods, Score-CAM), which cost much less each.
        per_frame: Cheap enough to run on every frame of a video or a live camera.
    """

    name: str
    name_zh: str
    family: str
    paper: str
    run: Callable = field(repr=False)
    passes: Callable[[nn.Module, torch.Tensor, LayerRef | None, dict], int] = field(repr=False)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    cam_class: type[BaseCAM] | None = None
    uses_layer: bool = False
    backward: bool = True
    per_frame: bool = False

    def __post_init__(self):
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))

    def settings(self, overrides: Mapping[str, Any] | None = None) -> dict:
        """The defaults with ``overrides`` applied (settings of other methods are ignored)."""
        overrides = overrides or {}
        return {key: overrides.get(key, value) for key, value in self.defaults.items()}


def edge_map(x: torch.Tensor) -> torch.Tensor:
    """Sobel edge strength of the input, (N, H, W): a "saliency map" that never looks at the
    model. Adebayo et al. (2018) show that some methods resemble it; the model-randomisation
    check must flag it (its maps do not change when the weights do).

    Example:
        >>> float(edge_map(torch.ones(1, 3, 5, 5)).abs().max())
        0.0
    """
    gray = x.detach().float().mean(dim=1, keepdim=True)
    kernel = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]],
                          device=gray.device)
    gx = F.conv2d(F.pad(gray, (1, 1, 1, 1), mode="replicate"), kernel.view(1, 1, 3, 3))
    gy = F.conv2d(F.pad(gray, (1, 1, 1, 1), mode="replicate"), kernel.T.reshape(1, 1, 3, 3))
    return torch.sqrt(gx ** 2 + gy ** 2)[:, 0]


def _positive(attr: torch.Tensor) -> torch.Tensor:
    return collapse_channels(attr, "sum").clamp(min=0)


def _one(model, x, layer, settings) -> int:
    return 1


# -- the methods' runs -------------------------------------------------------------------------

def _cam(cam_class: type[BaseCAM], **names):
    """Run a CAM class; ``names`` maps the class's own argument names to registry settings."""
    def run(model, x, targets, layer, **settings):
        arguments = {own: settings[key] for own, key in names.items()}
        return cam_class(model, layer, **arguments)(x, targets.tolist())
    return run


def _channels(model, x, layer, settings) -> int:
    """Score-CAM's passes: one per channel of the CAM layer (an upper bound: equal masks are
    scored once), plus the forward pass that records the layer."""
    name = layer or model_spec(model).cam_layer
    with LayerRecorder(model, name, detach=True) as recorder, eval_mode(model), \
            torch.inference_mode():
        model(x[:1].to(device_of(model)))
    return int(recorder.activations[name].shape[1]) + 1


def _occlusion_geometry(x: torch.Tensor, settings: dict) -> tuple[int, int]:
    """Window and stride in pixels: given, or about a 14th of the image and half of that."""
    window = settings["window"] or max(4, x.shape[-1] // 14)
    return window, settings["stride"] or max(2, window // 2)


def _occlusion(model, x, targets, layer, **settings):
    window, stride = _occlusion_geometry(x, settings)
    return _positive(occlusion(model, x, targets.tolist(), window=(window, window),
                               stride=(stride, stride)))


def _occlusion_passes(model, x, layer, settings) -> int:
    window, stride = _occlusion_geometry(x, settings)
    return (len(window_positions(x.shape[-2], window, stride))
            * len(window_positions(x.shape[-1], window, stride)))


def _lime(model, x, targets, layer, *, num_samples, segments):
    preprocessing = model_spec(model).preprocessing
    maps = []
    for i in range(x.shape[0]):
        picture = preprocessing.inverse(x[i].cpu())
        labels = superpixels(picture, "slic", n_segments=segments)
        samples = lime_samples(model, x[i:i + 1], int(targets[i]), labels,
                               num_samples=num_samples, seed=0)
        coefficients, _ = weighted_ridge(samples.masks, samples.probabilities, samples.weights)
        maps.append(paint_superpixels(coefficients, labels).clamp(min=0))
    return torch.stack(maps)


def _igos(model, x, targets, layer, *, iterations, ig_steps):
    return torch.stack([igos(model, x[i:i + 1], int(targets[i]), iterations=iterations,
                             ig_steps=ig_steps).saliency for i in range(x.shape[0])])


def _input_bounds(model) -> tuple[float, float]:
    preprocessing = model_spec(model).preprocessing
    lows = [(0.0 - m) / s for m, s in zip(preprocessing.mean, preprocessing.std)]
    highs = [(1.0 - m) / s for m, s in zip(preprocessing.mean, preprocessing.std)]
    return min(lows), max(highs)


# one cached LRP-ready copy per live model (weak keys: a model that is garbage-collected frees
# its copy, and a new model that gets the old one's id() cannot pick up a stale copy)
_CANONICAL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _lrp(model, x, targets, layer, alpha=None, beta=None):
    """LRP with the ε-γ-z^B composite, or with α-β for the convolutions when α is given."""
    low, high = _input_bounds(model)
    if isinstance(model, nn.Sequential):
        rule = {"rule": "alpha_beta", "alpha": alpha, "beta": beta} if alpha is not None else {}
        relevance, _ = lrp(model, x.to(device_of(model)), targets.to(device_of(model)),
                           low=low, high=high, **rule)
        return _positive(relevance)
    if isinstance(model, EfficientNetLite0):
        try:
            from .attribution.canonize import canonize_efficientnet, lrp_relevance
        except ModuleNotFoundError as error:
            raise (missing_package(error, "LRP on EfficientNet-Lite0") or error) from error

        if model not in _CANONICAL:
            _CANONICAL[model] = canonize_efficientnet(model)
        composite = {"composite": "alpha_beta", "alpha": alpha, "beta": beta} \
            if alpha is not None else {}
        relevance, _, _ = lrp_relevance(_CANONICAL[model], x, targets, low=low, high=high,
                                        **composite)
        return _positive(relevance)
    raise ValueError(f"LRP here supports nn.Sequential CNNs and EfficientNet-Lite0, not "
                     f"{type(model).__name__} (its BatchNorm and skips need a canonizer first).")


def _cam_method(cam_class, name_zh, paper, *, per_frame=True, names=None, uses_layer=True,
                **flags) -> Method:
    return Method(cam_class.display_name, name_zh, "CAM", paper,
                  _cam(cam_class, **(names or {})), flags.pop("passes", _one),
                  cam_class=cam_class, uses_layer=uses_layer,
                  backward=cam_class.uses_gradients, per_frame=per_frame, **flags)


def _layer_channels(model, x, layer) -> int:
    name = layer or model_spec(model).cam_layer
    with LayerRecorder(model, name, detach=True) as recorder, eval_mode(model), \
            torch.inference_mode():
        model(x[:1].to(device_of(model)))
    return int(recorder.activations[name].shape[1])


def _ablation_passes(model, x, layer, settings) -> int:
    """Rough: the layers after the target layer, once per channel (measured on
    EfficientNet-Lite0: about a twentieth of a full pass per channel)."""
    return _layer_channels(model, x, layer) // 20 + 1


def _enhanced_ig(model, x, targets, layer, *, n_points):
    """Enhanced IG with the workbook's default baselines: black, white and the blurred image
    (for class-specific ones, call :func:`enhanced_integrated_gradients` yourself)."""
    from .attribution.igos import blurred_baseline

    prep = model_spec(model).preprocessing
    black = torch.tensor([-m / s for m, s in zip(prep.mean, prep.std)], device=x.device)
    white = torch.tensor([(1 - m) / s for m, s in zip(prep.mean, prep.std)], device=x.device)
    maps = []
    for i in range(len(x)):
        baselines = torch.stack([black.view(-1, 1, 1).expand_as(x[i]),
                                 white.view(-1, 1, 1).expand_as(x[i]),
                                 blurred_baseline(x[i:i + 1])[0]])
        maps.append(enhanced_integrated_gradients(model, x[i:i + 1], [int(targets[i])],
                                                  baselines, n_points=n_points)[0])
    return _positive(torch.stack(maps))


#: Every method of the workbook, by name, in the order notebooks teach them.
METHODS: dict[str, Method] = {m.name: m for m in [
    _cam_method(CAM, "类激活映射", "Zhou et al., CVPR 2016"),
    _cam_method(GradCAM, "梯度加权类激活映射", "Selvaraju et al., ICCV 2017"),
    _cam_method(GradCAMPlusPlus, "Grad-CAM++", "Chattopadhay et al., WACV 2018"),
    _cam_method(XGradCAM, "XGrad-CAM", "Fu et al., BMVC 2020"),
    _cam_method(HiResCAM, "高分辨率类激活映射", "Draelos & Carin, arXiv 2020"),
    _cam_method(GradCAMElementWise, "逐元素 Grad-CAM", "pytorch-grad-cam (after Draelos & Carin)"),
    _cam_method(LayerCAM, "层类激活映射", "Jiang et al., TIP 2021"),
    _cam_method(ScoreCAM, "分数加权类激活映射", "Wang et al., CVPR-W 2020", per_frame=False,
                passes=_channels),
    _cam_method(EigenCAM, "特征主成分 CAM", "Muhammad & Yeasin, IJCNN 2020"),
    _cam_method(EigenGradCAM, "梯度主成分 CAM", "pytorch-grad-cam"),
    _cam_method(AblationCAM, "消融类激活映射", "Desai & Ramaswamy, WACV 2020", per_frame=False,
                passes=_ablation_passes),
    _cam_method(FullGrad, "全梯度", "Srinivas & Fleuret, NeurIPS 2019", per_frame=False,
                uses_layer=False),
    _cam_method(SmoothGradCAMPlusPlus, "平滑 Grad-CAM++", "Omeiza et al., arXiv 2019",
                per_frame=False, names={"n_samples": "n_samples", "sigma": "sigma"},
                defaults={"n_samples": 4, "sigma": 0.3},
                passes=lambda m, x, layer, s: s["n_samples"] + 1),
    _cam_method(SSCAM, "平滑分数类激活映射", "Wang et al., arXiv 2020", per_frame=False,
                names={"n_samples": "n_samples", "sigma": "sigma"},
                defaults={"n_samples": 35, "sigma": 2.0},
                passes=lambda m, x, layer, s: _layer_channels(m, x, layer) * s["n_samples"]),
    _cam_method(ISCAM, "积分分数类激活映射", "Naidu et al., arXiv 2020", per_frame=False,
                names={"n_samples": "n_samples"}, defaults={"n_samples": 10},
                passes=lambda m, x, layer, s: _layer_channels(m, x, layer) * s["n_samples"]),
    _cam_method(IntegratedGradCAM, "积分 Grad-CAM", "Sattarzadeh et al., ICASSP 2021",
                per_frame=False, names={"n_steps": "n_steps"}, defaults={"n_steps": 32},
                passes=lambda m, x, layer, s: s["n_steps"]),
    Method("Saliency", "梯度显著图", "gradient", "Simonyan et al., ICLR-W 2014",
           lambda m, x, t, layer: collapse_channels(saliency(m, x, t.tolist())), _one),
    Method("SmoothGrad", "平滑梯度", "gradient", "Smilkov et al., 2017",
           lambda m, x, t, layer, n_samples, sigma: collapse_channels(
               smoothgrad(m, x, t.tolist(), n_samples=n_samples, sigma=sigma)),
           lambda m, x, layer, s: s["n_samples"], defaults={"n_samples": 25, "sigma": 0.15}),
    Method("Guided Backprop", "导向反向传播", "gradient", "Springenberg et al., ICLR-W 2015",
           lambda m, x, t, layer: collapse_channels(guided_backprop(m, x, t.tolist())), _one),
    Method("Guided Grad-CAM", "导向 Grad-CAM", "gradient", "Selvaraju et al., ICCV 2017",
           lambda m, x, t, layer: collapse_channels(guided_grad_cam(m, x, t.tolist(), layer)),
           lambda m, x, layer, s: 2, uses_layer=True),
    Method("Integrated Gradients", "积分梯度", "gradient", "Sundararajan et al., ICML 2017",
           lambda m, x, t, layer, n_steps: _positive(
               integrated_gradients(m, x, t.tolist(), n_steps=n_steps)),
           lambda m, x, layer, s: s["n_steps"], defaults={"n_steps": 32}),
    Method("IG + NoiseTunnel", "积分梯度 + 噪声隧道", "gradient", "Smilkov et al., 2017 (on IG)",
           lambda m, x, t, layer, n_samples, sigma, n_steps: _positive(noise_tunnel(
               integrated_gradients, m, x, t.tolist(), n_samples=n_samples, sigma=sigma,
               n_steps=n_steps)),
           lambda m, x, layer, s: s["n_samples"] * s["n_steps"],
           defaults={"n_samples": 8, "sigma": 0.15, "n_steps": 16}),
    Method("Guided IG", "引导积分梯度", "gradient", "Kapishnikov et al., CVPR 2021",
           lambda m, x, t, layer, steps: _positive(guided_integrated_gradients(
               m, x, t.tolist(), steps=steps).float()),
           lambda m, x, layer, s: s["steps"], defaults={"steps": 50}),
    Method("Blur IG", "模糊积分梯度", "gradient", "Xu et al., CVPR 2020",
           lambda m, x, t, layer, steps: _positive(blur_integrated_gradients(
               m, x, t.tolist(), steps=steps).float()),
           lambda m, x, layer, s: s["steps"], defaults={"steps": 50}),
    Method("Enhanced IG", "增强积分梯度", "gradient", "Jha et al., Genome Biology 2020",
           _enhanced_ig, lambda m, x, layer, s: 3 * s["n_points"], defaults={"n_points": 32}),
    Method("Occlusion", "遮挡", "perturbation", "Zeiler & Fergus, ECCV 2014", _occlusion,
           _occlusion_passes, defaults={"window": None, "stride": None}, backward=False),
    Method("LIME", "局部可解释模型无关解释", "perturbation", "Ribeiro et al., KDD 2016", _lime,
           lambda m, x, layer, s: s["num_samples"],
           defaults={"num_samples": 500, "segments": 40}, backward=False),
    Method("RISE", "随机输入采样解释", "perturbation", "Petsiuk et al., BMVC 2018",
           lambda m, x, t, layer, n_masks: rise(m, x, t.tolist(), n_masks=n_masks),
           lambda m, x, layer, s: s["n_masks"], defaults={"n_masks": 1000}, backward=False),
    # each iteration: the path gradient (ig_steps forward + backward) and a line search that
    # evaluates the path about once or twice more (counted as one pass per point). 10 iterations
    # keep the explorer and notebook 09's table affordable on a CPU; the authors' code runs 15
    # iterations with 20 path points (notebook 06, `xh.igos` defaults)
    Method("I-GOS", "积分梯度优化显著图", "optimisation", "Qi, Khorram, Li, AAAI 2020", _igos,
           lambda m, x, layer, s: 2 * s["iterations"] * s["ig_steps"],
           defaults={"iterations": 10, "ig_steps": 20}),
    Method("LRP", "逐层相关性传播", "relevance", "Bach et al., PLoS ONE 2015",
           lambda m, x, t, layer: _lrp(m, x, t, layer), lambda m, x, layer, s: 2),
    Method("LRP α-β", "逐层相关性传播 α-β", "relevance", "Bach et al., PLoS ONE 2015",
           lambda m, x, t, layer, alpha, beta: _lrp(m, x, t, layer, alpha=alpha, beta=beta),
           lambda m, x, layer, s: 2, defaults={"alpha": 1.0, "beta": 0.0}),
    Method("Edge detector", "边缘检测器（对照）", "baseline", "Adebayo et al., NeurIPS 2018",
           lambda m, x, t, layer: edge_map(x), lambda m, x, layer, s: 0),
]}

#: The CAM family by name (a view of :data:`METHODS`): galleries, widgets, the video CLI.
CAM_METHODS: dict[str, type[BaseCAM]] = {name: method.cam_class for name, method
                                          in METHODS.items() if method.cam_class is not None}


def _key(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "").replace(" ", "")


def method_named(name: str, among: Mapping[str, Any] | None = None) -> Method:
    """A method of :data:`METHODS` by name, forgiving about case, dashes and spaces
    (``"gradcam"`` is ``"Grad-CAM"``).

    Raises:
        ValueError: Unknown name; the message lists close matches and every name.

    Example:
        >>> method_named("integrated gradients").name
        'Integrated Gradients'
    """
    among = METHODS if among is None else among
    by_key = {_key(key): key for key in among}
    if _key(name) in by_key:
        return METHODS[by_key[_key(name)]]
    close = difflib.get_close_matches(_key(name), list(by_key), n=3, cutoff=0.5)
    suggestion = (f" Did you mean {', '.join(repr(by_key[c]) for c in close)}?" if close
                  else "")
    raise ValueError(f"Unknown method {name!r}.{suggestion} Choose one of: {', '.join(among)}.")


def cam_method(name: str) -> type[BaseCAM]:
    """A CAM class by name, forgiving about case and dashes: ``"gradcam++"`` = ``"Grad-CAM++"``.

    Example:
        >>> cam_method("gradcam++").__name__
        'GradCAMPlusPlus'
    """
    return method_named(name, CAM_METHODS).cam_class


def _check_settings(settings: Mapping[str, Any]) -> None:
    known = {key for method in METHODS.values() for key in method.defaults}
    unknown = [key for key in settings if key not in known]
    if unknown:
        hints = {key: difflib.get_close_matches(key, sorted(known), n=1) for key in unknown}
        said = ", ".join(f"{key!r}" + (f" (did you mean {hints[key][0]!r}?)" if hints[key] else "")
                         for key in unknown)
        raise ValueError(f"No method has the setting {said}. Settings: {', '.join(sorted(known))}.")


def explain(name: str, model: nn.Module, x: torch.Tensor, target: Target = None, *,
            layer: LayerRef | None = None, **settings) -> torch.Tensor:
    """Run one method of :data:`METHODS` with the shared output convention.

    Args:
        name: A method's name (``"Grad-CAM"``, ``"LIME"`` …; case and dashes optional).
        model: A classifier with a ``ModelSpec`` (:func:`load_model`, or ``xai_spec`` set).
        x: Preprocessed batch (N, 3, H, W).
        target: ``None`` (each image's top class), one class id, or one per image.
        layer: The layer for methods that use one (default: the model's CAM layer).
        settings: Method settings; a method ignores the others' (so one dict can serve many
            methods), but a setting no method knows is an error. See each method's
            ``METHODS[name].defaults``.

    Returns:
        (N, H, W) maps in [0, 1] on the CPU.

    Example:
        >>> maps = explain("Integrated Gradients", model, x, 235, n_steps=16)  # doctest: +SKIP
    """
    method = method_named(name)
    _check_settings(settings)
    x = check_batch(x, model).to(device_of(model))
    with eval_mode(model):
        targets = class_ids(model, x, target)
        maps = method.run(model, x, targets, layer, **method.settings(settings))
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
        with eval_mode(model):
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


def estimate_seconds(name: str, model: nn.Module, x: torch.Tensor,
                     layer: LayerRef | None = None, **settings) -> float:
    """Rough cost of :func:`explain` for one image: passes × the measured time of one pass
    (forward + backward for gradient methods, a batched forward for perturbation methods),
    counted with the same settings :func:`explain` would use.

    Pass times are measured once per model (best of three, on ``x[:1]``) and cached.

    Example:
        >>> f"{estimate_seconds('LIME', model, x, num_samples=1000):.0f} s"   # doctest: +SKIP
        '25 s'
    """
    method = method_named(name)
    _check_settings(settings)
    with_backward, forward_only = _pass_seconds(model, check_batch(x, model))
    per_pass = with_backward if method.backward else forward_only
    return method.passes(model, x, layer, method.settings(settings)) * per_pass
