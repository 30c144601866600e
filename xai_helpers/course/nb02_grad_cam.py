"""Notebook 02 · Grad-CAM internals: the exercises' checkers and the quiz questions.

- :func:`check_gradcam_pp_weights` judges Grad-CAM++'s channel weights (the α of Eq. 19 of
  Chattopadhyay et al.) on gradients and activations of its own, where every usual slip (no
  ReLU, :math:`A_{ij}` for :math:`\\sum_{ab} A_{ab}`, a lost factor 2, 0/0 where the gradient
  is 0, a mean for the sum) gives a different number — and once on the notebook's model.
- :func:`check_score_cam_weights` judges Score-CAM's channel weights from given activations
  on a small network of its own; any bilinear upsampling (corners aligned or not) and either
  order of upsampling and min-max scaling pass.
- :func:`check_xgradcam_weights` (the earlier exercise, kept for teachers who hand it out).

The messages say what to look at, never the answer.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .feedback import ExerciseError, Question, as_tensor, check_shape, close, passed

__all__ = ["check_gradcam_pp_weights", "check_score_cam_weights", "check_xgradcam_weights",
           "QUESTIONS", "WRONG_SOLUTIONS"]


# -- Grad-CAM++ ------------------------------------------------------------------------------

def _plus_plus_case() -> tuple[torch.Tensor, torch.Tensor]:
    """Activations (2, 5, 4, 4) ≥ 0 and gradients with exact zeros and both signs, of sizes
    where a small ε in the denominator is negligible (|g| ≥ 0.1) and 2 + ΣA·g stays ≥ 0.5, so
    no correct answer divides by (nearly) zero."""
    generator = torch.Generator().manual_seed(2)
    A = torch.rand(2, 5, 4, 4, generator=generator) * 0.08          # ΣA per channel ≤ 1.28
    magnitude = 0.1 + torch.rand(2, 5, 4, 4, generator=generator)
    sign = torch.where(torch.rand(2, 5, 4, 4, generator=generator) < 0.35, -1.0, 1.0)
    grads = magnitude * sign
    grads[torch.rand(2, 5, 4, 4, generator=generator) < 0.2] = 0.0
    A[0, 1] = 0.0                                                    # a dead channel
    return A, grads


def _plus_plus(A, grads, *, relu=True, total=True, two=2.0, mean=False):
    """Grad-CAM++'s weights, or one of the usual slips (for the diagnosis)."""
    g2, g3 = grads ** 2, grads ** 3
    share = A.sum(dim=(2, 3), keepdim=True) if total else A
    denominator = torch.where(grads != 0, two * g2 + share * g3, torch.ones_like(g2))
    alpha = torch.where(grads != 0, g2 / denominator, torch.zeros_like(g2))
    slope = torch.relu(grads) if relu else grads
    out = alpha * slope
    return out.mean(dim=(2, 3)) if mean else out.sum(dim=(2, 3))


def check_gradcam_pp_weights(cam_class: type, model: nn.Module, x: torch.Tensor, target: int,
                             layer: str) -> None:
    """Notebook 02: a :class:`~xai_helpers.BaseCAM` subclass whose ``channel_weights`` are
    Grad-CAM++'s, :math:`w_k = \\sum_{ij} \\alpha_{k,ij}\\,\\mathrm{ReLU}(g_{k,ij})`.

    Example:
        >>> check_gradcam_pp_weights(MyGradCAMPlusPlus, model, x, 235,
        ...                          "_blocks.15")                 # doctest: +SKIP
        Correct.
    """
    A, grads = _plus_plus_case()
    method = cam_class(model, layer)
    mine = as_tensor(method.channel_weights(A.clone(), grads.clone(), x=x, classes=None,
                                            target=target), "channel_weights")
    check_shape(mine, (2, 5), "channel_weights (one weight per image and channel)")
    if torch.isnan(mine).any():
        raise ExerciseError("Your weights contain NaN: where the gradient is 0, α is 0/0. "
                            "Grad-CAM++ defines α = 0 there (or keep the denominator away "
                            "from 0 with a tiny ε).",
                            zh="你的权重里有 NaN：梯度为 0 的位置上 α 是 0/0。Grad-CAM++ 在那里"
                               "令 α = 0（或者给分母加一个很小的 ε，使它不为 0）。")
    if close(mine, _plus_plus(A, grads), atol=1e-4):
        out = method(x, target)                         # and on the real model, end to end
        if out.shape != (len(x), *x.shape[-2:]) or not torch.isfinite(out).all():
            raise ExerciseError("Your weights are right on small tensors but the map on the "
                                "model is not finite: keep the denominator away from 0.",
                                zh="你的权重在小张量上是对的，但在模型上得到的图含有非有限值："
                                   "要让分母远离 0。")
        return passed()
    diagnoses = [
        (grads.mean(dim=(2, 3)), "These are Grad-CAM's weights (the mean gradient); "
                                 "Grad-CAM++ weighs each position's positive gradient by α.",
         "这是 Grad-CAM 的权重（梯度的平均）；Grad-CAM++ 用 α 给每个位置的正梯度加权。"),
        (_plus_plus(A, grads, relu=False), "Negative gradients count in your sum: Grad-CAM++ "
                                           "keeps only the positive part of the gradient.",
         "你的求和里算进了负梯度：Grad-CAM++ 只保留梯度的正部分。"),
        (_plus_plus(A, grads, total=False), "In α's denominator, the activation term is the "
                                            "channel's total Σ_ab A_ab — one number per "
                                            "channel, the same at every position.",
         "α 的分母里，激活值一项是整个通道的总和 Σ_ab A_ab——每个通道一个数，"
         "在每个位置都相同。"),
        (_plus_plus(A, grads, two=1.0), "Check α's denominator: the second-derivative term "
                                        "appears twice.",
         "检查 α 的分母：二阶导数那一项出现两次。"),
        (_plus_plus(A, grads, mean=True), "The weight is a sum over positions, not a mean.",
         "权重是对各位置求和，不是求平均。"),
    ]
    for expected, message, chinese in diagnoses:
        if close(mine, expected, atol=1e-4):
            raise ExerciseError(message, zh=chinese)
    raise ExerciseError("Compare your weights with the formula on the page: α from the "
                        "gradient's square and cube and the channel's total activation, "
                        "times the positive gradient, summed over positions.",
                        zh="把你的权重和页面上的公式对照：α 由梯度的平方、立方和通道的激活值"
                           "总和算出，乘以正梯度，再对各位置求和。")


# -- Score-CAM -------------------------------------------------------------------------------

def _score_net() -> nn.Module:
    """A small seeded CNN on 3×16×16 inputs with 5 classes."""
    generator = torch.Generator().manual_seed(7)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 8, 3, padding=1),
                        nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, 5))
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator)
                            / parameter[0].numel() ** 0.5)
        net[-1].weight.mul_(4.0)               # logits that differ by a few units
    return net.eval()


def _score_case() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(8)
    x = torch.rand(1, 3, 16, 16, generator=generator) * 2 - 1
    A = torch.rand(6, 4, 4, generator=generator) * 3
    A[2] = A[2] + 5.0                          # a channel far from 0: scaling must shift it
    A[4, :2] = 0.0
    return x, A


def _scale(maps: torch.Tensor, joint: bool = False) -> torch.Tensor:
    flat = maps.flatten() if joint else maps.flatten(1)
    low = flat.min() if joint else flat.min(1).values[:, None, None]
    high = flat.max() if joint else flat.max(1).values[:, None, None]
    return (maps - low) / (high - low + 1e-8)


def _score_weights(net, x, A, c, *, align=False, scale_first=False, scale="each",
                   mode="bilinear", weigh="channels"):
    """Score-CAM's weights, or one of the usual slips (for the diagnosis)."""
    size = x.shape[-2:]

    def up(maps):
        kwargs = {"align_corners": align} if mode == "bilinear" else {}
        return F.interpolate(maps[None], size=size, mode=mode, **kwargs)[0]

    if scale == "none":
        masks = up(A)
    elif scale_first:
        masks = up(_scale(A))
    else:
        masks = _scale(up(A), joint=scale == "joint")
    with torch.no_grad():
        logits = net(x * masks[:, None])
    if weigh == "classes":
        return logits.softmax(dim=1)[:, c]
    if weigh == "raw":
        return logits[:, c]
    return logits[:, c].softmax(dim=0)


def check_score_cam_weights(score_cam_weights: Callable) -> None:
    """Notebook 02: ``score_cam_weights(model, x, A, c)`` → Score-CAM's (K,) channel weights,
    :math:`\\mathrm{softmax}_k\\, y^c(x \\odot M_k)` with :math:`M_k` channel k upsampled to
    the input and min-max scaled to [0, 1].

    Example:
        >>> check_score_cam_weights(score_cam_weights)          # doctest: +SKIP
        Correct.
    """
    net, (x, A) = _score_net(), _score_case()
    with torch.no_grad():
        c = int(net(x).argmax())                   # the class the network predicts
    before = {k: v.clone() for k, v in net.state_dict().items()}
    mine = as_tensor(score_cam_weights(net, x.clone(), A.clone(), c), "score_cam_weights")
    if any(not torch.equal(v, net.state_dict()[k]) for k, v in before.items()):
        raise ExerciseError("Your function changed the model's parameters: scoring must only "
                            "run it.",
                            zh="你的函数改动了模型的参数：打分只应运行模型。")
    check_shape(mine, (A.shape[0],), "weights (one per channel)")
    accepted = [_score_weights(net, x, A, c, align=align, scale_first=first)
                for align in (False, True) for first in (False, True)]
    if any(close(mine, expected, atol=1e-5) for expected in accepted):
        return passed()
    diagnoses = [
        (_score_weights(net, x, A, c, weigh="classes"),
         "These are softmax probabilities over the classes (the official Score-CAM code's "
         "weight); the exercise asks for the libraries' version: a softmax over the channels "
         "of the class logit.",
         "这是对各类别做 softmax 得到的概率（Score-CAM 官方代码的权重）；本题要的是库的版本："
         "对类别 logit 在各通道之间做 softmax。"),
        (_score_weights(net, x, A, c, weigh="raw"),
         "These are the raw logits of the masked inputs: the libraries turn them into weights "
         "with a softmax over the channels.",
         "这是掩码后输入的原始 logit：库会在各通道之间做 softmax，把它们变成权重。"),
        (_score_weights(net, x, A, c, scale="none"),
         "Your masks are the upsampled activations themselves: scale each one to [0, 1] "
         "first, so that a mask keeps or removes pixels and no more.",
         "你的掩码就是上采样后的激活值本身：先把每个掩码缩放到 [0, 1]，"
         "让掩码只保留或去掉像素，不做别的。"),
        (_score_weights(net, x, A, c, scale="joint"),
         "Scale each channel's map to [0, 1] on its own (its own minimum and maximum), not "
         "all channels together.",
         "每个通道的图要各自缩放到 [0, 1]（用它自己的最小值和最大值），不要所有通道一起缩放。"),
        (_score_weights(net, x, A, c, mode="nearest"),
         "Upsample the maps bilinearly (smooth masks), not by repeating pixels.",
         "用双线性插值上采样（得到平滑的掩码），不要重复像素。"),
    ]
    for expected, message, chinese in diagnoses:
        if close(mine, expected, atol=1e-5):
            raise ExerciseError(message, zh=chinese)
    if abs(float(mine.sum()) - 1.0) > 1e-4:
        raise ExerciseError("The weights should sum to 1 over the channels (a softmax).",
                            zh="权重在各通道上之和应为 1（softmax）。")
    raise ExerciseError("Follow the steps on the page: upsample each channel to the input size, "
                        "min-max scale it, multiply the input by it, score the class, softmax "
                        "over the channels.",
                        zh="按页面上的步骤做：把每个通道上采样到输入大小，做最小-最大缩放，"
                           "用它乘输入，给类别打分，再在各通道之间做 softmax。")


# -- XGrad-CAM (the earlier exercise) ----------------------------------------------------------

def check_xgradcam_weights(cam_class: type, model: nn.Module, x: torch.Tensor, target: int,
                           layer: str) -> None:
    """A BaseCAM subclass implementing XGrad-CAM's channel weights."""
    from ..cam.gradient import GradCAM, GradCAMPlusPlus, XGradCAM

    mine = as_tensor(cam_class(model, layer)(x, target), "XGrad-CAM map")
    expected = XGradCAM(model, layer)(x, target)
    check_shape(mine, expected.shape, "map")
    if close(mine, expected):
        return passed()
    if close(mine, GradCAM(model, layer)(x, target)):
        raise ExerciseError("These are Grad-CAM's weights (the mean gradient). XGrad-CAM weighs "
                            "each gradient by the activation's share A / ΣA of its channel.",
                            zh="这是 Grad-CAM 的权重（梯度的平均）。XGrad-CAM 用激活值在其通道中"
                               "所占的份额 A / ΣA 给每个梯度加权。")
    if close(mine, GradCAMPlusPlus(model, layer)(x, target)):
        raise ExerciseError("These are Grad-CAM++'s weights; XGrad-CAM's are simpler.",
                            zh="这是 Grad-CAM++ 的权重；XGrad-CAM 的更简单。")
    raise ExerciseError("Compare your weights with the formula: a sum over positions of "
                        "gradient × A / ΣA, one number per channel (shape (N, K)).",
                        zh="把你的权重和公式对照：对各位置求 梯度 × A / ΣA 之和，"
                           "每个通道一个数（形状 (N, K)）。")


#: Quick-quiz questions of this notebook (``xh.quiz(...)`` shows them).
QUESTIONS: dict[str, Question] = {
    "layergradcam_relu": Question(
        "captum's LayerGradCam(model, layer).attribute(x, target=c) returns a map with negative "
        "values. Is it broken?",
        ("Yes: Grad-CAM maps are never negative",
         "No: the negative values come from the upsampling",
         "No: captum applies no ReLU unless you pass relu_attributions=True"),
        2, "Grad-CAM's paper applies a ReLU to keep positive evidence; captum's LayerGradCam "
           "leaves it off by default (relu_attributions=False). Pass True to match the paper.",
        "02_grad_cam_internals",
        zh=("captum 的 LayerGradCam(model, layer).attribute(x, target=c) 返回的图里有负值。"
            "它坏了吗？",
            ("坏了：Grad-CAM 的图不可能有负值",
             "没坏：负值来自上采样",
             "没坏：除非传入 relu_attributions=True，captum 不做 ReLU"),
            "Grad-CAM 论文用 ReLU 只保留正向证据；captum 的 LayerGradCam 默认不做"
            "（relu_attributions=False）。要与论文一致，请传入 True。")),
    "no_grad": Question(
        "You compute Grad-CAM inside `with torch.no_grad():` and get an error (or an all-zero "
        "map). Why?",
        ("no_grad stops autograd from recording the forward pass, so there is no gradient to "
         "take", "The model must be in train mode for gradients", "Grad-CAM needs a GPU"),
        0, "Gradient methods need the graph of the forward pass. Run them outside no_grad / "
           "inference_mode (eval mode is fine: it only changes dropout and BatchNorm).",
        "02_grad_cam_internals",
        zh=("你在 `with torch.no_grad():` 里计算 Grad-CAM，结果报错（或得到全零的图）。为什么？",
            ("no_grad 让自动微分不记录前向传播，于是没有梯度可求",
             "求梯度时模型必须处于训练模式", "Grad-CAM 需要 GPU"),
            "梯度类方法需要前向传播的计算图。请在 no_grad / inference_mode 之外运行"
            "（评估模式没问题：它只改变暂退法和批量规范化的行为）。")),
    "eigen_cam_sign": Question(
        "pytorch-grad-cam's Eigen-CAM gives an all-blue (zero) map for one image and a good "
        "one for the next. What happened?",
        ("The image has no object the model knows",
         "The first principal component's sign is arbitrary; the SVD returned −v, the "
         "projection came out negative and the ReLU zeroed it",
         "Eigen-CAM needs the gradient and none was computed"),
        1, "v and −v are equally valid first singular vectors. pytorch-grad-cam keeps LAPACK's "
           "choice and then applies a ReLU, so a flipped sign wipes out the map (or shows the "
           "other half of the picture); xh picks the sign that agrees with the summed "
           "activations (section 7).",
        "02_grad_cam_internals",
        zh=("pytorch-grad-cam 的 Eigen-CAM 对一张图给出全蓝（全零）的图，对下一张却很好。"
            "发生了什么？",
            ("这张图里没有模型认识的物体",
             "第一主成分的符号是任意的；SVD 返回了 −v，投影变成负的，被 ReLU 置零",
             "Eigen-CAM 需要梯度，而这里没有计算梯度"),
            "v 和 −v 都是合法的第一奇异向量。pytorch-grad-cam 沿用 LAPACK 给出的符号再做 ReLU，"
            "符号一翻，图就被抹掉（或显示画面的另一半）；"
            "xh 选择与激活值之和一致的符号（第 7 节）。")),
    "integrated_grad_cam": Question(
        "When does Integrated Grad-CAM give a map clearly different from Grad-CAM's?",
        ("Never: it is Grad-CAM averaged over identical copies",
         "Only at the last layer, where the gradient is the classifier's weight",
         "When units between the layer and the score saturate (ReLU6 at its ceiling, a "
         "confident softmax): their gradient at the image is 0, but not along the path from "
         "the baseline"),
        2, "At the last layer of this network the gradient is the same at every point of the "
           "path, so only the activations change; deeper in, saturated units hide evidence from "
           "the gradient at the image itself, and the points nearer the baseline recover it.",
        "02_grad_cam_internals",
        zh=("积分 Grad-CAM 什么时候给出与 Grad-CAM 明显不同的图？",
            ("从不：它只是 Grad-CAM 在相同副本上的平均",
             "只在最后一层，那里的梯度就是分类器的权重",
             "当该层与类别分数之间的单元饱和时（ReLU6 到了上限、softmax 很自信）：它们在图像处的"
             "梯度为 0，但在从基线出发的路径上不为 0"),
            "在这个网络的最后一层，路径上每一点的梯度都相同，变的只有激活值；更深处，饱和的单元"
            "让图像本身处的梯度看不到证据，而离基线更近的点能把它找回来。")),
    "scorecam_softmax": Question(
        "pytorch-grad-cam's and torchcam's Score-CAM weigh channel k by softmax over the "
        "channels of the masked input's logit. What does that change compared with the official "
        "code (the softmax probability of the class for each masked input)?",
        ("Nothing: the two are the same numbers",
         "The weights sum to 1 over the channels and grow exponentially with the logit, so a "
         "few channels can carry almost all the weight",
         "The library version needs gradients"),
        1, "A softmax over the channels makes the weights compete: a channel whose masked input "
           "scores a few logits higher than the rest takes most of the weight. The probability "
           "version weighs every channel by a number in [0, 1] that does not depend on the "
           "other channels. Both are called Score-CAM.",
        "02_grad_cam_internals",
        zh=("pytorch-grad-cam 和 torchcam 的分数加权类激活映射用「掩码后输入的 logit "
            "在各通道之间的 softmax」给通道 k 加权。"
            "与官方代码（每个掩码后输入的类别 softmax 概率）相比，这改变了什么？",
            ("没有改变：两者是同样的数",
             "权重在各通道上之和为 1，并随 logit 指数增长，于是少数几个通道可能拿走几乎全部权重",
             "库的版本需要梯度"),
            "在通道之间做 softmax 让权重相互竞争：掩码后输入的分数比其余通道高出几个 logit 的通道"
            "会拿走大部分权重。概率版本给每个通道一个 [0, 1] 内、与其他通道无关的数。"
            "两者都叫 Score-CAM。")),
}

#: Realistic wrong solutions per graded solution cell (the nbgrader round trip grades them;
#: tests/course/test_nb02_grad_cam.py checks that each is rejected with its own message).
WRONG_SOLUTIONS: dict[str, list[str]] = {
    "02_grad_cam_internals-solution": [
        # Grad-CAM's weights handed in
        "class MyGradCAMPlusPlus(xh.BaseCAM):\n"
        "    def channel_weights(self, A, grads, **context):\n"
        "        return grads.mean(dim=(2, 3))\n",
        # no ReLU on the gradient
        "class MyGradCAMPlusPlus(xh.BaseCAM):\n"
        "    def channel_weights(self, A, grads, **context):\n"
        "        g2, g3 = grads ** 2, grads ** 3\n"
        "        alpha = g2 / (2 * g2 + A.sum(dim=(2, 3), keepdim=True) * g3 + 1e-7)\n"
        "        return (alpha * grads).sum(dim=(2, 3))\n",
        # A_ij in place of the channel's total
        "class MyGradCAMPlusPlus(xh.BaseCAM):\n"
        "    def channel_weights(self, A, grads, **context):\n"
        "        g2, g3 = grads ** 2, grads ** 3\n"
        "        alpha = g2 / (2 * g2 + A * g3 + 1e-7)\n"
        "        return (alpha * torch.relu(grads)).sum(dim=(2, 3))\n",
        # 0/0 where the gradient is 0
        "class MyGradCAMPlusPlus(xh.BaseCAM):\n"
        "    def channel_weights(self, A, grads, **context):\n"
        "        g2, g3 = grads ** 2, grads ** 3\n"
        "        alpha = g2 / (2 * g2 + A.sum(dim=(2, 3), keepdim=True) * g3)\n"
        "        return (alpha * torch.relu(grads)).sum(dim=(2, 3))\n",
        # a mean over positions
        "class MyGradCAMPlusPlus(xh.BaseCAM):\n"
        "    def channel_weights(self, A, grads, **context):\n"
        "        g2, g3 = grads ** 2, grads ** 3\n"
        "        alpha = g2 / (2 * g2 + A.sum(dim=(2, 3), keepdim=True) * g3 + 1e-7)\n"
        "        return (alpha * torch.relu(grads)).mean(dim=(2, 3))\n",
    ],
    "02_grad_cam_internals-score-cam-solution": [
        # the official code's weight: the class probability of each masked input
        "def score_cam_weights(model, x, A, c):\n"
        "    masks = F.interpolate(A[None], size=x.shape[-2:], mode='bilinear')[0]\n"
        "    low = masks.amin(dim=(1, 2), keepdim=True)\n"
        "    high = masks.amax(dim=(1, 2), keepdim=True)\n"
        "    masks = (masks - low) / (high - low + 1e-8)\n"
        "    with torch.no_grad():\n"
        "        return model(x * masks[:, None]).softmax(dim=1)[:, c]\n",
        # masks not scaled to [0, 1]
        "def score_cam_weights(model, x, A, c):\n"
        "    masks = F.interpolate(A[None], size=x.shape[-2:], mode='bilinear')[0]\n"
        "    with torch.no_grad():\n"
        "        return model(x * masks[:, None])[:, c].softmax(dim=0)\n",
        # one minimum and maximum for all channels
        "def score_cam_weights(model, x, A, c):\n"
        "    masks = F.interpolate(A[None], size=x.shape[-2:], mode='bilinear')[0]\n"
        "    masks = (masks - masks.min()) / (masks.max() - masks.min())\n"
        "    with torch.no_grad():\n"
        "        return model(x * masks[:, None])[:, c].softmax(dim=0)\n",
        # no softmax
        "def score_cam_weights(model, x, A, c):\n"
        "    masks = F.interpolate(A[None], size=x.shape[-2:], mode='bilinear')[0]\n"
        "    low = masks.amin(dim=(1, 2), keepdim=True)\n"
        "    high = masks.amax(dim=(1, 2), keepdim=True)\n"
        "    masks = (masks - low) / (high - low + 1e-8)\n"
        "    with torch.no_grad():\n"
        "        return model(x * masks[:, None])[:, c]\n",
    ],
}
