"""The method registry: every name runs its own method with the shared convention and costs."""
import pytest
import torch

import xai_helpers as xh
from xai_helpers.registry import METHODS, estimate_seconds, explain


def test_every_method_gives_normalised_maps(shapes_model, shapes_test):
    x = shapes_test.images[:2]
    settings = dict(n_samples=4, n_steps=8, num_samples=60, iterations=2, n_masks=50, steps=8,
                    n_points=8)
    for name in METHODS:
        maps = explain(name, shapes_model, x, **settings)
        assert maps.shape == (2, 64, 64), name
        assert float(maps.min()) >= 0 and float(maps.max()) == pytest.approx(1.0), name
        assert estimate_seconds(name, shapes_model, x, **settings) >= 0
    assert METHODS["Score-CAM"].passes(shapes_model, x, None, {}) == 33      # 32 channels + 1
    assert torch.equal(explain("gradcam", shapes_model, x), explain("Grad-CAM", shapes_model, x))
    with pytest.raises(ValueError, match="Unknown method 'Grad-CAMM'. Did you mean 'Grad-CAM'"):
        explain("Grad-CAMM", shapes_model, x)
    with pytest.raises(ValueError, match="did you mean 'num_samples'"):
        explain("LIME", shapes_model, x, num_sample=10)


SETTINGS = dict(n_samples=3, sigma=0.2, n_steps=6, num_samples=40, segments=20, iterations=2,
                ig_steps=4, window=16, stride=8, n_masks=30, steps=6, n_points=5, alpha=2.0,
                beta=1.0)


def _expected_maps(name, model, x, targets, layer):
    """Each method called directly (not through the registry), then the registry's output
    convention: positive evidence, channels collapsed, upsampled, min-max per image."""
    from xai_helpers.cam.base import normalise_maps

    t = targets.tolist()
    noisy = dict(n_samples=3, sigma=0.2)
    if name in ("SmoothGrad-CAM++", "SS-CAM"):
        torch.manual_seed(0)
        raw = xh.CAM_METHODS[name](model, layer, **noisy)(x, t)
    elif name == "IS-CAM":
        raw = xh.ISCAM(model, layer, n_samples=3)(x, t)
    elif name == "Integrated Grad-CAM":
        raw = xh.IntegratedGradCAM(model, layer, n_steps=6)(x, t)
    elif name in xh.CAM_METHODS:
        raw = xh.CAM_METHODS[name](model, layer)(x, t)
    elif name == "Saliency":
        raw = xh.collapse_channels(xh.saliency(model, x, t))
    elif name == "SmoothGrad":
        torch.manual_seed(0)
        raw = xh.collapse_channels(xh.smoothgrad(model, x, t, **noisy))
    elif name == "IG + NoiseTunnel":
        torch.manual_seed(0)
        raw = xh.collapse_channels(xh.noise_tunnel(xh.integrated_gradients, model, x, t,
                                                   n_steps=6, **noisy), "sum")
    elif name == "Guided IG":
        raw = xh.collapse_channels(xh.guided_integrated_gradients(model, x, t, steps=6), "sum")
    elif name == "Blur IG":
        raw = xh.collapse_channels(xh.blur_integrated_gradients(model, x, t, steps=6), "sum")
    elif name == "Enhanced IG":
        black = torch.zeros_like(x[:1])               # the shapes model's inputs are pixels
        white = torch.ones_like(x[:1])
        raw = torch.cat([xh.collapse_channels(xh.enhanced_integrated_gradients(
            model, x[i:i + 1], t[i], torch.cat([black, white, xh.blurred_baseline(x[i:i + 1])]),
            n_points=5), "sum") for i in range(len(x))])
    elif name == "RISE":
        raw = xh.rise(model, x, t, n_masks=30)
    elif name == "LRP α-β":
        raw = xh.collapse_channels(xh.lrp(model, x, targets, low=0.0, high=1.0,
                                          rule="alpha_beta", alpha=2.0, beta=1.0)[0], "sum")
    elif name == "Guided Backprop":
        raw = xh.collapse_channels(xh.guided_backprop(model, x, t))
    elif name == "Guided Grad-CAM":
        raw = xh.collapse_channels(xh.guided_grad_cam(model, x, t, layer))
    elif name == "Integrated Gradients":
        raw = xh.collapse_channels(xh.integrated_gradients(model, x, t, n_steps=6), "sum")
    elif name == "Occlusion":
        raw = xh.collapse_channels(xh.occlusion(model, x, t, window=(16, 16), stride=(8, 8)),
                                   "sum")
    elif name == "LIME":
        maps = []
        for i in range(len(x)):
            segments = xh.superpixels(model.xai_spec.preprocessing.inverse(x[i]), "slic",
                                      n_segments=20)
            samples = xh.lime_samples(model, x[i:i + 1], t[i], segments, num_samples=40, seed=0)
            coefficients, _ = xh.weighted_ridge(samples.masks, samples.probabilities,
                                                samples.weights)
            maps.append(xh.paint_superpixels(coefficients, segments))
        raw = torch.stack(maps)
    elif name == "I-GOS":
        raw = torch.stack([xh.igos(model, x[i:i + 1], t[i], iterations=2, ig_steps=4).saliency
                           for i in range(len(x))])
    elif name == "LRP":
        raw = xh.collapse_channels(xh.lrp(model, x, targets, low=0.0, high=1.0)[0], "sum")
    elif name == "Edge detector":
        raw = xh.edge_map(x)
    else:
        raise KeyError(name)
    return normalise_maps(raw.detach().float().clamp(min=0))

def test_explain_runs_the_method_it_names(shapes_model, shapes_test):
    """Each name gives exactly its own method's map (a registry that wires a name to another
    method, or to the right method with other settings, fails), and no two methods agree.
    Layer methods run at layer "6" (16x16, before the last convolution), where Grad-CAM and
    XGrad-CAM differ; CAM needs the pooled layer ("9"), where it equals Grad-CAM by theory.
    LayerCAM, sum ReLU(g) A, equals Grad-CAM-ElementWise, sum ReLU(g A), wherever A >= 0 or
    g = 0 where A < 0 — at every layer of a network whose convolutions are all followed by a
    ReLU, like this one; the EfficientNet agreement tests tell them apart at _blocks.15."""
    x = shapes_test.images[:2]
    targets = torch.tensor([0, 2])                              # not necessarily the top class
    maps = {}
    for name in METHODS:
        layer = "9" if name == "CAM" else "6" if METHODS[name].uses_layer else None
        if name in ("SmoothGrad", "SmoothGrad-CAM++", "SS-CAM", "IG + NoiseTunnel"):
            torch.manual_seed(0)
        maps[name] = explain(name, shapes_model, x, targets, layer=layer, **SETTINGS)
        expected = _expected_maps(name, shapes_model, x, targets, layer)
        assert torch.allclose(maps[name], expected, atol=1e-4), name
    names = list(maps)
    # Integrated Grad-CAM from black (0) equals Grad-CAM on a ReLU network without biases: on
    # the path x_i = (i/m) x every activation scales by i/m and every gradient stays the same,
    # so the sum is the Grad-CAM map times a constant. (On EfficientNet they differ: tested.)
    same_here = {("Grad-CAM-ElementWise", "LayerCAM"), ("Grad-CAM", "Integrated Grad-CAM")}
    # FullGrad needs biases; the shapes CNN has none (LRP's conservation wants it so): there it
    # is the input-gradient term alone, |x * dy/dx| per channel — a close cousin of others
    skip = {"FullGrad"}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if a in skip or b in skip:
                continue
            if (a, b) in same_here:
                assert (maps[a] - maps[b]).abs().max() < 1e-5
                continue
            assert (maps[a] - maps[b]).abs().max() > 1e-3, f"{a} and {b} give the same maps"
