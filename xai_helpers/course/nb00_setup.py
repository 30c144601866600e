"""Notebook 00 · Setup and tour: the coding exercise's checker."""
from __future__ import annotations

from typing import Callable

from .feedback import ExerciseError, as_tensor, check_shape, close, passed

__all__ = ["check_preprocess"]


def check_preprocess(my_preprocess: Callable) -> None:
    """Notebook 00: PIL image -> EfficientNet-Lite0 input (3, 224, 224)."""
    from ..core.images import load_image, test_image_path
    from ..core.preprocessing import EFFICIENTNET_LITE_PREPROCESSING as prep

    image = load_image(test_image_path("chelsea"))
    mine = as_tensor(my_preprocess(image), "preprocessing")
    check_shape(mine, (3, 224, 224), "preprocessed image")
    expected = prep(image)
    if close(mine, expected):
        return passed("Well done: your preprocessing matches.")
    unnormalised = expected * 0.5 + 0.5
    if close(mine, unnormalised) or float(mine.min()) >= 0.0:
        raise ExerciseError("Your values lie in [0, 1]; the model expects (x - mean) / std with "
                            "mean = std = 0.5, i.e. values in [-1, 1].")
    if close(mine, unnormalised * 255 * 2 - 1, atol=1) or float(mine.max()) > 2:
        raise ExerciseError("Your values are far beyond [-1, 1]: scale the pixels to [0, 1] "
                            "(divide by 255) before normalising.")
    raise ExerciseError("Right shape and range, different pixels: check the resize (shorter "
                        "side to 256) and the centre crop (224).")
