"""Saliency, SmoothGrad and Integrated Gradients: hand-computed cases and captum agreement."""
import pytest
import torch
from captum.attr import IntegratedGradients

import xai_helpers as xh
from xai_helpers.attribution import gradients as G

import checks

TARGETS = [235, 967]


@pytest.fixture(scope="module")
def x(model):
    return xh.preprocess(model, [xh.test_image_path("dog"), xh.test_image_path("coffee")])


@pytest.fixture
def linear():
    """f(x) = W x + b on flattened 3x4x4 images: every gradient is known by hand."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48, 3)).eval()


def test_linear_model_by_hand(linear):
    x = torch.randn(2, 3, 4, 4)
    w = linear[1].weight[1].detach().view(3, 4, 4)
    assert torch.allclose(G.saliency(linear, x, 1), w.abs().expand(2, -1, -1, -1))
    for method in ("gausslegendre", "riemann_trapezoid", "riemann_middle", "riemann_left"):
        ig = G.integrated_gradients(linear, x, 1, n_steps=5, method=method)
        assert torch.allclose(ig, x * w, atol=1e-6), method            # IG = (x - 0) * w
        assert G.convergence_delta(linear, ig, x, 1).abs().max() < 1e-5


def test_the_input_term_is_what_gives_completeness(linear):
    """Averaging path gradients without multiplying by (x - baseline) loses completeness."""
    x = torch.randn(1, 3, 4, 4) * 3
    averaged = G.integrated_gradients(linear, x, 2, n_steps=4) / x                 # = gradient
    without_input_term = G.convergence_delta(linear, averaged, x, 2)
    with_input_term = G.convergence_delta(linear, averaged * x, x, 2)
    assert with_input_term.abs().max() < 1e-5 < without_input_term.abs().max()


def test_saliency_equals_captum():
    checks.assert_saliency_agrees_with_captum(G.saliency)


def test_integrated_gradients_equal_captum_and_are_complete(model, x):
    ours = G.integrated_gradients(model, x, TARGETS, n_steps=8)
    theirs, their_delta = IntegratedGradients(model).attribute(
        x, target=TARGETS, n_steps=8, return_convergence_delta=True)
    assert (ours - theirs).abs().max() < 1e-5                  # measured 1.2e-7
    delta = G.convergence_delta(model, ours, x, TARGETS)
    assert torch.allclose(delta, their_delta, atol=1e-3)


def test_completeness_within_ten_percent_at_50_steps(model):
    x = xh.preprocess(model, xh.test_image_path("coffee"))
    ig = G.integrated_gradients(model, x, 967, n_steps=50)
    with torch.no_grad():
        gap = model(x)[0, 967] - model(torch.zeros_like(x))[0, 967]
    delta = G.convergence_delta(model, ig, x, 967)
    assert abs(float(delta)) < 0.1 * abs(float(gap))           # measured 5.6% (ReLU6 kinks)


@pytest.mark.parametrize("kind", ["smoothgrad", "smoothgrad_sq", "vargrad"])
def test_smoothgrad_equals_noise_tunnel_with_the_same_noise(kind):
    checks.assert_smoothgrad_agrees_with_noise_tunnel(G.smoothgrad, kind)


def test_noisy_copies_explain_the_clean_images_class(model, x):
    """target=None means each clean image's top class, even if noise changes the prediction."""
    torch.manual_seed(0)
    implicit = G.smoothgrad(model, x, None, n_samples=3, sigma=1.0)
    torch.manual_seed(0)
    explicit = G.smoothgrad(model, x, xh.predict(model, x).argmax(1).tolist(), n_samples=3,
                            sigma=1.0)
    assert torch.equal(implicit, explicit)


def test_collapse_channels():
    attr = torch.tensor([[[[1.0]], [[-3.0]], [[2.0]]]])        # (1, 3, 1, 1)
    assert G.collapse_channels(attr).item() == 3.0
    assert G.collapse_channels(attr, "sum").item() == 0.0
    assert G.collapse_channels(attr, "sum_abs").item() == 6.0
    with pytest.raises(ValueError):
        G.collapse_channels(attr, "mean")
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3, 2))
    with pytest.raises(ValueError, match="method"):
        G.integrated_gradients(net, attr, 0, method="simpson")


@pytest.mark.parametrize("kind", ["black", "blurred"])
def test_integrated_gradients_with_non_zero_baselines_equal_captum(kind):
    """A constant (black) and an image-shaped (blurred) baseline; batch of two with different
    targets. An implementation that ignores the baseline, or multiplies by x instead of
    (x - x'), fails here (measured: 8e-8 / 1.6e-7 of the largest attribution)."""
    checks.assert_ig_agrees_with_captum(G.integrated_gradients, kind)


@pytest.mark.parametrize("kind", ["black", "blurred"])
def test_completeness_with_non_zero_baselines(kind):
    """64 Gauss-Legendre points: measured 1.0% / 0.1% (black), 1.2% / 0.5% (blurred) of
    y(x) - y(x'), within 5% (at 32 points the blurred baseline's error on the cup is 10%)."""
    checks.assert_complete(G.integrated_gradients, kind, n_steps=64)


def test_gradient_shap_from_scratch_equals_captum_with_the_same_draws():
    """Measured: identical (0.0)."""
    checks.assert_gradient_shap_agrees_with_captum(G.gradient_shap)


def test_gradient_shap_with_one_baseline_and_no_noise_averages_ig_terms(linear):
    """For f = w.x every IG term is (x - x') w: GradientSHAP must give exactly that."""
    x = torch.randn(2, 3, 4, 4)
    attr = G.gradient_shap(linear, x, 1, baselines=0.5, n_samples=3)
    w = linear[1].weight[1].detach().view(3, 4, 4)
    assert torch.allclose(attr, (x - 0.5) * w, atol=1e-6)
    with pytest.raises(ValueError, match="baselines"):
        G.gradient_shap(linear, x, 1, baselines=torch.zeros(2, 3, 5, 5))
