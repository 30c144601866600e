"""Notebook 08 · Video and webcam CAM: the exercise's checker and the quiz questions.

- :func:`check_smoothing`: temporal smoothing of maps by an exponential moving average (EMA),
  :math:`S_0 = M_0`, :math:`S_t = w\\,M_t + (1-w)\\,S_{t-1}`, checked on synthetic frames: a
  hot spot that jumps between two cells (flicker) plus noise. The lesson gives the formula and
  uses the package's :class:`~xai_helpers.video.explain.CamSmoother`; the loop is the learner's.
"""
from __future__ import annotations

from typing import Callable

import torch

from .feedback import ExerciseError, Question, as_tensor, check_shape, close, passed

__all__ = ["check_smoothing", "flickering_maps", "QUESTIONS", "WRONG_SOLUTIONS"]


def flickering_maps(frames: int = 12, size: int = 7, seed: int = 1) -> torch.Tensor:
    """Synthetic CAMs of consecutive frames (T, size, size) in [0, 1]: the hot spot jumps
    between two neighbouring cells from frame to frame, on top of noise — the flicker of
    notebook 08, with a known answer.

    Example:
        >>> maps = flickering_maps()
        >>> tuple(maps.shape), bool(maps[0, 3, 2] > maps[0, 3, 4])
        ((12, 7, 7), True)
    """
    generator = torch.Generator().manual_seed(seed)
    maps = 0.2 * torch.rand(frames, size, size, generator=generator)
    middle = size // 2
    for t in range(frames):
        maps[t, middle, middle - 1 if t % 2 == 0 else middle + 1] = 1.0
    return maps


def _ema(maps: torch.Tensor, weight: float) -> torch.Tensor:
    out = torch.empty_like(maps)
    out[0] = maps[0]
    for t in range(1, len(maps)):
        out[t] = weight * maps[t] + (1.0 - weight) * out[t - 1]
    return out


def _per_map_min_max(maps: torch.Tensor) -> torch.Tensor:
    flat = maps.flatten(1)
    low, high = flat.min(1).values[:, None, None], flat.max(1).values[:, None, None]
    return (maps - low) / (high - low).clamp_min(1e-12)


def check_smoothing(my_smooth: Callable) -> None:
    """Notebook 08: ``my_smooth(maps, weight)`` for maps (T, h, w) of consecutive frames returns
    the exponential moving average with new-frame weight ``weight`` (``S_0 = M_0``).

    Compared with :class:`~xai_helpers.video.explain.CamSmoother` for two weights, on
    :func:`flickering_maps`.

    Example:
        >>> check_smoothing(my_smooth)            # doctest: +SKIP
        Correct.
    """
    from ..video.explain import CamSmoother

    maps = flickering_maps()
    for weight in (0.3, 0.8):
        given = maps.clone()
        mine = as_tensor(my_smooth(given, weight), "smoothing")
        if not torch.equal(given, maps):
            raise ExerciseError("Your function changed the maps it was given (in place): the "
                                "caller still needs the raw maps. Write into a new tensor.",
                                zh="你的函数原地修改了传入的图：调用者还需要原始的图。请写入一个新张量。")
        check_shape(mine, maps.shape, "smoothed maps")
        expected = CamSmoother(weight)(maps)
        if close(mine, expected, atol=1e-6):
            continue
        if close(_per_map_min_max(mine), _per_map_min_max(expected), atol=1e-5):
            raise ExerciseError("Return the average itself; do not min-max normalise each "
                                "smoothed map (the video pipeline does that afterwards).",
                                zh="直接返回平均值本身，不要对每张平滑后的图做最小-最大归一化（视频管线之后会做）。")
        if not close(mine[0], maps[0]):
            raise ExerciseError("The first smoothed map is the first map itself: there is "
                                "nothing to average it with yet.",
                                zh="第一张平滑后的图就是第一张图本身：此时还没有可以平均的对象。")
        if close(mine, _ema(maps, 1.0 - weight), atol=1e-6):
            raise ExerciseError("The weights are swapped: the new frame gets w, the running "
                                "average 1 − w.",
                                zh="权重弄反了：新的一帧得到 w，累积平均得到 1 − w。")
        raise ExerciseError("Average with the previous *smoothed* map S_(t−1), not the previous "
                            "raw map M_(t−1).",
                            zh="要和上一张*平滑后*的图 S_(t−1) 平均，而不是上一张原始图 M_(t−1)。")
    return passed()


#: Realistic wrong solutions of the graded cell (the nbgrader round trip grades them; the
#: checker must reject them — tests/course/test_nb08_video.py says with which message).
WRONG_SOLUTIONS: dict[str, list[str]] = {
    "08_video_and_webcam_cam-solution": [
        # averages with the previous *raw* map: a two-frame window, not a running average
        "def my_smooth(maps, weight):\n"
        "    smoothed = maps.clone()\n"
        "    for t in range(1, len(maps)):\n"
        "        smoothed[t] = weight * maps[t] + (1 - weight) * maps[t - 1]\n"
        "    return smoothed\n",
        # the weights swapped
        "def my_smooth(maps, weight):\n"
        "    smoothed = maps.clone()\n"
        "    for t in range(1, len(maps)):\n"
        "        smoothed[t] = (1 - weight) * maps[t] + weight * smoothed[t - 1]\n"
        "    return smoothed\n",
        # starts the average at zero: S_0 = w M_0
        "def my_smooth(maps, weight):\n"
        "    smoothed, state = torch.empty_like(maps), torch.zeros_like(maps[0])\n"
        "    for t in range(len(maps)):\n"
        "        state = weight * maps[t] + (1 - weight) * state\n"
        "        smoothed[t] = state\n"
        "    return smoothed\n",
        # right numbers, but overwrites the caller's maps
        "def my_smooth(maps, weight):\n"
        "    for t in range(1, len(maps)):\n"
        "        maps[t] = weight * maps[t] + (1 - weight) * maps[t - 1]\n"
        "    return maps\n",
    ],
}


#: Quick-quiz questions of this notebook (``xh.quiz(...)`` shows them).
QUESTIONS: dict[str, Question] = {
    "bgr": Question(
        "You overlay a heatmap with OpenCV's applyColorMap and show it with matplotlib: hot "
        "regions come out blue. What happened?",
        ("The map is inverted: use 1 - cam", "OpenCV returns BGR; matplotlib expects RGB",
         "matplotlib's jet differs from OpenCV's jet"),
        1, "OpenCV (and mmcv) work in BGR. Convert with cv2.cvtColor(..., cv2.COLOR_BGR2RGB) or "
           "reverse the last axis before plotting (pytorch-grad-cam: use_rgb=True).",
        "08_video_and_webcam_cam",
        zh=("你用 OpenCV 的 applyColorMap 叠加热力图，再用 matplotlib 显示："
            "热的区域变成了蓝色。怎么回事？",
            ("图反了：要用 1 - cam", "OpenCV 返回 BGR，matplotlib 要的是 RGB",
             "matplotlib 的 jet 和 OpenCV 的 jet 不一样"),
            "OpenCV（以及 mmcv）用 BGR 顺序。画图前用 cv2.cvtColor(..., cv2.COLOR_BGR2RGB) 转换，"
            "或把最后一维反过来（pytorch-grad-cam：use_rgb=True）。")),
    "pipeline_bound": Question(
        "The video pipeline runs decoding, the model and encoding on three threads at once. On "
        "this 2-core machine, what limits its frames per second?",
        ("Nothing: three threads make it three times faster than the model alone",
         "Only the slowest stage, because the others run in parallel for free",
         "The model alone (it runs on the main thread), and the total CPU work per frame "
         "shared by 2 cores — whichever bound is lower"),
        2, "Threads overlap waiting, not work: every stage still needs CPU time, and 2 cores can "
           "do at most 2 core-seconds of work per second. Section 2 measures each stage and "
           "prints both bounds next to the measured rate.",
        "08_video_and_webcam_cam",
        zh=("视频管线在三个线程上同时解码、运行模型和编码。"
            "在这台 2 核机器上，什么限制了它每秒的帧数？",
            ("没有限制：三个线程让它比单独运行模型快三倍",
             "只有最慢的那一步，其他步骤并行，不花时间",
             "单独运行模型的速度（模型在主线程上），以及每帧的总 CPU 工作量"
             "除以 2 个核——取两者中较低者"),
            "线程能重叠的是等待，不是工作：每一步都要 CPU 时间，"
            "而 2 个核每秒最多完成 2 核·秒的工作。"
            "第 2 节测量了每一步，并把两个上限和实测速度一起打印出来。")),
    "ema_lag": Question(
        "You smooth a video's maps with S_t = w M_t + (1 − w) S_(t−1), w = 0.2. The bird "
        "suddenly jumps to the other side of the frame. What do the smoothed maps do?",
        ("The hot spot follows over several frames: after n frames the old position still "
         "carries a weight (1 − w)^n, e.g. 0.8^5 ≈ 0.33",
         "They follow at once, because the new frame's map is the largest",
         "They never follow: the average keeps the first position forever"),
        0, "An EMA forgets geometrically. Small w removes more flicker but lags more after a "
           "real change; that is why the notebook keeps smoothing off when you want to see "
           "exactly what the model does on each frame.",
        "08_video_and_webcam_cam",
        zh=("你用 S_t = w M_t + (1 − w) S_(t−1)（w = 0.2）平滑视频的图。"
            "鸟突然跳到了画面另一边。平滑后的图会怎样？",
            ("热点要过好几帧才跟上：n 帧之后旧位置仍有 (1 − w)^n 的权重，例如 0.8^5 ≈ 0.33",
             "立刻跟上，因为新一帧的图最大", "永远跟不上：平均值一直停在第一个位置"),
            "指数滑动平均按几何级数遗忘。w 越小，闪烁去得越多，真正变化之后的滞后也越大；"
            "所以想看模型在每一帧上到底做了什么时，笔记本不开平滑。")),
}
