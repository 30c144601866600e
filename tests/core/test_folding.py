"""Folding BatchNorm into the convolution before it: same function, model untouched, only
where it is safe."""
import torch
from torch import nn

import xai_helpers as xh
from xai_helpers.core.folding import foldable_pairs, folded_copy

import checks


def test_folds_the_safe_pairs_and_keeps_the_logits():
    checks.check_folding_keeps_the_function(folded_copy)


def test_efficientnet_folds_every_batchnorm_with_the_same_predictions(model):
    x = xh.preprocess(model, xh.test_image_path("dog"))
    fast = xh.inference_copy(model)
    assert len(foldable_pairs(model)) == 49
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    with torch.inference_mode():
        ours, theirs = fast(x).softmax(1), model(x).softmax(1)
    assert float((ours - theirs).abs().max()) < 1e-5


def test_kept_and_hooked_layers_stay_unfolded():
    checks.check_kept_and_hooked_layers_stay_unfolded()


def test_the_model_is_not_changed():
    checks.check_folding_leaves_the_model_unchanged()


def test_untraceable_models_are_used_unfolded():
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)

        def forward(self, x):
            if x.sum() > 0:                 # data-dependent: torch.fx cannot trace this
                x = -x
            return self.bn(self.conv(x)).mean(dim=(2, 3))

    net = Branchy().eval()
    assert foldable_pairs(net) == []
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(folded_copy(net)(x), net(x))


def test_a_changed_model_is_planned_again():
    checks.check_a_changed_model_is_planned_again()
