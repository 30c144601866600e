"""LRP on the pretrained EfficientNet-Lite0: the canonical rewrite, its agreement with zennit's
BatchNorm merging, and relevance conservation measured."""
import copy

import pytest
import torch
from torch import nn
from zennit.canonizers import NamedMergeBatchNorm, SequentialMergeBatchNorm

import xai_helpers as xh
from xai_helpers.attribution.canonize import (
    CanonicalEfficientNetLite0,
    canonize_efficientnet,
    fold_batchnorm,
    lrp_relevance,
    without_biases,
)


@pytest.fixture(scope="module")
def canonical(model):
    return canonize_efficientnet(model)


@pytest.fixture(scope="module")
def photos(model):
    return xh.preprocess(model, [xh.test_image_path("dog"), xh.test_image_path("chelsea")])


def test_fold_batchnorm_by_hand():
    conv = nn.Conv2d(1, 1, 1, bias=True)
    bn = nn.BatchNorm2d(1, eps=0.0).eval()
    with torch.no_grad():
        conv.weight.fill_(2.0)
        conv.bias.fill_(1.0)
        bn.running_mean.fill_(3.0)
        bn.running_var.fill_(4.0)                              # sigma = 2
        bn.weight.fill_(5.0)
        bn.bias.fill_(-1.0)
    folded = fold_batchnorm(conv, bn)                          # scale 5 / 2 = 2.5
    assert folded.weight.item() == pytest.approx(5.0)          # 2.5 * 2
    assert folded.bias.item() == pytest.approx(2.5 * (1 - 3) - 1)
    x = torch.randn(2, 1, 3, 3)
    assert torch.allclose(folded(x), bn(conv(x)), atol=1e-6)
    assert conv.weight.item() == 2.0                           # the original is untouched


def test_fold_batchnorm_refuses_training_mode():
    with pytest.raises(ValueError, match="eval"):
        fold_batchnorm(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2).train())


def test_canonical_model_computes_the_same_logits(model, canonical, photos):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        assert torch.allclose(canonical(photos), model(photos), atol=1e-4)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in canonical.modules())
    assert isinstance(canonical, CanonicalEfficientNetLite0) and not canonical.training


def test_every_activation_call_site_has_its_own_module(canonical, photos):
    calls = {}
    relus = [m for m in canonical.modules() if isinstance(m, nn.ReLU6)]
    handles = [m.register_forward_hook(lambda m, i, o: calls.__setitem__(m, calls.get(m, 0) + 1))
               for m in relus]
    with torch.no_grad():
        canonical(photos[:1])
    for h in handles:
        h.remove()
    assert len(relus) == 33 and set(calls.values()) == {1}   # the original: 1 module, 33 calls
    residual = [b for b in canonical._blocks if b.residual]
    assert len(residual) == 9 == sum(hasattr(b, "_sum") for b in canonical._blocks)


def test_folding_agrees_with_zennits_batchnorm_merge(model, canonical):
    # zennit's SequentialMergeBatchNorm finds no pair here: each convolution holds a padding
    # module, so conv and BN are never adjacent leaves. Name the pairs for it instead.
    assert SequentialMergeBatchNorm().apply(copy.deepcopy(model)) == []
    pairs = [(("_conv_stem",), "_bn0"), (("_conv_head",), "_bn1")]
    for i, block in enumerate(model._blocks):
        if block._block_args.expand_ratio != 1:
            pairs.append(((f"_blocks.{i}._expand_conv",), f"_blocks.{i}._bn0"))
        pairs += [((f"_blocks.{i}._depthwise_conv",), f"_blocks.{i}._bn1"),
                  ((f"_blocks.{i}._project_conv",), f"_blocks.{i}._bn2")]
    assert len(pairs) == 49
    reference = copy.deepcopy(model)
    merged = NamedMergeBatchNorm(pairs).apply(reference)
    ours, theirs = dict(canonical.named_parameters()), dict(reference.named_parameters())
    try:
        for (conv_name,), _ in pairs:
            for kind in ("weight", "bias"):
                assert torch.allclose(ours[f"{conv_name}.{kind}"], theirs[f"{conv_name}.{kind}"],
                                      atol=1e-6), conv_name
    finally:
        for canonizer in merged:
            canonizer.remove()


def test_relevance_is_conserved_without_biases(canonical, photos):
    """With the biases zeroed, ε-LRP through the explicit sums and ReLU6 modules loses nothing."""
    bias_free = without_biases(canonical)
    with torch.no_grad():
        target = bias_free(photos).argmax(1)
    names = ["_stem_act", "_blocks.4", "_blocks.15", "_head_act"]
    relevance, at, logit = lrp_relevance(bias_free, photos, target, composite="epsilon",
                                         layers=names)
    assert torch.allclose(relevance.flatten(1).sum(1), logit, rtol=1e-4)
    for name in names:
        assert torch.allclose(at[name].flatten(1).sum(1), logit, rtol=1e-4), name
    assert xh.count_hooks(bias_free) == 0


def test_with_biases_relevance_is_absorbed_and_measured(canonical, photos):
    """The pretrained model's folded BN biases keep most of the relevance: measured, not hidden."""
    target = [235, 285]                                        # German shepherd, Egyptian cat
    relevance, at, logit = lrp_relevance(canonical, photos, target,
                                         layers=["_head_act", "_stem_act"])
    assert torch.allclose(at["_stem_act"].flatten(1).sum(1), relevance.flatten(1).sum(1), rtol=1e-4)
    fraction = relevance.flatten(1).sum(1) / logit
    # measured: 0.015 and 0.012 of the logit reach the pixels (epsilon_gamma_box); the zB rule
    # itself conserves (the stem's output holds the same amount)
    assert ((fraction > 0.005) & (fraction < 0.05)).all(), fraction
    # all of it reaches the 1280×7×7 head (pooling and the dense ε-rule lose only the fc bias)
    assert torch.allclose(at["_head_act"].flatten(1).sum(1) / logit, torch.ones(2), atol=0.01)
    # positive evidence dominates on the object: the map is not noise
    positive, negative = relevance.clamp(min=0), (-relevance).clamp(min=0)
    assert (positive.sum((1, 2, 3)) > 2 * negative.sum((1, 2, 3))).all()


def test_lrp_relevance_errors(canonical, photos):
    with pytest.raises(ValueError, match="composite"):
        lrp_relevance(canonical, photos[:1], 0, composite="alphabeta")
    with pytest.raises(ValueError, match="_head_actt"):
        lrp_relevance(canonical, photos[:1], 0, layers=["_head_actt"])
    with pytest.raises(TypeError, match="EfficientNet"):
        canonize_efficientnet(nn.Sequential(nn.Conv2d(3, 3, 1)))
