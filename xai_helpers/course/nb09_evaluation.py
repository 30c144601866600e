"""Notebook 09 · Evaluating explanations: the exercises' checkers and the quiz questions.

- :func:`check_pointing_game`: the pointing game for maps and bool masks (N, H, W).
- :func:`check_deletion_auc`: the deletion AUC of one image for a *given* pixel ordering. The
  lesson uses :func:`xai_helpers.deletion_curve` and describes the curve in words; the code is
  the learner's. The checker uses a small model of its own, so it runs in milliseconds.
"""
from __future__ import annotations

from typing import Callable

import torch

from .feedback import ExerciseError, Question, as_tensor, check_shape, passed

__all__ = ["check_pointing_game", "check_deletion_auc", "deletion_auc_reference", "QUESTIONS",
           "WRONG_SOLUTIONS"]


def check_pointing_game(my_pointing_game: Callable) -> None:
    """Notebook 09: the pointing game for maps and bool masks (N, H, W).

    Example:
        >>> check_pointing_game(my_pointing_game)            # doctest: +SKIP
        Correct.
    """
    from ..evaluation.metrics import pointing_game

    maps = torch.rand(6, 16, 16, generator=torch.Generator().manual_seed(0))
    masks = torch.zeros(6, 16, 16, dtype=torch.bool)
    masks[:3, 2:6, 8:15] = True                     # a wide box: rows 2-5, columns 8-14
    maps[:2, 3, 10] = 2.0                           # inside it; (10, 3) lies outside
    maps[3, 10, 3] = 2.0                            # outside; transposed (3, 10) lies inside
    masks[3] = masks[0]
    mine = as_tensor(my_pointing_game(maps, masks), "pointing game")
    check_shape(mine, (6,), "answer (one per image)")
    if mine.dtype != torch.bool:
        raise ExerciseError("Return True / False per image: a bool tensor.",
                            zh="每张图返回 True / False：一个 bool 张量。")
    expected = pointing_game(maps, masks)
    if torch.equal(mine, expected):
        return passed()
    if torch.equal(mine, pointing_game(-maps, masks)):
        raise ExerciseError("You looked at the minimum; the game asks where the *maximum* is.",
                            zh="你找的是最小值；指向游戏问的是*最大值*在哪里。")
    if torch.equal(mine, masks.flatten(1).any(1)):
        raise ExerciseError("You checked whether the mask has any pixel; check the mask at the "
                            "map's maximum.",
                            zh="你检查的是掩码里有没有像素；要检查的是图的最大值处的掩码。")
    if torch.equal(mine, pointing_game(maps.transpose(1, 2), masks)):
        raise ExerciseError("Rows and columns are swapped: a flat index i of an (H, W) map is "
                            "row i // W and column i % W (or look the flat index up in the "
                            "flattened mask).",
                            zh="行和列弄反了：(H, W) 图的展平索引 i 对应第 i // W 行、第 i % W 列"
                               "（或者直接在展平的掩码里查这个索引）。")
    raise ExerciseError("Find the position of each map's maximum (over H × W) and look it up in "
                        "that image's mask.",
                        zh="找到每张图（在 H × W 上）最大值的位置，再到这张图的掩码里查它。")


# -- deletion AUC --------------------------------------------------------------------------------

def deletion_auc_reference(probability: Callable, x: torch.Tensor, order: torch.Tensor,
                           steps: int, baseline: float = 0.0, *, channels: str = "all",
                           flat: str = "rows", points: str = "all") -> float:
    """The deletion AUC written out (and, through the keywords, the usual mistakes, for the
    diagnosis): after ``k`` of ``steps`` steps the first ``k / steps · H·W`` pixels of ``order``
    hold ``baseline`` in every channel; AUC by the trapezoid rule over the deleted fraction."""
    _, height, width = x.shape
    n = height * width
    images = []
    for k in range(steps + 1):
        chosen = torch.zeros(n, dtype=torch.bool)
        chosen[order[:round(k / steps * n)]] = True
        chosen = chosen.view(height, width) if flat == "rows" else chosen.view(width, height).T
        image = x.clone()
        if channels == "all":
            image[:, chosen] = baseline
        else:
            image[0, chosen] = baseline
        images.append(image)
    p = probability(torch.stack(images)).detach().float()
    fractions = torch.linspace(0, 1, steps + 1)
    if points == "skip_first":
        return float(torch.trapezoid(p[1:], fractions[1:]))
    return float(torch.trapezoid(p, fractions))


def _deletion_case(seed: int = 0):
    """A tiny "model" on 8×8 RGB images (a logistic score of a fixed weight map) and an image
    whose probability falls unevenly as pixels go, so every mistake changes the AUC."""
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(3, 8, 8, generator=generator) * 0.6
    weight[:, 2:6, 3:7] += 1.5                       # the "object" the model relies on
    weight[0, 5:8, 0:2] += 2.0                       # evidence in the red channel only

    def probability(images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4 or images.shape[1:] != (3, 8, 8):
            raise ExerciseError(f"probability() takes a batch (N, 3, 8, 8), got "
                                f"{tuple(images.shape)}: stack the images you made.",
                                zh=f"probability() 接收一批图 (N, 3, 8, 8)，收到的是 "
                                   f"{tuple(images.shape)}：把你做的图堆叠起来。")
        return torch.sigmoid((images * weight).flatten(1).sum(1) * 0.15 - 2.0)

    x = torch.rand(3, 8, 8, generator=generator)
    order = torch.randperm(64, generator=generator)             # the ordering you are given
    order[:6] = torch.tensor([42, 43, 50, 51, 26, 27])          # starts on the object ...
    rest = [i for i in torch.randperm(64, generator=generator).tolist()
            if i not in (42, 43, 50, 51, 26, 27)]
    order[6:] = torch.tensor(rest)
    return probability, x, order


def check_deletion_auc(my_deletion_auc: Callable) -> None:
    """Notebook 09: ``my_deletion_auc(probability, x, order, steps, baseline=0.0)`` — the
    deletion AUC of one image ``x`` (C, H, W) when its pixels are deleted in the given ``order``
    (flat indices into H × W, most important first), ``steps`` steps, deleted pixels set to
    ``baseline`` in every channel, ``probability(batch) -> (N,)`` the target's probability.

    Run for 8 and 16 steps on a small model of the checker's own (64 pixels: every step deletes
    a whole number of pixels, so every correct implementation gives the same number).

    Example:
        >>> check_deletion_auc(my_deletion_auc)            # doctest: +SKIP
        Correct.
    """
    probability, x, order = _deletion_case()
    for steps in (8, 16):
        given_x, given_order = x.clone(), order.clone()
        result = my_deletion_auc(probability, given_x, given_order, steps, 0.0)
        if result is None:
            raise ExerciseError("Your function returned None: did you forget `return`?",
                                zh="你的函数返回了 None：是不是忘了 `return`？")
        mine = torch.as_tensor(result).detach().float()
        if mine.numel() != 1:
            raise ExerciseError(f"Return one number (the area under the curve), not a tensor of "
                                f"shape {tuple(mine.shape)}.",
                                zh=f"返回一个数（曲线下面积），而不是形状为 {tuple(mine.shape)} "
                                   "的张量。")
        mine = float(mine)
        if not torch.equal(given_x, x) or not torch.equal(given_order, order):
            raise ExerciseError("Your function changed the image (or the ordering) it was given: "
                                "delete pixels in a copy for each step.",
                                zh="你的函数修改了传入的图（或排序）：每一步都要在副本上删除像素。")
        expected = deletion_auc_reference(probability, x, order, steps)
        if abs(mine - expected) < 1e-5:
            continue
        _diagnose_deletion(mine, probability, x, order, steps)
    return passed()


def _diagnose_deletion(mine, probability, x, order, steps) -> None:
    def like(value: float) -> bool:
        return abs(mine - value) < 1e-5

    def variant(**kwargs) -> float:
        return deletion_auc_reference(probability, x, order, steps, **kwargs)

    if like(deletion_auc_reference(probability, x, order.flip(0), steps)):
        raise ExerciseError("You deleted the *least* important pixels first: order[0] is the "
                            "most important pixel, and deletion removes it first.",
                            zh="你先删除了*最不*重要的像素：order[0] 是最重要的像素，"
                               "删除曲线先删它。")
    if like(variant(channels="first")):
        raise ExerciseError("Only one channel of each pixel was set to the baseline: delete the "
                            "pixel in every channel (x[:, row, column]).",
                            zh="每个像素只有一个通道被设成了基线值：要在所有通道上删除这个像素"
                               "（x[:, row, column]）。")
    if like(variant(flat="columns")):
        raise ExerciseError("Rows and columns are swapped: a flat index i of an (H, W) image is "
                            "row i // W and column i % W.",
                            zh="行和列弄反了：(H, W) 图像的展平索引 i 对应第 i // W 行、第 i % W "
                               "列。")
    n = x.shape[1] * x.shape[2]
    images = []
    for k in range(steps + 1):
        image = x.clone()
        image.view(3, -1)[:, order[:round(k / steps * n)]] = 0.0
        images.append(image)
    p = probability(torch.stack(images)).detach().float()
    if any(like(float(v)) for v in (p.mean(), p[1:].mean(), p[:-1].mean(), p.sum())):
        raise ExerciseError("That is an average (or sum) of the probabilities, not the area: "
                            "integrate over the deleted fraction 0 … 1 with the trapezoid rule.",
                            zh="这是概率的平均值（或总和），不是面积：要用梯形法则在删除比例 0 … "
                               "1 上积分。")
    shorter = torch.linspace(0, 1, steps)
    if like(variant(points="skip_first")) or any(
            like(float(torch.trapezoid(q, shorter))) for q in (p[1:], p[:-1])):
        raise ExerciseError(f"The curve has steps + 1 = {steps + 1} points: it starts at the "
                            "unchanged image (0 % deleted) and ends with every pixel deleted.",
                            zh=f"曲线有 steps + 1 = {steps + 1} 个点：从原图（删除 0 %）开始，"
                               "到所有像素都被删除结束。")
    if like(float(torch.trapezoid(p, torch.linspace(0, 1, steps + 1)) / p[0])):
        raise ExerciseError("Report the area under the probability itself, not divided by the "
                            "original image's probability.",
                            zh="报告概率本身的曲线下面积，不要除以原图的概率。")
    raise ExerciseError("Not the deletion AUC yet: after k of the steps, the first "
                        "k / steps · H·W pixels of `order` hold the baseline; follow the "
                        "probability and take the area under it.",
                        zh="还不是删除曲线 AUC：第 k 步后，`order` 中前 k / steps · H·W "
                           "个像素取基线值；"
                           "跟踪概率并求其曲线下面积。")


#: Realistic wrong solutions of each graded cell (the nbgrader round trip grades them; each
#: checker must reject them — tests/course/test_nb09_evaluation.py says with which message).
WRONG_SOLUTIONS: dict[str, list[str]] = {
    "09_evaluating_explanations-solution": [
        # the minimum instead of the maximum
        "def my_pointing_game(maps, masks):\n"
        "    flat = maps.flatten(1).argmin(dim=1)\n"
        "    return masks.flatten(1)[torch.arange(len(flat)), flat]\n",
        # rows and columns swapped
        "def my_pointing_game(maps, masks):\n"
        "    flat = maps.flatten(1).argmax(dim=1)\n"
        "    W = maps.shape[2]\n"
        "    return masks[torch.arange(len(flat)), flat % W, flat // W]\n",
    ],
    "09_evaluating_explanations-deletion-solution": [
        # least important first
        "def my_deletion_auc(probability, x, order, steps, baseline=0.0):\n"
        "    n = x.shape[1] * x.shape[2]\n"
        "    images = []\n"
        "    for k in range(steps + 1):\n"
        "        image = x.clone()\n"
        "        image.view(x.shape[0], -1)[:, order.flip(0)[:round(k / steps * n)]] = baseline\n"
        "        images.append(image)\n"
        "    p = probability(torch.stack(images))\n"
        "    return float(torch.trapezoid(p, torch.linspace(0, 1, steps + 1)))\n",
        # the mean of the probabilities instead of the area
        "def my_deletion_auc(probability, x, order, steps, baseline=0.0):\n"
        "    n = x.shape[1] * x.shape[2]\n"
        "    images = []\n"
        "    for k in range(steps + 1):\n"
        "        image = x.clone()\n"
        "        image.view(x.shape[0], -1)[:, order[:round(k / steps * n)]] = baseline\n"
        "        images.append(image)\n"
        "    return float(probability(torch.stack(images)).mean())\n",
        # deletes in one channel only
        "def my_deletion_auc(probability, x, order, steps, baseline=0.0):\n"
        "    n = x.shape[1] * x.shape[2]\n"
        "    images = []\n"
        "    for k in range(steps + 1):\n"
        "        image = x.clone()\n"
        "        image[0].view(-1)[order[:round(k / steps * n)]] = baseline\n"
        "        images.append(image)\n"
        "    p = probability(torch.stack(images))\n"
        "    return float(torch.trapezoid(p, torch.linspace(0, 1, steps + 1)))\n",
        # forgets the unchanged image: the curve starts after the first step
        "def my_deletion_auc(probability, x, order, steps, baseline=0.0):\n"
        "    n = x.shape[1] * x.shape[2]\n"
        "    images = []\n"
        "    for k in range(1, steps + 1):\n"
        "        image = x.clone()\n"
        "        image.view(x.shape[0], -1)[:, order[:round(k / steps * n)]] = baseline\n"
        "        images.append(image)\n"
        "    p = probability(torch.stack(images))\n"
        "    return float(torch.trapezoid(p, torch.linspace(0, 1, steps)))\n",
        # deletes in the caller's image, in place
        "def my_deletion_auc(probability, x, order, steps, baseline=0.0):\n"
        "    n = x.shape[1] * x.shape[2]\n"
        "    scores = []\n"
        "    for k in range(steps + 1):\n"
        "        x.view(x.shape[0], -1)[:, order[:round(k / steps * n)]] = baseline\n"
        "        scores.append(probability(x[None])[0])\n"
        "    return float(torch.trapezoid(torch.stack(scores), torch.linspace(0, 1, steps + 1)))\n",
    ],
}


#: Quick-quiz questions of this notebook (``xh.quiz(...)`` shows them).
QUESTIONS: dict[str, Question] = {
    "deletion_ood": Question(
        "Deletion replaces the most important pixels with a constant. Why can a low deletion AUC "
        "overstate how faithful a map is, and what does ROAR (Hooker et al. 2019) do about it?",
        ("It cannot: deletion measures the model on exactly the images it was trained on",
         "Deleting pixels makes the model slower, and ROAR times it",
         "The half-deleted images are out of distribution, so the score may fall because the "
         "image looks strange, not because evidence is gone; ROAR retrains the model on images "
         "with the same fraction removed and then measures the accuracy drop"),
        2, "A patchwork of grey squares is unlike any training image. ROAR (RemOve And Retrain) "
           "retrains so the model is used to removed pixels; ROAD (Rong et al. 2022) instead "
           "fills removed pixels by noisy linear imputation from their neighbours, so the mask "
           "shape leaks less and no retraining is needed.",
        "09_evaluating_explanations",
        zh=("删除曲线把最重要的像素换成常数。为什么删除曲线 AUC 低可能夸大了一张图的忠实度？"
            "ROAR（Hooker 等人 2019）怎么应对？",
            ("不会：删除曲线正是在模型训练用的那类图像上测量模型",
             "删除像素会让模型变慢，ROAR 测量的是时间",
             "删掉一半的图像分布外（out of distribution），分数下降可能是因为图看起来怪，"
             "而不是证据没了；"
             "ROAR 在删除了同样比例像素的图像上重新训练模型，再测准确率的下降"),
            "一块块灰色方块拼成的图不像任何训练图像。ROAR（删除并重新训练）让模型习惯被删除的像素；"
            "ROAD（Rong 等人 2022）则用带噪声的线性插补从邻近像素填补被删的像素，"
            "使掩码的形状泄露更少，也不必重新训练。")),
    "igos_circular": Question(
        "I-GOS finds its mask by minimising the class score of the image with the masked region "
        "blurred. You score it by deletion with a *blurred* baseline and it wins. What does that "
        "show?",
        ("Little: I-GOS optimised (almost) exactly that score, so winning it is by construction; "
         "judge it with a baseline it did not optimise, or with a metric it did not see",
         "That I-GOS is the most faithful method for this model",
         "That the blurred baseline is the correct one for every method"),
        0, "A method must not be graded by its own objective. Section 5 deletes to a constant "
           "(0), not to the blur I-GOS optimises, and says so.",
        "09_evaluating_explanations",
        zh=("I-GOS 通过最小化“掩码区域被模糊后”的类别分数来找掩码。"
            "你用*模糊*基线的删除曲线给它打分，它赢了。"
            "这说明什么？",
            ("说明不了什么：I-GOS 优化的（几乎）就是这个分数，赢是必然的；"
             "要用它没有优化过的基线，或它没见过的指标来评价",
             "说明 I-GOS 对这个模型最忠实", "说明模糊基线对所有方法都是正确的"),
            "不能用一个方法自己的优化目标给它打分。第 5 节删除时填的是常数 0，而不是 I-GOS "
            "优化的模糊图，"
            "并且明确说了这一点。")),
    "identical_at_head": Question(
        "On the shapes CNN (last convolution → global average pooling → one dense layer), CAM, "
        "Grad-CAM and XGrad-CAM at the last convolution give the same maps. Why?",
        ("Because the package reuses one implementation for all three",
         "The gradient of the class score with respect to A^k is the same number w_k / (h·w) at "
         "every position, so all three weight channel k by w_k (up to a constant factor that "
         "normalisation removes)",
         "Because the shapes are simple"),
        1, "With global average pooling and one dense layer, ∂y^c/∂A^k_ij = w^c_k / (h·w). "
           "Grad-CAM averages that constant; XGrad-CAM's Σ A·∂y/∂A / Σ A gives it too. Deeper "
           "layers, or a head with more layers, separate them (notebook 02).",
        "09_evaluating_explanations",
        zh=("在形状 CNN 上（最后一层卷积 → 全局平均池化 → 一个全连接层），最后一层卷积处的 CAM、"
            "Grad-CAM "
            "和 XGrad-CAM 给出相同的图。为什么？",
            ("因为程序包对三者用了同一个实现",
             "类别分数对 A^k 的梯度在每个位置都是同一个数 w_k / (h·w)，"
             "所以三者都以 w_k 给通道 k 加权（相差的常数因子被归一化去掉）",
             "因为形状很简单"),
            "有全局平均池化和一个全连接层时，∂y^c/∂A^k_ij = w^c_k / (h·w)。Grad-CAM "
            "对这个常数取平均；"
            "XGrad-CAM 的 Σ A·∂y/∂A / Σ A 也得到它。更靠前的层，或多层的分类头，"
            "会把它们分开（笔记本 02）。")),
}
