"""Notebook 01 · CAM from scratch: the coding exercises' checkers and the quiz questions."""
from __future__ import annotations

from typing import Callable

import torch

from .feedback import ExerciseError, Question, as_tensor, check_shape, close, normalise, passed

__all__ = ["check_cam_from_features", "check_class_difference", "QUESTIONS", "WRONG_SOLUTIONS"]


def _cam_case() -> tuple[torch.Tensor, torch.Tensor]:
    """Features and weights whose class-2 map has positive *and* negative evidence."""
    generator = torch.Generator().manual_seed(0)
    A = torch.rand(8, 5, 5, generator=generator)
    ramp = torch.linspace(0, 1, 5)
    A[0], A[1] = ramp[:, None] * ramp[None, :], ramp.flip(0)[:, None] * ramp.flip(0)[None, :]
    W = torch.randn(5, 8, generator=generator) * 0.1
    W[2, 0], W[2, 1] = 1.0, -1.5
    return A, W


def check_cam_from_features(cam_from_features: Callable, A: torch.Tensor, weights: torch.Tensor,
                            class_id: int) -> None:
    """CAM from the feature maps A (K, h, w) and the classifier weights (C, K).

    Checked on a small case of its own (with negative evidence, so a missing ReLU shows), then
    on your ``A``, ``weights`` and ``class_id``. (The notebook's graded exercise is now
    :func:`check_class_difference`; this checker stays for courses that used the old one.)
    """
    for A_case, W_case, c in (_cam_case() + (2,), (A, weights, class_id)):
        _check_one_cam(cam_from_features, A_case, W_case, c)
    passed()


def _check_one_cam(cam_from_features, A, weights, class_id) -> None:
    mine = as_tensor(cam_from_features(A, weights, class_id), "CAM")
    check_shape(mine, A.shape[1:], "map")
    raw = torch.einsum("k,khw->hw", weights[class_id], A)
    expected = normalise(torch.relu(raw))
    if close(mine, expected):
        return
    if close(mine, normalise(raw)) or float(mine.min()) < -1e-6:
        raise ExerciseError("Your map keeps negative evidence: CAM keeps only positive "
                            "evidence (a ReLU) before normalising.",
                            zh="你的图保留了负向证据：CAM 在归一化之前只保留正向证据（ReLU）。")
    if close(mine, torch.relu(raw)) or float(mine.max()) > 1 + 1e-5:
        raise ExerciseError("Your map is not in [0, 1]: min-max normalise it at the end.",
                            zh="你的图不在 [0, 1] 内：最后做一次最小-最大归一化。")
    others = torch.einsum("ck,khw->chw", weights, A)
    if any(close(mine, normalise(torch.relu(others[c]))) for c in range(len(weights))
           if c != class_id):
        raise ExerciseError("That is the map of another class: use the weights row of "
                            "`class_id`.",
                            zh="这是另一个类别的图：请用 `class_id` 那一行权重。")
    raise ExerciseError("Not the CAM yet: weight each channel A_k by w_k of the class and sum "
                        "over channels.",
                        zh="还不是 CAM：用该类别的 w_k 给每个通道 A_k 加权，再对通道求和。")


# -- the graded exercise: the map of the difference of two classes ------------------------------

def _difference_case() -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """ReLU6-like features (K=6, 4x5 grid: not square, so swapped axes show) and weights whose
    two class maps both have positive and negative positions, and whose difference does too."""
    generator = torch.Generator().manual_seed(1)
    A = torch.rand(6, 4, 5, generator=generator) * 6
    rows, cols = torch.linspace(0, 1, 4)[:, None], torch.linspace(0, 1, 5)[None, :]
    A[0] = 6 * rows * cols                     # lower right
    A[1] = 6 * (1 - rows) * (1 - cols)         # upper left
    W = torch.randn(4, 6, generator=generator) * 0.05
    W[1, 0], W[1, 1] = 1.0, -0.6               # class 1: for lower right, against upper left
    W[3, 0], W[3, 1] = -0.4, 0.8               # class 3: the other way round
    return A, W, 1, 3


def check_class_difference(class_difference_map: Callable, A: torch.Tensor,
                           weights: torch.Tensor, c1: int, c2: int) -> None:
    """Notebook 01: the map of "why class c1 rather than c2" from features and classifier weights.

    ``class_difference_map(A, weights, c1, c2)`` must return the signed (h, w) map ``D`` of the
    features ``A`` (K, h, w) whose mean is the logit difference minus the bias difference:
    ``D.mean() + b[c1] - b[c2] == y[c1] - y[c2]``. Checked on a small case of its own (where
    ReLUs, normalising or a swapped sign all change the answer), then on your ``A``,
    ``weights``, ``c1`` and ``c2``.

    Example:
        >>> check_class_difference(class_difference_map, A, W, 235, 249)   # doctest: +SKIP
        Correct.
    """
    for case in (_difference_case(), (A, weights, c1, c2)):
        _check_one_difference(class_difference_map, *case)
    passed()


def _check_one_difference(fn: Callable, A: torch.Tensor, weights: torch.Tensor, c1: int,
                          c2: int) -> None:
    A, weights = torch.as_tensor(A).float(), torch.as_tensor(weights).float()
    mine = as_tensor(fn(A, weights, c1, c2), "difference map").float()
    h, w = A.shape[1:]
    if mine.ndim == 0:
        raise ExerciseError("Your function returns one number: return the map over the "
                            f"{h}×{w} positions (the average over positions is the logit "
                            "difference, the map says where it comes from).",
                            zh=f"你的函数只返回了一个数：请返回 {h}×{w} 个位置上的图"
                               "（各位置的平均是 logit 之差，图说明它来自哪里）。")
    if mine.ndim == 3 and mine.shape[0] == 1:
        raise ExerciseError(f"Your map has shape {tuple(mine.shape)}: return one (h, w) map, "
                            "without a batch or channel axis.",
                            zh=f"你的图形状为 {tuple(mine.shape)}：请返回一张 (h, w) 的图，"
                               "不带批量轴或通道轴。")
    if mine.ndim == 2 and mine.shape[0] > h and mine.shape[1] > w:
        raise ExerciseError(f"Your map has shape {tuple(mine.shape)}: keep the feature map's "
                            f"own {h}×{w} grid (no upsampling).",
                            zh=f"你的图形状为 {tuple(mine.shape)}：请保持特征图自己的 {h}×{w} "
                               "网格（不要上采样）。")
    check_shape(mine, (h, w), "difference map")
    M = torch.einsum("ck,khw->chw", weights, A)             # every class's map
    D = M[c1] - M[c2]
    scale = float(D.abs().max()) + 1e-12

    def same(candidate: torch.Tensor) -> bool:
        return float((mine - candidate).abs().max()) <= 1e-4 * scale + 1e-6

    if same(D):
        return
    relu = torch.relu
    if same(-D):
        raise ExerciseError("Your map has the wrong sign: it shows c2 rather than c1. Positive "
                            "values should mark positions that favour c1.",
                            zh="你的图符号反了：它显示的是「c2 而不是 c1」。正值应标出偏向 c1 "
                               "的位置。")
    if same(D / (h * w)) or same(D * h * w) or same(D / h) or same(D / w):
        raise ExerciseError("Right map, wrong units: with the lesson's M (positions averaged "
                            "by the pooling), D.mean() + b[c1] - b[c2] must equal "
                            "y[c1] - y[c2]. Yours is off by a constant factor.",
                            zh="图的形状对了，单位不对：按课上的 M（池化对各位置取平均），"
                               "D.mean() + b[c1] - b[c2] 应等于 y[c1] - y[c2]。"
                               "你的结果差了一个常数倍。")
    if same(relu(M[c1]) - relu(M[c2])):
        raise ExerciseError("You applied a ReLU to each class's map before subtracting: that "
                            "throws away the evidence against each class, so the map no longer "
                            "averages to the logit difference. The difference needs no ReLU.",
                            zh="你在相减之前对每个类别的图做了 ReLU：这丢掉了反对各类别的证据，"
                               "图的平均就不再是 logit 之差。差值图不需要 ReLU。")
    if same(relu(D)):
        raise ExerciseError("Your map has no negative values: positions that favour c2 over c1 "
                            "are negative, and the average needs them. Keep the signed map "
                            "(no ReLU).",
                            zh="你的图没有负值：偏向 c2 而非 c1 的位置应为负，求平均时少不了它们。"
                               "请保留有符号图（不做 ReLU）。")
    if (same(normalise(relu(M[c1])) - normalise(relu(M[c2])))
            or same(normalise(M[c1]) - normalise(M[c2]))):
        raise ExerciseError("You subtracted two maps that were normalised one by one: each was "
                            "stretched to its own [0, 1], so they are in different units and "
                            "their difference says nothing about the logits. Subtract the raw "
                            "maps.",
                            zh="你相减的是两张各自归一化过的图：每张都被拉伸到自己的 [0, 1]，"
                               "单位不同，相减的结果与 logit 无关。请用原始的图相减。")
    if same(normalise(D)) or same(normalise(relu(D))) or same(D / scale):
        raise ExerciseError("Your map is rescaled (normalised): keep the raw logit units, so "
                            "that the mean of the map gives back the logit difference.",
                            zh="你的图被重新缩放（归一化）了：请保留原始的 logit 单位，"
                               "这样图的平均才能还原 logit 之差。")
    if same(M[c1]):
        raise ExerciseError("That is the map of class c1 alone: subtract the map of c2.",
                            zh="这只是类别 c1 自己的图：还要减去 c2 的图。")
    C = len(weights)
    if any(same(M[a] - M[b]) for a in range(C) for b in range(C) if a != b):
        raise ExerciseError("That is the difference of another pair of classes: use the rows "
                            "c1 and c2 of the weights, in that order.",
                            zh="这是另一对类别的差：请按顺序使用权重的第 c1 行和第 c2 行。")
    raise ExerciseError("Not the difference map yet. Test it yourself on the notebook's feature "
                        "map: D.mean() + b[c1] - b[c2] should equal logits[c1] - logits[c2].",
                        zh="还不是差值图。先在笔记本的特征图上自己检验："
                           "D.mean() + b[c1] - b[c2] 应等于 logits[c1] - logits[c2]。")


#: Realistic wrong solutions of the graded cell (its ``grade_id`` → full cell sources): the
#: checker must reject each one (tests/course/test_nb01_cam.py and the nbgrader round trip).
WRONG_SOLUTIONS: dict[str, list[str]] = {
    "01_cam_from_scratch-difference-solution": [
        # the lesson's CAM (ReLU + min-max) per class, then subtracted
        "def class_difference_map(A, weights, c1, c2):\n"
        "    def cam(c):\n"
        "        m = torch.relu(torch.einsum('k,khw->hw', weights[c], A))\n"
        "        return (m - m.min()) / (m.max() - m.min())\n"
        "    return cam(c1) - cam(c2)\n",
        # ReLU per class, no normalising
        "def class_difference_map(A, weights, c1, c2):\n"
        "    m1 = torch.relu(torch.einsum('k,khw->hw', weights[c1], A))\n"
        "    m2 = torch.relu(torch.einsum('k,khw->hw', weights[c2], A))\n"
        "    return m1 - m2\n",
        # the difference, then the lesson's ReLU
        "def class_difference_map(A, weights, c1, c2):\n"
        "    return torch.relu(torch.einsum('k,khw->hw', weights[c1] - weights[c2], A))\n",
        # the sign the other way round
        "def class_difference_map(A, weights, c1, c2):\n"
        "    return torch.einsum('k,khw->hw', weights[c2] - weights[c1], A)\n",
        # each position's share of the sum (the paper's sum instead of the lesson's mean)
        "def class_difference_map(A, weights, c1, c2):\n"
        "    h, w = A.shape[1:]\n"
        "    return torch.einsum('k,khw->hw', weights[c1] - weights[c2], A) / (h * w)\n",
    ],
}


#: Quick-quiz questions of this notebook (``xh.quiz(...)`` shows them).
QUESTIONS: dict[str, Question] = {
    "cam_layer": Question(
        "CAM weights a feature map A with the classifier's weights w^c. Which A makes the map "
        "average to the logit (minus the bias)?",
        ("Any convolution layer's output with as many channels as the classifier has inputs",
         "The last convolution's output, before its BatchNorm and ReLU6",
         "Any layer, after resizing its maps to 7×7",
         "Exactly the tensor that the global average pooling reads (here `_head_act`)"),
        3, "The sum swap y^c = mean_ij(Σ_k w^c_k A_k,ij) + b^c holds only for the A whose channel "
           "averages the linear layer multiplies. `_conv_head` also has 1280 channels, but "
           "BatchNorm and ReLU6 come after it: the notebook shows its map averaging to a number "
           "far from the logit.",
        "01_cam_from_scratch",
        zh=("CAM 用分类器的权重 w^c 给特征图 A 加权。哪个 A 能让这张图的平均等于 logit"
            "（减去偏置）？",
            ("任何一个卷积层的输出，只要通道数等于分类器的输入数",
             "最后一个卷积的输出，在它的批量规范化和 ReLU6 之前",
             "任何一层，把它的图缩放到 7×7 之后",
             "恰好是全局平均池化所读的那个张量（这里是 `_head_act`）"),
            "交换求和 y^c = mean_ij(Σ_k w^c_k A_k,ij) + b^c 只对这样的 A 成立："
            "全连接层乘的正是它各通道的平均。`_conv_head` 也有 1280 个通道，"
            "但它后面还有批量规范化和 ReLU6："
            "笔记本显示它的图的平均与 logit 相差很远。")),
    "cam_mean": Question(
        "Before ReLU, upsampling and normalisation, what is the average over the 7×7 positions "
        "of the map M^c = Σ_k w^c_k A_k?",
        ("The logit y^c minus the bias b^c",
         "The probability p_c of the class",
         "1, because the map is normalised",
         "The logit y^c, bias included"),
        0, "y^c = Σ_k w^c_k mean_ij(A_k,ij) + b^c = mean_ij(M^c_ij) + b^c: swapping the two sums "
           "puts the pooling's average outside. The softmax and the normalisation come later "
           "and are not part of this identity.",
        "01_cam_from_scratch",
        zh=("在 ReLU、上采样和归一化之前，图 M^c = Σ_k w^c_k A_k 在 7×7 个位置上的平均是什么？",
            ("logit y^c 减去偏置 b^c",
             "该类别的概率 p_c",
             "1，因为图已归一化",
             "logit y^c，含偏置"),
            "y^c = Σ_k w^c_k mean_ij(A_k,ij) + b^c = mean_ij(M^c_ij) + b^c：交换两个求和，"
            "池化的平均就移到了外面。softmax 和归一化在后面，不属于这个恒等式。")),
    "normalised_weak_map": Question(
        "The pickup's CAM (ReLU, min-max normalised) on the dog photo has a red patch as bright "
        "as the dog's, although the pickup's logit is negative. Why?",
        ("The bias b^c is added to every position of the map",
         "Normalising stretches every map to [0, 1], so a weak map's maximum is drawn as red as "
         "a strong one's, and the ReLU hides the negative evidence that makes its logit "
         "negative",
         "CAM only works for the predicted class; for other classes the map is noise"),
        1, "CAM is class-discriminative for any class, and the bias is not part of the map. "
           "Drawn raw on one shared scale, the pickup's largest contribution is a small fraction "
           "of the dog's (the notebook asserts more than 10×).",
        "01_cam_from_scratch",
        zh=("在狗的照片上，皮卡的 CAM（ReLU 后做最小-最大归一化）有一块和狗一样亮的红斑，"
            "可皮卡的 logit 是负的。为什么？",
            ("偏置 b^c 被加到了图的每个位置上",
             "归一化把每张图都拉伸到 [0, 1]，弱图的最大值被画得和强图一样红；"
             "而 ReLU 藏起了让它的 logit 为负的负向证据",
             "CAM 只对预测类别有效；对其他类别，图只是噪声"),
            "CAM 对任何类别都有类别区分性，偏置也不在图里。把原始的图画在统一色标下，"
            "皮卡的最大贡献只是狗的一小部分（笔记本断言相差 10 倍以上）。")),
}
