"""Mutation testing in miniature: plausible wrong implementations, each rejected by our checks.

Every mutant below is a mistake a learner, a course port or a careless refactoring could make:
a swapped method, a missing ReLU, a dropped baseline, a transposed mask, a sum for a mean. Each
runs through the *same* check function (``tests/checks.py``) as the regular test named in
``killed_by``, and must fail it. A check that a mutant survives is a check that cannot fail.

Equivalent mutants, which no check can kill because the result is the same, are not listed:
e.g. Grad-CAM weights summed instead of averaged over positions (a factor h*w that min-max
normalisation removes).
"""
from __future__ import annotations

import copy
import importlib
import json
import os
import sys
import tempfile
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from unittest import mock

import pytest
import torch
import torch.nn.functional as F

import xai_helpers as xh
from xai_helpers.attribution import gradients as G
from xai_helpers.cam.fullgrad import FullGrad
from xai_helpers.core import batching, folding
from xai_helpers.evaluation import metrics as M

import checks

lrp_module = importlib.import_module("xai_helpers.attribution.relevance")
activation_module = importlib.import_module("xai_helpers.cam.activation")


@dataclass(frozen=True)
class Mutant:
    name: str                        # what is wrong
    check: Callable[[], object]      # the suite's check, run on the wrong implementation
    killed_by: str                   # the regular test that runs the same check


def _fails_at_some_cam_layer(method_class, reference: str) -> Callable[[], None]:
    """The CAM agreement test is parametrised over three layers; a mutant is killed when the
    check fails at any of them (several methods coincide at the layer before pooling)."""
    def check():
        for layer in checks.CAM_LAYERS:
            checks.assert_cam_agrees(method_class, reference, layer, 1e-4)
    return check


# -- CAM family: wrong versions of one method's own step ----------------------------------------

class GradCAMAsHiResCAM(xh.GradCAM):
    """Grad-CAM without the spatial average: gradient x activation per position."""
    def cam_image(self, A, grads, **context):
        return (grads * A).sum(dim=1)


class XGradCAMWithMeanGradients(xh.XGradCAM):
    """XGrad-CAM weights replaced by Grad-CAM's mean gradient."""
    def channel_weights(self, A, grads, **context):
        return grads.mean(dim=(2, 3))


class HiResCAMAveraged(xh.HiResCAM):
    """HiResCAM with the gradient averaged over positions first (that is Grad-CAM)."""
    def cam_image(self, A, grads, **context):
        return (grads.mean(dim=(2, 3), keepdim=True) * A).sum(dim=1)


class LayerCAMWithReluOnTheProduct(xh.LayerCAM):
    """LayerCAM with ReLU(g * A) instead of ReLU(g) * A (that is Grad-CAM-ElementWise)."""
    def cam_image(self, A, grads, **context):
        return torch.relu(grads * A).sum(dim=1)


class ElementWiseWithoutInnerRelu(xh.GradCAMElementWise):
    """Grad-CAM-ElementWise without its per-element ReLU (that is HiResCAM)."""
    def cam_image(self, A, grads, **context):
        return (grads * A).sum(dim=1)


class GradCAMPlusPlusWithoutNormalisedAlpha(xh.GradCAMPlusPlus):
    """Grad-CAM++ with alpha = g**2, never divided (torchcam 0.5's behaviour)."""
    def channel_weights(self, A, grads, **context):
        return (grads ** 2 * torch.relu(grads)).sum(dim=(2, 3))


class GradCAMPlusPlusWithoutRelu(xh.GradCAMPlusPlus):
    """Grad-CAM++ summing alpha * g instead of alpha * ReLU(g)."""
    def channel_weights(self, A, grads, **context):
        g2 = grads ** 2
        alpha = g2 / (2 * g2 + A.sum(dim=(2, 3), keepdim=True) * g2 * grads + 1e-6)
        return (torch.where(grads != 0, alpha, 0.0) * grads).sum(dim=(2, 3))


class GradCAMWithoutFinalRelu(xh.GradCAM):
    """Grad-CAM keeping negative evidence (no ReLU before normalising)."""
    def __call__(self, x, target=None, **options):
        return super().__call__(x, target, **{**options, "relu": False})


class GradCAMPooledOverTheBatch(xh.GradCAM):
    """Grad-CAM averaging the gradient over the batch too (wrong pooling axis): images mix."""
    def channel_weights(self, A, grads, **context):
        return grads.mean(dim=(0, 2, 3)).expand(len(A), -1)


class GradCAMWithReversedTargets(xh.GradCAM):
    """Per-image targets applied to the wrong images."""
    def __call__(self, x, target=None, **options):
        return super().__call__(x, list(reversed(target)), **options)


class GradCAMNormalisedOverTheBatch(xh.GradCAM):
    """Min-max normalisation over the whole batch instead of per image."""
    def __call__(self, x, target=None, **options):
        raw = super().__call__(x, target, **{**options, "normalise": False})
        return (raw - raw.min()) / (raw.max() - raw.min())


class GradCAMNearestUpsampling(xh.GradCAM):
    """Nearest-neighbour upsampling instead of bilinear."""
    def __call__(self, x, target=None, **options):
        small = super().__call__(x, target, **{**options, "size": None})
        return F.interpolate(small[:, None], size=x.shape[-2:], mode="nearest")[:, 0]


class EigenCAMWithoutCentring(xh.EigenCAM):
    """Eigen-CAM's SVD on uncentred activations."""
    def cam_image(self, A, grads, **context):
        flat = A.flatten(2).transpose(1, 2)
        _, _, vh = torch.linalg.svd(flat, full_matrices=False)
        projection = (flat @ vh[:, 0, :, None])[..., 0]
        sign = torch.sign((projection * A.sum(1).flatten(1)).sum(1))
        return (projection * sign[:, None]).view(A.shape[0], *A.shape[2:])


class EigenGradCAMOnActivations(xh.EigenGradCAM):
    """EigenGrad-CAM projecting A instead of g * A (that is Eigen-CAM)."""
    def cam_image(self, A, grads, **context):
        return xh.EigenCAM.cam_image(self, A, grads, **context)


class ScoreCAMWithoutSoftmax(xh.ScoreCAM):
    """Score-CAM weighting channels by log-softmax scores instead of the softmax."""
    def channel_weights(self, A, grads, **context):
        return super().channel_weights(A, grads, **context).log()


def _score_cam_check(method_class):
    def check():
        checks.assert_cam_agrees(method_class, "Score-CAM", "_blocks.0", 1e-4)
    return check


def _cam_vs_torchcam_other_class():
    """CAM of the target's classifier row: caught on chelsea (target 282, predicted 285)."""
    class CAMOfThePredictedClass(xh.CAM):
        def channel_weights(self, A, grads, *, x, classes, target):
            return self.fc_weight[self.logits.argmax(1)].detach()

    def check():
        from torchcam.methods import CAM as TorchcamCAM

        model, x = checks.model_and_batch()
        with TorchcamCAM(model, "_head_act") as extractor:
            theirs = extractor(list(checks.TARGETS), model(x))[0]
        ours = CAMOfThePredictedClass(model)(x, list(checks.TARGETS), size=None, relu=False)
        assert (ours - theirs).abs().max() < 1e-5
    return check


CAM_KILLER = "cam/test_cam.py::test_every_method_equals_pytorch_grad_cam_where_the_methods_differ"
CAM_MUTANTS = [
    Mutant("Grad-CAM computed as HiResCAM (no spatial mean)",
           _fails_at_some_cam_layer(GradCAMAsHiResCAM, "Grad-CAM"), CAM_KILLER),
    Mutant("XGrad-CAM with Grad-CAM's weights",
           _fails_at_some_cam_layer(XGradCAMWithMeanGradients, "XGrad-CAM"), CAM_KILLER),
    Mutant("HiResCAM computed as Grad-CAM",
           _fails_at_some_cam_layer(HiResCAMAveraged, "HiResCAM"), CAM_KILLER),
    Mutant("LayerCAM computed as Grad-CAM-ElementWise",
           _fails_at_some_cam_layer(LayerCAMWithReluOnTheProduct, "LayerCAM"), CAM_KILLER),
    Mutant("Grad-CAM-ElementWise without its inner ReLU",
           _fails_at_some_cam_layer(ElementWiseWithoutInnerRelu, "Grad-CAM-ElementWise"),
           CAM_KILLER),
    Mutant("Grad-CAM++ with un-normalised alpha (torchcam 0.5)",
           _fails_at_some_cam_layer(GradCAMPlusPlusWithoutNormalisedAlpha, "Grad-CAM++"),
           CAM_KILLER),
    Mutant("Grad-CAM++ without the ReLU on gradients",
           _fails_at_some_cam_layer(GradCAMPlusPlusWithoutRelu, "Grad-CAM++"), CAM_KILLER),
    Mutant("Grad-CAM without the final ReLU",
           _fails_at_some_cam_layer(GradCAMWithoutFinalRelu, "Grad-CAM"), CAM_KILLER),
    Mutant("Grad-CAM pooled over the batch axis too",
           _fails_at_some_cam_layer(GradCAMPooledOverTheBatch, "Grad-CAM"), CAM_KILLER),
    Mutant("per-image targets applied to the wrong images",
           _fails_at_some_cam_layer(GradCAMWithReversedTargets, "Grad-CAM"), CAM_KILLER),
    Mutant("maps min-max normalised over the batch, not per image",
           _fails_at_some_cam_layer(GradCAMNormalisedOverTheBatch, "Grad-CAM"), CAM_KILLER),
    Mutant("nearest-neighbour upsampling",
           _fails_at_some_cam_layer(GradCAMNearestUpsampling, "Grad-CAM"), CAM_KILLER),
    Mutant("Eigen-CAM without centring the activations",
           _fails_at_some_cam_layer(EigenCAMWithoutCentring, "Eigen-CAM"), CAM_KILLER),
    Mutant("EigenGrad-CAM projecting A instead of g * A",
           _fails_at_some_cam_layer(EigenGradCAMOnActivations, "EigenGrad-CAM"), CAM_KILLER),
    Mutant("Score-CAM without the softmax over channel scores",
           _score_cam_check(ScoreCAMWithoutSoftmax),
           "cam/test_cam.py::test_score_cam_equals_pytorch_grad_cam"),
    Mutant("CAM of the predicted class instead of the target", _cam_vs_torchcam_other_class(),
           "cam/test_cam.py::test_equal_torchcam_at_feature_resolution"),
]


# -- gradient attributions -----------------------------------------------------------------------

def _ig(model, x, target, baseline=0.0, n_steps=50, *, use_baseline=True, factor="x - x'"):
    """Integrated Gradients (Gauss-Legendre) with the classic bugs as switches."""
    x = x.detach()
    baseline = torch.as_tensor(baseline, dtype=x.dtype).expand_as(x)
    start = baseline if use_baseline else torch.zeros_like(x)
    alphas, weights = G._quadrature(n_steps, "gausslegendre")
    average = sum(w * G.input_gradients(model, start + a * (x - start), target)
                  for a, w in zip(alphas, weights))
    return {"x - x'": x - start, "x": x, "none": 1.0}[factor] * average


def _ig_check(kind, **bug):
    return lambda: checks.assert_ig_agrees_with_captum(
        lambda *args, **kwargs: _ig(*args, **kwargs, **bug), kind)


def _smoothgrad_check(kind, transform):
    return lambda: checks.assert_smoothgrad_agrees_with_noise_tunnel(transform, kind)


def _gradient_shap_at_the_input(model, x, target, baselines, n_samples, stdevs):
    """GradientSHAP with the gradient taken at the noisy input instead of a random point."""
    import numpy as np

    n = len(x)
    chosen = baselines[np.random.choice(len(baselines), n * n_samples).tolist()]
    repeated = x.repeat_interleave(n_samples, dim=0)
    noisy = repeated + torch.normal(0.0, torch.full(repeated.shape, float(stdevs)))
    np.random.uniform(0.0, 1.0, n * n_samples)
    targets = torch.as_tensor(target).repeat_interleave(n_samples).tolist()
    grads = G.input_gradients(model, noisy, targets)
    return ((noisy - chosen) * grads).view(n, n_samples, *x.shape[1:]).mean(dim=1)


GRADIENT_KILLER = "attribution/test_gradients.py::"
GRADIENT_MUTANTS = [
    Mutant("saliency without the absolute value",
           lambda: checks.assert_saliency_agrees_with_captum(G.input_gradients),
           GRADIENT_KILLER + "test_saliency_equals_captum"),
    Mutant("IG that ignores the baseline (always 0)", _ig_check("black", use_baseline=False),
           GRADIENT_KILLER + "test_integrated_gradients_with_non_zero_baselines_equal_captum"),
    Mutant("IG multiplied by x instead of (x - x')", _ig_check("blurred", factor="x"),
           GRADIENT_KILLER + "test_integrated_gradients_with_non_zero_baselines_equal_captum"),
    Mutant("IG without the (x - x') factor", _ig_check("black", factor="none"),
           GRADIENT_KILLER + "test_integrated_gradients_with_non_zero_baselines_equal_captum"),
    Mutant("IG without the (x - x') factor: completeness",
           lambda: checks.assert_complete(lambda *a, **k: _ig(*a, **k, factor="none"), "black"),
           GRADIENT_KILLER + "test_completeness_with_non_zero_baselines"),
    Mutant("SmoothGrad summing instead of averaging",
           _smoothgrad_check("smoothgrad", lambda *a, **k: G.smoothgrad(*a, **k) * 4),
           GRADIENT_KILLER + "test_smoothgrad_equals_noise_tunnel_with_the_same_noise"),
    Mutant("SmoothGrad of signed gradients",
           _smoothgrad_check("smoothgrad", lambda *a, **k: G.smoothgrad(*a, **k,
                                                                        absolute=False)),
           GRADIENT_KILLER + "test_smoothgrad_equals_noise_tunnel_with_the_same_noise"),
    Mutant("SmoothGrad squared = square of the mean",
           _smoothgrad_check("smoothgrad_sq", lambda *a, kind, **k: G.smoothgrad(
               *a, kind="smoothgrad", **k) ** 2),
           GRADIENT_KILLER + "test_smoothgrad_equals_noise_tunnel_with_the_same_noise"),
    Mutant("VarGrad without subtracting the squared mean",
           _smoothgrad_check("vargrad", lambda *a, kind, **k: G.smoothgrad(
               *a, kind="smoothgrad_sq", **k)),
           GRADIENT_KILLER + "test_smoothgrad_equals_noise_tunnel_with_the_same_noise"),
    Mutant("GradientSHAP without the input noise",
           lambda: checks.assert_gradient_shap_agrees_with_captum(
               lambda *a, **k: G.gradient_shap(*a, **{**k, "stdevs": 0.0})),
           GRADIENT_KILLER + "test_gradient_shap_from_scratch_equals_captum_with_the_same_draws"),
    Mutant("GradientSHAP with gradients at the input, not on the path",
           lambda: checks.assert_gradient_shap_agrees_with_captum(_gradient_shap_at_the_input),
           GRADIENT_KILLER + "test_gradient_shap_from_scratch_equals_captum_with_the_same_draws"),
]


# -- guided backprop -----------------------------------------------------------------------------

def _guided_with(rule: str):
    """guided_backprop on a copy whose ReLU / ReLU6 modules use a wrong backward ``rule``."""
    class WrongRule(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, upper):
            ctx.save_for_backward(x)
            ctx.upper = upper
            return x.clamp(min=0) if upper is None else x.clamp(0, upper)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            if rule == "deconvnet":                      # ignores the forward input
                passes = grad > 0
            else:                                        # "no upper bound": ReLU6 as ReLU
                passes = (x > 0) & (grad > 0)
            return torch.where(passes, grad, 0.0), None

    class WrongReLU(torch.nn.Module):
        def __init__(self, upper=None):
            super().__init__()
            self.upper = upper

        def forward(self, x):
            return WrongRule.apply(x, self.upper)

    def guided_backprop(model, x, target):
        wrong = copy.deepcopy(model).eval()
        for parent in list(wrong.modules()):
            for name, child in list(parent.named_children()):
                if type(child) in (torch.nn.ReLU, torch.nn.ReLU6):
                    setattr(parent, name, WrongReLU(6.0 if type(child) is torch.nn.ReLU6
                                                    else None))
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            scores = wrong(x)[torch.arange(len(x)), torch.as_tensor(target)]
            (grad,) = torch.autograd.grad(scores.sum(), x)
        return grad
    return guided_backprop


def _guided_grad_cam_without_the_guided_rule(model, x, target, layer=None):
    return G.input_gradients(model, x, target) * xh.GradCAM(model, layer)(x, target)[:, None]


GUIDED_KILLER = "attribution/test_guided.py::"
GUIDED_MUTANTS = [
    Mutant("guided backprop = the plain gradient (no guided rule)",
           lambda: checks.assert_guided_effnet_agrees(G.input_gradients),
           GUIDED_KILLER + "test_guided_backprop_on_effnet_equals_an_independent_hook_"
                           "implementation"),
    Mutant("the deconvnet rule instead of the guided rule",
           lambda: checks.assert_guided_effnet_agrees(_guided_with("deconvnet")),
           GUIDED_KILLER + "test_guided_backprop_on_effnet_equals_an_independent_hook_"
                           "implementation"),
    Mutant("guided ReLU6 that ignores the upper bound 6",
           lambda: checks.assert_guided_effnet_agrees(_guided_with("no upper bound")),
           GUIDED_KILLER + "test_guided_backprop_on_effnet_equals_an_independent_hook_"
                           "implementation"),
    Mutant("Guided Grad-CAM without the guided rule",
           lambda: checks.assert_guided_grad_cam_agrees_with_pgc(
               _guided_grad_cam_without_the_guided_rule),
           GUIDED_KILLER + "test_guided_grad_cam_equals_pytorch_grad_cams_recipe"),
]


# -- perturbation --------------------------------------------------------------------------------

def _occlusion(model, x, target, window, stride, baseline=0.0, batch_size=8, *,
               divide="count", transpose=False, report="drop"):
    """Occlusion from scratch, with the classic bugs as switches."""
    if transpose:
        window, stride = window[::-1], stride[::-1]
    rows = xh.window_positions(x.shape[-2], window[0], stride[0])
    cols = xh.window_positions(x.shape[-1], window[1], stride[1])
    targets = torch.as_tensor(target).expand(len(x))
    out = torch.zeros_like(x)
    with torch.no_grad():
        for i in range(len(x)):
            original = model(x[i:i + 1])[0, targets[i]]
            total, count = torch.zeros(x.shape[-2:]), torch.zeros(x.shape[-2:])
            for r in rows:
                for c in cols:
                    occluded = x[i:i + 1].clone()
                    occluded[..., r:r + window[0], c:c + window[1]] = baseline
                    score = model(occluded)[0, targets[i]]
                    value = original - score if report == "drop" else score
                    total[r:r + window[0], c:c + window[1]] += value
                    count[r:r + window[0], c:c + window[1]] += 1
            out[i] = (total / (count if divide == "count" else len(rows) * len(cols)))
    return out


def _occlusion_check(**bug):
    return lambda: checks.assert_occlusion_agrees_with_captum(
        lambda *args, **kwargs: _occlusion(*args, **kwargs, **bug))


def _lime_check(samples=xh.lime_samples, ridge=xh.weighted_ridge):
    return lambda: checks.assert_lime_agrees_with_lime(samples, ridge, num_samples=60)


def _lime_samples_without_square_root(*args, **kwargs):
    samples = xh.lime_samples(*args, **kwargs)
    samples.weights = samples.weights ** 2
    return samples


def _ridge_without_intercept(features, y, weights, alpha=1.0):
    z, y, w = features.double(), y.double(), weights.double()
    lhs = z.T @ (w[:, None] * z) + alpha * torch.eye(z.shape[1], dtype=z.dtype)
    return torch.linalg.solve(lhs, z.T @ (w * y)).float(), 0.0


PERTURBATION_MUTANTS = [
    Mutant("occlusion reporting the occluded score, not the drop",
           _occlusion_check(report="score"),
           "attribution/test_occlusion.py::test_equals_captum_with_windows_that_do_not_tile_and_are_"
           "not_square"),
    Mutant("occlusion averaged over all windows, not the windows covering the pixel",
           _occlusion_check(divide="windows"),
           "attribution/test_occlusion.py::test_equals_captum_with_windows_that_do_not_tile_and_are_"
           "not_square"),
    Mutant("occlusion window and stride transposed (width for height)",
           _occlusion_check(transpose=True),
           "attribution/test_occlusion.py::test_equals_captum_with_windows_that_do_not_tile_and_are_"
           "not_square"),
    Mutant("LIME kernel without the square root", _lime_check(_lime_samples_without_square_root),
           "attribution/test_lime.py::test_lime_from_scratch_equals_the_lime_package"),
    Mutant("LIME ridge without sample weights",
           _lime_check(ridge=lambda z, y, w, alpha=1.0: xh.weighted_ridge(z, y,
                                                                          torch.ones_like(w))),
           "attribution/test_lime.py::test_lime_from_scratch_equals_the_lime_package"),
    Mutant("LIME ridge without an intercept", _lime_check(ridge=_ridge_without_intercept),
           "attribution/test_lime.py::test_lime_from_scratch_equals_the_lime_package"),
]


# -- metrics -------------------------------------------------------------------------------------

def _pointing_game_transposed(maps, masks, tolerance=0):
    """The flat argmax decoded as (column, row)."""
    if tolerance:
        masks = F.max_pool2d(masks[:, None].float(), 2 * tolerance + 1, 1, tolerance)[:, 0] > 0
    flat = maps.flatten(1).argmax(dim=1)
    rows, cols = flat % maps.shape[1], flat // maps.shape[1]
    return masks[torch.arange(len(flat)), rows.clamp(max=maps.shape[1] - 1),
                 cols.clamp(max=maps.shape[2] - 1)]


class _MeanCurve:
    def __init__(self, curve):
        self.fractions, self.probabilities = curve.fractions, curve.probabilities
        self.auc = float(curve.probabilities.mean())


def _gini_descending(maps):
    values = torch.as_tensor(maps).float().abs().flatten(1).sort(dim=1, descending=True).values
    n = values.shape[1]
    ranks = torch.arange(1, n + 1, dtype=values.dtype)
    return ((2 * ranks - n - 1) * values).sum(1) / (n * values.sum(1).clamp(min=1e-12))


def _pearson(a, b):
    a, b = torch.as_tensor(a).float().flatten(1), torch.as_tensor(b).float().flatten(1)
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))


METRIC_KILLER = "evaluation/test_metrics.py::"
METRIC_MUTANTS = [
    Mutant("pointing game with rows and columns swapped",
           lambda: checks.check_pointing_game(_pointing_game_transposed),
           METRIC_KILLER + "test_pointing_game_on_a_wide_mask"),
    Mutant("pointing game at the map's minimum",
           lambda: checks.check_pointing_game(lambda maps, masks, tolerance=0:
                                              M.pointing_game(-maps, masks, tolerance)),
           METRIC_KILLER + "test_pointing_game_on_a_wide_mask"),
    Mutant("energy in mask counting negative values",
           lambda: checks.check_energy_in_mask(
               lambda maps, masks: (maps * masks).flatten(1).sum(1) / maps.flatten(1).sum(1)),
           METRIC_KILLER + "test_energy_in_mask_counts_positive_energy_only"),
    Mutant("deletion removing the least salient pixels first",
           lambda: checks.check_deletion_and_insertion(
               lambda m, x, t, s, **k: M.deletion_curve(m, x, t, -s, **k), M.insertion_curve),
           "evaluation/test_metrics.py::test_curves_point_by_point_on_a_model_known_by_hand"),
    Mutant("insertion starting from the image (a deletion curve)",
           lambda: checks.check_deletion_and_insertion(M.deletion_curve, M.deletion_curve),
           "evaluation/test_metrics.py::test_curves_point_by_point_on_a_model_known_by_hand"),
    Mutant("curve AUC as the mean of the probabilities",
           lambda: checks.check_deletion_and_insertion(
               lambda *a, **k: _MeanCurve(M.deletion_curve(*a, **k)), M.insertion_curve),
           "evaluation/test_metrics.py::test_curves_point_by_point_on_a_model_known_by_hand"),
    Mutant("Gini index with the values sorted in descending order",
           lambda: checks.check_sparseness(_gini_descending),
           METRIC_KILLER + "test_sparseness_is_the_gini_index"),
    Mutant("Pearson instead of Spearman correlation",
           lambda: checks.check_rank_correlation(_pearson),
           METRIC_KILLER + "test_rank_correlation_is_spearmans_and_matches_scipy"),
]


# -- LRP and I-GOS -------------------------------------------------------------------------------

def _lrp_with(**patches):
    """lrp() with one of its rules replaced (lrp looks its rules up at call time)."""
    def check():
        with mock.patch.multiple(lrp_module, **patches):
            checks.assert_lrp_agrees_with_zennit(lrp_module.lrp)
    return check


def _epsilon_without_activation(layer, a, relevance, epsilon=1e-6):
    w = lrp_module._weight(layer)
    z = lrp_module._apply(layer, a, w)
    return lrp_module._transpose(layer, a, w, relevance / lrp_module.stabilise(z, epsilon))


def _gamma_on_all_weights(layer, a, relevance, gamma=0.25, epsilon=1e-6):
    w = lrp_module._weight(layer)
    rho_w = w + gamma * w.abs()
    z = lrp_module._apply(layer, a, rho_w)
    return a * lrp_module._transpose(layer, a, rho_w, relevance / lrp_module.stabilise(z, epsilon))


_ZBOX = lrp_module.zbox_rule


def _zbox_with_swapped_bounds(layer, x, relevance, low, high, epsilon=1e-6):
    return _ZBOX(layer, x, relevance, high, low, epsilon)


class _IGOSWithM:
    """I-GOS returning the mask M (1 = keep) as the explanation instead of 1 - M."""
    def __call__(self, *args, **kwargs):
        result = xh.igos(*args, **kwargs)
        result.saliency = 1 - result.saliency
        return result


RELEVANCE_MUTANTS = [
    Mutant("epsilon rule returning c without multiplying by a",
           _lrp_with(epsilon_rule=_epsilon_without_activation),
           "attribution/test_lrp.py::test_equals_zennit_epsilon_gamma_box_and_conserves"),
    Mutant("gamma rule strengthening negative weights too",
           _lrp_with(gamma_rule=_gamma_on_all_weights),
           "attribution/test_lrp.py::test_equals_zennit_epsilon_gamma_box_and_conserves"),
    Mutant("z^B rule with the lower and upper input bounds swapped",
           _lrp_with(zbox_rule=_zbox_with_swapped_bounds),
           "attribution/test_lrp.py::test_equals_zennit_epsilon_gamma_box_and_conserves"),
    Mutant("I-GOS with the plain gradient (one path point, at M)",
           lambda: checks.check_igos_finds_the_region(
               lambda *a, **k: xh.igos(*a, **{**k, "ig_steps": 1})),
           "attribution/test_igos.py::test_igos_finds_the_region_a_saturated_model_reads"),
    Mutant("I-GOS explanation M instead of 1 - M",
           lambda: checks.check_igos_finds_the_region(_IGOSWithM()),
           "attribution/test_igos.py::test_igos_finds_the_region_a_saturated_model_reads"),
]

def _video_without_heatmap(tmp_path_factory):
    def check():
        import xai_helpers.video.explain as video_explain

        folder = tmp_path_factory.mktemp("mutant_video")
        clip = checks.make_clip(folder / "clip.mp4")
        with mock.patch.object(video_explain, "render_frame",
                               lambda frame, cam, alpha=0.5, cmap="jet": frame.copy()):
            checks.check_heatmap_drawn(checks.model_and_batch()[0], clip, folder)
    return check


# -- the model's state -------------------------------------------------------------------------

@contextmanager
def _root_only_eval_mode(model):
    """The classic guard: restores the root's flag on every module (a frozen BatchNorm inside a
    training model comes back in training mode)."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@contextmanager
def _no_eval_mode(model):
    """No guard at all: forward passes run in the model's current (train) mode."""
    yield model


def _with_guard(guard, check):
    def run():
        patches = [mock.patch.object(module, "eval_mode", guard)
                   for name, module in list(sys.modules.items())
                   if name.startswith("xai_helpers") and hasattr(module, "eval_mode")]
        with ExitStack() as stack:
            for patch in patches:
                stack.enter_context(patch)
            check()
    return run


def _unchanged_check(name):
    def check():
        from test_model_unchanged import test_explaining_leaves_the_model_as_it_was

        test_explaining_leaves_the_model_as_it_was(name, torch.rand(2, 3, 32, 32) * 2 - 1)
    return check


def _helpers_check():
    from test_model_unchanged import test_the_helpers_notebooks_call_leave_the_model_as_it_was

    test_the_helpers_notebooks_call_leave_the_model_as_it_was(torch.rand(2, 3, 32, 32))


STATE_KILLER = "test_model_unchanged.py::test_explaining_leaves_the_model_as_it_was"
STATE_MUTANTS = [
    Mutant("eval mode restored from the root only (a frozen BatchNorm comes back training)",
           _with_guard(_root_only_eval_mode, _unchanged_check("Grad-CAM")), STATE_KILLER),
    Mutant("methods run in the model's current mode (BatchNorm statistics move)",
           _with_guard(_no_eval_mode, _unchanged_check("Integrated Gradients")), STATE_KILLER),
    Mutant("helpers (list_conv_layers, predict, accuracy …) run in the current mode",
           _with_guard(_no_eval_mode, _helpers_check),
           "test_model_unchanged.py::test_the_helpers_notebooks_call_leave_the_model_as_it_was"),
]

# -- the methods added for the course material -------------------------------------------------

class AblationScoreNotDrop(xh.AblationCAM):
    """Ablation-CAM weighting each channel by the ablated score's share, y_k / y."""
    def channel_weights(self, A, grads, **context):
        return 1 - super().channel_weights(A, grads, **context)


class FullGradWithoutBiases(FullGrad):
    """FullGrad without its bias terms: the input gradient term alone."""
    def __init__(self, model, layer=None):
        super().__init__(model, layer)
        self.layers = []


class SSCAMWithoutNoise(xh.SSCAM):
    def sample_masks(self, masks, sample):
        torch.randn(masks.shape)                           # keep the generator in step
        return masks


class ISCAMWithLinearCoefficients(xh.ISCAM):
    """IS-CAM scaling by i/N (a plain path) instead of the cumulative i(i+1)/2N."""
    def sample_masks(self, masks, sample):
        return (sample + 1) / self.n_samples * masks


class IntegratedGradCAMAveragingFirst(xh.IntegratedGradCAM):
    """The path's gradients averaged first, then one Grad-CAM map at x."""
    def _raw_maps(self, x, target, eigen_smooth=False):
        _, _, self.logits, self.classes = self._forward(x, target, gradients=False)
        baseline = torch.full_like(x, -1.0)
        grads = sum(self._forward(baseline + (i / self.n_steps) * (x - baseline),
                                  self.classes.tolist())[1][0] for i in range(self.n_steps))
        A = self._forward(x, self.classes.tolist(), gradients=False)[0][0]
        return [(grads.mean(dim=(2, 3), keepdim=True) * A).sum(dim=1)]


def _guided_ig_largest_first(model, x, target, steps, max_dist):
    import xai_helpers.attribution.paths as paths

    original = paths._guided_ig_one

    def flipped(end, start, gradient, *args):
        return original(end, start, lambda point: 1.0 / (gradient(point).abs() + 1e-3)
                        * gradient(point).sign(), *args)
    with mock.patch.object(paths, "_guided_ig_one", flipped):
        return xh.guided_integrated_gradients(model, x, target, steps=steps, max_dist=max_dist)


def _rise_with_logits(model, x, target, masks, p, batch_size):
    with torch.no_grad():
        scores = torch.stack([model(x * m)[0, target] for m in masks])
    return ((scores[:, None, None] * masks).sum(0) / (len(masks) * p))[None]


def _alpha_beta_swapped(layer, a, relevance, alpha=1.0, beta=0.0, epsilon=1e-6):
    """β applied to the positive part and α to the negative one."""
    return _ALPHA_BETA(layer, a, relevance, alpha=beta + 1, beta=alpha - 1, epsilon=epsilon) \
        if alpha != beta + 1 else -_ALPHA_BETA(layer, a, relevance, alpha, beta, epsilon)


_ALPHA_BETA = lrp_module.alpha_beta_rule

NEW_MUTANTS = [
    Mutant("Ablation-CAM weighting by the ablated score, not the drop",
           lambda: checks.assert_ablation_agrees_with_pgc(
               lambda m, layer: AblationScoreNotDrop(m, layer, batch_size=3), checks.relu_cnn(),
               torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(4)),
               layer="1", targets=(1, 3)),
           "cam/test_more_cams.py::test_ablation_cam_equals_pytorch_grad_cam_at_an_inner_relu_layer"),
    Mutant("FullGrad without the bias terms",
           lambda: checks.assert_fullgrad_agrees_with_pgc(
               FullGradWithoutBiases, checks.bias_cnn(),
               torch.randn(2, 3, 12, 12, generator=torch.Generator().manual_seed(5)), (0, 3)),
           "cam/test_more_cams.py::test_fullgrad_equals_pytorch_grad_cam"),
    Mutant("SS-CAM without the noise",
           lambda: checks.assert_score_variant_agrees_with_torchcam(SSCAMWithoutNoise, "SS-CAM"),
           "cam/test_more_cams.py::test_score_variants_equal_torchcam"),
    Mutant("IS-CAM with a plain i/N path instead of the cumulative coefficient",
           lambda: checks.assert_score_variant_agrees_with_torchcam(
               ISCAMWithLinearCoefficients, "IS-CAM"),
           "cam/test_more_cams.py::test_score_variants_equal_torchcam"),
    Mutant("Integrated Grad-CAM averaging the gradients first, one map at x",
           lambda: checks.assert_integrated_grad_cam_agrees(IntegratedGradCAMAveragingFirst,
                                                            "_blocks.15"),
           "cam/test_more_cams.py::test_integrated_grad_cam_equals_its_definition_built_from_"
           "grad_cam"),
    Mutant("Guided IG moving the most sensitive features first",
           lambda: checks.assert_guided_ig_agrees_with_pair(_guided_ig_largest_first, 1.0),
           "attribution/test_paths.py::test_guided_ig_equals_pairs_saliency"),
    Mutant("Blur IG without the minus sign (the path runs from the image)",
           lambda: checks.assert_blur_ig_agrees_with_pair(
               lambda *a, **k: -xh.blur_integrated_gradients(*a, **k)),
           "attribution/test_paths.py::test_blur_ig_equals_pairs_saliency_and_the_blur_equals_"
           "scipy"),
    Mutant("NoiseTunnel over IG without the noise",
           lambda: checks.assert_noise_tunnel_ig_agrees_with_captum(
               lambda *a, **k: xh.noise_tunnel(*a, **{**k, "sigma": 0.0})),
           "attribution/test_paths.py::test_noise_tunnel_over_ig_equals_captum"),
    Mutant("RISE weighting masks by the logit, not the probability",
           lambda: checks.check_rise_formula(_rise_with_logits),
           "attribution/test_rise.py::test_rise_is_the_score_weighted_mean_of_the_masks"),
    Mutant("α-β rule with α and β on the wrong parts",
           _lrp_with_alpha_beta := (lambda: _check_swapped_alpha_beta()),
           "attribution/test_lrp.py::test_alpha_beta_rule_equals_zennit_and_conserves"),
]


def _check_swapped_alpha_beta():
    with mock.patch.object(lrp_module, "alpha_beta_rule", _alpha_beta_swapped):
        checks.assert_alpha_beta_agrees_with_zennit(lrp_module.lrp, 2.0, 1.0)


# -- the batch-size probe ----------------------------------------------------------------------

def _pick_by_time_per_batch(net, shape):
    timings = xh.batch_timings(net, shape)
    per_batch = {size: seconds * size for size, seconds in timings.items()}
    return min(per_batch, key=per_batch.get)


def _strict_minimum(timings):
    return min(timings, key=timings.get)


def _one_round_only(net, shape):
    return xh.choose_batch_size(xh.batch_timings(net, shape, repeats=2))


def _timings_of_zeros(net, shape, example=None):
    return xh.batch_timings(net, shape, example=torch.zeros(1, *shape))


PROBE_MUTANTS = [
    Mutant("batch size chosen by the time per batch, not per image",
           lambda: checks.check_probe_picks_per_image_time(_pick_by_time_per_batch),
           "core/test_batching.py::test_picks_the_lowest_time_per_image_not_per_batch"),
    Mutant("batch size by a strict minimum (near ties to the larger batch)",
           lambda: checks.check_near_ties_go_to_the_smaller_batch(_strict_minimum),
           "core/test_batching.py::test_near_ties_go_to_the_smaller_batch"),
    Mutant("probe timing each size in one round only (a burst of load decides)",
           lambda: checks.check_a_burst_of_load_does_not_pick_the_size(_one_round_only),
           "core/test_batching.py::test_a_burst_of_load_does_not_decide_the_winner"),
    Mutant("probe timing zeros instead of the image it is given",
           lambda: checks.check_probe_times_the_example(_timings_of_zeros),
           "core/test_batching.py::test_times_the_image_it_is_given"),
]


# -- folding BatchNorm into convolutions ----------------------------------------------------------

def _fold_without_running_mean(net):
    shifted = copy.deepcopy(net)
    for module in shifted.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.zero_()
    return folding.folded_copy(shifted)


_conv_of = folding._conv_of


def _conv_of_ignoring_the_bias(node, model):
    if node.op == "call_function" and node.target is F.conv2d:
        return node.args[1].target[: -len(".weight")]
    return _conv_of(node, model)


def _pairs_ignoring_other_users(graph, model):
    return [(_conv_of(node.args[0], model), node.target) for node in graph.nodes
            if node.op == "call_module"
            and isinstance(model.get_submodule(node.target), torch.nn.BatchNorm2d)
            and _conv_of(node.args[0], model)]


def _patched_fold(name, replacement):
    def check():
        with mock.patch.object(folding, name, replacement):
            checks.check_folding_keeps_the_function(folding.folded_copy)
    return check


def _ablation_on_a_fully_folded_copy():
    real = activation_module.inference_copy
    with mock.patch.object(activation_module, "inference_copy",
                           lambda model, keep=(): real(model)):
        checks.assert_ablation_equals_ablating_by_hand(xh.AblationCAM, checks.model_and_batch()[0],
                                                       "_conv_head")


FOLDING_MUTANTS = [
    Mutant("Ablation-CAM hooking a copy whose hooked convolution has its BatchNorm folded in",
           _ablation_on_a_fully_folded_copy,
           "cam/test_more_cams.py::test_ablation_cam_on_effnet_equals_ablating_each_channel_by_"
           "hand"),
    Mutant("BatchNorm folded without its running mean",
           lambda: checks.check_folding_keeps_the_function(_fold_without_running_mean),
           "core/test_folding.py::test_folds_the_safe_pairs_and_keeps_the_logits"),
    Mutant("BatchNorm folded into a convolution that never adds its bias",
           _patched_fold("_conv_of", _conv_of_ignoring_the_bias),
           "core/test_folding.py::test_folds_the_safe_pairs_and_keeps_the_logits"),
    Mutant("BatchNorm folded into a convolution whose output is also used elsewhere",
           _patched_fold("_pairs_in", _pairs_ignoring_other_users),
           "core/test_folding.py::test_folds_the_safe_pairs_and_keeps_the_logits"),
]


# -- the batch-size cache and the folding plan -----------------------------------------------------

def _in_a_temporary_folder(check):
    def run():
        with tempfile.TemporaryDirectory() as folder:
            check(folder)
    return run


def _patched(module, name, replacement, check):
    def run():
        with mock.patch.object(module, name, replacement):
            check()
    return run


def _key_with_the_weights(model):
    values = sum(float(p.detach().double().sum()) for p in model.parameters())
    return f"{type(model).__name__} {values:.6f}|"


def _write_without_cleaning_up(entries):
    path = batching.cache_file()
    handle = tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False)
    try:
        json.dump(entries, handle)
        handle.close()
        os.replace(handle.name, path)
    except OSError:
        pass


_real_deepcopy, _real_folded_copy = copy.deepcopy, folding.folded_copy


def _fold_without_copying(net, keep=()):
    with mock.patch.object(folding.copy, "deepcopy",
                           lambda m, *a: m if isinstance(m, torch.nn.Module) else _real_deepcopy(
                               m, *a)):
        return _real_folded_copy(net, keep)


def _check_folding_in_place():
    with mock.patch.object(folding, "folded_copy", _fold_without_copying):
        checks.check_folding_leaves_the_model_unchanged()


CACHE_MUTANTS = [
    Mutant("batch-size cache keyed by the weights, not the architecture",
           _patched(batching, "_model_key", _key_with_the_weights, _in_a_temporary_folder(
               checks.check_the_cache_carries_a_size_to_the_next_session)),
           "core/test_batching.py::test_a_measured_size_is_kept_on_disk_for_the_next_session"),
    Mutant("batch-size cache entries that never expire",
           _patched(batching, "_fresh_size",
                    lambda entry: entry[0] if isinstance(entry, list) else None,
                    _in_a_temporary_folder(checks.check_old_cache_entries_are_measured_again)),
           "core/test_batching.py::test_a_size_measured_long_ago_is_measured_again"),
    Mutant("batch-size cache write leaving its temporary file when it fails",
           _patched(batching, "_write_cache", _write_without_cleaning_up,
                    _in_a_temporary_folder(checks.check_a_failed_cache_write_leaves_nothing)),
           "core/test_batching.py::test_a_failed_cache_write_leaves_nothing"),
    Mutant("BatchNorm folding that ignores hooks",
           _patched(folding, "_has_hooks", lambda module: False,
                    checks.check_kept_and_hooked_layers_stay_unfolded),
           "core/test_folding.py::test_kept_and_hooked_layers_stay_unfolded"),
    Mutant("BatchNorm folded in the model itself, not a copy", _check_folding_in_place,
           "core/test_folding.py::test_the_model_is_not_changed"),
    Mutant("folding plan remembered after the model's layers change",
           _patched(folding, "_structure", lambda model: (),
                    checks.check_a_changed_model_is_planned_again),
           "core/test_folding.py::test_a_changed_model_is_planned_again"),
]


MUTANTS = (CAM_MUTANTS + GRADIENT_MUTANTS + GUIDED_MUTANTS + PERTURBATION_MUTANTS
           + METRIC_MUTANTS + RELEVANCE_MUTANTS + STATE_MUTANTS + NEW_MUTANTS + PROBE_MUTANTS
           + FOLDING_MUTANTS + CACHE_MUTANTS)


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda mutant: mutant.name)
def test_the_suite_rejects_the_mutant(mutant):
    with pytest.raises(AssertionError):
        mutant.check()


def test_a_video_re_encoded_without_its_heatmap_is_rejected(tmp_path_factory):
    """Killed by test_video.py::test_the_heatmap_is_really_drawn."""
    with pytest.raises(AssertionError):
        _video_without_heatmap(tmp_path_factory)()


def test_each_killer_is_a_real_test():
    """Every ``killed_by`` names a test function that exists, so the list stays honest."""
    tests = Path(__file__).parent
    for mutant in MUTANTS:
        path, test_name = mutant.killed_by.split("::")
        source = (tests / path).read_text(encoding="utf-8")
        assert f"\ndef {test_name}(" in source, mutant.killed_by
