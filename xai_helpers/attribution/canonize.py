"""Rewrite EfficientNet-Lite0 so that LRP's rules apply, then run zennit's composites on it.

LRP rules are defined for linear layers, for activations and for sums (Montavon et al.,
"Layer-Wise Relevance Propagation: An Overview", 2019, section 10.2 on BatchNorm and skip
connections). The pretrained EfficientNet-Lite0 needs three rewrites before a hook-based
library such as zennit (Anders et al., 2021) can apply them:

1. **BatchNorm folded into the convolution before it.** In eval mode BatchNorm is an affine map
   per channel, :math:`y = s\\,(z - \\mu) + \\beta` with :math:`s = \\gamma / \\sqrt{\\sigma^2 +
   \\epsilon}`, so ``conv -> BN`` is one convolution with weight :math:`s\\,w` and bias
   :math:`s\\,(b - \\mu) + \\beta` (:func:`~xai_helpers.core.folding.fold_batchnorm`). LRP then
   sees one linear layer, not two.
2. **One activation module per call site.** ``xh.load_model()``'s EfficientNet-Lite0 has 18
   ``nn.ReLU6`` modules used at 33 call sites: every block calls its own ``_swish`` after the
   expansion and after the depthwise convolution (block 0, without expansion, once), the stem
   calls the model's ``_swish`` and the head its ``_head_act``. A library that attaches rules
   to modules would mix the two calls of a block's module up. The copy has 33 modules, each
   called once (counted in ``notebooks/07_lrp.ipynb``).
3. **Residual sums as modules.** ``x + inputs`` is invisible to hooks; zennit's ``Sum`` module
   (over a stacked last axis) receives its own rule, which splits relevance in proportion to
   the two summands.

The rewritten model computes the same logits (tested to 1e-4) and keeps the original's
parameter names where they exist. Taught in ``notebooks/07_lrp.ipynb``.
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from zennit.attribution import Gradient
from zennit.composites import (
    EpsilonGammaBox,
    EpsilonPlusFlat,
    LayerMapComposite,
    SpecialFirstLayerMapComposite,
    layer_map_base,
)
from zennit.layer import Sum
from zennit.rules import AlphaBeta, Epsilon, ZBox
from zennit.types import Convolution, Linear

from ..core.folding import fold_batchnorm
from ..core.inputs import check_batch
from ..core.models import EfficientNetLite0
from ..core.modes import eval_mode
from ..core.targets import Target, class_ids

__all__ = ["CanonicalMBConv", "CanonicalEfficientNetLite0",
           "canonize_efficientnet", "without_biases", "LRP_COMPOSITES", "lrp_relevance"]


class CanonicalMBConv(nn.Module):
    """An EfficientNet-Lite block with BN folded, its own ReLU6 modules and an explicit sum."""

    def __init__(self, block: nn.Module):
        super().__init__()
        if getattr(block, "has_se", False):
            raise ValueError("Squeeze-and-excitation blocks (full EfficientNet) are not supported; "
                             "EfficientNet-Lite has none.")
        args = block._block_args
        self.expand = args.expand_ratio != 1
        if self.expand:
            self._expand_conv = fold_batchnorm(block._expand_conv, block._bn0)
            self._expand_act = nn.ReLU6()
        self._depthwise_conv = fold_batchnorm(block._depthwise_conv, block._bn1)
        self._depthwise_act = nn.ReLU6()
        self._project_conv = fold_batchnorm(block._project_conv, block._bn2)
        stride = args.stride if isinstance(args.stride, int) else args.stride[0]
        self.residual = (block.id_skip and stride == 1
                         and args.input_filters == args.output_filters)
        if self.residual:
            self._sum = Sum()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs
        if self.expand:
            x = self._expand_act(self._expand_conv(x))
        x = self._depthwise_act(self._depthwise_conv(x))
        x = self._project_conv(x)
        if self.residual:
            x = self._sum(torch.stack([x, inputs], dim=-1))
        return x


class CanonicalEfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 made of modules LRP understands (see the module docstring).

    Build it with :func:`canonize_efficientnet`. Names follow the original where possible:
    ``_conv_stem`` (BN folded), ``_stem_act``, ``_blocks``, ``_conv_head`` (BN folded),
    ``_head_act`` (the 1280×7×7 CAM layer), ``_avg_pooling``, ``_fc``.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self._conv_stem = fold_batchnorm(model._conv_stem, model._bn0)
        self._stem_act = nn.ReLU6()
        self._blocks = nn.ModuleList(CanonicalMBConv(block) for block in model._blocks)
        self._conv_head = fold_batchnorm(model._conv_head, model._bn1)
        self._head_act = nn.ReLU6()
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._fc = copy.deepcopy(model._fc)
        self.xai_spec = getattr(model, "xai_spec", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._stem_act(self._conv_stem(x))
        for block in self._blocks:
            x = block(x)
        x = self._head_act(self._conv_head(x))
        return self._fc(self._avg_pooling(x).flatten(1))


def canonize_efficientnet(model: nn.Module) -> CanonicalEfficientNetLite0:
    """An LRP-ready copy of EfficientNet-Lite0, in eval mode, on the model's device.

    The original model is not changed. Dropout and drop-connect are inactive in eval mode, so
    they are left out.

    Example:
        >>> model = load_model()
        >>> canonical = canonize_efficientnet(model)
        >>> x = torch.randn(1, 3, 224, 224)
        >>> torch.allclose(canonical(x), model(x), atol=1e-4)
        True
    """
    if not isinstance(model, EfficientNetLite0) and not hasattr(model, "_blocks"):
        raise TypeError(f"canonize_efficientnet expects EfficientNet-Lite0 from load_model(), "
                        f"not {type(model).__name__}. For plain nn.Sequential CNNs use xh.lrp.")
    was_training = model.training
    model.eval()
    try:
        canonical = CanonicalEfficientNetLite0(model)
    finally:
        model.train(was_training)
    return canonical.eval()


def without_biases(model: nn.Module) -> nn.Module:
    """A deep copy with every convolution and dense bias set to zero (a *different* model).

    Used to show where LRP's missing relevance goes: with no biases, the ε-rule conserves it
    exactly; with biases, each bias keeps its share.

    Example:
        >>> bias_free = without_biases(canonize_efficientnet(load_model()))
    """
    copied = copy.deepcopy(model)
    with torch.no_grad():
        for module in copied.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)) and module.bias is not None:
                module.bias.zero_()
    return copied


#: The composites compared in notebook 07, by name: input bounds are filled in by lrp_relevance.
LRP_COMPOSITES = {
    # zB for the pixels, γ for the convolutions, ε for the dense layer (as in xh.lrp)
    "epsilon_gamma_box": lambda low, high: EpsilonGammaBox(low=low, high=high, gamma=0.25),
    # flat for the pixels, z+ for convolutions, ε for dense: zennit's EpsilonPlusFlat
    "epsilon_plus_flat": lambda low, high: EpsilonPlusFlat(),
    # ε everywhere: relevance is conserved up to what biases absorb (noisy maps: the gradient's)
    "epsilon": lambda low, high: LayerMapComposite(layer_map_base() + [(Linear, Epsilon(1e-9))]),
    # zB for the pixels, α-β for the convolutions, ε for the dense layer (as xh.lrp with
    # rule="alpha_beta"); α = 1, β = 0 keeps positive evidence only
    "alpha_beta": lambda low, high, alpha=1.0, beta=0.0: SpecialFirstLayerMapComposite(
        layer_map=layer_map_base() + [(Convolution, AlphaBeta(alpha, beta)),
                                      (nn.Linear, Epsilon(1e-6))],
        first_map=[(Convolution, ZBox(low, high))]),
}


def lrp_relevance(canonical: nn.Module, x: torch.Tensor, target: Target, *,
                  composite: str = "epsilon_gamma_box", low: float = -1.0, high: float = 1.0,
                  layers=(), alpha: float = 1.0, beta: float = 0.0
                  ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
    """LRP with a zennit composite; the explained logit is the starting relevance.

    Args:
        canonical: A model built from LRP-ready modules, e.g. ``canonize_efficientnet(model)``.
        x: Preprocessed batch ``(N, 3, H, W)``.
        target: One class id, or one per image.
        composite: A key of :data:`LRP_COMPOSITES`.
        alpha, beta: The α-β rule's parameters, for ``composite="alpha_beta"``.
        low, high: Range of the preprocessed pixels, for the :math:`z^\\mathcal{B}` rule
            (EfficientNet-Lite0: mean = std = 0.5, so [-1, 1]).
        layers: Names of modules whose output relevance to record as well (e.g. ``"_head_act"``,
            the input of global pooling, for Relevance-CAM; or every block for a conservation
            table).

    Returns:
        ``(relevance of x (N, 3, H, W), {layer: relevance of its output}, logits (N,))``.
        Relevance is in units of the logit: ``relevance.sum()`` close to the logit means it was
        conserved.

    Example:
        >>> canonical = canonize_efficientnet(load_model())
        >>> R, at, logit = lrp_relevance(canonical, x, 281, layers=["_head_act"])
    """
    if composite not in LRP_COMPOSITES:
        raise ValueError(f"Unknown composite {composite!r}; choose one of {list(LRP_COMPOSITES)}.")
    modules = dict(canonical.named_modules())
    missing = [name for name in layers if name not in modules]
    if missing:
        raise ValueError(f"No module named {missing} in {type(canonical).__name__}; "
                         f"see xh.list_conv_layers(canonical) or canonical.named_modules().")
    recorded: dict[str, torch.Tensor] = {}

    def recorder(name):
        def hook(module, inputs, output):
            output.register_hook(lambda grad: recorded.__setitem__(name, grad.detach()))
        return hook

    device = next(canonical.parameters()).device
    x = check_batch(x, canonical).to(device)
    with eval_mode(canonical), torch.no_grad():
        logits = canonical(x)
    n = logits.shape[0]
    target = class_ids(canonical, x, target).to(device)
    picked = logits[torch.arange(n, device=device), target]
    start = torch.zeros_like(logits)
    start[torch.arange(n, device=device), target] = picked

    rules = (LRP_COMPOSITES[composite](low, high, alpha, beta) if composite == "alpha_beta"
             else LRP_COMPOSITES[composite](low, high))
    with eval_mode(canonical), Gradient(canonical, rules) as attributor:
        # registered after zennit's hooks, so they see the tensors zennit's rules act on
        handles = [modules[name].register_forward_hook(recorder(name)) for name in layers]
        try:
            _, relevance = attributor(x, start)
        finally:
            for handle in handles:
                handle.remove()
    return relevance.detach(), recorded, picked
