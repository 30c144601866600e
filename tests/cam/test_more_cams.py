"""The CAM methods the course material names beyond the core family: Ablation-CAM, FullGrad,
SmoothGrad-CAM++, SS-CAM, IS-CAM, Integrated Grad-CAM, and pytorch-grad-cam's aug_smooth and
eigen_smooth options — each against its reference implementation."""
import pytest
import pytorch_grad_cam as pgc
import torch
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

import xai_helpers as xh
from xai_helpers.cam.fullgrad import FullGrad, bias_layers

import checks


@pytest.mark.parametrize("name", ["_head_act", "_conv_head"])
def test_ablation_cam_on_effnet_equals_ablating_each_channel_by_hand(model, name):
    """The speed trick (the early layers fed a small blank image) must not change a weight:
    for 24 channels, zero the channel with a hook on the real model, run the whole network,
    and compare (y - y_k) / y. (pytorch-grad-cam's own Ablation-CAM agrees to 2.1e-5 here
    but takes 75 s per image; the CI compares with it on a smaller network below.) At
    ``_conv_head``, a convolution followed by a BatchNorm, the fast copy must not fold the two:
    the channel is zeroed before the BatchNorm."""
    checks.assert_ablation_equals_ablating_by_hand(xh.AblationCAM, model, name)


def test_ablation_cam_equals_pytorch_grad_cam_at_an_inner_relu_layer():
    """A ReLU CNN's inner layer, where Ablation-CAM, Grad-CAM and Score-CAM all differ; a batch
    of 4 so that ablated copies come in several chunks."""
    net = checks.relu_cnn()
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    checks.assert_ablation_agrees_with_pgc(lambda m, layer: xh.AblationCAM(m, layer, batch_size=3),
                                           net, x, layer="1", targets=(1, 3))


def test_ablation_cam_runs_the_early_layers_once_per_batch_not_per_copy(model):
    """The speed trick: EfficientNet's forward reshapes with its input's batch size, so the
    layers before _head_act run on a small blank image instead, checked against the image
    repeated on the first batch. Counted: far fewer full-size stem passes than channels."""
    x = xh.preprocess(model, xh.test_image_path("coffee"))
    sizes = []
    fast_copy = xh.inference_copy

    def counting_copy(m, keep=()):
        copy = fast_copy(m, keep)
        copy.model._conv_stem.register_forward_pre_hook(
            lambda module, inputs: sizes.append(tuple(inputs[0].shape)))
        return copy

    import xai_helpers.cam.activation as activation

    activation.inference_copy = counting_copy
    try:
        xh.AblationCAM(model, batch_size=64)(x, 967)
    finally:
        activation.inference_copy = fast_copy
    full = sum(size[0] for size in sizes if size[-1] == 224)
    assert full < 200                        # 1280 channels, about 700 of them active here


def test_ablation_differs_from_pytorch_grad_cam_where_its_minus_1e7_rule_applies():
    """After no ReLU (a block's output), pytorch-grad-cam writes min - 1e7 into the ablated
    channel instead of 0 — not the paper's ablation. Pinned so the difference stays known."""
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.Conv2d(4, 4, 1),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                              torch.nn.Linear(4, 2)).eval()
    x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    with pytest.raises(AssertionError, match="Ablation-CAM"):
        checks.assert_ablation_agrees_with_pgc(xh.AblationCAM, net, x, layer="1", targets=(1,))


def test_fullgrad_equals_pytorch_grad_cam():
    """EfficientNet-Lite0 (49 BatchNorm biases; its convolutions have none): measured 7.2e-7.
    And a CNN with convolution biases, BatchNorm and in-place ReLUs (the gradient must be the
    BatchNorm output's, before the ReLU overwrites it)."""
    checks.assert_fullgrad_agrees_with_pgc(FullGrad)
    net = checks.bias_cnn()
    x = torch.randn(2, 3, 12, 12, generator=torch.Generator().manual_seed(5))
    checks.assert_fullgrad_agrees_with_pgc(FullGrad, net, x, targets=(0, 3))
    assert bias_layers(net) == ["0", "1", "3", "4"]


def test_the_full_gradient_decomposition_is_exact():
    """For a ReLU network with biases, y = grad_x y . x + the biases' shares — the premise of
    FullGrad. With BatchNorm, a layer's constant is the convolution's bias folded into the
    BatchNorm's effective bias, and the dense layer's bias (which FullGrad's maps leave out)
    completes the sum."""
    from xai_helpers.cam.fullgrad import effective_bias

    net = checks.bias_cnn()
    x = torch.randn(1, 3, 12, 12, generator=torch.Generator().manual_seed(6)).requires_grad_(True)
    with xh.LayerRecorder(net, ["1", "4"], gradients=True) as recorder:
        logit = net(x)[0, 2]
        (input_grad,) = torch.autograd.grad(logit, x)
    total = (input_grad * x).sum() + net[8].bias[2]
    for bn_name, conv in (("1", net[0]), ("4", net[3])):
        bn = dict(net.named_modules())[bn_name]
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        bias = effective_bias(bn) + scale * conv.bias
        total = total + (bias[None, :, None, None] * recorder.gradients[bn_name]).sum()
    assert torch.allclose(total, logit, atol=1e-5)


@pytest.mark.parametrize("name", ["SS-CAM", "IS-CAM"])
def test_score_variants_equal_torchcam(name):
    """Same seed, same noise (drawn on the CPU in torchcam's order): measured 1.2e-6 (SS-CAM)
    and 1.4e-6 (IS-CAM) at _blocks.0 (16 channels)."""
    checks.assert_score_variant_agrees_with_torchcam(xh.METHODS[name].cam_class, name)


@pytest.mark.parametrize("layer", ["_head_act", "_blocks.15"])
def test_smoothgrad_cam_pp_torchcam_variant_equals_torchcam(layer):
    """Measured: identical (0.0), at the last layer and an inner one."""
    checks.assert_smoothgrad_cam_pp_agrees_with_torchcam(xh.SmoothGradCAMPlusPlus, layer)


def test_smoothgrad_cam_pp_follows_the_paper_by_default_and_the_difference_is_pinned(model):
    """torchcam's variant departs from Grad-CAM++'s algebra in three places; the default here
    does not. With one noisy copy and no noise, the paper variant must equal Grad-CAM++ (its
    derivatives are the plain ones) — torchcam's does not, because of its (g3 * A) sum."""
    x = xh.preprocess(model, xh.test_image_path("dog"))
    paper = xh.SmoothGradCAMPlusPlus(model, "_blocks.15", n_samples=1, sigma=0.0)(x, 235)
    grad_cam_pp = xh.GradCAMPlusPlus(model, "_blocks.15")(x, 235)
    assert torch.allclose(paper, grad_cam_pp, atol=1e-4)
    torchcam_like = xh.SmoothGradCAMPlusPlus(model, "_blocks.15", n_samples=1, sigma=0.0,
                                             variant="torchcam")(x, 235)
    assert (torchcam_like - grad_cam_pp).abs().max() > 0.05
    with pytest.raises(ValueError, match="variant"):
        xh.SmoothGradCAMPlusPlus(model, variant="torchcam++")


def test_integrated_grad_cam_equals_its_definition_built_from_grad_cam():
    """Grad-CAM's raw map at every path point (own activations and gradients), ReLU'd, summed:
    at the last layer and an inner one."""
    checks.assert_integrated_grad_cam_agrees(xh.IntegratedGradCAM, "_head_act")
    checks.assert_integrated_grad_cam_agrees(xh.IntegratedGradCAM, "_blocks.15")


@pytest.mark.parametrize("name", ["Grad-CAM", "LayerCAM", "HiResCAM"])
def test_aug_smooth_equals_pytorch_grad_cam(model, name):
    """Six passes: flipped or not, times 0.9, 1 and 1.1; maps flipped back and averaged."""
    x, targets = checks.model_and_batch()[1], list(checks.TARGETS)
    ours = xh.CAM_METHODS[name](model, "_blocks.15")(x, targets, aug_smooth=True)
    with checks.PGC_REFERENCE[name](model=model,
                                    target_layers=[xh.get_layer(model, "_blocks.15")]) as ref:
        theirs = torch.from_numpy(ref(input_tensor=x, aug_smooth=True,
                                      targets=[ClassifierOutputTarget(t) for t in targets]))
    assert (ours - theirs).abs().max() < 1e-5


def test_eigen_smooth_equals_pytorch_grad_cam_with_the_sign_fixed(model):
    """The first principal component of the weighted channels; pytorch-grad-cam leaves its
    sign to LAPACK (and then its ReLU can zero the map), ours agrees with the plain sum."""

    class AlignedGradCAM(pgc.GradCAM):
        def get_cam_image(self, input_tensor, target_layer, targets, activations, grads,
                          eigen_smooth=False):
            weights = self.get_cam_weights(input_tensor, target_layer, targets, activations,
                                           grads)
            return checks._aligned_projection(weights[:, :, None, None] * activations)

    x, targets = checks.model_and_batch()[1], list(checks.TARGETS)
    ours = xh.GradCAM(model, "_blocks.15")(x, targets, eigen_smooth=True)
    with AlignedGradCAM(model=model, target_layers=[xh.get_layer(model, "_blocks.15")]) as ref:
        theirs = torch.from_numpy(ref(input_tensor=x,
                                      targets=[ClassifierOutputTarget(t) for t in targets]))
    assert (ours - theirs).abs().max() < 1e-4
    assert (ours - xh.GradCAM(model, "_blocks.15")(x, targets)).abs().max() > 0.05
