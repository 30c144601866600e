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
    net = checks.FoldingNet().eval()
    assert [name for name, _ in foldable_pairs(net)] == ["conv1", "conv2"]
    kept = folded_copy(net, keep=("conv1",))
    assert isinstance(kept.bn1, nn.BatchNorm2d) and isinstance(kept.bn2, nn.Identity)
    handle = net.bn2.register_forward_hook(lambda *args: None)
    try:
        hooked = folded_copy(net)
    finally:
        handle.remove()
    assert isinstance(hooked.bn1, nn.Identity) and isinstance(hooked.bn2, nn.BatchNorm2d)


def test_the_model_is_not_changed():
    """Folding works on a copy: the original keeps its weights, statistics and train mode."""
    net = checks.FoldingNet().train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    folded_copy(net)
    assert net.training and all(m.training for m in net.modules())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert net.conv2.bias is None and isinstance(net.bn1, nn.BatchNorm2d)


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
    net = checks.FoldingNet().eval()
    assert len(foldable_pairs(net)) == 2
    net.bn1 = nn.Identity()
    assert [name for name, _ in foldable_pairs(net)] == ["conv2"]
