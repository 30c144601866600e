"""Notebook 10 · The explorer: the exercise's checker and the quiz questions.

- :func:`check_layer_choice`: choose a CAM layer by a stated criterion — the *deepest*
  convolution whose feature map is at least ``min_side`` pixels on each side — and compute the
  raw Grad-CAM there, at that layer's own resolution. The lesson lists the layers and moves
  the explorer's layer control; choosing by the criterion and computing the map are the
  learner's. Checked on the 64-pixel shapes CNN of notebook 09 (milliseconds).
"""
from __future__ import annotations

from typing import Callable

import torch

from .feedback import ExerciseError, Question, as_tensor, close, passed

__all__ = ["check_layer_choice", "QUESTIONS", "WRONG_SOLUTIONS"]


def _layers(model, size: int) -> list[tuple[str, int, int]]:
    from ..core.layers import list_conv_layers

    table = list_conv_layers(model, (size, size))
    return [(str(row.layer), int(row.height), int(row.width)) for row in table.itertuples()]


def _raw_grad_cam(model, x, target: int, layer: str) -> torch.Tensor:
    from ..cam.gradient import GradCAM

    return GradCAM(model, layer)(x, target, size=None, normalise=False)[0].detach().cpu()


def check_layer_choice(my_cam_at_resolution: Callable) -> None:
    """Notebook 10: ``my_cam_at_resolution(model, x, target, min_side)`` returns
    ``(layer_name, cam)``: the deepest layer among ``xh.list_conv_layers(model, (H, W))`` whose
    output is at least ``min_side`` × ``min_side``, and the raw Grad-CAM for ``target`` there —
    positive part (ReLU), not normalised, not upsampled: shape (h, w) of that layer.

    Example:
        >>> check_layer_choice(my_cam_at_resolution)            # doctest: +SKIP
        Correct.
    """
    from ..datasets.shapes import load_shapes_cnn, make_shapes

    model = load_shapes_cnn("clean")
    x = make_shapes(1, seed=3).images
    layers = _layers(model, x.shape[-1])
    for min_side, target in ((16, 0), (20, 2)):
        answer = my_cam_at_resolution(model, x.clone(), target, min_side)
        if not isinstance(answer, tuple) or len(answer) != 2:
            raise ExerciseError("Return a pair (layer_name, cam).",
                                zh="返回一个二元组 (layer_name, cam)。")
        name, cam = answer
        cam = as_tensor(cam, "map").squeeze()
        allowed = [layer for layer, h, w in layers if h >= min_side and w >= min_side]
        expected = allowed[-1]
        if name != expected:
            _diagnose_layer(name, min_side, layers, allowed)
        h, w = next((h, w) for layer, h, w in layers if layer == expected)
        if tuple(cam.shape) != (h, w):
            raise ExerciseError(f"Layer {name} gives a {h}×{w} map; yours is "
                                f"{tuple(cam.shape)}. Keep the layer's own resolution (no "
                                "upsampling): that resolution is what the choice is about.",
                                zh=f"层 {name} 给出 {h}×{w} 的图；你的是 {tuple(cam.shape)}。"
                                   "保持该层自己的分辨率（不要上采样）：选层正是为了这个分辨率。")
        expected_cam = _raw_grad_cam(model, x, target, expected)
        if close(cam, expected_cam, atol=1e-4):
            continue
        if float(cam.max()) <= 1.0 + 1e-6 and close(cam, _min_max(expected_cam), atol=1e-4):
            raise ExerciseError("The map is min-max normalised; return the raw map, so that maps "
                                "of different layers or classes can share one colour scale.",
                                zh="图做了最小-最大归一化；请返回原始的图，这样不同层或不同类别的图"
                                   "才能共用一个色标。")
        other = _raw_grad_cam(model, x, 1 - target if target < 2 else 0, expected)
        if close(cam, other, atol=1e-4):
            raise ExerciseError("That is the map of another class: explain `target`.",
                                zh="这是另一个类别的图：要解释的是 `target`。")
        if float(cam.min()) < -1e-6:
            raise ExerciseError("Keep only the positive evidence: apply the ReLU to the weighted "
                                "sum.",
                                zh="只保留正证据：对加权和取 ReLU。")
        raise ExerciseError("Right layer and size, different values: Grad-CAM weights channel k "
                            "by the mean over positions of ∂y^c/∂A^k, sums the weighted "
                            "channels and keeps the positive part.",
                            zh="层和大小都对，数值不对：Grad-CAM 用 ∂y^c/∂A^k "
                               "在各位置上的平均给通道 k "
                               "加权，对加权后的通道求和，再保留正的部分。")
    return passed()


def _min_max(cam: torch.Tensor) -> torch.Tensor:
    return (cam - cam.min()) / (cam.max() - cam.min()).clamp_min(1e-12)


def _diagnose_layer(name, min_side, layers, allowed) -> None:
    names = [layer for layer, _, _ in layers]
    if name not in names:
        raise ExerciseError(f"{name!r} is not one of the convolutions xh.list_conv_layers "
                            f"lists ({', '.join(names)}).",
                            zh=f"{name!r} 不在 xh.list_conv_layers 列出的卷积层中"
                               f"（{', '.join(names)}）。")
    sides = {layer: min(h, w) for layer, h, w in layers}
    if sides[name] < min_side:
        raise ExerciseError(f"Layer {name}'s map is {sides[name]} pixels on a side, smaller than "
                            f"min_side = {min_side}.",
                            zh=f"层 {name} 的图边长 {sides[name]} 像素，小于 min_side = "
                               f"{min_side}。")
    if name == allowed[0] and len(allowed) > 1:
        raise ExerciseError("That is the *shallowest* layer that is large enough. Choose the "
                            "deepest one: deeper layers carry more class-specific features.",
                            zh="这是够大的层里*最浅*的一层。要选最深的那层：越深的层特征越针对类别。")
    larger = [layer for layer in allowed if sides[layer] > min_side]
    if larger and name == larger[-1]:
        raise ExerciseError(f"A map exactly {min_side} pixels on a side is large enough: "
                            "\"at least\" means ≥, not >.",
                            zh=f"边长正好 {min_side} 像素的图也够大：“至少”是 ≥，不是 >。")
    raise ExerciseError("Not the deepest layer whose map is at least min_side on each side; "
                        "the layers are listed in forward order.",
                        zh="这不是图的每边都至少为 min_side 的最深的层；这些层按前向顺序列出。")


#: Realistic wrong solutions of the graded cell (the nbgrader round trip grades them; the
#: checker must reject them — tests/course/test_nb10_explorer.py says with which message).
WRONG_SOLUTIONS: dict[str, list[str]] = {
    "10_explorer-layer-solution": [
        # the shallowest layer that is large enough
        "def my_cam_at_resolution(model, x, target, min_side):\n"
        "    table = xh.list_conv_layers(model, tuple(x.shape[-2:]))\n"
        "    big = table[(table.height >= min_side) & (table.width >= min_side)]\n"
        "    layer = str(big.layer.iloc[0])\n"
        "    return layer, xh.GradCAM(model, layer)(x, target, size=None, normalise=False)[0]\n",
        # strictly larger than min_side
        "def my_cam_at_resolution(model, x, target, min_side):\n"
        "    table = xh.list_conv_layers(model, tuple(x.shape[-2:]))\n"
        "    big = table[(table.height > min_side) & (table.width > min_side)]\n"
        "    layer = str(big.layer.iloc[-1])\n"
        "    return layer, xh.GradCAM(model, layer)(x, target, size=None, normalise=False)[0]\n",
        # upsampled to the input size
        "def my_cam_at_resolution(model, x, target, min_side):\n"
        "    table = xh.list_conv_layers(model, tuple(x.shape[-2:]))\n"
        "    big = table[(table.height >= min_side) & (table.width >= min_side)]\n"
        "    layer = str(big.layer.iloc[-1])\n"
        "    return layer, xh.GradCAM(model, layer)(x, target, normalise=False)[0]\n",
        # normalised
        "def my_cam_at_resolution(model, x, target, min_side):\n"
        "    table = xh.list_conv_layers(model, tuple(x.shape[-2:]))\n"
        "    big = table[(table.height >= min_side) & (table.width >= min_side)]\n"
        "    layer = str(big.layer.iloc[-1])\n"
        "    return layer, xh.GradCAM(model, layer)(x, target, size=None)[0]\n",
    ],
}


#: Quick-quiz questions of this notebook (``xh.quiz(...)`` shows them).
QUESTIONS: dict[str, Question] = {
    "explorer_scale": Question(
        "The explorer draws every method's map min-max normalised on its own. What can you "
        "conclude from two panels that are both deep red somewhere?",
        ("Where each method puts its strongest evidence — not which method (or class) has more "
         "evidence: each panel is stretched to its own maximum",
         "That both methods found equally strong evidence",
         "That the class is predicted with high probability"),
        0, "Per-map normalisation answers *where*, never *how much*. To compare strength, use "
           "raw maps of the same method on one shared scale, as section 4 does for two classes.",
        "10_explorer",
        zh=("探索器把每种方法的图各自做最小-最大归一化后再画。两个面板上都有深红色区域，你能得出什么结论？",
            ("每种方法把最强的证据放在哪里——而不是哪种方法（或哪个类别）的证据更多：每个面板都拉伸到了自己的最大值",
             "两种方法找到了同样强的证据", "这个类别被预测的概率很高"),
            "各自归一化只回答*在哪里*，从不回答*有多少*。要比较强弱，就用同一方法的原始图和一个共享色标，"
            "就像第 4 节对两个类别做的那样。")),
    "layer_resolution": Question(
        "You move Grad-CAM from EfficientNet-Lite0's last layer (7×7) to a 28×28 layer. What do "
        "you expect?",
        ("The same map, only sharper",
         "Finer detail, but the map becomes less class-specific and noisier, since earlier "
         "features are more generic (edges, textures)",
         "An error: Grad-CAM only works at the last layer"),
        1, "Resolution and class specificity trade off. Grad-CAM's channel-averaged gradients "
           "are weakest at early layers; LayerCAM's element-wise weights hold up better there "
           "(notebook 02).",
        "10_explorer",
        zh=("你把 Grad-CAM 从 EfficientNet-Lite0 的最后一层（7×7）移到一个 28×28 的层。"
            "你预期会怎样？",
            ("同样的图，只是更清晰",
             "细节更多，但图对类别的针对性变弱、噪声变多，因为较早的特征更通用（边缘、纹理）",
             "报错：Grad-CAM 只能用在最后一层"),
            "分辨率和类别针对性此消彼长。Grad-CAM 按通道平均的梯度在较浅的层最弱；"
            "LayerCAM 的逐元素权重在那里表现更好（笔记本 02）。")),
}
