"""The suite's agreement checks, written as functions of the implementation under test.

The regular tests call them with the package's methods; ``tests/test_mutants.py`` calls the
same functions with plausible *wrong* implementations and asserts that each one is rejected.
That is what makes a check trustworthy: it is seen to pass on the right code and to fail on the
wrong code a learner or a refactoring could produce.

Reference maps are computed once per (reference, layer) and cached for the session.
"""
from __future__ import annotations

import copy
import json
import os
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from unittest import mock

import numpy as np
import pytorch_grad_cam as pgc
import torch
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection

import xai_helpers as xh
from xai_helpers.video.explain import FrameExplainer, explain_video, render_frame
from xai_helpers.video.files import VideoWriter, read_frames

#: dog.jpg explained as German shepherd, chelsea.png as tiger cat: a batch of two with
#: different targets, so a method that mixes up images or targets is caught.
IMAGES = ("dog", "chelsea")
TARGETS = (235, 282)
#: The layer before pooling, where Grad-CAM = XGrad-CAM = HiResCAM (up to scale) and
#: LayerCAM = Grad-CAM-ElementWise, and two inner layers (14x14), where they all differ.
CAM_LAYERS = ("_head_act", "_blocks.15", "_blocks.10")
#: Per-layer tolerance for maps in [0, 1] against pytorch-grad-cam (measured: see test_cam).
CAM_TOLERANCE = 1e-5


def _aligned_projection(weighted: np.ndarray) -> np.ndarray:
    """pytorch-grad-cam's first-component projection with *our* sign convention: the map
    correlates positively with the channel sum of what was projected (an SVD's sign is
    arbitrary; pytorch-grad-cam leaves it to LAPACK)."""
    projection = get_2d_projection(weighted)
    reference = weighted.sum(axis=1)
    centred_p = projection - projection.mean(axis=(1, 2), keepdims=True)
    centred_r = reference - reference.mean(axis=(1, 2), keepdims=True)
    sign = np.sign((centred_p * centred_r).sum(axis=(1, 2)))
    sign[sign == 0] = 1
    return projection * sign[:, None, None]


class AlignedEigenCAM(pgc.EigenCAM):
    """pytorch-grad-cam's Eigen-CAM, end to end, with the sign convention stated above."""

    def get_cam_image(self, input_tensor, target_layer, targets, activations, grads,
                      eigen_smooth):
        return _aligned_projection(activations)


class AlignedEigenGradCAM(pgc.EigenGradCAM):
    """pytorch-grad-cam's EigenGrad-CAM, end to end, with the sign convention stated above."""

    def get_cam_image(self, input_tensor, target_layer, targets, activations, grads,
                      eigen_smooth):
        return _aligned_projection(grads * activations)


#: Our method name -> its pytorch-grad-cam counterpart (the same formula).
PGC_REFERENCE = {
    "Grad-CAM": pgc.GradCAM, "Grad-CAM++": pgc.GradCAMPlusPlus, "XGrad-CAM": pgc.XGradCAM,
    "HiResCAM": pgc.HiResCAM, "Grad-CAM-ElementWise": pgc.GradCAMElementWise,
    "LayerCAM": pgc.LayerCAM, "Eigen-CAM": AlignedEigenCAM,
    "EigenGrad-CAM": AlignedEigenGradCAM, "Score-CAM": pgc.ScoreCAM,
}


@lru_cache(maxsize=None)
def _model():
    torch.set_num_threads(2)
    return xh.load_model("efficientnet_lite0", device="cpu")


def model_and_batch():
    """EfficientNet-Lite0 and the two-image batch (cached)."""
    model = _model()
    return model, _batch()


@lru_cache(maxsize=None)
def _batch():
    return xh.preprocess(_model(), [xh.test_image_path(name) for name in IMAGES])


@lru_cache(maxsize=None)
def pgc_map(method: str, layer: str, batch: tuple[str, ...] = IMAGES,
            targets: tuple[int, ...] = TARGETS) -> torch.Tensor:
    """pytorch-grad-cam's map (N, 224, 224) for our method name at ``layer``."""
    model = _model()
    x = xh.preprocess(model, [xh.test_image_path(name) for name in batch])
    with PGC_REFERENCE[method](model=model, target_layers=[xh.get_layer(model, layer)]) as ref:
        out = ref(input_tensor=x, targets=[ClassifierOutputTarget(t) for t in targets])
    return torch.from_numpy(out)


def cam_difference(method_class, method: str, layer: str, batch=IMAGES, targets=TARGETS) -> float:
    """Largest |ours - pytorch-grad-cam| of ``method_class`` (a BaseCAM class) at ``layer``."""
    model = _model()
    x = xh.preprocess(model, [xh.test_image_path(name) for name in batch])
    ours = method_class(model, layer)(x, list(targets))
    theirs = pgc_map(method, layer, tuple(batch), tuple(targets))
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    return float((ours - theirs).abs().max())


def assert_cam_agrees(method_class, method: str, layer: str, tolerance: float = CAM_TOLERANCE,
                      batch=IMAGES, targets=TARGETS) -> float:
    """The check of ``test_cam``: ``method_class`` gives pytorch-grad-cam's ``method`` map."""
    difference = cam_difference(method_class, method, layer, batch, targets)
    assert difference < tolerance, f"{method} at {layer}: max difference {difference:.2e}"
    return difference


# -- gradient attributions ---------------------------------------------------------------------

#: dog.jpg as German shepherd (its top class), coffee.png as cup (its second): a method that
#: explains the top class whatever the target fails.
GRADIENT_IMAGES = ("dog", "coffee")
GRADIENT_TARGETS = (235, 968)


@lru_cache(maxsize=None)
def gradient_batch() -> torch.Tensor:
    return xh.preprocess(_model(), [xh.test_image_path(name) for name in GRADIENT_IMAGES])


def ig_baseline(kind: str, x: torch.Tensor) -> torch.Tensor:
    """Non-zero baselines: a constant (black, -1 in EfficientNet's space) and a blurred copy."""
    if kind == "black":
        return torch.full_like(x, -1.0)
    if kind == "blurred":
        return xh.blurred_baseline(x)
    raise ValueError(kind)


@lru_cache(maxsize=None)
def captum_ig(kind: str, n_steps: int) -> torch.Tensor:
    from captum.attr import IntegratedGradients

    model, x = _model(), gradient_batch()
    return IntegratedGradients(model).attribute(x, baselines=ig_baseline(kind, x),
                                                target=list(GRADIENT_TARGETS), n_steps=n_steps)


def assert_ig_agrees_with_captum(integrated_gradients, kind: str, n_steps: int = 8) -> float:
    """``integrated_gradients(model, x, target, baseline=..., n_steps=...)`` equals captum's
    ``IntegratedGradients`` (Gauss-Legendre, its default) with the same non-zero baseline,
    relative to the largest attribution. Returns the relative difference."""
    model, x = _model(), gradient_batch()
    ours = integrated_gradients(model, x, list(GRADIENT_TARGETS), baseline=ig_baseline(kind, x),
                                n_steps=n_steps)
    theirs = captum_ig(kind, n_steps)
    relative = float((ours - theirs).abs().max() / theirs.abs().max())
    assert relative < 1e-5, f"IG with a {kind} baseline: relative difference {relative:.2e}"
    return relative


def assert_complete(integrated_gradients, kind: str, n_steps: int = 64,
                    tolerance: float = 0.05) -> torch.Tensor:
    """Completeness: the attributions add up to y(x) - y(x') within ``tolerance`` of the gap
    (the integration error of ``n_steps`` points on a ReLU6 network). Returns |delta| / gap."""
    model, x = _model(), gradient_batch()
    baseline = ig_baseline(kind, x)
    attr = integrated_gradients(model, x, list(GRADIENT_TARGETS), baseline=baseline,
                                n_steps=n_steps)
    with torch.no_grad():
        rows = torch.arange(len(x))
        gap = model(x)[rows, list(GRADIENT_TARGETS)] - model(baseline)[rows, list(GRADIENT_TARGETS)]
    error = (attr.flatten(1).sum(1) - gap).abs() / gap.abs()
    assert (error < tolerance).all(), f"{kind} baseline: completeness error {error.tolist()}"
    return error


def assert_saliency_agrees_with_captum(saliency) -> None:
    """``saliency(model, x, targets)`` equals captum's ``Saliency`` (|gradient|) exactly."""
    from captum.attr import Saliency

    model, x = _model(), gradient_batch()
    ours = saliency(model, x, list(GRADIENT_TARGETS))
    assert torch.equal(ours, Saliency(model).attribute(x, target=list(GRADIENT_TARGETS))), \
        "saliency differs from captum's |dy/dx|"


def assert_smoothgrad_agrees_with_noise_tunnel(smoothgrad, kind: str) -> float:
    """``smoothgrad(model, x, targets, n_samples, sigma, kind)`` equals captum's
    ``NoiseTunnel(Saliency)`` with the same noise (same seed). Returns the largest difference."""
    from captum.attr import NoiseTunnel, Saliency

    model, x = _model(), gradient_batch()
    torch.manual_seed(0)
    ours = smoothgrad(model, x, list(GRADIENT_TARGETS), n_samples=4, sigma=0.2, kind=kind)
    torch.manual_seed(0)
    theirs = NoiseTunnel(Saliency(model)).attribute(x, nt_type=kind, nt_samples=4, stdevs=0.2,
                                                    target=list(GRADIENT_TARGETS))
    difference = float((ours - theirs).abs().max())
    assert difference < 1e-6 * max(1.0, float(theirs.abs().max())), \
        f"{kind} vs NoiseTunnel: {difference:.2e}"
    return difference


def assert_gradient_shap_agrees_with_captum(gradient_shap, seed: int = 0) -> float:
    """``gradient_shap`` equals captum's ``GradientShap`` with the same random draws (three
    baselines: grey, black, blurred; noise 0.1; 4 samples). Returns the relative difference."""
    from captum.attr import GradientShap

    model, x = _model(), gradient_batch()
    distribution = torch.cat([torch.zeros_like(x[:1]), torch.full_like(x[:1], -1.0),
                              xh.blurred_baseline(x[:1])])
    results = []
    for run in (gradient_shap, GradientShap(model).attribute):
        np.random.seed(seed)
        torch.manual_seed(seed)
        kwargs = {"baselines": distribution, "n_samples": 4, "stdevs": 0.1}
        if run is gradient_shap:
            results.append(run(model, x, list(GRADIENT_TARGETS), **kwargs))
        else:
            results.append(run(x, target=list(GRADIENT_TARGETS), **kwargs))
    ours, theirs = results
    relative = float((ours - theirs).abs().max() / theirs.abs().max())
    assert relative < 1e-5, f"GradientSHAP: relative difference {relative:.2e}"
    return relative


# -- guided backpropagation ----------------------------------------------------------------------

def relu_cnn() -> torch.nn.Sequential:
    """A CNN whose only activations are separate nn.ReLU modules: captum's and
    pytorch-grad-cam's guided backprop are both valid on it."""
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(32, 5)).eval()


def assert_guided_grad_cam_agrees_with_pgc(guided_grad_cam) -> float:
    """``guided_grad_cam(model, x, targets, layer)`` equals pytorch-grad-cam's recipe on a ReLU
    CNN: its ``GuidedBackpropReLUModel`` times its Grad-CAM map, image by image (batch of two,
    different targets). Returns the largest difference relative to the largest value."""
    from pytorch_grad_cam import GuidedBackpropReLUModel

    net = relu_cnn()
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    targets = [1, 3]
    ours = guided_grad_cam(net, x, targets, "3")
    expected = []
    for i, target in enumerate(targets):
        # on a copy: afterwards pytorch-grad-cam puts ONE shared nn.ReLU back in place of all
        # the model's ReLUs (so "3" vanishes from named_modules), and leaves .grad on weights
        guided = GuidedBackpropReLUModel(copy.deepcopy(net), device="cpu")
        gb = torch.from_numpy(guided(x[i:i + 1].clone(), target))
        with pgc.GradCAM(model=net, target_layers=[net[3]]) as grad_cam:
            cam = torch.from_numpy(grad_cam(input_tensor=x[i:i + 1],
                                            targets=[ClassifierOutputTarget(target)]))[0]
        expected.append((gb * cam[..., None]).permute(2, 0, 1))
    expected = torch.stack(expected)
    relative = float((ours - expected).abs().max() / expected.abs().max())
    assert relative < 1e-5, f"Guided Grad-CAM vs pytorch-grad-cam: {relative:.2e}"
    return relative


def hook_guided_backprop(model: torch.nn.Module, x: torch.Tensor, targets) -> torch.Tensor:
    """Guided backprop written independently of ours, the way hook-based libraries do it:
    on a model with one activation module per call site, a backward hook on every ReLU6 keeps
    the positive part of the gradient autograd already masked by the forward pass."""
    relu6 = [m for m in model.modules() if isinstance(m, torch.nn.ReLU6)]
    handles = [m.register_full_backward_hook(lambda module, grad_in, grad_out:
                                             (grad_in[0].clamp(min=0),)) for m in relu6]
    try:
        x = x.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            logits = model(x)
            score = logits[torch.arange(len(x)), torch.as_tensor(targets)].sum()
            (grad,) = torch.autograd.grad(score, x)
    finally:
        for handle in handles:
            handle.remove()
    return grad


@lru_cache(maxsize=None)
def _hook_guided_effnet() -> torch.Tensor:
    model, x = _model(), gradient_batch()
    canonical = xh.canonize_efficientnet(model)         # one ReLU6 per call site, BN folded
    return hook_guided_backprop(canonical, x, list(GRADIENT_TARGETS))


def assert_guided_effnet_agrees(guided_backprop) -> float:
    """``guided_backprop`` on EfficientNet-Lite0 (one ReLU6 module used at many call sites,
    clipped at 6) equals the hook-based guided backprop on its canonical rewrite (one ReLU6 per
    call site, BatchNorm folded: the same function up to 1e-5, so the relative tolerance is
    1e-3). Returns the largest difference relative to the largest value."""
    model, x = _model(), gradient_batch()
    ours = guided_backprop(model, x, list(GRADIENT_TARGETS))
    reference = _hook_guided_effnet()
    relative = float((ours - reference).abs().max() / reference.abs().max())
    assert relative < 1e-3, f"guided backprop on EfficientNet: relative difference {relative:.2e}"
    return relative


# -- perturbation ------------------------------------------------------------------------------

def tiny_cnn() -> torch.nn.Sequential:
    """A seeded 2-conv network small enough to check by hand (as the ``tiny_cnn`` fixture)."""
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(inplace=True),
        torch.nn.Conv2d(4, 6, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(6, 5)).eval()


def assert_occlusion_agrees_with_captum(occlusion) -> float:
    """Windows that neither tile the image nor are square (6x4, strides 4 and 3: a transposed
    window or stride fails), a baseline of 0.5, a batch of two with different targets."""
    from captum.attr import Occlusion

    net = tiny_cnn()
    x = torch.randn(2, 3, 20, 17, generator=torch.Generator().manual_seed(2))
    ours = occlusion(net, x, [1, 3], window=(6, 4), stride=(4, 3), baseline=0.5)
    theirs = Occlusion(net).attribute(x, sliding_window_shapes=(3, 6, 4), strides=(3, 4, 3),
                                      target=[1, 3], baselines=0.5)
    difference = float((ours - theirs).abs().max())
    assert difference < 1e-6, f"occlusion vs captum: {difference:.2e}"
    return difference


def assert_occlusion_is_gradient_times_input_on_a_linear_model(occlusion) -> None:
    """f = w.x: occluding pixel (i, j) with 0 drops the score by sum_c w_cij x_cij exactly."""
    torch.manual_seed(0)
    linear = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 5 * 4, 2)).eval()
    x = torch.randn(1, 3, 5, 4)
    attr = occlusion(linear, x, 1, window=(1, 1), stride=(1, 1), batch_size=7)
    expected = (linear[1].weight[1].view(3, 5, 4) * x[0]).sum(0)
    assert torch.allclose(attr[0, 0], expected, atol=1e-5), "one-pixel occlusion != w * x"


def assert_lime_agrees_with_lime(lime_samples, weighted_ridge, num_samples: int = 100) -> float:
    """Our LIME (sampling, mean-colour fill, kernel, weighted ridge) equals the ``lime``
    package's coefficients and intercept with the same seed and superpixels."""
    from lime import lime_image

    model = _model()
    x = xh.preprocess(model, xh.test_image_path("dog"))
    picture = model.xai_spec.preprocessing.inverse(x[0])
    segments = xh.superpixels(picture, "slic")
    samples = lime_samples(model, x, 235, segments, num_samples=num_samples, seed=3)
    ours, intercept = weighted_ridge(samples.masks, samples.probabilities, samples.weights)
    fast = xh.inference_copy(model)

    def classifier_fn(images):
        batch = torch.from_numpy(np.asarray(images, dtype=np.float32)).permute(0, 3, 1, 2)
        with torch.inference_mode():
            return fast((batch - 0.5) / 0.5).softmax(1).numpy()

    explanation = lime_image.LimeImageExplainer(random_state=3).explain_instance(
        picture.permute(1, 2, 0).numpy().astype(np.float64), classifier_fn, labels=(235,),
        top_labels=None, hide_color=None, num_samples=num_samples, batch_size=8,
        segmentation_fn=lambda image: segments.numpy(), random_seed=3)
    theirs = torch.zeros_like(ours)
    for feature, weight in explanation.local_exp[235]:
        theirs[feature] = weight
    difference = float((ours - theirs).abs().max())
    assert difference < 1e-5, f"LIME coefficients vs lime: {difference:.2e}"
    assert abs(intercept - explanation.intercept[235]) < 1e-5, "LIME intercept differs"
    return difference


# -- metrics -----------------------------------------------------------------------------------

def check_pointing_game(pointing_game) -> None:
    """Hand-built cases on a wide (non-square) mask, so a row/column swap is caught."""
    mask = torch.zeros(2, 10, 12, dtype=torch.bool)
    mask[:, 1:4, 6:11] = True                                # rows 1-3, columns 6-10
    perfect = torch.zeros(2, 10, 12)
    perfect[:, 2, 8] = 1.0                                   # inside; (8, 2) is outside
    swapped_inside = torch.zeros(2, 10, 12)
    swapped_inside[:, 8, 2] = 1.0                            # outside; (2, 8) is inside
    assert pointing_game(perfect, mask).all(), "the maximum on the object must be a hit"
    assert not pointing_game(swapped_inside, mask).any(), "a maximum off the object is a miss"
    assert not pointing_game(-perfect + 0.5, mask).all(), "the maximum, not the minimum, counts"
    near = torch.zeros(2, 10, 12)
    near[:, 5, 8] = 1.0                                      # 2 rows below the box
    assert not pointing_game(near, mask).any() and pointing_game(near, mask, tolerance=2).all()


def check_energy_in_mask(energy_in_mask) -> None:
    mask = torch.zeros(2, 10, 10, dtype=torch.bool)
    mask[:, 2:5, 3:7] = True                                 # 12 of 100 pixels
    assert torch.allclose(energy_in_mask(mask.float(), mask), torch.ones(2))
    assert torch.allclose(energy_in_mask(torch.ones(2, 10, 10), mask), torch.full((2,), 0.12))
    assert torch.allclose(energy_in_mask((~mask).float(), mask), torch.zeros(2))
    signed = mask.float() - (~mask).float()                   # +1 on the object, -1 elsewhere
    assert torch.allclose(energy_in_mask(signed, mask), torch.ones(2)), \
        "negative values are no energy: only the positive part counts"


class RegionModel(torch.nn.Module):
    """A two-class "model" that looks only at a known region: logit of class 0 =
    ``scale`` * (mean of channel 0 over ``rows`` x ``cols`` - ``offset``), class 1 = 0. Its
    probability is known by hand for any image, so curves and masks can be checked exactly."""

    def __init__(self, rows=slice(0, 8), cols=slice(4, 12), scale=6.0, offset=0.5):
        super().__init__()
        self.rows, self.cols, self.scale, self.offset = rows, cols, scale, offset
        self.dummy = torch.nn.Parameter(torch.zeros(1))    # gives the model a device

    def forward(self, x):
        evidence = x[:, 0, self.rows, self.cols].mean(dim=(1, 2)) - self.offset
        return torch.stack([self.scale * evidence, torch.zeros_like(evidence)], dim=1) \
            + 0 * self.dummy


def check_deletion_and_insertion(deletion_curve, insertion_curve) -> None:
    """On :class:`RegionModel` with the region ranked first, each curve point is known by
    hand: deleting k of the region's 64 pixels (to 0) leaves mean (64 - k) / 64."""
    model = RegionModel()
    x = torch.ones(1, 3, 16, 16)
    saliency = torch.zeros(16, 16)
    saliency[0:8, 4:12] = 1 + torch.arange(64.0).view(8, 8) / 64      # region first, ordered
    deletion = deletion_curve(model, x, 0, saliency, steps=8)
    removed = (torch.linspace(0, 1, 9) * 256).round()
    mean_left = (64 - removed.clamp(max=64)) / 64
    expected = torch.sigmoid(6.0 * (mean_left - 0.5))
    assert torch.allclose(deletion.probabilities, expected, atol=1e-5), \
        "deletion must remove the highest-ranked pixels first and follow p(target)"
    assert deletion.auc == pytest_approx(float(torch.trapezoid(expected, torch.linspace(0, 1, 9))))
    insertion = insertion_curve(model, x, 0, saliency, steps=8)
    inserted = removed.clamp(max=64) / 64
    assert torch.allclose(insertion.probabilities, torch.sigmoid(6.0 * (inserted - 0.5)),
                          atol=1e-5), "insertion must start from the baseline"


def pytest_approx(value: float):
    import pytest

    return pytest.approx(value, abs=1e-6)


def check_sparseness(sparseness) -> None:
    flat = torch.ones(1, 4, 4)
    one_hot = torch.zeros(1, 4, 4)
    one_hot[0, 0, 0] = 1
    half = torch.zeros(1, 4, 4)
    half[0, :2] = 1                                           # 8 of 16 equal, 8 zero: Gini 0.5
    ramp = torch.arange(16.0).view(1, 4, 4)                   # Gini of 0..15 = 17/48
    values = sparseness(torch.cat([flat, one_hot, half, ramp]))
    assert torch.allclose(values, torch.tensor([0.0, 15 / 16, 0.5, 17 / 48]), atol=1e-6)


def check_rank_correlation(rank_correlation) -> None:
    """Spearman, not Pearson: a monotone but curved relation has rank correlation 1."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a = rng.random((3, 50))
    b = a + rng.normal(0, 0.3, (3, 50))
    b[0, :10] = 0.5                                           # ties
    ours = rank_correlation(torch.tensor(a), torch.tensor(b))
    theirs = [spearmanr(a[i], b[i]).statistic for i in range(3)]
    assert np.allclose(ours.numpy(), theirs, atol=1e-6)
    curved = torch.tensor(a) ** 5
    assert torch.allclose(rank_correlation(torch.tensor(a), curved), torch.ones(3,
                                                                                dtype=torch.float32))


# -- relevance and optimisation ----------------------------------------------------------------

@lru_cache(maxsize=None)
def digits_model():
    """The digits CNN trained for a few seconds, and eight test digits with their labels."""
    model, _ = xh.train_digits_cnn(epochs=8, seed=0)
    _, _, x_test, y_test = xh.digits_tensors()
    return model, x_test[:8], y_test[:8]


def assert_lrp_agrees_with_zennit(lrp) -> float:
    """``lrp(model, x, target, low, high, gamma)`` (z^B first layer, gamma convolutions,
    epsilon dense) equals zennit's ``EpsilonGammaBox`` on the digits CNN; relevance is
    conserved at every layer. Returns the largest difference."""
    from zennit.attribution import Gradient
    from zennit.composites import EpsilonGammaBox

    model, x, target = digits_model()
    ours, relevances = lrp(model, x, target, low=0.0, high=1.0, gamma=0.25)
    logits = model(x).detach()
    start = torch.zeros_like(logits)
    start[torch.arange(len(x)), target] = logits[torch.arange(len(x)), target]
    composite = EpsilonGammaBox(low=0.0, high=1.0, epsilon=1e-6, gamma=0.25)
    with Gradient(model, composite) as attributor:
        _, theirs = attributor(x, start)
    difference = float((ours - theirs).abs().max())
    assert difference < 1e-6, f"LRP vs zennit: {difference:.2e}"
    for layer_relevance in relevances:
        assert torch.allclose(layer_relevance.flatten(1).sum(1), start.sum(1), rtol=1e-4), \
            "relevance leaked at some layer"
    return difference


def check_igos_finds_the_region(igos) -> tuple[float, float]:
    """On :class:`RegionModel`, confident (p = sigmoid(15)) and saturated at the photo, I-GOS
    must mark the region the model reads: its mean saliency there must be far above the mean
    elsewhere. The plain gradient is ~1e-7 at M = 1 (saturation), so a version that drops the
    integrated path does not move; a version that returns M instead of 1 - M marks the rest.
    Returns (mean inside, mean outside)."""
    model = RegionModel(rows=slice(4, 12), cols=slice(16, 28), scale=30.0, offset=0.5)
    x = torch.ones(1, 3, 32, 32)
    result = igos(model, x, 0, baseline=torch.zeros_like(x), size=8, ig_steps=8, iterations=8,
                  noise=0.0)
    saliency = result.saliency
    inside = float(saliency[4:12, 16:28].mean())
    outside = float(torch.cat([saliency[16:].flatten(), saliency[:, :12].flatten()]).mean())
    assert inside > 0.05 and inside > 10 * outside, \
        f"I-GOS saliency inside the region {inside:.3f}, outside {outside:.3f}"
    return inside, outside


# -- pictures in widgets ----------------------------------------------------------------------

def picture_rows(png: bytes, below: float = 0.3) -> np.ndarray:
    """The pixels of a widget's PNG below its top ``below`` fraction (the label band is at the
    top), as int (H', W, 3): where the heatmap is, and no text."""
    import io

    from PIL import Image

    array = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return array[int(below * array.shape[0]):]


def heatmap_changed(before: bytes, after: bytes, threshold: float = 2.0) -> bool:
    """Whether the heatmap part of two widget pictures differs (mean |difference| in levels)."""
    return float(np.abs(picture_rows(before) - picture_rows(after)).mean()) > threshold


def band_changed(before: bytes, after: bytes) -> bool:
    """Whether the label band (the top 15%) of two widget pictures differs."""
    import io

    from PIL import Image

    rows = [np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int) for png in
            (before, after)]
    top = int(0.15 * rows[0].shape[0])
    return bool(np.abs(rows[0][:top] - rows[1][:top]).max() > 0)


# -- the methods added for the course material ----------------------------------------------------

def assert_ablation_agrees_with_pgc(ablation_class, model=None, x=None, layer="_head_act",
                                    targets=TARGETS) -> float:
    """Ablation-CAM against pytorch-grad-cam's at a layer after a ReLU (where both set an
    ablated channel to 0). Returns the largest difference."""
    model = model if model is not None else _model()
    x = x if x is not None else _batch()
    ours = ablation_class(model, layer)(x, list(targets))
    with pgc.AblationCAM(model=model, target_layers=[xh.get_layer(model, layer)]) as ref:
        ref.batch_size = 32
        theirs = torch.from_numpy(ref(input_tensor=x,
                                      targets=[ClassifierOutputTarget(t) for t in targets]))
    difference = float((ours - theirs).abs().max())
    assert difference < 1e-4, f"Ablation-CAM at {layer}: {difference:.2e}"
    return difference


def bias_cnn() -> torch.nn.Sequential:
    """Convolutions with biases, BatchNorm with trained-looking statistics and in-place ReLUs:
    everything FullGrad reads."""
    torch.manual_seed(3)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 6, 3, padding=1), torch.nn.BatchNorm2d(6), torch.nn.ReLU(inplace=True),
        torch.nn.Conv2d(6, 8, 3, stride=2, padding=1), torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(inplace=True), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        torch.nn.Linear(8, 4))
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
    return net.eval()


def assert_fullgrad_agrees_with_pgc(fullgrad_class, model=None, x=None, targets=TARGETS) -> float:
    model = model if model is not None else _model()
    x = x if x is not None else _batch()
    ours = fullgrad_class(model)(x, list(targets))
    with pgc.FullGrad(model=model, target_layers=[]) as ref:
        theirs = torch.from_numpy(ref(input_tensor=x,
                                      targets=[ClassifierOutputTarget(t) for t in targets]))
    difference = float((ours - theirs).abs().max())
    assert difference < 1e-5, f"FullGrad: {difference:.2e}"
    return difference


TORCHCAM_VARIANTS = {"SS-CAM": ("SSCAM", {"n_samples": 2}, {"num_samples": 2}),
                     "IS-CAM": ("ISCAM", {"n_samples": 3}, {"num_samples": 3})}


def assert_score_variant_agrees_with_torchcam(method_class, name: str,
                                              layer: str = "_blocks.0") -> float:
    """SS-CAM / IS-CAM against torchcam's with the same seed, at the layer's resolution."""
    from torchcam import methods as torchcam_methods

    model, x = _model(), _batch()
    reference, ours_kwargs, their_kwargs = TORCHCAM_VARIANTS[name]
    torch.manual_seed(0)
    ours = method_class(model, layer, **ours_kwargs)(x, list(TARGETS), size=None)
    torch.manual_seed(0)
    with getattr(torchcam_methods, reference)(model, layer, **their_kwargs) as extractor:
        model(x)
        theirs = extractor(list(TARGETS))[0]
    difference = float((ours - theirs).abs().max())
    assert difference < 1e-5, f"{name} at {layer}: {difference:.2e}"
    return difference


def assert_smoothgrad_cam_pp_agrees_with_torchcam(method_class, layer: str) -> float:
    """SmoothGrad-CAM++ in torchcam's variant against torchcam 0.5.0, same seed."""
    from torchcam.methods import SmoothGradCAMpp

    model, x = _model(), _batch()
    torch.manual_seed(0)
    ours = method_class(model, layer, n_samples=3, variant="torchcam")(x, list(TARGETS),
                                                                      size=None)
    torch.manual_seed(0)
    with SmoothGradCAMpp(model, layer, num_samples=3) as extractor:
        model(x)
        theirs = extractor(list(TARGETS))[0]
    difference = float((ours - theirs).abs().max())
    assert difference < 1e-5, f"SmoothGrad-CAM++ (torchcam variant) at {layer}: {difference:.2e}"
    return difference


def integrated_grad_cam_oracle(model, x, targets, layer, n_steps, baseline) -> torch.Tensor:
    """Integrated Grad-CAM written out with the already-tested Grad-CAM: the raw Grad-CAM map
    of every path point (its own activations and gradients), ReLU'd, summed, upsampled and
    normalised."""
    total = 0
    for i in range(n_steps):
        point = baseline + (i / n_steps) * (x - baseline)
        total = total + torch.relu(xh.GradCAM(model, layer)(point, targets, size=None,
                                                            relu=False, normalise=False))
    up = torch.nn.functional.interpolate(total[:, None], size=x.shape[-2:], mode="bilinear",
                                         align_corners=False)[:, 0]
    return xh.normalise_maps(up)


def assert_integrated_grad_cam_agrees(method_class, layer: str = "_head_act",
                                      n_steps: int = 6) -> float:
    model, x = _model(), _batch()
    baseline = torch.full_like(x, -1.0)                      # black for EfficientNet
    ours = method_class(model, layer, n_steps=n_steps, batch_size=4)(x, list(TARGETS))
    expected = integrated_grad_cam_oracle(model, x, list(TARGETS), layer, n_steps, baseline)
    difference = float((ours - expected).abs().max())
    assert difference < 1e-5, f"Integrated Grad-CAM at {layer}: {difference:.2e}"
    return difference


def tiny_float64_model() -> torch.nn.Sequential:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.Flatten(), torch.nn.Linear(4 * 8 * 8, 3)).double().eval()


def _pair_saliency():
    """PAIR's ``saliency`` core, with numpy 2's quantile keyword (``method``) accepted under
    its old name (``interpolation``), which saliency 0.2.1 still passes."""
    import saliency.core.guided_ig as pair_guided

    class NumpyShim:
        def __getattr__(self, name):
            return getattr(np, name)

        @staticmethod
        def quantile(a, q, interpolation="linear", **kwargs):
            return np.quantile(a, q, method=interpolation, **kwargs)

    pair_guided.np = NumpyShim()
    return pair_guided


def assert_guided_ig_agrees_with_pair(guided_ig, max_dist: float) -> float:
    net = tiny_float64_model()
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))

    def gradient(point):
        point = torch.tensor(point, dtype=torch.float64)[None].requires_grad_(True)
        return torch.autograd.grad(net(point)[0, 1], point)[0][0].numpy()

    theirs = _pair_saliency().guided_ig_impl(x[0].numpy(), np.zeros((3, 8, 8)), gradient,
                                             steps=20, fraction=0.25, max_dist=max_dist)
    ours = guided_ig(net, x, 1, steps=20, max_dist=max_dist)[0].numpy()
    difference = float(np.abs(ours - theirs).max())
    assert difference < 1e-12 * max(1.0, float(np.abs(theirs).max())), \
        f"Guided IG (max_dist {max_dist}) vs PAIR: {difference:.2e}"
    return difference


def assert_blur_ig_agrees_with_pair(blur_ig) -> float:
    from saliency.core import blur_ig as pair_blur

    net = tiny_float64_model()
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(2))

    def call_model(batch, call_model_args=None, expected_keys=None):
        batch = torch.tensor(batch).permute(0, 3, 1, 2).requires_grad_(True)
        grads = torch.autograd.grad(net(batch)[:, 1].sum(), batch)[0]
        return {pair_blur.INPUT_OUTPUT_GRADIENTS: grads.permute(0, 2, 3, 1).numpy()}

    theirs = pair_blur.BlurIG().GetMask(x[0].permute(1, 2, 0).numpy(), call_model, max_sigma=3,
                                        steps=10)
    ours = blur_ig(net, x, 1, max_sigma=3, steps=10)[0].permute(1, 2, 0).numpy()
    difference = float(np.abs(ours - theirs).max())
    assert difference < 1e-12, f"Blur IG vs PAIR: {difference:.2e}"
    return difference


def assert_noise_tunnel_ig_agrees_with_captum(noise_tunnel) -> float:
    from captum.attr import IntegratedGradients, NoiseTunnel

    model, x = _model(), gradient_batch()
    torch.manual_seed(0)
    ours = noise_tunnel(xh.integrated_gradients, model, x, list(GRADIENT_TARGETS), n_samples=2,
                        sigma=0.2, n_steps=4)
    torch.manual_seed(0)
    theirs = NoiseTunnel(IntegratedGradients(model)).attribute(
        x, nt_type="smoothgrad", nt_samples=2, stdevs=0.2, target=list(GRADIENT_TARGETS),
        n_steps=4)
    relative = float((ours - theirs).abs().max() / theirs.abs().max())
    assert relative < 1e-5, f"NoiseTunnel(IG) vs captum: {relative:.2e}"
    return relative


def assert_alpha_beta_agrees_with_zennit(lrp, alpha: float, beta: float) -> float:
    """``lrp(..., rule="alpha_beta")`` (z^B first layer, α-β convolutions, ε dense) equals
    zennit's composite with the same rules on the digits CNN."""
    from zennit.attribution import Gradient
    from zennit.composites import SpecialFirstLayerMapComposite
    from zennit.rules import AlphaBeta, Epsilon, Pass, ZBox
    from zennit.types import Activation, Convolution

    model, x, target = digits_model()
    ours, relevances = lrp(model, x, target, low=0.0, high=1.0, rule="alpha_beta", alpha=alpha,
                           beta=beta)
    composite = SpecialFirstLayerMapComposite(
        layer_map=[(Activation, Pass()), (Convolution, AlphaBeta(alpha, beta)),
                   (torch.nn.Linear, Epsilon(1e-6))],
        first_map=[(Convolution, ZBox(0.0, 1.0))])
    logits = model(x).detach()
    start = torch.zeros_like(logits)
    start[torch.arange(len(x)), target] = logits[torch.arange(len(x)), target]
    with Gradient(model, composite) as attributor:
        _, theirs = attributor(x, start)
    difference = float((ours - theirs).abs().max())
    assert difference < 1e-6, f"α-β ({alpha}, {beta}) vs zennit: {difference:.2e}"
    for layer_relevance in relevances:                      # no biases: conserved
        assert torch.allclose(layer_relevance.flatten(1).sum(1), start.sum(1), rtol=1e-4)
    return difference


def check_rise_formula(rise) -> None:
    """S = sum_i p(x * M_i) M_i / (N p), with the softmax probability, written out."""
    net = tiny_cnn()
    x = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    masks = xh.rise_masks(30, (16, 16), cells=4, p=0.5, seed=2)
    ours = rise(net, x, 2, masks=masks, p=0.5, batch_size=7)
    with torch.no_grad():
        scores = torch.stack([net(x * m).softmax(1)[0, 2] for m in masks])
    expected = (scores[:, None, None] * masks).sum(0) / (30 * 0.5)
    assert torch.allclose(ours[0], expected, atol=1e-6), "RISE differs from its formula"


# -- video ---------------------------------------------------------------------------------------

WIDTH, HEIGHT, FPS, FRAMES = 160, 96, 10, 12


def synthetic_frames(count=FRAMES):
    """Grey frames with a white square moving to the right."""
    for i in range(count):
        frame = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
        frame[40:70, 10 + 8 * i:40 + 8 * i] = 255
        yield frame


def make_clip(path):
    with VideoWriter(path, FPS) as writer:
        for frame in synthetic_frames():
            writer.write(frame)
    return path


def check_heatmap_drawn(model, clip, tmp_path):
    """Below the label band, each output frame must be the input with the map drawn over it:
    much closer to render_frame(input, map) than to the input, and far from the input where the
    map is strong. A clip that is merely re-encoded (or labelled only) fails: re-encoding
    changes the frames by what H.264 loses (mean < 3 levels)."""
    out = tmp_path / "explained.mp4"
    explain_video(clip, out, model, method="gradcam", batch_size=4, progress=False, alpha=0.5)
    inputs = list(synthetic_frames())
    outputs = list(read_frames(out))
    reencoded = list(read_frames(clip))                      # the clip itself: H.264's loss only
    maps = FrameExplainer(model, "gradcam")(reencoded).maps  # the pipeline sees decoded frames
    top = 42                          # below the label band (two lines of 14 px type: 40 rows)
    for i in (0, FRAMES // 2, FRAMES - 1):
        drawn = render_frame(reencoded[i], maps[i], alpha=0.5)[top:].astype(int)
        output, original = outputs[i][top:].astype(int), inputs[i][top:].astype(int)
        codec_loss = np.abs(reencoded[i][top:].astype(int) - original).mean()
        assert np.abs(output - original).mean() > 5 * codec_loss + 10      # something drawn
        assert np.abs(output - drawn).mean() < 2 * codec_loss + 3           # ... the map
        strong = np.kron(maps[i].numpy() > 0.8, np.ones((1, 1)))            # (h, w) at 7x7
        big = torch.nn.functional.interpolate(torch.tensor(strong, dtype=torch.float32)[None, None],
                                              size=(HEIGHT, WIDTH))[0, 0].numpy()[top:] > 0.5
        if big.any():                                        # jet's hot end is red
            assert (output[big][:, 0] - original[big][:, 0]).mean() > 20



def graded_cell(notebook, grade_id: str) -> str:
    """The source of the notebook cell whose nbgrader ``grade_id`` is ``grade_id``."""
    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells
    return next(c.source for c in cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)



def assert_wrong_solutions_cover_the_graded_cells(notebook, wrong_solutions: dict,
                                                  messages: dict) -> None:
    """Every solution cell of the notebook has at least one wrong solution registered, and each
    wrong solution has the message its checker must give (``messages``: grade_id -> list, in
    ``wrong_solutions``' order)."""
    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells
    solution_ids = [c.metadata["nbgrader"]["grade_id"] for c in cells
                    if c.metadata.get("nbgrader", {}).get("solution")]
    assert sorted(solution_ids) == sorted(wrong_solutions) == sorted(messages)
    for grade_id, sources in wrong_solutions.items():
        assert len(sources) == len(messages[grade_id]) >= 1, grade_id

# --- the batch-size probe, on a fake clock ----------------------------------------------------
# The network advances a fake clock by a per-image cost that depends on the batch size, so each
# check knows the right answer without timing anything real. Each check takes the function under
# test: the package's, or a mutant's (tests/test_mutants.py).

PROBE_COST: dict[int, float] = {}         # fake milliseconds per image at each batch size
PROBE_CLOCK = [0.0]
PROBE_SEEN: list[torch.Tensor] = []       # every batch the network was given
PROBE_BURST = {"size": 0, "calls": 0, "extra_ms": 0.0}   # a slow moment: the first `calls`
                                                          # batches of `size` cost more


class CostedNet(torch.nn.Module):
    """A tiny classifier whose every forward pass advances the fake clock."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4, 5)

    def forward(self, x):
        if not isinstance(x, torch.Tensor):         # torch.fx reading the layers (folding)
            return self.fc(self.bn(self.conv(x)).mean((2, 3)))
        PROBE_SEEN.append(x.detach().clone())
        PROBE_CLOCK[0] += PROBE_COST[len(x)] * len(x) / 1000
        if len(x) == PROBE_BURST["size"] and PROBE_BURST["calls"] > 0:
            PROBE_BURST["calls"] -= 1
            PROBE_CLOCK[0] += PROBE_BURST["extra_ms"] * len(x) / 1000
        return self.fc(self.bn(self.conv(x)).mean((2, 3)))


@contextmanager
def fake_clock(cost: dict[int, float]):
    """A fresh train-mode CostedNet whose forward passes are the only thing the clock sees."""
    from xai_helpers.core import batching

    PROBE_COST.clear()
    PROBE_COST.update(cost)
    PROBE_SEEN.clear()
    PROBE_BURST.update(size=0, calls=0, extra_ms=0.0)
    with mock.patch.object(batching.time, "perf_counter", lambda: PROBE_CLOCK[0]):
        yield CostedNet().train()


def check_probe_picks_per_image_time(pick) -> None:
    """Per batch, size 1 is cheapest (30 ms); per image, 8 is (15 ms). Catches comparing whole
    batches, or taking the largest size tried."""
    with fake_clock({1: 30, 2: 25, 4: 20, 8: 15, 16: 40}) as net:
        assert pick(net, (3, 8, 8)) == 8


def check_near_ties_go_to_the_smaller_batch(choose) -> None:
    """Within 5 % of the fastest counts as equally fast; catches a strict minimum."""
    assert choose({1: 0.030, 2: 0.024, 4: 0.0201, 8: 0.0200, 16: 0.0199}) == 4
    assert choose({1: 0.030, 2: 0.024, 4: 0.0220, 8: 0.0200}) == 8


def check_a_burst_of_load_does_not_pick_the_size(pick) -> None:
    """The first round's two batches of 4 cost 30 ms more per image (a slow moment); a probe that
    times each size more than once, the last time later, still picks 4. Catches one round only
    (it stops at 4, seeing it 3x slower than 2, and picks 2)."""
    with fake_clock({1: 30, 2: 25, 4: 15, 8: 20, 16: 40}) as net:
        PROBE_BURST.update(size=4, calls=2, extra_ms=30.0)
        assert pick(net, (3, 8, 8)) == 4


def check_probe_times_the_example(timings) -> None:
    """Every batch timed is copies of the example given. Catches a probe that times zeros or
    noise whatever it is given."""
    with fake_clock({1: 10, 2: 9, 4: 8, 8: 7, 16: 6}) as net:
        example = torch.rand(1, 3, 8, 8) + 0.5
        timings(net, (3, 8, 8), example=example)
        assert PROBE_SEEN and all(torch.equal(x, example.expand_as(x)) for x in PROBE_SEEN)


def assert_ablation_equals_ablating_by_hand(method_class, model, name: str) -> None:
    """Ablation-CAM's weights at layer ``name`` of EfficientNet-Lite0 on dog.jpg, for 24 active
    channels, against zeroing each channel with a hook on the real model: (y - y_k) / y.
    Catches a fast path that changes the weights (e.g. a copy with the layer's BatchNorm folded
    into it, so the channel is zeroed after the BatchNorm instead of before)."""
    x = xh.preprocess(model, xh.test_image_path("dog"))
    method = method_class(model, name)
    method(x, 235)
    with xh.LayerRecorder(model, name, detach=True) as recorder, torch.no_grad():
        logit = model(x)[0, 235]
    A = recorder.activations[name]
    weights = method.channel_weights(A, None, x=x, classes=torch.tensor([235]), target=235)[0]
    channels = A[0].flatten(1).ne(0).any(1).nonzero()[:24, 0]
    layer = xh.get_layer(model, name)
    for k in channels.tolist():
        def zero(module, inputs, output, k=k):
            output = output.clone()
            output[:, k] = 0
            return output
        handle = layer.register_forward_hook(zero)
        try:
            with torch.no_grad():
                ablated = model(x)[0, 235]
        finally:
            handle.remove()
        by_hand = float((logit - ablated) / logit)
        assert abs(float(weights[k]) - by_hand) < 1e-4, \
            f"channel {k} of {name}: weight {float(weights[k]):.5f}, by hand {by_hand:.5f}"


# -- folding BatchNorm into convolutions ---------------------------------------------------------

class _PaddedConv(torch.nn.Conv2d):
    """A convolution that calls ``F.conv2d`` itself, like EfficientNet's "same" padding."""
    def forward(self, x):
        return torch.nn.functional.conv2d(x, self.weight, self.bias, padding=1)


class _BiaslessConv(torch.nn.Conv2d):
    """A convolution that never adds its bias: folding a BatchNorm into it would be lost."""
    def forward(self, x):
        return torch.nn.functional.conv2d(x, self.weight, None, padding=1)


class FoldingNet(torch.nn.Module):
    """Four conv -> BatchNorm pairs: two foldable (a torch conv; a conv calling F.conv2d with
    its own bias), two not (a conv that ignores its bias; a conv whose output is also used by
    the residual sum). Channel counts differ (3 -> 4 -> 6), so scaling the wrong axis fails."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv1, self.bn1 = torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4)
        self.conv2 = _PaddedConv(4, 6, 3, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(6)
        self.conv3, self.bn3 = _BiaslessConv(6, 6, 3), torch.nn.BatchNorm2d(6)
        self.conv4, self.bn4 = torch.nn.Conv2d(6, 6, 1), torch.nn.BatchNorm2d(6)
        for norm in (self.bn1, self.bn2, self.bn3, self.bn4):      # statistics far from 0 / 1
            norm.running_mean.uniform_(-2, 2)
            norm.running_var.uniform_(0.2, 4)
            torch.nn.init.uniform_(norm.weight, 0.5, 2)
            torch.nn.init.uniform_(norm.bias, -1, 1)
        self.head = torch.nn.Linear(6, 5)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.bn2(self.conv2(x)))
        x = torch.relu(self.bn3(self.conv3(x)))
        z = self.conv4(x)
        x = self.bn4(z) + z
        return self.head(x.mean(dim=(2, 3)))


def check_folding_keeps_the_function(fold) -> None:
    """``fold(model)`` (a folded copy of a whole model) folds exactly the two safe pairs of
    :class:`FoldingNet` and computes the same logits. Catches: a wrong scale (σ² for
    √(σ²+ε)), the running mean or β dropped, scaling input instead of output
    channels, folding into a convolution that ignores its bias, folding a convolution whose
    output is used twice."""
    net = FoldingNet().eval()
    x = torch.randn(3, 3, 10, 10, generator=torch.Generator().manual_seed(1))
    folded = fold(net)
    left = [name for name, m in folded.named_modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        difference = float((folded(x) - net(x)).abs().max())
    assert difference < 1e-5, f"folded logits differ by {difference:.2e}"
    assert left == ["bn3", "bn4"], f"BatchNorms left unfolded: {left}, expected bn3 and bn4"


def check_kept_and_hooked_layers_stay_unfolded() -> None:
    """A layer named in ``keep``, or one with a hook, keeps its BatchNorm. Catches folding that
    ignores ``keep`` or hooks (a method's hook would then see the folded output)."""
    from xai_helpers.core.folding import foldable_pairs, folded_copy

    net = FoldingNet().eval()
    assert [name for name, _ in foldable_pairs(net)] == ["conv1", "conv2"]
    kept = folded_copy(net, keep=("conv1",))
    assert isinstance(kept.bn1, torch.nn.BatchNorm2d) and isinstance(kept.bn2, torch.nn.Identity)
    handle = net.bn2.register_forward_hook(lambda *args: None)
    try:
        hooked = folded_copy(net)
    finally:
        handle.remove()
    assert isinstance(hooked.bn1, torch.nn.Identity), "the unhooked pair was not folded"
    assert isinstance(hooked.bn2, torch.nn.BatchNorm2d), "a hooked BatchNorm was folded"


def check_folding_leaves_the_model_unchanged() -> None:
    """Folding works on a copy: the original keeps its weights, statistics, layers and train
    mode. Catches folding (or planting the tracing biases) in the model itself."""
    from xai_helpers.core.folding import folded_copy

    net = FoldingNet().train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    folded_copy(net)
    assert net.training and all(m.training for m in net.modules()), "train mode changed"
    assert before.keys() == net.state_dict().keys(), "parameters added or removed"
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items()), "values changed"
    assert isinstance(net.bn1, torch.nn.BatchNorm2d), "a layer of the model was replaced"


def check_a_changed_model_is_planned_again() -> None:
    """The remembered pairs are read again once a layer changes. Catches a plan kept for ever
    (folding would then look for a BatchNorm that is gone)."""
    from xai_helpers.core.folding import foldable_pairs

    net = FoldingNet().eval()
    assert len(foldable_pairs(net)) == 2
    net.bn1 = torch.nn.Identity()
    assert [name for name, _ in foldable_pairs(net)] == ["conv2"], "stale plan"


# -- the batch-size cache on disk -------------------------------------------------------------

@contextmanager
def cache_folder(folder):
    """``XAI_CACHE_DIR`` pointed at ``folder`` (the test suite otherwise turns it off)."""
    with mock.patch.dict(os.environ, {"XAI_CACHE_DIR": str(folder)}):
        yield Path(folder)


def check_the_cache_carries_a_size_to_the_next_session(folder) -> None:
    """A fresh kernel (here: a new network of the same architecture, other weights) reuses the
    size measured before instead of probing again; ``set_batch_size(net, None)`` forgets it on
    disk too. Catches a cache that is never read, keyed by the weights, or never forgotten."""
    from xai_helpers.core import batching

    with cache_folder(folder):
        with fake_clock({1: 10, 2: 9, 4: 8, 8: 7, 16: 6}) as net:
            assert batching.best_batch_size(net, (3, 8, 8)) == 16
        [(size, measured_at)] = json.loads(batching.cache_file().read_text()).values()
        assert size == 16 and abs(measured_at - time.time()) < 600
        with fake_clock({1: 1, 2: 9, 4: 8, 8: 7, 16: 6}) as later:     # next session, new costs
            torch.nn.init.normal_(later.conv.weight)                    # other weights
            assert batching.best_batch_size(later, (3, 8, 8)) == 16, "the cache was not read"
            assert not PROBE_SEEN, "probed although the size was stored"
            assert batching.best_batch_size(later, (3, 16, 16)) == 1       # another input size
            batching.set_batch_size(later, None)
            assert json.loads(batching.cache_file().read_text()) == {}, "not forgotten on disk"
            assert batching.best_batch_size(later, (3, 8, 8)) == 1 and PROBE_SEEN


def check_a_failed_cache_write_leaves_nothing(folder) -> None:
    """A write that fails half-way (a full disk) is no error and leaves no temporary file.
    Catches a cache writer that does not clean up after itself."""
    from xai_helpers.core import batching

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with cache_folder(folder), mock.patch.object(batching.json, "dump", full):
        with fake_clock({1: 10, 2: 9, 4: 8, 8: 7, 16: 6}) as net:
            assert batching.best_batch_size(net, (3, 8, 8)) == 16
    assert list(Path(folder).iterdir()) == [], "a half-written file was left behind"


def check_old_cache_entries_are_measured_again(folder) -> None:
    """A stored size older than ``MAX_AGE_HOURS`` is measured again and renewed; a younger one
    is used as is. Catches entries that never expire (a probe run during a burst of load would
    be kept for ever)."""
    from xai_helpers.core import batching

    with cache_folder(folder), fake_clock({1: 10, 2: 9, 4: 8, 8: 7, 16: 6}) as net:
        key = batching._disk_key(net, (3, 8, 8))
        for age_hours, expected in [(batching.MAX_AGE_HOURS - 1, 2),
                                    (batching.MAX_AGE_HOURS + 1, 16)]:
            batching.cache_file().write_text(
                json.dumps({key: [2, time.time() - age_hours * 3600]}))
            batching._MEASURED.pop(net, None)             # a new session: only the file
            assert batching.best_batch_size(net, (3, 8, 8)) == expected, f"{age_hours} h old"
        assert json.loads(batching.cache_file().read_text())[key][0] == 16
