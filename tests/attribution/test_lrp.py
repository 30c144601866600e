"""LRP from scratch: rules by hand, conservation layer by layer, equality with zennit."""
import pytest
import torch
from torch import nn

import xai_helpers as xh
from xai_helpers.attribution.relevance import epsilon_rule, gamma_rule, lrp, zbox_rule
from xai_helpers.datasets.digits import digits_tensors, train_digits_cnn

import checks


@pytest.fixture(scope="module")
def digits_model():
    model, accuracy = train_digits_cnn(epochs=8, seed=0)     # a few seconds
    return model, accuracy


def test_epsilon_rule_by_hand():
    layer = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        layer.weight[:] = torch.tensor([[2.0, -1.0]])
    a = torch.tensor([[3.0, 2.0]])                           # z = 6 - 2 = 4
    r = epsilon_rule(layer, a, torch.tensor([[8.0]]), epsilon=0.0)
    assert torch.allclose(r, torch.tensor([[12.0, -4.0]]))   # a_j w_j / z * R


def test_gamma_rule_by_hand():
    layer = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        layer.weight[:] = torch.tensor([[2.0, -1.0]])
    a = torch.tensor([[3.0, 2.0]])                           # rho(w) = [2.5, -1], z = 7.5 - 2
    r = gamma_rule(layer, a, torch.tensor([[11.0]]), gamma=0.25, epsilon=0.0)
    assert torch.allclose(r, torch.tensor([[15.0, -4.0]]))   # [7.5, -2] / 5.5 * 11


def test_zbox_rule_conserves_and_respects_bounds():
    torch.manual_seed(0)
    layer = nn.Conv2d(1, 3, 3, padding=1, bias=False)
    x = torch.rand(2, 1, 5, 5)
    relevance = torch.rand(2, 3, 5, 5)
    r = zbox_rule(layer, x, relevance, low=0.0, high=1.0)
    assert torch.allclose(r.sum(), relevance.sum(), rtol=1e-4)


def test_the_digits_cnn_learns(digits_model):
    _, accuracy = digits_model
    assert accuracy > 0.9                                    # 8 epochs; 30 epochs give 0.99
    x_train, y_train, x_test, y_test = digits_tensors()
    assert len(x_train) + len(x_test) == 1797 and x_train.min() >= 0 and x_train.max() <= 1


def test_relevance_is_conserved_layer_by_layer(digits_model):
    model, _ = digits_model
    _, _, x_test, y_test = digits_tensors()
    x, target = x_test[:16], y_test[:16]
    relevance, relevances = lrp(model, x, target)
    logits = model(x).detach()[torch.arange(16), target]
    for layer_relevance in relevances:
        totals = layer_relevance.flatten(1).sum(1)
        assert torch.allclose(totals, logits, rtol=1e-4), "relevance leaked at some layer"
    assert relevance.shape == x.shape


def test_equals_zennit_epsilon_gamma_box_and_conserves():
    """Measured: identical (0.0); conservation at every layer to 1e-4 relative."""
    checks.assert_lrp_agrees_with_zennit(lrp)
    assert xh.count_hooks(checks.digits_model()[0]) == 0


@pytest.mark.parametrize("alpha, beta", [(1.0, 0.0), (2.0, 1.0)])
def test_alpha_beta_rule_equals_zennit_and_conserves(alpha, beta):
    """Measured: identical (0.0); relevance conserved at every layer (no biases)."""
    checks.assert_alpha_beta_agrees_with_zennit(lrp, alpha, beta)


def test_alpha1_beta0_is_the_z_plus_rule_and_bad_parameters_are_refused():
    from zennit.attribution import Gradient
    from zennit.composites import SpecialFirstLayerMapComposite
    from zennit.rules import Epsilon, Pass, ZBox, ZPlus
    from zennit.types import Activation, Convolution

    model, x, target = checks.digits_model()
    ours, _ = lrp(model, x, target, rule="alpha_beta", alpha=1.0, beta=0.0)
    composite = SpecialFirstLayerMapComposite(
        layer_map=[(Activation, Pass()), (Convolution, ZPlus()), (nn.Linear, Epsilon(1e-6))],
        first_map=[(Convolution, ZBox(0.0, 1.0))])
    logits = model(x).detach()
    start = torch.zeros_like(logits)
    start[torch.arange(len(x)), target] = logits[torch.arange(len(x)), target]
    with Gradient(model, composite) as attributor:
        _, z_plus = attributor(x, start)
    assert torch.allclose(ours, z_plus, atol=1e-6)
    with pytest.raises(ValueError, match="α - β = 1"):
        lrp(model, x, target, rule="alpha_beta", alpha=2.0, beta=0.0)
    with pytest.raises(ValueError, match="rule"):
        lrp(model, x, target, rule="gamma_box")


def test_unsupported_layer_is_refused():
    with pytest.raises(TypeError, match="Conv2d and Linear"):
        epsilon_rule(nn.ReLU(), torch.ones(1, 2), torch.ones(1, 2))
