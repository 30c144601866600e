"""Notebook 04 · Occlusion and gradients: the exercises' checkers and the quiz questions.

- :func:`check_smoothgrad` judges SmoothGrad *statistically*: any correct implementation (any
  way of drawing the noise, one call or a loop) passes; it does not replay one ``torch.normal``
  call.
- :func:`check_integrated_gradients` judges Integrated Gradients with the trapezoid rule from a
  non-zero baseline, and the completeness gap the learner computes with it.

Both run the learner's function on a small smooth network of their own (where the expected
answer is known to high precision) and once on the notebook's model (shapes, batching).
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from .feedback import ExerciseError, Question, as_tensor, check_shape, close, passed

__all__ = ["check_smoothgrad", "check_integrated_gradients", "QUESTIONS", "WRONG_SOLUTIONS"]


def _smooth_net(seed: int = 0) -> nn.Module:
    """Conv → tanh → linear on 3×6×6 inputs, 3 classes: its gradient changes with the input
    everywhere (a linear model's would not, and noise would change nothing)."""
    generator = torch.Generator().manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), nn.Flatten(),
                        nn.Linear(4 * 6 * 6, 3))
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator)
                            / math.sqrt(max(parameter[0].numel(), 1)))
    return net.eval()


def _smooth_input(seed: int = 1) -> torch.Tensor:
    return torch.rand(1, 3, 6, 6, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _gradients(net: nn.Module, points: torch.Tensor, target: int) -> torch.Tensor:
    points = points.detach().requires_grad_(True)
    (grads,) = torch.autograd.grad(net(points)[:, target].sum(), points)
    return grads


def _noisy_gradient_moments(net: nn.Module, x: torch.Tensor, target: int, sigma: float,
                            signed: bool = False, n_draws: int = 20000, seed: int = 123):
    """Mean and covariance over pixels of :math:`|g|` (or :math:`g`) under
    :math:`x + \\mathcal N(0, \\sigma^2)`, from ``n_draws`` draws of the checker's own, in
    float64."""
    generator = torch.Generator().manual_seed(seed)
    x = x.double()
    noisy = x + sigma * torch.randn(n_draws, *x.shape[1:], generator=generator,
                                    dtype=torch.float64)
    grads = _gradients(net.double(), noisy, target).flatten(1)
    net.float()
    grads = grads if signed else grads.abs()
    return grads.mean(0), torch.cov(grads.T), n_draws


def _misfit(estimate: torch.Tensor, moments, n: int) -> float:
    """Hotelling's statistic of an ``n``-sample average against the reference, per pixel:
    :math:`d^T \\Sigma^{-1} d / p` with :math:`\\Sigma` the covariance of the difference.
    About 1 for a correct estimator (measured over 500 runs: mean 1.02, sd 0.14, largest
    1.54); a biased one gives tens to thousands."""
    mean, covariance, n_reference = moments
    d = estimate.double().flatten() - mean
    covariance = covariance * (1 / n + 1 / n_reference)
    ridge = 1e-12 * covariance.trace() / len(d) * torch.eye(len(d), dtype=torch.float64)
    return float(d @ torch.linalg.solve(covariance + ridge, d) / len(d))


def check_smoothgrad(my_smoothgrad: Callable, model: nn.Module, x: torch.Tensor,
                     target: int, *, sigma: float = 0.5, n: int = 200, seed: int = 0) -> None:
    """Notebook 04: SmoothGrad, ``my_smoothgrad(model, x, target, n, sigma)`` → (1, 3, H, W).

    The answer is an average over random noise, so it is judged as one: on a small smooth
    network the checker knows, from 20 000 draws of its own, the expected
    :math:`|\\partial y/\\partial x|` per pixel under :math:`x + \\mathcal N(0, \\sigma^2)`
    and how the pixels vary together, and asks whether the learner's average of ``n`` copies
    lies within sampling error of it (Hotelling's statistic below 2; a correct answer gives
    about 1 — its largest value in 500 runs was 1.54). Any correct way of drawing the noise
    passes; then the function runs once on the notebook's model and image.
    """
    net, x_small, small_target = _smooth_net(), _smooth_input(), 1
    torch.manual_seed(seed)
    mine = as_tensor(my_smoothgrad(net, x_small, small_target, n, sigma), "SmoothGrad")
    if tuple(mine.shape) == tuple(x_small.shape[1:]):
        raise ExerciseError(f"Keep the batch axis: expected {tuple(x_small.shape)} "
                            "(mean with keepdim=True).",
                            zh=f"保留批量维：应为 {tuple(x_small.shape)}（求均值时用 "
                               "keepdim=True）。")
    check_shape(mine, x_small.shape, "SmoothGrad")
    if not torch.isfinite(mine).all():
        raise ExerciseError("Your SmoothGrad contains NaN or infinite values.",
                            zh="你的 SmoothGrad 含有 NaN 或无穷大。")
    expected = _noisy_gradient_moments(net, x_small, small_target, sigma)
    if _misfit(mine, expected, n) > 2.0:
        _diagnose_smoothgrad(my_smoothgrad, mine, net, x_small, small_target, n, sigma, seed,
                             expected)
    torch.manual_seed(seed)
    real = as_tensor(my_smoothgrad(model, x, target, 2, 0.2), "SmoothGrad")
    check_shape(real, x.shape, "SmoothGrad on the notebook's image")
    if not (torch.isfinite(real).all() and real.min() >= 0 and real.max() > 0):
        raise ExerciseError("On the notebook's image your SmoothGrad should be finite, "
                            "non-negative and not all zero.",
                            zh="在笔记本的图像上，你的 SmoothGrad 应当有限、非负且不全为零。")
    return passed()


def _diagnose_smoothgrad(my_smoothgrad, mine, net, x, target, n, sigma, seed, expected):
    """Which usual mistake explains an average that is off by more than sampling error."""
    if close(mine, _gradients(net, x, target).abs(), atol=1e-6):
        raise ExerciseError("Your map is the saliency of the clean image: every copy got the "
                            "same input. Add fresh noise N(0, sigma²) to each copy.",
                            zh="你的图是干净图像的梯度显著图：每个副本得到的是同一个输入。"
                               "给每个副本加上新的噪声 N(0, sigma²)。")
    if _misfit(mine / n, expected, n) < 2.0:
        raise ExerciseError("You summed over the noisy copies; SmoothGrad averages them.",
                            zh="你对噪声副本求了和；SmoothGrad 要求平均。")
    if _misfit(mine, _noisy_gradient_moments(net, x, target, sigma, signed=True), n) < 2.0:
        raise ExerciseError("You averaged signed gradients; saliency averages their magnitude "
                            "|∂y/∂x|.",
                            zh="你平均的是带符号的梯度；梯度显著图平均的是梯度的绝对值 |∂y/∂x|。")
    if _misfit(mine, _noisy_gradient_moments(net, x, target, sigma ** 2), n) < 2.0:
        raise ExerciseError("Your noise has standard deviation sigma² instead of sigma: "
                            "torch.normal and torch.randn take the standard deviation.",
                            zh="你的噪声标准差是 sigma² 而不是 sigma：torch.normal 和 "
                               "torch.randn 接收的是标准差。")
    runs = [mine.double()]
    for extra in range(1, 4):
        torch.manual_seed(seed + extra)
        runs.append(as_tensor(my_smoothgrad(net, x, target, n, sigma), "SmoothGrad").double())
    spread = torch.stack(runs).flatten(1).var(dim=0)
    expected_spread = expected[1].diagonal() / n
    if float(spread.mean() / expected_spread.mean()) > n / 10:
        raise ExerciseError("Your noisy copies vary together, as if they shared one noise draw: "
                            "each copy needs its own noise, drawn independently per pixel.",
                            zh="你的噪声副本一起变化，好像共用了一次噪声抽样："
                               "每个副本都要有自己的噪声，每个像素独立抽取。")
    raise ExerciseError("Your average is off by more than sampling error. Draw the noise as "
                        "N(0, sigma²) independently for every copy and every pixel, take the "
                        "gradient of the target score for each copy and average |gradient|.",
                        zh="你的平均值偏离超出了抽样误差。对每个副本、每个像素独立抽取 N(0, "
                           "sigma²) 噪声，对每个副本求目标分数的梯度，再平均 |梯度|。")


def _trapezoid_reference(net, x, target, baseline, n_points):
    """The trapezoid rule written out: ``(attributions, averaged gradient, path gradients)``."""
    alphas = torch.linspace(0, 1, n_points, dtype=x.dtype)
    path = baseline + alphas.view(-1, 1, 1, 1) * (x - baseline)
    grads = _gradients(net, path, target)
    weights = torch.full((n_points,), 1 / (n_points - 1), dtype=x.dtype)
    weights[[0, -1]] /= 2
    average = (weights.view(-1, 1, 1, 1) * grads).sum(0, keepdim=True)
    return (x - baseline) * average, average, grads


def check_integrated_gradients(my_integrated_gradients: Callable, model: nn.Module,
                               x: torch.Tensor, target: int, baseline: torch.Tensor, *,
                               n_points: int = 9) -> None:
    """Notebook 04: Integrated Gradients with the trapezoid rule from a given baseline, and the
    completeness gap: ``my_integrated_gradients(model, x, target, baseline, n_points)`` →
    ``(attributions (1, 3, H, W), delta)`` with
    :math:`\\delta = \\sum \\text{attr} - (y(x) - y(x'))`.

    The rule is deterministic, so the answer is compared to float precision with the rule
    written out, on a small smooth network from a baseline that is neither zero nor constant;
    then the function runs on the notebook's model and baseline (6 points).
    """
    net, x_small, small_target = _smooth_net(2), _smooth_input(3), 0
    small_baseline = _smooth_input(4) * 0.25 + 0.55               # in [0.3, 0.8]: not 0
    result = my_integrated_gradients(net, x_small, small_target, small_baseline, n_points)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise ExerciseError("Return two things: (attributions, delta).",
                            zh="请返回两样东西：(attributions, delta)。")
    attr = as_tensor(result[0], "attributions")
    check_shape(attr, x_small.shape, "attributions")
    expected, average, grads = _trapezoid_reference(net, x_small, small_target,
                                                    small_baseline, n_points)
    if not close(attr, expected, atol=1e-5):
        _diagnose_integrated_gradients(attr, net, x_small, small_target, small_baseline,
                                       n_points, expected, average, grads)
    with torch.no_grad():
        at_x, at_baseline, at_zero = (float(net(p)[0, small_target]) for p in
                                      (x_small, small_baseline, torch.zeros_like(x_small)))
    delta, total = float(result[1]), float(expected.sum())
    if not math.isclose(delta, total - (at_x - at_baseline), abs_tol=1e-4):
        if math.isclose(delta, (at_x - at_baseline) - total, abs_tol=1e-4):
            raise ExerciseError("Your delta has the wrong sign: it is the sum of the "
                                "attributions minus (y(x) - y(baseline)).",
                                zh="你的 delta 符号反了：它是归因之和减去 (y(x) - y(baseline))。")
        if math.isclose(delta, total - (at_x - at_zero), abs_tol=1e-4):
            raise ExerciseError("Your delta compares with y(x) - y(0): completeness is about "
                                "y(x) - y(baseline), for the baseline you were given.",
                                zh="你的 delta 比较的是 y(x) - y(0)：完备性说的是 y(x) - "
                                   "y(baseline)，用给你的那条基线。")
        raise ExerciseError("Your delta is not sum(attributions) - (y(x) - y(baseline)).",
                            zh="你的 delta 不是 sum(attributions) - (y(x) - y(baseline))。")
    from ..attribution.gradients import integrated_gradients

    attr, _ = my_integrated_gradients(model, x, target, baseline, 6)
    attr = as_tensor(attr, "attributions")
    check_shape(attr, x.shape, "attributions on the notebook's image")
    expected = integrated_gradients(model, x, target, baseline=baseline, n_steps=6,
                                    method="riemann_trapezoid")
    # 1 %: float32 paths built another way can cross a ReLU6 kink at another point
    if float((attr - expected).abs().max()) > 1e-2 * float(expected.abs().max()):
        raise ExerciseError("On the notebook's model your attributions differ from the "
                            "trapezoid rule's: is the target right, the model unchanged?",
                            zh="在笔记本的模型上，你的归因与梯形法则的结果不同："
                               "目标类别对吗？模型有没有被改动？")
    return passed()


def _diagnose_integrated_gradients(attr, net, x, target, baseline, n_points, expected,
                                   average, grads):
    step = x - baseline
    if close(attr, average, atol=1e-5):
        raise ExerciseError("You returned the averaged gradient: Integrated Gradients "
                            "multiplies it by (x - baseline).",
                            zh="你返回的是平均梯度：积分梯度还要乘以 (x - baseline)。")
    if close(attr, _trapezoid_reference(net, x, target, torch.zeros_like(x), n_points)[0],
             atol=1e-5):
        raise ExerciseError("Your path starts at 0, not at the baseline you were given.",
                            zh="你的路径从 0 出发，而不是从给你的基线出发。")
    if close(attr, step * grads.mean(0, keepdim=True), atol=1e-5):
        raise ExerciseError("You gave every point the same weight. In the trapezoid rule the "
                            "two end points count half.",
                            zh="你给每个点的权重都一样。梯形法则中两个端点只算一半。")
    right = torch.arange(1, n_points + 1, dtype=x.dtype).view(-1, 1, 1, 1) / n_points
    if close(attr, step * _gradients(net, baseline + right * step, target).mean(0, keepdim=True),
             atol=1e-5):
        raise ExerciseError("That is a right Riemann sum (points k/m, k = 1..m). The trapezoid "
                            "rule uses n points from the baseline to x, both ends included, "
                            "the ends at half weight.",
                            zh="这是右黎曼和（点 k/m，k = 1..m）。梯形法则用从基线到 x 的 n "
                               "个点，两端都包括，端点权重减半。")
    if close(attr, expected * (n_points - 1), atol=1e-4):
        raise ExerciseError("Your weights add up to n - 1, not 1: the points are 1 / (n - 1) "
                            "apart.",
                            zh="你的权重加起来是 n - 1 而不是 1：相邻两点相距 1 / (n - 1)。")
    if close(attr, step * grads[-1:], atol=1e-5):
        raise ExerciseError("You used only the gradient at x (gradient × input): integrate "
                            "along the path.",
                            zh="你只用了 x 处的梯度（梯度乘输入）：要沿路径积分。")
    raise ExerciseError("Your attributions are not (x - baseline) × the trapezoid-rule average "
                        "of the gradients on the straight path from the baseline to x.",
                        zh="你的归因不是 (x - baseline) 乘以从基线到 x "
                           "的直线路径上梯度的梯形法则平均。")


#: Quick-quiz questions of this notebook (``xh.quiz(...)`` shows them).
QUESTIONS: dict[str, Question] = {
    "baseline_space": Question(
        "Your model normalises inputs with mean = std = 0.5. Which Integrated Gradients "
        "baseline is a black picture?",
        ("torch.zeros_like(x)", "torch.full_like(x, -1.0)", "torch.full_like(x, 0.5)"),
        1, "Baselines live in the model's input space: black pixel 0 becomes (0 - 0.5) / 0.5 = "
           "-1. A zero tensor there is a grey picture.",
        "04_captum_occlusion_and_gradients",
        zh=("模型用 mean = std = 0.5 标准化输入。哪条积分梯度基线是一张黑色图片？",
            ("torch.zeros_like(x)", "torch.full_like(x, -1.0)", "torch.full_like(x, 0.5)"),
            "基线位于模型的输入空间：黑色像素 0 变成 (0 - 0.5) / 0.5 = -1。"
            "那里的零张量是一张灰色图片。")),
    "ig_input_term": Question(
        "Your Integrated Gradients attributions do not add up to f(x) - f(baseline). What is "
        "the most likely bug?",
        ("Too many integration steps", "The model is in eval mode",
         "The averaged gradients were not multiplied by (x - baseline)"),
        2, "IG = (x - x') × average gradient along the path. Without the (x - x') factor the "
           "attributions lose completeness (and their units).",
        "04_captum_occlusion_and_gradients",
        zh=("你的积分梯度归因加起来不等于 f(x) - f(baseline)。最可能的错误是什么？",
            ("积分步数太多", "模型处于 eval 模式", "平均梯度没有乘以 (x - baseline)"),
            "积分梯度 = (x - x') × 路径上的平均梯度。少了 (x - x') 这个因子，"
            "归因就失去完备性（和单位）。")),
    "saturation": Question(
        "Along the straight path from a grey baseline to the photo, the dog's score rises "
        "steeply at first and then flattens. What does the plain gradient at the photo itself "
        "tell you?",
        ("Little: near x the score has saturated, so the gradient is small even for pixels "
         "that produced most of the score's rise",
         "Everything IG does, only faster: the gradient at x times (x - x') adds up to "
         "y(x) - y(x')",
         "Nothing at all: gradients at x are always zero in ReLU networks"),
        0, "Saturation: once the evidence is there, more of it barely moves the score, so "
           "∂y/∂x at x is small. Gradient × (x - x') then sums to far less than y(x) - y(x'); "
           "IG collects the gradients where the score was rising.",
        "04_captum_occlusion_and_gradients",
        zh=("沿着从灰色基线到照片的直线路径，狗的分数先陡升后变平。照片处的普通梯度告诉你什么？",
            ("很少：在 x 附近分数已经饱和，即使是造成分数大部分上升的像素，梯度也很小",
             "积分梯度能告诉的一切，只是更快：x 处的梯度乘 (x - x') 加起来等于 y(x) - y(x')",
             "什么也没有：ReLU 网络在 x 处的梯度总是零"),
            "饱和：证据一旦足够，再多的证据几乎不再改变分数，所以 x 处的 ∂y/∂x 很小。梯度乘 (x - "
            "x') 之和"
            "远小于 y(x) - y(x')；积分梯度收集的是分数上升时的梯度。")),
    "smoothgrad_sq": Question(
        "Which is SmoothGrad² (captum's nt_type='smoothgrad_sq') for gradients g_1..g_n of "
        "noisy copies?",
        ("(mean of g)², the square of SmoothGrad's signed average",
         "mean of |g|, SmoothGrad of the saliency",
         "variance of g, the mean of g² minus (mean of g)²",
         "mean of g², the average of the squared gradients"),
        3, "SmoothGrad² averages the squares. The square of the mean lets positive and "
           "negative gradients cancel before squaring; the variance (VarGrad) is the mean of "
           "squares minus the square of the mean.",
        "04_captum_occlusion_and_gradients",
        zh=("对噪声副本的梯度 g_1..g_n，哪个是 SmoothGrad²（captum 的 nt_type='smoothgrad_sq'）？",
            ("(g 的均值)²，即 SmoothGrad 带符号平均的平方",
             "|g| 的均值，即梯度显著图的 SmoothGrad",
             "g 的方差，即 g² 的均值减 (g 的均值)²",
             "g² 的均值，即梯度平方的平均"),
            "SmoothGrad² 平均的是平方。先求均值再平方会让正负梯度在平方之前相互抵消；"
            "方差（VarGrad）"
            "是平方的均值减去均值的平方。")),
    "noise_clamp": Question(
        "Your SmoothGrad code adds noise to the model's normalised input (values in [-1, 1]) "
        "and then calls .clamp(0, 1) 'to keep pixels valid'. What happens?",
        ("Every pixel darker than mid-grey becomes grey: the model explains a different, "
         "washed-out picture",
         "Nothing: clamping only removes a little noise",
         "The map gets sharper, because out-of-range noise is removed"),
        0, "The valid range of the normalised input is [-1, 1]; [0, 1] is the range of raw "
           "pixels. Clamp in the space the values live in (or not at all: SmoothGrad's noise "
           "is meant to leave the range).",
        "04_captum_occlusion_and_gradients",
        zh=("你的 SmoothGrad 代码给模型标准化后的输入（取值在 [-1, 1]）加噪声，然后调用 "
            ".clamp(0, 1)"
            "“让像素保持有效”。会发生什么？",
            ("所有比中灰暗的像素都变成灰色：模型解释的是另一张褪了色的图片",
             "没什么：截断只去掉了一点噪声",
             "图会更清晰，因为超出范围的噪声被去掉了"),
            "标准化后输入的有效范围是 [-1, 1]；[0, 1] 是原始像素的范围。要在数值所在的空间里截断"
            "（或者干脆不截断：SmoothGrad 的噪声本来就允许超出范围）。")),
}

#: Realistic wrong solutions per graded solution cell (the nbgrader round trip grades them;
#: tests/course/test_nb04_gradients.py checks that each is rejected with its own message).
WRONG_SOLUTIONS: dict[str, list[str]] = {
    "04_captum_occlusion_and_gradients-solution": [
        # signed gradients averaged
        "def my_smoothgrad(model, x, target, n, sigma):\n"
        "    noisy = x.repeat(n, 1, 1, 1) + sigma * torch.randn(n, *x.shape[1:])\n"
        "    noisy.requires_grad_(True)\n"
        "    (grads,) = torch.autograd.grad(model(noisy)[:, target].sum(), noisy)\n"
        "    return grads.mean(dim=0, keepdim=True)\n",
        # summed instead of averaged
        "def my_smoothgrad(model, x, target, n, sigma):\n"
        "    noisy = x.repeat(n, 1, 1, 1) + sigma * torch.randn(n, *x.shape[1:])\n"
        "    noisy.requires_grad_(True)\n"
        "    (grads,) = torch.autograd.grad(model(noisy)[:, target].sum(), noisy)\n"
        "    return grads.abs().sum(dim=0, keepdim=True)\n",
        # one noise draw shared by all copies
        "def my_smoothgrad(model, x, target, n, sigma):\n"
        "    noise = torch.normal(0.0, sigma, size=x.shape)\n"
        "    noisy = (x + noise).repeat(n, 1, 1, 1)\n"
        "    noisy.requires_grad_(True)\n"
        "    (grads,) = torch.autograd.grad(model(noisy)[:, target].sum(), noisy)\n"
        "    return grads.abs().mean(dim=0, keepdim=True)\n",
        # variance given where torch.normal wants the standard deviation
        "def my_smoothgrad(model, x, target, n, sigma):\n"
        "    noisy = x.repeat(n, 1, 1, 1) + torch.normal(0.0, sigma ** 2, size=(n, *x.shape[1:]))\n"
        "    noisy.requires_grad_(True)\n"
        "    (grads,) = torch.autograd.grad(model(noisy)[:, target].sum(), noisy)\n"
        "    return grads.abs().mean(dim=0, keepdim=True)\n",
        # no keepdim
        "def my_smoothgrad(model, x, target, n, sigma):\n"
        "    noisy = x.repeat(n, 1, 1, 1) + sigma * torch.randn(n, *x.shape[1:])\n"
        "    noisy.requires_grad_(True)\n"
        "    (grads,) = torch.autograd.grad(model(noisy)[:, target].sum(), noisy)\n"
        "    return grads.abs().mean(dim=0)\n",
    ],
    "04_captum_occlusion_and_gradients-ig-trapezoid-solution": [
        # the lesson's right Riemann sum, transcribed
        "def my_integrated_gradients(model, x, target, baseline, n_points):\n"
        "    alphas = torch.linspace(1 / n_points, 1, n_points).view(-1, 1, 1, 1)\n"
        "    path = (baseline + alphas * (x - baseline)).requires_grad_(True)\n"
        "    (grads,) = torch.autograd.grad(model(path)[:, target].sum(), path)\n"
        "    attr = (x - baseline) * grads.mean(dim=0, keepdim=True)\n"
        "    with torch.no_grad():\n"
        "        gap = model(x)[0, target] - model(baseline)[0, target]\n"
        "    return attr, float(attr.sum() - gap)\n",
        # every point the same weight
        "def my_integrated_gradients(model, x, target, baseline, n_points):\n"
        "    alphas = torch.linspace(0, 1, n_points).view(-1, 1, 1, 1)\n"
        "    path = (baseline + alphas * (x - baseline)).requires_grad_(True)\n"
        "    (grads,) = torch.autograd.grad(model(path)[:, target].sum(), path)\n"
        "    attr = (x - baseline) * grads.mean(dim=0, keepdim=True)\n"
        "    with torch.no_grad():\n"
        "        gap = model(x)[0, target] - model(baseline)[0, target]\n"
        "    return attr, float(attr.sum() - gap)\n",
        # no (x - baseline) factor
        "def my_integrated_gradients(model, x, target, baseline, n_points):\n"
        "    alphas = torch.linspace(0, 1, n_points).view(-1, 1, 1, 1)\n"
        "    path = (baseline + alphas * (x - baseline)).requires_grad_(True)\n"
        "    (grads,) = torch.autograd.grad(model(path)[:, target].sum(), path)\n"
        "    weights = torch.full((n_points, 1, 1, 1), 1 / (n_points - 1))\n"
        "    weights[[0, -1]] /= 2\n"
        "    attr = (weights * grads).sum(dim=0, keepdim=True)\n"
        "    with torch.no_grad():\n"
        "        gap = model(x)[0, target] - model(baseline)[0, target]\n"
        "    return attr, float(attr.sum() - gap)\n",
        # the completeness gap against y(0) instead of y(baseline)
        "def my_integrated_gradients(model, x, target, baseline, n_points):\n"
        "    alphas = torch.linspace(0, 1, n_points).view(-1, 1, 1, 1)\n"
        "    path = (baseline + alphas * (x - baseline)).requires_grad_(True)\n"
        "    (grads,) = torch.autograd.grad(model(path)[:, target].sum(), path)\n"
        "    weights = torch.full((n_points, 1, 1, 1), 1 / (n_points - 1))\n"
        "    weights[[0, -1]] /= 2\n"
        "    attr = (x - baseline) * (weights * grads).sum(dim=0, keepdim=True)\n"
        "    with torch.no_grad():\n"
        "        gap = model(x)[0, target] - model(torch.zeros_like(x))[0, target]\n"
        "    return attr, float(attr.sum() - gap)\n",
    ],
}
