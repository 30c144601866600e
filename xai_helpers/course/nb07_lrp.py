"""Notebook 07 · LRP: the exercises' checkers and the quiz questions.

- :func:`check_epsilon_rule`: the ε-rule for a dense layer without bias.
- :func:`check_alpha_beta_rule`: the α-β rule for a dense layer without bias, on inputs of
  both signs (where "positive contribution" means :math:`a_j w_{jk} > 0`, not :math:`w_{jk} > 0`),
  for (α, β) = (1, 0) and (2, 1). The lesson shows the formula and uses the package's rule;
  the code is the learner's.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .feedback import ExerciseError, Question, as_tensor, check_shape, close, passed

__all__ = ["check_epsilon_rule", "check_alpha_beta_rule", "QUESTIONS", "WRONG_SOLUTIONS"]


def check_epsilon_rule(my_epsilon_rule: Callable, weight: torch.Tensor) -> None:
    """Notebook 07: the ε-rule for a dense layer without bias, weight (K, J)."""
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(3, weight.shape[1], generator=generator)
    R = torch.rand(3, weight.shape[0], generator=generator)
    mine = as_tensor(my_epsilon_rule(weight, a, R), "ε-rule")
    check_shape(mine, a.shape, "relevance")
    z = a @ weight.T
    z = z + 1e-6 * torch.where(z >= 0, 1.0, -1.0)
    expected = a * ((R / z) @ weight)
    if close(mine, expected):
        return passed()
    if close(mine, (R / z) @ weight):
        raise ExerciseError("You returned the gradient-trick vector c; the relevance is a ⊙ c.",
                            zh="你返回的是梯度技巧中的向量 c；相关性是 a ⊙ c。")
    if not torch.allclose(mine.sum(1), expected.sum(1), rtol=1e-3):
        raise ExerciseError("Relevance is not conserved (Σ R_in ≠ Σ R_out): divide R by "
                            "z = a Wᵀ of the *same* layer before sending it back.",
                            zh="相关性不守恒（Σ R_in ≠ Σ R_out）：回传之前要用*同一层*的 z = a "
                               "Wᵀ 去除 R。")
    raise ExerciseError("Conserved but distributed differently: each input gets a_j w_jk / z_k "
                        "of R_k.",
                        zh="守恒了，但分配方式不对：每个输入应得到 R_k 的 a_j w_jk / z_k 份。")


# -- the α-β rule --------------------------------------------------------------------------------

def _alpha_beta_case(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A dense layer (K=5, J=7) with inputs of both signs, in which every output unit has both
    positive and negative contributions well away from zero (so every correct stabiliser gives
    the same answer to 1e-5) and inputs are negative where some weights are negative too (so
    splitting by the weights' sign alone goes wrong)."""
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(5, 7, generator=generator)
    a = torch.randn(3, 7, generator=generator)
    a[:, 0] = -a[:, 0].abs() - 0.5                # a clearly negative input in every sample
    R = torch.rand(3, 5, generator=generator) + 0.5
    return weight, a, R


def _reference_alpha_beta(weight, a, R, alpha, beta, split="contribution", shared=False):
    """The α-β rule written out (and the usual mistakes, for the diagnosis)."""
    if split == "contribution":
        z = a[:, None, :] * weight[None]                              # (N, K, J): a_j w_jk
        z_pos, z_neg = z.clamp(min=0), z.clamp(max=0)
    else:                                                             # by the weights' sign
        z_pos = a[:, None, :] * weight.clamp(min=0)[None]
        z_neg = a[:, None, :] * weight.clamp(max=0)[None]
    if shared:
        total = (z_pos + z_neg).sum(2, keepdim=True)
        return (alpha * z_pos / total - beta * z_neg / total).mul(R[:, :, None]).sum(1)
    positive = (z_pos / z_pos.sum(2, keepdim=True)).mul(R[:, :, None]).sum(1)
    negative = (z_neg / z_neg.sum(2, keepdim=True)).mul(R[:, :, None]).sum(1)
    return alpha * positive - beta * negative


def check_alpha_beta_rule(my_alpha_beta_rule: Callable) -> None:
    """Notebook 07: ``my_alpha_beta_rule(weight, a, R, alpha, beta)`` for a dense layer without
    bias — ``weight`` (K, J), ``a`` (N, J) of any sign, ``R`` (N, K) — returns (N, J).

    Compared with :func:`xai_helpers.alpha_beta_rule` (equal to zennit's ``AlphaBeta``) for
    (α, β) = (1, 0) and (2, 1), on a case of the checker's own in which every output unit has
    positive and negative contributions.

    Example:
        >>> check_alpha_beta_rule(my_alpha_beta_rule)            # doctest: +SKIP
        Correct.
    """
    from ..attribution.relevance import alpha_beta_rule

    weight, a, R = _alpha_beta_case()
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    with torch.no_grad():
        layer.weight.copy_(weight)
    for alpha, beta in ((2.0, 1.0), (1.0, 0.0)):
        mine = as_tensor(my_alpha_beta_rule(weight.clone(), a.clone(), R.clone(), alpha, beta),
                         "α-β rule")
        check_shape(mine, a.shape, "relevance")
        expected = alpha_beta_rule(layer, a, R, alpha, beta)
        if close(mine, expected, atol=1e-4):
            continue
        _diagnose_alpha_beta(mine, weight, a, R, alpha, beta)
    return passed()


def _diagnose_alpha_beta(mine, weight, a, R, alpha, beta) -> None:
    def like(**variant) -> bool:
        return close(mine, _reference_alpha_beta(weight, a, R, **variant), atol=1e-4)

    z = a @ weight.T
    epsilon_rule = a * ((R / z) @ weight)
    if close(mine, epsilon_rule, atol=1e-4):
        raise ExerciseError("That is the ε-rule (α and β do not appear): the α-β rule treats "
                            "positive and negative contributions separately.",
                            zh="这是 ε 规则（α 和 β 都没用上）：α-β "
                               "规则要把正贡献和负贡献分开处理。")
    if like(alpha=alpha, beta=beta, split="weight"):
        raise ExerciseError("You split by the sign of the weights. With a negative input a_j, a "
                            "negative weight makes a positive contribution: split the products "
                            "a_j w_jk by their sign.",
                            zh="你按权重的符号拆分了。输入 a_j 为负时，负权重产生的是正贡献："
                               "要按乘积 "
                               "a_j w_jk 的符号拆分。")
    if like(alpha=alpha, beta=beta, shared=True):
        raise ExerciseError("Both parts share one denominator. Each part is normalised by its own "
                            "total: the positive contributions by Σ_j z⁺_jk, the negative ones by "
                            "Σ_j z⁻_jk.",
                            zh="两部分用了同一个分母。每部分要用自己的总和归一化：正贡献除以 Σ_j "
                               "z⁺_jk，"
                               "负贡献除以 Σ_j z⁻_jk。")
    if beta > 0 and like(alpha=alpha, beta=0.0):
        raise ExerciseError("With β > 0 the negative contributions get relevance too: subtract β "
                            "times their share.",
                            zh="β > 0 时负贡献也要分到相关性：减去 β 乘以它们的份额。")
    if beta > 0 and (like(alpha=alpha, beta=-beta) or like(alpha=beta, beta=alpha)):
        raise ExerciseError(f"Relevance is not conserved (Σ R_in = {float(mine.sum()):.3g}, "
                            f"Σ R_out = {float(R.sum()):.3g}): the positive part is weighted by "
                            "+α and the negative part by −β, so that α − β = 1.",
                            zh=f"相关性不守恒（Σ R_in = {float(mine.sum()):.3g}，Σ R_out = "
                               f"{float(R.sum()):.3g}）：正的部分乘 +α，负的部分乘 −β，使 α − β "
                               "= 1。")
    if not torch.allclose(mine.sum(), R.sum(), rtol=1e-3):
        raise ExerciseError(f"Relevance is not conserved (Σ R_in = {float(mine.sum()):.3g}, "
                            f"Σ R_out = {float(R.sum()):.3g}). Here every unit has positive and "
                            "negative contributions, so α·(its share) − β·(its share) must add up "
                            "to R_k.",
                            zh=f"相关性不守恒（Σ R_in = {float(mine.sum()):.3g}，Σ R_out = "
                               f"{float(R.sum()):.3g}）。这里每个单元都有正负贡献，所以 α 份额 − β "
                               "份额之和必须等于 R_k。")
    raise ExerciseError("Conserved but distributed differently: input j gets "
                        "α z⁺_jk / Σ z⁺ − β z⁻_jk / Σ z⁻ of R_k, with z_jk = a_j w_jk.",
                        zh="守恒了，但分配方式不对：输入 j 得到 R_k 的 α z⁺_jk / Σ z⁺ − β z⁻_jk "
                           "/ Σ z⁻，"
                           "其中 z_jk = a_j w_jk。")


#: Realistic wrong solutions of each graded cell (the nbgrader round trip grades them; each
#: checker must reject them — tests/course/test_nb07_lrp.py says with which message).
WRONG_SOLUTIONS: dict[str, list[str]] = {
    "07_lrp-solution": [
        # returns c instead of a ⊙ c
        "def my_epsilon_rule(weight, a, R, epsilon=1e-6):\n"
        "    z = a @ weight.T\n"
        "    z = z + epsilon * torch.where(z >= 0, 1.0, -1.0)\n"
        "    return (R / z) @ weight\n",
        # forgets to divide by z
        "def my_epsilon_rule(weight, a, R, epsilon=1e-6):\n"
        "    return a * (R @ weight)\n",
    ],
    "07_lrp-alpha-beta-solution": [
        # splits by the sign of the weights (right only for non-negative inputs)
        "def my_alpha_beta_rule(weight, a, R, alpha=2.0, beta=1.0, epsilon=1e-6):\n"
        "    z_pos = a[:, None, :] * weight.clamp(min=0)\n"
        "    z_neg = a[:, None, :] * weight.clamp(max=0)\n"
        "    s_pos = R / (z_pos.sum(2) + epsilon)\n"
        "    s_neg = R / (z_neg.sum(2) - epsilon)\n"
        "    return (alpha * (z_pos * s_pos[:, :, None]).sum(1)\n"
        "            - beta * (z_neg * s_neg[:, :, None]).sum(1))\n",
        # one shared denominator
        "def my_alpha_beta_rule(weight, a, R, alpha=2.0, beta=1.0, epsilon=1e-6):\n"
        "    z = a[:, None, :] * weight\n"
        "    s = R / (z.sum(2) + epsilon)\n"
        "    return (alpha * (z.clamp(min=0) * s[:, :, None]).sum(1)\n"
        "            - beta * (z.clamp(max=0) * s[:, :, None]).sum(1))\n",
        # adds the negative part instead of subtracting it
        "def my_alpha_beta_rule(weight, a, R, alpha=2.0, beta=1.0, epsilon=1e-6):\n"
        "    z = a[:, None, :] * weight\n"
        "    z_pos, z_neg = z.clamp(min=0), z.clamp(max=0)\n"
        "    s_pos = R / (z_pos.sum(2) + epsilon)\n"
        "    s_neg = R / (z_neg.sum(2) - epsilon)\n"
        "    return (alpha * (z_pos * s_pos[:, :, None]).sum(1)\n"
        "            + beta * (z_neg * s_neg[:, :, None]).sum(1))\n",
        # keeps only the positive part (right for α = 1, β = 0 only)
        "def my_alpha_beta_rule(weight, a, R, alpha=2.0, beta=1.0, epsilon=1e-6):\n"
        "    z_pos = (a[:, None, :] * weight).clamp(min=0)\n"
        "    return alpha * (z_pos * (R / (z_pos.sum(2) + epsilon))[:, :, None]).sum(1)\n",
        # the ε-rule
        "def my_alpha_beta_rule(weight, a, R, alpha=2.0, beta=1.0, epsilon=1e-6):\n"
        "    z = a @ weight.T\n"
        "    return a * ((R / (z + epsilon)) @ weight)\n",
    ],
}


#: Quick-quiz questions of this notebook (``xh.quiz(...)`` shows them).
QUESTIONS: dict[str, Question] = {
    "lrp_bias": Question(
        "LRP with the ε-rule on the digits CNN conserves the logit exactly; on the pretrained "
        "EfficientNet-Lite0 only a few per cent reach the pixels. Why?",
        ("zennit is less accurate than our code",
         "The folded BatchNorm layers bring biases, and each bias keeps its share of the "
         "relevance",
         "The ReLU6 ceiling at 6 absorbs relevance"),
        1, "A bias is a source of output that no input explains. The digits CNN has none; with "
           "the biases removed, EfficientNet conserves relevance too (asserted in section 6).",
        "07_lrp",
        zh=("ε 规则的 LRP 在手写数字 CNN 上精确守恒；在预训练的 EfficientNet-Lite0 "
            "上只有百分之几到达像素。为什么？",
            ("zennit 不如我们的代码精确", "折叠进卷积的 BatchNorm 带来偏置，"
             "每个偏置都留下了它那份相关性",
             "ReLU6 在 6 处的上限吸收了相关性"),
            "偏置是没有任何输入能解释的输出来源。数字 CNN 没有偏置；去掉偏置后 EfficientNet 也守恒"
            "（第 6 节有断言）。")),
    "lrp_alpha_beta_conservation": Question(
        "A bias-free dense unit has inputs a = (3, 2) and weights w = (2, 1): both contributions "
        "are positive. With α = 2, β = 1, how much relevance does the layer send down when "
        "R_k = 8 arrives?",
        ("8, as always: α − β = 1 guarantees conservation",
         "0: with no negative contribution the rule is undefined and returns nothing",
         "16: the positive part gets α·8, and the −β·8 of the negative part has no input to go "
         "to"),
        2, "α − β = 1 conserves relevance only when a unit has contributions of both signs. With "
           "Σz⁻ = 0 the negative share has nowhere to go, so α·R_k leaves (for α = 1, β = 0 "
           "nothing is lost). Section 4 counts such units in the digits CNN.",
        "07_lrp",
        zh=("一个无偏置的全连接单元，输入 a = (3, 2)，权重 w = (2, 1)：两个贡献都是正的。α = 2，"
            "β = 1，"
            "当 R_k = 8 到达时，这一层向下传多少相关性？",
            ("8，一如既往：α − β = 1 保证守恒", "0：没有负贡献时规则无定义，什么也不返回",
             "16：正的部分得到 α·8，而负的部分的 −β·8 没有输入可分"),
            "只有当单元同时有正负贡献时，α − β = 1 才保证守恒。Σz⁻ = 0 时负的份额无处可去，"
            "于是传下去的是 α·R_k（α = 1, β = 0 时什么都不丢）。"
            "第 4 节在数字 CNN 里数了这样的单元。")),
    "lrp_shared_module": Question(
        "Why must every ReLU6 call site of EfficientNet-Lite0 get its own module before zennit "
        "runs LRP on it?",
        ("zennit attaches a rule to a module and keeps what it needs from that module's last "
         "forward call; a module called twice sends relevance back with the wrong call's "
         "tensors",
         "ReLU6 is not differentiable at 6",
         "Each module can hold only one BatchNorm"),
        0, "Hook-based libraries key their state on the module. EfficientNet-Lite0 calls each "
           "block's ReLU6 twice (block 0's once): 18 modules at 33 call sites, counted in "
           "section 6; the canonical copy has 33 modules, each called once.",
        "07_lrp",
        zh=("为什么在 zennit 对 EfficientNet-Lite0 做 LRP 之前，每个 ReLU6 "
            "调用点都要有自己的模块？",
            ("zennit 把规则挂在模块上，并保存该模块最近一次前向调用的数据；"
             "被调用两次的模块会用错误那次调用的张量回传相关性",
             "ReLU6 在 6 处不可导", "每个模块只能带一个 BatchNorm"),
            "基于钩子的库按模块保存状态。EfficientNet-Lite0 的每个块调用自己的 ReLU6 两次"
            "（第 0 块一次）：18 个模块、33 个调用点，第 6 节数过；标准形副本有 33 个模块，"
            "每个只调用一次。")),
}
