"""Notebook 00 · Setup and tour: the coding exercises' checkers and the quiz questions."""
from __future__ import annotations

from typing import Callable

import torch

from .feedback import ExerciseError, Question, as_tensor, check_shape, close, passed

__all__ = ["check_preprocess", "check_my_preprocess", "QUESTIONS", "WRONG_SOLUTIONS"]


def check_preprocess(my_preprocess: Callable) -> None:
    """PIL image -> EfficientNet-Lite0 input (3, 224, 224), ``my_preprocess(image)``.

    (The notebook's graded exercise is now :func:`check_my_preprocess`, for any model's
    statistics; this checker stays for courses that used the old one.)
    """
    from ..core.images import load_image, test_image_path
    from ..core.preprocessing import EFFICIENTNET_LITE_PREPROCESSING as prep

    image = load_image(test_image_path("chelsea"))
    mine = as_tensor(my_preprocess(image), "preprocessing")
    check_shape(mine, (3, 224, 224), "preprocessed image")
    expected = prep(image)
    if close(mine, expected):
        return passed("Well done: your preprocessing matches.",
                      zh="做得好：你的预处理与标准结果一致。")
    unnormalised = expected * 0.5 + 0.5
    if close(mine, unnormalised) or float(mine.min()) >= 0.0:
        raise ExerciseError("Your values lie in [0, 1]; the model expects (x - mean) / std with "
                            "mean = std = 0.5, i.e. values in [-1, 1].",
                            zh="你的数值在 [0, 1] 之间；模型要的是 (x - mean) / std，其中 "
                               "mean = std = 0.5，即数值在 [-1, 1] 之间。")
    if close(mine, unnormalised * 255 * 2 - 1, atol=1) or float(mine.max()) > 2:
        raise ExerciseError("Your values are far beyond [-1, 1]: scale the pixels to [0, 1] "
                            "(divide by 255) before normalising.",
                            zh="你的数值远超出 [-1, 1]：标准化之前先把像素缩放到 [0, 1]"
                               "（除以 255）。")
    raise ExerciseError("Right shape and range, different pixels: check the resize (shorter "
                        "side to 256) and the centre crop (224).",
                        zh="形状和取值范围都对，像素却不同：检查缩放（短边缩放到 256）"
                           "和中心裁剪（224）。")


# -- the graded exercise: preprocessing for any model's statistics ------------------------------

#: How far a correct answer may be from the workbook's, as the mean absolute difference in
#: pixel units ([0, 1]) after undoing the normalisation. Correct recipes done another way
#: (PIL's resize with rounded sizes, a tensor resize with or without antialiasing, bicubic or
#: nearest interpolation) stay below 0.021 on the test photos chelsea, coffee and dog, both
#: orientations; the smallest geometric mistake tried (resizing to 250 instead of 256) is at
#: 0.040 or more, swapped channel statistics at 0.052 or more (measured by the session that
#: wrote this; tests/course/test_nb00_setup.py runs the correct recipes through the checker).
PIXEL_TOLERANCE = 0.025

LITE_STATS = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


def check_my_preprocess(my_preprocess: Callable) -> None:
    """Notebook 00: ``my_preprocess(image, mean, std)`` -> a model's (3, 224, 224) input.

    Checked on a landscape photo with EfficientNet-Lite's statistics (mean = std = 0.5), the
    same photo with the ImageNet statistics of torchvision's models, and the photo turned to
    portrait. Any correct resize (PIL or tensor, antialiased or not) passes; the message names
    the step that differs.

    Example:
        >>> check_my_preprocess(my_preprocess)        # doctest: +SKIP
        Correct: your preprocessing matches for both models' statistics and both orientations.
    """
    from PIL import Image

    from ..core.images import load_image, test_image_path
    from ..core.preprocessing import IMAGENET_PREPROCESSING as imagenet

    photo = load_image(test_image_path("chelsea"))           # 451 x 300: landscape
    cases = (("landscape", photo, LITE_STATS),
             ("landscape", photo, (imagenet.mean, imagenet.std)),
             ("portrait", photo.transpose(Image.Transpose.ROTATE_90),
              (imagenet.mean, imagenet.std)))
    for orientation, image, (mean, std) in cases:
        _check_one_preprocess(my_preprocess, image, mean, std, orientation)
    passed("Correct: your preprocessing matches for both models' statistics and both "
           "orientations.", zh="正确：两种模型的统计量、横竖两种方向，你的预处理都一致。")


def _views(image) -> dict[str, torch.Tensor]:
    """The right picture the model sees and the usual wrong ones, as (3, 224, 224) in [0, 1]."""
    from PIL import Image
    from torchvision.transforms.v2 import functional as TF

    def pixels(picture) -> torch.Tensor:
        return TF.pil_to_tensor(picture).float() / 255

    w, h = image.size
    return {
        "right": pixels(TF.center_crop(TF.resize(image, 256, antialias=True), 224)),
        "longer": pixels(TF.center_crop(image.resize(
            (round(w * 256 / max(w, h)), round(h * 256 / max(w, h))), Image.BILINEAR), 224)),
        "squash": pixels(image.resize((224, 224), Image.BILINEAR)),
        "resize224": pixels(TF.center_crop(TF.resize(image, 224, antialias=True), 224)),
        "no resize": pixels(TF.center_crop(image, 224)),
    }


def _check_one_preprocess(my_preprocess, image, mean, std, orientation) -> None:
    answer = my_preprocess(image, mean, std)
    mine = as_tensor(answer, "preprocessing").float()
    if mine.ndim == 4 and mine.shape[0] == 1:
        raise ExerciseError("Your function returns a batch (1, 3, 224, 224): return one image, "
                            "(3, 224, 224).",
                            zh="你的函数返回了一个批量 (1, 3, 224, 224)："
                               "请返回单张图像 (3, 224, 224)。")
    if tuple(mine.shape) == (224, 224, 3):
        raise ExerciseError("Your tensor is (224, 224, 3), channels last as in PIL and NumPy: "
                            "PyTorch models want channels first, (3, 224, 224).",
                            zh="你的张量是 (224, 224, 3)，像 PIL 和 NumPy 那样通道在最后："
                               "PyTorch 模型要求通道在前，(3, 224, 224)。")
    check_shape(mine, (3, 224, 224), "preprocessed image")
    m = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
    views = _views(image)
    p = views["right"]

    def matches(candidate: torch.Tensor, units: torch.Tensor = s) -> bool:
        return float(((mine - candidate).abs() * units).mean()) <= PIXEL_TOLERANCE

    if matches((p - m) / s):
        return
    lite = mean == LITE_STATS[0]
    stats = "EfficientNet-Lite's mean = std = 0.5" if lite else "the ImageNet statistics"
    stats_zh = "EfficientNet-Lite 的 mean = std = 0.5" if lite else "ImageNet 统计量"
    if float(mine.abs().max()) > 20:
        top = float(mine.abs().max())
        raise ExerciseError(f"With {stats} your values reach {top:.0f}: "
                            "the pixels are still 0..255. Scale them to [0, 1] first.",
                            zh=f"用{stats_zh}时，你的数值达到 {top:.0f}：像素仍是 0..255。"
                               "先把它们缩放到 [0, 1]。")
    if matches(p, torch.ones(1)):
        raise ExerciseError(f"With {stats} your values are the pixels in [0, 1]: the model "
                            "expects them normalised with the mean and std you are given.",
                            zh=f"用{stats_zh}时，你的数值就是 [0, 1] 间的像素：模型要的是用传入的 "
                               "mean 和 std 标准化之后的值。")
    if matches(p / s - m):
        raise ExerciseError("You divide by the std before subtracting the mean: the "
                            "normalisation is (x - mean) / std.",
                            zh="你先除以 std 再减 mean：标准化是 (x - mean) / std。")
    if matches(p * s + m):
        raise ExerciseError("That is the inverse of the normalisation (x * std + mean), the "
                            "one used to show an input again.",
                            zh="这是标准化的逆运算 (x * std + mean)，"
                               "是把输入重新显示成图片时用的。")
    if matches((p - 0.5) / 0.5, torch.tensor(0.5)) and mean != LITE_STATS[0]:
        raise ExerciseError("Right for EfficientNet-Lite's mean = std = 0.5, wrong for the "
                            "statistics passed in (here the ImageNet ones): use the `mean` and "
                            "`std` arguments.",
                            zh="对 EfficientNet-Lite 的 mean = std = 0.5 是对的，对传入的统计量"
                               "（这里是 ImageNet 的）却不对：请使用参数 `mean` 和 `std`。")
    if matches((p - m.flip(0)) / s.flip(0)):
        raise ExerciseError("The channel statistics are in the wrong order: mean[0] and std[0] "
                            "belong to the red channel, the first one of an RGB tensor.",
                            zh="各通道统计量的顺序反了：mean[0] 和 std[0] 属于红色通道，"
                               "即 RGB 张量的第一个通道。")
    if matches((p.flip(0) - m) / s):
        raise ExerciseError("Your colour channels are in BGR order: PIL gives RGB, keep it.",
                            zh="你的颜色通道是 BGR 顺序：PIL 给出的是 RGB，保持不变即可。")
    if (matches((p - m[0]) / s[0], s[0]) or matches((p - m.mean()) / s.mean(), s.mean())) \
            and mean != LITE_STATS[0]:
        raise ExerciseError("You normalise every channel with the same number: each channel "
                            "has its own mean and std (shape them (3, 1, 1) to broadcast "
                            "over H and W).",
                            zh="你用同一个数标准化了所有通道：每个通道有自己的 mean 和 std"
                               "（把它们变形为 (3, 1, 1)，就能在 H 和 W 上广播）。")
    if matches((views["longer"] - m) / s):
        # The cases run landscape first: failing there means the width (the longer side) was
        # resized to 256; failing only on the portrait photo means the height was.
        if orientation == "portrait":
            raise ExerciseError("Right for a landscape photo, wrong for a portrait one: you "
                                "resized the height, here the longer side. Resize the "
                                "*shorter* side to 256, whichever it is, keeping the aspect "
                                "ratio.",
                                zh="横向照片对了，竖向照片不对：你缩放的是高度，而它在这里是长边。"
                                   "无论哪条边更短，都把*短边*缩放到 256，并保持宽高比。")
        raise ExerciseError("On a landscape photo you resized the width, the longer side, to "
                            "256, so the crop runs off the picture's top and bottom. Resize the "
                            "*shorter* side to 256, whichever it is, keeping the aspect ratio.",
                            zh="在横向照片上你把宽度（长边）缩放到了 256，裁剪因此超出了图片的"
                               "上下边缘。无论哪条边更短，都把*短边*缩放到 256，并保持宽高比。")
    if any(matches((views[k] - m) / s) for k in ("squash", "resize224", "no resize")):
        raise ExerciseError("Right values, wrong picture: check the geometry — the shorter side "
                            "resized to 256 (aspect ratio kept), then the central 224×224 crop.",
                            zh="数值的处理对了，画面却不对：检查几何步骤——短边缩放到 256"
                               "（保持宽高比），再中心裁剪 224×224。")
    where_zh = "横向" if orientation == "landscape" else "竖向"
    raise ExerciseError(f"Right shape, different values (on a {orientation} photo with "
                        f"{stats}): compare each step with the recipe in section 3.",
                        zh=f"形状对了，数值不同（{where_zh}照片，{stats_zh}）："
                           "把每一步与第 3 节的步骤逐一对照。")


#: Realistic wrong solutions of the graded cell (its ``grade_id`` → full cell sources): the
#: checker must reject each one (tests/course/test_nb00_setup.py and the nbgrader round trip).
WRONG_SOLUTIONS: dict[str, list[str]] = {
    "00_setup_and_tour-preprocess-solution": [
        # the old exercise's answer: EfficientNet-Lite's 0.5 written in, arguments ignored
        "from torchvision.transforms.v2 import functional as TF\n\n\n"
        "def my_preprocess(image, mean, std):\n"
        "    image = TF.center_crop(TF.resize(image, 256, antialias=True), 224)\n"
        "    pixels = TF.pil_to_tensor(image).float() / 255\n"
        "    return (pixels - 0.5) / 0.5\n",
        # one number for every channel
        "from torchvision.transforms.v2 import functional as TF\n\n\n"
        "def my_preprocess(image, mean, std):\n"
        "    image = TF.center_crop(TF.resize(image, 256, antialias=True), 224)\n"
        "    pixels = TF.pil_to_tensor(image).float() / 255\n"
        "    return (pixels - mean[0]) / std[0]\n",
        # the whole photo squashed to 224 x 224
        "import numpy as np\n"
        "import torch\n\n\n"
        "def my_preprocess(image, mean, std):\n"
        "    pixels = np.asarray(image.resize((224, 224))) / 255\n"
        "    pixels = (pixels - np.array(mean)) / np.array(std)\n"
        "    return torch.tensor(pixels, dtype=torch.float32).permute(2, 0, 1)\n",
        # the height resized to 256: right for landscape photos only
        "from torchvision.transforms.v2 import functional as TF\n\n\n"
        "def my_preprocess(image, mean, std):\n"
        "    width, height = image.size\n"
        "    image = image.resize((round(width * 256 / height), 256))\n"
        "    pixels = TF.pil_to_tensor(TF.center_crop(image, 224)).float() / 255\n"
        "    return TF.normalize(pixels, mean=list(mean), std=list(std))\n",
        # channels last
        "import numpy as np\n"
        "import torch\n"
        "from torchvision.transforms.v2 import functional as TF\n\n\n"
        "def my_preprocess(image, mean, std):\n"
        "    image = TF.center_crop(TF.resize(image, 256, antialias=True), 224)\n"
        "    pixels = np.asarray(image) / 255\n"
        "    return torch.tensor((pixels - np.array(mean)) / np.array(std), dtype=torch.float32)\n",
        # the width resized to 256: right for portrait photos only
        "from torchvision.transforms.v2 import functional as TF\n\n\n"
        "def my_preprocess(image, mean, std):\n"
        "    width, height = image.size\n"
        "    image = image.resize((256, round(height * 256 / width)))\n"
        "    pixels = TF.pil_to_tensor(TF.center_crop(image, 224)).float() / 255\n"
        "    return TF.normalize(pixels, mean=list(mean), std=list(std))\n",
    ],
}


#: Quick-quiz questions of this notebook (``xh.quiz(...)`` shows them).
QUESTIONS: dict[str, Question] = {
    "shared_scale_raw": Question(
        "You want a figure showing that the map for class A is stronger than the map for "
        "class B. Which figure can show it?",
        ("The raw maps (e.g. normalise=False) drawn with one colour scale computed from them",
         "The maps min-max normalised one by one, drawn under one shared colour bar",
         "The maps min-max normalised one by one, each with its own colour bar",
         "Any of these, as long as both use the same colour map"),
        0, "Normalising one by one sends every map's maximum to 1, so a weak map looks as strong "
           "as a strong one whatever colour bar is drawn next to it. Only a scale computed from "
           "the raw maps keeps their magnitudes comparable.",
        "00_setup_and_tour",
        zh=("你想用一张图说明类别 A 的图比类别 B 的更强。哪种画法能说明这一点？",
            ("原始的图（例如 normalise=False），用由它们算出的同一个色标来画",
             "每张图各自做最小-最大归一化，再放在同一个统一颜色条下",
             "每张图各自做最小-最大归一化，每张配自己的颜色条",
             "只要两张图用同一个颜色映射，哪种都行"),
            "各自归一化会把每张图的最大值都变成 1，无论旁边画什么颜色条，弱的图都显得和强的一样强。"
            "只有由原始图算出的色标才能保留它们强弱的可比性。")),
    "lite_preprocessing": Question(
        "EfficientNet-Lite0 receives an input normalised with the ImageNet statistics "
        "(mean 0.485…, std 0.229…) instead of its own (mean = std = 0.5). What happens?",
        ("PyTorch raises an error about the input range",
         "Nothing: the first BatchNorm layer re-normalises the input anyway",
         "It runs and gives quietly different predictions, usually worse"),
        2, "Nothing checks value ranges, and in eval mode BatchNorm uses the statistics stored "
           "during training, not the input's. The inputs are about twice as large as the model "
           "was trained on; in the notebook p(espresso) drops on the coffee photo.",
        "00_setup_and_tour",
        zh=("EfficientNet-Lite0 收到的输入是用 ImageNet 统计量（mean 0.485…，std 0.229…）"
            "标准化的，而不是它自己的（mean = std = 0.5）。会发生什么？",
            ("PyTorch 报错，说输入范围不对",
             "什么也不会发生：第一个批量规范化层反正会重新标准化输入",
             "照常运行，却悄悄给出不同的预测，通常更差"),
            "没有任何东西检查数值范围；评估模式下批量规范化用的是训练时存下的统计量，而不是"
            "这次输入的。输入大约是模型训练时的两倍大；笔记本中咖啡照片的 p(espresso) 随之下降。")),
    "signed_colours": Question(
        "A map has positive values (evidence for a class) and negative ones (evidence against). "
        "How should it be drawn?",
        ("With jet, from the map's minimum to its maximum",
         "With a diverging colour map centred on zero (white = 0), with a colour bar",
         "Apply a ReLU first, then jet from 0 to the maximum"),
        1, "From min to max, zero lands on an arbitrary colour that changes from map to map; a "
           "ReLU throws the negative evidence away. A diverging map centred on zero shows the "
           "sign at a glance and the colour bar gives the magnitude.",
        "00_setup_and_tour",
        zh=("一张图既有正值（支持某类别的证据），也有负值（反对的证据）。该怎么画？",
            ("用 jet，从图的最小值画到最大值",
             "用以 0 为中心（0 为白色）的发散颜色映射，并配颜色条",
             "先做 ReLU，再用 jet 从 0 画到最大值"),
            "从最小值画到最大值时，0 落在一个随意的、每张图都不同的颜色上；ReLU 会丢掉负向证据。"
            "以 0 为中心的发散颜色映射一眼就能看出正负，颜色条给出大小。")),
}
