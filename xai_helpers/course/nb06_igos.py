"""Notebook 06 · I-GOS: the coding exercises' checkers and the quiz."""
from __future__ import annotations

from typing import Callable

import torch

from .feedback import ExerciseError, Question, as_tensor, close, passed

__all__ = ["check_total_variation", "check_armijo_step", "QUESTIONS", "WRONG_SOLUTIONS"]


def check_total_variation(my_total_variation: Callable) -> None:
    """Notebook 06 (earlier exercise): I-GOS's total variation of a (1, 1, h, w) mask."""
    from ..attribution.igos import total_variation

    mask = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    mine = as_tensor(my_total_variation(mask), "total variation")
    expected = total_variation(mask)[0]
    if mine.numel() != 1:
        raise ExerciseError(f"Return one number per mask, got shape {tuple(mine.shape)}.",
                            zh=f"每个掩码应返回一个数，得到的形状是 {tuple(mine.shape)}。")
    mine = mine.reshape(())
    m = mask[0, 0]
    down, right = (m[1:] - m[:-1]) ** 2, (m[:, 1:] - m[:, :-1]) ** 2
    if close(mine, expected, atol=1e-6):
        return passed()
    if close(mine, down.sum() + right.sum(), atol=1e-4):
        raise ExerciseError("Use the mean of the squared differences, not the sum (so the weight "
                            "does not depend on the mask size).",
                            zh="用差的平方的均值，而不是总和（这样权重与掩码大小无关）。")
    if close(mine, down.mean(), atol=1e-6) or close(mine, right.mean(), atol=1e-6):
        raise ExerciseError("You measured one direction only: add vertical and horizontal "
                            "neighbour differences.",
                            zh="你只算了一个方向：要把竖直和水平相邻元素的差都加上。")
    if close(mine, (m[1:] - m[:-1]).abs().mean() + (m[:, 1:] - m[:, :-1]).abs().mean(),
              atol=1e-6):
        raise ExerciseError("Square the differences (β = 2) instead of taking their absolute "
                            "value.", zh="对差取平方（β = 2），而不是取绝对值。")
    raise ExerciseError("Compare neighbouring mask values, down and right, squared and averaged.",
                        zh="比较相邻的掩码值（向下和向右），取平方再求平均。")


# -- the line search ------------------------------------------------------------------------

def _armijo(mask, grad, objective, initial_step=200.0, *, clamp=True, sufficient=True,
            squared=True, sign=-1.0, backtrack=True):
    """The reference line search of the paper's code, and its usual mistakes."""
    def move(step):
        candidate = mask + sign * step * grad
        return candidate.clamp(0, 1) if clamp else candidate

    current = float(objective(mask))
    norm = float((grad ** 2).sum()) if squared else float(grad.norm())
    decrease = 1e-4 * norm if sufficient else 0.0
    step = initial_step
    candidate = move(step)
    while backtrack and float(objective(candidate)) > current - step * decrease:
        step *= 0.2
        candidate = move(step)
        if step < 1e-5:
            break
    return candidate, step


def _scenarios():
    """(mask, gradient, objective) triples where the right step differs from the wrong ones'."""
    quadratic_mask = torch.full((1, 1, 4, 4), 0.6)
    linear_mask = torch.full((1, 1, 4, 4), 0.01)
    return [
        # a bowl at 0.5: 200, 40, … overshoot; the step must shrink six times (to 0.0128)
        ("bowl", quadratic_mask, 100 * (quadratic_mask - 0.5),
         lambda m: 50 * ((m - 0.5) ** 2).sum()),
        # a slope that the clamp cuts short: the decrease from step 200 is real but not
        # "sufficient" (1e-4 · 200 · ‖g‖² is more than the 0.16 the clamp allows)
        ("clamped slope", linear_mask, torch.ones(1, 1, 4, 4), lambda m: m.sum()),
        # a mixed gradient: some entries push up, some down
        ("mixed", torch.full((1, 1, 3, 3), 0.5),
         torch.tensor([[[[0.004, -0.002, 0.001], [0.003, 0.0, -0.001], [0.002, 0.001, 0.0]]]]),
         lambda m: (m * torch.tensor([[[[0.004, -0.002, 0.001], [0.003, 0.0, -0.001],
                                         [0.002, 0.001, 0.0]]]])).sum()),
        # a flat objective: no step ever passes; the search stops below 1e-5 and takes that step
        ("flat", torch.full((1, 1, 2, 2), 0.5), torch.full((1, 1, 2, 2), 0.1),
         lambda m: (0 * m).sum()),
    ]


def _run(function, mask, grad, objective):
    result = function(mask.clone(), grad.clone(), objective)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise ExerciseError("Return a pair: (the new mask, the step taken).",
                            zh="请返回一对值：(新掩码, 采用的步长)。")
    new_mask = as_tensor(result[0], "new mask")
    if tuple(new_mask.shape) != tuple(mask.shape):
        raise ExerciseError(f"The new mask has shape {tuple(new_mask.shape)}; expected "
                            f"{tuple(mask.shape)}, like the mask.",
                            zh=f"新掩码的形状是 {tuple(new_mask.shape)}，应与原掩码相同："
                               f"{tuple(mask.shape)}。")
    try:
        step = float(result[1])
    except (TypeError, ValueError):
        raise ExerciseError("The step must be one number (a float or a 0-d tensor).",
                            zh="步长必须是一个数（float 或 0 维张量）。") from None
    return new_mask, step


def _same(a, b) -> bool:
    return close(a[0], b[0], atol=1e-6) and abs(a[1] - b[1]) <= 1e-6 * max(1.0, abs(b[1]))


def check_armijo_step(armijo_step: Callable) -> None:
    """Notebook 06: one I-GOS update, ``armijo_step(mask, grad, objective) -> (mask, step)``:
    an Armijo line search along ``-grad`` (first step 200, times 0.2, sufficient decrease
    1e-4 · step · ‖g‖², stop below 1e-5) and a clamp to [0, 1]."""
    scenarios = _scenarios()
    mine = [_run(armijo_step, mask, grad, objective) for _, mask, grad, objective in scenarios]
    expected = [_armijo(mask, grad, objective) for _, mask, grad, objective in scenarios]
    if all(_same(a, b) for a, b in zip(mine, expected)):
        return passed()
    mistakes = [
        (dict(clamp=False), "Clamp the new mask to [0, 1] — also the candidates the line search "
         "tries: a mask is a blend weight, and the objective is only defined there.",
         "把新掩码截断到 [0, 1]——线搜索试探的候选掩码也要截断：掩码是混合权重，目标函数只在这个范围"
         "内有定义。"),
        (dict(sign=1.0), "You stepped along +grad: that climbs the objective. Step along −grad.",
         "你沿 +grad 走了一步：那是让目标函数上升。应沿 −grad 走。"),
        (dict(backtrack=False), "You always take the first step: shrink it (× 0.2) until the "
         "Armijo condition holds.",
         "你总是采用第一个步长：应不断把步长乘以 0.2，直到满足 Armijo 条件。"),
        (dict(sufficient=False), "Any decrease is not enough: the Armijo condition asks for "
         "L(new) ≤ L(M) − 1e-4 · step · ‖g‖².",
         "只要下降还不够：Armijo 条件要求 L(new) ≤ L(M) − 1e-4 · step · ‖g‖²。"),
        (dict(squared=False), "The sufficient decrease uses the squared norm ‖g‖² (the sum of "
         "the squared gradient entries), not ‖g‖.",
         "充分下降条件用的是范数的平方 ‖g‖²（梯度各元素平方之和），不是 ‖g‖。"),
    ]
    for bug, message, zh in mistakes:
        wrong = [_armijo(mask, grad, objective, **bug) for _, mask, grad, objective in scenarios]
        if all(_same(a, b) for a, b in zip(mine, wrong)):
            raise ExerciseError(message, zh=zh)
    for (name, *_), a, b in zip(scenarios, mine, expected):
        if not _same(a, b):
            flat = name == "flat"
            hint = ("when no step passes, keep shrinking until the step is below 1e-5 and take "
                    "that (tiny) step" if flat else
                    "compare L at the clamped candidate with L(M) − 1e-4 · step · ‖g‖²")
            hint_zh = ("没有步长满足条件时，继续缩小直到步长低于 1e-5，并采用这个（极小的）步长"
                       if flat else "用截断后的候选掩码处的 L 与 L(M) − 1e-4 · step · ‖g‖² 比较")
            raise ExerciseError(f"Wrong step or mask in the '{name}' case (yours: step "
                                f"{a[1]:.3g}): {hint}.",
                                zh=f"在「{name}」情形下步长或掩码不对（你的步长：{a[1]:.3g}）："
                                   f"{hint_zh}。")
    raise ExerciseError("Not the paper's line search yet.", zh="还不是论文代码中的线搜索。")


#: Realistic wrong answers to the graded solution cell (grade_id → cell sources); the checker
#: must reject each with its own message (tests/course/test_nb06_igos.py).
WRONG_SOLUTIONS: dict[str, list[str]] = {
    "06_igos-solution": [
        # the sum instead of the mean
        "def my_total_variation(mask):\n"
        "    m = mask[0, 0]\n"
        "    return ((m[1:, :] - m[:-1, :]) ** 2).sum() + ((m[:, 1:] - m[:, :-1]) ** 2).sum()\n",
        # absolute differences (TV with beta = 1)
        "def my_total_variation(mask):\n"
        "    m = mask[0, 0]\n"
        "    return (m[1:, :] - m[:-1, :]).abs().mean() + (m[:, 1:] - m[:, :-1]).abs().mean()\n",
    ],
    "06_igos-armijo-solution": [
        # no clamp
        "def armijo_step(mask, grad, objective, initial_step=200.0):\n"
        "    current = objective(mask)\n"
        "    step = initial_step\n"
        "    while objective(mask - step * grad) > current - 1e-4 * step * (grad ** 2).sum():\n"
        "        step *= 0.2\n"
        "        if step < 1e-5:\n"
        "            break\n"
        "    return mask - step * grad, step\n",
        # any decrease accepted
        "def armijo_step(mask, grad, objective, initial_step=200.0):\n"
        "    current = objective(mask)\n"
        "    step = initial_step\n"
        "    candidate = (mask - step * grad).clamp(0, 1)\n"
        "    while objective(candidate) > current:\n"
        "        step *= 0.2\n"
        "        candidate = (mask - step * grad).clamp(0, 1)\n"
        "        if step < 1e-5:\n"
        "            break\n"
        "    return candidate, step\n",
        # the norm, not its square
        "def armijo_step(mask, grad, objective, initial_step=200.0):\n"
        "    current = objective(mask)\n"
        "    step = initial_step\n"
        "    candidate = (mask - step * grad).clamp(0, 1)\n"
        "    while objective(candidate) > current - 1e-4 * step * grad.norm():\n"
        "        step *= 0.2\n"
        "        candidate = (mask - step * grad).clamp(0, 1)\n"
        "        if step < 1e-5:\n"
        "            break\n"
        "    return candidate, step\n",
        # gradient ascent
        "def armijo_step(mask, grad, objective, initial_step=200.0):\n"
        "    current = objective(mask)\n"
        "    step = initial_step\n"
        "    candidate = (mask + step * grad).clamp(0, 1)\n"
        "    while objective(candidate) > current - 1e-4 * step * (grad ** 2).sum():\n"
        "        step *= 0.2\n"
        "        candidate = (mask + step * grad).clamp(0, 1)\n"
        "        if step < 1e-5:\n"
        "            break\n"
        "    return candidate, step\n",
        # a fixed step
        "def armijo_step(mask, grad, objective, initial_step=200.0):\n"
        "    return (mask - initial_step * grad).clamp(0, 1), initial_step\n",
    ],
}


#: Quick-quiz questions of this notebook (``xh.quiz(...)`` shows them).
QUESTIONS: dict[str, Question] = {
    "igos_direction": Question(
        "Why does I-GOS descend along an integrated gradient instead of the gradient of its "
        "objective at the current mask?",
        ("At M = 1 a confident model is saturated: the plain gradient is tiny, while the "
         "average along the path from the baseline also sees where the score changes",
         "The integrated gradient is cheaper: one forward pass instead of K",
         "It makes the mask satisfy completeness: the saliency sums to the score drop"),
        0, "Section 2 measures it: for the confident espresso the plain gradient at M = 1 is "
           "much smaller than the integrated one. The cost is K forward and backward passes "
           "per iteration, not fewer; completeness belongs to IG attributions, not to masks.",
        "06_igos",
        zh=("I-GOS 为什么沿积分梯度下降，而不用目标函数在当前掩码处的梯度？",
            ("在 M = 1 处，有把握的模型已饱和：普通梯度很小，而沿基线到图像的路径取平均，"
             "还能看到分数真正变化的地方",
             "积分梯度更便宜：只要一次前向传播而不是 K 次",
             "它让掩码满足完备性：显著图之和等于分数的下降"),
            "第 2 节做了测量：对很有把握的浓缩咖啡，M = 1 处的普通梯度远小于积分梯度。代价是每次迭"
            "代 "
            "K 次前向和反向传播，而不是更少；完备性属于 IG 的归因，不属于掩码。")),
    "igos_circular_metric": Question(
        "I-GOS found its mask by deleting towards a blurred image. You now score it with a "
        "deletion curve that deletes towards the same blurred image. What is the catch?",
        ("None: deletion curves are the standard metric",
         "The deletion curve must delete to black instead",
         "The metric rewards what I-GOS optimised: part of its good score restates its "
         "objective (circular); a second baseline or insertion is a fairer check"),
        2, "I-GOS minimised the score of x blended with that very baseline; a deletion curve "
           "with the same baseline measures nearly the same thing. Compare with other baselines "
           "(grey, black) and with insertion, and remember every baseline creates "
           "out-of-distribution images (notebook 09).",
        "06_igos",
        zh=("I-GOS 是朝着一张模糊图像「删除」来找掩码的。现在你用一条朝同一张模糊图像删除的删除曲线"
            "给它"
            "打分。问题在哪里？",
            ("没有问题：删除曲线是标准指标",
             "删除曲线必须改为删成黑色",
             "这个指标奖励的正是 I-GOS 优化过的东西：它的好分数有一部分只是在复述它的目标函数"
             "（循环论证）；换一个基线或看插入曲线才更公平"),
            "I-GOS 最小化的就是 x 与这张基线混合后的分数；用同一基线的删除曲线测的几乎是同一件事。"
            "要与其他基线（灰色、黑色）和插入曲线比较，并记住每种基线都会产生分布外的图像（第 09 本"
            "）。")),
}
