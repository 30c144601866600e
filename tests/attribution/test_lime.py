"""From-scratch LIME equals the lime package; its pieces on hand-built cases."""
import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge

import xai_helpers as xh
from xai_helpers.attribution import lime as P

import checks


@pytest.fixture(scope="module")
def dog(model):
    x = xh.preprocess(model, xh.test_image_path("dog"))
    picture = model.xai_spec.preprocessing.inverse(x[0])
    return x, picture, P.superpixels(picture, "slic")

def test_weighted_ridge_equals_scikit_learn():
    rng = np.random.default_rng(0)
    z, y, w = rng.integers(0, 2, (50, 6)).astype(float), rng.normal(size=50), rng.random(50)
    coef, intercept = P.weighted_ridge(torch.tensor(z), torch.tensor(y), torch.tensor(w))
    reference = Ridge(alpha=1.0).fit(z, y, sample_weight=w)
    assert np.allclose(coef.numpy(), reference.coef_, atol=1e-6)
    assert abs(intercept - reference.intercept_) < 1e-6

def test_superpixels_cover_the_image(dog):
    _, picture, segments = dog
    assert segments.shape == (224, 224) and segments.min() == 0
    assert torch.equal(torch.unique(segments), torch.arange(int(segments.max()) + 1))
    quick = P.superpixels(picture, "quickshift", seed=0)
    assert torch.equal(quick, P.superpixels(picture, "quickshift", seed=0))   # deterministic
    with pytest.raises(ValueError):
        P.superpixels(picture, "watershed")

def test_lime_from_scratch_equals_the_lime_package():
    """Coefficients and intercept, same seed and superpixels (measured 1.4e-7)."""
    checks.assert_lime_agrees_with_lime(P.lime_samples, P.weighted_ridge)

def test_lime_samples_are_deterministic_and_row_zero_is_the_image(model, dog):
    x, _, segments = dog
    a = P.lime_samples(model, x, 235, segments, num_samples=10, seed=1)
    b = P.lime_samples(model, x, 235, segments, num_samples=10, seed=1)
    assert torch.equal(a.masks, b.masks) and torch.allclose(a.probabilities, b.probabilities)
    assert a.masks[0].all() and a.weights[0] == 1.0
    assert abs(float(a.probabilities[0]) - float(xh.predict(model, x)[0, 235])) < 1e-4

def test_superpixel_helpers():
    segments = torch.tensor([[0, 0, 1], [2, 2, 1]])
    heat = torch.tensor([[1.0, 3.0, 5.0], [0.0, 0.0, 7.0]])
    assert P.superpixel_means(heat, segments).tolist() == [2.0, 6.0, 0.0]
    assert P.paint_superpixels(torch.tensor([9.0, 8.0, 7.0]), segments).tolist() == \
        [[9.0, 9.0, 8.0], [7.0, 7.0, 8.0]]
