"""Notebook 05 · LIME, CamLIME and RISE: the coding exercises' checkers and the quiz."""
from __future__ import annotations

from typing import Callable

import torch

from .feedback import ExerciseError, Question, as_tensor, check_shape, close, passed

__all__ = ["check_lime_kernel", "check_weighted_ridge", "QUESTIONS", "WRONG_SOLUTIONS"]


def check_lime_kernel(lime_kernel: Callable, masks: torch.Tensor, kernel_width: float = 0.25
                      ) -> None:
    """Notebook 05 (earlier exercise): lime's kernel weights from the on/off masks (N, S)."""
    mine = as_tensor(lime_kernel(masks, kernel_width), "kernel")
    check_shape(mine, (masks.shape[0],), "weights")
    ones = torch.ones(masks.shape[1])
    cosine = (masks @ ones) / (masks.norm(dim=1) * ones.norm()).clamp_min(1e-12)
    expected = torch.sqrt(torch.exp(-((1 - cosine) ** 2) / kernel_width ** 2))
    if close(mine, expected, atol=1e-6):
        return passed()
    if close(mine, expected ** 2, atol=1e-6):
        raise ExerciseError("Close: lime takes the square root of the exponential kernel.",
                            zh="差一点：lime 对指数核再取平方根。")
    if close(mine, torch.sqrt(torch.exp(-(cosine ** 2) / kernel_width ** 2)), atol=1e-6):
        raise ExerciseError("Use the cosine *distance* 1 − similarity: the unperturbed image "
                            "(all ones) must get weight 1.",
                            zh="要用余弦*距离* 1 − 相似度：未扰动的图像（全为 1）权重必须是 1。")
    raise ExerciseError("The first sample keeps every superpixel and must weigh 1; samples "
                        "further away (cosine distance) weigh less.",
                        zh="第一个样本保留所有超像素，权重必须是 1；余弦距离越远的样本权重越小。")


def _ridge(z, y, w, alpha, *, weighted_means=True, intercept=True, penalise_intercept=False,
           weight_power=1.0):
    """The reference solution and its usual mistakes, in float64."""
    z, y, w = z.double(), y.double(), w.double() ** weight_power
    if penalise_intercept:                     # ridge on [1, Z] with the penalty on everything
        design = torch.cat([torch.ones(len(z), 1, dtype=z.dtype), z], dim=1)
        lhs = design.T @ (w[:, None] * design) + alpha * torch.eye(design.shape[1],
                                                                   dtype=z.dtype)
        solution = torch.linalg.solve(lhs, design.T @ (w * y))
        return solution[1:], float(solution[0])
    if intercept:
        total = w.sum() if weighted_means else torch.tensor(float(len(z)), dtype=z.dtype)
        weights = w if weighted_means else torch.ones_like(w)
        z_mean, y_mean = (weights @ z) / total, (weights @ y) / total
    else:
        z_mean, y_mean = torch.zeros(z.shape[1], dtype=z.dtype), torch.zeros((), dtype=z.dtype)
    zc, yc = z - z_mean, y - y_mean
    lhs = zc.T @ (w[:, None] * zc) + alpha * torch.eye(z.shape[1], dtype=z.dtype)
    beta = torch.linalg.solve(lhs, zc.T @ (w * yc))
    return beta, float(y_mean - z_mean @ beta)


def _ridge_problem(seed: int = 0, n: int = 40, s: int = 6):
    """On/off vectors, scores with an intercept far from 0, uneven weights."""
    generator = torch.Generator().manual_seed(seed)
    z = torch.randint(0, 2, (n, s), generator=generator).float()
    z[0] = 1
    beta = torch.randn(s, generator=generator) * 0.2
    y = 0.6 + z @ beta + 0.05 * torch.randn(n, generator=generator)
    w = 0.05 + torch.rand(n, generator=generator)
    return z, y, w


def check_weighted_ridge(my_weighted_ridge: Callable) -> None:
    """Notebook 05: LIME's weighted ridge with an unpenalised intercept,
    ``my_weighted_ridge(Z, y, w, alpha) -> (coefficients (S,), intercept)``."""
    z, y, w = _ridge_problem()
    result = my_weighted_ridge(z.clone(), y.clone(), w.clone(), 1.0)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise ExerciseError("Return a pair: (coefficients of shape (S,), intercept).",
                            zh="请返回一对值：(形状为 (S,) 的系数, 截距)。")
    coefficients = as_tensor(result[0], "coefficients").double().flatten()
    check_shape(coefficients, (z.shape[1],), "coefficients")
    try:
        intercept = float(result[1])
    except (TypeError, ValueError):
        raise ExerciseError("The intercept must be one number (a float or a 0-d tensor).",
                            zh="截距必须是一个数（float 或 0 维张量）。") from None
    expected, expected_b = _ridge(z, y, w, 1.0)
    if close(coefficients, expected, atol=1e-5) and abs(intercept - expected_b) < 1e-5:
        z2, y2, w2 = _ridge_problem(seed=1, n=30, s=4)          # another alpha, another problem
        beta2, b2 = my_weighted_ridge(z2.clone(), y2.clone(), w2.clone(), 5.0)
        expected2, expected_b2 = _ridge(z2, y2, w2, 5.0)
        if not (close(as_tensor(beta2, "coefficients").double().flatten(), expected2, atol=1e-5)
                and abs(float(b2) - expected_b2) < 1e-5):
            raise ExerciseError("Right for alpha = 1, wrong for alpha = 5: use the alpha "
                                "argument for the penalty.",
                                zh="alpha = 1 时正确，alpha = 5 时不对：惩罚项要用参数 alpha。")
        return passed()
    if close(coefficients, expected, atol=1e-5):
        raise ExerciseError("The coefficients are right; the intercept is not: it is the "
                            "weighted mean of y minus the weighted mean of Z times β.",
                            zh="系数对了，截距不对：截距是 y 的加权均值减去 Z 的加权均值乘以 β。")
    mistakes = [
        (dict(intercept=False), "No intercept: the fit must not pass through 0 (here every "
         "score is around 0.6); centre Z and y before solving, or add a column of ones.",
         "没有截距：拟合不应穿过原点（这里每个分数都在 0.6 左右）；求解前先把 Z 和 y 中心化，"
         "或加一列 1。"),
        (dict(penalise_intercept=True), "You penalised the intercept too: only β gets the "
         "ridge penalty α‖β‖²; centre Z and y with the weighted means instead.",
         "你把截距也惩罚了：只有 β 受岭惩罚 α‖β‖²；应改用加权均值把 Z 和 y 中心化。"),
        (dict(weighted_means=False), "Centre with the *weighted* means Σ w_n z_n / Σ w_n, "
         "not the plain means.", "中心化要用*加权*均值 Σ w_n z_n / Σ w_n，而不是普通均值。"),
        (dict(weight_power=2.0), "Each squared residual is multiplied by w_n once (rows of Z "
         "and y scaled by √w_n, not by w_n).",
         "每个残差平方只乘一次 w_n（Z 和 y 的行乘以 √w_n，而不是 w_n）。"),
    ]
    for bug, message, zh in mistakes:
        beta_bug, _ = _ridge(z, y, w, 1.0, **bug)
        if close(coefficients, beta_bug, atol=1e-5):
            raise ExerciseError(message, zh=zh)
    for bug, message, zh in [
            (torch.ones_like(w), "You ignored the sample weights w: LIME weighs every squared "
             "residual by its kernel weight.",
             "你忽略了样本权重 w：LIME 用核函数权重给每个残差平方加权。"),
            (None, "No penalty: add α to the diagonal of Zcᵀ W Zc (ridge).",
             "没有惩罚项：在 Zcᵀ W Zc 的对角线上加 α（岭回归）。")]:
        beta_bug, _ = _ridge(z, y, w if bug is None else bug, 0.0 if bug is None else 1.0)
        if close(coefficients, beta_bug, atol=1e-5):
            raise ExerciseError(message, zh=zh)
    raise ExerciseError("Not LIME's ridge yet: minimise Σ w_n (y_n − b − z_nᵀβ)² + α‖β‖² "
                        "over β and an unpenalised intercept b.",
                        zh="还不是 LIME 的岭回归：对 β 和不受惩罚的截距 b 最小化 "
                           "Σ w_n (y_n − b − z_nᵀβ)² + α‖β‖²。")


#: Realistic wrong answers to the graded solution cell (grade_id → cell sources); the checker
#: must reject each with its own message (tests/course/test_nb05_lime.py).
WRONG_SOLUTIONS: dict[str, list[str]] = {
    "05_lime-solution": [
        # the exponential kernel without lime's square root
        "def lime_kernel(masks, kernel_width=0.25):\n"
        "    ones = torch.ones(masks.shape[1])\n"
        "    cosine = (masks @ ones) / (masks.norm(dim=1) * ones.norm()).clamp_min(1e-12)\n"
        "    return torch.exp(-((1 - cosine) ** 2) / kernel_width ** 2)\n",
        # the similarity where the distance belongs
        "def lime_kernel(masks, kernel_width=0.25):\n"
        "    ones = torch.ones(masks.shape[1])\n"
        "    cosine = (masks @ ones) / (masks.norm(dim=1) * ones.norm()).clamp_min(1e-12)\n"
        "    return torch.sqrt(torch.exp(-(cosine ** 2) / kernel_width ** 2))\n",
    ],
    "05_lime-ridge-solution": [
        # no intercept: solve through the origin
        "def my_weighted_ridge(Z, y, w, alpha=1.0):\n"
        "    Z, y, w = Z.double(), y.double(), w.double()\n"
        "    lhs = Z.T @ (w[:, None] * Z) + alpha * torch.eye(Z.shape[1], dtype=Z.dtype)\n"
        "    return torch.linalg.solve(lhs, Z.T @ (w * y)), 0.0\n",
        # a column of ones, penalised like the rest
        "def my_weighted_ridge(Z, y, w, alpha=1.0):\n"
        "    Z, y, w = Z.double(), y.double(), w.double()\n"
        "    X = torch.cat([torch.ones(len(Z), 1, dtype=Z.dtype), Z], dim=1)\n"
        "    lhs = X.T @ (w[:, None] * X) + alpha * torch.eye(X.shape[1], dtype=Z.dtype)\n"
        "    solution = torch.linalg.solve(lhs, X.T @ (w * y))\n"
        "    return solution[1:], float(solution[0])\n",
        # plain means for the centring
        "def my_weighted_ridge(Z, y, w, alpha=1.0):\n"
        "    Z, y, w = Z.double(), y.double(), w.double()\n"
        "    Zc, yc = Z - Z.mean(0), y - y.mean()\n"
        "    lhs = Zc.T @ (w[:, None] * Zc) + alpha * torch.eye(Z.shape[1], dtype=Z.dtype)\n"
        "    beta = torch.linalg.solve(lhs, Zc.T @ (w * yc))\n"
        "    return beta, float(y.mean() - Z.mean(0) @ beta)\n",
        # the sample weights forgotten
        "def my_weighted_ridge(Z, y, w, alpha=1.0):\n"
        "    Z, y = Z.double(), y.double()\n"
        "    Zc, yc = Z - Z.mean(0), y - y.mean()\n"
        "    lhs = Zc.T @ Zc + alpha * torch.eye(Z.shape[1], dtype=Z.dtype)\n"
        "    beta = torch.linalg.solve(lhs, Zc.T @ yc)\n"
        "    return beta, float(y.mean() - Z.mean(0) @ beta)\n",
    ],
}


#: Quick-quiz questions of this notebook (``xh.quiz(...)`` shows them).
QUESTIONS: dict[str, Question] = {
    "lime_scaled_columns": Question(
        "You multiply column s of LIME's on/off matrix Z by m_s, the superpixel's mean CAM, fit "
        "the ridge and read its coefficients as importance. What happens to a superpixel with "
        "m_s = 0.1?",
        ("It is demoted: the CAM says it does not matter",
         "It is promoted: its coefficient estimates β_s / 0.1, ten times its LIME value",
         "Nothing: the ridge is invariant to rescaling a column"),
        1, "Z diag(m) γ = Z β with β = m ⊙ γ, so the fitted γ_s ≈ β_s / m_s: a low CAM inflates "
           "the coefficient. To use the CAM as a prior, read β = m ⊙ γ — the ridge with penalty "
           "α β_s² / m_s².",
        "05_lime",
        zh=("把 LIME 的 0/1 矩阵 Z 的第 s 列乘以 m_s（该超像素上 CAM 的均值），拟合岭回归，再把系数"
            "当作"
            "重要性来读。m_s = 0.1 的超像素会怎样？",
            ("被降低：CAM 说它不重要",
             "被抬高：它的系数估计的是 β_s / 0.1，是 LIME 系数的十倍",
             "不变：岭回归对列的缩放不敏感"),
            "Z diag(m) γ = Z β，其中 β = m ⊙ γ，所以拟合出的 γ_s ≈ β_s / m_s：CAM 越低，系数被放得"
            "越大。"
            "要把 CAM 当作先验，应读 β = m ⊙ γ——即惩罚项为 α β_s² / m_s² 的岭回归。")),
    "rise_divide_by_p": Question(
        "RISE sums f(x ⊙ M_i) · M_i over N random masks and divides by N · p. Why p?",
        ("To normalise the map to [0, 1]",
         "Because the masks are blurred at their edges",
         "A pixel is kept in about N · p masks, so the division turns the sum into the mean "
         "score of the masks that kept it"),
        2, "E[M(λ)] = p, so Σ_i M_i(λ) ≈ N p and S(λ) ≈ E[f(x ⊙ M) | M(λ) = 1]: the expected "
           "score when pixel λ is visible. The division by p does not change the ranking, only "
           "the units (a probability).",
        "05_lime",
        zh=("RISE 把 N 个随机掩码的 f(x ⊙ M_i) · M_i 相加，再除以 N · p。为什么要除以 p？",
            ("为了把显著图归一化到 [0, 1]",
             "因为掩码的边缘是模糊的",
             "每个像素大约在 N · p 个掩码里被保留，除以它就把总和变成了「保留该像素的掩码」的平均分"
             "数"),
            "E[M(λ)] = p，所以 Σ_i M_i(λ) ≈ N p，S(λ) ≈ E[f(x ⊙ M) | M(λ) = 1]：像素 λ 可见时的期望"
            "分数。"
            "除以 p 不改变排序，只改变单位（变成概率）。")),
    "lime_classifier_fn": Question(
        "What must the classifier_fn you give to lime's LimeImageExplainer return for a batch "
        "of N perturbed pictures?",
        ("An (N, classes) array of per-class probabilities",
         "For each picture its (label, score) pair",
         "The model's logits, (N, classes)"),
        0, "lime reads column c as the score of class c and fits its ridge to it. (label, score) "
           "pairs make an (N, 2) array: lime fails with an IndexError for a class id ≥ 2, or, with "
           "top_labels, explains column 0 or 1 (label ids, scores) as if they were classes. "
           "Logits run, but the ridge then explains the logit — other units and often another "
           "ranking than the probability (section 8).",
        "05_lime",
        zh=("交给 lime 的 LimeImageExplainer 的 classifier_fn，对一批 N 张扰动图片应返回什么？",
            ("形状为 (N, 类别数) 的各类概率数组",
             "每张图片的 (标签, 分数) 对",
             "模型的 logits，形状为 (N, 类别数)"),
            "lime 把第 c 列读作类别 c 的分数，并对它拟合岭回归。(标签, 分数) 对得到的是 (N, 2) 数组"
            "："
            "类别编号 ≥ 2 时 lime 抛出 IndexError；用 top_labels 时它把第 0 或第 1 列（标签编号、分"
            "数）"
            "当作类别来解释。logits 能运行，但岭回归解释的就成了 logit——单位不同，排序也常常不同"
            "（第 8 节）。")),
}
