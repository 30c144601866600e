"""Notebook 08 · Video and webcam CAM: the coding exercise's checker."""
from __future__ import annotations

from typing import Callable

import torch

from .feedback import ExerciseError, Question, as_tensor, check_shape, close, passed

__all__ = ["check_smoothing", "QUESTIONS"]


def check_smoothing(my_smooth: Callable) -> None:
    """Notebook 08: exponential moving average of maps (T, h, w) with new-frame weight w."""
    from ..video.explain import CamSmoother

    maps = torch.rand(12, 7, 7, generator=torch.Generator().manual_seed(1))
    mine = as_tensor(my_smooth(maps, 0.3), "smoothing")
    check_shape(mine, maps.shape, "smoothed maps")
    expected = CamSmoother(0.3)(maps)
    if close(mine, expected, atol=1e-6):
        return passed()
    if not close(mine[0], maps[0]):
        raise ExerciseError("The first smoothed map is the first map itself (nothing to average "
                            "with yet).")
    if close(mine, CamSmoother(0.7)(maps), atol=1e-6):
        raise ExerciseError("The weights are swapped: the new frame gets w, the running average "
                            "1 − w.")
    raise ExerciseError("Average with the previous *smoothed* map S_(t−1), not the previous raw "
                        "map M_(t−1).")


#: Quick-quiz questions of this notebook (``xh.quiz(...)`` shows them).
QUESTIONS: dict[str, Question] = {
    "bgr": Question(
        "You overlay a heatmap with OpenCV's applyColorMap and show it with matplotlib: hot "
        "regions come out blue. What happened?",
        ("The map is inverted: use 1 - cam", "OpenCV returns BGR; matplotlib expects RGB",
         "matplotlib's jet differs from OpenCV's jet"),
        1, "OpenCV (and mmcv) work in BGR. Convert with cv2.cvtColor(..., cv2.COLOR_BGR2RGB) or "
           "reverse the last axis before plotting (pytorch-grad-cam: use_rgb=True).",
        "08_video_and_webcam_cam"),
}
