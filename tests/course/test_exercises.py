"""Every exercise checker accepts the reference solution and rejects realistic wrong answers
with a message that names the mistake."""
import pytest
import torch
from torchvision.transforms.v2 import functional as TF

import xai_helpers as xh
from xai_helpers import exercises as ex
from xai_helpers.exercises import ExerciseError


def rejects(check, *args, match: str):
    with pytest.raises(ExerciseError, match=match):
        check(*args)


def test_preprocess(capsys):
    def reference(image, normalise=True, scale=True, size=256):
        image = TF.center_crop(TF.resize(image, size, antialias=True), 224)
        pixels = TF.pil_to_tensor(image).float() / (255 if scale else 1)
        return (pixels - 0.5) / 0.5 if normalise else pixels

    ex.check_preprocess(reference)
    assert "matches" in capsys.readouterr().out
    rejects(ex.check_preprocess, lambda im: reference(im, normalise=False), match=r"\[0, 1\]")
    rejects(ex.check_preprocess, lambda im: reference(im, scale=False), match="255")
    rejects(ex.check_preprocess, lambda im: reference(im, size=300), match="resize")
    rejects(ex.check_preprocess, lambda im: None, match="return")


def test_cam_from_features():
    g = torch.Generator().manual_seed(0)
    A, W = torch.rand(8, 4, 4, generator=g), torch.randn(5, 8, generator=g)

    def reference(A, W, c):
        m = torch.relu(torch.einsum("k,khw->hw", W[c], A))
        return (m - m.min()) / (m.max() - m.min())

    ex.check_cam_from_features(reference, A, W, 2)
    no_relu = lambda A, W, c: (lambda m: (m - m.min()) / (m.max() - m.min()))(  # noqa: E731
        torch.einsum("k,khw->hw", W[c], A))
    rejects(ex.check_cam_from_features, no_relu, A, W, 2, match="ReLU")
    rejects(ex.check_cam_from_features,
            lambda A, W, c: torch.relu(torch.einsum("k,khw->hw", W[c], A)) * 5, A, W, 2,
            match="normalise")
    rejects(ex.check_cam_from_features, lambda A, W, c: reference(A, W, c + 1), A, W, 2,
            match="another class")
    rejects(ex.check_cam_from_features, lambda A, W, c: reference(A, W, c)[None], A, W, 2,
            match="shape")


def test_xgradcam_weights(model):
    x = xh.preprocess(model, xh.test_image_path("dog"))

    class Reference(xh.BaseCAM):
        def channel_weights(self, A, grads, **context):
            return (grads * A / (A.sum(dim=(2, 3), keepdim=True) + 1e-7)).sum(dim=(2, 3))

    class Mean(xh.BaseCAM):                                     # Grad-CAM's weights
        def channel_weights(self, A, grads, **context):
            return grads.mean(dim=(2, 3))

    class NoShare(xh.BaseCAM):                                  # forgot the division by ΣA
        def channel_weights(self, A, grads, **context):
            return (grads * A).sum(dim=(2, 3))

    ex.check_xgradcam_weights(Reference, model, x, 235, "_blocks.15")
    rejects(ex.check_xgradcam_weights, Mean, model, x, 235, "_blocks.15", match="Grad-CAM's")
    rejects(ex.check_xgradcam_weights, NoShare, model, x, 235, "_blocks.15", match="formula")


def _relu_function(backward_rule):
    class Rule(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.clamp(min=0)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return backward_rule(x, g)
    return Rule


def test_deconv_relu():
    ex.check_deconv_relu(_relu_function(lambda x, g: g.clamp(min=0)))
    rejects(ex.check_deconv_relu, _relu_function(lambda x, g: g * (x > 0)), match="ordinary")
    rejects(ex.check_deconv_relu, _relu_function(lambda x, g: g.clamp(min=0) * (x > 0)),
            match="guided")


def test_smoothgrad(model):
    x = xh.preprocess(model, xh.test_image_path("coffee"))

    def reference(model, x, target, n, sigma, absolute=True, reduce="mean", keepdim=True):
        noisy = x.repeat(n, 1, 1, 1) + torch.normal(0.0, torch.full((n, *x.shape[1:]), sigma))
        noisy.requires_grad_(True)
        (grads,) = torch.autograd.grad(model(noisy)[:, target].sum(), noisy)
        grads = grads.abs() if absolute else grads
        return getattr(grads, reduce)(dim=0, keepdim=keepdim)

    ex.check_smoothgrad(reference, model, x, 967)
    rejects(ex.check_smoothgrad, lambda *a: reference(*a, absolute=False), model, x, 967,
            match="magnitude")
    rejects(ex.check_smoothgrad, lambda *a: reference(*a, reduce="sum"), model, x, 967,
            match="summed")
    rejects(ex.check_smoothgrad, lambda *a: reference(*a, keepdim=False), model, x, 967,
            match="batch axis")


def test_lime_kernel():
    masks = torch.randint(0, 2, (50, 12), generator=torch.Generator().manual_seed(0)).float()
    masks[0] = 1

    def reference(masks, width=0.25, root=True, distance=True):
        ones = torch.ones(masks.shape[1])
        cosine = (masks @ ones) / (masks.norm(dim=1) * ones.norm()).clamp_min(1e-12)
        d = 1 - cosine if distance else cosine
        k = torch.exp(-(d ** 2) / width ** 2)
        return torch.sqrt(k) if root else k

    ex.check_lime_kernel(reference, masks)
    rejects(ex.check_lime_kernel, lambda m, w: reference(m, w, root=False), masks,
            match="square root")
    rejects(ex.check_lime_kernel, lambda m, w: reference(m, w, distance=False), masks,
            match="distance")


def test_total_variation():
    def reference(mask, how="mean", square=True, both=True):
        m = mask[0, 0]
        d, r = m[1:] - m[:-1], m[:, 1:] - m[:, :-1]
        d, r = (d ** 2, r ** 2) if square else (d.abs(), r.abs())
        total = getattr(d, how)() + (getattr(r, how)() if both else 0)
        return total

    ex.check_total_variation(reference)
    rejects(ex.check_total_variation, lambda m: reference(m, how="sum"), match="mean")
    rejects(ex.check_total_variation, lambda m: reference(m, both=False), match="one direction")
    rejects(ex.check_total_variation, lambda m: reference(m, square=False), match="Square")


def test_epsilon_rule():
    weight = torch.randn(16, 32, generator=torch.Generator().manual_seed(0))

    def reference(weight, a, R, epsilon=1e-6):
        z = a @ weight.T
        z = z + epsilon * torch.where(z >= 0, 1.0, -1.0)
        return a * ((R / z) @ weight)

    ex.check_epsilon_rule(reference, weight)
    rejects(ex.check_epsilon_rule, lambda w, a, R: (R / xh.stabilise(a @ w.T, 1e-6)) @ w, weight,
            match="a ⊙ c")
    rejects(ex.check_epsilon_rule, lambda w, a, R: a * (R @ w), weight, match="conserved")


def test_smoothing():
    def reference(maps, w, previous="smoothed"):
        out = torch.empty_like(maps)
        out[0] = maps[0]
        for t in range(1, len(maps)):
            before = out[t - 1] if previous == "smoothed" else maps[t - 1]
            out[t] = w * maps[t] + (1 - w) * before
        return out

    ex.check_smoothing(reference)
    rejects(ex.check_smoothing, lambda m, w: reference(m, 1 - w), match="swapped")
    rejects(ex.check_smoothing, lambda m, w: reference(m, w, previous="raw"), match="smoothed")
    rejects(ex.check_smoothing, lambda m, w: reference(m, w) * 0 + m.mean(0), match="first")


def test_pointing_game():
    def reference(maps, masks):
        flat = maps.flatten(1).argmax(dim=1)
        return masks.flatten(1)[torch.arange(len(flat)), flat]

    ex.check_pointing_game(reference)
    rejects(ex.check_pointing_game, lambda maps, masks: reference(-maps, masks), match="minimum")
    rejects(ex.check_pointing_game, lambda maps, masks: reference(maps, masks).float(),
            match="bool")
    rejects(ex.check_pointing_game, lambda maps, masks: masks.flatten(1).any(1), match="any pixel")
    rejects(ex.check_pointing_game, lambda maps, masks: reference(maps.transpose(1, 2), masks),
            match="swapped")

    def by_coordinates(maps, masks):                     # a different correct way: row, column
        flat = maps.flatten(1).argmax(dim=1)
        rows, cols = flat // maps.shape[2], flat % maps.shape[2]
        return masks[torch.arange(len(flat)), rows, cols]

    ex.check_pointing_game(by_coordinates)
