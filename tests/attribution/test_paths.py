"""Integrated Gradients along other paths and from other baselines — Guided IG and Blur IG
against PAIR's ``saliency`` package, Enhanced IG against its definition — and NoiseTunnel over
IG against captum."""
import numpy as np
import pytest
import torch

import xai_helpers as xh

import checks


@pytest.mark.parametrize("max_dist", [0.02, 1.0])
def test_guided_ig_equals_pairs_saliency(max_dist):
    """float64 on a small model, 20 steps: measured 2e-17. max_dist 0.02 (PAIR's default) and
    1.0 (the unbounded path)."""
    checks.assert_guided_ig_agrees_with_pair(xh.guided_integrated_gradients, max_dist)


def test_guided_ig_with_no_deviation_is_integrated_gradients():
    """max_dist = 0 keeps the path on the straight line: IG with right-Riemann points."""
    net = checks.tiny_float64_model()
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    guided = xh.guided_integrated_gradients(net, x, 2, steps=16, max_dist=0.0)
    ig = xh.integrated_gradients(net, x, 2, n_steps=16, method="riemann_left")
    assert torch.allclose(guided, ig, atol=1e-10)


def test_blur_ig_equals_pairs_saliency_and_the_blur_equals_scipy():
    """Measured 9e-16 (float64). The blur is scipy's gaussian_filter, mode constant."""
    from scipy import ndimage

    checks.assert_blur_ig_agrees_with_pair(xh.blur_integrated_gradients)
    image = torch.rand(1, 2, 9, 11, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    for sigma in (0.3, 1.0, 2.5):
        ours = xh.gaussian_blur(image, sigma)[0].permute(1, 2, 0).numpy()
        theirs = ndimage.gaussian_filter(image[0].permute(1, 2, 0).numpy(), sigma=[sigma, sigma, 0],
                                         mode="constant")
        assert np.abs(ours - theirs).max() < 1e-12


def test_enhanced_ig_is_a_trapezoid_integral_and_the_median_over_baselines(model):
    """On a linear model the path integral is exact for any baseline; the aggregate of three
    baselines is their median (not their mean), pixel by pixel."""
    torch.manual_seed(0)
    linear = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48, 3)).eval()
    x = torch.randn(1, 3, 4, 4)
    baselines = torch.randn(3, 3, 4, 4)
    w = linear[1].weight[1].detach().view(3, 4, 4)
    each = torch.stack([(x[0] - b) * w for b in baselines])
    median = xh.enhanced_integrated_gradients(linear, x, 1, baselines, n_points=5)
    mean = xh.enhanced_integrated_gradients(linear, x, 1, baselines, n_points=5, aggregate="mean")
    assert torch.allclose(median[0], each.median(dim=0).values, atol=1e-6)
    assert torch.allclose(mean[0], each.mean(dim=0), atol=1e-6)
    with pytest.raises(ValueError, match="aggregate"):
        xh.enhanced_integrated_gradients(linear, x, 1, baselines, aggregate="max")


def test_enhanced_ig_trapezoid_equals_numpys_and_improves_with_points(model):
    """The trapezoid rule over the straight path, checked against numpy's trapezoid on the
    same gradients; on the real model, more points bring the sum closer to y(x) - y(x')."""
    x = xh.preprocess(model, xh.test_image_path("coffee"))
    baseline = torch.full_like(x, -1.0)
    ours = xh.enhanced_integrated_gradients(model, x, 967, baseline, n_points=6)
    alphas = torch.linspace(0, 1, 6)
    grads = torch.stack([xh.input_gradients(model, baseline + a * (x - baseline), 967)[0]
                         for a in alphas])
    expected = np.trapezoid(grads.numpy(), alphas.numpy(), axis=0) * (x - baseline)[0].numpy()
    assert np.abs(ours[0].numpy() - expected).max() < 1e-5 * np.abs(expected).max()
    with torch.no_grad():
        gap = float(model(x)[0, 967] - model(baseline)[0, 967])
    errors = [abs(float(xh.enhanced_integrated_gradients(model, x, 967, baseline, n_points=n)
                        .sum()) - gap) for n in (4, 32)]
    assert errors[1] < errors[0]


def test_class_baselines():
    images = torch.cat([torch.zeros(4, 3, 2, 2), torch.ones(4, 3, 2, 2)])
    centres = xh.class_baselines(images, k=2)
    assert sorted(float(c.mean()) for c in centres) == [0.0, 1.0]
    near = xh.class_baselines(images, k=3, how="nearest", near=torch.full((3, 2, 2), 0.9))
    assert torch.equal(near, torch.ones(3, 3, 2, 2))
    assert xh.class_baselines(images, k=2, how="random").shape == (2, 3, 2, 2)
    with pytest.raises(ValueError, match="near"):
        xh.class_baselines(images, k=2, how="nearest")


def test_noise_tunnel_over_ig_equals_captum():
    """Measured: identical (0.0) with the same seed."""
    checks.assert_noise_tunnel_ig_agrees_with_captum(xh.noise_tunnel)
