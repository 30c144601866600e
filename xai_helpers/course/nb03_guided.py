"""Notebook 03 · Guided Grad-CAM: the exercises' checkers and the quiz questions.

- :func:`check_deconv_relu`: the "deconvnet" backward rule as an ``autograd.Function``.
- :func:`check_guided_gradient`: guided backprop *by hand* — matrices only, no autograd — for a
  stack of dense layers with ReLUs between them. The lesson builds the rule into autograd; the
  exercise asks where, along the backward pass, the rule acts and which signal its sign test
  reads.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .feedback import ExerciseError, Question, as_tensor, check_shape, close, passed

__all__ = ["check_deconv_relu", "check_guided_gradient", "QUESTIONS", "WRONG_SOLUTIONS"]


def check_deconv_relu(deconv: type) -> None:
    """Notebook 03: the deconvnet ReLU rule as an autograd.Function."""
    x = torch.tensor([-1.0, 2.0, -3.0, 7.0], requires_grad=True)
    g = torch.tensor([5.0, -4.0, 3.0, 2.0])
    out = deconv.apply(x)
    if not close(out, x.detach().clamp(min=0)):
        raise ExerciseError("The forward pass must stay a ReLU: max(x, 0).",
                            zh="前向传播必须保持为 ReLU：max(x, 0)。")
    (result,) = torch.autograd.grad(out, x, g)
    if close(result, g.clamp(min=0)):
        return passed()
    if close(result, g * (x.detach() > 0)):
        raise ExerciseError("That is the ordinary ReLU gradient (it looks at the forward input). "
                            "The deconvnet rule looks only at the gradient's own sign.",
                            zh="这是普通的 ReLU 梯度（它看前向输入）。"
                               "deconvnet 规则只看梯度本身的符号。")
    if close(result, g.clamp(min=0) * (x.detach() > 0)):
        raise ExerciseError("That is guided backprop (both signs). The deconvnet rule ignores the "
                            "forward input.",
                            zh="这是导向反向传播（两个条件都用了）。deconvnet 规则不看前向输入。")
    raise ExerciseError(f"Got {result.tolist()}: pass positive gradients back, block negative "
                        "ones.",
                        zh=f"得到 {result.tolist()}：正梯度应传回，负梯度应被挡住。")


# -- guided backprop by hand --------------------------------------------------------------------

def _guided_case(dims: tuple[int, ...], seed: int) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Weights ``[W1, ..., WL]`` (``W_l`` of shape (dims[l], dims[l-1])) and an input (dims[0],)."""
    generator = torch.Generator().manual_seed(seed)
    weights = [torch.randn(dims[i + 1], dims[i], generator=generator) / dims[i] ** 0.5
               for i in range(len(dims) - 1)]
    return weights, torch.randn(dims[0], generator=generator)


def _as_network(weights: list[torch.Tensor]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, w in enumerate(weights):
        linear = nn.Linear(w.shape[1], w.shape[0], bias=False)
        with torch.no_grad():
            linear.weight.copy_(w)
        layers += [linear] + ([nn.ReLU()] if i < len(weights) - 1 else [])
    return nn.Sequential(*layers).eval()


def _by_hand(weights, x, c, rule: str) -> torch.Tensor:
    """The backward pass written out with one of the usual rules (for the diagnosis)."""
    pre = []
    a = x
    for w in weights[:-1]:
        pre.append(w @ a)
        a = pre[-1].clamp(min=0)
    g = weights[-1][c]
    plain = g
    for w, h in zip(reversed(weights[:-1]), reversed(pre)):
        if rule == "plain":
            g = g * (h > 0)
        elif rule == "deconvnet":
            g = g.clamp(min=0)
        elif rule == "guided":
            g = g * (h > 0) * (g > 0)
        elif rule == "sign of the plain gradient":
            plain = plain * (h > 0)
            g = g * (h > 0) * (plain > 0)
        elif rule == "input side only":
            g = g * (h > 0) * (g > 0) if h is pre[0] else g * (h > 0)
        g = w.T @ g
        plain = w.T @ plain
    return g


def guided_reference(weights: list[torch.Tensor], x: torch.Tensor, c: int) -> torch.Tensor:
    """The guided gradient of ``f(x)[c]`` for a vector ``x``, by autograd on
    :func:`xai_helpers.guided_copy` of the network built from ``weights`` (``guided_backprop``
    itself takes image batches only)."""
    from ..attribution.guided import guided_copy

    network, _ = guided_copy(_as_network(weights))
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (gradient,) = torch.autograd.grad(network(x[None])[0, c], x)
    return gradient


def check_guided_gradient(guided_gradient: Callable) -> None:
    """Notebook 03: ``guided_gradient(weights, x, c)`` for ``f(x) = W_L ReLU(… ReLU(W_1 x))``.

    ``weights`` is the list ``[W_1, …, W_L]`` (``W_l`` has shape (out, in), no biases), ``x`` a
    vector (D,), ``c`` the explained output; the answer is the guided-backprop gradient of
    ``f(x)[c]`` with respect to ``x``, shape (D,). It is compared with autograd through
    :func:`xai_helpers.guided_copy` of the same network built from ``nn.Linear`` and
    ``nn.ReLU`` (:func:`guided_reference`), for two and three hidden ReLU layers.

    Example:
        >>> check_guided_gradient(guided_gradient)          # doctest: +SKIP
        Correct.
    """
    for dims, seed, c in (((6, 8, 7, 4), 7, 2), ((5, 9, 8, 6, 3), 4, 1)):
        weights, x = _guided_case(dims, seed)
        mine = as_tensor(guided_gradient([w.clone() for w in weights], x.clone(), c),
                         "guided gradient")
        expected = guided_reference(weights, x, c)
        if tuple(mine.shape) == (dims[1],):
            raise ExerciseError(f"Your result has shape {tuple(mine.shape)}, the first hidden "
                                f"layer's: the gradient must go through W_1 as well, down to "
                                f"the input x {tuple(x.shape)}.",
                                zh=f"结果形状为 {tuple(mine.shape)}，是第一个隐藏层的："
                                   f"梯度还要穿过 W_1，一直传到输入 x {tuple(x.shape)}。")
        check_shape(mine, x.shape, "guided gradient")
        if close(mine, expected):
            continue
        _diagnose_guided(mine, weights, x, c)
    return passed()


def _diagnose_guided(mine, weights, x, c) -> None:
    if close(mine, _by_hand(weights, x, c, "plain")):
        raise ExerciseError("That is the ordinary gradient: at every ReLU it only checks that "
                            "the unit was active. Guided backprop also blocks negative gradients "
                            "there.",
                            zh="这是普通梯度：在每个 ReLU 处只检查了单元是否激活。"
                               "导向反向传播还要在那里挡住负梯度。")
    if close(mine, _by_hand(weights, x, c, "deconvnet")):
        raise ExerciseError("That is the deconvnet rule: it ignores whether each unit was active "
                            "in the forward pass. Guided backprop needs both conditions.",
                            zh="这是 deconvnet 规则：它忽略了单元在前向传播中是否激活。"
                               "导向反向传播需要两个条件同时满足。")
    if close(mine, _by_hand(weights, x, c, "plain").clamp(min=0)):
        raise ExerciseError("Clamping the finished gradient at the input is not guided backprop: "
                            "the rule acts at every ReLU on the way down, before the next matrix "
                            "mixes the signs.",
                            zh="在输入处对最终梯度截断不是导向反向传播：规则要在向下传播途中的"
                               "每个 ReLU 处起作用，在下一个矩阵混合符号之前。")
    if close(mine, _by_hand(weights, x, c, "sign of the plain gradient")):
        raise ExerciseError("Each ReLU's sign test must read the gradient that actually arrives "
                            "there — already guided by the ReLUs above — not the ordinary "
                            "gradient at that layer.",
                            zh="每个 ReLU 的符号检查要看真正到达那里的梯度"
                               "（已被上面的 ReLU 导向过），而不是该层的普通梯度。")
    if close(mine, _by_hand(weights, x, c, "input side only")):
        raise ExerciseError("The guided rule must act at *every* ReLU, not only at the one "
                            "nearest the input.",
                            zh="导向规则要作用于*每一个* ReLU，而不仅是最靠近输入的那个。")
    raise ExerciseError("Not the guided gradient yet. Forward: keep each hidden pre-activation "
                        "h_l = W_l a_(l-1). Backward from row c of the last matrix: at each ReLU "
                        "keep g where h_l > 0 and g > 0, then multiply by W_lᵀ.",
                        zh="还不是导向梯度。前向：保存每个隐藏层的激活前值 h_l = W_l a_(l-1)。"
                           "反向从最后一个矩阵的第 c 行开始：在每个 ReLU 处只保留 h_l > 0 且 "
                           "g > 0 的 g，再乘以 W_lᵀ。")


#: Realistic wrong solutions of each graded cell (the nbgrader round trip grades them; each
#: checker must reject them — tests/course/test_nb03_guided.py says with which message).
WRONG_SOLUTIONS: dict[str, list[str]] = {
    "03_guided_grad_cam-solution": [
        # the ordinary ReLU gradient: looks at the forward input
        "class DeconvReLU(torch.autograd.Function):\n"
        "    @staticmethod\n"
        "    def forward(ctx, x):\n"
        "        ctx.save_for_backward(x)\n"
        "        return x.clamp(min=0)\n\n"
        "    @staticmethod\n"
        "    def backward(ctx, g):\n"
        "        (x,) = ctx.saved_tensors\n"
        "        return g * (x > 0)\n",
        # guided backprop instead of deconvnet
        "class DeconvReLU(torch.autograd.Function):\n"
        "    @staticmethod\n"
        "    def forward(ctx, x):\n"
        "        ctx.save_for_backward(x)\n"
        "        return x.clamp(min=0)\n\n"
        "    @staticmethod\n"
        "    def backward(ctx, g):\n"
        "        (x,) = ctx.saved_tensors\n"
        "        return g.clamp(min=0) * (x > 0)\n",
    ],
    "03_guided_grad_cam-by-hand-solution": [
        # the ordinary gradient
        "def guided_gradient(weights, x, c):\n"
        "    pre = []\n"
        "    a = x\n"
        "    for W in weights[:-1]:\n"
        "        pre.append(W @ a)\n"
        "        a = pre[-1].clamp(min=0)\n"
        "    g = weights[-1][c]\n"
        "    for W, h in zip(reversed(weights[:-1]), reversed(pre)):\n"
        "        g = W.T @ (g * (h > 0))\n"
        "    return g\n",
        # "guided = the positive part of the gradient", clamped once at the end
        "def guided_gradient(weights, x, c):\n"
        "    pre = []\n"
        "    a = x\n"
        "    for W in weights[:-1]:\n"
        "        pre.append(W @ a)\n"
        "        a = pre[-1].clamp(min=0)\n"
        "    g = weights[-1][c]\n"
        "    for W, h in zip(reversed(weights[:-1]), reversed(pre)):\n"
        "        g = W.T @ (g * (h > 0))\n"
        "    return g.clamp(min=0)\n",
        # the sign test reads the ordinary gradient, computed alongside
        "def guided_gradient(weights, x, c):\n"
        "    pre = []\n"
        "    a = x\n"
        "    for W in weights[:-1]:\n"
        "        pre.append(W @ a)\n"
        "        a = pre[-1].clamp(min=0)\n"
        "    g = plain = weights[-1][c]\n"
        "    for W, h in zip(reversed(weights[:-1]), reversed(pre)):\n"
        "        plain = plain * (h > 0)\n"
        "        g = W.T @ (g * (h > 0) * (plain > 0))\n"
        "        plain = W.T @ plain\n"
        "    return g\n",
        # deconvnet: forgets the forward activity
        "def guided_gradient(weights, x, c):\n"
        "    g = weights[-1][c]\n"
        "    for W in reversed(weights[:-1]):\n"
        "        g = W.T @ g.clamp(min=0)\n"
        "    return g\n",
        # stops at the first hidden layer
        "def guided_gradient(weights, x, c):\n"
        "    pre = []\n"
        "    a = x\n"
        "    for W in weights[:-1]:\n"
        "        pre.append(W @ a)\n"
        "        a = pre[-1].clamp(min=0)\n"
        "    g = weights[-1][c]\n"
        "    for W, h in zip(reversed(weights[1:-1]), reversed(pre[1:])):\n"
        "        g = W.T @ (g * (h > 0) * (g > 0))\n"
        "    return g * (pre[0] > 0) * (g > 0)\n",
    ],
}


#: Quick-quiz questions of this notebook (``xh.quiz(...)`` shows them).
QUESTIONS: dict[str, Question] = {
    "guided_class": Question(
        "Guided backprop maps for 'dog' and 'cat' on the same photo look almost identical. "
        "Why?",
        ("A bug in the guided ReLU", "Guided backprop is barely class-discriminative: it mostly "
         "reconstructs image edges", "The two classes share the same weights"),
        1, "Zeroing negative gradients at every ReLU makes the map depend little on the class "
           "(and on the upper layers). Guided Grad-CAM multiplies it by a class-specific CAM.",
        "03_guided_grad_cam",
        zh=("同一张照片上，“狗”和“猫”的导向反向传播图几乎一样。为什么？",
            ("导向 ReLU 有错误", "导向反向传播几乎不区分类别：它主要重建图像的边缘",
             "两个类别共享同样的权重"),
            "在每个 ReLU 处把负梯度置零，使结果几乎不依赖类别（和上层）。"
            "导向 Grad-CAM 再乘以一个类别特定的 CAM。")),
    "guided_relu6_captum": Question(
        "You run captum's GuidedBackprop on EfficientNet-Lite0, whose activations are "
        "nn.ReLU6 modules. What do you get?",
        ("The plain gradient, without an error: captum only hooks nn.ReLU modules, and ReLU6 "
         "is not one",
         "Guided backprop with ReLU6's upper bound ignored",
         "An error saying that ReLU6 is not supported"),
        0, "captum registers its backward hooks on modules that are instances of nn.ReLU; "
           "nn.ReLU6 is a Hardtanh, so nothing is guided and the result equals the plain "
           "gradient (asserted in section 3). Count what was swapped.",
        "03_guided_grad_cam",
        zh=("在 EfficientNet-Lite0（激活函数是 nn.ReLU6 模块）上运行 captum 的 GuidedBackprop，"
            "会得到什么？",
            ("普通梯度，且没有报错：captum 只给 nn.ReLU 模块挂钩子，ReLU6 不是",
             "忽略了 ReLU6 上界的导向反向传播", "一条说不支持 ReLU6 的错误"),
            "captum 只在 nn.ReLU 的实例上注册反向钩子；nn.ReLU6 是 Hardtanh，所以什么都没有被导向，"
            "结果等于普通梯度（第 3 节有断言）。要数一数替换了多少个模块。")),
    "guided_grad_cam_sanity": Question(
        "Guided Grad-CAM changes with the class (section 5). Does that make it pass Adebayo et "
        "al.'s model-randomisation sanity check?",
        ("Yes: class sensitivity and weight sensitivity are the same test",
         "Yes, because the Grad-CAM factor is computed at the last layer",
         "No: its fine detail comes from guided backprop, which hardly changes when the upper "
         "layers are randomised; only the coarse Grad-CAM factor reacts"),
        2, "Adebayo et al. (2018) report that Guided Backprop and Guided Grad-CAM both fail the "
           "model-randomisation test while the gradient and Grad-CAM pass. Section 5 shows the "
           "guided map surviving a random classifier layer.",
        "03_guided_grad_cam",
        zh=("导向 Grad-CAM 会随类别变化（第 5 节）。这是否意味着它能通过 Adebayo 等人的"
            "模型随机化健全性检查？",
            ("能：对类别敏感和对权重敏感是同一个检验",
             "能，因为 Grad-CAM 因子是在最后一层计算的",
             "不能：它的细节来自导向反向传播，上层随机化后几乎不变；"
             "只有粗糙的 Grad-CAM 因子有反应"),
            "Adebayo 等人 (2018) 报告导向反向传播和导向 Grad-CAM 都未通过模型随机化检验，而梯度和 "
            "Grad-CAM 通过。第 5 节显示分类层随机化后导向图几乎不变。")),
}
